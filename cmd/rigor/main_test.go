package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rigor-dev/rigor/cas"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rigor": func() { os.Exit(run(os.Args[1:])) },
	})
}

// TestScripts runs the CLI behaviour specs in testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			// Keep scripts hermetic: no store from the environment, no colour, no TTY.
			env.Setenv("RIGOR_STORE", "")
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitCode,
			"envstdout": cmdEnvStdout,
			"damage":    cmdDamage,
			"mkfile":    cmdMkfile,
			"waitpacks": cmdWaitPacks,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: sleep DURATION")
				}
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
	})
}

// cmdExitCode is the script command "exitcode N PROGRAM ARGS...": it runs the
// program like exec, keeping its stdout and stderr for the next assertions,
// and fails unless it exits with status N.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program args...")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdEnvStdout is the script command "envstdout NAME": it sets NAME to the
// previous command's stdout, trimmed, so later commands can use $NAME.
func cmdEnvStdout(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: envstdout NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// cmdDamage is the script command "damage STORE flip|dropchunk|dropobject
// DIGEST [N]": it breaks the store through cas's test-only hooks. flip N
// flips the byte at offset N of the object's (first chunk's) stored value;
// dropchunk N deletes chunk N; dropobject deletes the object record.
func cmdDamage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: damage STORE flip|dropchunk|dropobject DIGEST [N]")
	}
	ctx := context.Background()
	s, err := cas.Open(ctx, ts.MkAbs(args[0]), cas.Options{})
	ts.Check(err)
	defer s.Close()
	d, err := s.Resolve(ctx, args[2])
	ts.Check(err)
	n := 1
	if len(args) > 3 {
		n, err = strconv.Atoi(args[3])
		ts.Check(err)
	}
	switch args[1] {
	case "flip":
		ts.Check(s.CorruptForTest(ctx, d, n))
	case "dropchunk":
		ts.Check(s.DeleteChunkForTest(ctx, d, n))
	case "dropobject":
		ts.Check(s.DeleteObjectForTest(ctx, d))
	default:
		ts.Fatalf("damage: unknown action %q", args[1])
	}
}

// cmdMkfile is the script command "mkfile NAME SIZE [SEED]": it writes SIZE
// deterministic pseudo-random (incompressible) bytes to NAME.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkfile NAME SIZE [SEED]")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	seed := uint64(1)
	if len(args) > 2 {
		v, err := strconv.Atoi(args[2])
		ts.Check(err)
		seed = uint64(v)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// cmdWaitPacks is the script command "waitpacks STORE BYTES": it waits (up
// to a minute) until the pack files of STORE hold at least BYTES bytes, so
// that a script can kill a command in the middle of its writes instead of
// after a guessed delay.
func cmdWaitPacks(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitpacks STORE BYTES")
	}
	want, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	deadline := time.Now().Add(time.Minute)
	for {
		var have int64
		packs, _ := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "packs", "*.pack"))
		for _, p := range packs {
			if fi, err := os.Stat(p); err == nil {
				have += fi.Size()
			}
		}
		if have >= want {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitpacks: %d bytes in packs after a minute, want %d", have, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
