package gates

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// splitData is a generated table: a header and rows of cells, plus the
// split of each row.
type splitData struct {
	header []string
	rows   [][]string
	split  []string
}

// leakyData builds the §5.6 split_leakage fixture: 300 rows (200 train, 100
// test) of random features, where 10 train rows are copied into test, 5
// user ids occur in both splits, and city_te is the mean of the target per
// city computed over all 300 rows.
func leakyData(seed uint64) splitData {
	rng := rand.New(rand.NewPCG(seed, 11))
	cities := []string{"Lyon", "Oslo", "Quito", "Perth", "Hanoi"}
	type row struct {
		user   string
		f1, f2 float64
		city   string
		y      int
	}
	rs := make([]row, 300)
	for i := range rs {
		rs[i] = row{user: fmt.Sprintf("u%03d", i), f1: rng.NormFloat64(), f2: rng.NormFloat64() * 10,
			city: cities[rng.IntN(len(cities))], y: rng.IntN(2)}
	}
	for i := 0; i < 10; i++ { // 10 train rows copied into test (features only)
		src := rs[i]
		src.user = rs[200+i].user
		rs[200+i] = src
	}
	for i := 0; i < 5; i++ { // 5 entities on both sides
		rs[250+i].user = rs[100+i].user
	}
	sum, n := map[string]float64{}, map[string]float64{}
	for _, r := range rs {
		sum[r.city] += float64(r.y)
		n[r.city]++
	}
	d := splitData{header: []string{"user_id", "f1", "f2", "city", "city_te", "label"}}
	for i, r := range rs {
		d.rows = append(d.rows, []string{r.user, strconv.FormatFloat(r.f1, 'g', -1, 64), strconv.FormatFloat(r.f2, 'g', -1, 64),
			r.city, strconv.FormatFloat(sum[r.city]/n[r.city], 'g', -1, 64), strconv.Itoa(r.y)})
		d.split = append(d.split, map[bool]string{true: "train", false: "test"}[i < 200])
	}
	return d
}

// cleanData is independent random data with distinct users on each side.
func cleanData(seed uint64, n int) splitData {
	rng := rand.New(rand.NewPCG(seed, 12))
	d := splitData{header: []string{"user_id", "f1", "f2", "f3", "colour", "label"}}
	colours := []string{"red", "green", "blue"}
	for i := 0; i < n; i++ {
		d.rows = append(d.rows, []string{fmt.Sprintf("u%06d", i), strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64),
			strconv.FormatFloat(rng.ExpFloat64(), 'g', -1, 64), strconv.Itoa(rng.IntN(1000)), colours[rng.IntN(3)], strconv.Itoa(rng.IntN(2))})
		d.split = append(d.split, map[bool]string{true: "train", false: "test"}[i%3 != 0])
	}
	return d
}

func csvLine(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		if strings.ContainsAny(c, ",\"\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		out[i] = c
	}
	return strings.Join(out, ",") + "\n"
}

// writeTwo writes d as train.csv and test.csv in dir.
func (d splitData) writeTwo(t *testing.T, dir string) SplitSpec {
	t.Helper()
	var tr, te strings.Builder
	tr.WriteString(csvLine(d.header))
	te.WriteString(csvLine(d.header))
	for i, r := range d.rows {
		if d.split[i] == "train" {
			tr.WriteString(csvLine(r))
		} else {
			te.WriteString(csvLine(r))
		}
	}
	sp := SplitSpec{Train: filepath.Join(dir, "train.csv"), Test: filepath.Join(dir, "test.csv")}
	writeFile(t, sp.Train, tr.String())
	writeFile(t, sp.Test, te.String())
	return sp
}

// writeOne writes d as one data.csv with a split column "fold".
func (d splitData) writeOne(t *testing.T, dir string) SplitSpec {
	t.Helper()
	var b strings.Builder
	b.WriteString(csvLine(append([]string{"fold"}, d.header...)))
	for i, r := range d.rows {
		b.WriteString(csvLine(append([]string{d.split[i]}, r...)))
	}
	sp := SplitSpec{CSV: filepath.Join(dir, "data.csv"), SplitCol: "fold"}
	writeFile(t, sp.CSV, b.String())
	return sp
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func audit(t *testing.T, sp SplitSpec, opts SplitOptions) *SplitAudit {
	t.Helper()
	a, err := AuditSplit(t.Context(), sp, opts)
	if err != nil {
		t.Fatalf("AuditSplit: %v", err)
	}
	if err := a.Report.Validate(); err != nil {
		t.Fatalf("report does not validate: %v", err)
	}
	return a
}

func rowOf(a *SplitAudit, check string) *SplitRow {
	for i := range a.Rows {
		if a.Rows[i].Check == check {
			return &a.Rows[i]
		}
	}
	return nil
}

func highs(a *SplitAudit) []string {
	var out []string
	for _, r := range a.Rows {
		if r.Severity == SplitHigh {
			out = append(out, r.Check+"("+strings.Join(r.Columns, ",")+")")
		}
	}
	return out
}

// TestSplitSelftestLeaky is the §5.6 case: exact duplicates (10 unique
// combinations), entity overlap and the city_te target encoding, in both
// input shapes and with and without spilling.
func TestSplitSelftestLeaky(t *testing.T) {
	d := leakyData(1)
	for _, shape := range []string{"two files", "split column"} {
		for _, budget := range []int64{0, 2 << 10} {
			t.Run(fmt.Sprintf("%s/budget=%d", shape, budget), func(t *testing.T) {
				dir := t.TempDir()
				sp := d.writeTwo(t, dir)
				if shape == "split column" {
					sp = d.writeOne(t, dir)
				}
				sp.GroupCol, sp.Target = "user_id", "label"
				a := audit(t, sp, SplitOptions{MemoryBudget: budget, TempDir: dir})
				if budget > 0 && a.Partitions < 2 {
					t.Errorf("partitions = %d, want a spill with a %d-byte budget", a.Partitions, budget)
				}
				ex := rowOf(a, CheckExactDuplicate)
				if ex == nil || ex.Severity != SplitHigh || !strings.Contains(ex.Detail, "20 rows (10 unique feature combinations)") {
					t.Errorf("exact duplicate row = %+v, want 20 rows / 10 unique combinations", ex)
				}
				en := rowOf(a, CheckEntityOverlap)
				if en == nil || !strings.HasPrefix(en.Detail, "5 entities of user_id (10 rows)") ||
					!strings.Contains(en.Detail, "u100, u101, u102, u103, u104") || !slices.Equal(en.Columns, []string{"user_id"}) {
					t.Errorf("entity row = %+v, want 5 entities u100..u104 in 10 rows", en)
				}
				te := rowOf(a, CheckTargetEncoding)
				if te == nil || !slices.Equal(te.Columns, []string{"city_te", "city"}) {
					t.Errorf("target encoding row = %+v, want columns [city_te city]", te)
				}
				if got := highs(a); len(got) != 3 {
					t.Errorf("HIGH rows = %v, want exactly the three", got)
				}
				if a.Report.Verdict != spec.VerdictFail || a.Report.Producer != "data-engineering" {
					t.Errorf("report verdict %s producer %s", a.Report.Verdict, a.Report.Producer)
				}
				if a.RowsRead != 300 || len(a.Splits) != 2 || a.Splits[0].Rows+a.Splits[1].Rows != 300 {
					t.Errorf("rows read %d, splits %+v", a.RowsRead, a.Splits)
				}
				if want := []string{"f1", "f2", "city", "city_te"}; !slices.Equal(a.Features, want) {
					t.Errorf("features = %v, want %v", a.Features, want)
				}
			})
		}
	}
}

// TestSplitSelftestClean: independent random data has no HIGH finding.
func TestSplitSelftestClean(t *testing.T) {
	for _, budget := range []int64{0, 4 << 10} {
		dir := t.TempDir()
		sp := cleanData(2, 3000).writeOne(t, dir)
		sp.GroupCol, sp.Target = "user_id", "label"
		a := audit(t, sp, SplitOptions{MemoryBudget: budget, TempDir: dir})
		if got := highs(a); len(got) > 0 {
			t.Errorf("budget %d: HIGH rows %v on clean data", budget, got)
		}
		if a.Report.Verdict == spec.VerdictFail {
			t.Errorf("verdict fail on clean data: %+v", a.Rows)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("spill files left behind: %v", entries)
		}
	}
}

func TestSplitNearDuplicates(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("part,x,y,tag\n")
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "train,%g,%g,t%d\n", rng.Float64()*1000, rng.Float64()*1000, i)
	}
	// Test rows a hair away from train rows: same bins, different values.
	lines := strings.Split(b.String(), "\n")
	for i := 1; i <= 7; i++ {
		f := strings.Split(lines[i], ",")
		x, _ := strconv.ParseFloat(f[1], 64)
		fmt.Fprintf(&b, "test,%g,%s,%s\n", x+1e-9, f[2], f[3])
	}
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "test,%g,%g,t%d\n", 2000+rng.Float64(), 2000+rng.Float64(), i%2)
	}
	writeFile(t, filepath.Join(dir, "d.csv"), b.String())
	a := audit(t, SplitSpec{CSV: filepath.Join(dir, "d.csv"), SplitCol: "part"}, SplitOptions{})
	if rowOf(a, CheckExactDuplicate) != nil {
		t.Errorf("exact duplicates found: %+v", a.Rows)
	}
	nd := rowOf(a, CheckNearDuplicate)
	if nd == nil || nd.Severity != SplitMed || !strings.HasPrefix(nd.Detail, "14 rows") {
		t.Fatalf("near duplicate row = %+v, want 14 rows (7 pairs)", nd)
	}
	if g := a.Report.Gates[0]; g.Gate != CheckNearDuplicate || g.Status != spec.GateWarn || g.Severity != spec.SeverityMajor || g.Findings[0].Loc != "(rows)" {
		t.Errorf("gate = %+v, want near_duplicate warn/major at (rows)", g)
	}
	if a.Report.Verdict != spec.VerdictWarn {
		t.Errorf("verdict = %s, want warn", a.Report.Verdict)
	}
}

// TestSplitExactKeys: missing values are equal, numbers compare as numbers,
// text as text, and a duplicate within one split is not a leak.
func TestSplitExactKeys(t *testing.T) {
	dir := t.TempDir()
	data := "s,num,txt,other\n" +
		"a,1,x,\n" + "b,1.0,x,NaN\n" + // equal: 1 == 1.0, missing == missing
		"a,2,01,5\n" + "b,2,1,5\n" + // text "01" != "1"
		"a,3,z,7\n" + "a,3,z,7\n" + // same split only
		"b,-0,w,9\n" + "a,0,w,9\n" // -0 == 0
	writeFile(t, filepath.Join(dir, "d.csv"), data)
	a := audit(t, SplitSpec{CSV: filepath.Join(dir, "d.csv"), SplitCol: "s"}, SplitOptions{})
	ex := rowOf(a, CheckExactDuplicate)
	if ex == nil || !strings.HasPrefix(ex.Detail, "4 rows (2 unique feature combinations)") {
		t.Errorf("exact row = %+v, want 4 rows / 2 combinations", ex)
	}
}

func TestSplitCols(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tr.csv"), "id,a,b\n1,5,x\n2,6,y\n")
	writeFile(t, filepath.Join(dir, "te.csv"), "b,a,id\nx,5,3\nq,7,4\n") // columns in another order
	a := audit(t, SplitSpec{Train: filepath.Join(dir, "tr.csv"), Test: filepath.Join(dir, "te.csv"), Cols: []string{"a", "b"}}, SplitOptions{})
	if ex := rowOf(a, CheckExactDuplicate); ex == nil || !strings.HasPrefix(ex.Detail, "2 rows") {
		t.Errorf("with cols a,b: %+v, want the (5,x) duplicate", a.Rows)
	}
	a = audit(t, SplitSpec{Train: filepath.Join(dir, "tr.csv"), Test: filepath.Join(dir, "te.csv")}, SplitOptions{})
	if rowOf(a, CheckExactDuplicate) != nil {
		t.Errorf("with id as a feature there is no duplicate: %+v", a.Rows)
	}
	if a.Report.Gates[0].Gate != "split_leakage" || a.Report.Verdict != spec.VerdictPass {
		t.Errorf("clean report = %+v", a.Report)
	}
}

func TestSplitInputErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "g.csv")
	writeFile(t, good, "s,a,g\ntrain,1,u\ntest,2,v\n")
	one := filepath.Join(dir, "one.csv")
	writeFile(t, one, "s,a\ntrain,1\ntrain,2\n")
	ragged := filepath.Join(dir, "r.csv")
	writeFile(t, ragged, "s,a\ntrain,1\ntest,2,3\n")
	empty := filepath.Join(dir, "e.csv")
	writeFile(t, empty, "")
	dup := filepath.Join(dir, "d.csv")
	writeFile(t, dup, "s,a,a\ntrain,1,1\n")
	tests := []struct {
		name string
		sp   SplitSpec
		want string
	}{
		{"nothing", SplitSpec{}, "give train and test"},
		{"both shapes", SplitSpec{CSV: good, SplitCol: "s", Train: good, Test: good}, "not both"},
		{"no split col", SplitSpec{CSV: good}, "needs split_col"},
		{"unknown split col", SplitSpec{CSV: good, SplitCol: "fold"}, `no split column "fold"`},
		{"one split", SplitSpec{CSV: one, SplitCol: "s"}, "at least two"},
		{"missing group", SplitSpec{CSV: good, SplitCol: "s", GroupCol: "patient"}, `no group column "patient"`},
		{"missing target", SplitSpec{CSV: good, SplitCol: "s", Target: "y"}, `no target column "y"`},
		{"missing feature", SplitSpec{CSV: good, SplitCol: "s", Cols: []string{"a", "zz"}}, `no feature column "zz"`},
		{"no features", SplitSpec{CSV: good, SplitCol: "s", GroupCol: "g", Target: "a"}, "no feature columns"},
		{"ragged", SplitSpec{CSV: ragged, SplitCol: "s"}, "r.csv:3: 3 fields, the header has 2"},
		{"empty", SplitSpec{CSV: empty, SplitCol: "s"}, "is empty"},
		{"duplicate header", SplitSpec{CSV: dup, SplitCol: "s"}, `column "a" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AuditSplit(t.Context(), tt.sp, SplitOptions{})
			if !errors.Is(err, ErrSplitInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrSplitInput containing %q", err, tt.want)
			}
		})
	}
	if _, err := AuditSplit(t.Context(), SplitSpec{CSV: filepath.Join(dir, "absent.csv"), SplitCol: "s"}, SplitOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestSplitBins(t *testing.T) {
	edges := saInnerEdges([]float64{4, 1, 3, 2, 5}, 4) // quantiles 1, 2, 3, 4, 5
	if !slices.Equal(edges, []float64{2, 3, 4}) {
		t.Fatalf("edges = %v", edges)
	}
	for v, want := range map[float64]int32{0: 0, 2: 0, 2.5: 1, 3: 1, 4.1: 3, 100: 3} {
		if got := saBin(edges, v); got != want {
			t.Errorf("saBin(%v) = %d, want %d", v, got, want)
		}
	}
	if e := saInnerEdges([]float64{1, 1, 1, 2}, 4); !slices.Equal(e, []float64{1.25}) { // 1 1 1 1.25 2
		t.Errorf("duplicated quantiles: edges = %v, want [1.25]", e)
	}
	if e := saInnerEdges([]float64{7, 7}, 20); len(e) != 0 {
		t.Errorf("constant sample: edges = %v, want none", e)
	}
}

func TestSplitCancelled(t *testing.T) {
	dir := t.TempDir()
	sp := cleanData(4, 100).writeOne(t, dir)
	ctx, cancel := contextWithCancel(t)
	cancel()
	if _, err := AuditSplit(ctx, sp, SplitOptions{}); err == nil {
		t.Error("a cancelled audit succeeded")
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
