package gates

// RuleHelp describes every rule the scans report, in one line each, for
// SARIF rule metadata and help output. Read-only.
var RuleHelp = map[string]string{
	ClassSecret:      "A credential is written in the code",
	ClassEvalExec:    "eval() or exec() runs code built from strings",
	ClassOSSystem:    "os.system()/os.popen() runs a command through the shell",
	ClassShellTrue:   "subprocess with shell=True",
	ClassSQLConcat:   "SQL built with string operations instead of parameters",
	ClassBareExcept:  "A bare except: hides every error",
	ClassFloatEq:     "Floats compared with == or !=",
	ClassNaNSwallow:  "NaN or Inf made to disappear silently",
	ClassLeakage:     "Information from the test data reaches training or evaluation",
	ClassSyntaxError: "The code does not parse, so nothing in it was checked",
	ClassReadError:   "The file could not be read",

	"leakage." + string(LeakPreprocessing):  "A statistic across rows was computed on rows that reach the test side",
	"leakage." + string(LeakOverlap):        "Rows are shared by train and test (oversampling, augmentation, training on evaluated rows)",
	"leakage." + string(LeakTestInTraining): "Test data used to train, to stop early, to tune or to choose a model",
	"leakage." + string(LeakGroup):          "A split ignores an entity column: one entity on both sides",
	"leakage." + string(LeakTime):           "A shuffled split of time-ordered data",

	"seed.missing." + MechPythonHashSeed: "PYTHONHASHSEED is not set for the run",
	"seed.missing." + MechRandom:         "Python's random module is not seeded",
	"seed.missing." + MechNumPy:          "NumPy is not seeded",
	"seed.missing." + MechTorch:          "PyTorch's global generator is not seeded",
	"seed.missing." + MechTorchCUDA:      "CUDA generators are not seeded",
	"seed.missing." + MechCuDNN:          "cuDNN / PyTorch deterministic algorithms are not enabled",
	"seed.missing." + MechTF:             "TensorFlow's global seed is not set",
	"seed.missing." + MechTFDeterminism:  "TensorFlow op determinism is not enabled",
	"seed.missing." + MechJAX:            "No JAX key comes from a fixed seed",
	"seed.missing." + MechDataLoader:     "DataLoader workers are not seeded",
	"seed.pythonhashseed_in_script":      "PYTHONHASHSEED set inside the running script is too late",
	"seed.cudnn_benchmark":               "cudnn.benchmark=True defeats deterministic mode",
	"seed.conditional":                   "Seeding happens only on one branch or behind a flag",
	"seed.random_state":                  "An estimator or splitter with randomness has no random_state",
	"seed.clock_seed":                    "A seed taken from the clock or the OS",
}
