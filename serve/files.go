package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/rigor-dev/rigor/cas"
)

// maxShownFile bounds the bytes of a file shown as text.
const maxShownFile = 2 << 20

// FileTextView is the page of one file of a run: its lines, numbered, for
// a text file that is small enough.
type FileTextView struct {
	RunID string   `json:"run_id"`
	File  FileView `json:"file"`
	// Lines are the text's lines; absent for a directory, a binary file
	// or one larger than 2 MiB (Note says which).
	Lines []string `json:"lines,omitempty"`
	Note  string   `json:"note,omitempty"`
	// Entries lists a directory.
	Entries []FileView `json:"entries,omitempty"`
}

func (s *Server) fileView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	rel, err := cleanRel(r.PathValue("path"))
	if err != nil {
		return nil, err
	}
	info, err := findRun(ctx, sess.st, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	b := newBundle(sess.st, info.Root)
	e, err := b.lookup(ctx, rel)
	if err != nil {
		return nil, err
	}
	v := &FileTextView{RunID: info.RunID, File: fileView("", rel, e, "")}
	if v.RunID == "" {
		v.RunID = info.Root.String()
	}
	if e.Mode == cas.ModeTree {
		t, err := b.tree(ctx, e.Digest)
		if err != nil {
			return nil, err
		}
		for _, c := range t.Entries {
			v.Entries = append(v.Entries, fileView("", rel+"/"+c.Name, c, ""))
		}
		return v, nil
	}
	if e.Size > maxShownFile {
		v.Note = fmt.Sprintf("%s: too large to show; download it", humanBytes(e.Size))
		return v, nil
	}
	data, err := readBlob(ctx, sess.st, e.Digest, e.Size, maxShownFile)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		v.Note = "binary content; download it"
		return v, nil
	}
	text := strings.TrimSuffix(string(data), "\n")
	if text != "" || len(data) > 0 {
		v.Lines = strings.Split(text, "\n")
	}
	return v, nil
}

// pathEscape escapes one path element for a URL.
func pathEscape(s string) string { return url.PathEscape(s) }

// escapePath escapes each element of a slash path for a URL.
func escapePath(p string) string {
	els := strings.Split(p, "/")
	for i, el := range els {
		els[i] = url.PathEscape(el)
	}
	return strings.Join(els, "/")
}
