package remote

import (
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
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
