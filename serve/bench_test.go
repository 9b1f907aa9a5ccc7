package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// Benchmarks of issue 12. They build their data once under
// $RIGOR_BENCH_DIR/serve (default: a directory in the system temp dir,
// kept between runs), so that repeated runs measure serving, not setup:
//
//	RIGOR_BENCH_DIR=/tmp/rigor-bench go test ./serve -run '^$' \
//	    -bench 'RunsTable10k|RunsAPI10k|BlobStream' -benchtime 20x
//
// The runs benchmarks report the median server time of a request
// (ms/median) beside Go's mean; scripts/bench_serve.sh writes the figures
// to BENCHMARKS.md.

func serveBenchDir(b *testing.B, name string) string {
	b.Helper()
	base := os.Getenv("RIGOR_BENCH_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "rigor-serve-bench", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchRunCount is the runs of the generated store: 10,000, or
// $RIGOR_BENCH_RUNS.
func benchRunCount(b *testing.B) int {
	if v := os.Getenv("RIGOR_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("RIGOR_BENCH_RUNS=%q: want a number of at least 100", v)
		}
		return n
	}
	return 10000
}

// genRunStore records n synthetic runs (100 rows, n/100 seeds; one run in
// 20 failed) through ingest.RecordRun into a store on disk, unless a
// previous run left it behind, and returns the store directory.
func genRunStore(b *testing.B, n int) string {
	b.Helper()
	dir := serveBenchDir(b, fmt.Sprintf("runs%d", n))
	storeDir := filepath.Join(dir, ".rigor")
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		return storeDir
	}
	os.RemoveAll(storeDir)
	ctx := context.Background()
	s, err := cas.Init(ctx, storeDir, cas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range n {
		r := runSpec{row: fmt.Sprintf("EXP-%03d", i%100), seed: int64(i / 100), durationMS: int64(1000 + (i*7919)%50000),
			predictions: fmt.Sprintf("id,p\n1,0.%d\n2,0.%d\n", i%97, i%89)}
		if i%20 == 19 {
			r.status = "failed"
		}
		putRun(b, s, r)
		if i%1000 == 999 {
			b.Logf("generated %d runs in %v", i+1, time.Since(start).Round(time.Second))
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return storeDir
}

// serveTimes runs one request per iteration through the handler (no
// network: the server time) and reports the median. With cold set, each
// request waits until the server has closed the store (after its idle
// period, off the request's time), so that it opens it again.
func serveTimes(b *testing.B, srv *Server, path string, cold bool, check func(*httptest.ResponseRecorder)) {
	b.Helper()
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		if cold {
			b.StopTimer()
			for {
				if _, open := srv.pool.snapshot(); !open {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StartTimer()
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "127.0.0.1:8765"
		rec := httptest.NewRecorder()
		t0 := time.Now()
		srv.ServeHTTP(rec, req)
		times = append(times, time.Since(t0))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d: %.300s", path, rec.Code, rec.Body.String())
		}
		if check != nil {
			check(rec)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms/median")
	b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms/max")
}

// runsCases are the requests of the runs benchmarks: the first page,
// filtered, sorted, and (API) every run at once.
var runsCases = []struct{ name, path string }{
	{"first-page", ""},
	{"row", "row=EXP-042"},
	{"status-sorted", "status=failed&sort=duration&order=desc"},
	{"seed-page-50", "seed=7&offset=50"},
}

func benchRuns(b *testing.B, prefix string, extra []struct{ name, path string }) {
	n := benchRunCount(b)
	store := genRunStore(b, n)
	for _, mode := range []struct {
		name string
		cold bool
	}{{"warm", false}, {"cold", true}} {
		for _, c := range append(slices.Clone(runsCases), extra...) {
			b.Run(mode.name+"/"+c.name, func(b *testing.B) {
				// warm: the store stays open between requests, as in a
				// burst (it is closed and reopened every 2 s all the same);
				// cold: every request comes after the store was closed
				// (idle), so it opens the store and scans the runs index,
				// as the first request after a pause does.
				o := Options{MaxHold: time.Hour}
				if mode.cold {
					o.IdleClose = time.Millisecond
				}
				srv := New(OpenDir(store, 0), o)
				defer srv.Close()
				path := prefix
				if c.path != "" {
					path += "?" + c.path
				}
				serveTimes(b, srv, path, mode.cold, nil)
			})
		}
	}
}

// BenchmarkRunsTable10k is the runs table page (HTML) over a store of
// 10,000 runs.
func BenchmarkRunsTable10k(b *testing.B) { benchRuns(b, "/", nil) }

// BenchmarkRunsAPI10k is /api/runs over the same store, with the whole
// list in one response as an extra case.
func BenchmarkRunsAPI10k(b *testing.B) {
	benchRuns(b, "/api/runs", []struct{ name, path string }{{"all", "limit=10000"}})
}

// benchBlobSize is the size of the streamed blob: 256 MiB, or
// $RIGOR_BENCH_SIZE_MB.
func benchBlobSize(b *testing.B) int64 {
	if v := os.Getenv("RIGOR_BENCH_SIZE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("RIGOR_BENCH_SIZE_MB=%q", v)
		}
		return int64(n) << 20
	}
	return 256 << 20
}

// blobFixture writes a pseudo-random file (stored uncompressed, as model
// weights and binary arrays are) and puts it into a store on disk, once.
func blobFixture(b *testing.B) (file, store string, d string) {
	b.Helper()
	size := benchBlobSize(b)
	dir := serveBenchDir(b, fmt.Sprintf("blob%d", size>>20))
	file, store = filepath.Join(dir, "blob.bin"), filepath.Join(dir, ".rigor")
	done := filepath.Join(dir, "complete")
	if dd, err := os.ReadFile(done); err == nil {
		return file, store, string(dd)
	}
	os.RemoveAll(store)
	if err := os.WriteFile(file, randomBytes(int(size), 7), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := cas.Init(ctx, store, cas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Put(ctx, f, cas.PutOptions{})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, []byte(info.Digest.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return file, store, info.Digest.String()
}

// BenchmarkBlobStream compares GET /blobs/{digest} over a loopback TCP
// connection with reading the same file from disk: read(2) into a buffer
// (disk-read), and the same file served by net/http from disk
// (http.ServeContent, which uses sendfile; disk-http). store-read is the
// store's verifying reader alone, the floor of any verified download. The
// four run in turn in every iteration, so that load changes on the shared
// machine hit them alike; each reports its MB/s, and blob-http its ratio
// to the two disk baselines in percent.
func BenchmarkBlobStream(b *testing.B) {
	file, store, d := blobFixture(b)
	size := benchBlobSize(b)
	buf := make([]byte, 256<<10)
	fetch := func(url string) {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		if err != nil || n != size || resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d, %d bytes, %v", url, resp.StatusCode, n, err)
		}
	}
	diskSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(file)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		fi, _ := f.Stat()
		http.ServeContent(w, r, "", fi.ModTime(), f)
	}))
	defer diskSrv.Close()
	srv := New(OpenDir(store, 0), Options{})
	blobSrv := httptest.NewServer(srv)
	defer blobSrv.Close()
	defer srv.Close()
	s, err := cas.Open(context.Background(), store, cas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	steps := []struct {
		name string
		fn   func()
	}{
		{"disk-read", func() { readFile(b, file, size, buf) }},
		{"disk-http", func() { fetch(diskSrv.URL) }},
		{"store-read", func() {
			rc, err := s.Open(context.Background(), digest.Digest(d))
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.CopyBuffer(io.Discard, rc, buf)
			rc.Close()
			if err != nil || n != size {
				b.Fatal(n, err)
			}
		}},
		{"blob-http", func() {
			// The server's pool must get the store: this benchmark's own
			// handle is closed meanwhile.
			fetch(blobSrv.URL + "/blobs/" + d)
		}},
	}
	times := make([][]time.Duration, len(steps))
	b.ResetTimer()
	for b.Loop() {
		for i, st := range steps {
			if st.name == "blob-http" {
				s.Close()
			}
			t0 := time.Now()
			st.fn()
			times[i] = append(times[i], time.Since(t0))
			if st.name == "blob-http" {
				// Wait for the server to let the store go, then reopen it.
				for {
					if _, open := srv.pool.snapshot(); !open {
						break
					}
					time.Sleep(time.Millisecond)
				}
				if s, err = cas.Open(context.Background(), store, cas.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	s.Close()
	rate := map[string]float64{}
	for i, st := range steps {
		ts := slices.Clone(times[i])
		slices.Sort(ts)
		med := ts[len(ts)/2]
		rate[st.name] = float64(size) / med.Seconds() / 1e6
		b.ReportMetric(rate[st.name], st.name+"-MB/s")
	}
	b.ReportMetric(100*rate["blob-http"]/rate["disk-read"], "%-of-disk-read")
	b.ReportMetric(100*rate["blob-http"]/rate["disk-http"], "%-of-disk-http")
}

// readFile reads file (size bytes) through buf with read(2), as the
// benchmarks' disk-read baseline.
func readFile(b *testing.B, file string, size int64, buf []byte) {
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	f.Close()
	if err != nil || n != size {
		b.Fatal(n, err)
	}
}
