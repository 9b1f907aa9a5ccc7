package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// MaxIterationsMarker is the file a program creates in RIGOR_OUT to say it
// stopped because it reached its iteration cap. A run whose program exits
// on its own (any exit code, no signal) with this file present is recorded
// as aborted with termination reason max_iterations, never completed.
const MaxIterationsMarker = "max_iterations"

// maxSeed is the largest seed: PYTHONHASHSEED accepts 0 to 2^32-1.
const maxSeed = 1<<32 - 1

// plan is an attempt prepared while the store was held.
type plan struct {
	opts     Options
	row      string
	seed     spec.Seed
	attempt  int
	runID    string
	ref      string
	config   configInfo
	code     ingest.CodeSnapshot
	env      envInfo
	inputs   []inputInfo
	spool    string
	outDir   string
	childEnv []string
	envSet   []spec.EnvVar
	notes    []string
	// configAbs is the config file's absolute path ("" for a config made
	// from flags); rerun and drift are set for a rerun ([Rerun]).
	configAbs string
	rerun     *spec.RerunInfo
	drift     []spec.EnvChange
}

// sideResult is the outcome of --test or --oracle.
type sideResult struct {
	command string // redacted
	proc    procResult
	stdout  string // spool paths
	stderr  string
}

// Run executes one attempt and records it in the store as a run bundle (see
// the package documentation for the layout). It opens the store with open
// twice: to snapshot config, code, environment and inputs and reserve the
// attempt number, and after the child exited to record everything; the
// store is closed while the child runs.
//
// Errors before the child starts (bad options wrapping [ErrUsage] or
// [ErrConfigConflict], a config that does not validate, a store that
// cannot be opened) record nothing. Once the child has started, every
// outcome (exit 0 or not, signals, timeouts, cancels) is recorded and is
// not an error; if recording itself fails the error is a *[RecordError]
// that names the spool directory holding the output. Cancelling ctx stops
// the child (see Options.Signals) but not the recording.
func Run(ctx context.Context, open OpenStore, opts Options) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	pre, err := preflight(opts)
	if err != nil {
		return Result{}, err
	}
	// The environment probe (a Python interpreter listing its
	// distributions) is the slowest step: it starts now, before the store is
	// even opened, and stages what it stores in memory until prepare has
	// the store. Other runs are not kept waiting for the lock meanwhile.
	probe := startEnvProbe(ctx, opts, pre.row, pre.seed)
	s, err := open(ctx)
	if err != nil {
		probe.abandon()
		return Result{}, err
	}
	probe.attach(s)
	p, err := prepare(ctx, s, opts, pre, probe)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}
	if opts.OnStart != nil {
		opts.OnStart(Started{RunID: p.runID, Ref: p.ref, Attempt: p.attempt, OutDir: p.outDir, Spool: p.spool, rerun: p.rerun, drift: p.drift})
	}

	var tests *sideResult
	if opts.TestCmd != "" {
		tests, err = runSide(ctx, p, "test", opts.TestCmd)
		if err != nil {
			return Result{}, &RecordError{RunID: p.runID, Spool: p.spool, Err: err}
		}
	}
	var proc procResult
	if tests != nil && tests.proc.reason == spec.ReasonUserCancel {
		proc, err = notStarted(p, "cancelled while --test ran; the program was not started")
	} else {
		proc, err = runProcess(ctx, procSpec{
			argv: opts.Argv, env: p.childEnv, dir: opts.Dir,
			stdout: opts.Stdout, stderr: opts.Stderr,
			stdoutPath: filepath.Join(p.spool, "stdout.log"), stderrPath: filepath.Join(p.spool, "stderr.log"),
			timeout: opts.Timeout, grace: opts.Grace, signals: opts.Signals, now: opts.Now,
			gpuInterval: max(opts.GPUInterval, 0),
		})
	}
	if err != nil {
		return Result{}, &RecordError{RunID: p.runID, Spool: p.spool, Err: err}
	}
	if proc.startErr == nil && proc.signal == nil && (proc.reason == spec.ReasonNaturalExit || proc.reason == spec.ReasonError) {
		if _, err := os.Lstat(filepath.Join(p.outDir, MaxIterationsMarker)); err == nil {
			proc.reason = spec.ReasonMaxIterations
		}
	}
	var oracle *sideResult
	if opts.OracleCmd != "" && spec.StatusFor(proc.reason, proc.exitCode) == spec.StatusCompleted {
		oracle, err = runSide(ctx, p, "oracle", opts.OracleCmd)
		if err != nil {
			return Result{}, &RecordError{RunID: p.runID, Spool: p.spool, Err: err}
		}
	}

	// Recording must finish whatever happened to ctx: nothing is lost.
	rctx := context.WithoutCancel(ctx)
	s, err = open(rctx)
	if err != nil {
		return Result{}, &RecordError{RunID: p.runID, Spool: p.spool, Err: err}
	}
	res, err := record(rctx, s, p, proc, tests, oracle)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Result{}, &RecordError{RunID: p.runID, Spool: p.spool, Err: err}
	}
	if err := os.RemoveAll(p.spool); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("the spool %s could not be removed: %v", p.spool, err))
	}
	return res, nil
}

// notStarted is the result of a program that was never started.
func notStarted(p *plan, why string) (procResult, error) {
	for _, name := range []string{"stdout.log", "stderr.log"} {
		if err := os.WriteFile(filepath.Join(p.spool, name), nil, 0o644); err != nil {
			return procResult{}, fmt.Errorf("exec: spool: %w", err)
		}
	}
	now := p.opts.Now()
	return procResult{
		reason: spec.ReasonUserCancel, startedAt: now, endedAt: now, notes: []string{why},
		resources: spec.Resources{GPU: spec.GPUUse{Unavailable: spec.UnavailableReason("the program did not run")}},
	}, nil
}

// runSide runs --test or --oracle through sh -c with the child's
// environment, output spooled under <spool>/<name>/ and teed to the
// terminal.
func runSide(ctx context.Context, p *plan, name, command string) (*sideResult, error) {
	dir := filepath.Join(p.spool, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("exec: spool: %w", err)
	}
	r := &sideResult{
		command: strings.Join(spec.RedactArgv(strings.Fields(command)), " "),
		stdout:  filepath.Join(dir, "stdout.log"),
		stderr:  filepath.Join(dir, "stderr.log"),
	}
	var err error
	r.proc, err = runProcess(ctx, procSpec{
		argv: []string{"sh", "-c", command}, env: p.childEnv, dir: p.opts.Dir,
		stdout: p.opts.Stdout, stderr: p.opts.Stderr,
		stdoutPath: r.stdout, stderrPath: r.stderr,
		timeout: p.opts.Timeout, grace: p.opts.Grace, signals: p.opts.Signals, now: p.opts.Now,
		gpuInterval: -1,
	})
	return r, err
}

// preflighted is what can be known before the store is opened.
type preflighted struct {
	row  string
	seed spec.Seed
}

// preflight reads the config (without storing it) for the row and seed,
// and checks the output directory, so that the environment probe can start
// and bad options fail before the store is touched.
func preflight(o Options) (preflighted, error) {
	var doc map[string]any
	if o.ConfigPath != "" {
		src, err := os.ReadFile(o.ConfigPath)
		if err != nil {
			return preflighted{}, fmt.Errorf("%w: config: %v", ErrUsage, err)
		}
		v, err := ingest.ParseConfig(src, ingest.ConfigFormat(o.ConfigPath, src))
		if err != nil {
			return preflighted{}, fmt.Errorf("%w: config %s: %w", ErrUsage, o.ConfigPath, err)
		}
		if doc, _ = v.(map[string]any); doc == nil {
			return preflighted{}, fmt.Errorf("%w: config %s is not an object", ErrUsage, o.ConfigPath)
		}
		// The schema speaks first: it names every problem (RecordConfig
		// checks again before storing).
		if o.SchemaPath != "" {
			schema, err := compileSchema(o.SchemaPath)
			if err != nil {
				return preflighted{}, err
			}
			if err := schema.Validate(v); err != nil {
				return preflighted{}, fmt.Errorf("%w: config %s: %w", ErrUsage, o.ConfigPath, err)
			}
		}
	} else if o.SchemaPath != "" {
		return preflighted{}, fmt.Errorf("%w: --schema needs --config", ErrUsage)
	}
	row, seed, err := resolveIdentity(o, doc)
	if err != nil {
		return preflighted{}, err
	}
	if err := checkOutDir(o.OutDir); err != nil {
		return preflighted{}, err
	}
	return preflighted{row: row, seed: seed}, nil
}

// prepare records the config, snapshots inputs and code, stores the
// environment probe's record, reserves the attempt number and creates the
// spool, all while the store is held.
func prepare(ctx context.Context, s *cas.Store, o Options, pre preflighted, probe *envProbe) (*plan, error) {
	in := ingest.New(s, ingest.Options{})
	p := &plan{opts: o, row: pre.row, seed: pre.seed}
	fail := func(err error) (*plan, error) {
		probe.abandon()
		return nil, err
	}
	var err error
	if o.ConfigPath != "" {
		p.config, err = recordConfig(ctx, in, o.ConfigPath, o.SchemaPath)
	} else {
		p.config, err = syntheticConfig(ctx, in, p.row, p.seed)
	}
	if err != nil {
		return fail(err)
	}
	specs, err := inputSpecs(o, p.config.doc)
	if err != nil {
		return fail(err)
	}
	names := map[string]bool{}
	for _, is := range specs {
		ii, err := recordInput(ctx, in, o.Dir, is.InputSpec, o.Rehash)
		if err != nil {
			return fail(err)
		}
		if want := is.wantSHA256; want != "" && want != ii.record.SHA256 {
			return fail(fmt.Errorf("%w: input %s: %s has sha256 %s but the config's data.sha256 says %s; update the config or restore the data",
				ErrUsage, is.Role, is.Path, ii.record.SHA256, want))
		}
		for _, n := range bundleInputPaths(ii) {
			if names[n] {
				return fail(fmt.Errorf("%w: two inputs would both be %s in the run bundle; give them different roles or names", ErrUsage, n))
			}
			names[n] = true
		}
		p.inputs = append(p.inputs, ii)
	}
	if o.rerun != nil {
		p.code = o.rerun.code // its files were verified where the program runs
	} else if p.code, err = in.SnapshotCode(ctx, o.Dir, ingest.CodeOptions{Env: o.Env, Rehash: o.Rehash}); err != nil {
		return fail(err)
	}
	if p.env, err = probe.store(ctx, s); err != nil {
		return nil, err
	}
	if o.rerun != nil {
		if err := o.rerun.check(p, &probe.snap.Record); err != nil {
			return nil, err
		}
	}
	if o.ConfigPath != "" {
		if p.configAbs, err = filepath.Abs(o.ConfigPath); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
	}

	spoolBase := o.SpoolDir
	if spoolBase == "" {
		spoolBase = filepath.Join(s.Dir(), "spool")
	}
	if err := os.MkdirAll(spoolBase, 0o755); err != nil {
		return nil, fmt.Errorf("exec: spool: %w", err)
	}
	if p.attempt, err = reserveAttempt(ctx, s, p.row, p.seed.Value, spoolBase, o.Now()); err != nil {
		return nil, err
	}
	p.runID = spec.RunID(p.row, p.seed.Value, p.attempt)
	p.ref = spec.RunRef(p.row, p.seed.Value, p.attempt)
	p.spool = filepath.Join(spoolBase, p.runID)
	if err := os.Mkdir(p.spool, 0o755); err != nil {
		return nil, fmt.Errorf("exec: spool: %w", err)
	}
	p.outDir = o.OutDir
	if p.outDir == "" {
		p.outDir = filepath.Join(p.spool, "out")
	} else if p.outDir, err = filepath.Abs(p.outDir); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if err := os.MkdirAll(p.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("exec: output directory: %w", err)
	}
	p.childEnv, p.envSet = childEnv(o.Env, p)
	return p, nil
}

// resolveIdentity takes row, seed and seed role from the options and the
// config; a disagreement is an error.
func resolveIdentity(o Options, doc map[string]any) (string, spec.Seed, error) {
	row := o.Row
	if v, ok := doc["matrix_row"]; ok {
		cfgRow, ok := v.(string)
		if !ok || cfgRow == "" {
			return "", spec.Seed{}, fmt.Errorf("%w: config matrix_row must be a non-empty string", ErrUsage)
		}
		if row != "" && row != cfgRow {
			return "", spec.Seed{}, fmt.Errorf("%w: --row %s but the config's matrix_row is %s", ErrConfigConflict, row, cfgRow)
		}
		row = cfgRow
	}
	if row == "" {
		return "", spec.Seed{}, fmt.Errorf("%w: no matrix row: give --row ROW or a config with matrix_row", ErrUsage)
	}
	if !spec.ValidRowName(row) {
		return "", spec.Seed{}, fmt.Errorf("%w: row %q must be letters, digits, '.', '_' or '-' (no \"__\")", ErrUsage, row)
	}
	seed := spec.Seed{Role: o.SeedRole}
	var cfgSeed *int64
	var cfgRole string
	switch v := doc["seed"].(type) {
	case nil:
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return "", spec.Seed{}, fmt.Errorf("%w: config seed %s is not an integer", ErrUsage, v)
		}
		cfgSeed = &n
	case map[string]any:
		num, ok := v["value"].(json.Number)
		n, err := num.Int64()
		if !ok || err != nil {
			return "", spec.Seed{}, fmt.Errorf("%w: config seed.value must be an integer", ErrUsage)
		}
		cfgSeed = &n
		if r, ok := v["role"]; ok {
			if cfgRole, ok = r.(string); !ok || !slices.Contains(spec.SeedRoles, cfgRole) {
				return "", spec.Seed{}, fmt.Errorf("%w: config seed.role must be fixed_repro or randomness_estimation", ErrUsage)
			}
		}
	default:
		return "", spec.Seed{}, fmt.Errorf("%w: config seed must be an integer or {role, value}", ErrUsage)
	}
	switch {
	case o.Seed != nil && cfgSeed != nil && *o.Seed != *cfgSeed:
		return "", spec.Seed{}, fmt.Errorf("%w: --seed %d but the config's seed is %d", ErrConfigConflict, *o.Seed, *cfgSeed)
	case o.Seed != nil:
		seed.Value = *o.Seed
	case cfgSeed != nil:
		seed.Value = *cfgSeed
	default:
		return "", spec.Seed{}, fmt.Errorf("%w: no seed: give --seed N or a config with seed", ErrUsage)
	}
	if seed.Value < 0 || seed.Value > maxSeed {
		return "", spec.Seed{}, fmt.Errorf("%w: seed %d is outside 0..%d (the range of PYTHONHASHSEED)", ErrUsage, seed.Value, int64(maxSeed))
	}
	switch {
	case seed.Role != "" && cfgRole != "" && seed.Role != cfgRole:
		return "", spec.Seed{}, fmt.Errorf("%w: --seed-role %s but the config's seed.role is %s", ErrConfigConflict, seed.Role, cfgRole)
	case seed.Role == "" && cfgRole != "":
		seed.Role = cfgRole
	case seed.Role == "":
		seed.Role = "fixed_repro"
	}
	return row, seed, nil
}

// checkOutDir accepts a directory that does not exist or is empty: a
// leftover file would be taken for this run's output.
func checkOutDir(dir string) error {
	if dir == "" {
		return nil
	}
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: output directory: %v", ErrUsage, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: output directory %s: %v", ErrUsage, dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("%w: output directory %s is not empty; give a new or empty --out, so old files are not taken for this run's", ErrUsage, dir)
	}
	return nil
}

// inputSpec is an input with the SHA-256 the config promises, if any.
type inputSpec struct {
	InputSpec
	wantSHA256 string
}

// inputSpecs returns the explicit inputs and, when none has role "data",
// the config's data section.
func inputSpecs(o Options, doc map[string]any) ([]inputSpec, error) {
	var out []inputSpec
	hasData := false
	for _, is := range o.Inputs {
		if !validName(is.Role) {
			return nil, fmt.Errorf("%w: input role %q must be letters, digits, '.', '_' or '-'", ErrUsage, is.Role)
		}
		if is.Role == "data" {
			hasData = true
			if strings.TrimSpace(is.Revision) == "" {
				return nil, fmt.Errorf("%w: input data=%s needs a source revision: data=%s@REVISION", ErrUsage, is.Path, is.Path)
			}
		}
		out = append(out, inputSpec{InputSpec: is})
	}
	if data, ok := doc["data"].(map[string]any); ok && !hasData {
		path, _ := data["path"].(string)
		if path != "" {
			is := inputSpec{InputSpec: InputSpec{Role: "data", Path: path}}
			is.Revision, _ = data["source_revision"].(string)
			is.SplitID, _ = data["split_id"].(string)
			is.wantSHA256, _ = data["sha256"].(string)
			if strings.TrimSpace(is.Revision) == "" {
				return nil, fmt.Errorf("%w: the config's data has no source_revision; add it, or give --input data=PATH@REVISION", ErrUsage)
			}
			out = append(out, is)
		}
	}
	return out, nil
}

// bundleInputPaths are the bundle paths an input occupies.
func bundleInputPaths(ii inputInfo) []string {
	p := "inputs/" + ii.record.Role + "/" + ii.name
	if ii.record.Kind == spec.InputTree {
		return []string{p, p + ".sha256sum"}
	}
	return []string{p}
}

// childEnv returns the child's environment: base, with the variables rigor
// sets replacing any of the same name, and those variables.
func childEnv(base []string, p *plan) ([]string, []spec.EnvVar) {
	seed := strconv.FormatInt(p.seed.Value, 10)
	set := []spec.EnvVar{
		{Name: "PYTHONHASHSEED", Value: seed},
		{Name: "RIGOR_ATTEMPT", Value: strconv.Itoa(p.attempt)},
		{Name: "RIGOR_MATRIX_ROW", Value: p.row},
		{Name: "RIGOR_OUT", Value: p.outDir},
		{Name: "RIGOR_RUN_ID", Value: p.runID},
		{Name: "RIGOR_SEED", Value: seed},
		{Name: "RIGOR_SEED_ROLE", Value: p.seed.Role},
	}
	if envValue(base, "CUBLAS_WORKSPACE_CONFIG") == "" {
		set = append(set, spec.EnvVar{Name: "CUBLAS_WORKSPACE_CONFIG", Value: ":4096:8"})
	}
	slices.SortFunc(set, func(a, b spec.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	var env []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(set, func(v spec.EnvVar) bool { return v.Name == name }) {
			env = append(env, kv)
		}
	}
	for _, v := range set {
		env = append(env, v.Name+"="+v.Value)
	}
	return env, set
}

// stableEnv is the child's environment without the variables that differ
// by attempt: what environment.json records.
func stableEnv(base []string, row string, seed spec.Seed) []string {
	env, _ := childEnv(base, &plan{row: row, seed: seed})
	return withoutVars(env, perAttemptVars)
}

// perAttemptVars are the variables rigor sets that differ between attempts
// of the same row, config and seed.
var perAttemptVars = []string{"RIGOR_ATTEMPT", "RIGOR_OUT", "RIGOR_RUN_ID"}

// withoutVars returns env without the named variables.
func withoutVars(env []string, names []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

// reservation is the value of an attempt reservation.
type reservation struct {
	RunID      string `json:"run_id"`
	PID        int    `json:"pid"`
	Host       string `json:"host"`
	ReservedAt string `json:"reserved_at"`
	Spool      string `json:"spool"`
}

// reserveAttempt takes the next attempt number of row and seed (one more
// than the highest among the refs runs/<row>/seed-<n>/attempt-<k> and the
// reservations, ingest.NextAttempt) and records the reservation in
// spec.ReservationsIndex. The store's process lock makes the read and the
// write atomic across processes.
func reserveAttempt(ctx context.Context, s *cas.Store, row string, seed int64, spoolBase string, now time.Time) (int, error) {
	attempt, err := ingest.NextAttempt(ctx, s, row, seed)
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	id := spec.RunID(row, seed, attempt)
	v, _ := json.Marshal(reservation{RunID: id, PID: os.Getpid(), Host: host, ReservedAt: formatTime(now), Spool: filepath.Join(spoolBase, id)})
	key := fmt.Appendf(spec.ReservationPrefix(row, seed), "%010d", attempt)
	if err := s.PutIndex(ctx, spec.ReservationsIndex, key, v); err != nil {
		return 0, err
	}
	return attempt, nil
}

// formatTime writes a timezone-aware RFC 3339 timestamp with milliseconds.
func formatTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}
