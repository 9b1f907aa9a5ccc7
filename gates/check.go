package gates

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// CheckConfigName is the file rigor check reads by default, in the
// project's root.
const CheckConfigName = "rigor-check.yaml"

// ErrCheckConfig: the rigor check configuration is not valid.
var ErrCheckConfig = errors.New("gates: invalid rigor check config")

// CheckConfig is the configuration of the stage-6 check sequence
// (rigor-check.yaml). Paths are relative to the file's directory. Every
// part is optional; a part left out is skipped (the checkpoint always
// runs).
//
//	project: tidepool           # the reports' target
//	stage: 6                    # the passport stage to checkpoint
//	contract: contract.json     # light.experiment_execution_contract.v1
//	bind_runs: true             # check the contract against the store (default: when there is a store)
//	code: [src, notebooks/eda.ipynb]  # scanned by review, seeds and repro
//	repro_spec: repro.json      # a repro spec; default: built from project, code and leakage
//	leakage: {train: data/train.csv, test: data/test.csv, group_col: station, target: y}
//	runs: [EXP-01__seed-42__attempt-1]    # runs to verify; default: every recorded run
//	pairs: [[EXP-01__seed-42__attempt-1, EXP-01__seed-42__attempt-2]]  # default: fixed_repro pairs
//	commands: [{label: tests, run: "pytest -q"}]  # gate commands for the checkpoint
//	passport: .light/passport.yaml
//	findings_dir: .light/findings   # where each step's light.findings.v1 goes
type CheckConfig struct {
	Project     string         `yaml:"project"`
	Stage       int            `yaml:"stage"`
	Contract    string         `yaml:"contract"`
	BindRuns    *bool          `yaml:"bind_runs"`
	Code        []string       `yaml:"code"`
	ReproSpec   string         `yaml:"repro_spec"`
	Leakage     *CheckLeakage  `yaml:"leakage"`
	Runs        []string       `yaml:"runs"`
	Pairs       [][]string     `yaml:"pairs"`
	Commands    []CheckCommand `yaml:"commands"`
	Passport    string         `yaml:"passport"`
	FindingsDir string         `yaml:"findings_dir"`

	base string // the directory paths are relative to
}

// CheckLeakage is the split audit of the repro step.
type CheckLeakage struct {
	Train    string   `yaml:"train"`
	Test     string   `yaml:"test"`
	CSV      string   `yaml:"csv"`
	SplitCol string   `yaml:"split_col"`
	Cols     []string `yaml:"cols"`
	GroupCol string   `yaml:"group_col"`
	Target   string   `yaml:"target"`
	Bins     int      `yaml:"bins"`
	RTol     float64  `yaml:"rtol"`
}

// CheckCommand is a gate command of the checkpoint.
type CheckCommand struct {
	Label string `yaml:"label"`
	Run   string `yaml:"run"`
}

// DecodeCheckConfig decodes a rigor check config. Unknown keys are errors
// (a misspelt key would silently skip a gate); base is the directory its
// paths are relative to. Errors wrap [ErrCheckConfig].
func DecodeCheckConfig(data []byte, base string) (*CheckConfig, error) {
	var c CheckConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrCheckConfig, err)
	}
	if c.Stage == 0 {
		c.Stage = 6
	}
	if c.Stage < 1 || c.Stage > 13 {
		return nil, fmt.Errorf("%w: stage %d is not a stage 1-13", ErrCheckConfig, c.Stage)
	}
	for i, p := range c.Pairs {
		if len(p) != 2 || p[0] == "" || p[1] == "" {
			return nil, fmt.Errorf("%w: pairs[%d] must be two run ids", ErrCheckConfig, i)
		}
	}
	for i, cmd := range c.Commands {
		if strings.TrimSpace(cmd.Label) == "" || strings.TrimSpace(cmd.Run) == "" {
			return nil, fmt.Errorf("%w: commands[%d] needs a label and a run command", ErrCheckConfig, i)
		}
	}
	if c.Passport == "" {
		c.Passport = ".light/passport.yaml"
	}
	if c.FindingsDir == "" {
		c.FindingsDir = ".light/findings"
	}
	c.base = base
	return &c, nil
}

// path resolves a config path.
func (c *CheckConfig) path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.base == "" {
		return p
	}
	return filepath.Join(c.base, p)
}

// CheckStep is one row of the check table.
type CheckStep struct {
	Step   string `json:"step"`
	Target string `json:"target"`
	// Status is PASS, WARN, FAIL or SKIP; Critical marks a FAIL that
	// blocks (the exit status).
	Status   string `json:"status"`
	Critical bool   `json:"critical"`
	Detail   string `json:"detail"`
	// Findings is the light.findings.v1 file the step wrote, if any.
	Findings string `json:"findings,omitempty"`
}

// CheckResult is the outcome of [RunCheck].
type CheckResult struct {
	Steps      []CheckStep `json:"steps"`
	Checkpoint *Checkpoint `json:"-"`
	WriteBack  *WriteBack  `json:"write_back,omitempty"`
	// Failed is true when a step failed critically.
	Failed bool `json:"failed"`
}

// CheckOptions tune [RunCheck].
type CheckOptions struct {
	// Store holds the runs; nil skips binding, verify and compare (with a
	// failing step when runs or pairs were asked for by name).
	Store BindStore
	// Runner runs a gate command; nil fails every command step.
	Runner func(ctx context.Context, label, command string) CommandGate
	// TS is the checkpoint's evidence time (taken on trust); "" is
	// unstamped.
	TS string
	// Write writes the checkpoint into the passport.
	Write bool
	// Now is the clock of the contract and verification rules; nil means
	// time.Now.
	Now func() time.Time
}

// RunCheck runs the stage-6 gate sequence in order: contract (bound to
// the stored runs when there is a store), review and seeds on the code,
// the repro gate, verification of each run, the same-seed comparison of
// each fixed-seed pair, the gate commands, and the checkpoint that
// aggregates every step's findings into the passport. Every step runs
// even when an earlier one fails, so one run reports everything. Each
// step's light.findings.v1 report is written to the findings directory;
// the checkpoint aggregates them. RunCheck returns an error only when it
// cannot write the findings or ctx is done.
func RunCheck(ctx context.Context, cfg *CheckConfig, opts CheckOptions) (*CheckResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	res := &CheckResult{}
	dir := cfg.path(cfg.FindingsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []CheckpointFindings
	record := func(step, target, file string, r *spec.Report, detail string) error {
		st := CheckStep{Step: step, Target: target, Detail: detail}
		switch r.Verdict {
		case spec.VerdictFail:
			st.Status, st.Critical = "FAIL", true
		case spec.VerdictWarn:
			st.Status = "WARN"
		default:
			st.Status = "PASS"
		}
		b, err := r.Encode()
		if err != nil {
			return fmt.Errorf("gates: %s findings: %w", step, err)
		}
		p := filepath.Join(dir, file)
		if err := checkWriteFile(p, append(b, '\n')); err != nil {
			return err
		}
		st.Findings = p
		res.Steps = append(res.Steps, st)
		written = append(written, CheckpointFindings{Name: file, Report: r})
		return nil
	}
	fail := func(step, target, detail string) {
		res.Steps = append(res.Steps, CheckStep{Step: step, Target: target, Status: "FAIL", Critical: true, Detail: detail})
	}
	skip := func(step, detail string) {
		res.Steps = append(res.Steps, CheckStep{Step: step, Status: "SKIP", Detail: detail})
	}
	project := cfg.Project
	if project == "" {
		project = "unnamed"
	}

	// 1. The execution contract.
	if cfg.Contract == "" {
		skip("contract", "no contract in the config")
	} else if c, err := checkReadContract(cfg.path(cfg.Contract)); err != nil {
		fail("contract", cfg.Contract, err.Error())
	} else {
		copts := ContractOptions{Now: now}
		bound := ""
		if opts.Store != nil && (cfg.BindRuns == nil || *cfg.BindRuns) {
			ev, err := BindRuns(ctx, opts.Store, c, BindOptions{BaseDir: cfg.base, Now: now})
			if err != nil {
				return nil, err
			}
			copts.Evidence, bound = append(copts.Evidence, ev), ", bound to the store"
		} else if cfg.BindRuns != nil && *cfg.BindRuns {
			fail("contract", cfg.Contract, "bind_runs is set and there is no store")
		}
		r := CheckContract(c, copts)
		detail := fmt.Sprintf("%s/%s%s", r.Status, r.Advancement, bound)
		if len(r.BlockingGates) > 0 {
			detail += "; blocking: " + strings.Join(r.BlockingGates, ", ")
		}
		if err := record("contract", cfg.Contract, "contract_findings.json", &r.Findings, detail); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 2, 3. Review and seeds on the code.
	var srcs []Source
	if len(cfg.Code) > 0 {
		var paths []string
		for _, p := range cfg.Code {
			paths = append(paths, cfg.path(p))
		}
		var err error
		if srcs, err = Load(ctx, paths); err != nil {
			return nil, err
		}
	}
	if len(srcs) == 0 {
		skip("review", "no code in the config")
		skip("seeds", "no code in the config")
	} else {
		target := strings.Join(cfg.Code, ",")
		for _, s := range []struct {
			step string
			fn   func(context.Context, []Source, Options) (*Result, error)
		}{{"review", Review}, {"seeds", Seeds}} {
			r, err := s.fn(ctx, srcs, Options{Target: project})
			if err != nil {
				return nil, err
			}
			if err := record(s.step, target, s.step+"_findings.json", &r.Report, r.Report.Summary); err != nil {
				return nil, err
			}
		}
	}

	// 4. The repro gate.
	rs, err := cfg.reproSpec(project)
	switch {
	case err != nil:
		fail("repro", cfg.ReproSpec, err.Error())
	case rs == nil:
		skip("repro", "no code, repro spec or leakage in the config")
	default:
		r, err := Repro(ctx, rs, ReproOptions{})
		if err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("verdict %s", r.Findings.Verdict)
		if b := r.Findings.Blocking(); len(b) > 0 {
			detail += "; blocking: " + strings.Join(b, ", ")
		}
		if err := record("repro", rs.Name(), "repro_findings.json", &r.Findings, detail); err != nil {
			return nil, err
		}
	}

	// 5, 6. Verify each run; compare each fixed-seed pair.
	if opts.Store == nil {
		if len(cfg.Runs) > 0 || len(cfg.Pairs) > 0 {
			fail("verify", "", "runs or pairs are named and there is no store")
		} else {
			skip("verify", "no store")
			skip("compare", "no store")
		}
	} else {
		if err := checkVerifySteps(ctx, cfg, opts.Store, now, record, fail, skip); err != nil {
			return nil, err
		}
	}

	// 7. Gate commands.
	var cmds []CommandGate
	for _, c := range cfg.Commands {
		var cg CommandGate
		if opts.Runner == nil {
			cg = CommandGate{Label: c.Label, ExitCode: -1, Err: "no command runner"}
		} else {
			cg = opts.Runner(ctx, c.Label, c.Run)
		}
		cmds = append(cmds, cg)
		st := CheckStep{Step: "command", Target: c.Label, Status: "PASS", Detail: "exit 0"}
		if cg.Err != "" || cg.ExitCode != 0 {
			st.Status, st.Critical, st.Detail = "FAIL", true, fmt.Sprintf("exit %d %s", cg.ExitCode, cg.Err)
		}
		res.Steps = append(res.Steps, st)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	// 8. The checkpoint.
	passport := cfg.path(cfg.Passport)
	cp := AggregateCheckpoint(cfg.Stage, written, cmds, opts.TS, cfg.Passport)
	res.Checkpoint = cp
	st := CheckStep{Step: "checkpoint", Target: fmt.Sprintf("stage %d", cfg.Stage), Status: cp.Record.Result,
		Detail: "gates " + cp.Record.Gates + "; evidence " + cp.Record.Evidence}
	if b, err := cp.Report.Encode(); err != nil {
		return nil, err
	} else if err := checkWriteFile(filepath.Join(dir, "checkpoint_findings.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	st.Findings = filepath.Join(dir, "checkpoint_findings.json")
	if st.Status == "FAIL" {
		st.Critical = true
	}
	pb, err := os.ReadFile(passport)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.Detail += "; no passport at " + cfg.Passport
	case err != nil:
		return nil, err
	default:
		p, err := ParsePassport(pb)
		if err == nil {
			var wb *WriteBack
			if wb, err = p.ApplyCheckpoint(cp, WriteBackOptions{Write: opts.Write, BaseDir: cfg.base}); err == nil {
				res.WriteBack = wb
				if opts.Write {
					var nb []byte
					if nb, err = p.Encode(); err == nil {
						err = checkWriteFile(passport, nb)
					}
					if err != nil {
						return nil, err
					}
					st.Detail += fmt.Sprintf("; passport: stage %d %s, revision %d", cfg.Stage, wb.Status, wb.Revision)
				}
			}
		}
		if err != nil {
			st.Status, st.Critical = "FAIL", true
			st.Detail += "; passport: " + err.Error()
		}
	}
	res.Steps = append(res.Steps, st)
	for _, s := range res.Steps {
		res.Failed = res.Failed || s.Critical
	}
	return res, nil
}

func checkReadContract(p string) (*spec.Contract, error) {
	b, err := bindReadSmall(p, 64<<20)
	if err != nil {
		return nil, err
	}
	return spec.DecodeContract(b)
}

// reproSpec is the repro spec of the check: the repro_spec file, or one
// made of the project, the code and the leakage block; nil when there is
// nothing to check.
func (c *CheckConfig) reproSpec(project string) (*spec.ReproSpec, error) {
	if c.ReproSpec != "" {
		b, err := bindReadSmall(c.path(c.ReproSpec), 64<<20)
		if err != nil {
			return nil, err
		}
		rs, err := spec.DecodeReproSpec(b)
		if err != nil {
			return nil, err
		}
		for i, f := range rs.CodeFiles {
			rs.CodeFiles[i] = c.path(f)
		}
		if l := rs.Leakage; l != nil {
			l.Train, l.Test, l.CSV = c.path(l.Train), c.path(l.Test), c.path(l.CSV)
		}
		return rs, nil
	}
	if len(c.Code) == 0 && c.Leakage == nil {
		return nil, nil
	}
	rs := &spec.ReproSpec{Project: project}
	for _, p := range c.Code {
		rs.CodeFiles = append(rs.CodeFiles, c.path(p))
	}
	if l := c.Leakage; l != nil {
		rs.Leakage = &spec.LeakageSpec{Train: c.path(l.Train), Test: c.path(l.Test), CSV: c.path(l.CSV), SplitCol: l.SplitCol,
			Cols: l.Cols, GroupCol: l.GroupCol, Target: l.Target, Bins: cmp.Or(l.Bins, 20), RTol: cmp.Or(l.RTol, 1e-3)}
	}
	return rs, nil
}

type checkRecordFunc func(step, target, file string, r *spec.Report, detail string) error

func checkVerifySteps(ctx context.Context, cfg *CheckConfig, s BindStore, now func() time.Time, record checkRecordFunc,
	fail func(step, target, detail string), skip func(step, detail string)) error {
	all, err := verify.AllRuns(ctx, s)
	if err != nil {
		return err
	}
	var runs []verify.RunInfo
	if len(cfg.Runs) == 0 {
		runs = all
	} else {
		for _, name := range cfg.Runs {
			info, err := verify.FindRun(ctx, s, name)
			if errors.Is(err, verify.ErrRunNotFound) || errors.Is(err, verify.ErrAmbiguous) {
				fail("verify", name, err.Error())
				continue
			}
			if err != nil {
				return err
			}
			runs = append(runs, info)
		}
	}
	if len(runs) == 0 && len(cfg.Runs) == 0 {
		skip("verify", "no runs recorded")
	} else if len(runs) > 0 {
		rep := spec.Report{Schema: spec.FindingsSchema, Producer: "rigor-verify", Target: "runs", FreshEvidence: true}
		bad := 0
		for _, info := range runs {
			vr, err := verify.Run(ctx, s, info.Root, verify.Options{Now: now, Recorded: checkRecordedOf(info), Index: s})
			if err != nil {
				return err
			}
			g := spec.Gate{Gate: vr.Run, Status: spec.GatePass, Severity: spec.SeverityInfo, Findings: []spec.Finding{},
				Note: fmt.Sprintf("%d objects, %d bytes", vr.Objects, vr.Bytes)}
			if !vr.OK {
				bad++
				g.Status, g.Severity = spec.GateFail, spec.SeverityCritical
				for _, p := range vr.Problems {
					loc := vr.Run
					if p.Path != "" {
						loc += ":" + p.Path
					}
					g.Findings = append(g.Findings, spec.Finding{Loc: loc, Issue: p.Error(), Rule: "verify." + p.Kind.String(),
						Fix: "rigor verify " + vr.Run + " explains it; rerun or restore the run"})
				}
				if len(g.Findings) == 0 {
					g.Findings = append(g.Findings, spec.Finding{Loc: vr.Run, Issue: "the run does not verify", Rule: "verify.failed"})
				}
			}
			rep.Gates = append(rep.Gates, g)
		}
		rep.Verdict = spec.ComputeVerdict(rep.Gates)
		rep.Summary = fmt.Sprintf("verify: %d runs, %d with problems", len(runs), bad)
		if err := record("verify", fmt.Sprintf("%d runs", len(runs)), "verify_findings.json", &rep, rep.Summary); err != nil {
			return err
		}
	}

	pairs := cfg.Pairs
	if len(pairs) == 0 {
		pairs = checkFixedSeedPairs(all)
	}
	if len(pairs) == 0 {
		skip("compare", "no fixed-seed pair recorded")
		return nil
	}
	rep := spec.Report{Schema: spec.FindingsSchema, Producer: "rigor-compare", Target: "same-seed pairs", FreshEvidence: true}
	diff := 0
	for _, p := range pairs {
		name := p[0] + " = " + p[1]
		a, errA := verify.FindRun(ctx, s, p[0])
		b, errB := verify.FindRun(ctx, s, p[1])
		if err := cmp.Or(errA, errB); err != nil {
			if !errors.Is(err, verify.ErrRunNotFound) && !errors.Is(err, verify.ErrAmbiguous) {
				return err
			}
			diff++
			rep.Gates = append(rep.Gates, spec.Gate{Gate: name, Status: spec.GateFail, Severity: spec.SeverityCritical,
				Findings: []spec.Finding{{Loc: name, Issue: err.Error(), Rule: "compare.run_not_found", Fix: "name recorded runs"}}})
			continue
		}
		c, err := verify.Compare(ctx, s, a, b, verify.CompareOptions{Now: now})
		if err != nil {
			return err
		}
		g := spec.Gate{Gate: name, Status: spec.GatePass, Severity: spec.SeverityInfo, Findings: []spec.Finding{}, Note: "same_seed_exact"}
		if !c.SameSeedExact {
			diff++
			g.Status, g.Severity, g.Note = spec.GateFail, spec.SeverityCritical, ""
			errs := c.Errors
			if len(errs) == 0 {
				errs = []string{"not exact"}
			}
			for _, e := range errs {
				g.Findings = append(g.Findings, spec.Finding{Loc: name, Issue: e, Rule: "compare.same_seed_mismatch",
					Fix: "rigor compare " + p[0] + " " + p[1] + " shows where they differ"})
			}
		}
		rep.Gates = append(rep.Gates, g)
	}
	rep.Verdict = spec.ComputeVerdict(rep.Gates)
	rep.Summary = fmt.Sprintf("compare: %d fixed-seed pairs, %d not exact", len(pairs), diff)
	return record("compare", fmt.Sprintf("%d pairs", len(pairs)), "compare_findings.json", &rep, rep.Summary)
}

func checkRecordedOf(info verify.RunInfo) *verify.RunInfo {
	if info.RunID == "" {
		return nil
	}
	return &info
}

// checkFixedSeedPairs pairs, for each matrix row and fixed_repro seed, the
// first completed attempt with each later completed one.
func checkFixedSeedPairs(runs []verify.RunInfo) [][]string {
	type key struct {
		row  string
		seed int64
	}
	groups := map[key][]spec.RunSummary{}
	var keys []key
	for _, r := range runs {
		s := r.Summary
		if s == nil || s.Status != spec.StatusCompleted || s.Seed.Role != "fixed_repro" {
			continue
		}
		k := key{s.Row, s.Seed.Value}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], *s)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.row, b.row), cmp.Compare(a.seed, b.seed)) })
	var out [][]string
	for _, k := range keys {
		g := groups[k]
		slices.SortFunc(g, func(a, b spec.RunSummary) int { return cmp.Compare(a.Attempt, b.Attempt) })
		for _, later := range g[1:] {
			out = append(out, []string{g[0].RunID, later.RunID})
		}
	}
	return out
}

// checkWriteFile writes data to p through a temporary file and a rename.
func checkWriteFile(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, p)
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
