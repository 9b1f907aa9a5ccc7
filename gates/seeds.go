package gates

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/rigor-dev/rigor/spec"
)

// Seeding mechanisms (spec §3.3, plus TensorFlow op determinism and JAX
// keys). Printed and persisted: do not rename.
const (
	MechPythonHashSeed   = "pythonhashseed"
	MechRandom           = "random_seed"
	MechNumPy            = "numpy_seed"
	MechTorch            = "torch_seed"
	MechTorchCUDA        = "torch_cuda_seed"
	MechCuDNN            = "cudnn_deterministic"
	MechTF               = "tf_seed"
	MechTFDeterminism    = "tf_op_determinism"
	MechJAX              = "jax_key"
	MechDataLoader       = "dataloader_worker_seed"
	seedGate             = "reproducible"
	seedHygieneGate      = "seed_hygiene"
	seedSeverityWarn     = "warn"
	seedSeverityCritical = "critical"
)

// mechanismFix is the fix hint of each mechanism.
var mechanismFix = map[string]string{
	MechPythonHashSeed: `set PYTHONHASHSEED before the interpreter starts: run the script with "rigor run" (which sets it) or export PYTHONHASHSEED=<seed>`,
	MechRandom:         "random.seed(seed)",
	MechNumPy:          "np.random.seed(seed), or pass np.random.default_rng(seed) everywhere randomness is drawn",
	MechTorch:          "torch.manual_seed(seed)",
	MechTorchCUDA:      "torch.manual_seed(seed) (seeds every device) or torch.cuda.manual_seed_all(seed)",
	MechCuDNN:          `torch.backends.cudnn.deterministic = True and torch.backends.cudnn.benchmark = False, or torch.use_deterministic_algorithms(True) with CUBLAS_WORKSPACE_CONFIG=:4096:8`,
	MechTF:             "tf.random.set_seed(seed) (or keras.utils.set_random_seed(seed))",
	MechTFDeterminism:  "tf.config.experimental.enable_op_determinism() (or TF_DETERMINISTIC_OPS=1 before TensorFlow loads)",
	MechJAX:            "derive every key from jax.random.PRNGKey(seed) with a fixed seed",
	MechDataLoader:     "DataLoader(..., worker_init_fn=seed_worker, generator=g) with g = torch.Generator(); g.manual_seed(seed)",
}

// SeedAudit is seed_audit's result (spec §3.3), computed by meaning rather
// than by names. JSON names follow the original.
type SeedAudit struct {
	Frameworks      []string           `json:"frameworks"`
	UsesDataLoader  bool               `json:"uses_dataloader"`
	UsesGPU         bool               `json:"uses_gpu"`
	Required        []string           `json:"required"`
	Set             []string           `json:"set"`
	Missing         []MissingMechanism `json:"missing"`
	MissingCritical []string           `json:"missing_critical"`
	Delegated       bool               `json:"delegated_to_unscanned_helper"`
	HasRandomness   bool               `json:"has_randomness"`
	SyntaxErrors    []string           `json:"syntax_errors"`
	OK              bool               `json:"ok"`
}

// MissingMechanism is a required mechanism that nothing sets. Severity is
// "critical", or "warn" when seeding is delegated to a helper outside the
// scanned code.
type MissingMechanism struct {
	Mechanism string `json:"mechanism"`
	Severity  string `json:"severity"`
	Fix       string `json:"fix"`
}

// Seeds audits seeding (spec §3.3) by what the code does:
//
//   - frameworks come from imports (from random import x counts);
//   - GPU use comes from code, not comments (.cuda(), "cuda" devices,
//     torch.cuda, cudnn settings);
//   - a call seeds only with a seed: default_rng(), random.seed() and
//     seeds taken from the clock seed nothing; a Generator's manual_seed is
//     not the global seed; use_deterministic_algorithms(False) is not
//     determinism; os.environ.setdefault("PYTHONHASHSEED", ...) counts;
//   - helpers defined in the scanned code are looked into; helpers of
//     transformers, lightning, keras and accelerate count for the mechanisms
//     they set; other helpers named like seed helpers delegate (missing
//     mechanisms then warn instead of failing), as in seed_audit.
//
// Besides missing mechanisms (gate "reproducible"), it reports in gate
// "seed_hygiene": PYTHONHASHSEED assigned inside the script (too late for
// the running interpreter), cudnn.benchmark=True with deterministic mode,
// seeding only on one branch or behind a flag, sklearn estimators and
// splitters with randomness and no random_state, and seeds from the clock.
func Seeds(ctx context.Context, srcs []Source, opts Options) (*Result, error) {
	prog, err := load(ctx, srcs, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	facts := make([]*seedFacts, len(prog.units))
	var problems []finding
	for _, u := range prog.units {
		problems = append(problems, unitProblems(u)...)
	}
	_, err = forUnits(ctx, prog, opts.Concurrency, func(i int, u *unit) []finding {
		facts[i] = collectSeedFacts(u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	audit, fs := evaluateSeeds(prog, facts)
	fs = append(fs, problems...)
	summary := "seeds: no framework with randomness"
	if audit.HasRandomness {
		summary = fmt.Sprintf("seeds: frameworks %s; %d of %d required mechanisms set", strings.Join(audit.Frameworks, ","),
			len(audit.Required)-len(audit.Missing), len(audit.Required))
	}
	always := spec.Gate{Gate: seedGate, Status: spec.GatePass, Severity: spec.SeverityInfo,
		Note: "every required seeding mechanism is set"}
	if !audit.HasRandomness {
		always = spec.Gate{Gate: seedGate, Status: spec.GateSkip, Severity: spec.SeverityInfo,
			Note: "no framework with randomness is imported"}
	}
	gateOf := func(f finding) string { return f.class }
	ruleOf := func(f finding) string {
		if f.rule != "" {
			return f.rule
		}
		return f.class
	}
	res := finish(opts, len(prog.units), fs, gateOf, ruleOf, []string{seedGate, seedHygieneGate}, []spec.Gate{always}, always, summary)
	res.Seeds = audit
	return res, nil
}

// seedFacts is what one unit says about seeding.
type seedFacts struct {
	u          *unit
	frameworks map[string]*node
	gpu        *node
	gpuWhy     string
	dataloader *node
	loaders    []loaderCall
	mechs      []mechOcc
	helpers    []*node // calls of seed helpers not defined in the scanned code
	hashWrites []*node
	benchmark  []*node
	detTrue    []*node
	randState  []*node
	randWhat   []string
	clockSeeds []*node
	calls      map[string][]*node // calls of functions by name
	usesJAXRnd bool
}

type loaderCall struct {
	at     *node
	seeded bool
}

type mechOcc struct {
	mech string
	at   *node
	read bool // a check of PYTHONHASHSEED, not an action: never conditional
}

var helperNames = nameSet("set_global_seed", "set_seed", "seed_everything", "set_random_seed", "fix_seed", "fix_seeds",
	"seed_all", "set_all_seeds", "make_reproducible", "enable_reproducibility", "set_determinism", "setup_seed",
	"init_seeds", "seed_torch", "set_seeds", "random_seed", "seed_worker_")

// clockRe matches seed arguments taken from the clock or the OS.
var clockRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\btime\.(time|time_ns|perf_counter|monotonic)\(|datetime\.(datetime\.)?(now|utcnow|today)\(|\bos\.(urandom|getpid)\(|\buuid\.|\bsecrets\.|\bSystemRandom\b|\brandom\.(randint|random|getrandbits)\(`)
})

func collectSeedFacts(u *unit) *seedFacts {
	sf := &seedFacts{u: u, frameworks: map[string]*node{}, calls: map[string][]*node{}}
	im := u.imports
	for _, m := range im.modules {
		top, _, _ := strings.Cut(strings.TrimLeft(m.module, "."), ".")
		fw := ""
		switch top {
		case "numpy":
			fw = "numpy"
		case "torch", "torchvision", "torchaudio":
			fw = "torch"
		case "tensorflow", "keras", "tf_keras":
			fw = "tensorflow"
		case "random":
			fw = "random"
		case "jax", "flax", "optax", "haiku":
			fw = "jax"
		}
		if fw != "" && sf.frameworks[fw] == nil {
			sf.frameworks[fw] = m.at
		}
		if m.name == "DataLoader" && sf.dataloader == nil {
			sf.dataloader = m.at
		}
	}
	generators := map[string]bool{} // names bound to torch.Generator()
	seededGens := map[string]bool{} // generator names with a manual_seed call
	var pendingLoaders []pendingLoader
	for _, f := range u.files {
		walk(f.root, func(n *node) bool {
			switch n.kind {
			case "call":
				sf.seedCall(n, im, generators, seededGens, &pendingLoaders)
			case "assignment":
				sf.seedAssign(n, im, generators)
			case "subscript":
				if envKey(n, im) == "PYTHONHASHSEED" {
					if p := n.parent; p != nil && p.kind == "assignment" && p.child("left") == n {
						sf.add(MechPythonHashSeed, n)
						sf.hashWrites = append(sf.hashWrites, n)
					} else {
						sf.addRead(MechPythonHashSeed, n)
					}
				}
			case "comparison_operator":
				// "PYTHONHASHSEED" in os.environ
				ks := n.kids()
				if len(ks) == 2 && strings.HasSuffix(im.canon(dotted(ks[1])), "environ") {
					if s, _ := stringValue(ks[0]); s == "PYTHONHASHSEED" {
						sf.addRead(MechPythonHashSeed, n)
					}
				}
			case "string":
				if s, ok := stringValue(n); ok && sf.gpu == nil && !isDocstring(n) {
					ls := strings.ToLower(s)
					if cudaRe().MatchString(ls) || ls == "gpu" || strings.HasPrefix(ls, "/gpu:") {
						sf.gpu, sf.gpuWhy = n, fmt.Sprintf("device %q", s)
					}
				}
			case "attribute":
				if n.parent != nil && n.parent.kind == "attribute" {
					return true // only whole chains
				}
				t := n.text()
				if !strings.Contains(t, "cuda") && !strings.Contains(t, "cudnn") && !strings.Contains(t, "random") {
					return true
				}
				d := im.canon(dotted(n))
				if sf.gpu == nil && (strings.HasPrefix(d, "torch.cuda.") || strings.HasPrefix(d, "torch.backends.cudnn")) {
					sf.gpu, sf.gpuWhy = n, d
				}
				if strings.HasPrefix(d, "jax.random.") {
					sf.usesJAXRnd = true
				}
			}
			return true
		})
	}
	for _, pl := range pendingLoaders {
		seeded := pl.workerInit
		if pl.genName != "" {
			seeded = seeded || seededGens[pl.genName]
		} else if pl.genInline {
			seeded = true
		}
		sf.loaders = append(sf.loaders, loaderCall{at: pl.at, seeded: seeded})
	}
	return sf
}

type pendingLoader struct {
	at         *node
	workerInit bool
	genName    string
	genInline  bool
}

var cudaRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^cuda(:\d+)?$`) })

func isDocstring(n *node) bool {
	p := n.parent
	return p != nil && p.kind == "expression_statement" && p.firstKid() == n
}

// envKey returns the key of os.environ["KEY"], or "".
func envKey(n *node, im *importTable) string {
	base := im.canon(dotted(n.child("value")))
	if !strings.HasSuffix(base, "environ") {
		return ""
	}
	s, _ := stringValue(n.child("subscript"))
	return s
}

// seedArg classifies the seed argument of a call: seeded, unseeded (none or
// None), or from the clock.
func seedArg(call *node, i int, name string) (seeded bool, clock bool) {
	a := arg(call, i, name)
	if a == nil || isNone(a) {
		return false, false
	}
	if clockRe().MatchString(a.text()) {
		return false, true
	}
	return true, false
}

func (sf *seedFacts) add(mech string, at *node) {
	sf.mechs = append(sf.mechs, mechOcc{mech: mech, at: at})
}

func (sf *seedFacts) addRead(mech string, at *node) {
	sf.mechs = append(sf.mechs, mechOcc{mech: mech, at: at, read: true})
}

func (sf *seedFacts) seedCall(n *node, im *importTable, gens, seeded map[string]bool, loaders *[]pendingLoader) {
	fn := unparen(n.child("function"))
	raw := dotted(fn)
	canon := im.canon(raw)
	tail := tailName(fn)
	_, kw := callArgs(n)
	if fn.kind == "identifier" {
		sf.calls[fn.text()] = append(sf.calls[fn.text()], n)
	} else if fn.kind == "attribute" {
		sf.calls[tail] = append(sf.calls[tail], n)
	}
	seedWith := func(mechs ...string) {
		ok, clock := seedArg(n, 0, "seed")
		if clock {
			sf.clockSeeds = append(sf.clockSeeds, n)
		}
		if ok {
			for _, m := range mechs {
				sf.add(m, n)
			}
		}
	}
	switch {
	case canon == "numpy.random.seed" || canon == "numpy.random.default_rng" || canon == "numpy.random.RandomState" ||
		canon == "numpy.random.SeedSequence" || canon == "numpy.random.PCG64" || canon == "numpy.random.MT19937":
		seedWith(MechNumPy)
	case canon == "random.seed":
		seedWith(MechRandom)
	case canon == "torch.manual_seed" || canon == "torch.random.manual_seed":
		seedWith(MechTorch, MechTorchCUDA)
	case canon == "torch.cuda.manual_seed_all" || canon == "torch.cuda.manual_seed":
		seedWith(MechTorchCUDA)
		if sf.gpu == nil {
			sf.gpu, sf.gpuWhy = n, canon
		}
	case tail == "manual_seed" && fn.kind == "attribute":
		// A Generator's manual_seed seeds that generator only.
		if obj := unparen(fn.child("object")); obj.kind == "identifier" {
			seeded[obj.text()] = true
		}
	case canon == "torch.use_deterministic_algorithms":
		a := arg(n, 0, "mode")
		if isTrue(a) && !isTrue(kw["warn_only"]) {
			sf.add(MechCuDNN, n)
		} else if a != nil && !isFalse(a) && !isLiteral(a) {
			sf.add(MechCuDNN, n) // depends on a runtime value: seeding.conditional reports it
		}
	case canon == "tensorflow.random.set_seed" || canon == "tensorflow.set_random_seed" ||
		canon == "tensorflow.compat.v1.set_random_seed" || canon == "tensorflow.random.set_global_generator":
		seedWith(MechTF)
	case strings.HasSuffix(canon, "utils.set_random_seed") && (hasPrefixModule(canon, "keras") || hasPrefixModule(canon, "tensorflow") || hasPrefixModule(canon, "tf_keras")):
		seedWith(MechRandom, MechNumPy, MechTF)
	case canon == "tensorflow.config.experimental.enable_op_determinism" || canon == "tensorflow.config.enable_op_determinism":
		sf.add(MechTFDeterminism, n)
	case (hasPrefixModule(canon, "transformers") || hasPrefixModule(canon, "accelerate")) && (tail == "set_seed" || tail == "enable_full_determinism"):
		seedWith(MechRandom, MechNumPy, MechTorch, MechTorchCUDA, MechTF)
		if tail == "enable_full_determinism" || isTrue(kw["deterministic"]) {
			sf.add(MechCuDNN, n)
			sf.add(MechTFDeterminism, n)
		}
	case strings.Contains(canon, "lightning") && tail == "seed_everything":
		ok, clock := seedArg(n, 0, "seed")
		if clock {
			sf.clockSeeds = append(sf.clockSeeds, n)
		}
		if ok || arg(n, 0, "seed") == nil { // lightning ≥ 2 uses seed 0 when none is given
			for _, m := range []string{MechRandom, MechNumPy, MechTorch, MechTorchCUDA} {
				sf.add(m, n)
			}
			if isTrue(kw["workers"]) {
				sf.add(MechDataLoader, n)
			}
		}
	case strings.Contains(canon, "lightning") && tail == "Trainer":
		if isTrue(kw["deterministic"]) {
			sf.add(MechCuDNN, n)
		}
		if a, ok := stringValue(kw["accelerator"]); ok && (a == "gpu" || a == "cuda") && sf.gpu == nil {
			sf.gpu, sf.gpuWhy = n, `Trainer(accelerator="`+a+`")`
		}
		if kw["gpus"] != nil && sf.gpu == nil {
			sf.gpu, sf.gpuWhy = n, "Trainer(gpus=...)"
		}
	case canon == "jax.random.PRNGKey" || canon == "jax.random.key":
		seedWith(MechJAX)
	case tail == "DataLoader":
		if sf.dataloader == nil {
			sf.dataloader = n
		}
		pl := pendingLoader{at: n, workerInit: kw["worker_init_fn"] != nil && !isNone(kw["worker_init_fn"])}
		if g := kw["generator"]; g != nil && !isNone(g) {
			switch g := unparen(g); {
			case g.kind == "identifier":
				pl.genName = g.text()
			case g.kind == "call" && tailName(g.child("function")) == "manual_seed":
				pl.genInline = true
			}
		}
		*loaders = append(*loaders, pl)
	case canon == "os.environ.setdefault" || canon == "os.putenv" || canon == "os.environ.update":
		key, _ := stringValue(arg(n, 0, "key"))
		if canon == "os.environ.update" {
			key = dictKeysWith(arg(n, 0, ""), kw, "PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC")
		}
		switch key {
		case "PYTHONHASHSEED":
			sf.add(MechPythonHashSeed, n)
			sf.hashWrites = append(sf.hashWrites, n)
		case "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC":
			sf.add(MechTFDeterminism, n)
		}
	case canon == "os.getenv" || canon == "os.environ.get":
		// A read counts, as in seed_audit: the script checks that its
		// launcher (rigor run) set the variable before Python started.
		if key, _ := stringValue(arg(n, 0, "key")); key == "PYTHONHASHSEED" {
			sf.addRead(MechPythonHashSeed, n)
		}
	case tail == "cuda" && fn.kind == "attribute" && sf.gpu == nil:
		sf.gpu, sf.gpuWhy = n, ".cuda()"
	case helperNames[tail]:
		sf.helpers = append(sf.helpers, n)
	}
	if strings.HasPrefix(canon, "jax.random.") {
		sf.usesJAXRnd = true
	}
	if sf.gpu == nil && strings.HasPrefix(canon, "torch.cuda.") {
		sf.gpu, sf.gpuWhy = n, canon
	}
	if canon == "tensorflow.config.list_physical_devices" || canon == "tensorflow.config.experimental.list_physical_devices" {
		if s, _ := stringValue(arg(n, 0, "device_type")); s == "GPU" && sf.gpu == nil {
			sf.gpu, sf.gpuWhy = n, "tf GPU devices"
		}
	}
	sf.sklearnRandomState(n, canon, tail, kw)
}

func dictKeysWith(d *node, kw map[string]*node, keys ...string) string {
	for _, k := range keys {
		if _, ok := kw[k]; ok {
			return k
		}
	}
	if d = unparen(d); d.is("dictionary") {
		for _, p := range d.kids() {
			if s, ok := stringValue(p.child("key")); ok && slices.Contains(keys, s) {
				return s
			}
		}
	}
	return ""
}

func (sf *seedFacts) seedAssign(n *node, im *importTable, gens map[string]bool) {
	left := n.child("left")
	right := n.child("right")
	d := im.canon(dotted(left))
	switch {
	case strings.HasSuffix(d, "cudnn.deterministic") && isTrue(right):
		sf.detTrue = append(sf.detTrue, n)
		sf.add(MechCuDNN, n)
	case strings.HasSuffix(d, "cudnn.benchmark") && isTrue(right):
		sf.benchmark = append(sf.benchmark, n)
	}
	if left.kind == "subscript" {
		switch envKey(left, im) {
		case "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC":
			if s, _ := stringValue(right); s != "0" {
				sf.add(MechTFDeterminism, n)
			}
		}
	}
	if left.kind == "identifier" && right.is("call") && im.canon(dotted(right.child("function"))) == "torch.Generator" {
		gens[left.text()] = true
	}
}

// randomSklearn are sklearn classes and functions whose results depend on
// random_state.
var randomSklearn = nameSet("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
	"ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor", "HistGradientBoostingClassifier",
	"HistGradientBoostingRegressor", "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
	"ExtraTreeRegressor", "BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
	"IsolationForest", "RandomTreesEmbedding", "SGDClassifier", "SGDRegressor", "Perceptron",
	"PassiveAggressiveClassifier", "MLPClassifier", "MLPRegressor", "KMeans", "MiniBatchKMeans", "BisectingKMeans",
	"SpectralClustering", "GaussianMixture", "BayesianGaussianMixture", "TSNE", "TruncatedSVD", "NMF", "FastICA",
	"LatentDirichletAllocation", "MiniBatchDictionaryLearning", "SparseRandomProjection", "GaussianRandomProjection",
	"RandomizedSearchCV", "ShuffleSplit", "StratifiedShuffleSplit", "GroupShuffleSplit", "RepeatedKFold",
	"RepeatedStratifiedKFold", "train_test_split", "make_classification", "make_regression", "make_blobs",
	"make_moons", "make_circles", "IterativeImputer", "RandomOverSampler", "SMOTE", "ADASYN", "RandomUnderSampler")

func (sf *seedFacts) sklearnRandomState(n *node, canon, tail string, kw map[string]*node) {
	fromSklearn := hasPrefixModule(canon, "sklearn") || hasPrefixModule(canon, "imblearn") || !strings.Contains(canon, ".")
	if !fromSklearn {
		return
	}
	needs := randomSklearn[tail]
	switch tail {
	case "KFold", "StratifiedKFold", "StratifiedGroupKFold":
		needs = isTrue(kw["shuffle"])
	case "train_test_split":
		needs = kw["shuffle"] == nil || !isFalse(kw["shuffle"])
	case "SVC", "NuSVC":
		needs = isTrue(kw["probability"])
	case "LogisticRegression":
		s, _ := stringValue(kw["solver"])
		needs = s == "sag" || s == "saga" || s == "liblinear"
	case "PCA":
		s, _ := stringValue(kw["svd_solver"])
		needs = s == "randomized" || s == "arpack"
	}
	if !needs {
		return
	}
	if rs, ok := kw["random_state"]; ok && !isNone(rs) {
		return
	}
	if kw["seed"] != nil {
		return
	}
	sf.randState = append(sf.randState, n)
	sf.randWhat = append(sf.randWhat, tail)
}

// ---- evaluation ----

// condition is why a place runs only sometimes.
type condition struct {
	ifNode *node
	branch int // 0: the if body, 1..: elif/else in order
	text   string
	flag   bool // depends on a command-line flag, config or environment
}

var flagRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(args|opts|options|cfg|config|conf|hparams|params|flags|FLAGS|settings)\.|sys\.argv|os\.environ|getenv|\bparser\b`)
})

var exemptCondRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)cuda|gpu|is_available|device|__name__|__main__|mps|TYPE_CHECKING|backends`)
})

// conditionOf returns the innermost non-exempt if branch around n within
// its function, or nil when n always runs once its function does.
func conditionOf(n *node) *condition {
	for c, p := n, n.parent; p != nil; c, p = p, p.parent {
		switch p.kind {
		case "function_definition", "lambda", "class_definition":
			return nil
		case "if_statement":
			if c == p.child("condition") {
				continue
			}
			if c.kind == "block" && c.field() == "consequence" {
				return makeCond(p, p.child("condition"), 0)
			}
		case "elif_clause":
			if c == p.child("condition") {
				continue
			}
			ifn := p.parent
			return makeCond(ifn, p.child("condition"), branchIndex(ifn, p))
		case "else_clause":
			ifn := p.parent
			if ifn == nil || ifn.kind != "if_statement" {
				continue
			}
			return makeCond(ifn, ifn.child("condition"), branchIndex(ifn, p))
		case "conditional_expression":
			return makeCond(p, p, 0)
		}
	}
	return nil
}

func branchIndex(ifn, alt *node) int {
	i := 1
	for _, a := range ifn.childrenOf("alternative") {
		if a == alt {
			return i
		}
		i++
	}
	return i
}

func makeCond(ifn, cond *node, branch int) *condition {
	text := strings.Join(strings.Fields(cond.text()), " ")
	if exemptCondRe().MatchString(text) {
		// Seeding the GPU only when there is one is right.
		for p := ifn.parent; p != nil; p = p.parent {
			if p.kind == "function_definition" {
				break
			}
			if p.is("if_statement", "elif_clause", "else_clause") {
				return conditionOf(ifn)
			}
		}
		return nil
	}
	return &condition{ifNode: ifn, branch: branch, text: text, flag: flagRe().MatchString(text) || strings.Contains(text, "seed")}
}

type seedEval struct {
	prog     *program
	facts    []*seedFacts
	funcCond map[*funcDef]*condition
	visiting map[*funcDef]bool
}

// occurrenceCondition is the condition under which a mechanism occurrence
// runs: its own if branch, or, inside a function, the condition of every
// call of that function when all of them are conditional.
func (se *seedEval) occurrenceCondition(at *node) *condition {
	if c := conditionOf(at); c != nil {
		return c
	}
	fnNode := at.enclosing("function_definition")
	if fnNode == nil {
		return nil
	}
	var fd *funcDef
	for _, sf := range se.facts {
		if d, ok := sf.u.defs.byNode[fnNode]; ok {
			fd = d
		}
	}
	if fd == nil {
		return nil
	}
	return se.functionCondition(fd)
}

func (se *seedEval) functionCondition(fd *funcDef) *condition {
	if c, ok := se.funcCond[fd]; ok {
		return c
	}
	if se.visiting[fd] {
		return nil
	}
	se.visiting[fd] = true
	defer delete(se.visiting, fd)
	var sites []*node
	for _, sf := range se.facts {
		sites = append(sites, sf.calls[fd.name]...)
	}
	var result *condition
	if len(sites) > 0 {
		for i, s := range sites {
			c := se.occurrenceCondition(s)
			if c == nil {
				result = nil
				break
			}
			if i == 0 {
				result = c
			}
		}
	}
	se.funcCond[fd] = result
	return result
}

func evaluateSeeds(prog *program, facts []*seedFacts) (*SeedAudit, []finding) {
	se := &seedEval{prog: prog, facts: facts, funcCond: map[*funcDef]*condition{}, visiting: map[*funcDef]bool{}}
	a := &SeedAudit{Frameworks: []string{}, Required: []string{}, Set: []string{}, Missing: []MissingMechanism{},
		MissingCritical: []string{}, SyntaxErrors: []string{}}
	var out []finding
	fwAt := map[string]*node{}
	var gpuAt, loaderAt *node
	gpuWhy := ""
	usesJAXRnd := false
	for _, sf := range facts {
		for fw, at := range sf.frameworks {
			if fwAt[fw] == nil {
				fwAt[fw] = at
			}
		}
		if gpuAt == nil && sf.gpu != nil {
			gpuAt, gpuWhy = sf.gpu, sf.gpuWhy
		}
		if loaderAt == nil && sf.dataloader != nil {
			loaderAt = sf.dataloader
		}
		usesJAXRnd = usesJAXRnd || sf.usesJAXRnd
	}
	for _, u := range prog.units {
		for _, f := range u.broken {
			a.SyntaxErrors = append(a.SyntaxErrors, fmt.Sprintf("%s:%d: %s", spec.Loc{Path: f.src.Path, Cell: f.src.Cell}, f.syntax.line, f.syntax.msg))
		}
	}
	for fw := range fwAt {
		a.Frameworks = append(a.Frameworks, fw)
	}
	slices.Sort(a.Frameworks)
	a.UsesGPU = gpuAt != nil
	a.UsesDataLoader = loaderAt != nil
	a.HasRandomness = len(a.Frameworks) > 0

	has := func(fw string) bool { return fwAt[fw] != nil }
	type req struct {
		mech string
		at   *node
	}
	var reqs []req
	firstFW := func() *node {
		var first *node
		for _, fw := range a.Frameworks {
			if at := fwAt[fw]; first == nil || at.f.src.Path < first.f.src.Path ||
				(at.f.src.Path == first.f.src.Path && at.start < first.start) {
				first = at
			}
		}
		return first
	}
	if a.HasRandomness {
		reqs = append(reqs, req{MechPythonHashSeed, firstFW()})
	}
	if has("random") {
		reqs = append(reqs, req{MechRandom, fwAt["random"]})
	}
	if has("numpy") {
		reqs = append(reqs, req{MechNumPy, fwAt["numpy"]})
	}
	if has("torch") {
		reqs = append(reqs, req{MechTorch, fwAt["torch"]})
		if a.UsesGPU {
			reqs = append(reqs, req{MechTorchCUDA, gpuAt}, req{MechCuDNN, gpuAt})
		}
	}
	if has("tensorflow") {
		reqs = append(reqs, req{MechTF, fwAt["tensorflow"]})
		if a.UsesGPU {
			reqs = append(reqs, req{MechTFDeterminism, gpuAt})
		}
	}
	if has("jax") && usesJAXRnd {
		reqs = append(reqs, req{MechJAX, fwAt["jax"]})
	}
	if a.UsesDataLoader {
		reqs = append(reqs, req{MechDataLoader, loaderAt})
	}

	// Which mechanisms are set, and where.
	setAt := map[string][]*node{}
	checked := map[string]bool{} // mechanisms the code checks rather than sets
	for _, sf := range facts {
		for _, m := range sf.mechs {
			setAt[m.mech] = append(setAt[m.mech], m.at)
			if m.read {
				checked[m.mech] = true
			}
		}
		if len(sf.loaders) > 0 {
			allSeeded := false
			for _, l := range sf.loaders {
				if l.seeded {
					allSeeded = true
					setAt[MechDataLoader] = append(setAt[MechDataLoader], l.at)
				}
			}
			_ = allSeeded
		}
	}
	// cudnn.benchmark = True undoes deterministic algorithm selection.
	var benchmarks []*node
	for _, sf := range facts {
		benchmarks = append(benchmarks, sf.benchmark...)
	}
	if len(benchmarks) > 0 && len(setAt[MechCuDNN]) > 0 {
		b := benchmarks[0]
		out = append(out, finding{class: seedHygieneGate, rule: "seed.cudnn_benchmark", severity: spec.SeverityMajor, at: b,
			issue: "torch.backends.cudnn.benchmark = True together with deterministic mode: the autotuner may pick different algorithms from run to run",
			fix:   "set torch.backends.cudnn.benchmark = False when you need same-seed reproducibility"})
		delete(setAt, MechCuDNN)
	}
	for m := range setAt {
		a.Set = append(a.Set, m)
	}
	slices.Sort(a.Set)

	var helpers []*node
	for _, sf := range facts {
		for _, h := range sf.helpers {
			name := tailName(h.child("function"))
			if len(prog.funcs[name]) == 0 && !definedMethod(prog, name) {
				helpers = append(helpers, h)
			}
		}
	}
	a.Delegated = len(helpers) > 0

	for _, r := range reqs {
		a.Required = append(a.Required, r.mech)
		if len(setAt[r.mech]) > 0 {
			continue
		}
		sev := seedSeverityCritical
		fsev := spec.SeverityCritical
		issue := fmt.Sprintf("%s is not set: %s", r.mech, requiredBecause(r.mech, gpuWhy))
		if a.Delegated {
			sev, fsev = seedSeverityWarn, spec.SeverityMajor
			issue += fmt.Sprintf("; seeding may happen in %s(), which is outside the scanned code", tailName(helpers[0].child("function")))
		}
		a.Missing = append(a.Missing, MissingMechanism{Mechanism: r.mech, Severity: sev, Fix: mechanismFix[r.mech]})
		if sev == seedSeverityCritical {
			a.MissingCritical = append(a.MissingCritical, r.mech)
		}
		at := r.at
		out = append(out, finding{class: seedGate, rule: "seed.missing." + r.mech, kind: r.mech, severity: fsev, at: at,
			issue: issue, fix: mechanismFix[r.mech]})
	}
	a.OK = a.HasRandomness && len(a.Missing) == 0

	// Hygiene: PYTHONHASHSEED set in the script.
	for _, sf := range facts {
		for _, w := range sf.hashWrites {
			out = append(out, finding{class: seedHygieneGate, rule: "seed.pythonhashseed_in_script", severity: spec.SeverityMinor, at: w,
				issue: "PYTHONHASHSEED set inside the script cannot change hash randomisation of the interpreter that is already running; it only reaches child processes",
				fix:   `set it before Python starts: run with "rigor run -- python ..." (it sets PYTHONHASHSEED) or export PYTHONHASHSEED in the shell`})
		}
		for _, c := range sf.clockSeeds {
			out = append(out, finding{class: seedHygieneGate, rule: "seed.clock_seed", severity: spec.SeverityMajor, at: c,
				issue: "the seed comes from the clock or the OS, so every run draws different numbers",
				fix:   "use a fixed seed from the config or the command line and record it"})
		}
		npSeeded := len(setAt[MechNumPy]) > 0
		for i, n := range sf.randState {
			sev := spec.SeverityMajor
			extra := "and nothing seeds NumPy's global generator, so results change from run to run"
			if npSeeded {
				sev, extra = spec.SeverityMinor, "so it draws from NumPy's global generator and depends on everything drawn before it"
			}
			out = append(out, finding{class: seedHygieneGate, rule: "seed.random_state", severity: sev, at: n,
				issue: fmt.Sprintf("%s has randomness but no random_state, %s", sf.randWhat[i], extra),
				fix:   "pass random_state=seed"})
		}
	}
	// Hygiene: seeding only on one branch or behind a flag.
	for _, mech := range a.Set {
		occ := setAt[mech]
		conds := map[*node]map[int]bool{}
		var first *condition
		var firstAt *node
		always := false
		for _, at := range occ {
			c := se.occurrenceCondition(at)
			if c == nil {
				always = true
				break
			}
			if conds[c.ifNode] == nil {
				conds[c.ifNode] = map[int]bool{}
			}
			conds[c.ifNode][c.branch] = true
			if first == nil {
				first, firstAt = c, at
			}
		}
		if always || first == nil || checked[mech] {
			continue
		}
		covered := false
		for ifn, branches := range conds {
			if coversAllBranches(ifn, branches) {
				covered = true
			}
		}
		if covered {
			continue
		}
		why := "only on one branch"
		if first.flag {
			why = "only behind a flag or setting"
		}
		out = append(out, finding{class: seedHygieneGate, rule: "seed.conditional", kind: mech, severity: spec.SeverityMajor, at: firstAt,
			issue: fmt.Sprintf("%s is set %s (if %s at %s); runs that take the other path are not seeded", mech, why, first.text, lineRef(first.ifNode)),
			fix:   "seed unconditionally at the start of the program, and make the seed value the only thing a flag changes"})
	}
	return a, out
}

func coversAllBranches(ifn *node, branches map[int]bool) bool {
	if ifn.kind != "if_statement" {
		return false
	}
	alts := ifn.childrenOf("alternative")
	if len(alts) == 0 || alts[len(alts)-1].kind != "else_clause" {
		return false
	}
	for i := 0; i <= len(alts); i++ {
		if !branches[i] {
			return false
		}
	}
	return true
}

func definedMethod(prog *program, name string) bool {
	for _, u := range prog.units {
		for _, fd := range u.defs.all {
			if fd.name == name {
				return true
			}
		}
	}
	return false
}

func requiredBecause(mech, gpuWhy string) string {
	switch mech {
	case MechPythonHashSeed:
		return "hash-based ordering (sets, dict of strings in older code, hash()) differs from run to run"
	case MechRandom:
		return "the random module is imported and its global generator is never seeded"
	case MechNumPy:
		return "numpy is imported and nothing seeds its global generator or a Generator with a seed"
	case MechTorch:
		return "torch is imported and its global generator is never seeded"
	case MechTorchCUDA:
		return "the code uses the GPU (" + gpuWhy + ") and CUDA generators are never seeded"
	case MechCuDNN:
		return "the code uses the GPU (" + gpuWhy + ") and cuDNN may pick non-deterministic algorithms"
	case MechTF:
		return "tensorflow is imported and its global seed is never set"
	case MechTFDeterminism:
		return "the code uses the GPU (" + gpuWhy + ") and TensorFlow ops are not made deterministic"
	case MechJAX:
		return "jax.random is used and no key comes from a fixed seed"
	case MechDataLoader:
		return "a DataLoader is used without worker_init_fn or a seeded generator"
	}
	return ""
}
