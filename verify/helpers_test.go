package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// testNow is the injected clock: a day after the fixture's timestamps.
var testNow = time.Date(2026, 7, 3, 0, 0, 0, 0, time.UTC)

func nowFn() time.Time { return testNow }

func newStore(t testing.TB) *cas.Store {
	t.Helper()
	s, err := cas.Init(t.Context(), "", cas.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// bundle is a run directory in memory: its files (manifest.json aside) and
// its manifest as a generic map that cases mutate.
type bundle struct {
	files    map[string]string
	manifest map[string]any
	// rawManifest, when set, replaces the encoded manifest.
	rawManifest []byte
}

// selftestBundle is the fixture of the Light selftest (spec §5.1): a valid,
// completed run.
func selftestBundle() *bundle {
	files := map[string]string{
		"config.json":        "{\"seed\":42}\n",
		"environment.json":   "{\"python\":\"3.11\"}\n",
		"train.py":           "print('train')\n",
		"data.csv":           "id,y\n1,0\n",
		"stdout.log":         "ok\n",
		"stderr.log":         "",
		"raw_metrics.jsonl":  "{\"brier\":0.04}\n",
		"predictions.csv":    "p\n0.2\n",
		"test_evidence.json": "{\"passed\":true}\n",
	}
	ref := func(p string) map[string]any { return map[string]any{"path": p, "sha256": sha(files[p])} }
	m := map[string]any{
		"schema":      "light.run_manifest.v3",
		"run_id":      "EXP-01__seed-42__attempt-1",
		"matrix_row":  "EXP-01",
		"status":      "completed",
		"termination": map[string]any{"reason": "natural_exit", "exit_code": 0, "signal": nil},
		"seed":        map[string]any{"role": "fixed_repro", "value": 42},
		"command":     []any{"python", "train.py", "--seed", "42"},
		"started_at":  "2026-07-02T10:00:00+08:00",
		"ended_at":    "2026-07-02T10:01:00+08:00",
		"config":      ref("config.json"),
		"environment": ref("environment.json"),
		"code":        map[string]any{"commit": "abc123", "dirty": false, "diff_sha256": nil, "files": []any{ref("train.py")}},
		"inputs":      []any{map[string]any{"role": "data", "path": "data.csv", "sha256": sha(files["data.csv"]), "source_revision": "rev-1"}},
		"artifacts": map[string]any{
			"stdout": ref("stdout.log"), "stderr": ref("stderr.log"), "raw_metrics": ref("raw_metrics.jsonl"),
			"predictions": ref("predictions.csv"), "test_evidence": ref("test_evidence.json"), "failure": nil,
		},
		"completion": map[string]any{
			"status":             "PASS",
			"oracle":             []any{"declared test suite passed", "required raw outputs exist and are parseable"},
			"evidence_artifacts": []any{"test_evidence", "raw_metrics", "predictions"},
		},
		"reproducibility": map[string]any{"pair_id": "EXP-01__seed-42", "comparison_role": "first", "compare_artifacts": []any{"predictions", "raw_metrics"}},
		"notes":           []any{},
	}
	return &bundle{files: files, manifest: m}
}

// obj returns the manifest member at a dotted path of object keys.
func (b *bundle) obj(keys ...string) map[string]any {
	cur := b.manifest
	for _, k := range keys {
		cur = cur[k].(map[string]any)
	}
	return cur
}

// setFile changes a file and re-hashes the manifest record that names it.
func (b *bundle) setFile(name, content string, record map[string]any) {
	b.files[name] = content
	if record != nil {
		record["sha256"] = sha(content)
	}
}

func (b *bundle) manifestBytes(t testing.TB) []byte {
	t.Helper()
	if b.rawManifest != nil {
		return b.rawManifest
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.manifest); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// put stores the bundle as a tree (manifest.json plus its files at their
// paths) and returns the root digest.
func (b *bundle) put(t testing.TB, s *cas.Store) digest.Digest {
	t.Helper()
	all := map[string]string{"manifest.json": string(b.manifestBytes(t))}
	for k, v := range b.files {
		all[k] = v
	}
	return putFiles(t, s, all)
}

// putFiles stores files (slash paths → content) as nested trees.
func putFiles(t testing.TB, s *cas.Store, files map[string]string) digest.Digest {
	t.Helper()
	ctx := t.Context()
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

// blobOf returns the digest of content, as the store names it.
func blobOf(content string) digest.Digest { return cas.FromBytes([]byte(content)) }

// messages returns the problems as "kind path: message" lines.
func messages(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Kind.String() + " " + p.Path + ": " + p.Message
	}
	return out
}

// recordRun stores the bundle and registers it as attempt of its row and seed
// through ingest.RecordRun, the path rigor run and rigor import take.
func recordRun(t testing.TB, s *cas.Store, b *bundle, attempt int) RunInfo {
	t.Helper()
	row := b.manifest["matrix_row"].(string)
	seed := int64(b.obj("seed")["value"].(int))
	id := spec.RunID(row, seed, attempt)
	b.manifest["run_id"] = id
	root := b.put(t, s)
	var m spec.RunManifest
	if err := json.Unmarshal(b.manifestBytes(t), &m); err != nil {
		t.Fatal(err)
	}
	digests := map[string]digest.Digest{}
	for p, content := range b.files {
		digests[p] = blobOf(content)
	}
	inputs, outputs := ingest.LineageFromManifest(&m, digests)
	sum := spec.RunSummary{
		Schema: spec.SchemaRunSummary, RunID: id, Row: row, Seed: m.Seed, Attempt: attempt,
		Ref: spec.RunRef(row, seed, attempt), Status: m.Status, Termination: m.Termination.Reason,
		ExitCode: m.Termination.ExitCode, Completion: m.Completion.Status, StartedAt: m.StartedAt, EndedAt: m.EndedAt,
		Root: root, Config: digests["config.json"],
	}
	if err := ingest.RecordRun(t.Context(), s, ingest.RunEntry{Summary: sum, Inputs: inputs, Outputs: outputs}); err != nil {
		t.Fatal(err)
	}
	return RunInfo{RunID: id, Ref: sum.Ref, Root: root, Summary: &sum}
}
