package verify

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDiffContent(t *testing.T) {
	tests := []struct {
		name          string
		format        string
		a, b          string
		tol           Tolerance
		wantRows      int64 // differing rows
		wantValues    int64
		wantWithin    bool
		wantMaxAbs    float64
		wantStructure int // number of structural notes
		wantFirst     string
	}{
		{name: "equal CSV", format: FormatCSV, a: "p,y\n0.1,1\n", b: "p,y\n0.1,1\n", wantWithin: true},
		{name: "CSV number text differs, value equal", format: FormatCSV, a: "p\n0.10\n", b: "p\n0.1\n",
			wantRows: 1, wantValues: 1, wantWithin: true, wantFirst: "row 1 p 0.10 0.1 within"},
		{name: "CSV beyond zero tolerance", format: FormatCSV, a: "p\n0.2\n0.5\n", b: "p\n0.2000001\n0.5\n",
			wantRows: 1, wantValues: 1, wantMaxAbs: 1e-7, wantStructure: 1, wantFirst: "row 1 p 0.2 0.2000001 beyond"},
		{name: "CSV within rtol", format: FormatCSV, a: "p\n0.2\n0.5\n", b: "p\n0.2000001\n0.5\n", tol: Tolerance{RTol: 1e-5},
			wantRows: 1, wantValues: 1, wantMaxAbs: 1e-7, wantWithin: true},
		{name: "CSV header differs", format: FormatCSV, a: "p\n1\n", b: "q\n1\n", wantStructure: 1},
		{name: "CSV extra row", format: FormatCSV, a: "p\n1\n", b: "p\n1\n2\n", wantRows: 1, wantStructure: 1},
		{name: "CSV text cell", format: FormatCSV, a: "id,label\n1,cat\n", b: "id,label\n1,dog\n",
			wantRows: 1, wantValues: 1, wantStructure: 1, wantFirst: "row 1 label cat dog beyond"},
		{name: "CSV NaN against a number", format: FormatCSV, a: "p\nnan\n", b: "p\n0.5\n", tol: DefaultTolerance,
			wantRows: 1, wantValues: 1, wantStructure: 1},
		{name: "CSV NaN spelled two ways", format: FormatCSV, a: "p\nnan\n", b: "p\nNaN\n", tol: DefaultTolerance,
			wantRows: 1, wantValues: 1, wantWithin: true},
		{name: "CSV ragged row", format: FormatCSV, a: "a,b\n1,2\n", b: "a,b\n1\n", wantRows: 1, wantStructure: 1},
		{name: "JSONL leaf differs", format: FormatJSONL, a: "{\"loss\":0.5,\"step\":1}\n{\"loss\":0.25,\"step\":2}\n",
			b:        "{\"step\":1,\"loss\":0.5}\n{\"loss\":0.26,\"step\":2}\n",
			wantRows: 1, wantValues: 1, wantMaxAbs: 0.01, wantStructure: 1, wantFirst: "row 2 $.loss 0.25 0.26 beyond"},
		{name: "JSONL key only on one side", format: FormatJSONL, a: "{\"a\":1}\n", b: "{\"a\":1,\"b\":{\"c\":[2]}}\n",
			wantRows: 1, wantValues: 1, wantStructure: 1, wantFirst: "row 1 $.b.c[0]  2 beyond"},
		{name: "JSONL fewer lines", format: FormatJSONL, a: "{\"a\":1}\n{\"a\":2}\n", b: "{\"a\":1}\n", wantRows: 1, wantStructure: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DiffContent(t.Context(), tt.format, strings.NewReader(tt.a), strings.NewReader(tt.b), tt.tol, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.DifferingRows != tt.wantRows || d.DifferingValues != tt.wantValues || d.WithinTolerance != tt.wantWithin ||
				len(d.Structural) != tt.wantStructure || math.Abs(d.MaxAbsDiff-tt.wantMaxAbs) > 1e-12 {
				t.Errorf("got rows=%d values=%d within=%v structural=%q maxabs=%g", d.DifferingRows, d.DifferingValues, d.WithinTolerance, d.Structural, d.MaxAbsDiff)
			}
			if tt.wantFirst != "" {
				c := d.Differences[0]
				verdict := "beyond"
				if c.WithinTolerance {
					verdict = "within"
				}
				if got := fmt.Sprintf("row %d %s %s %s %s", c.Row, c.Column, c.First, c.Second, verdict); got != tt.wantFirst {
					t.Errorf("first difference = %q, want %q", got, tt.wantFirst)
				}
			}
		})
	}
}

func TestDiffContentErrors(t *testing.T) {
	if _, err := DiffContent(t.Context(), FormatJSONL, strings.NewReader("{\"a\":1}\n"), strings.NewReader("{oops\n"), Tolerance{}, 0); err == nil {
		t.Error("a JSONL line that is not JSON gave no error")
	}
	if _, err := DiffContent(t.Context(), FormatCSV, strings.NewReader("a\n\"x\n"), strings.NewReader("a\n1\n"), Tolerance{}, 0); err == nil {
		t.Error("a malformed CSV record gave no error")
	}
	if _, err := DiffContent(t.Context(), "parquet", strings.NewReader(""), strings.NewReader(""), Tolerance{}, 0); err == nil {
		t.Error("an unknown format gave no error")
	}
}

// rows generates a CSV of n rows without holding it in memory.
type rows struct {
	n, i int
	off  float64
	buf  []byte
}

func (r *rows) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i > r.n {
			return 0, io.EOF
		}
		if r.i == 0 {
			r.buf = []byte("id,p\n")
		} else {
			r.buf = fmt.Appendf(nil, "%d,%g\n", r.i, float64(r.i)/1000+r.off)
		}
		r.i++
	}
	k := copy(p, r.buf)
	r.buf = r.buf[k:]
	return k, nil
}

// TestDiffContentStreams compares two large CSVs with bounded output: the
// differences kept stop at shown, the counts cover every row.
func TestDiffContentStreams(t *testing.T) {
	const n = 200000
	d, err := DiffContent(t.Context(), FormatCSV, &rows{n: n}, &rows{n: n, off: 1e-9}, Tolerance{ATol: 1e-6}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if d.RowsCompared != n || d.DifferingRows == 0 || len(d.Differences) != 5 || !d.WithinTolerance {
		t.Errorf("rows=%d differing=%d shown=%d within=%v", d.RowsCompared, d.DifferingRows, len(d.Differences), d.WithinTolerance)
	}
	if !slices.IsSortedFunc(d.Differences, func(a, b CellDiff) int { return int(a.Row - b.Row) }) {
		t.Error("differences not in file order")
	}
}

func TestContentFormat(t *testing.T) {
	for name, want := range map[string]string{"predictions.csv": FormatCSV, "m/raw_metrics.jsonl": FormatJSONL, "x.NDJSON": FormatJSONL, "a.json": "", "b": ""} {
		if got := ContentFormat(name); got != want {
			t.Errorf("ContentFormat(%q) = %q, want %q", name, got, want)
		}
	}
}

// FuzzDiffContent: any input either fails to parse or diffs without
// panicking, and a file against itself never differs.
func FuzzDiffContent(f *testing.F) {
	f.Add("p,y\n0.1,1\n", "p,y\n0.2,1\n2,3\n", true)
	f.Add("{\"a\":1}\n{\"b\":[1,2]}\n", "{\"a\":1.5}\n", false)
	f.Fuzz(func(t *testing.T, a, b string, csvFormat bool) {
		format := FormatJSONL
		if csvFormat {
			format = FormatCSV
		}
		d, err := DiffContent(t.Context(), format, strings.NewReader(a), strings.NewReader(b), DefaultTolerance, 3)
		if err == nil && (len(d.Differences) > 3 || d.DifferingValues < int64(len(d.Differences))) {
			t.Fatalf("inconsistent diff %+v", d)
		}
		same, err := DiffContent(t.Context(), format, strings.NewReader(a), strings.NewReader(a), Tolerance{}, 3)
		if err == nil && (same.DifferingRows != 0 || !same.WithinTolerance) {
			t.Fatalf("%q differs from itself: %+v", a, same)
		}
	})
}
