package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// BindStore is what binding a contract to stored runs reads: the run
// catalog (refs and indexes) and the objects. *cas.Store satisfies it.
type BindStore interface {
	verify.Catalog
	verify.Store
}

// BindOptions tune [BindRuns]. The zero value is ready to use.
type BindOptions struct {
	// BaseDir is the directory a comparison_locator file is read relative
	// to; "" means the working directory.
	BaseDir string
	// Now is the current time for the run checks' future-timestamp rule;
	// nil means time.Now.
	Now func() time.Time
}

// RunEvidence is what the store holds about the run a contract names.
type RunEvidence struct {
	// Arg is what run_status.run_id says; Found whether it names a stored
	// run (a run id, a ref or a digest).
	Arg        string
	Found      bool
	RunID      string
	Root       digest.Digest
	Row        string
	Attempt    int
	Status     string // completed, failed or aborted
	Reason     string // the termination reason
	ExitCode   *int
	Signal     *int
	Completion string // PASS, FAIL or NOT_EVALUATED
	// WallMS is the recorded wall time (rigor/resources.json, else the
	// runs index), HasWall whether there is one.
	WallMS  int64
	HasWall bool
	// Artifacts are the manifest's artifacts that have a file.
	Artifacts map[string]bool
	// Problems are what verifying the bundle found (integrity, manifest
	// rules); a run with problems backs no claim.
	Problems []string
	// has reports whether a path is a file of the bundle.
	has func(rel string) bool
}

// PairEvidence is a same-seed pair of the contract checked against the
// store by the Light compare rules ([verify.Compare]).
type PairEvidence struct {
	Index         int
	First, Second string
	// Bound is false when the pair names no stored runs; Note says why.
	Bound bool
	Note  string
	// Exact and Errors are the comparison's verdict and reasons.
	Exact  bool
	Errors []string
}

// BindRuns checks the contract's claims against the stored runs and
// returns the run_evidence gate, to be passed to [CheckContract] in
// [ContractOptions.Evidence]. run_status.run_id must name a stored run
// (run id, ref or digest) whose bundle verifies, and whose recorded status,
// termination, exit code, attempt, matrix row and completion are the ones
// claimed; its recorded wall time must fit the budget and agree with
// resources.walltime_minutes; every completion evidence and guardrail
// evidence item claimed must be in the bundle. Every same-seed pair must
// name its two runs (first_run and second_run, or a comparison_locator
// file written by rigor compare --json) and, when it claims
// same_seed_exact, compare exact. Each disagreement is a critical finding
// that names the run and the field. BindRuns returns an error only when
// the store cannot be read.
func BindRuns(ctx context.Context, s BindStore, c *spec.Contract, opts BindOptions) (spec.Gate, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	claim := c.Run()
	var run *RunEvidence
	if claim.RunID != "" {
		var err error
		if run, err = GatherRun(ctx, s, claim.RunID, now); err != nil {
			return spec.Gate{}, err
		}
	}
	var pairs []PairEvidence
	for _, p := range c.SameSeedPairs() {
		pe, err := gatherPair(ctx, s, p, opts, now)
		if err != nil {
			return spec.Gate{}, err
		}
		pairs = append(pairs, pe)
	}
	return runContractGate(GateRunEvidence, func(a *contractAcc) { checkRunEvidence(a, c, run, pairs) }), nil
}

// GatherRun reads what the store holds about the run named by arg (a run
// id, ref or digest): its recorded outcome and whether its bundle
// verifies. A name that matches no run gives Found false, not an error.
func GatherRun(ctx context.Context, s BindStore, arg string, now func() time.Time) (*RunEvidence, error) {
	ev := &RunEvidence{Arg: arg, Artifacts: map[string]bool{}, has: func(string) bool { return false }}
	info, err := verify.FindRun(ctx, s, arg)
	if errors.Is(err, verify.ErrRunNotFound) || errors.Is(err, verify.ErrAmbiguous) {
		return ev, nil
	}
	if err != nil {
		return nil, err
	}
	ev.Found, ev.RunID, ev.Root = true, info.RunID, info.Root
	vopts := verify.Options{Now: now}
	if info.RunID != "" {
		vopts.Recorded, vopts.Index = &info, s
	}
	rep, err := verify.Run(ctx, s, info.Root, vopts)
	if err != nil {
		return nil, err
	}
	for _, p := range rep.Problems {
		ev.Problems = append(ev.Problems, p.Error())
	}
	if ev.RunID == "" {
		ev.RunID = rep.Run
	}
	trees := map[digest.Digest]cas.Tree{}
	ev.has = func(rel string) bool {
		e, err := bindBundleEntry(ctx, s, info.Root, rel, trees)
		return err == nil && e.Mode != cas.ModeTree
	}
	mb, err := bindBundleRead(ctx, s, info.Root, verify.ManifestName, 64<<20, trees)
	if err != nil {
		ev.Problems = append(ev.Problems, "manifest.json: "+err.Error())
		return ev, nil
	}
	var m spec.RunManifest
	if err := json.Unmarshal(bytes.TrimPrefix(mb, []byte("\xef\xbb\xbf")), &m); err != nil {
		ev.Problems = append(ev.Problems, "manifest.json: "+err.Error())
		return ev, nil
	}
	ev.Row, ev.Status, ev.Reason = m.MatrixRow, m.Status, m.Termination.Reason
	ev.ExitCode, ev.Signal, ev.Completion = m.Termination.ExitCode, m.Termination.Signal, m.Completion.Status
	if _, _, attempt, ok := spec.ParseRunID(ev.RunID); ok {
		ev.Attempt = attempt
	}
	for name, f := range m.Artifacts {
		if f != nil && f.Path != "" {
			ev.Artifacts[name] = true
		}
	}
	if rb, err := bindBundleRead(ctx, s, info.Root, "rigor/resources.json", 1<<20, trees); err == nil {
		var rr spec.ResourcesRecord
		if json.Unmarshal(rb, &rr) == nil && rr.Schema == spec.SchemaResources {
			ev.WallMS, ev.HasWall = rr.Resources.WallMS, true
		}
	}
	if !ev.HasWall && info.Summary != nil {
		ev.WallMS, ev.HasWall = info.Summary.DurationMS, true
	}
	return ev, nil
}

func gatherPair(ctx context.Context, s BindStore, p spec.SameSeedPair, opts BindOptions, now func() time.Time) (PairEvidence, error) {
	pe := PairEvidence{Index: p.Index, First: p.First, Second: p.Second}
	if pe.First == "" && pe.Second == "" && p.ComparisonLocator != "" {
		// A comparison written by rigor compare --json names its runs.
		loc := p.ComparisonLocator
		if !filepath.IsAbs(loc) && opts.BaseDir != "" {
			loc = filepath.Join(opts.BaseDir, loc)
		}
		if b, err := bindReadSmall(loc, 64<<20); err == nil {
			var rc struct {
				Schema        string `json:"schema"`
				First, Second string
			}
			if json.Unmarshal(b, &rc) == nil && rc.Schema == "light.repro_comparison.v1" {
				pe.First, pe.Second = rc.First, rc.Second
			}
		}
	}
	if pe.First == "" || pe.Second == "" {
		pe.Note = "the pair names no stored runs: give first_run and second_run, or a comparison_locator written by rigor compare --json"
		return pe, nil
	}
	a, err := verify.FindRun(ctx, s, pe.First)
	if err == nil {
		var b verify.RunInfo
		if b, err = verify.FindRun(ctx, s, pe.Second); err == nil {
			cmp, err := verify.Compare(ctx, s, a, b, verify.CompareOptions{Now: now})
			if err != nil {
				return pe, err
			}
			pe.Bound, pe.Exact, pe.Errors = true, cmp.SameSeedExact, cmp.Errors
			return pe, nil
		}
	}
	if errors.Is(err, verify.ErrRunNotFound) || errors.Is(err, verify.ErrAmbiguous) {
		pe.Note = err.Error()
		return pe, nil
	}
	return pe, err
}

func bindReadSmall(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// bindBundleEntry finds the entry at the slash path rel below root.
func bindBundleEntry(ctx context.Context, s verify.Store, root digest.Digest, rel string, trees map[digest.Digest]cas.Tree) (cas.Entry, error) {
	clean := path.Clean(strings.TrimPrefix(rel, "./"))
	if clean == "." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") {
		return cas.Entry{}, fmt.Errorf("%s: not a path inside the run", rel)
	}
	e, err := cas.Find(ctx, s, root, clean, trees)
	if errors.Is(err, fs.ErrNotExist) {
		return cas.Entry{}, fmt.Errorf("%s: not found", rel)
	}
	return e, err
}

func bindBundleRead(ctx context.Context, s verify.Store, root digest.Digest, rel string, limit int64, trees map[digest.Digest]cas.Tree) ([]byte, error) {
	e, err := bindBundleEntry(ctx, s, root, rel, trees)
	if err != nil {
		return nil, err
	}
	if e.Mode == cas.ModeTree || e.Size > limit {
		return nil, fmt.Errorf("%s: not a file of at most %d bytes", rel, limit)
	}
	rc, err := s.Open(ctx, e.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// claimedRecorded is which recorded run statuses each claimed status
// allows. NOT_STARTED and RUNNING allow none: the run is recorded, so it
// finished.
var claimedRecorded = map[string][]string{
	"COMPLETED": {spec.StatusCompleted}, "FAILED": {spec.StatusFailed}, "ABORTED": {spec.StatusAborted},
	"PARTIAL": {spec.StatusAborted, spec.StatusFailed}, "RESUMABLE": {spec.StatusAborted, spec.StatusFailed},
	"NOT_STARTED": {}, "RUNNING": {},
}

// checkRunEvidence compares the contract's claims with the evidence. It is
// pure: the evidence was gathered before.
func checkRunEvidence(a *contractAcc, c *spec.Contract, run *RunEvidence, pairs []PairEvidence) {
	p := c.Project()
	claim := c.Run()
	at := func(field string) string { return p + ":run_status." + field }
	if run == nil {
		a.critical(at("run_id"), "evidence.run_unnamed", "",
			"run_status names no run, so nothing it claims can be checked against the store",
			"set run_status.run_id to the rigor run id (<row>__seed-<n>__attempt-<k>), ref or digest")
	} else if !run.Found {
		a.critical(at("run_id"), "evidence.run_not_found", "run="+run.Arg,
			"run "+run.Arg+" is not in the store, so the run the contract describes was not recorded",
			"record the run with rigor run, or name it by its run id, ref or digest")
	} else {
		checkRunClaims(a, c, claim, run, at)
	}
	for _, pe := range pairs {
		loc := fmt.Sprintf("%s:reproducibility.same_seed_runs[%d]", p, pe.Index)
		switch {
		case !pe.Bound && pe.First == "" && pe.Second == "":
			a.critical(loc, "evidence.pair_unbound", pe.Note,
				"the same-seed pair names no stored runs, so its exactness cannot be checked", "add first_run and second_run (run ids)")
		case !pe.Bound:
			a.critical(loc, "evidence.pair_not_found", fmt.Sprintf("first=%s second=%s: %s", pe.First, pe.Second, pe.Note),
				"a run of the same-seed pair is not in the store", "record both runs, or fix the run ids")
		case !pe.Exact && pairClaimsExact(c, pe.Index):
			a.critical(loc, "evidence.same_seed_mismatch", fmt.Sprintf("first=%s second=%s field=same_seed_exact claimed=true recorded=false: %s",
				pe.First, pe.Second, strings.Join(pe.Errors, "; ")),
				fmt.Sprintf("the pair claims same_seed_exact, but rigor compare finds %s and %s differ", pe.First, pe.Second),
				"find the nondeterminism (rigor compare shows where) and rerun the pair")
		}
	}
}

func pairClaimsExact(c *spec.Contract, i int) bool {
	for _, p := range c.SameSeedPairs() {
		if p.Index == i {
			return p.Exact
		}
	}
	return false
}

func checkRunClaims(a *contractAcc, c *spec.Contract, claim spec.RunClaim, run *RunEvidence, at func(string) string) {
	id := run.RunID
	mismatch := func(field, rule, claimed, recorded, fix string) {
		a.critical(at(field), rule, fmt.Sprintf("run=%s field=%s claimed=%s recorded=%s", id, field, claimed, recorded),
			fmt.Sprintf("run_status.%s claims %s, but the store recorded run %s with %s", field, claimed, id, recorded), fix)
	}
	const fixRecord = "write what the store recorded (rigor show RUN), or record the run the contract means"
	if len(run.Problems) > 0 {
		a.critical(at("run_id"), "evidence.bundle_invalid", fmt.Sprintf("run=%s: %s", id, strings.Join(bindFirstN(run.Problems, 3), "; ")),
			fmt.Sprintf("the bundle of run %s does not verify (%d problems), so it backs no claim", id, len(run.Problems)),
			"run rigor verify "+id+" and repair or rerun")
	}
	if allowed, ok := claimedRecorded[claim.Status]; ok && !slices.Contains(allowed, run.Status) {
		mismatch("status", "evidence.status_mismatch", claim.Status, run.Status+" ("+run.Reason+")", fixRecord)
	}
	if want, ok := terminationRecorded(claim.Termination); ok && !want(run) {
		mismatch("termination.reason", "evidence.termination_mismatch", claim.Termination, run.Reason, fixRecord)
	}
	rs := c.Section("run_status")
	term, _ := rs["termination"].(map[string]any)
	if v, present := term["exit_code"]; present && v != nil {
		if n, ok := spec.JSONInt(v); !ok || run.ExitCode == nil || int64(*run.ExitCode) != n {
			mismatch("termination.exit_code", "evidence.exit_code_mismatch", spec.JSONText(v), bindIntText(run.ExitCode), fixRecord)
		}
	}
	if claim.HasAttempt && run.Attempt > 0 && claim.Attempt != run.Attempt {
		mismatch("attempt", "evidence.attempt_mismatch", fmt.Sprint(claim.Attempt), fmt.Sprint(run.Attempt), fixRecord)
	}
	if claim.MatrixRowID != "" && claim.MatrixRowID != run.Row {
		mismatch("matrix_row_id", "evidence.matrix_row_mismatch", claim.MatrixRowID, run.Row, fixRecord)
	}
	if cs := claim.Completion; (cs == "PASS" || cs == "FAIL" || cs == "NOT_EVALUATED") && cs != run.Completion {
		mismatch("completion.status", "evidence.completion_mismatch", cs, run.Completion, fixRecord)
	}
	for _, item := range claim.Evidence {
		if !run.present(item) {
			a.critical(at("completion.evidence_artifacts"), "evidence.artifact_missing", fmt.Sprintf("run=%s field=completion.evidence_artifacts item=%s", id, item),
				fmt.Sprintf("completion evidence %q is not in the bundle of run %s", item, id),
				"list only artifacts the run recorded (rigor show RUN lists them)")
		}
	}
	guardrailClaimed := len(claim.GuardrailEvidence) > 0
	for _, item := range claim.GuardrailEvidence {
		if !run.present(item) {
			a.critical(at("completion.guardrail_evidence_artifacts"), "evidence.guardrail_missing",
				fmt.Sprintf("run=%s field=completion.guardrail_evidence_artifacts item=%s", id, item),
				fmt.Sprintf("guardrail evidence %q is not in the bundle of run %s", item, id),
				"have the program write its guardrail checks to $RIGOR_OUT/guardrails.json, and list guardrail_evidence")
		}
	}
	if !guardrailClaimed && c.RequiresGuardrails() && claim.Status == "COMPLETED" && !run.Artifacts["guardrail_evidence"] {
		a.critical(at("completion.guardrail_evidence_artifacts"), "evidence.guardrail_missing",
			fmt.Sprintf("run=%s field=guardrail_evidence", id),
			fmt.Sprintf("guardrails are required and run %s recorded no guardrail evidence", id),
			"have the program write its guardrail checks to $RIGOR_OUT/guardrails.json")
	}
	if run.HasWall {
		mins := float64(run.WallMS) / 60000
		recorded := fmt.Sprintf("%.2f min", mins)
		if limit, ok := c.Budget()["max_walltime_minutes"]; ok && mins > limit {
			a.critical(at("resources.walltime_minutes"), "evidence.walltime_exceeded",
				fmt.Sprintf("run=%s field=walltime recorded=%s budget=%g min", id, recorded, limit),
				fmt.Sprintf("run %s ran %s, more than the budget's %g minutes", id, recorded, limit),
				"stop and get the budget amended before going on")
		}
		if claimed, ok := claim.Resources["walltime_minutes"]; ok && math.Abs(claimed-mins) > math.Max(1, 0.1*mins) {
			mismatch("resources.walltime_minutes", "evidence.walltime_mismatch", fmt.Sprintf("%g min", claimed), recorded,
				"write the wall time the store recorded")
		}
	}
}

// terminationRecorded returns the test a claimed termination reason puts
// to the recorded one; ok is false for a reason that claims nothing
// (NONE, UNKNOWN, empty). OOM is recorded as an error ended by SIGKILL.
func terminationRecorded(reason string) (func(*RunEvidence) bool, bool) {
	switch reason {
	case "", "NONE", "UNKNOWN":
		return nil, false
	case "OOM":
		return func(r *RunEvidence) bool { return r.Reason == spec.ReasonError && r.Signal != nil && *r.Signal == 9 }, true
	}
	want := strings.ToLower(reason)
	return func(r *RunEvidence) bool { return r.Reason == want }, true
}

// present reports whether an evidence item is in the bundle: an artifact
// name of the manifest, or a path of the bundle or of its outputs.
func (r *RunEvidence) present(item string) bool {
	if r.Artifacts[item] {
		return true
	}
	return r.has(item) || r.has("rigor/outputs/"+item)
}

func bindIntText(p *int) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func bindFirstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
