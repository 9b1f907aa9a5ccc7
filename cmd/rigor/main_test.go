package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
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
		RequireExplicitExec: false,
	})
}
