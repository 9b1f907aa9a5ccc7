package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Error vocabulary of the exec package.
var (
	// ErrUsage: the options cannot describe a run (no command, no row or
	// seed, a bad row name or input spec, a non-empty output directory).
	ErrUsage = errors.New("exec: invalid run options")
	// ErrConfigConflict: a flag disagrees with the config (row, seed or seed
	// role); flags never override the config.
	ErrConfigConflict = errors.New("exec: flag disagrees with the config")
	// ErrRunNotFound: no run has that ref, run id or digest.
	ErrRunNotFound = errors.New("exec: run not found")
	// ErrNotRun: the object is not a run bundle (no manifest.json).
	ErrNotRun = errors.New("exec: not a run bundle")
)

// RecordError is returned when an attempt ran but could not be recorded:
// nothing is lost, the child's output and RIGOR_OUT stay in Spool.
type RecordError struct {
	RunID string
	Spool string
	Err   error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("run %s ran but was not recorded (its output is kept in %s): %v", e.RunID, e.Spool, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// OpenStore opens the store. [Run] calls it twice, before and after the
// child runs, and closes the store each time, so that the store's process
// lock is never held while the child runs.
type OpenStore func(ctx context.Context) (*cas.Store, error)

// InputSpec names one data input of a run.
type InputSpec struct {
	// Role says what the run uses the input for ("data", "weights"...).
	Role string
	// Path is a file or directory.
	Path string
	// Revision is the upstream version of the input (source_revision);
	// required for role "data".
	Revision string
	// SplitID names the data split, if any.
	SplitID string
}

// ParseInputSpec parses the command-line form ROLE=PATH[@REVISION]. The
// revision follows the last '@'.
func ParseInputSpec(s string) (InputSpec, error) {
	role, rest, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(role) == "" || rest == "" {
		return InputSpec{}, fmt.Errorf("%w: input %q is not ROLE=PATH[@REVISION]", ErrUsage, s)
	}
	in := InputSpec{Role: role, Path: rest}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		in.Path, in.Revision = rest[:i], rest[i+1:]
		if in.Path == "" || in.Revision == "" {
			return InputSpec{}, fmt.Errorf("%w: input %q is not ROLE=PATH[@REVISION]", ErrUsage, s)
		}
	}
	if !validName(role) {
		return InputSpec{}, fmt.Errorf("%w: input role %q must be letters, digits, '.', '_' or '-'", ErrUsage, role)
	}
	return in, nil
}

// validName reports whether s can be one path element of a run bundle.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Options describe one attempt. The zero value of each field is documented;
// Argv is the only field that must be set.
type Options struct {
	// Argv is the program and its arguments. The child gets them as given;
	// the record holds them redacted.
	Argv []string

	// Row is the experiment-matrix row; "" takes the config's matrix_row.
	// Seed is the seed; nil takes the config's seed.value. SeedRole is
	// fixed_repro or randomness_estimation; "" takes the config's, else
	// fixed_repro. A value that disagrees with the config is an error
	// wrapping [ErrConfigConflict].
	Row      string
	Seed     *int64
	SeedRole string

	// ConfigPath is the row config (JSON or YAML); "" records a config made
	// of the row and seed. SchemaPath, if set, is the JSON Schema the config
	// must satisfy.
	ConfigPath string
	SchemaPath string

	// Inputs are the data inputs. When none has role "data" and the config
	// has a data section, its path is recorded as the "data" input and its
	// sha256 must match.
	Inputs []InputSpec

	// RehashEnv runs the Python environment probe even when the store's
	// cache of its answer (ingest.PythonProbeIndex) still holds, and
	// refreshes that cache.
	RehashEnv bool

	// Rehash reads every code file and input even when the store's stat
	// cache says it is unchanged (and implies RehashEnv).
	Rehash bool

	// Dir is the child's working directory and the directory whose code is
	// snapshotted (the whole git work tree around it); "" is the current
	// directory.
	Dir string

	// OutDir is RIGOR_OUT, where the program writes its outputs. It must not
	// exist or be empty. "" uses a fresh directory in the spool, removed
	// once the run is recorded.
	OutDir string

	// Timeout stops the child (SIGTERM, then SIGKILL after Grace) and ends
	// the run as timeout; 0 means no limit. Grace ≤0 means 10 seconds.
	Timeout time.Duration
	Grace   time.Duration

	// TestCmd, if set, is a shell command (sh -c) run in Dir before the
	// program; its exit status and output are the test evidence.
	// OracleCmd, if set, is a shell command run after a program that exited
	// 0; exit status 0 passes this check of the completion oracle. Both get
	// the child's environment.
	TestCmd   string
	OracleCmd string

	// Stdout and Stderr receive the child's output as it comes (the
	// terminal); nil discards it. The store gets it either way.
	Stdout io.Writer
	Stderr io.Writer

	// Signals are forwarded to the child's process group; the first ends
	// the run as user_cancel (SIGKILL follows after Grace), a second sends
	// SIGKILL at once. nil forwards nothing. ctx being done before the
	// child exits counts as a SIGTERM.
	Signals <-chan os.Signal

	// Env is the base environment of the child; nil is os.Environ().
	Env []string

	// Now returns the current time for started_at and ended_at; nil is
	// time.Now. Durations are always measured with the real clock.
	Now func() time.Time

	// SpoolDir is where output is spooled while the store is closed; "" is
	// <store>/spool.
	SpoolDir string

	// GPUInterval is the nvidia-smi sampling interval; 0 means 1 second and
	// a negative value disables sampling.
	GPUInterval time.Duration

	// OnStart, if set, is called in the caller's goroutine once the attempt
	// is allocated and the store released, just before the tests and the
	// program start.
	OnStart func(Started)

	// rerun, set by [Rerun], records this attempt as a rerun of a recorded
	// run: the recorded code identity is reused, and config, inputs and
	// environment are checked against the record.
	rerun *rerunPlan
}

// Started identifies an attempt that is about to run.
type Started struct {
	RunID   string
	Ref     string
	Attempt int
	OutDir  string
	Spool   string

	// Set for a rerun: what its manifest will say about the original, and
	// how the environment differs from the recorded one.
	rerun *spec.RerunInfo
	drift []spec.EnvChange
}

// Result is a recorded attempt.
type Result struct {
	RunID   string
	Ref     string
	Attempt int
	// Root is the digest of the run bundle's root tree: the run's identity.
	Root     digest.Digest
	Manifest spec.RunManifest
	Summary  spec.RunSummary
	// Notes are things the caller may want to show (also in the manifest).
	Notes []string

	rerun *spec.RerunInfo // as in Started
	drift []spec.EnvChange
}

const defaultGrace = 10 * time.Second

func (o Options) withDefaults() (Options, error) {
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return o, fmt.Errorf("%w: no program to run", ErrUsage)
	}
	if o.Grace <= 0 {
		o.Grace = defaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.GPUInterval == 0 {
		o.GPUInterval = time.Second
	}
	dir, err := filepath.Abs(o.Dir) // "" is the working directory
	if err != nil {
		return o, fmt.Errorf("exec: %w", err)
	}
	o.Dir = dir
	if o.SeedRole != "" && o.SeedRole != "fixed_repro" && o.SeedRole != "randomness_estimation" {
		return o, fmt.Errorf("%w: seed role %q must be fixed_repro or randomness_estimation", ErrUsage, o.SeedRole)
	}
	if o.Row != "" && !spec.ValidRowName(o.Row) {
		return o, fmt.Errorf("%w: row %q must be letters, digits, '.', '_' or '-' (no \"__\")", ErrUsage, o.Row)
	}
	if o.Timeout < 0 {
		return o, fmt.Errorf("%w: negative timeout", ErrUsage)
	}
	return o, nil
}
