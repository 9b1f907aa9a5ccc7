// Command rigor turns ML experiment runs into reproducible, auditable evidence.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	oneMoreProc()
	os.Exit(run(os.Args[1:]))
}

// oneMoreProc gives the Go scheduler one P more than it would take: rigor's
// goroutines block in disk I/O (pack writes with O_DIRECT wait for the
// device), and the runtime hands the P of a goroutine blocked in a system
// call to another goroutine only once its monitor thread notices, from 20
// µs to 10 ms later, while a core idles. With the extra P the first add of
// the benchmark tree went from 1.22 to 1.11 s on two cores (BENCHMARKS.md).
// A GOMAXPROCS set in the environment is left as it is.
func oneMoreProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}

// run executes the CLI with args and returns the process exit code. It is the
// seam testscript uses to run rigor in-process.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globalOptions{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && !g.json {
		// Flag parsing may have stopped before --json was seen (an unknown
		// command, say); the error must still come out as JSON.
		g.json = wantsJSON(args)
	}
	return reportError(g, err)
}

// wantsJSON reports whether --json appears among the flags of args.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}
