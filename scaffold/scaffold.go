package scaffold

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
)

//go:embed all:template
var templateFS embed.FS

const (
	templateRoot = "template"
	packageElem  = "_package_"
	tmplSuffix   = ".tmpl"
)

// Error vocabulary of the scaffold package.
var (
	// ErrNotEmpty: the target exists and is not an empty directory; nothing
	// was written.
	ErrNotEmpty = errors.New("scaffold: target exists and is not an empty directory")
	// ErrBadName: a package or project name given in Options cannot be used.
	ErrBadName = errors.New("scaffold: invalid name")
)

// Options name the project. The zero value derives both names from the
// directory's name.
type Options struct {
	// Package is the Python import package, src/<Package>/. "" derives it
	// from the directory's name with [PackageName]. A name given here must
	// be lower-case ASCII letters, digits and '_', not a keyword and not a
	// module the project would shadow (random, numpy, tests, ...).
	Package string
	// Project is the distribution name in pyproject.toml. "" derives it from
	// the directory's name with [ProjectName].
	Project string
}

// File is one file of a rendered project.
type File struct {
	// Path is slash-separated and relative to the project's root.
	Path string
	Data []byte
}

// Resolve fills in the names opts leaves empty from dir's base name (of its
// absolute form, so "." works) and checks them. The error wraps
// [ErrBadName].
func Resolve(dir string, opts Options) (Options, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Options{}, fmt.Errorf("scaffold: %w", err)
	}
	base := filepath.Base(abs)
	if opts.Package == "" {
		opts.Package = PackageName(base)
	}
	if opts.Project == "" {
		opts.Project = ProjectName(base)
	}
	if err := checkPackage(opts.Package); err != nil {
		return Options{}, err
	}
	if err := checkProject(opts.Project); err != nil {
		return Options{}, err
	}
	return opts, nil
}

// Render returns the project's files, sorted by path, for the names in
// opts; an empty name is "experiment". It does no I/O. The error wraps
// [ErrBadName] for a name that cannot be used.
func Render(opts Options) ([]File, error) {
	if opts.Package == "" {
		opts.Package = defaultName
	}
	if opts.Project == "" {
		opts.Project = ProjectName(opts.Package)
	}
	if err := checkPackage(opts.Package); err != nil {
		return nil, err
	}
	if err := checkProject(opts.Project); err != nil {
		return nil, err
	}
	r := &renderer{opts: opts, sources: map[string]string{}, done: map[string][]byte{}, busy: map[string]bool{}}
	err := fs.WalkDir(templateFS, templateRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" || d.Name() == ".pytest_cache" || d.Name() == ".hypothesis" {
				return fs.SkipDir
			}
			return nil
		}
		r.sources[r.target(p)] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scaffold: template: %w", err)
	}
	files := make([]File, 0, len(r.sources))
	for target := range r.sources {
		data, err := r.render(target)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: target, Data: data})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// renderer renders template files on demand, so that one file can embed the
// SHA-256 of another.
type renderer struct {
	opts    Options
	sources map[string]string // target path -> template path
	done    map[string][]byte
	busy    map[string]bool // being rendered: a cycle if asked again
}

// target maps a template path to the project path it renders to.
func (r *renderer) target(p string) string {
	p = strings.TrimPrefix(p, templateRoot+"/")
	elems := strings.Split(p, "/")
	for i, e := range elems {
		if e == packageElem {
			elems[i] = r.opts.Package
		}
	}
	return strings.TrimSuffix(path.Join(elems...), tmplSuffix)
}

func (r *renderer) render(target string) ([]byte, error) {
	if b, ok := r.done[target]; ok {
		return b, nil
	}
	src, ok := r.sources[target]
	if !ok {
		return nil, fmt.Errorf("scaffold: template refers to %s, which the project does not have", target)
	}
	if r.busy[target] {
		return nil, fmt.Errorf("scaffold: template %s depends on itself", src)
	}
	r.busy[target] = true
	defer delete(r.busy, target)
	raw, err := templateFS.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("scaffold: template: %w", err)
	}
	out := raw
	if strings.HasSuffix(src, tmplSuffix) {
		t, err := template.New(src).Delims("{%", "%}").Option("missingkey=error").
			Funcs(template.FuncMap{"sha256": r.sha256}).Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("scaffold: template %s: %w", src, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, r.opts); err != nil {
			return nil, fmt.Errorf("scaffold: template %s: %w", src, err)
		}
		out = buf.Bytes()
	}
	r.done[target] = out
	return out, nil
}

// sha256 is the template function: the hex SHA-256 of a rendered file.
func (r *renderer) sha256(target string) (string, error) {
	b, err := r.render(target)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Write creates the project in dir. dir must not exist, or be an empty
// directory; otherwise the error wraps [ErrNotEmpty] and nothing is
// written. Missing parent directories are created. Names come from
// [Resolve]. A new dir appears complete or not at all: the files are
// written to a temporary sibling that is then renamed. Into an existing
// empty dir they are written in place, and removed again if one fails.
func Write(dir string, opts Options) error {
	opts, err := Resolve(dir, opts)
	if err != nil {
		return err
	}
	files, err := Render(opts)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	empty, err := emptyDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return writeNew(abs, files)
	case err != nil:
		return fmt.Errorf("scaffold: %w", err)
	case !empty:
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	if err := writeFiles(abs, files); err != nil {
		for _, top := range topLevel(files) {
			os.RemoveAll(filepath.Join(abs, top))
		}
		return err
	}
	return nil
}

// emptyDir reports whether dir is an empty directory. A file that is not a
// directory is not empty.
func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, nil
	}
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return len(names) == 0, nil
}

// writeNew writes files into a temporary sibling of dir and renames it to
// dir.
func writeNew(dir string, files []File) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-*")
	if err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("scaffold: %w", err)
	}
	if err := writeFiles(tmp, files); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Lstat(dir); serr == nil {
			return fmt.Errorf("%s: %w", dir, ErrNotEmpty) // created meanwhile
		}
		return fmt.Errorf("scaffold: %w", err)
	}
	return nil
}

func writeFiles(root string, files []File) error {
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
	}
	return nil
}

// topLevel returns the distinct first path elements of files.
func topLevel(files []File) []string {
	var tops []string
	for _, f := range files {
		top, _, _ := strings.Cut(f.Path, "/")
		if !slices.Contains(tops, top) {
			tops = append(tops, top)
		}
	}
	return tops
}
