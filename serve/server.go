package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

// Error vocabulary of the serve package. Handlers map them to HTTP status
// codes: [ErrBusy] 503, [ErrNotFound] 404, [ErrBadRequest] 400.
var (
	// ErrBusy: the store could not be opened within Options.LockTimeout
	// because another rigor process holds it.
	ErrBusy = errors.New("serve: the store is busy")
	// ErrNotFound: no run, object or file of that name.
	ErrNotFound = errors.New("serve: not found")
	// ErrBadRequest: a parameter is malformed.
	ErrBadRequest = errors.New("serve: bad request")

	errServerClosed = errors.New("serve: server closed")
)

// Store is what the server reads: objects (verified while read), trees,
// the runs and lineage indexes, and digest prefixes. The server never
// writes. *cas.Store satisfies it.
type Store interface {
	cas.Getter
	verify.Catalog
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
	Resolve(ctx context.Context, s string) (digest.Digest, error)
	Close() error
}

var _ Store = (*cas.Store)(nil)

// Opener opens the store for a burst of requests; the server closes what
// it returns when the burst is over. It should give up when ctx ends
// (the server bounds it by Options.LockTimeout) with an error wrapping
// cas.ErrLocked or ctx.Err().
type Opener func(ctx context.Context) (Store, error)

// OpenDir returns an Opener of the store in dir (a ".rigor" directory)
// through cas.Open, waiting for the store's lock at most lockTimeout
// (≤0: 5 seconds).
func OpenDir(dir string, lockTimeout time.Duration) Opener {
	if lockTimeout <= 0 {
		lockTimeout = defaultLockTimeout
	}
	return func(ctx context.Context) (Store, error) {
		s, err := cas.Open(ctx, dir, cas.Options{LockTimeout: lockTimeout, ReadOnly: true})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Options configure a [Server]. The zero value serves without a token and
// with the default timings.
type Options struct {
	// Token, if set, is required on every request: as "Authorization:
	// Bearer <token>", or as the rigor_token cookie that a first request
	// with ?token=<token> sets. "" requires none, and then only requests
	// whose Host is a loopback name or address are served (against DNS
	// rebinding).
	Token string

	// LockTimeout bounds how long a request waits for the store (another
	// rigor process may hold it); a request that waits longer gets 503
	// with Retry-After. ≤0 means 5 seconds.
	LockTimeout time.Duration

	// IdleClose is how long the store stays open after the last request
	// that used it; 0 means 300 ms, <0 closes it after every request.
	IdleClose time.Duration

	// MaxHold bounds how long the store is held without a pause while
	// requests keep coming; then it is closed once the requests in flight
	// are done and stays closed for Yield, so that a rigor process waiting
	// for the lock gets it. ≤0 means 2 seconds; Yield ≤0 means 300 ms
	// (more than the 250 ms a waiting process sleeps between tries).
	MaxHold time.Duration
	Yield   time.Duration

	// PageSize is the number of runs a page of the runs table shows, and
	// the default limit of /api/runs. ≤0 means 100.
	PageSize int

	// Now is the current time for the manifest checks of the compare page
	// (the future-timestamp rule); nil means time.Now.
	Now func() time.Time

	// Logf, if set, receives one line per request error.
	Logf func(format string, args ...any)
}

const (
	defaultLockTimeout = 5 * time.Second
	defaultIdle        = 300 * time.Millisecond
	defaultMaxHold     = 2 * time.Second
	defaultYield       = 300 * time.Millisecond
	defaultPageSize    = 100
)

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = defaultLockTimeout
	}
	switch {
	case o.IdleClose == 0:
		o.IdleClose = defaultIdle
	case o.IdleClose < 0:
		o.IdleClose = 0
	}
	if o.MaxHold <= 0 {
		o.MaxHold = defaultMaxHold
	}
	if o.Yield <= 0 {
		o.Yield = defaultYield
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server is the HTTP handler of rigor serve: HTML pages, a JSON API and
// blob downloads over one store, read-only. It is safe for concurrent use.
type Server struct {
	opts  Options
	pool  *pool
	mux   *http.ServeMux
	pages *pages
	token [sha256.Size]byte
}

// New returns a server reading the store that open opens. The store is
// opened on the first request that needs it, not by New.
func New(open Opener, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, pool: newPool(open, opts), mux: http.NewServeMux(), pages: loadPages()}
	if opts.Token != "" {
		s.token = sha256.Sum256([]byte(opts.Token))
	}
	s.routes()
	return s
}

// Warm opens the store and reads its runs index, so that the first page
// does not pay for decoding every run summary (about 400 ms for 10,000
// runs), then lets the store go as after any request. It returns the
// store's error: an error wrapping cas.ErrNotStore for a directory that
// is not a store, [ErrBusy] when another process holds it for longer than
// Options.LockTimeout.
func (s *Server) Warm(ctx context.Context) error {
	_, err := s.withStore(ctx, func(sess *session) (any, error) { return sess.runIndex(ctx) })
	return err
}

// Close closes the store once no request uses it; later requests that
// need the store fail with 503.
func (s *Server) Close() error {
	s.pool.Close()
	return nil
}

// viewFunc builds the data of one page (HTML) or API response (JSON) from
// the store.
type viewFunc func(ctx context.Context, sess *session, r *http.Request) (any, error)

func (s *Server) routes() {
	m := s.mux
	both := func(page, api, tmpl string, build viewFunc) {
		m.Handle(page, s.htmlHandler(tmpl, build))
		m.Handle(api, s.jsonHandler(build))
	}
	both("GET /{$}", "GET /api/runs", "runs.html", s.runsView)
	both("GET /runs/{id}", "GET /api/runs/{id}", "run.html", s.runView)
	both("GET /runs/{id}/logs/{name}", "GET /api/runs/{id}/logs/{name}", "log.html", s.logView)
	both("GET /runs/{id}/files/{path...}", "GET /api/runs/{id}/files/{path...}", "file.html", s.fileView)
	both("GET /compare", "GET /api/compare", "compare.html", s.compareView)
	both("GET /lineage/{digest}", "GET /api/lineage/{digest}", "lineage.html", s.lineageView)
	both("GET /findings", "GET /api/findings", "findings.html", s.findingsView)
	both("GET /findings/{digest}", "GET /api/findings/{digest}", "report.html", s.reportView)
	m.HandleFunc("GET /lineage", s.lineageForm)
	m.HandleFunc("GET /blobs/{digest}", s.serveBlob)
	m.Handle("GET /static/", s.staticHandler())
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fmt.Errorf("no page at %s: %w", r.URL.Path, ErrNotFound))
	})
}

// ServeHTTP checks the request (host, token), sets the security headers
// every response carries, and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		s.fail(w, r, &statusError{code: http.StatusMethodNotAllowed, msg: "rigor serve is read-only: " + r.Method + " is not allowed"})
		return
	}
	if s.opts.Token == "" {
		if !loopbackHost(r.Host) {
			s.fail(w, r, &statusError{code: http.StatusMisdirectedRequest, msg: fmt.Sprintf("host %q is not a loopback name; without --token only 127.0.0.1, ::1 and localhost are served", r.Host)})
			return
		}
	} else if !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows the page's own script, style and images
// only: no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// tokenCookie carries the token of a browser session.
const tokenCookie = "rigor_token"

// authorized checks the token. A GET with a valid ?token= gets the cookie
// and a redirect to the same URL without the token, so that the token
// does not stay in the address bar or the history.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if tok, ok := strings.CutPrefix(auth, "Bearer "); ok && s.tokenOK(tok) {
			return true
		}
	} else if c, err := r.Cookie(tokenCookie); err == nil && s.tokenOK(c.Value) {
		return true
	} else if q := r.URL.Query(); q.Has("token") && s.tokenOK(q.Get("token")) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q.Get("token"), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		q.Del("token")
		// A clean absolute path: never "//host", which a browser would
		// take for another site.
		u := url.URL{Path: path.Clean("/" + r.URL.Path), RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="rigor"`)
	s.fail(w, r, &statusError{code: http.StatusUnauthorized, msg: "a token is required: send Authorization: Bearer <token>, or open the page once with ?token=<token>"})
	return false
}

// tokenOK compares in constant time (of the token's SHA-256, so that the
// length does not leak either).
func (s *Server) tokenOK(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name or address.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackAddr reports whether a listen address (host:port) binds only
// loopback interfaces: its host is localhost or a loopback IP. An empty
// host (":8080") binds every interface and is not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withStore runs fn with the store, acquired for the duration of the call.
func (s *Server) withStore(ctx context.Context, fn func(*session) (any, error)) (any, error) {
	sess, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.release(sess)
	return fn(sess)
}

func (s *Server) htmlHandler(tmpl string, build viewFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.withStore(r.Context(), func(sess *session) (any, error) { return build(r.Context(), sess, r) })
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.pages.render(w, http.StatusOK, tmpl, v)
	})
}

func (s *Server) jsonHandler(build viewFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.withStore(r.Context(), func(sess *session) (any, error) { return build(r.Context(), sess, r) })
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// statusError is an error with its HTTP status.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// errorView is the body of an error response.
type errorView struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Error  string `json:"error"`
	Hint   string `json:"hint,omitempty"`
}

// statusOf maps an error to its HTTP status and a hint.
func statusOf(err error) (int, string) {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code, ""
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable, "another rigor process holds the store; retry in a moment"
	case errors.Is(err, errServerClosed):
		return http.StatusServiceUnavailable, "the server is shutting down"
	case errors.Is(err, ErrNotFound), errors.Is(err, verify.ErrRunNotFound), errors.Is(err, cas.ErrNotFound),
		errors.Is(err, cas.ErrRefNotFound), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, ""
	case errors.Is(err, ErrBadRequest), errors.Is(err, cas.ErrBadDigest), errors.Is(err, cas.ErrUnsupported):
		return http.StatusBadRequest, "digests are blake3:<64 lowercase hex digits> (or sha256:<64 hex digits> where an index has them)"
	case errors.Is(err, verify.ErrAmbiguous), errors.Is(err, cas.ErrAmbiguous):
		return http.StatusBadRequest, "type more digits of the digest"
	case errors.Is(err, cas.ErrDigestMismatch), errors.Is(err, cas.ErrUnknownFormat):
		return http.StatusInternalServerError, "the stored bytes are damaged; run rigor fsck"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 499, ""
	default:
		return http.StatusInternalServerError, ""
	}
}

// fail writes an error response: JSON under /api/ and /blobs/, else an
// HTML page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, hint := statusOf(err)
	if s.opts.Logf != nil && code >= 500 {
		s.opts.Logf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	if code == 499 {
		return // the client went away
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Cache-Control", "no-store")
	v := errorView{Status: code, Title: http.StatusText(code), Error: err.Error(), Hint: hint}
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/blobs/") {
		writeJSON(w, code, v)
		return
	}
	s.pages.render(w, code, "error.html", v)
}

func (s *Server) staticHandler() http.Handler {
	sub, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.fail(w, r, fmt.Errorf("no page at %s: %w", r.URL.Path, ErrNotFound))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
