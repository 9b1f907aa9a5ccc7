package exec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// Errors of [Rerun].
var (
	// ErrNotRerunnable: the bundle lacks what a rerun needs (rigor's own
	// records, as a run imported from a Light directory lacks them), or the
	// recorded command held a secret that was redacted.
	ErrNotRerunnable = errors.New("exec: the run cannot be rerun from its bundle")
	// ErrMissingSecrets: the record redacted environment variables that the
	// rerun needs and the current environment does not set.
	ErrMissingSecrets = errors.New("exec: the rerun needs credentials the record redacted")
	// ErrEnvDrift: RerunOptions.StrictEnv is set and the environment differs
	// from the recorded one; the error is an *[EnvDriftError].
	ErrEnvDrift = errors.New("exec: the environment differs from the recorded one")
	// ErrBundleMismatch: a file restored from the bundle does not have the
	// digest the manifest records for it.
	ErrBundleMismatch = errors.New("exec: a restored file does not match its record")
	// ErrWorkdir: the rerun's working directory exists and is not empty.
	ErrWorkdir = errors.New("exec: the rerun directory is not new or empty")
)

// EnvDriftError lists how the environment differs from the recorded one
// when RerunOptions.StrictEnv refused to start.
type EnvDriftError struct {
	Drift []spec.EnvChange
}

func (e *EnvDriftError) Error() string {
	return fmt.Sprintf("%v in %s (%d differences)", ErrEnvDrift, strings.Join(spec.DriftCategories(e.Drift), ", "), len(e.Drift))
}

func (e *EnvDriftError) Unwrap() error { return ErrEnvDrift }

// RerunOptions control [Rerun]. The zero value reruns in a fresh temporary
// directory, removed afterwards, with the recorded environment.
type RerunOptions struct {
	// Workdir is where the run is laid out; it must not exist or be
	// empty. "" is a new temporary directory.
	Workdir string
	// Keep keeps Workdir after the rerun; otherwise what the rerun put
	// there is removed.
	Keep bool
	// CleanEnv runs in a fresh Python virtual environment built with the
	// recorded interpreter from the recorded lock (the requirements*.txt
	// files recorded with the environment, else the recorded distributions,
	// pinned).
	CleanEnv bool
	// StrictEnv refuses to start, with an *[EnvDriftError], when the
	// environment differs from the recorded one (with CleanEnv: in anything
	// but the interpreter's location and PATH/VIRTUAL_ENV).
	StrictEnv bool
	// Env is the current environment, from which the variables the record
	// redacted are taken and the variables the record never covers (not
	// allow-listed, not credentials: HOME, USER...) pass through; nil is
	// os.Environ(). Every recorded variable gets its recorded value.
	Env []string
	// Stdout, Stderr, Signals, Now, SpoolDir and GPUInterval are passed on
	// to [Run] (see [Options]).
	Stdout      io.Writer
	Stderr      io.Writer
	Signals     <-chan os.Signal
	Now         func() time.Time
	SpoolDir    string
	GPUInterval time.Duration
	// OnStart, if set, is called in the caller's goroutine when the
	// environment has been probed and compared and the program is about to
	// start.
	OnStart func(RerunStarted)
}

// RerunStarted describes a rerun that is about to start.
type RerunStarted struct {
	Started
	// Original is the run id of the run reproduced.
	Original string
	// Workdir is where the run is laid out; Dir the program's working
	// directory inside it.
	Workdir string
	Dir     string
	// Info is what the rerun's manifest will record about the original,
	// the repro level included.
	Info spec.RerunInfo
	// Drift is how the environment about to be used differs from the
	// recorded one.
	Drift []spec.EnvChange
}

// RunName names a recorded run.
type RunName struct {
	RunID string        `json:"run_id"`
	Ref   string        `json:"ref"`
	Root  digest.Digest `json:"root"`
}

// RerunResult is a recorded rerun.
type RerunResult struct {
	Original RunName
	// Rerun is the new attempt.
	Rerun Result
	// Info is what its manifest records about the original (the "rerun"
	// member of its "rigor" extension).
	Info spec.RerunInfo
	// Drift is how the rerun's environment record differs from the
	// original's.
	Drift []spec.EnvChange
	// Workdir is the directory the rerun ran in when it was kept, else "".
	Workdir string
	// Notes say what the rerun assumed or did beyond the record.
	Notes []string
}

// rerunPlan is what [Run] needs to record an attempt as a rerun: the
// recorded code (reused once its files are verified in the work
// directory), the recorded environment to compare the probe with, and the
// SHA-256 each restored input and the config must have.
type rerunPlan struct {
	info      spec.RerunInfo
	code      ingest.CodeSnapshot
	env       *spec.EnvRecord
	configSHA string
	inputSHA  map[string]string // inputs/<role>/<name> → sha256
	strict    bool
}

// check runs in prepare once config, inputs and the environment are
// recorded and before an attempt is reserved: the config and inputs must
// be the recorded ones, and the environment is compared with the record.
func (r *rerunPlan) check(p *plan, probed *spec.EnvRecord) error {
	if p.config.sha256 != r.configSHA {
		return fmt.Errorf("%w: the restored config has sha256 %s, the record says %s", ErrBundleMismatch, p.config.sha256, r.configSHA)
	}
	if len(p.inputs) != len(r.inputSHA) {
		return fmt.Errorf("%w: %d inputs restored, %d recorded", ErrBundleMismatch, len(p.inputs), len(r.inputSHA))
	}
	for _, ii := range p.inputs {
		key := "inputs/" + ii.record.Role + "/" + ii.name
		if want := r.inputSHA[key]; want != ii.record.SHA256 {
			return fmt.Errorf("%w: input %s restored with sha256 %s, the record says %s", ErrBundleMismatch, key, ii.record.SHA256, want)
		}
	}
	drift := spec.EnvDrift(r.env, probed)
	info := r.info
	info.Level, info.LevelNote = spec.RerunLevel(drift, info.CleanEnv)
	info.EnvDrift = spec.DriftCategories(drift)
	if info.EnvDrift == nil {
		info.EnvDrift = []string{}
	}
	if r.strict {
		if bad := strictDrift(drift, info.CleanEnv); len(bad) > 0 {
			return &EnvDriftError{Drift: bad}
		}
	}
	p.rerun, p.drift = &info, drift
	return nil
}

// strictDrift is the drift --strict-env refuses: all of it, except, in a
// rebuilt environment, where the interpreter lives and the variables that
// point at it.
func strictDrift(drift []spec.EnvChange, cleanEnv bool) []spec.EnvChange {
	if !cleanEnv {
		return drift
	}
	var out []spec.EnvChange
	for _, c := range drift {
		switch c.Where {
		case "$.python.executable", "$.python.prefix", "env PATH", "env VIRTUAL_ENV":
			continue
		}
		out = append(out, c)
	}
	return out
}

// Rerun reproduces the run that run names (a ref, run id or root digest,
// as [FindRun] takes) from its bundle alone, as a new attempt of the same
// row and seed, and returns it with how its environment differed. It does
// not compare outputs; verify.Compare does, on the two roots.
//
// # Layout
//
// The work directory mirrors the original's file system below the
// deepest directory holding the code root, the inputs and the config: the
// code tree (the files the run saw, dirty state included) at the code
// root's place, each input restored from the store at its recorded place,
// the config's recorded bytes at its place, and lock files recorded with
// the environment but not in the code tree in the working directory. So
// relative paths in the argv and the config resolve as they did; argv items
// (and --flag=VALUE values) that are absolute paths into the code root, an
// input or the config are rewritten to the work directory. Every code
// file is checked against the SHA-256 the manifest records, every input
// and the config against theirs before the program starts
// ([ErrBundleMismatch]); the recorded code identity is reused, not a new
// snapshot of the work directory.
//
// Runs recorded before rigor wrote "layout" in the manifest are taken to
// have run at their code root (Notes says so).
//
// # Environment
//
// The child gets the recorded argv, timeout and --test/--oracle commands
// and the recorded environment variables with their recorded values.
// Variables the record redacted are taken from opts.Env and must be set
// there ([ErrMissingSecrets] names the missing ones); variables the record
// never covers pass through. The environment is probed as for any run and
// compared with the recorded one (spec.EnvDrift): the manifest records the
// repro level (spec.RerunLevel) in its "rigor" extension's "rerun"
// member, reproducibility.pair_id is the original's run id and
// comparison_role is "rerun".
//
// Errors before the program starts record nothing; after, the rerun is
// recorded as [Run] records any attempt.
func Rerun(ctx context.Context, open OpenStore, run string, opts RerunOptions) (RerunResult, error) {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	wd, err := newWorkdir(opts.Workdir)
	if err != nil {
		return RerunResult{}, err
	}
	keep := opts.Keep
	defer func() {
		if !keep {
			wd.remove()
		}
	}()

	s, err := open(ctx)
	if err != nil {
		return RerunResult{}, err
	}
	b, err := loadBundle(ctx, s, run)
	var env []string
	if err == nil {
		env, err = recordedEnv(b.env.Env, opts.Env)
	}
	var lay *layout
	if err == nil {
		lay, err = b.lay(ctx, s, wd.path)
	}
	var venv *venvResult
	if err == nil && opts.CleanEnv {
		venv, err = buildVenv(ctx, s, b.env, filepath.Join(wd.path, helperDir, "venv"), env, pythonOf(b.run.Argv))
	}
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return RerunResult{}, err
	}
	o := b.options(lay, opts, env, venv)
	res := RerunResult{Original: RunName{RunID: b.manifest.RunID, Ref: b.ref(), Root: b.root}, Notes: b.notes}
	if venv != nil {
		res.Notes = append(res.Notes, venv.note)
	}
	o.OnStart = func(st Started) {
		if opts.OnStart != nil && st.rerun != nil {
			opts.OnStart(RerunStarted{Started: st, Original: b.manifest.RunID, Workdir: wd.path, Dir: o.Dir, Info: *st.rerun, Drift: st.drift})
		}
	}
	r, err := Run(ctx, open, o)
	if err != nil {
		return RerunResult{}, err
	}
	res.Rerun = r
	res.Info = *r.rerun
	res.Drift = r.drift
	if keep {
		res.Workdir = wd.path
	}
	return res, nil
}

// helperDir holds what rigor adds to the work directory (the rebuilt
// environment, the config's schema).
const helperDir = ".rigor-rerun"

// workdir is the directory a rerun runs in.
type workdir struct {
	path    string
	existed bool
}

func newWorkdir(dir string) (*workdir, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "rigor-rerun-")
		if err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		return &workdir{path: d}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		return &workdir{path: abs}, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %v", ErrWorkdir, dir, err)
	case len(entries) > 0:
		return nil, fmt.Errorf("%w: %s holds %s; give a new or empty directory", ErrWorkdir, dir, entries[0].Name())
	}
	return &workdir{path: abs, existed: true}, nil
}

// remove removes what the rerun put in the directory (and the directory,
// when the rerun created it).
func (w *workdir) remove() {
	if !w.existed {
		os.RemoveAll(w.path)
		return
	}
	entries, _ := os.ReadDir(w.path)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(w.path, e.Name()))
	}
}

// recordedBundle is what a rerun reads of a stored run.
type recordedBundle struct {
	root     digest.Digest
	manifest *spec.RunManifest
	run      *spec.RunRecord
	code     *spec.CodeRecord
	codeRec  digest.Digest // rigor/code_snapshot.json
	config   *spec.ConfigRecord
	env      *spec.EnvRecord
	inputs   []recordedInput
	// codeRoot and configPath are the original's absolute paths.
	codeRoot   string
	configPath string
	notes      []string
}

type recordedInput struct {
	ref  spec.InputRef
	rec  *spec.InputRecord
	name string // inputs/<role>/<name>
}

// maxRecord bounds a record read from a bundle.
const maxRecord = 64 << 20

func loadBundle(ctx context.Context, s *cas.Store, run string) (*recordedBundle, error) {
	root, err := FindRun(ctx, s, run)
	if err != nil {
		return nil, err
	}
	b := &recordedBundle{root: root}
	if _, b.manifest, err = ReadManifest(ctx, s, root); err != nil {
		return nil, err
	}
	m := b.manifest
	missing := func(rel string, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s has no %s (was it imported from a Light run directory? only runs recorded by rigor run can be rerun)", ErrNotRerunnable, m.RunID, rel)
		}
		return fmt.Errorf("%s: %s: %w", m.RunID, rel, err)
	}
	read := func(rel string) ([]byte, error) {
		data, err := readBundleFile(ctx, s, root, rel, maxRecord)
		if err != nil {
			return nil, missing(rel, err)
		}
		return data, nil
	}
	data, err := read("rigor/run.json")
	if err != nil {
		return nil, err
	}
	if b.run, err = spec.DecodeRunRecord(data); err != nil {
		return nil, fmt.Errorf("%s: rigor/run.json: %w", m.RunID, err)
	}
	e, err := cas.Find(ctx, s, root, "rigor/code_snapshot.json", nil)
	if err != nil {
		return nil, missing("rigor/code_snapshot.json", err)
	}
	b.codeRec = e.Digest
	if data, err = read("rigor/code_snapshot.json"); err != nil {
		return nil, err
	}
	if b.code, err = spec.DecodeCodeRecord(data); err != nil {
		return nil, fmt.Errorf("%s: rigor/code_snapshot.json: %w", m.RunID, err)
	}
	if data, err = read("rigor/config_record.json"); err != nil {
		return nil, err
	}
	if b.config, err = spec.DecodeConfigRecord(data); err != nil {
		return nil, fmt.Errorf("%s: rigor/config_record.json: %w", m.RunID, err)
	}
	if m.Environment == nil {
		return nil, fmt.Errorf("%w: %s records no environment", ErrNotRerunnable, m.RunID)
	}
	if data, err = read(m.Environment.Path); err != nil {
		return nil, err
	}
	if b.env, err = spec.DecodeEnvRecord(data); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", m.RunID, m.Environment.Path, err)
	}
	for _, ref := range m.Inputs {
		ri := recordedInput{ref: ref, name: ref.Path}
		recPath := "rigor/" + ref.Path + ".json"
		if _, err := cas.Find(ctx, s, root, recPath, nil); err != nil {
			ri.name = strings.TrimSuffix(ref.Path, ".sha256sum")
			recPath = "rigor/" + ri.name + ".json"
		}
		if data, err = read(recPath); err != nil {
			return nil, err
		}
		if ri.rec, err = spec.DecodeInputRecord(data); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m.RunID, recPath, err)
		}
		if ref.BLAKE3 != "" && ref.BLAKE3 != ri.rec.Digest.String() || ref.SHA256 != ri.rec.SHA256 {
			return nil, fmt.Errorf("%w: %s: the manifest and %s disagree on the input's digest", ErrBundleMismatch, m.RunID, recPath)
		}
		b.inputs = append(b.inputs, ri)
	}
	if slices.Contains(b.run.Argv, spec.Redacted) {
		return nil, fmt.Errorf("%w: the recorded command of %s held a secret that was redacted (%s); a rerun cannot supply it: pass secrets to the program through the environment",
			ErrNotRerunnable, m.RunID, strings.Join(b.run.Argv, " "))
	}
	for _, c := range []string{b.run.TestCommand, b.run.OracleCommand} {
		if strings.Contains(c, spec.Redacted) {
			return nil, fmt.Errorf("%w: the recorded command %q of %s held a secret that was redacted", ErrNotRerunnable, c, m.RunID)
		}
	}

	// Where the code root and the config were.
	lay, _ := m.Rigor["layout"].(map[string]any)
	b.codeRoot, _ = lay["code_root"].(string)
	b.configPath, _ = lay["config"].(string)
	if b.codeRoot == "" {
		b.codeRoot = b.run.Dir
		b.notes = append(b.notes, "the run records no code root: taken to be its working directory "+b.run.Dir)
	}
	if b.configPath == "" && b.run.Config != "" {
		b.configPath = b.run.Config
		if !filepath.IsAbs(b.configPath) {
			b.configPath = filepath.Join(b.run.Dir, b.configPath)
		}
	}
	if rel, err := filepath.Rel(b.codeRoot, b.run.Dir); err != nil || !filepath.IsLocal(rel) && rel != "." {
		b.notes = append(b.notes, "the working directory "+b.run.Dir+" is outside the code root "+b.codeRoot+": taken to be the code root")
		b.codeRoot = b.run.Dir
	}
	return b, nil
}

func (b *recordedBundle) ref() string {
	if r, ok := b.manifest.Rigor["ref"].(string); ok {
		return r
	}
	return b.run.Ref
}

// layout maps the original's paths into the work directory.
type layout struct {
	base    string // the original's directory mirrored by root
	root    string // the work directory
	dir     string // the program's working directory
	codeDir string
	config  string // the restored config, "" for a config made from flags
	schema  string
	inputs  []InputSpec
	// mapped are the original paths whose argv mentions are rewritten.
	mapped []string
}

// to returns where the original path p lies in the work directory, and
// whether it lies below the mirrored directory.
func (l *layout) to(p string) (string, bool) {
	rel, err := filepath.Rel(l.base, filepath.Clean(p))
	if err != nil || rel != "." && !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.Join(l.root, rel), true
}

// arg rewrites one argv item that is, or ends with "=" and, an absolute
// path into the code root, an input or the config.
func (l *layout) arg(a string) string {
	prefix, v := "", a
	if strings.HasPrefix(a, "-") {
		if i := strings.IndexByte(a, '='); i >= 0 {
			prefix, v = a[:i+1], a[i+1:]
		}
	}
	if !filepath.IsAbs(v) {
		return a
	}
	for _, m := range l.mapped {
		if v == m || strings.HasPrefix(v, m+string(filepath.Separator)) {
			if to, ok := l.to(v); ok {
				return prefix + to
			}
		}
	}
	return a
}

// commonDir is the deepest directory that holds every path of paths.
func commonDir(paths []string) string {
	common := filepath.Clean(paths[0])
	for _, p := range paths[1:] {
		p = filepath.Clean(p)
		for common != p && !strings.HasPrefix(p, strings.TrimSuffix(common, string(filepath.Separator))+string(filepath.Separator)) {
			parent := filepath.Dir(common)
			if parent == common {
				break
			}
			common = parent
		}
	}
	return common
}

// lay writes the code, inputs, config and lock files into root.
func (b *recordedBundle) lay(ctx context.Context, s *cas.Store, root string) (*layout, error) {
	anchors := []string{b.codeRoot}
	mapped := []string{b.codeRoot}
	inputPaths := make([]string, len(b.inputs))
	for i, in := range b.inputs {
		p := in.rec.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(b.run.Dir, p)
		}
		inputPaths[i] = p
		anchors = append(anchors, filepath.Dir(p))
		mapped = append(mapped, p)
	}
	if b.configPath != "" {
		anchors = append(anchors, filepath.Dir(b.configPath))
		mapped = append(mapped, b.configPath)
	}
	l := &layout{base: commonDir(anchors), root: root, mapped: mapped}
	var ok bool
	if l.codeDir, ok = l.to(b.codeRoot); !ok {
		return nil, fmt.Errorf("exec: cannot place the code root %s", b.codeRoot)
	}
	if l.dir, ok = l.to(b.run.Dir); !ok {
		return nil, fmt.Errorf("exec: cannot place the working directory %s", b.run.Dir)
	}

	// The code, verified file by file.
	if err := os.MkdirAll(filepath.Dir(l.codeDir), 0o755); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if err := ingest.Materialize(ctx, s, b.code.Tree.Digest, l.codeDir, ingest.MaterializeOptions{Force: true}); err != nil {
		return nil, fmt.Errorf("exec: restore the code of %s: %w", b.manifest.RunID, err)
	}
	for _, f := range b.manifest.Code.Files {
		rel, ok := strings.CutPrefix(f.Path, "code/")
		if !ok {
			return nil, fmt.Errorf("%w: code file %s is not under code/", ErrBundleMismatch, f.Path)
		}
		got, err := fileSHA256(filepath.Join(l.codeDir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("%w: code file %s: %v", ErrBundleMismatch, rel, err)
		}
		if got != f.SHA256 {
			return nil, fmt.Errorf("%w: code file %s restored with sha256 %s, the manifest says %s", ErrBundleMismatch, rel, got, f.SHA256)
		}
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}

	// Inputs, from the store by digest: never from the original's disk.
	for i, in := range b.inputs {
		to, _ := l.to(inputPaths[i])
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		if err := ingest.Materialize(ctx, s, in.rec.Digest, to, ingest.MaterializeOptions{Force: true}); err != nil {
			return nil, fmt.Errorf("exec: restore input %s: %w", in.name, err)
		}
		l.inputs = append(l.inputs, InputSpec{Role: in.rec.Role, Path: to, Revision: in.rec.SourceRevision, SplitID: in.rec.SplitID})
	}

	// The config as it was written, and its schema.
	if b.configPath != "" {
		src, err := readBlob(ctx, s, b.config.Source.Digest)
		if err != nil {
			return nil, fmt.Errorf("exec: the config source of %s: %w", b.manifest.RunID, err)
		}
		l.config, _ = l.to(b.configPath)
		if have, err := os.ReadFile(l.config); err == nil {
			if !bytes.Equal(have, src) {
				return nil, fmt.Errorf("%w: %s in the code tree differs from the recorded config source", ErrBundleMismatch, l.config)
			}
		} else if err := writeNew(l.config, src); err != nil {
			return nil, err
		}
		if va := b.config.ValidatedAgainst; va != nil {
			raw, err := readBlob(ctx, s, va.Digest)
			if err != nil {
				return nil, fmt.Errorf("exec: the config schema of %s: %w", b.manifest.RunID, err)
			}
			l.schema = filepath.Join(root, helperDir, "schema.json")
			if err := writeNew(l.schema, raw); err != nil {
				return nil, err
			}
		}
	}

	// Lock files that sat next to the program but were not code.
	for _, lf := range b.env.LockFiles {
		to := filepath.Join(l.dir, filepath.FromSlash(lf.Path))
		if _, err := os.Lstat(to); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		if err := ingest.Materialize(ctx, s, lf.Digest, to, ingest.MaterializeOptions{}); err != nil {
			return nil, fmt.Errorf("exec: restore lock file %s: %w", lf.Path, err)
		}
	}
	return l, nil
}

// readBlob reads a small object, verified.
func readBlob(ctx context.Context, s cas.Getter, d digest.Digest) ([]byte, error) {
	rc, err := s.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%s is larger than %d bytes", d, maxRecord)
	}
	return b, nil
}

func writeNew(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// fileSHA256 hashes a regular file, or a symlink's target text (as the
// code snapshot records it).
func fileSHA256(p string) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		return sha256Hex([]byte(t)), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// recordedEnv returns the recorded variables with their values (the
// redacted ones from current, which must set them) and the current
// variables the record never covers.
func recordedEnv(rec []spec.EnvVar, current []string) ([]string, error) {
	var env, missing []string
	known := map[string]bool{}
	for _, v := range rec {
		known[v.Name] = true
		if !v.Redacted {
			env = append(env, v.Name+"="+v.Value)
			continue
		}
		if val, ok := lookupEnv(current, v.Name); ok {
			env = append(env, v.Name+"="+val)
		} else {
			missing = append(missing, v.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: set %s (the run had them; the record keeps only their names)", ErrMissingSecrets, strings.Join(missing, ", "))
	}
	for _, kv := range current {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" || known[name] {
			continue
		}
		known[name] = true
		if spec.EnvAllowed(name, spec.DefaultEnvAllow) || spec.IsSecretName(name) || spec.IsSecretValue(val) {
			continue // the record says the run did not have it
		}
		env = append(env, kv)
	}
	return env, nil
}

func lookupEnv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// options are the options of the rerun's [Run].
func (b *recordedBundle) options(l *layout, o RerunOptions, env []string, venv *venvResult) Options {
	argv := make([]string, len(b.run.Argv))
	for i, a := range b.run.Argv {
		argv[i] = l.arg(a)
	}
	if venv != nil {
		if pythonOf(argv) != "" {
			argv[0] = venv.python
		}
		path := envValue(env, "PATH")
		env = withoutVars(env, []string{"PATH", "VIRTUAL_ENV", "PYTHONHOME"})
		env = append(env, "PATH="+venv.bin+string(filepath.ListSeparator)+path, "VIRTUAL_ENV="+venv.dir)
	}
	m := b.manifest
	seed := m.Seed.Value
	code := ingest.CodeSnapshot{Record: *b.code, Digest: b.codeRec, Root: l.codeDir}
	for _, f := range m.Code.Files {
		var size int64
		if f.Size != nil {
			size = *f.Size
		}
		code.Files = append(code.Files, ingest.File{Path: strings.TrimPrefix(f.Path, "code/"), Mode: cas.ModeFile, Size: size, Digest: digest.Digest(f.BLAKE3), SHA256: f.SHA256})
	}
	inputSHA := map[string]string{}
	for _, in := range b.inputs {
		inputSHA[in.name] = in.rec.SHA256
	}
	configSHA := ""
	if m.Config != nil {
		configSHA = m.Config.SHA256
	}
	return Options{
		Argv: argv, Row: m.MatrixRow, Seed: &seed, SeedRole: m.Seed.Role,
		ConfigPath: l.config, SchemaPath: l.schema, Inputs: l.inputs, Dir: l.dir,
		Timeout: time.Duration(b.run.TimeoutMS) * time.Millisecond, Grace: time.Duration(b.run.GraceMS) * time.Millisecond,
		TestCmd: l.command(b.run.TestCommand), OracleCmd: l.command(b.run.OracleCommand),
		Stdout: o.Stdout, Stderr: o.Stderr, Signals: o.Signals, Env: env, Now: o.Now,
		SpoolDir: o.SpoolDir, GPUInterval: o.GPUInterval,
		rerun: &rerunPlan{
			info: spec.RerunInfo{Of: m.RunID, Ref: b.ref(), Root: b.root, CleanEnv: venv != nil},
			code: code, env: b.env, configSHA: configSHA, inputSHA: inputSHA, strict: o.StrictEnv,
		},
	}
}

// command rewrites the absolute paths of a recorded shell command
// (recorded with its words joined by single spaces).
func (l *layout) command(c string) string {
	if c == "" {
		return ""
	}
	f := strings.Fields(c)
	for i, a := range f {
		f[i] = l.arg(a)
	}
	return strings.Join(f, " ")
}

// FirstByteDiff returns the offset of the first byte at which the files at
// relA in run bundle rootA and relB in rootB differ (the shorter file's
// length when one is a prefix of the other), or -1 when they are equal,
// reading both blobs as streams, verified.
func FirstByteDiff(ctx context.Context, s bundleReader, rootA digest.Digest, relA string, rootB digest.Digest, relB string) (int64, error) {
	open := func(root digest.Digest, rel string) (io.ReadCloser, error) {
		e, err := cas.Find(ctx, s, root, rel, nil)
		if err != nil {
			return nil, err
		}
		if e.Mode == cas.ModeTree {
			return nil, fmt.Errorf("%s is a directory: %w", rel, fs.ErrNotExist)
		}
		return s.Open(ctx, e.Digest)
	}
	ra, err := open(rootA, relA)
	if err != nil {
		return 0, err
	}
	defer ra.Close()
	rb, err := open(rootB, relB)
	if err != nil {
		return 0, err
	}
	defer rb.Close()
	const chunk = 64 << 10
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		na, errA := io.ReadFull(ra, ba)
		nb, errB := io.ReadFull(rb, bb)
		for _, e := range []error{errA, errB} {
			if e != nil && e != io.EOF && e != io.ErrUnexpectedEOF {
				return 0, e
			}
		}
		n := min(na, nb)
		for i := 0; i < n; i++ {
			if ba[i] != bb[i] {
				return off + int64(i), nil
			}
		}
		if na != nb {
			return off + int64(n), nil
		}
		if na < chunk {
			return -1, nil
		}
		off += int64(n)
	}
}
