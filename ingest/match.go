package ingest

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadPattern: an include or exclude pattern does not parse.
var ErrBadPattern = errors.New("ingest: bad path pattern")

// DefaultCodeExclude are the patterns a code snapshot leaves out unless
// CodeOptions.NoDefaultExclude is set: version-control and store
// directories, Python caches and virtual environments, which no run imports
// as source.
var DefaultCodeExclude = []string{
	".git", ".rigor", ".hg", ".svn",
	"__pycache__", "*.pyc", "*.pyo",
	".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
	".ipynb_checkpoints", "node_modules", ".DS_Store",
}

// pathMatcher decides which slash-separated relative paths a snapshot
// keeps. Patterns follow a small subset of gitignore: a pattern without a
// slash matches a name at any depth; one with a slash matches the path from
// the root; "*", "?" and "[...]" work within a name and "**" matches any
// number of directories; a trailing "/" is ignored. A path is kept when no
// exclude pattern matches it or one of its parent directories, and, if
// there are include patterns, one of them matches it or a parent directory.
type pathMatcher struct {
	include, exclude []string
}

func newPathMatcher(include, exclude []string) (*pathMatcher, error) {
	m := &pathMatcher{}
	for _, list := range []struct {
		in  []string
		out *[]string
	}{{include, &m.include}, {exclude, &m.exclude}} {
		for _, p := range list.in {
			p = strings.TrimSuffix(p, "/")
			if strings.Trim(p, "/") == "" {
				continue
			}
			if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadPattern, p, err)
			}
			*list.out = append(*list.out, p)
		}
	}
	return m, nil
}

// keep reports whether the path rel is kept.
func (m *pathMatcher) keep(rel string) bool {
	if anyMatch(m.exclude, rel) {
		return false
	}
	return len(m.include) == 0 || anyMatch(m.include, rel)
}

// keepDir reports whether a walk should enter the directory rel: it is not
// excluded, and an include pattern could match something in it.
func (m *pathMatcher) keepDir(rel string) bool {
	return !anyMatch(m.exclude, rel)
}

// anyMatch reports whether one of pats matches rel or a parent of rel.
func anyMatch(pats []string, rel string) bool {
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		for _, pat := range pats {
			if matchPattern(pat, p) {
				return true
			}
		}
	}
	return false
}

func matchPattern(pat, rel string) bool {
	if anchored, ok := strings.CutPrefix(pat, "/"); ok {
		return matchSegments(strings.Split(anchored, "/"), strings.Split(rel, "/"))
	}
	if !strings.Contains(pat, "/") && pat != "**" {
		ok, _ := path.Match(pat, path.Base(rel))
		return ok
	}
	return matchSegments(strings.Split(pat, "/"), strings.Split(rel, "/"))
}

func matchSegments(p, s []string) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	if p[0] == "**" {
		for i := 0; i <= len(s); i++ {
			if matchSegments(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	if len(s) == 0 {
		return false
	}
	ok, _ := path.Match(p[0], s[0])
	return ok && matchSegments(p[1:], s[1:])
}
