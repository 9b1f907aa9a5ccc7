package verify

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
)

func TestSHA256IndexNameMatchesIngest(t *testing.T) {
	if SHA256Index != ingest.SHA256Index {
		t.Errorf("verify.SHA256Index = %q, ingest.SHA256Index = %q", SHA256Index, ingest.SHA256Index)
	}
}

// indexSHA records every file's SHA-256 in the SHA-256 index, as ingest
// does when it stores files.
func indexSHA(t *testing.T, s *cas.Store, b *bundle) {
	t.Helper()
	for _, content := range b.files {
		if err := s.PutIndex(t.Context(), SHA256Index, []byte(blobOf(content)), []byte(sha(content))); err != nil {
			t.Fatal(err)
		}
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// TestRunCorruptStore damages a stored run through the cas test hooks and
// checks the exact problem verify reports: kind, run, path and object.
func TestRunCorruptStore(t *testing.T) {
	const run = "EXP-01__seed-42__attempt-1"
	big := randomBytes(1<<20, 7) // several chunks in an in-memory store
	tests := []struct {
		name    string
		index   bool // record SHA-256 sums in the index, as ingest does
		opts    Options
		damage  func(t *testing.T, s *cas.Store, b *bundle)
		want    []Problem
		wantErr error // what the first problem's Err wraps
	}{
		{
			name: "missing object",
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.DeleteObjectForTest(t.Context(), blobOf(b.files["predictions.csv"])))
			},
			want:    []Problem{{Kind: MissingObject, Run: run, Path: "predictions.csv", Digest: blobOf("p\n0.2\n")}},
			wantErr: cas.ErrNotFound,
		},
		{
			name: "flipped byte found by the manifest check",
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.CorruptForTest(t.Context(), blobOf(b.files["raw_metrics.jsonl"]), 3))
			},
			want:    []Problem{{Kind: CorruptObject, Run: run, Path: "raw_metrics.jsonl", Digest: blobOf("{\"brier\":0.04}\n")}},
			wantErr: cas.ErrDigestMismatch,
		},
		{
			name:  "flipped byte behind the SHA-256 index needs --deep",
			index: true,
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.CorruptForTest(t.Context(), blobOf(b.files["raw_metrics.jsonl"]), 3))
			},
			want: nil,
		},
		{
			name:  "flipped byte, deep",
			index: true,
			opts:  Options{Deep: true},
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.CorruptForTest(t.Context(), blobOf(b.files["raw_metrics.jsonl"]), 3))
			},
			want:    []Problem{{Kind: CorruptObject, Run: run, Path: "raw_metrics.jsonl", Digest: blobOf("{\"brier\":0.04}\n")}},
			wantErr: cas.ErrDigestMismatch,
		},
		{
			name:  "missing chunk of a large input, deep",
			index: true,
			opts:  Options{Deep: true},
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				setInput(b, big)
				b.files["data.csv"] = big
			},
			want:    []Problem{{Kind: MissingObject, Run: run, Path: "data.csv", Digest: blobOf(big)}},
			wantErr: cas.ErrNotFound,
		},
		{
			name:  "flipped chunk byte of a large input, deep",
			index: true,
			opts:  Options{Deep: true},
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				setInput(b, big)
				b.files["data.csv"] = big
			},
			want:    []Problem{{Kind: CorruptObject, Run: run, Path: "data.csv", Digest: blobOf(big)}},
			wantErr: cas.ErrDigestMismatch,
		},
		{
			name:  "a wrong SHA-256 in the index, deep takes it",
			index: true,
			opts:  Options{Deep: true},
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.PutIndex(t.Context(), SHA256Index, []byte(blobOf(b.files["predictions.csv"])), []byte(sha("other"))))
			},
			want: []Problem{{Kind: ManifestRule, Run: run, Path: "predictions.csv", Digest: blobOf("p\n0.2\n")}},
		},
		{
			name:  "a wrong SHA-256 in the index, deep with SHA256 recomputes it",
			index: true,
			opts:  Options{Deep: true, SHA256: true},
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.PutIndex(t.Context(), SHA256Index, []byte(blobOf(b.files["predictions.csv"])), []byte(sha("other"))))
			},
			want: nil,
		},
		{
			name: "damaged subtree",
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				// code/ is a tree of its own; its stored bytes are flipped
				// after the run is stored (see below).
			},
			want:    []Problem{{Kind: CorruptObject, Run: run, Path: "code"}},
			wantErr: cas.ErrDigestMismatch,
		},
		{
			name: "several problems are all reported",
			damage: func(t *testing.T, s *cas.Store, b *bundle) {
				must(t, s.DeleteObjectForTest(t.Context(), blobOf(b.files["predictions.csv"])))
				must(t, s.CorruptForTest(t.Context(), blobOf(b.files["data.csv"]), 2))
			},
			want: []Problem{
				{Kind: CorruptObject, Run: run, Path: "data.csv", Digest: blobOf("id,y\n1,0\n")},
				{Kind: MissingObject, Run: run, Path: "predictions.csv", Digest: blobOf("p\n0.2\n")},
			},
			wantErr: cas.ErrDigestMismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			b := selftestBundle()
			large := strings.HasSuffix(tt.name, "of a large input, deep")
			if large {
				tt.damage(t, s, b)
			}
			if tt.name == "damaged subtree" {
				moveCode(b)
			}
			root := b.put(t, s)
			if tt.index {
				indexSHA(t, s, b)
			}
			switch {
			case large:
				chunks, err := s.ChunksForTest(t.Context(), blobOf(big))
				if err != nil || len(chunks) < 2 {
					t.Fatalf("large input has %d chunks (%v); want several", len(chunks), err)
				}
				if strings.HasPrefix(tt.name, "missing") {
					must(t, s.DeleteChunkForTest(t.Context(), blobOf(big), 1))
				} else {
					must(t, s.CorruptChunkForTest(t.Context(), blobOf(big), 1, 100))
				}
			case tt.name == "damaged subtree":
				codeTree := entryDigest(t, s, root, "code")
				tt.want[0].Digest = codeTree
				must(t, s.CorruptForTest(t.Context(), codeTree, 5))
			default:
				tt.damage(t, s, b)
			}
			opts := tt.opts
			opts.Now = nowFn
			rep, err := Run(t.Context(), s, root, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]Problem, len(rep.Problems))
			for i, p := range rep.Problems {
				got[i] = Problem{Kind: p.Kind, Run: p.Run, Path: p.Path, Digest: p.Digest}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems:\n  got  %v\n  want %v\n  (%q)", got, tt.want, messages(rep.Problems))
			}
			if tt.wantErr != nil && !errors.Is(rep.Problems[0].Err, tt.wantErr) {
				t.Errorf("problem error %v does not wrap %v", rep.Problems[0].Err, tt.wantErr)
			}
			if rep.OK != (len(tt.want) == 0) {
				t.Errorf("OK = %v", rep.OK)
			}
		})
	}
}

// setInput points the bundle's data input at content.
func setInput(b *bundle, content string) {
	b.manifest["inputs"].([]any)[0].(map[string]any)["sha256"] = sha(content)
}

// moveCode moves train.py to code/train.py, so that the run has a subtree.
func moveCode(b *bundle) {
	b.files["code/train.py"] = b.files["train.py"]
	delete(b.files, "train.py")
	b.obj("code")["files"].([]any)[0].(map[string]any)["path"] = "code/train.py"
}

func entryDigest(t *testing.T, s *cas.Store, root digest.Digest, name string) digest.Digest {
	t.Helper()
	tr, err := s.ReadTree(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tr.Entries {
		if e.Name == name {
			return e.Digest
		}
	}
	t.Fatalf("no entry %q", name)
	return ""
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunNotARun(t *testing.T) {
	s := newStore(t)
	blob, err := s.Put(t.Context(), strings.NewReader("just bytes"), cas.PutOptions{})
	must(t, err)
	noManifest := putFiles(t, s, map[string]string{"a.txt": "a"})
	missing := blobOf("never stored")
	tests := []struct {
		name string
		root digest.Digest
		want Kind
	}{
		{"a blob", blob.Digest, NotRun},
		{"a tree without manifest.json", noManifest, NotRun},
		{"a missing root", missing, MissingObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(t.Context(), s, tt.root, Options{Now: nowFn})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != 1 || rep.Problems[0].Kind != tt.want || rep.Problems[0].Run != tt.root.String() {
				t.Fatalf("problems = %q, want one %v naming %s", messages(rep.Problems), tt.want, tt.root)
			}
		})
	}
}

// TestRunRecordedDigests: rigor's manifest records a BLAKE3 digest and a
// size beside each SHA-256; verify checks them against the tree.
func TestRunRecordedDigests(t *testing.T) {
	s := newStore(t)
	b := selftestBundle()
	pred := b.obj("artifacts", "predictions")
	pred["blake3"] = blobOf("p\n0.3\n").String() // wrong
	pred["size"] = 6
	stdout := b.obj("artifacts", "stdout")
	stdout["blake3"] = blobOf("ok\n").String() // right
	stdout["size"] = 4                         // wrong
	root := b.put(t, s)
	rep, err := Run(t.Context(), s, root, Options{Now: nowFn})
	must(t, err)
	want := []string{
		"manifest-digest predictions.csv: artifacts.predictions: the manifest records blake3 " + blobOf("p\n0.3\n").String() + ", the bundle holds " + blobOf("p\n0.2\n").String(),
		"size-mismatch stdout.log: artifacts.stdout: the manifest records 4 bytes, the bundle holds 3",
	}
	if got := messages(rep.Problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n  got  %q\n  want %q", got, want)
	}
}
