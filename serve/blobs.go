package serve

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

// blobBuf is the size of the reads and writes of a blob download.
const blobBuf = 256 << 10

// serveBlob streams object {digest} (GET and HEAD), whole or one byte
// range, verified while it is read. See the package documentation,
// "Blob downloads".
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request) {
	d, err := cas.ParseDigest(r.PathValue("digest"))
	if err == nil && d.Algorithm() != cas.BLAKE3 {
		err = fmt.Errorf("%s: %w (objects are named by their blake3 digest)", d, cas.ErrUnsupported)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, err := downloadName(r.URL.Query().Get("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	sess, err := s.pool.acquire(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer s.pool.release(sess)
	info, err := sess.st.Stat(ctx, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Digest", d.String())
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	// The content is never rendered by the browser: a stored HTML file
	// must not run as this origin's page.
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if info.Kind == cas.KindTree {
		h.Set("X-Rigor-Kind", "tree")
	} else {
		h.Set("X-Rigor-Kind", "blob")
	}
	disp := "attachment"
	if name == "" {
		name = strings.ReplaceAll(d.String(), ":", "-")
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	if sum, ok := sha256Of(ctx, sess.st, d); ok {
		// RFC 9530: lets a client check the bytes with a hash its standard
		// library has.
		h.Set("Repr-Digest", "sha-256=:"+sum+":")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, d) {
		w.WriteHeader(http.StatusNotModified)
		return
	}

	start, end, partial, err := parseRange(r.Header.Get("Range"), info.Size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
		h.Del("Content-Disposition")
		s.fail(w, r, &statusError{code: http.StatusRequestedRangeNotSatisfiable, msg: err.Error()})
		return
	}
	if ir := r.Header.Get("If-Range"); partial && ir != "" && !etagMatch(ir, d) {
		start, end, partial = 0, info.Size, false
	}
	length := end - start
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	code := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, info.Size))
		code = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(code)
		return
	}
	// Checking only the whole digest (each byte hashed once) is safe here:
	// streamVerified holds back the end of the response until that check
	// has passed, so no complete response carries damaged bytes.
	rc, err := cas.OpenWhole(ctx, sess.st, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	s.pool.stream(sess, 1)
	defer s.pool.stream(sess, -1)
	if err := streamVerified(ctx, w, code, rc, start, length); err != nil {
		var pre *preHeaderError
		if errors.As(err, &pre) {
			for _, k := range []string{"Content-Length", "Content-Range", "Content-Disposition", "ETag", "Digest", "Repr-Digest", "Cache-Control"} {
				h.Del(k)
			}
			s.fail(w, r, pre.err)
			return
		}
		if s.opts.Logf != nil && ctx.Err() == nil {
			s.opts.Logf("GET %s: aborted: %v", r.URL.Path, err)
		}
		// The status line is out: the only way left to tell the client
		// is to cut the response short of its Content-Length.
		panic(http.ErrAbortHandler)
	}
}

// preHeaderError is a failure before any byte of the response was sent.
type preHeaderError struct{ err error }

func (e *preHeaderError) Error() string { return e.err.Error() }

// streamVerified copies bytes [start, start+length) of rc to w, reading
// rc from its start (a cas reader verifies from the start). The last
// buffer of the range is held back until rc has been read to its end, so
// that the whole object has matched its digest before the response is
// complete: on a mismatch the client gets a response short of its
// Content-Length, never a complete one with wrong bytes. The status is
// written with the first bytes sent, so that damage found before (in a
// range within the first buffer, or before the range) gives a proper
// error status (a *preHeaderError).
//
// A goroutine reads ahead (up to blobAhead buffers) while this one writes
// to the client, so that verifying and sending overlap.
func streamVerified(ctx context.Context, w http.ResponseWriter, code int, rc io.Reader, start, length int64) error {
	ra := readAhead(ctx, rc)
	defer ra.stop()
	var held *piece // in range, not yet written
	var pos int64   // offset of the next byte read
	end := start + length
	wrote := false
	flush := func() error {
		if held == nil {
			return nil
		}
		p := held
		held = nil
		if !wrote {
			w.WriteHeader(code)
			wrote = true
		}
		_, err := w.Write(p.data)
		ra.recycle(p)
		return err
	}
	for p := range ra.pieces {
		if n := len(p.data); n > 0 {
			lo, hi := max(start-pos, 0), min(end-pos, int64(n))
			pos += int64(n)
			if lo < hi {
				if err := flush(); err != nil {
					return err
				}
				p.data = p.data[lo:hi]
				held = p
			} else {
				ra.recycle(p)
			}
		}
		switch err := p.err; {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			// The reader reached its end: the whole object matched.
			if !wrote {
				w.WriteHeader(code)
				wrote = true
			}
			return flush()
		case !wrote:
			return &preHeaderError{err: err}
		default:
			return err
		}
	}
	return ctx.Err() // the read-ahead stopped: ctx ended
}

// blobAhead is the number of buffers read ahead of the client.
const blobAhead = 4

// piece is one read of a blob: its bytes and the read's error.
type piece struct {
	buf  []byte // the whole buffer, recycled
	data []byte
	err  error // io.EOF after the last bytes, or the failure
}

type reader struct {
	pieces <-chan *piece
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
}

// readAhead reads rc in a goroutine, blobBuf bytes at a time, into
// blobAhead buffers that the consumer recycles. The last piece carries an
// error (io.EOF at the end). stop ends the goroutine and waits for it, so
// that the caller may close rc afterwards.
func readAhead(ctx context.Context, rc io.Reader) *reader {
	out := make(chan *piece, blobAhead)
	r := &reader{pieces: out, free: make(chan []byte, blobAhead), done: make(chan struct{}), exited: make(chan struct{})}
	for range blobAhead {
		r.free <- make([]byte, blobBuf)
	}
	go func() {
		defer close(r.exited)
		defer close(out)
		for {
			var buf []byte
			select {
			case buf = <-r.free:
			case <-r.done:
				return
			case <-ctx.Done():
				return
			}
			n, err := io.ReadFull(rc, buf)
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			select {
			case out <- &piece{buf: buf, data: buf[:n], err: err}:
			case <-r.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *reader) recycle(p *piece) { r.free <- p.buf }

func (r *reader) stop() {
	close(r.done)
	<-r.exited
}

// parseRange parses a Range header for an object of size bytes: at most
// one range, "bytes=a-b", "bytes=a-" or "bytes=-n". It returns the
// half-open interval and whether the response is partial. An end past the
// object is cut to its size (RFC 9110); a malformed range, one that
// starts past the end, several ranges, or numbers that do not fit in 63
// bits are errors (416).
func parseRange(h string, size int64) (start, end int64, partial bool, err error) {
	if h == "" {
		return 0, size, false, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, false, fmt.Errorf("range %q: only bytes ranges are served", clip(h))
	}
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, ",") {
		return 0, 0, false, fmt.Errorf("range %q: one range per request", clip(h))
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false, fmt.Errorf("range %q is not bytes=FIRST-LAST", clip(h))
	}
	num := func(s string) (int64, error) {
		if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, fmt.Errorf("range %q: %q is not a byte offset", clip(h), clip(s))
		}
		return strconv.ParseInt(s, 10, 64)
	}
	switch {
	case first == "":
		n, err := num(last)
		if err != nil {
			return 0, 0, false, err
		}
		if n == 0 || size == 0 {
			return 0, 0, false, fmt.Errorf("range %q asks for no bytes of the %d bytes", clip(h), size)
		}
		return max(size-n, 0), size, true, nil
	default:
		a, err := num(first)
		if err != nil {
			return 0, 0, false, err
		}
		if a >= size {
			return 0, 0, false, fmt.Errorf("range %q starts at or past the end of the %d bytes", clip(h), size)
		}
		b := size - 1
		if last != "" {
			if b, err = num(last); err != nil {
				return 0, 0, false, err
			}
			if b < a {
				return 0, 0, false, fmt.Errorf("range %q ends before it starts", clip(h))
			}
			b = min(b, size-1)
		}
		return a, b + 1, true, nil
	}
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// etagMatch reports whether an If-None-Match or If-Range value names d.
func etagMatch(h string, d digest.Digest) bool {
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+d.String()+`"` {
			return true
		}
	}
	return false
}

// downloadName checks the ?name= of a download: a file name for the
// Content-Disposition header, without path separators or control bytes.
func downloadName(n string) (string, error) {
	if n == "" {
		return "", nil
	}
	if len(n) > 255 || strings.ContainsAny(n, "/\\") || n == "." || n == ".." {
		return "", fmt.Errorf("name %q: %w (a file name without / or \\)", clip(n), ErrBadRequest)
	}
	for _, c := range n {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("name %q: %w (no control characters)", clip(n), ErrBadRequest)
		}
	}
	return n, nil
}

// sha256Of returns the base64 SHA-256 of blob d from the store's SHA-256
// index, which ingest fills; ok is false when it has none.
func sha256Of(ctx context.Context, idx cas.Indexer, d digest.Digest) (string, bool) {
	var hexSum string
	key := []byte(d.String())
	err := idx.ScanIndex(ctx, verify.SHA256Index, key, func(k, v []byte) error {
		if string(k) == string(key) {
			hexSum = string(v)
		}
		return nil
	})
	if err != nil || len(hexSum) != 64 {
		return "", false
	}
	raw, err := hex.DecodeString(hexSum)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(raw), true
}
