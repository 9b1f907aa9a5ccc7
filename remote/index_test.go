package remote

import (
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

func TestSHA256IndexNameMatchesIngest(t *testing.T) {
	if SHA256Index != ingest.SHA256Index {
		t.Errorf("remote.SHA256Index = %q, ingest.SHA256Index = %q", SHA256Index, ingest.SHA256Index)
	}
}

func TestSHA256Index(t *testing.T) {
	s := memStore(t)
	d := cas.FromBytes([]byte("x"))
	const sum = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	if got, err := LookupSHA256(t.Context(), s, d); err != nil || got != "" {
		t.Errorf("LookupSHA256 before = %q, %v", got, err)
	}
	if err := RememberSHA256(t.Context(), s, d, "not hex"); err == nil {
		t.Error("RememberSHA256 took a malformed sum")
	}
	if err := RememberSHA256(t.Context(), s, d, sum); err != nil {
		t.Fatal(err)
	}
	if got, err := LookupSHA256(t.Context(), s, d); err != nil || got != sum {
		t.Errorf("LookupSHA256 = %q, %v; want %s", got, err, sum)
	}
}

// TestReadIndexEntriesSkipsInvalidLineage: lineage entries an early
// recorder wrote with a source path outside the run are not carried; the
// valid ones are.
func TestReadIndexEntriesSkipsInvalidLineage(t *testing.T) {
	s := memStore(t)
	run := Run{RunID: "EXP-01__seed-1__attempt-1", Ref: "runs/EXP-01/seed-1/attempt-1", Root: cas.FromBytes([]byte("root"))}
	good := cas.FromBytes([]byte("good")).String()
	bad := cas.FromBytes([]byte("bad")).String()
	for k, v := range map[string]string{
		good + "\x00" + run.RunID:              `{"kind":"input","role":"data","path":"inputs/data/x.csv"}`,
		bad + "\x00" + run.RunID:               `{"kind":"input","role":"data","path":"/home/me/x.csv"}`,
		good + "\x00EXP-02__seed-1__attempt-1": `{"kind":"input","role":"data","path":"inputs/data/x.csv"}`,
	} {
		if err := s.PutIndex(t.Context(), spec.LineageInIndex, []byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadIndexEntries(t.Context(), s, []Run{run})
	if err != nil {
		t.Fatal(err)
	}
	e := got[run.RunID]
	if e == nil || len(e.LineageIn) != 1 || e.LineageIn[0].Content != good || e.Summary != nil {
		t.Fatalf("ReadIndexEntries = %+v, want the one valid lineage entry", e)
	}
}
