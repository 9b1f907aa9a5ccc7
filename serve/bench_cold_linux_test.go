package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBlobStreamCold is BenchmarkBlobStream from the disk rather than
// the page cache: before each download the kernel's caches are dropped
// (written to /proc/sys/vm/drop_caches, which needs root; skipped
// otherwise), so disk-read reads the file from the device and blob-http
// reads the store's chunks from it. The two alternate in every iteration.
func BenchmarkBlobStreamCold(b *testing.B) {
	drop := func() {
		syscall.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
			b.Skipf("cannot drop the page cache (needs root): %v", err)
		}
	}
	drop()
	file, store, d := blobFixture(b)
	size := benchBlobSize(b)
	buf := make([]byte, 256<<10)
	srv := New(OpenDir(store, 0), Options{})
	blobSrv := httptest.NewServer(srv)
	defer blobSrv.Close()
	defer srv.Close()
	steps := []struct {
		name string
		fn   func()
	}{
		{"disk-read", func() { readFile(b, file, size, buf) }},
		{"blob-http", func() {
			resp, err := http.Get(blobSrv.URL + "/blobs/" + d)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
			resp.Body.Close()
			if err != nil || n != size || resp.StatusCode != 200 {
				b.Fatalf("GET: %d, %d bytes, %v", resp.StatusCode, n, err)
			}
		}},
	}
	times := make([][]time.Duration, len(steps))
	b.ResetTimer()
	for b.Loop() {
		for i, st := range steps {
			b.StopTimer()
			drop()
			b.StartTimer()
			t0 := time.Now()
			st.fn()
			times[i] = append(times[i], time.Since(t0))
		}
	}
	b.StopTimer()
	rate := map[string]float64{}
	for i, st := range steps {
		ts := slices.Clone(times[i])
		slices.Sort(ts)
		rate[st.name] = float64(size) / ts[len(ts)/2].Seconds() / 1e6
		b.ReportMetric(rate[st.name], st.name+"-MB/s")
	}
	b.ReportMetric(100*rate["blob-http"]/rate["disk-read"], "%-of-disk-read")
}
