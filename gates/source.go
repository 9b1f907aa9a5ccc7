package gates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MaxFileSize is the largest source or notebook the loaders read; a larger
// file becomes a READ-ERROR finding.
const MaxFileSize = 16 << 20

// Source is one unit of Python text to scan: a .py file, or one code cell of
// a Jupyter notebook. The cells of one notebook share Path, have Cell ≥ 1
// (the 1-based position of the cell among all the notebook's cells, so that
// "cell 3" is the third cell whatever its type) and are analysed together, in
// order, as one program. Err is set, and Text nil, when the file could not
// be read; the scan then reports READ-ERROR for it.
type Source struct {
	Path string
	Cell int
	Text []byte
	Err  error
}

// Load reads the sources named by paths, as review_gate does (spec §3.2): a
// directory is walked recursively for *.py and *.ipynb files (hidden
// directories, __pycache__, virtual environments and node_modules are
// skipped); a path ending in .py or .ipynb is included even when it cannot
// be read, and then carries Err; any other path is ignored. Files are
// de-duplicated and sorted by path, cells kept in notebook order. Load
// returns an error only when ctx is done or a directory walk fails at its
// root; unreadable files are data, not errors.
func Load(ctx context.Context, paths []string) ([]Source, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := os.Stat(p)
		if err == nil && info.IsDir() {
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					if path == p {
						return err
					}
					if d != nil && d.IsDir() {
						return fs.SkipDir
					}
					add(path) // unreadable entry: becomes a READ-ERROR if it is a source
					return nil
				}
				if d.IsDir() {
					if path != p && skipDir(d.Name()) {
						return fs.SkipDir
					}
					return ctx.Err()
				}
				if isSourceName(path) {
					add(path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("gates: walk %s: %w", p, err)
			}
			continue
		}
		if isSourceName(p) {
			add(p)
		}
	}
	slices.Sort(files)
	var out []Source
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := readLimited(p)
		if err != nil {
			out = append(out, Source{Path: p, Err: err})
			continue
		}
		if strings.HasSuffix(p, ".ipynb") {
			cells, err := NotebookSources(p, data)
			if err != nil {
				out = append(out, Source{Path: p, Err: err})
				continue
			}
			out = append(out, cells...)
			continue
		}
		out = append(out, Source{Path: p, Text: data})
	}
	return out, nil
}

func isSourceName(p string) bool {
	return strings.HasSuffix(p, ".py") || strings.HasSuffix(p, ".ipynb")
}

func skipDir(name string) bool {
	switch name {
	case "__pycache__", "node_modules", "venv", "site-packages", ".ipynb_checkpoints":
		return true
	}
	return strings.HasPrefix(name, ".") && name != "." && name != ".."
}

// ErrTooLarge is the cause of a READ-ERROR for a file over [MaxFileSize].
var ErrTooLarge = errors.New("gates: file too large")

func readLimited(p string) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %w (over %d MiB)", p, ErrTooLarge, MaxFileSize>>20)
	}
	return data, nil
}

// ErrNotebook is the cause of a READ-ERROR for a .ipynb that is not a
// Jupyter notebook.
var ErrNotebook = errors.New("gates: not a Jupyter notebook")

// NotebookSources splits a Jupyter notebook (nbformat 4, or 3 with
// worksheets) into one Source per code cell. IPython syntax that is not
// Python is blanked, keeping line numbers: line magics (%...), shell escapes
// (!...), "x = !cmd" and "x = %magic", help (obj?) and cells that start with
// a cell magic other than %%time, %%timeit and %%capture. A notebook whose
// kernel language is not Python yields no sources.
func NotebookSources(path string, data []byte) ([]Source, error) {
	var nb struct {
		Cells      []nbCell `json:"cells"`
		Worksheets []struct {
			Cells []nbCell `json:"cells"`
		} `json:"worksheets"`
		Metadata struct {
			Kernelspec struct {
				Language string `json:"language"`
			} `json:"kernelspec"`
			LanguageInfo struct {
				Name string `json:"name"`
			} `json:"language_info"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotebook, err)
	}
	cells := nb.Cells
	for _, ws := range nb.Worksheets {
		cells = append(cells, ws.Cells...)
	}
	if cells == nil {
		return nil, fmt.Errorf("%s: %w: no \"cells\"", path, ErrNotebook)
	}
	lang := strings.ToLower(nb.Metadata.LanguageInfo.Name + nb.Metadata.Kernelspec.Language)
	if lang != "" && !strings.Contains(lang, "python") {
		return []Source{}, nil
	}
	var out []Source
	for i, c := range cells {
		if c.CellType != "code" {
			continue
		}
		text, err := c.text()
		if err != nil {
			return nil, fmt.Errorf("%s: cell %d: %w: %v", path, i+1, ErrNotebook, err)
		}
		out = append(out, Source{Path: path, Cell: i + 1, Text: []byte(blankMagics(text))})
	}
	if out == nil {
		out = []Source{}
	}
	return out, nil
}

type nbCell struct {
	CellType string          `json:"cell_type"`
	Source   json.RawMessage `json:"source"`
	Input    json.RawMessage `json:"input"` // nbformat 3
}

func (c nbCell) text() (string, error) {
	raw := c.Source
	if len(raw) == 0 {
		raw = c.Input
	}
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", err
	}
	return strings.Join(lines, ""), nil
}

// blankMagics replaces IPython-only lines with "pass" at the same
// indentation, so that a block whose only line was a magic stays valid.
func blankMagics(text string) string {
	lines := strings.Split(text, "\n")
	if len(lines) > 0 {
		first := strings.TrimSpace(lines[0])
		if strings.HasPrefix(first, "%%") {
			name := strings.Fields(first[2:])
			keep := len(name) > 0 && (name[0] == "time" || name[0] == "timeit" || name[0] == "capture")
			if !keep {
				return strings.Repeat("\n", len(lines)-1)
			}
			lines[0] = ""
		}
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		pass := l[:len(l)-len(strings.TrimLeft(l, " \t"))] + "pass"
		switch {
		case strings.HasPrefix(t, "%") || strings.HasPrefix(t, "!"):
			lines[i] = pass
		case strings.HasSuffix(t, "?") && !strings.ContainsAny(t, "\"'#"):
			lines[i] = pass
		default:
			if _, rhs, ok := strings.Cut(t, "="); ok {
				r := strings.TrimSpace(rhs)
				if (strings.HasPrefix(r, "!") || strings.HasPrefix(r, "%")) && !strings.HasPrefix(rhs, "=") {
					lines[i] = pass
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}
