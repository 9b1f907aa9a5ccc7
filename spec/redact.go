package spec

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces the value of a secret wherever rigor records one.
const Redacted = "<redacted>"

// secretNameParts are the name fragments (upper case) that mark an
// environment variable as a credential holder, wherever they occur in the
// name.
var secretNameParts = []string{
	"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL",
	"KEY", "PRIVATE", "COOKIE", "SESSION",
}

// IsSecretName reports whether an environment variable called name is
// treated as holding a credential: its upper-cased name contains TOKEN,
// SECRET, PASSWORD, PASSWD, PASSPHRASE, CREDENTIAL, KEY, PRIVATE, COOKIE or
// SESSION, or starts with AWS_.
func IsSecretName(name string) bool {
	u := strings.ToUpper(name)
	if strings.HasPrefix(u, "AWS_") {
		return true
	}
	for _, p := range secretNameParts {
		if strings.Contains(u, p) {
			return true
		}
	}
	return false
}

// secretValue matches values that are credentials whatever they are called:
// PEM blocks, AWS access key ids, the token formats of GitHub, GitLab, Slack,
// Hugging Face, OpenAI-style and Google API keys, JSON Web Tokens, and URLs
// with a password in them.
var secretValue = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----` +
		`|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b` +
		`|\bgh[pousr]_[A-Za-z0-9]{30,}` +
		`|\bgithub_pat_[A-Za-z0-9_]{30,}` +
		`|\bglpat-[A-Za-z0-9_-]{20,}` +
		`|\bxox[abposr]-[A-Za-z0-9-]{10,}` +
		`|\bhf_[A-Za-z0-9]{30,}` +
		`|\bsk-[A-Za-z0-9_-]{20,}` +
		`|\bAIza[0-9A-Za-z_-]{35}` +
		`|\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}` +
		`|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`)
})

// IsSecretValue reports whether v looks like a credential by its content
// alone: it contains a PEM header, an AWS access key id, a well-known token
// format or a URL with a password.
func IsSecretValue(v string) bool {
	return secretValue().MatchString(v)
}

// secretFlagNames are the normalised flag names (see normFlag) whose value
// is a secret; a flag is secret when its name is one of them or ends with
// "-" and one of them.
var secretFlagNames = []string{
	"token", "password", "passwd", "passphrase", "secret", "credential", "credentials",
	"api-key", "apikey", "access-key", "secret-key", "private-key",
}

// lightSecretFlags are the flags the light.run_manifest.v3 checker rejects.
var lightSecretFlags = []string{"--api-key", "--token", "--password", "--secret"}

// normFlag returns the lower-cased name of a command-line flag without its
// dashes, with '_' read as '-', and the inline value of a --flag=value form.
// ok is false when arg is not a flag.
func normFlag(arg string) (name, value string, inline, ok bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", "", false, false
	}
	n := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(n, '='); i >= 0 {
		n, value, inline = n[:i], n[i+1:], true
	}
	n = strings.ReplaceAll(strings.ToLower(n), "_", "-")
	if n == "" || len(arg)-len(strings.TrimLeft(arg, "-")) > 2 {
		return "", "", false, false
	}
	return n, value, inline, true
}

// IsSecretFlag reports whether arg is a flag whose value is a secret:
// --token, --api-key, --password, --secret and their relatives (--passwd,
// --apikey, --access-key, --secret-key, --private-key, --hf-token,
// --client-secret...), with one or two dashes, '_' or '-', in any case,
// alone or in the --flag=value form.
func IsSecretFlag(arg string) bool {
	name, _, _, ok := normFlag(arg)
	if !ok {
		return false
	}
	for _, s := range secretFlagNames {
		if name == s || strings.HasSuffix(name, "-"+s) {
			return true
		}
	}
	return false
}

// RedactArgv returns a copy of argv that is safe to record: the value that
// follows a secret flag ([IsSecretFlag]) is replaced by [Redacted], as is the
// value of its --flag=value form, and so is any item that looks like a
// credential by itself ([IsSecretValue]). The flags themselves are kept, so
// the record still shows that a secret was passed. argv is not modified.
func RedactArgv(argv []string) []string {
	out := make([]string, len(argv))
	redactNext := false
	for i, a := range argv {
		switch {
		case redactNext:
			out[i] = Redacted
			redactNext = false
		case IsSecretFlag(a):
			if j := strings.IndexByte(a, '='); j >= 0 {
				out[i] = a[:j+1] + Redacted
			} else {
				out[i] = a
				redactNext = true
			}
		case IsSecretValue(a):
			out[i] = Redacted
		default:
			out[i] = a
		}
	}
	return out
}

// StripSecretArgs returns a copy of argv without secret flags and their
// values, and with credential-looking items replaced by [Redacted]. It is the
// form light.run_manifest.v3 stores ("the secret flags and their values are
// never stored"), which must pass [HasLightSecretFlag].
func StripSecretArgs(argv []string) []string {
	out := make([]string, 0, len(argv))
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case IsSecretFlag(a):
			if !strings.Contains(a, "=") {
				i++ // skip its value too
			}
		case IsSecretValue(a):
			out = append(out, Redacted)
		default:
			out = append(out, a)
		}
	}
	return out
}

// HasLightSecretFlag applies the light.run_manifest.v3 rule: it reports
// whether a lower-cased argv item equals --api-key, --token, --password or
// --secret, or starts with one of them followed by '='.
func HasLightSecretFlag(argv []string) bool {
	for _, a := range argv {
		l := strings.ToLower(a)
		for _, f := range lightSecretFlags {
			if l == f || strings.HasPrefix(l, f+"=") {
				return true
			}
		}
	}
	return false
}

// EnvVar is one recorded environment variable. When Redacted is true, Value
// is [Redacted] and the real value was never recorded.
type EnvVar struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Redacted bool   `json:"redacted,omitempty"`
}

// DefaultEnvAllow is the allow-list [RedactEnv] uses when given none: the
// settings that change what a numerical run computes or where it runs
// (thread pools, visible devices, determinism switches, Python and locale
// settings, time zone). A trailing '*' matches any suffix.
var DefaultEnvAllow = []string{
	"OMP_*", "MKL_*", "OPENBLAS_*", "NUMEXPR_*", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
	"GOTO_NUM_THREADS", "RAYON_NUM_THREADS", "TBB_NUM_THREADS",
	"CUDA_*", "NVIDIA_*", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG",
	"CUDNN_*", "NCCL_*", "PYTORCH_*", "TORCH_*", "TF_*", "XLA_FLAGS", "JAX_*",
	"PYTHON*", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "UV_*", "PIP_*",
	"HF_*", "TRANSFORMERS_*",
	"LANG", "LANGUAGE", "LC_*", "TZ", "PATH", "LD_LIBRARY_PATH", "SOURCE_DATE_EPOCH",
	"RIGOR_*",
}

// EnvAllowed reports whether name matches one of the allow-list patterns
// (exact names, or prefixes written with a trailing '*').
func EnvAllowed(name string, allow []string) bool {
	for _, p := range allow {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}

// RedactEnv turns an environment (os.Environ form, "NAME=value") into the
// list rigor records, sorted by name:
//
//   - a variable whose name or value looks like a credential
//     ([IsSecretName], [IsSecretValue]) is recorded by name, with its value
//     replaced by [Redacted], whether or not it is allowed;
//   - any other variable is recorded with its value if allow admits it
//     ([EnvAllowed]; nil means [DefaultEnvAllow]) and left out otherwise.
//
// When a name occurs twice, the first occurrence counts, as for getenv.
// Entries without '=' are ignored.
func RedactEnv(environ []string, allow []string) []EnvVar {
	if allow == nil {
		allow = DefaultEnvAllow
	}
	seen := map[string]bool{}
	var out []EnvVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || seen[name] {
			continue
		}
		seen[name] = true
		switch {
		case IsSecretName(name) || IsSecretValue(value):
			out = append(out, EnvVar{Name: name, Value: Redacted, Redacted: true})
		case EnvAllowed(name, allow):
			out = append(out, EnvVar{Name: name, Value: value})
		}
	}
	slices.SortFunc(out, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return out
}
