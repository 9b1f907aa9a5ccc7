package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rigor-dev/rigor/cas"
)

// Limits of the log view.
const (
	defaultTail  = 500
	maxTail      = 10000
	maxMatches   = 1000
	maxLineShown = 4096 // bytes of one line kept for display
	maxQuery     = 256
)

// LogLine is one line of a log: its 1-based number and its text (cut at
// 4096 bytes, invalid UTF-8 replaced).
type LogLine struct {
	N    int64  `json:"n"`
	Text string `json:"text"`
	Cut  bool   `json:"cut,omitempty"`
}

// logQuery says what to show of a log: the last Tail lines, or the lines
// that contain Search (any case).
type logQuery struct {
	Tail   int    `json:"tail"`
	Search string `json:"q,omitempty"`
}

// LogView is the log page: a tail of the log, or the lines matching a
// search.
type LogView struct {
	RunID string   `json:"run_id"`
	File  FileView `json:"file"`
	Query logQuery `json:"query"`
	// Lines are the tail, or the matching lines (at most 1000).
	Lines []LogLine `json:"lines"`
	// TotalLines counts the lines of the log; Matches the lines that
	// matched (all of them, also past the 1000 shown).
	TotalLines int64 `json:"total_lines"`
	Matches    int64 `json:"matches,omitempty"`
	// Logs are the run's other logs, by name.
	Logs []string `json:"-"`
}

func (s *Server) logView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	q := logQuery{Tail: defaultTail, Search: r.URL.Query().Get("q")}
	if t := r.URL.Query().Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > maxTail {
			return nil, fmt.Errorf("tail %q is not a number of lines from 1 to %d: %w", t, maxTail, ErrBadRequest)
		}
		q.Tail = n
	}
	if len(q.Search) > maxQuery {
		return nil, fmt.Errorf("search of %d bytes: %w (at most %d)", len(q.Search), ErrBadRequest, maxQuery)
	}
	info, err := findRun(ctx, sess.st, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	b := newBundle(sess.st, info.Root)
	raw, _, err := b.read(ctx, "manifest.json", maxManifest)
	if err != nil {
		return nil, err
	}
	m, _ := decodeManifest(raw)
	files, _, err := b.walk(ctx, maxListedFiles)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	logs := runLogs(m, files)
	for _, lg := range logs {
		if lg.Name != name {
			continue
		}
		if lg.Missing {
			return nil, fmt.Errorf("log %s (%s): %w in the run bundle", name, lg.Path, ErrNotFound)
		}
		lv, err := scanLog(ctx, sess.st, lg, q)
		if err != nil {
			return nil, err
		}
		lv.RunID = info.RunID
		if lv.RunID == "" {
			lv.RunID = info.Root.String()
		}
		for _, o := range logs {
			lv.Logs = append(lv.Logs, o.Name)
		}
		return lv, nil
	}
	return nil, fmt.Errorf("run %s has no log %q: %w", r.PathValue("id"), name, ErrNotFound)
}

// scanLog reads the log once, verified, keeping its tail or the lines
// that match.
func scanLog(ctx context.Context, st cas.Getter, f FileView, q logQuery) (*LogView, error) {
	rc, err := st.Open(ctx, f.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	v := &LogView{File: f, Query: q, Lines: []LogLine{}}
	needle := []byte(strings.ToLower(q.Search))
	var ring []LogLine
	if q.Search == "" {
		ring = make([]LogLine, 0, q.Tail)
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	var n int64
	var cur []byte
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: keep its start, skip the rest.
			if len(cur) < maxLineShown+1 {
				cur = append(cur, chunk[:min(len(chunk), maxLineShown+1-len(cur))]...)
			}
			continue
		}
		last := err == io.EOF
		if err != nil && !last {
			return nil, err
		}
		if len(chunk) > 0 || len(cur) > 0 {
			if len(cur) < maxLineShown+1 {
				cur = append(cur, chunk[:min(len(chunk), maxLineShown+1-len(cur))]...)
			}
			n++
			line := bytes.TrimSuffix(bytes.TrimSuffix(cur, []byte("\n")), []byte("\r"))
			if q.Search == "" {
				if len(ring) < q.Tail {
					ring = append(ring, logLine(n, line))
				} else {
					ring[(n-1)%int64(q.Tail)] = logLine(n, line)
				}
			} else if bytes.Contains(bytes.ToLower(line), needle) {
				v.Matches++
				if len(v.Lines) < maxMatches {
					v.Lines = append(v.Lines, logLine(n, line))
				}
			}
			cur = cur[:0]
		}
		if last {
			break
		}
	}
	v.TotalLines = n
	if q.Search == "" {
		// ring holds line k at (k-1) mod Tail: rotate the oldest first.
		start := 0
		if len(ring) == q.Tail {
			start = int(n % int64(q.Tail))
		}
		v.Lines = append(append(v.Lines, ring[start:]...), ring[:start]...)
	}
	return v, nil
}

func logLine(n int64, b []byte) LogLine {
	l := LogLine{N: n}
	if len(b) > maxLineShown {
		b, l.Cut = b[:maxLineShown], true
	}
	if utf8.Valid(b) {
		l.Text = string(b)
	} else {
		l.Text = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return l
}
