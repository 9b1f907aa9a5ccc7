package spec

import (
	"maps"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// The reproducibility levels a rerun can establish, as
// light.experiment_execution_contract.v1 names them ([ReproLevels]).
const (
	LevelSameEnvRepeat = "SAME_ENV_REPEAT"
	LevelCleanEnvRerun = "CLEAN_ENV_RERUN"
	LevelCrossPlatform = "CROSS_PLATFORM"
)

// ComparisonRoleRerun is reproducibility.comparison_role of a run made by
// rigor rerun; its pair_id is the run id of the run it reproduces.
const ComparisonRoleRerun = "rerun"

// Categories of environment drift ([EnvChange.Category]). Do not reorder;
// append only.
const (
	// DriftPlatform: operating system, architecture, kernel, distribution
	// or CPU model.
	DriftPlatform = "platform"
	// DriftCPUFlags: an instruction-set flag of the CPU.
	DriftCPUFlags = "cpu_flags"
	// DriftGPU: GPU devices, driver, CUDA or cuDNN.
	DriftGPU = "gpu"
	// DriftMachine: host name, core counts, memory.
	DriftMachine = "machine"
	// DriftPython: the interpreter (version, implementation, executable,
	// prefix).
	DriftPython = "python"
	// DriftPackages: an installed Python distribution.
	DriftPackages = "packages"
	// DriftThreads: a thread-pool or determinism setting (OMP_NUM_THREADS,
	// MKL_*, CUBLAS_WORKSPACE_CONFIG, PYTHONHASHSEED...).
	DriftThreads = "threads"
	// DriftEnv: another recorded environment variable, the locale or the
	// time zone.
	DriftEnv = "env"
	// DriftLockFiles: a dependency lock or manifest file.
	DriftLockFiles = "lock_files"
	// DriftRigor: the rigor build that recorded the run.
	DriftRigor = "rigor"
	// DriftOther: anything else in the environment record.
	DriftOther = "other"
)

// platformCategories are the drift categories that mean another platform.
var platformCategories = []string{DriftPlatform, DriftCPUFlags, DriftGPU}

// EnvChange is one difference between two environment records, with the
// category it belongs to.
type EnvChange struct {
	Category string `json:"category"`
	Change
}

// threadVars are the environment variables (exact names, or prefixes
// ending in '*') that set thread pools or determinism.
var threadVars = []string{
	"OMP_*", "MKL_*", "OPENBLAS_*", "NUMEXPR_*", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
	"GOTO_NUM_THREADS", "RAYON_NUM_THREADS", "TBB_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG",
	"PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "XLA_FLAGS",
}

// EnvDrift lists every difference between the recorded environment a and
// the environment b, by category: packages by name, CPU flags by flag,
// environment variables by name, lock files by path, everything else by
// JSON path ("$.gpu.cuda"). It is empty exactly when the two records
// encode to the same canonical JSON. Changes come in category order (as
// the Drift constants are listed), then by where.
func EnvDrift(a, b *EnvRecord) []EnvChange {
	var out []EnvChange
	add := func(cat string, cs []Change) {
		for _, c := range cs {
			out = append(out, EnvChange{Category: cat, Change: c})
		}
	}
	add(DriftCPUFlags, keyedChanges("cpu flag ", setOf(a.CPU.Flags), setOf(b.CPU.Flags)))
	pa, pb := map[string]string{}, map[string]string{}
	for _, d := range a.Python.Distributions {
		pa[d.Name] = joinVersion(pa[d.Name], d.Version)
	}
	for _, d := range b.Python.Distributions {
		pb[d.Name] = joinVersion(pb[d.Name], d.Version)
	}
	add(DriftPackages, keyedChanges("package ", pa, pb))
	ea, eb := envMap(a.Env), envMap(b.Env)
	var threads, other []Change
	for _, c := range keyedChanges("", ea, eb) {
		if EnvAllowed(c.Where, threadVars) {
			threads = append(threads, c)
		} else {
			other = append(other, c)
		}
	}
	for i := range threads {
		threads[i].Where = "env " + threads[i].Where
	}
	for i := range other {
		other[i].Where = "env " + other[i].Where
	}
	add(DriftThreads, threads)
	add(DriftEnv, other)
	la, lb := map[string]string{}, map[string]string{}
	for _, l := range a.LockFiles {
		la[l.Path] = l.SHA256
	}
	for _, l := range b.LockFiles {
		lb[l.Path] = l.SHA256
	}
	add(DriftLockFiles, keyedChanges("lock file ", la, lb))

	// The rest, by JSON path.
	ra, rb := *a, *b
	for _, r := range []*EnvRecord{&ra, &rb} {
		r.CPU.Flags, r.Python.Distributions, r.Env, r.LockFiles = nil, nil, nil, nil
	}
	ta, errA := recordTree(&ra)
	tb, errB := recordTree(&rb)
	if errA != nil || errB != nil {
		add(DriftOther, []Change{{Where: "$", Kind: ChangeChanged, First: "(unencodable)", Second: "(unencodable)"}})
	} else {
		for _, c := range DiffJSON(ta, tb) {
			out = append(out, EnvChange{Category: pathCategory(c.Where), Change: c})
		}
	}
	order := []string{DriftPlatform, DriftCPUFlags, DriftGPU, DriftMachine, DriftPython, DriftPackages,
		DriftThreads, DriftEnv, DriftLockFiles, DriftRigor, DriftOther}
	slices.SortStableFunc(out, func(x, y EnvChange) int {
		if c := slices.Index(order, x.Category) - slices.Index(order, y.Category); c != 0 {
			return c
		}
		return strings.Compare(x.Where, y.Where)
	})
	return out
}

func joinVersion(prev, v string) string {
	if prev == "" {
		return v
	}
	return prev + ", " + v
}

func setOf(items []string) map[string]string {
	m := make(map[string]string, len(items))
	for _, s := range items {
		m[s] = "present"
	}
	return m
}

func envMap(vars []EnvVar) map[string]string {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

// keyedChanges compares two maps key by key, in key order; Where is prefix
// and the key.
func keyedChanges(prefix string, a, b map[string]string) []Change {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []Change
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		switch {
		case !inB:
			out = append(out, Change{Where: prefix + k, Kind: ChangeRemoved, First: va})
		case !inA:
			out = append(out, Change{Where: prefix + k, Kind: ChangeAdded, Second: vb})
		case va != vb:
			out = append(out, Change{Where: prefix + k, Kind: ChangeChanged, First: va, Second: vb})
		}
	}
	return out
}

// recordTree returns the record as a decoded JSON value, without
// validating it (a record read back may be one an older rigor wrote).
func recordTree(r *EnvRecord) (any, error) {
	b, err := Canonical(r)
	if err != nil {
		return nil, err
	}
	return ParseJSON(b)
}

// pathCategory says which category a JSON path of an environment record
// belongs to.
func pathCategory(p string) string {
	switch {
	case p == "$.os.hostname":
		return DriftMachine
	case strings.HasPrefix(p, "$.os"), p == "$.cpu.model", p == "$.cpu.unavailable":
		return DriftPlatform
	case strings.HasPrefix(p, "$.cpu"), strings.HasPrefix(p, "$.memory"):
		return DriftMachine
	case strings.HasPrefix(p, "$.gpu"):
		return DriftGPU
	case strings.HasPrefix(p, "$.python"):
		return DriftPython
	case p == "$.locale", p == "$.time_zone":
		return DriftEnv
	case strings.HasPrefix(p, "$.rigor"):
		return DriftRigor
	}
	return DriftOther
}

// DriftCategories returns the categories that occur in drift, in the
// order of drift.
func DriftCategories(drift []EnvChange) []string {
	var out []string
	for _, c := range drift {
		if !slices.Contains(out, c.Category) {
			out = append(out, c.Category)
		}
	}
	return out
}

// PlatformDiffers reports whether drift holds a change of platform: the
// operating system, architecture, kernel, CPU model or flags, or the GPUs,
// their driver, CUDA or cuDNN.
func PlatformDiffers(drift []EnvChange) bool {
	return slices.ContainsFunc(drift, func(c EnvChange) bool { return slices.Contains(platformCategories, c.Category) })
}

// RerunLevel is the reproducibility level a rerun establishes, given how
// its environment differs from the original's and whether the rerun
// rebuilt its environment: CROSS_PLATFORM when the platform differs,
// CLEAN_ENV_RERUN when the environment was rebuilt, SAME_ENV_REPEAT when
// the records are identical, and "" (no level) when the environment
// drifted otherwise; note says why.
func RerunLevel(drift []EnvChange, cleanEnv bool) (level, note string) {
	switch {
	case PlatformDiffers(drift):
		return LevelCrossPlatform, "the platform differs: " + strings.Join(DriftCategories(drift), ", ")
	case cleanEnv:
		return LevelCleanEnvRerun, "the environment was rebuilt from the recorded lock"
	case len(drift) == 0:
		return LevelSameEnvRepeat, "the environment record is identical"
	}
	return "", "the environment drifted (" + strings.Join(DriftCategories(drift), ", ") +
		") on the same platform: no level is claimed; rerun with --clean-env to rebuild it"
}

// RerunInfo is what a rerun's manifest records about the run it
// reproduces, as the "rerun" member of its "rigor" extension.
type RerunInfo struct {
	// Of, Ref and Root name the original run.
	Of   string        `json:"of"`
	Ref  string        `json:"ref"`
	Root digest.Digest `json:"root"`
	// Level is the reproducibility level the rerun establishes if its
	// outputs match ([RerunLevel]); "" when it claims none. LevelNote says
	// why.
	Level     string `json:"repro_level"`
	LevelNote string `json:"repro_level_note"`
	// CleanEnv is true when the rerun ran in a rebuilt environment.
	CleanEnv bool `json:"clean_env"`
	// EnvDrift are the categories in which the rerun's environment differs
	// from the original's.
	EnvDrift []string `json:"env_drift"`
}

// ContractRepro is the part of a light.experiment_execution_contract.v1
// reproducibility section that one rerun establishes.
type ContractRepro struct {
	Levels       map[string]string     `json:"levels"`
	Evidence     map[string]string     `json:"evidence"`
	SameSeedRuns []ContractSameSeedRun `json:"same_seed_runs"`
}

// ContractSameSeedRun is one entry of reproducibility.same_seed_runs, with
// rigor's first_run and second_run.
type ContractSameSeedRun struct {
	SameSeedExact     bool   `json:"same_seed_exact"`
	ComparisonLocator string `json:"comparison_locator"`
	FirstRun          string `json:"first_run"`
	SecondRun         string `json:"second_run"`
}

// RerunContractRepro returns the reproducibility evidence of one rerun of
// first as second at level: the level PASS when the outputs matched
// (outputsExact), FAIL when they did not, every other level UNKNOWN (a
// rerun shows one level); evidence for the level is locator. A
// SAME_ENV_REPEAT rerun is also a same-seed pair, with same_seed_exact the
// verdict of the same-seed comparison (sameSeedExact). With no level, every
// level is UNKNOWN and there is no evidence.
func RerunContractRepro(level string, outputsExact, sameSeedExact bool, first, second, locator string) ContractRepro {
	r := ContractRepro{Levels: map[string]string{}, Evidence: map[string]string{}, SameSeedRuns: []ContractSameSeedRun{}}
	for _, l := range ReproLevels {
		r.Levels[l] = "UNKNOWN"
	}
	if level == "" {
		return r
	}
	r.Levels[level] = "FAIL"
	if outputsExact {
		r.Levels[level] = "PASS"
	}
	r.Evidence[strings.ToLower(level)] = locator
	if level == LevelSameEnvRepeat {
		r.SameSeedRuns = append(r.SameSeedRuns, ContractSameSeedRun{
			SameSeedExact: sameSeedExact, ComparisonLocator: locator, FirstRun: first, SecondRun: second,
		})
	}
	return r
}

// DecodeRunRecord decodes and validates a "rigor.run.v1" record (a run
// bundle's rigor/run.json) strictly.
func DecodeRunRecord(data []byte) (*RunRecord, error) {
	r := new(RunRecord)
	return r, decodeRecord(data, SchemaRun, r)
}
