package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// testNow is the injected clock: after every fixture's timestamps.
var testNow = time.Date(2026, 7, 3, 0, 0, 0, 0, time.UTC)

// runSpec describes a synthetic run, recorded through ingest.RecordRun
// (the path rigor run and rigor import take).
type runSpec struct {
	row     string
	seed    int64
	attempt int
	status  string // completed (""), failed or aborted

	stdout, stderr string
	predictions    string
	metrics        string
	config         string
	data           string            // the data input, at inputs/data/data.csv
	code           map[string]string // files under code/
	diff           string            // non-empty: the code is dirty
	extra          map[string]string // more files at their bundle paths
	started        time.Time
	durationMS     int64
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// putRun stores r as a run bundle and records it; it returns the summary.
func putRun(t testing.TB, s *cas.Store, r runSpec) spec.RunSummary {
	t.Helper()
	ctx := context.Background()
	if r.attempt == 0 {
		r.attempt = 1
	}
	if r.status == "" {
		r.status = spec.StatusCompleted
	}
	if r.started.IsZero() {
		r.started = time.Date(2026, 7, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(r.seed)*time.Minute + time.Duration(r.attempt)*time.Second)
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&r.stdout, fmt.Sprintf("training %s seed %d\ndone\n", r.row, r.seed))
	def(&r.predictions, "id,p\n1,0.25\n2,0.75\n")
	def(&r.metrics, "{\"fold\":0,\"loss\":0.5,\"acc\":0.8}\n{\"fold\":1,\"loss\":0.4,\"acc\":0.85}\n")
	def(&r.config, fmt.Sprintf("{\"matrix_row\":%q,\"seed\":{\"role\":\"fixed_repro\",\"value\":%d}}\n", r.row, r.seed))
	def(&r.data, "id,x,y\n1,0.5,0\n2,0.25,1\n")
	if r.code == nil {
		r.code = map[string]string{"train.py": "import sys\nprint('train')\n"}
	}
	files := map[string]string{
		"config.json":          r.config,
		"environment.json":     "{\"python\":\"3.11\",\"os\":\"linux\"}\n",
		"stdout.log":           r.stdout,
		"stderr.log":           r.stderr,
		"predictions.csv":      r.predictions,
		"raw_metrics.jsonl":    r.metrics,
		"test_evidence.json":   "{\"status\":\"PASS\"}\n",
		"inputs/data/data.csv": r.data,
	}
	for p, c := range r.code {
		files["code/"+p] = c
	}
	if r.diff != "" {
		files["rigor/code.diff"] = r.diff
	}
	for p, c := range r.extra {
		files[p] = c
	}
	ref := func(p string) *spec.FileRef {
		b := []byte(files[p])
		n := int64(len(b))
		return &spec.FileRef{Path: p, SHA256: sha(b), BLAKE3: cas.FromBytes(b).String(), Size: &n}
	}
	exit := 0
	term := spec.Termination{Reason: spec.ReasonNaturalExit, ExitCode: &exit}
	completion := spec.Completion{Status: spec.CompletionPass, Oracle: []string{"outputs_present", "raw_metrics_finite"},
		EvidenceArtifacts: []string{"test_evidence", "raw_metrics", "predictions"}}
	arts := spec.Artifacts{"stdout": ref("stdout.log"), "stderr": ref("stderr.log"), "predictions": ref("predictions.csv"),
		"raw_metrics": ref("raw_metrics.jsonl"), "test_evidence": ref("test_evidence.json"), "failure": nil}
	switch r.status {
	case spec.StatusFailed:
		code := 1
		term = spec.Termination{Reason: spec.ReasonError, ExitCode: &code}
		files["failure.json"] = "{\"message\":\"exit status 1\"}\n"
		arts["failure"] = ref("failure.json")
		completion = spec.Completion{Status: spec.CompletionNotEvaluated, Oracle: []string{}, EvidenceArtifacts: []string{}}
	case spec.StatusAborted:
		term = spec.Termination{Reason: spec.ReasonTimeout}
		files["failure.json"] = "{\"message\":\"timeout\"}\n"
		arts["failure"] = ref("failure.json")
		completion = spec.Completion{Status: spec.CompletionNotEvaluated, Oracle: []string{}, EvidenceArtifacts: []string{}}
	}
	code := spec.CodeRef{Commit: "abc123", Dirty: r.diff != ""}
	for _, p := range slices.Sorted(mapsKeys(r.code)) {
		code.Files = append(code.Files, *ref("code/" + p))
	}
	if r.diff != "" {
		d := ref("rigor/code.diff")
		code.DiffSHA256, code.DiffBLAKE3 = &d.SHA256, d.BLAKE3
	}
	in := ref("inputs/data/data.csv")
	id := spec.RunID(r.row, r.seed, r.attempt)
	m := spec.RunManifest{
		Schema: spec.RunManifestSchema, RunID: id, MatrixRow: r.row, Status: r.status, Termination: term,
		Seed: spec.Seed{Role: "fixed_repro", Value: r.seed}, Command: []string{"python", "train.py", "--seed", fmt.Sprint(r.seed)},
		StartedAt: r.started.Format(time.RFC3339), EndedAt: r.started.Add(time.Duration(r.durationMS) * time.Millisecond).Format(time.RFC3339),
		Config: ref("config.json"), Environment: ref("environment.json"), Code: code,
		Inputs:    []spec.InputRef{{Role: "data", Path: in.Path, SHA256: in.SHA256, BLAKE3: in.BLAKE3, SourceRevision: "v1", Size: in.Size}},
		Artifacts: arts, Completion: completion,
		Reproducibility: spec.Reproducibility{PairID: fmt.Sprintf("%s__seed-%d", r.row, r.seed), ComparisonRole: "first", CompareArtifacts: []string{"predictions", "raw_metrics"}},
		Notes:           []string{},
	}
	if r.attempt > 1 {
		m.Reproducibility.ComparisonRole = "repeat"
	}
	mb, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files["manifest.json"] = string(mb) + "\n"
	root := putFiles(t, s, files)
	digests := map[string]digest.Digest{}
	for p, c := range files {
		digests[p] = cas.FromBytes([]byte(c))
	}
	inputs, outputs := ingest.LineageFromManifest(&m, digests)
	sum := spec.RunSummary{
		Schema: spec.SchemaRunSummary, RunID: id, Row: r.row, Seed: m.Seed, Attempt: r.attempt,
		Ref: spec.RunRef(r.row, r.seed, r.attempt), Status: r.status, Termination: term.Reason, ExitCode: term.ExitCode,
		Completion: completion.Status, StartedAt: m.StartedAt, EndedAt: m.EndedAt, DurationMS: r.durationMS,
		Root: root, Config: digests["config.json"],
	}
	if err := ingest.RecordRun(ctx, s, ingest.RunEntry{Summary: sum, Inputs: inputs, Outputs: outputs}); err != nil {
		t.Fatal(err)
	}
	return sum
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// putFiles stores files (slash paths → content) as nested trees and
// returns the root.
func putFiles(t testing.TB, s *cas.Store, files map[string]string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	type dir struct {
		files map[string]string
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]string{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, content := range files {
		d := root
		elems := strings.Split(p, "/")
		for _, el := range elems[:len(elems)-1] {
			if d.dirs[el] == nil {
				d.dirs[el] = newDir()
			}
			d = d.dirs[el]
		}
		d.files[path.Base(p)] = content
	}
	var put func(d *dir) cas.Info
	put = func(d *dir) cas.Info {
		var tr cas.Tree
		for name, content := range d.files {
			info, err := s.Put(ctx, strings.NewReader(content), cas.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tr.Entries = append(tr.Entries, cas.Entry{Name: name, Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest})
		}
		for name, sub := range d.dirs {
			info := put(sub)
			tr.Entries = append(tr.Entries, cas.Entry{Name: name, Mode: cas.ModeTree, Size: info.Size, Digest: info.Digest})
		}
		slices.SortFunc(tr.Entries, func(a, b cas.Entry) int { return strings.Compare(a.Name, b.Name) })
		info, err := s.PutTree(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	return put(root).Digest
}

// memStore is an in-memory store whose Close the server's pool may call
// freely: the test closes the real store.
type memStore struct {
	*cas.Store
	closes *atomic.Int64
}

func (m memStore) Close() error {
	m.closes.Add(1)
	return nil
}

// newMemStore returns an in-memory store, closed when the test ends.
func newMemStore(t testing.TB) *cas.Store {
	t.Helper()
	s, err := cas.Init(context.Background(), "", cas.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serveMem returns a test HTTP server over an in-memory store.
func serveMem(t testing.TB, s *cas.Store, opts Options) (*httptest.Server, *Server) {
	t.Helper()
	var closes atomic.Int64
	open := func(ctx context.Context) (Store, error) {
		return memStore{Store: s, closes: &closes}, nil
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	srv := New(open, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts, srv
}

// get fetches url and returns the status, headers and body.
func get(t testing.TB, client *http.Client, url string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// getJSON fetches url, requires status want and decodes the body into v.
func getJSON(t testing.TB, url string, want int, v any) {
	t.Helper()
	code, h, body := get(t, nil, url)
	if code != want {
		t.Fatalf("GET %s: status %d, want %d: %s", url, code, want, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if v != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
}

// newTestServer serves srv over HTTP until the test ends.
func newTestServer(t testing.TB, srv *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts
}
