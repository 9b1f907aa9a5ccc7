package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// recordingStore passes everything to a real store and remembers the digest
// of every object put, so a test can read each one back.
type recordingStore struct {
	*cas.Store
	mu   sync.Mutex
	objs map[digest.Digest]cas.Kind
}

func (r *recordingStore) note(info cas.Info) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objs[info.Digest] = info.Kind
}

func (r *recordingStore) Put(ctx context.Context, rd io.Reader, o cas.PutOptions) (cas.Info, error) {
	info, err := r.Store.Put(ctx, rd, o)
	if err == nil {
		r.note(info)
	}
	return info, err
}

func (r *recordingStore) PutTree(ctx context.Context, t cas.Tree) (cas.Info, error) {
	info, err := r.Store.PutTree(ctx, t)
	if err == nil {
		r.note(info)
	}
	return info, err
}

// leaks reads every object put (and everything the trees among them reach)
// back through the store and returns, for each secret found, the object
// that holds it, and how many distinct objects it read.
func (r *recordingStore) leaks(t *testing.T, secrets []string) (map[string]digest.Digest, int64) {
	t.Helper()
	found := map[string]digest.Digest{}
	read := map[digest.Digest]bool{}
	check := func(d digest.Digest) {
		if read[d] {
			return
		}
		read[d] = true
		b := readBlob(t, r, d)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				found[s] = d
			}
		}
	}
	r.mu.Lock()
	objs := make(map[digest.Digest]cas.Kind, len(r.objs))
	for d, k := range r.objs {
		objs[d] = k
	}
	r.mu.Unlock()
	if len(objs) == 0 {
		t.Fatal("nothing was stored")
	}
	for d, k := range objs {
		check(d)
		if k != cas.KindTree {
			continue
		}
		err := r.Walk(t.Context(), d, func(p string, e cas.Entry) error {
			check(e.Digest)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found, int64(len(read))
}

func TestSecretsNeverEnterTheStore(t *testing.T) {
	requireGit(t)
	py := realPython(t)
	const (
		awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8xAMPLEKEY"
		ghToken   = "ghp_R1g0rT3stT0k3nN0tR34lButL00ksR1ght42"
		pemBody   = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDRigorTestKeyBody"
		apiKey    = "xyz"
	)
	pem := "-----BEGIN PRIVATE KEY-----\n" + pemBody + "\n-----END PRIVATE KEY-----\n"
	env := append(gitEnvForTest(t),
		"AWS_SECRET_ACCESS_KEY="+awsSecret, "GITHUB_TOKEN="+ghToken, "SERVICE_CERT="+pem,
		"OMP_NUM_THREADS=2", "PATH="+binDir(t, map[string]string{"python3": py})+string(os.PathListSeparator)+os.Getenv("PATH"))
	argv := []string{"python3", "train.py", "--api-key", apiKey, "--config", "row.yaml"}

	rs := &recordingStore{Store: newTestStore(t), objs: map[digest.Digest]cas.Kind{}}
	in := New(rs, Options{})
	ctx := t.Context()

	// Everything ingest records for a run: code (dirty, so with a diff),
	// environment, config and an input.
	repo := newRepo(t, env, map[string]string{"train.py": "import os\nprint(os.environ.get('OMP_NUM_THREADS'))\n"})
	writeFiles(t, repo, map[string]string{"train.py": "print('changed')\n", "row.yaml": "matrix_row: EXP-01\nlr: 0.1\n", "data/x.csv": "a\n1\n"})
	code, err := in.SnapshotCode(ctx, repo, CodeOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	envSnap, err := in.ProbeEnv(ctx, EnvOptions{Env: env, Dir: repo, Tool: spec.ToolInfo{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	row, _ := os.ReadFile(filepath.Join(repo, "row.yaml"))
	if _, err := in.RecordConfig(ctx, row, ConfigOptions{Path: "row.yaml"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.RecordInput(ctx, filepath.Join(repo, "data"), InputOptions{Role: "data", SourceRevision: "r1"}); err != nil {
		t.Fatal(err)
	}
	// argv reaches the store the way a run records it: redacted for
	// rigor's records, stripped for light.run_manifest.v3.
	for _, form := range [][]string{spec.RedactArgv(argv), spec.StripSecretArgs(argv)} {
		b, err := spec.Canonical(form)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Put(ctx, bytes.NewReader(b), cas.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	secrets := []string{awsSecret, ghToken, pemBody, pem, apiKey}
	found, read := rs.leaks(t, secrets)
	for s, d := range found {
		t.Errorf("secret %.12q... is stored in %s", s, d)
	}
	// The objects read back are all the store holds: fsck counts every
	// object key of the store itself, however it was written.
	rep, err := rs.Fsck(ctx, cas.FsckOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("fsck: %+v, %v", rep, err)
	}
	if rep.Objects != read {
		t.Errorf("read back %d objects, but the store holds %d: some object was stored without Put or PutTree", read, rep.Objects)
	}
	// The variables were seen and recorded by name.
	names := map[string]bool{}
	for _, v := range envSnap.Record.Env {
		if v.Redacted {
			names[v.Name] = true
		}
	}
	for _, n := range []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SERVICE_CERT"} {
		if !names[n] {
			t.Errorf("%s is not recorded (redacted) in the environment record", n)
		}
	}
	if code.Record.Git == nil || code.Record.Git.Diff == nil {
		t.Error("the code snapshot has no diff; the test does not cover one")
	}

	// The scan itself finds a planted secret.
	if _, err := rs.Put(ctx, strings.NewReader("token="+ghToken), cas.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if found, _ := rs.leaks(t, secrets); found[ghToken] == "" {
		t.Error("the leak scan missed a stored secret")
	}
}
