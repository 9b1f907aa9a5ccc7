// Package serve is the web interface of rigor serve: HTML pages and a JSON
// API over one store, read-only, and blob downloads by digest, verified
// while they stream.
//
// [New] returns a [Server], an http.Handler. Its templates, stylesheet and
// script are embedded (package embed): nothing is built or fetched to run
// it. It imports cas, spec and verify and reads the store through the
// [Store] interface, which *cas.Store satisfies.
//
// # Pages and API
//
// Every page has a JSON twin under /api/ that returns the same data:
//
//	GET /                          runs table: ?row= &seed= &status= &completion= &q= (run id
//	GET /api/runs                  contains), ?sort=<column>&order=asc|desc, ?offset= &limit=
//	GET /runs/{id}                 one run: identity, status and termination, completion and
//	GET /api/runs/{id}             oracle, config, environment, code with the dirty diff, inputs
//	                               with both digests, log tails, artifacts, per-fold metrics
//	                               (table and plot), gate reports in the bundle, related runs
//	GET /runs/{id}/logs/{name}     a log's last ?tail= lines, or the lines matching ?q=
//	GET /runs/{id}/files/{path}    a file of the bundle, as numbered lines (#L12)
//	GET /compare?a=&b=             two runs: for a same-seed pair the Light compare mode, and
//	GET /api/compare?a=&b=         for any pair identity differences, metric deltas (last value
//	                               and per fold), prediction rows that differ, with ?rtol= &atol=
//	GET /lineage/{digest}          who produced and who used a content, both ways, drawn as a
//	GET /api/lineage/{digest}      graph
//	GET /findings                  gate reports stored under refs findings/<name>
//	GET /findings/{digest}?run=    one light.findings.v1 report, locations linked to the run's
//	                               files at their lines
//	GET /blobs/{digest}            any object, streamed (see Blob downloads)
//
// A run is named by its run id (EXP-01__seed-42__attempt-1), or by the
// digest (or a unique prefix of 8 or more hex digits) of its bundle. The
// runs table reads the store's runs index once per store session (see
// Store access) and filters, sorts and pages it in memory: with 10,000
// runs a page takes a few milliseconds in a burst of requests and about
// 60 ms after a pause (BENCHMARKS.md); no run bundle is read for it.
//
// Errors are JSON {"status", "title", "error", "hint"} under /api/ and
// /blobs/, and an HTML page elsewhere: 400 for a malformed parameter, 404
// for an unknown run, object or file, 416 for an unsatisfiable range, 503
// (with Retry-After) when the store is busy.
//
// # Blob downloads
//
// GET /blobs/{digest} streams object digest (a blake3 digest; a prefix is
// not accepted) with headers
//
//	Content-Length   the bytes sent
//	ETag             "blake3:<hex>", so If-None-Match gives 304
//	Digest           blake3:<hex>
//	Repr-Digest      sha-256=:<base64>: (RFC 9530) when the store's SHA-256 index has the
//	                 blob (ingest records it for every file it stores), so that a client
//	                 can check the bytes with a hash its standard library has
//	Content-Type     application/octet-stream, with Content-Disposition: attachment
//	                 (filename from ?name=, else the digest) and a sandbox CSP: a stored
//	                 HTML file is never rendered as a page of this origin
//
// The bytes come from the store's verifying reader. One byte range
// (Range: bytes=a-b, a-, -n) gives 206 with Content-Range; an end past the
// object is cut to its size, and a range that starts past the end, several
// ranges, or a malformed or overflowing one give 416. Because the store's
// readers verify from the start of an object, a range is served by reading
// from the start and discarding what comes before it, and then reading on
// to the end: the last buffer of the response is held back until the whole
// object has matched its digest. On a mismatch found before anything was
// sent the response is 500; after that the connection is cut short of its
// Content-Length, so a client never receives a complete response with
// wrong bytes. A range thus costs a read of the whole object.
//
// # Store access
//
// The store allows one process at a time (cas takes an exclusive lock from
// Open to Close), and other rigor processes, runs recording their results
// and adds, need it. The server therefore never holds it for long: a pool
// opens the store when a request needs it, shares it with the requests
// that arrive meanwhile, and closes it Options.IdleClose (300 ms) after the
// last one ended. Pages that need no store (the stylesheet, the script)
// never open it. A store held for Options.MaxHold (2 s) without a pause is
// drained: the requests in flight finish, new ones wait, the store is
// closed and stays closed for Options.Yield (300 ms, more than the 250 ms
// that a waiting rigor sleeps between tries for the lock), so that a run
// waiting to record gets its turn even under steady traffic. A request
// waits at most Options.LockTimeout (5 s) for the store, then gets 503 with
// Retry-After. A blob download holds the store until its last byte; other
// processes wait for it as they wait for any holder, and while one streams
// no drain starts (holding back the requests that arrive meanwhile would
// not free the store sooner).
//
// The runs index is read once per store session: the lock keeps every
// other process from writing meanwhile, so what was read stays exact until
// the store is closed. The decoded summaries are kept across sessions; a
// new session scans the index (about 50 ms for 10,000 runs) and decodes
// only the entries whose stored bytes changed, so the result is always
// what verify.ListRuns reads. rigor serve reads it once before it listens
// ([Server.Warm]). Nothing else is cached.
//
// # Security
//
// The server is read-only: GET and HEAD only. Everything it shows from the
// store (log lines, file names, config values, run ids) is untrusted and
// goes through html/template's contextual escaping or encoding/json; the
// pages carry a Content-Security-Policy that allows the server's own
// script and stylesheet only, no inline script or style, and no framing.
// The lineage graph and the metric plots are SVG drawn on the server from
// numbers, their labels escaped like any text.
//
// No request parameter becomes a file system path: objects are named by
// digests parsed with cas.ParseDigest, files of a run by slash paths looked
// up element by element in the run's Merkle tree (empty, "." and ".."
// elements are refused), and the server never opens a file of its own.
//
// Without a token only loopback clients are expected: the server refuses a
// request whose Host is not localhost or a loopback address (421), which
// stops DNS-rebinding pages from reading the API. With Options.Token every
// request needs "Authorization: Bearer <token>" or the HttpOnly, SameSite
// cookie that a first request with ?token=<token> sets (and then redirects
// to the URL without it); tokens are compared in constant time. rigor serve
// refuses to listen on a non-loopback address without a token.
//
// # Concurrency
//
// A Server is safe for concurrent use; requests share the open store.
// [Server.Close] closes the store once the requests in flight are done.
package serve
