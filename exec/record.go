package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// Known outputs: the file a program writes to RIGOR_OUT, and the artifact
// name the manifest gives it.
var knownOutputs = []struct{ file, artifact string }{
	{"predictions.csv", "predictions"},
	{"raw_metrics.jsonl", "raw_metrics"},
	{"guardrails.json", "guardrail_evidence"},
	{"test_evidence.json", "test_evidence"},
	{"failure.json", ""}, // the program's own; rigor's failure.json refers to it
}

// tailBytes bounds the stderr tail of a failure record and the report tail
// of test evidence.
const tailBytes = 8 << 10

// recorder writes one run bundle.
type recorder struct {
	s     *cas.Store
	b     *treeBuilder
	p     *plan
	arts  spec.Artifacts
	notes []string
}

// add stores b at path and returns its manifest record.
func (r *recorder) addBytes(ctx context.Context, path string, b []byte) (*spec.FileRef, error) {
	e, sha, err := putBytes(ctx, r.s, b)
	if err != nil {
		return nil, err
	}
	if err := r.b.add(path, e); err != nil {
		return nil, err
	}
	return fileRef(path, e, sha), nil
}

func (r *recorder) addFile(ctx context.Context, path, file string) (*spec.FileRef, error) {
	e, sha, err := putFile(ctx, r.s, file)
	if err != nil {
		return nil, err
	}
	if err := r.b.add(path, e); err != nil {
		return nil, err
	}
	return fileRef(path, e, sha), nil
}

func (r *recorder) addEntry(path string, d digest.Digest, mode cas.Mode, size int64) error {
	return r.b.add(path, cas.Entry{Mode: mode, Size: size, Digest: d})
}

// addRecord stores a spec record (canonical JSON) at path.
func (r *recorder) addRecord(ctx context.Context, path string, rec interface{ Encode() ([]byte, error) }) (*spec.FileRef, error) {
	b, err := rec.Encode()
	if err != nil {
		return nil, err
	}
	return r.addBytes(ctx, path, b)
}

func (r *recorder) artifact(name string, ref *spec.FileRef) { r.arts[name] = ref }

// record writes the bundle of an attempt that ran and registers it
// (ingest.RecordRun: the ref, the runs index, the lineage indexes).
func record(ctx context.Context, s *cas.Store, p *plan, proc procResult, tests, oracle *sideResult) (Result, error) {
	r := &recorder{s: s, b: newTreeBuilder(), p: p, arts: spec.Artifacts{}}
	r.notes = append(r.notes, p.notes...)
	r.notes = append(r.notes, proc.notes...)
	for _, w := range p.code.Warnings {
		r.notes = append(r.notes, "code snapshot skipped "+w.String())
	}

	// Logs.
	for _, name := range []string{"stdout", "stderr"} {
		ref, err := r.addFile(ctx, name+".log", filepath.Join(p.spool, name+".log"))
		if err != nil {
			return Result{}, err
		}
		r.artifact(name, ref)
	}

	// Outputs: the whole of RIGOR_OUT under rigor/outputs/, the known files
	// also at the top.
	outs, note, err := addOutputs(ctx, s, p.outDir)
	if err != nil {
		return Result{}, fmt.Errorf("exec: outputs: %w", err)
	}
	if note != "" {
		r.notes = append(r.notes, note)
	}
	for _, w := range outs.Warnings {
		r.notes = append(r.notes, "RIGOR_OUT: skipped "+w.String())
	}
	if err := r.addEntry("rigor/outputs", outs.Info.Digest, cas.ModeTree, outs.Info.Size); err != nil {
		return Result{}, err
	}
	present := map[string]*spec.FileRef{}
	for _, f := range outs.Files {
		if f.Mode != cas.ModeFile && f.Mode != cas.ModeExec {
			continue
		}
		size := f.Size
		present[f.Path] = &spec.FileRef{Path: f.Path, SHA256: f.SHA256, BLAKE3: f.Digest.String(), Size: &size}
	}
	for _, k := range knownOutputs {
		ref := present[k.file]
		if ref == nil || k.artifact == "" || (k.artifact == "test_evidence" && tests != nil) {
			continue
		}
		if err := r.addEntry(k.file, digest.Digest(ref.BLAKE3), cas.ModeFile, *ref.Size); err != nil {
			return Result{}, err
		}
		r.artifact(k.artifact, ref)
	}
	for _, name := range []string{"predictions", "raw_metrics", "guardrail_evidence"} {
		if _, ok := r.arts[name]; !ok {
			r.arts[name] = nil
		}
	}

	// Test evidence.
	if err := r.testEvidence(ctx, tests); err != nil {
		return Result{}, err
	}

	// Code, config, environment, inputs.
	code, err := r.addCode(ctx)
	if err != nil {
		return Result{}, err
	}
	cfg := p.config
	if err := r.b.add("config.json", cfg.canonical); err != nil {
		return Result{}, err
	}
	configRef := fileRef("config.json", cfg.canonical, cfg.sha256)
	if err := r.addEntry("rigor/config_record.json", cfg.recordDigest, cas.ModeFile, sizeOf(ctx, s, cfg.recordDigest)); err != nil {
		return Result{}, err
	}
	if err := r.b.add("environment.json", p.env.entry); err != nil {
		return Result{}, err
	}
	envRef := fileRef("environment.json", p.env.entry, p.env.sha256)
	inputs, err := r.addInputs(ctx)
	if err != nil {
		return Result{}, err
	}

	// Completion.
	checks, err := r.oracleChecks(ctx, tests, oracle)
	if err != nil {
		return Result{}, err
	}
	status, completion := judge(proc.reason, proc.exitCode, checks)
	if status != spec.StatusCompleted {
		for i := range checks {
			checks[i].Status = spec.CompletionNotEvaluated
			checks[i].Detail = "the run did not complete"
		}
	}
	if _, err := r.addRecord(ctx, "rigor/oracle.json", &spec.OracleReport{Schema: spec.SchemaOracle, Status: completion, Checks: checks}); err != nil {
		return Result{}, err
	}
	if oracle != nil {
		if err := r.addSideLogs(ctx, "oracle", oracle); err != nil {
			return Result{}, err
		}
	}

	// Resources, run record, failure.
	if _, err := r.addRecord(ctx, "rigor/resources.json", &spec.ResourcesRecord{
		Schema: spec.SchemaResources, Resources: proc.resources, StopSignals: proc.stops, OOM: proc.oom,
	}); err != nil {
		return Result{}, err
	}
	runRec := &spec.RunRecord{
		Schema: spec.SchemaRun, RunID: p.runID, Ref: p.ref, Row: p.row, Seed: p.seed, Attempt: p.attempt,
		Argv: spec.RedactArgv(p.opts.Argv), Dir: p.opts.Dir, EnvSet: redactSet(p.envSet), Env: spec.RedactEnv(p.childEnv, nil),
		TimeoutMS: p.opts.Timeout.Milliseconds(), GraceMS: p.opts.Grace.Milliseconds(),
		Config: p.opts.ConfigPath, Rigor: ingest.BuildInfo(),
	}
	if tests != nil {
		runRec.TestCommand = tests.command
	}
	if p.opts.OracleCmd != "" {
		runRec.OracleCommand = strings.Join(spec.RedactArgv(strings.Fields(p.opts.OracleCmd)), " ")
	}
	if _, err := r.addRecord(ctx, "rigor/run.json", runRec); err != nil {
		return Result{}, err
	}
	r.arts["failure"] = nil
	if status != spec.StatusCompleted {
		ref, err := r.addFailure(ctx, status, proc, present["failure.json"] != nil)
		if err != nil {
			return Result{}, err
		}
		r.artifact("failure", ref)
	}

	// The manifest.
	var evidence []string
	if completion != spec.CompletionNotEvaluated {
		for _, name := range []string{"test_evidence", "raw_metrics", "predictions", "guardrail_evidence"} {
			if r.arts[name] != nil {
				evidence = append(evidence, name)
			}
		}
	}
	oracleNames := make([]string, len(checks))
	for i, c := range checks {
		oracleNames[i] = c.Name
	}
	m := spec.RunManifest{
		Schema:    spec.RunManifestSchema,
		RunID:     p.runID,
		MatrixRow: p.row,
		Status:    status,
		Termination: spec.Termination{
			Reason: proc.reason, ExitCode: proc.exitCode, Signal: proc.signal,
		},
		Seed:        p.seed,
		Command:     spec.StripSecretArgs(p.opts.Argv),
		StartedAt:   formatTime(proc.startedAt),
		EndedAt:     formatTime(proc.endedAt),
		Config:      configRef,
		Environment: envRef,
		Code:        code,
		Inputs:      inputs,
		Artifacts:   r.arts,
		Completion: spec.Completion{
			Status: completion, Oracle: oracleNames, EvidenceArtifacts: nonNil(evidence),
		},
		Reproducibility: reproducibility(p),
		Notes:           nonNil(r.notes),
		Rigor: map[string]any{
			"attempt":               p.attempt,
			"ref":                   p.ref,
			"code_tree":             p.code.Record.Tree.Digest,
			"config":                map[string]any{"digest": cfg.canonical.Digest, "from_flags": cfg.synthetic},
			"resources":             proc.resources,
			"stop_signals":          proc.stops,
			"oom":                   proc.oom,
			"max_iterations_marker": proc.reason == spec.ReasonMaxIterations,
			"records": map[string]string{
				"run": "rigor/run.json", "resources": "rigor/resources.json", "oracle": "rigor/oracle.json",
				"code_snapshot": "rigor/code_snapshot.json", "config": "rigor/config_record.json", "outputs": "rigor/outputs",
			},
			// Where the code root and the config were: what a rerun needs
			// to lay the run out again.
			"layout": map[string]string{"code_root": p.code.Root, "config": p.configAbs},
		},
	}
	if p.rerun != nil {
		m.Rigor["rerun"] = p.rerun
	}
	mb, err := encodeManifest(&m)
	if err != nil {
		return Result{}, err
	}
	if _, err := r.addBytes(ctx, "manifest.json", mb); err != nil {
		return Result{}, err
	}
	root, err := r.b.put(ctx, s)
	if err != nil {
		return Result{}, err
	}
	// The ref and the indexes, written the way every recorder writes them.
	sum := spec.RunSummary{
		Schema: spec.SchemaRunSummary, RunID: p.runID, Row: p.row, Seed: p.seed, Attempt: p.attempt, Ref: p.ref,
		Status: status, Termination: proc.reason, ExitCode: proc.exitCode, Signal: proc.signal, Completion: completion,
		StartedAt: m.StartedAt, EndedAt: m.EndedAt, DurationMS: proc.endedAt.Sub(proc.startedAt).Milliseconds(),
		Root: root.Digest, Config: cfg.canonical.Digest,
	}
	used, made := ingest.LineageFromManifest(&m, map[string]digest.Digest{"code": p.code.Record.Tree.Digest})
	made = append(made, ingest.LineageItem{Digest: outs.Info.Digest, Path: "rigor/outputs", Name: "outputs"})
	if err := ingest.RecordRun(ctx, s, ingest.RunEntry{Summary: sum, Inputs: used, Outputs: made}); err != nil {
		return Result{}, err
	}
	return Result{RunID: p.runID, Ref: p.ref, Attempt: p.attempt, Root: root.Digest, Manifest: m, Summary: sum, Notes: r.notes, rerun: p.rerun, drift: p.drift}, nil
}

// reproducibility pairs attempts of a row and seed, and a rerun with the
// run it reproduces.
func reproducibility(p *plan) spec.Reproducibility {
	r := spec.Reproducibility{
		PairID:           fmt.Sprintf("%s__seed-%d", p.row, p.seed.Value),
		ComparisonRole:   comparisonRole(p.attempt),
		CompareArtifacts: []string{"predictions", "raw_metrics"},
	}
	if p.rerun != nil {
		r.PairID, r.ComparisonRole = p.rerun.Of, spec.ComparisonRoleRerun
	}
	return r
}

func comparisonRole(attempt int) string {
	if attempt == 1 {
		return "first"
	}
	return "repeat"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// redactSet passes the variables rigor set through the credential rules
// (none of them should be one, but the rule has no exceptions).
func redactSet(set []spec.EnvVar) []spec.EnvVar {
	env := make([]string, len(set))
	allow := make([]string, len(set))
	for i, v := range set {
		env[i] = v.Name + "=" + v.Value
		allow[i] = v.Name
	}
	return spec.RedactEnv(env, allow)
}

// encodeManifest writes the manifest as indented JSON (it is read by people
// and by the Light checker; its digest is whatever these bytes hash to).
func encodeManifest(m *spec.RunManifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("exec: manifest: %w", err)
	}
	return buf.Bytes(), nil
}

func sizeOf(ctx context.Context, s cas.Getter, d digest.Digest) int64 {
	info, err := s.Stat(ctx, d)
	if err != nil {
		return -1 // PutTree rejects the entry with a clear error
	}
	return info.Size
}

// addCode places the code tree at code/ and the code records under rigor/,
// and returns the manifest's code section.
func (r *recorder) addCode(ctx context.Context) (spec.CodeRef, error) {
	snap := r.p.code
	rec := snap.Record
	if err := r.addEntry("code", rec.Tree.Digest, cas.ModeTree, rec.Tree.Size); err != nil {
		return spec.CodeRef{}, err
	}
	if err := r.addEntry("rigor/code_snapshot.json", snap.Digest, cas.ModeFile, sizeOf(ctx, r.s, snap.Digest)); err != nil {
		return spec.CodeRef{}, err
	}
	code := spec.CodeRef{Files: make([]spec.FileRef, 0, len(snap.Files))}
	switch {
	case rec.Git != nil:
		code.Commit = rec.Git.Commit
		code.Dirty = rec.Git.Dirty
		if code.Dirty {
			var diff *spec.FileRef
			var err error
			if d := rec.Git.Diff; d != nil {
				if err := r.addEntry("rigor/code.diff", d.Digest, cas.ModeFile, d.Size); err != nil {
					return spec.CodeRef{}, err
				}
				diff = &spec.FileRef{SHA256: d.SHA256, BLAKE3: d.Digest.String()}
			} else if diff, err = r.addBytes(ctx, "rigor/code.diff", nil); err != nil {
				// Dirty without a patch (a dirty submodule only): the empty
				// patch is what there is.
				return spec.CodeRef{}, err
			}
			code.DiffSHA256, code.DiffBLAKE3 = &diff.SHA256, diff.BLAKE3
		}
	default:
		code.Commit = rec.GitUnavailable
	}
	for _, f := range snap.Files {
		size := f.Size
		code.Files = append(code.Files, spec.FileRef{Path: "code/" + f.Path, SHA256: f.SHA256, BLAKE3: f.Digest.String(), Size: &size})
	}
	return code, nil
}

// addInputs places each input under inputs/<role>/ and its record under
// rigor/inputs/<role>/.
func (r *recorder) addInputs(ctx context.Context) ([]spec.InputRef, error) {
	refs := make([]spec.InputRef, 0, len(r.p.inputs))
	for _, ii := range r.p.inputs {
		rec := ii.record
		p := "inputs/" + rec.Role + "/" + ii.name
		if err := r.b.add(p, ii.entry); err != nil {
			return nil, err
		}
		if err := r.addEntry("rigor/"+p+".json", ii.recordDigest, cas.ModeFile, sizeOf(ctx, r.s, ii.recordDigest)); err != nil {
			return nil, err
		}
		ref := spec.InputRef{Role: rec.Role, Path: p, SHA256: rec.SHA256, BLAKE3: rec.Digest.String(), SourceRevision: rec.SourceRevision, SplitID: rec.SplitID}
		size := rec.Size
		ref.Size = &size
		if m := rec.SHA256Manifest; m != nil {
			// The Light checker hashes a file: point it at the tree's
			// sha256sum manifest, whose SHA-256 is the input's.
			ref.Path = p + ".sha256sum"
			if err := r.addEntry(ref.Path, m.Digest, cas.ModeFile, m.Size); err != nil {
				return nil, err
			}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// testEvidence writes test_evidence.json: the --test result, the program's
// own file (already placed), or a NOT_EVALUATED record.
func (r *recorder) testEvidence(ctx context.Context, tests *sideResult) error {
	if tests == nil && r.arts["test_evidence"] != nil {
		return nil
	}
	ev := &spec.TestEvidence{Schema: spec.SchemaTestEvidence, Status: spec.CompletionNotEvaluated,
		Reason: "no --test command was given and the program wrote no test_evidence.json"}
	if tests != nil {
		if err := r.addSideLogs(ctx, "test", tests); err != nil {
			return err
		}
		pr := tests.proc
		ev = &spec.TestEvidence{
			Schema: spec.SchemaTestEvidence, Command: tests.command, ExitCode: pr.exitCode, Signal: pr.signal,
			DurationMS: pr.resources.WallMS, Stdout: "rigor/test/stdout.log", Stderr: "rigor/test/stderr.log",
			Tail: fileTail(tests.stdout, tailBytes, 0),
		}
		switch {
		case pr.startErr != nil:
			ev.Status, ev.Reason = spec.CompletionNotEvaluated, "the test command could not start: "+pr.startErr.Error()
			ev.Command, ev.ExitCode, ev.Signal = "", nil, nil
		case pr.reason == spec.ReasonNaturalExit:
			ev.Status = spec.CompletionPass
		default:
			ev.Status = spec.CompletionFail
			if pr.reason != spec.ReasonError {
				ev.Reason = "the tests ended by " + pr.reason
			}
		}
	}
	ref, err := r.addRecord(ctx, "test_evidence.json", ev)
	if err != nil {
		return err
	}
	r.artifact("test_evidence", ref)
	return nil
}

func (r *recorder) addSideLogs(ctx context.Context, name string, sr *sideResult) error {
	for _, f := range []struct{ path, file string }{{"stdout.log", sr.stdout}, {"stderr.log", sr.stderr}} {
		if _, err := r.addFile(ctx, "rigor/"+name+"/"+f.path, f.file); err != nil {
			return err
		}
	}
	return nil
}

// oracleChecks evaluates the completion oracle on the recorded outputs.
func (r *recorder) oracleChecks(ctx context.Context, tests, oracle *sideResult) ([]spec.OracleCheck, error) {
	present := spec.OracleCheck{Name: CheckOutputsPresent, Status: spec.CompletionPass}
	var missing []string
	for _, name := range expectedOutputs {
		ref := r.arts[artifactOf(name)]
		switch {
		case ref == nil:
			missing = append(missing, name+" missing")
		case *ref.Size == 0:
			missing = append(missing, name+" empty")
		}
	}
	if len(missing) > 0 {
		present.Status, present.Detail = spec.CompletionFail, strings.Join(missing, "; ")
	}
	finite := spec.OracleCheck{Name: CheckMetricsFinite, Status: spec.CompletionPass}
	if ref := r.arts["raw_metrics"]; ref == nil {
		finite.Status, finite.Detail = spec.CompletionFail, "raw_metrics.jsonl missing"
	} else {
		rc, err := r.s.Open(ctx, digest.Digest(ref.BLAKE3))
		if err != nil {
			return nil, err
		}
		n, problem, err := checkMetrics(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("exec: raw_metrics.jsonl: %w", err)
		}
		if problem != "" {
			finite.Status, finite.Detail = spec.CompletionFail, "raw_metrics.jsonl "+problem
		} else {
			finite.Detail = fmt.Sprintf("%d records", n)
		}
	}
	checks := []spec.OracleCheck{present, finite}
	for _, side := range []struct {
		name string
		sr   *sideResult
	}{{CheckTestsPassed, tests}, {CheckOracleCommand, oracle}} {
		if side.sr == nil {
			if side.name == CheckOracleCommand && r.p.opts.OracleCmd != "" {
				checks = append(checks, spec.OracleCheck{Name: side.name, Status: spec.CompletionNotEvaluated, Detail: "the run did not complete"})
			}
			continue
		}
		c := spec.OracleCheck{Name: side.name, Status: spec.CompletionPass, Detail: side.sr.command}
		pr := side.sr.proc
		switch {
		case pr.startErr != nil:
			c.Status, c.Detail = spec.CompletionFail, "could not start: "+pr.startErr.Error()
		case pr.reason != spec.ReasonNaturalExit:
			c.Status = spec.CompletionFail
			if pr.exitCode != nil {
				c.Detail = fmt.Sprintf("%s exited with %d", side.sr.command, *pr.exitCode)
			} else {
				c.Detail = fmt.Sprintf("%s ended by %s", side.sr.command, pr.reason)
			}
		}
		checks = append(checks, c)
	}
	return checks, nil
}

func artifactOf(file string) string {
	for _, k := range knownOutputs {
		if k.file == file {
			return k.artifact
		}
	}
	return ""
}

// addFailure writes failure.json for a failed or aborted run.
func (r *recorder) addFailure(ctx context.Context, status string, proc procResult, programWroteOne bool) (*spec.FileRef, error) {
	f := &spec.FailureRecord{
		Schema: spec.SchemaFailure, RunID: r.p.runID, Status: status, Reason: proc.reason,
		Message: failureMessage(proc), ExitCode: proc.exitCode, Signal: proc.signal,
		StopSignals: proc.stops, StderrTail: fileTail(filepath.Join(r.p.spool, "stderr.log"), tailBytes, 64),
		Resources: proc.resources, OOM: proc.oom,
	}
	if proc.signal != nil {
		f.SignalName = signalName(*proc.signal)
	}
	if proc.startErr != nil {
		f.StartError = proc.startErr.Error()
	}
	if programWroteOne {
		f.ProgramFailure = "rigor/outputs/failure.json"
	}
	return r.addRecord(ctx, "failure.json", f)
}

func failureMessage(proc procResult) string {
	switch {
	case proc.startErr != nil:
		return "the program could not be started: " + proc.startErr.Error()
	case proc.reason == spec.ReasonTimeout:
		return "stopped by rigor: the --timeout passed"
	case proc.reason == spec.ReasonUserCancel:
		if len(proc.notes) > 0 && proc.exitCode == nil && proc.signal == nil {
			return "cancelled before the program started"
		}
		return "cancelled: rigor was interrupted and stopped the program"
	case proc.reason == spec.ReasonMaxIterations:
		return "the program stopped at its iteration cap (it wrote RIGOR_OUT/" + MaxIterationsMarker + ")"
	case proc.oom != nil && proc.oom.Confirmed:
		return "killed by the kernel's OOM killer (the cgroup's oom_kill counter rose)"
	case proc.oom != nil:
		return "killed by SIGKILL that rigor did not send: suspected OOM kill"
	case proc.signal != nil:
		return "killed by " + signalName(*proc.signal)
	case proc.exitCode != nil:
		return fmt.Sprintf("the program exited with status %d", *proc.exitCode)
	}
	return "the program failed"
}

// fileTail returns the end of the file at p: at most n bytes and, if
// lines > 0, at most that many lines, as valid UTF-8.
func fileTail(p string, n int64, lines int) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, n))
	if err != nil {
		return ""
	}
	if off > 0 {
		// Drop a partial first rune.
		for len(b) > 0 && !utf8.RuneStart(b[0]) {
			b = b[1:]
		}
	}
	if lines > 0 {
		trimmed := bytes.TrimSuffix(b, []byte("\n"))
		if idx := nthLastIndex(trimmed, '\n', lines); idx >= 0 {
			b = b[idx+1:]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// nthLastIndex returns the index of the n-th last c in b, or -1.
func nthLastIndex(b []byte, c byte, n int) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

// addOutputs stores RIGOR_OUT. A program that removed it, or replaced it
// with a file, has no outputs: its run is recorded with an empty
// rigor/outputs and a note saying why (issue 10: such a run was not
// recorded at all).
func addOutputs(ctx context.Context, s *cas.Store, dir string) (ingest.Result, string, error) {
	fi, err := os.Stat(dir)
	why := ""
	switch {
	case err != nil:
		why = fmt.Sprintf("RIGOR_OUT %s was gone when the program ended (%v): no outputs recorded", dir, errors.Unwrap(err))
	case !fi.IsDir():
		why = fmt.Sprintf("RIGOR_OUT %s was not a directory when the program ended: no outputs recorded", dir)
	}
	if why != "" {
		info, err := s.PutTree(ctx, cas.Tree{})
		return ingest.Result{Info: info, Mode: cas.ModeTree}, why, err
	}
	outs, err := ingest.New(s, ingest.Options{}).AddPath(ctx, dir, ingest.AddOptions{SHA256: true, Rehash: true})
	return outs, "", err
}
