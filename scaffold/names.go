package scaffold

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// defaultName is the package and project name when nothing usable can be
// derived from the directory's name.
const defaultName = "experiment"

var (
	packageRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	// projectRE is a PEP 508 distribution name, lower case.
	projectRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)
)

// pythonKeywords cannot be package names (False, None and True already fail
// packageRE).
var pythonKeywords = []string{
	"and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
	"else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
	"nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
}

// shadowed are top-level modules a project package must not shadow: the
// standard library modules an experiment is likely to import (or to be
// named after), the packages the scaffold uses, and the names pytest gives
// meaning to. A package called "random" would replace the standard
// library's random for the project's own code.
var shadowed = []string{
	"abc", "argparse", "array", "ast", "asyncio", "base64", "bisect", "builtins", "calendar", "cmath",
	"cmd", "code", "codecs", "collections", "concurrent", "contextlib", "copy", "csv", "ctypes",
	"dataclasses", "datetime", "decimal", "difflib", "dis", "email", "enum", "errno", "fractions",
	"functools", "gc", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http", "importlib",
	"inspect", "io", "ipaddress", "itertools", "json", "keyword", "logging", "lzma", "math",
	"multiprocessing", "numbers", "operator", "os", "pathlib", "pickle", "platform", "pprint",
	"profile", "queue", "random", "re", "resource", "secrets", "select", "shutil", "signal", "site",
	"socket", "sqlite3", "stat", "statistics", "string", "struct", "subprocess", "sys", "tarfile",
	"tempfile", "test", "textwrap", "threading", "time", "timeit", "token", "tokenize", "tomllib",
	"trace", "traceback", "types", "typing", "unittest", "urllib", "uuid", "warnings", "weakref",
	"xml", "zipfile", "zlib", "zoneinfo",
	"hypothesis", "numpy", "pandas", "pytest", "scipy", "setuptools", "sklearn", "torch",
	"conftest", "tests",
}

// PackageName derives a Python package name from s (usually a directory
// name): lower case, each run of characters other than ASCII letters and
// digits becomes one "_", a leading digit gets "exp_" in front, and a name
// that is a keyword or would shadow a common module gets "_experiment"
// after it. It never fails: with nothing usable it returns "experiment".
func PackageName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	name := strings.Trim(b.String(), "_")
	switch {
	case name == "":
		return defaultName
	case name[0] >= '0' && name[0] <= '9':
		name = "exp_" + name
	}
	if slices.Contains(pythonKeywords, name) || slices.Contains(shadowed, name) {
		name += "_" + defaultName
	}
	return name
}

// ProjectName derives a distribution name (pyproject.toml's project.name)
// from s: lower case, each run of other characters than ASCII letters,
// digits, '.', '_' and '-' becomes one "-". With nothing usable it returns
// "experiment".
func ProjectName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-._")
	if name == "" {
		return defaultName
	}
	return name
}

// checkPackage returns an error wrapping [ErrBadName] unless name can be the
// project's import package.
func checkPackage(name string) error {
	switch {
	case !packageRE.MatchString(name):
		return fmt.Errorf("%w: package %q must be lower-case ASCII letters, digits and '_', not starting with a digit", ErrBadName, name)
	case slices.Contains(pythonKeywords, name):
		return fmt.Errorf("%w: package %q is a Python keyword", ErrBadName, name)
	case slices.Contains(shadowed, name):
		return fmt.Errorf("%w: package %q would shadow the module of that name", ErrBadName, name)
	}
	return nil
}

// checkProject returns an error wrapping [ErrBadName] unless name is a
// lower-case PEP 508 distribution name.
func checkProject(name string) error {
	if !projectRE.MatchString(name) {
		return fmt.Errorf("%w: project %q must be lower-case ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit", ErrBadName, name)
	}
	return nil
}
