package remote

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

func statusOf(st Stats, runID string) Status {
	for _, r := range st.Runs {
		if r.RunID == runID {
			return r.Status
		}
	}
	return 0
}

// indexEntries returns the entries of index whose key ends in NUL runID
// (lineage) or is runID (runs).
func indexEntries(t *testing.T, s *cas.Store, index, runID string) []string {
	t.Helper()
	var out []string
	err := s.ScanIndex(t.Context(), index, nil, func(k, v []byte) error {
		if string(k) == runID || bytes.HasSuffix(k, append([]byte{0}, runID...)) {
			out = append(out, string(k)+"="+string(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTransferStores pushes runs to another store, pushes again (nothing
// sent), and pulls them into a third store: same roots, same index
// entries, verify --deep clean.
func TestTransferStores(t *testing.T) {
	a, b, c := newStoreDir(t), newStoreDir(t), newStoreDir(t)
	shared := randomFile(t, 2<<20)
	r1 := recordRun(t, a, "EXP-01", 1, shared, "")
	r2 := recordRun(t, a, "EXP-01", 2, shared, "")
	sa := openStore(t, a)
	rem := StoreRemote{Dir: filepath.Dir(b)} // the project directory: .rigor inside is found

	st, err := rem.Push(t.Context(), sa, nil, Options{})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if statusOf(st, r1.RunID) != Sent || statusOf(st, r2.RunID) != Sent {
		t.Errorf("push: %+v, want both sent", st.Runs)
	}
	if st.BytesSent < 2<<20 || st.BytesSent > 2<<20+200<<10 {
		t.Errorf("push sent %d bytes: want the shared 2 MiB input once plus small files", st.BytesSent)
	}
	again, err := rem.Push(t.Context(), sa, nil, Options{})
	if err != nil || again.ObjectsSent != 0 || again.BytesSent != 0 {
		t.Errorf("second push: %v, %+v; want nothing sent", err, again)
	}
	if statusOf(again, r1.RunID) != UpToDate {
		t.Errorf("second push: %+v, want up-to-date", again.Runs)
	}
	sa.Close()

	sc := openStore(t, c)
	pst, err := StoreRemote{Dir: b}.Pull(t.Context(), sc, []string{r1.RunID, r2.Ref}, Options{})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if len(pst.Runs) != 2 {
		t.Fatalf("pull: %+v", pst.Runs)
	}
	for _, r := range []struct {
		ref  string
		root digest.Digest
	}{{r1.Ref, r1.Root}, {r2.Ref, r2.Root}} {
		if got, err := sc.GetRef(t.Context(), r.ref); err != nil || got != r.root {
			t.Errorf("pulled %s = %s, %v; want %s", r.ref, got, err, r.root)
		}
	}
	verifyDeep(t, sc)
	sc.Close()

	// The index entries arrived as recorded.
	sa, sb := openStore(t, a), openStore(t, b)
	for _, index := range []string{spec.RunsIndex, spec.LineageInIndex, spec.LineageOutIndex} {
		want, got := indexEntries(t, sa, index, r1.RunID), indexEntries(t, sb, index, r1.RunID)
		if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("index %s in the remote:\n%s\nwant\n%s", index, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	verifyDeep(t, sb)
}

// TestTransferResume interrupts a push half way and pushes again: the
// second push sends only what had not arrived, and no ref was set by the
// interrupted one.
func TestTransferResume(t *testing.T) {
	a, b := newStoreDir(t), newStoreDir(t)
	r1 := recordRun(t, a, "EXP-01", 1, randomFile(t, 3<<20), "")
	recordRun(t, a, "EXP-01", 2, randomFile(t, 3<<20), "")
	sa := openStore(t, a)
	rem := StoreRemote{Dir: b}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var total int64
	st1, err := rem.Push(ctx, sa, nil, Options{Concurrency: 1, Progress: func(done, tot int64) {
		total = tot
		if done > tot/2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted push: %v, want context.Canceled", err)
	}
	if st1.ObjectsSent == 0 {
		t.Fatal("nothing arrived before the interruption; the test proves nothing")
	}
	sb := openStore(t, b)
	if _, err := sb.GetRef(t.Context(), r1.Ref); !errors.Is(err, cas.ErrRefNotFound) {
		t.Errorf("ref after an interrupted push: %v, want none", err)
	}
	sb.Close()

	st2, err := rem.Push(t.Context(), sa, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st2.ObjectsSkipped != st1.ObjectsSent || st2.BytesSkipped != st1.BytesSent {
		t.Errorf("resumed push skipped %d objects / %d bytes; the interrupted one sent %d / %d", st2.ObjectsSkipped, st2.BytesSkipped, st1.ObjectsSent, st1.BytesSent)
	}
	if st1.BytesSent+st2.BytesSent != total {
		t.Errorf("sent %d + %d bytes, want %d in all", st1.BytesSent, st2.BytesSent, total)
	}
	sa.Close()
	verifyDeep(t, openStore(t, b))
}

// TestTransferConflict: a run id recorded differently on each side is
// refused by name; Force replaces it and its stale index entries.
func TestTransferConflict(t *testing.T) {
	a, b := newStoreDir(t), newStoreDir(t)
	ra := recordRun(t, a, "EXP-01", 1, "", "")
	other := recordRun(t, a, "EXP-02", 1, "", "")
	rb := recordRun(t, b, "EXP-01", 1, "", `echo "id,p" > "$RIGOR_OUT/predictions.csv"; echo '{"loss": 2}' > "$RIGOR_OUT/raw_metrics.jsonl"; `)
	sa := openStore(t, a)
	rem := StoreRemote{Dir: b}

	st, err := rem.Push(t.Context(), sa, nil, Options{})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), ra.RunID) {
		t.Fatalf("push: %v, want ErrConflict naming %s", err, ra.RunID)
	}
	if statusOf(st, ra.RunID) != Conflict || statusOf(st, other.RunID) != Sent {
		t.Errorf("push: %+v, want a conflict and the other run sent", st.Runs)
	}
	sb := openStore(t, b)
	if got, _ := sb.GetRef(t.Context(), rb.Ref); got != rb.Root {
		t.Errorf("refused push changed the ref to %s", got)
	}
	staleOut := indexEntries(t, sb, spec.LineageOutIndex, rb.RunID)
	sb.Close()

	st, err = rem.Push(t.Context(), sa, []string{ra.RunID}, Options{Force: true})
	if err != nil || statusOf(st, ra.RunID) != Replaced || st.Runs[0].Other != rb.Root {
		t.Fatalf("forced push: %v, %+v", err, st.Runs)
	}
	sb = openStore(t, b)
	if got, _ := sb.GetRef(t.Context(), ra.Ref); got != ra.Root {
		t.Errorf("forced push left the ref at %s, want %s", got, ra.Root)
	}
	want := indexEntries(t, sa, spec.LineageOutIndex, ra.RunID)
	got := indexEntries(t, sb, spec.LineageOutIndex, ra.RunID)
	if strings.Join(staleOut, "\n") == strings.Join(want, "\n") {
		t.Fatal("the two runs have the same lineage; the test proves nothing")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lineage-out after the forced push:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	verifyDeep(t, sb)
}

// TestTransferCorruptSource: a blob damaged in the sending store is not
// accepted by the receiving one, and the run does not appear there.
func TestTransferCorruptSource(t *testing.T) {
	a, b := newStoreDir(t), newStoreDir(t)
	input := randomFile(t, 1<<20)
	r := recordRun(t, a, "EXP-01", 1, input, "")
	sa := openStore(t, a)
	b3, _, err := cas.FromReader(mustOpen(t, input))
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.CorruptForTest(t.Context(), b3, 1000); err != nil {
		t.Fatal(err)
	}
	_, err = StoreRemote{Dir: b}.Push(t.Context(), sa, nil, Options{})
	if !errors.Is(err, cas.ErrDigestMismatch) {
		t.Fatalf("push of a damaged blob: %v, want cas.ErrDigestMismatch", err)
	}
	sb := openStore(t, b)
	if _, err := sb.GetRef(t.Context(), r.Ref); !errors.Is(err, cas.ErrRefNotFound) {
		t.Errorf("ref after a refused push: %v", err)
	}
	if ok, _ := sb.Has(t.Context(), b3); ok {
		t.Error("the damaged blob was stored")
	}
	if rep, err := sb.Fsck(t.Context(), cas.FsckOptions{}); err != nil || !rep.OK() {
		t.Errorf("fsck: %v %+v", err, rep.Problems)
	}
}

func TestSameStore(t *testing.T) {
	a := newStoreDir(t)
	sa := openStore(t, a)
	for _, dir := range []string{a, filepath.Dir(a)} {
		if _, err := (StoreRemote{Dir: dir}).Push(t.Context(), sa, nil, Options{}); !errors.Is(err, ErrSameStore) {
			t.Errorf("push to %s: %v, want ErrSameStore", dir, err)
		}
	}
}

// TestStoreCheck: a complete run checks OK from a store that has it and
// from an empty one; an object deleted on the remote is named by path.
func TestStoreCheck(t *testing.T) {
	a, b, empty := newStoreDir(t), newStoreDir(t), newStoreDir(t)
	input := randomFile(t, 10<<10)
	r := recordRun(t, a, "EXP-01", 1, input, "")
	sa := openStore(t, a)
	rem := StoreRemote{Dir: b}
	res, err := rem.Check(t.Context(), sa, nil)
	if err != nil || len(res) != 1 || res[0].Problem != "not on the remote" {
		t.Fatalf("check before push: %+v, %v", res, err)
	}
	if _, err := rem.Push(t.Context(), sa, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	se := openStore(t, empty)
	for name, local := range map[string]*cas.Store{"with the run": sa, "empty": se} {
		res, err := rem.Check(t.Context(), local, []string{r.RunID})
		if err != nil || len(res) != 1 || !res[0].OK() || res[0].Root != r.Root {
			t.Errorf("check %s: %+v, %v", name, res, err)
		}
	}
	b3, _, err := cas.FromReader(mustOpen(t, input))
	if err != nil {
		t.Fatal(err)
	}
	sb := openStore(t, b)
	if err := sb.DeleteObjectForTest(t.Context(), b3); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	for name, local := range map[string]*cas.Store{"with the run": sa, "empty": se} {
		res, err := rem.Check(t.Context(), local, []string{r.Ref})
		if err != nil || len(res) != 1 {
			t.Fatalf("check %s: %+v, %v", name, res, err)
		}
		if len(res[0].Missing) != 1 || res[0].Missing[0].Path != "inputs/data/data.bin" || res[0].Missing[0].Digest != b3 {
			t.Errorf("check %s: %+v, want inputs/data/data.bin missing", name, res[0])
		}
	}
}

// indexFailer fails every write to one index of the store it wraps.
type indexFailer struct {
	*cas.Store
	index string
}

func (f *indexFailer) PutIndex(ctx context.Context, index string, key, value []byte) error {
	if index == f.index {
		return errors.New("injected: index write failed")
	}
	return f.Store.PutIndex(ctx, index, key, value)
}

// TestPullIndexBeforeRef: a pull stopped while it writes a run's index
// entries (as a killed one would be) has not set the run's ref yet, so
// the next pull moves the run again and writes its lineage; verify finds
// the index and the ref in agreement. (With the ref set first, the next
// pull found the run in place and its lineage stayed missing.)
func TestPullIndexBeforeRef(t *testing.T) {
	a, b := newStoreDir(t), newStoreDir(t)
	r := recordRun(t, a, "EXP-01", 1, randomFile(t, 1<<20), "")
	sb := openStore(t, b)
	rem := StoreRemote{Dir: a}
	if _, err := rem.Pull(t.Context(), &indexFailer{Store: sb, index: spec.LineageOutIndex}, nil, Options{}); err == nil {
		t.Fatal("pull with failing index writes succeeded")
	}
	if _, err := sb.GetRef(t.Context(), r.Ref); !errors.Is(err, cas.ErrRefNotFound) {
		t.Fatalf("ref after a pull that failed writing the index: %v, want none", err)
	}
	st, err := rem.Pull(t.Context(), sb, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if statusOf(st, r.RunID) != Sent {
		t.Errorf("second pull: run %s %v, want sent", r.RunID, statusOf(st, r.RunID))
	}
	if len(indexEntries(t, sb, spec.LineageOutIndex, r.RunID)) == 0 {
		t.Error("no lineage-out entries after the second pull")
	}
	verifyDeep(t, sb)
}
