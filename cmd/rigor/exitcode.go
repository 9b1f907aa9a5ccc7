package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Exit codes. This is the one table every command uses; exitCodeHelp prints it.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitIntegrity   = 3
	exitGateFailed  = 4
	exitInterrupted = 130
)

const exitCodeHelp = `Exit status:
  0    ok
  1    error
  2    usage: a bad flag, argument or input named on the command line
  3    integrity problem found (fsck, verify)
  4    a gate failed
  130  interrupted`

// usageError is a mistake in how rigor was called. hint tells the fix.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

func usagef(hint, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: hint}
}

// hintError carries a hint for the user alongside an underlying error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// exitStatus is returned by a command that completed its work but must end
// with a non-zero status (problems found, a gate failed). The command has
// already reported the details.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

// exitCode maps an error to the process exit code. It is the only place
// where that mapping happens.
func exitCode(err error) int {
	var es *exitStatus
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &es):
		return es.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	case isCobraUsage(err):
		return exitUsage
	default:
		return exitError
	}
}

// isCobraUsage recognises the errors cobra returns for bad flags and args.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "requires exactly", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// reportError prints err (if any) to stderr, as text or JSON, and returns the exit code.
func reportError(g *globalOptions, err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	var es *exitStatus
	if errors.As(err, &es) && es.msg == "" {
		return code
	}
	hint := ""
	var ue *usageError
	var he *hintError
	switch {
	case errors.As(err, &ue):
		hint = ue.hint
	case errors.As(err, &he):
		hint = he.hint
	case isCobraUsage(err):
		hint = "see 'rigor help'"
	}
	if g.json {
		out := map[string]any{"error": err.Error(), "exit_code": code}
		if hint != "" {
			out["hint"] = hint
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(g.stderr, string(b))
		return code
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(g.stderr, "rigor: error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(g.stderr, "rigor: hint: %s\n", hint)
	}
	return code
}
