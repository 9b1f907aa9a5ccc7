// Command rigor turns ML experiment runs into reproducible, auditable evidence.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
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
