package gates

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// The checks of the split audit (spec §4.4), by the names split_leakage
// gives them. Printed and persisted: do not reorder; append only.
const (
	CheckExactDuplicate = "exact_duplicate_across_split"
	CheckNearDuplicate  = "near_duplicate_across_split"
	CheckEntityOverlap  = "entity_overlap_across_split"
	CheckTargetEncoding = "target_mean_encoding_leak"
)

// Severities of split-audit rows. HIGH becomes fail/critical in findings,
// MED warn/major, LOW warn/minor.
const (
	SplitHigh = "HIGH"
	SplitMed  = "MED"
	SplitLow  = "LOW"
)

// SplitProducer is the producer of the split audit's findings.
const SplitProducer = "data-engineering"

// ErrSplitInput: the data to audit cannot be audited as given (a missing
// column, fewer than two splits, a malformed CSV row). The message names
// the file, line or column.
var ErrSplitInput = errors.New("gates: split audit input")

// SplitSpec says what to audit: either two files, Train and Test (split
// labels "train" and "test"), or one file CSV with a split column SplitCol.
// It is the "leakage" object of a repro spec (§2.4).
type SplitSpec struct {
	Train string `json:"train,omitempty"`
	Test  string `json:"test,omitempty"`
	CSV   string `json:"csv,omitempty"`
	// SplitCol names the split column of CSV; its values, as text, are the
	// split labels, and it needs at least two.
	SplitCol string `json:"split_col,omitempty"`
	// Cols are the feature columns; empty means every column except the
	// split, group and target columns.
	Cols []string `json:"cols,omitempty"`
	// GroupCol names the entity column (a patient, a user); "" skips the
	// entity-overlap check.
	GroupCol string `json:"group_col,omitempty"`
	// Target names the target column; "" skips the target-encoding check.
	Target string `json:"target,omitempty"`
	// Bins is the number of quantile bins of the near-duplicate
	// fingerprint; ≤ 0 means 20.
	Bins int `json:"bins,omitempty"`
	// RTol is the relative tolerance of the target-encoding check; ≤ 0
	// means 1e-3 (the absolute tolerance is fixed at 1e-6).
	RTol float64 `json:"rtol,omitempty"`
}

// SplitOptions tune [AuditSplit]. The zero value is ready to use.
type SplitOptions struct {
	// MemoryBudget bounds, in bytes, the hash tables of the duplicate and
	// entity checks; ≤ 0 means 128 MiB. Data that needs more is spilled to
	// temporary files in partitions, each small enough to fit.
	MemoryBudget int64
	// TempDir holds the spill files; "" means os.TempDir().
	TempDir string
}

// SplitMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// that a process running a split audit with this budget should set: 1.5
// times the budget plus 64 MiB, just above the audit's working set (see
// [AuditSplit]). Without a limit Go's collector lets the heap grow to twice
// what is live before it collects, so the peak resident memory would be
// about twice the working set. A budget ≤ 0 means the default.
func SplitMemoryLimit(budget int64) int64 {
	if budget <= 0 {
		budget = 128 << 20
	}
	return budget*3/2 + 64<<20
}

// SplitRow is one finding of the split audit, in split_leakage's shape.
type SplitRow struct {
	Check    string   `json:"check"`
	Severity string   `json:"severity"`
	Columns  []string `json:"columns"`
	Detail   string   `json:"detail"`
}

// SplitCount is the number of rows of one split.
type SplitCount struct {
	Label string `json:"label"`
	Rows  int64  `json:"rows"`
}

// SplitAudit is the result of [AuditSplit].
type SplitAudit struct {
	Rows     []SplitRow   `json:"rows"`
	Splits   []SplitCount `json:"splits"`
	Features []string     `json:"features"`
	RowsRead int64        `json:"rows_read"`
	// Partitions is how many partitions the duplicate check used: 1 means
	// it ran in memory, more that it spilled.
	Partitions int `json:"partitions"`
	// Notes say what could not be checked (a category column with too many
	// levels for the target-encoding check, say).
	Notes  []string    `json:"notes,omitempty"`
	Report spec.Report `json:"-"`
}

// AuditSplit audits a data split for train/test leakage (spec §4.4):
// rows whose exact feature values occur in two or more splits (HIGH), rows
// that only share a binned fingerprint (MED), entities of GroupCol in two or
// more splits (HIGH), and numeric features that are a target mean encoding
// computed over all splits (HIGH).
//
// # Memory
//
// It streams, so that a CSV of any size is audited in bounded memory. Pass
// 1 reads the CSV for column types, distinct counts (up to 21) and a
// reservoir sample of each numeric column (32 MiB in all; the quantile bin
// edges of the near-duplicate fingerprint come from it, exactly when a
// column has at most 4096 values, approximately above). Pass 2 reads it
// again and writes 25 bytes per row (a 128-bit hash of the exact feature
// values, a 64-bit hash of the binned fingerprint, the split) and the
// group value per row to partitions, in memory when they fit
// [SplitOptions.MemoryBudget], in temporary files otherwise. Each
// partition is then aggregated in hash tables of about 100 bytes per row,
// sized to fit the budget. The target-encoding accumulators take at most a
// quarter of the budget (a category column with more levels than fit is
// skipped with a note), and in-memory partitions a quarter. So memory is
// bounded by about 1.5 times the budget plus 40 MiB, whatever the file size, and the temporary disk is about 25 bytes per row plus the
// group values. Distinct rows whose 128-bit hashes collide (probability
// about n²/2¹²⁹) would be reported as duplicates.
//
// Input problems wrap [ErrSplitInput]; I/O errors are returned as they
// are; ctx is checked between rows.
func AuditSplit(ctx context.Context, sp SplitSpec, opts SplitOptions) (*SplitAudit, error) {
	if sp.Bins <= 0 {
		sp.Bins = 20
	}
	if sp.RTol <= 0 {
		sp.RTol = 1e-3
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = 128 << 20
	}
	src, err := saOpenSource(sp)
	if err != nil {
		return nil, err
	}
	st, err := saPass1(ctx, src, sp)
	if err != nil {
		return nil, err
	}
	plan, err := saMakePlan(src, sp, st, opts)
	if err != nil {
		return nil, err
	}
	res, err := saPass2(ctx, src, sp, st, plan, opts)
	if err != nil {
		return nil, err
	}
	res.Report = SplitReport(res.Rows, src.target())
	return res, nil
}

// SplitReport turns split-audit rows into light.findings.v1: one gate per
// row, named after the check, with one finding located at the row's
// columns (or "(rows)"); HIGH is fail/critical, MED warn/major, LOW
// warn/minor. With no rows there is one gate "split_leakage", pass/info.
func SplitReport(rows []SplitRow, target string) spec.Report {
	r := spec.Report{Schema: spec.FindingsSchema, Producer: SplitProducer, Target: target, FreshEvidence: true,
		Summary: fmt.Sprintf("split audit: %d findings", len(rows))}
	for _, row := range rows {
		g := spec.Gate{Gate: row.Check, Note: "split audit of " + target}
		switch row.Severity {
		case SplitHigh:
			g.Status, g.Severity = spec.GateFail, spec.SeverityCritical
		case SplitMed:
			g.Status, g.Severity = spec.GateWarn, spec.SeverityMajor
		default:
			g.Status, g.Severity = spec.GateWarn, spec.SeverityMinor
		}
		g.Findings = []spec.Finding{{Loc: splitRowLoc(row), Issue: row.Detail, Fix: splitFixes[row.Check], Rule: row.Check}}
		r.Gates = append(r.Gates, g)
	}
	if len(r.Gates) == 0 {
		r.Gates = []spec.Gate{{Gate: "split_leakage", Status: spec.GatePass, Severity: spec.SeverityInfo,
			Findings: []spec.Finding{}, Note: "no leakage found across the splits of " + target}}
	}
	r.Verdict = spec.ComputeVerdict(r.Gates)
	return r
}

func splitRowLoc(row SplitRow) string {
	if len(row.Columns) == 0 {
		return "(rows)"
	}
	return strings.Join(row.Columns, ",")
}

var splitFixes = map[string]string{
	CheckExactDuplicate: "de-duplicate before splitting, or split by entity so a row cannot land on both sides",
	CheckNearDuplicate:  "check whether the near duplicates are the same sample measured twice; if so, split by entity",
	CheckEntityOverlap:  "split by the entity column (GroupKFold, GroupShuffleSplit) so each entity is on one side only",
	CheckTargetEncoding: "compute target encodings inside each training fold only, never over all the data",
}

// saNA reports whether a cell is missing, as pandas reads it: empty, or
// one of #N/A, #N/A N/A, #NA, -1.#IND, -1.#QNAN, -NaN, -nan, 1.#IND,
// 1.#QNAN, <NA>, N/A, NA, NULL, NaN, None, n/a, nan, null.
func saNA(s string) bool {
	switch len(s) {
	case 0:
		return true
	case 2:
		return s == "NA"
	case 3:
		return s == "#NA" || s == "N/A" || s == "NaN" || s == "n/a" || s == "nan"
	case 4:
		return s == "#N/A" || s == "-NaN" || s == "-nan" || s == "<NA>" || s == "NULL" || s == "None" || s == "null"
	case 6:
		return s == "1.#IND"
	case 7:
		return s == "-1.#IND" || s == "1.#QNAN"
	case 8:
		return s == "#N/A N/A" || s == "-1.#QNAN"
	}
	return false
}

// saFloat parses a numeric cell. ok is false for a cell that is not a
// number; na is true for a missing one.
func saFloat(s string) (v float64, ok, na bool) {
	if saNA(s) {
		return math.NaN(), true, true
	}
	t := s
	if s[0] == ' ' || s[len(s)-1] == ' ' || s[0] == '\t' || s[len(s)-1] == '\t' {
		if t = strings.TrimSpace(s); t == "" {
			return 0, false, false
		}
	}
	i := 0
	if t[0] == '+' || t[0] == '-' {
		i = 1
	}
	if len(t) > i+1 && t[i] == '0' && t[i+1]|0x20 == 'x' {
		return 0, false, false // ParseFloat reads hex floats; pandas does not
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, false, false
		}
	}
	if math.IsNaN(v) {
		return v, true, true
	}
	return v, true, false
}

// saFile is one CSV of the input and the split its rows belong to (-1:
// read from the split column).
type saFile struct {
	path  string
	split int
	cols  []int // column index in the file → unified column index
}

// saSource is the input: unified columns and the files that hold them.
type saSource struct {
	columns  []string
	index    map[string]int
	files    []saFile
	splitCol int // unified index of the split column, -1 for two files
	labels   []string
	labelIdx map[string]int
	desc     string
}

func (s *saSource) target() string { return s.desc }

func saOpenSource(sp SplitSpec) (*saSource, error) {
	s := &saSource{index: map[string]int{}, splitCol: -1, labelIdx: map[string]int{}}
	switch {
	case sp.CSV != "" && (sp.Train != "" || sp.Test != ""):
		return nil, fmt.Errorf("%w: give either train and test, or csv with split_col, not both", ErrSplitInput)
	case sp.CSV != "":
		if sp.SplitCol == "" {
			return nil, fmt.Errorf("%w: csv needs split_col, the column that says which split a row is in", ErrSplitInput)
		}
		s.files = []saFile{{path: sp.CSV, split: -1}}
		s.desc = sp.CSV + "[" + sp.SplitCol + "]"
	case sp.Train != "" && sp.Test != "":
		s.files = []saFile{{path: sp.Train, split: 0}, {path: sp.Test, split: 1}}
		s.labels = []string{"train", "test"}
		s.labelIdx = map[string]int{"train": 0, "test": 1}
		s.desc = sp.Train + "|" + sp.Test
	default:
		return nil, fmt.Errorf("%w: give train and test files, or csv and split_col", ErrSplitInput)
	}
	for i := range s.files {
		header, err := saHeader(s.files[i].path)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, name := range header {
			if seen[name] {
				return nil, fmt.Errorf("%w: %s: column %q appears twice in the header", ErrSplitInput, s.files[i].path, name)
			}
			seen[name] = true
			idx, ok := s.index[name]
			if !ok {
				idx = len(s.columns)
				s.index[name] = idx
				s.columns = append(s.columns, name)
			}
			s.files[i].cols = append(s.files[i].cols, idx)
		}
	}
	if sp.CSV != "" {
		idx, ok := s.index[sp.SplitCol]
		if !ok {
			return nil, fmt.Errorf("%w: %s has no split column %q", ErrSplitInput, sp.CSV, sp.SplitCol)
		}
		s.splitCol = idx
	}
	return s, nil
}

func saHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	h, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: %s is empty: a CSV needs a header row", ErrSplitInput, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSplitInput, path, err)
	}
	h = slices.Clone(h)
	if len(h) > 0 {
		h[0] = strings.TrimPrefix(h[0], "\ufeff")
	}
	return h, nil
}

// scan calls fn for every data row, with the row as unified columns (a
// column a file lacks reads ""), and the row's split. The slice is reused.
// In single-file mode a split label not seen before gets the next index;
// more than 64 labels is an error.
func (s *saSource) scan(ctx context.Context, fn func(split int, row []string) error) error {
	row := make([]string, len(s.columns))
	for _, file := range s.files {
		if err := s.scanFile(ctx, file, row, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *saSource) scanFile(ctx context.Context, file saFile, row []string, fn func(int, []string) error) error {
	f, err := os.Open(file.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // header
		return fmt.Errorf("%w: %s: %v", ErrSplitInput, file.path, err)
	}
	for n := 0; ; n++ {
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSplitInput, file.path, err)
		}
		if len(rec) > len(file.cols) {
			line, _ := r.FieldPos(0)
			return fmt.Errorf("%w: %s:%d: %d fields, the header has %d", ErrSplitInput, file.path, line, len(rec), len(file.cols))
		}
		clear(row)
		for i, v := range rec {
			row[file.cols[i]] = v
		}
		split := file.split
		if split < 0 {
			label := row[s.splitCol]
			if saNA(label) {
				label = "nan"
			}
			var ok bool
			if split, ok = s.labelIdx[label]; !ok {
				if len(s.labels) == 64 {
					line, _ := r.FieldPos(0)
					return fmt.Errorf("%w: %s:%d: the split column %q has more than 64 values; is it the split column?",
						ErrSplitInput, file.path, line, s.columns[s.splitCol])
				}
				split = len(s.labels)
				s.labels = append(s.labels, label)
				s.labelIdx[label] = split
			}
		}
		if err := fn(split, row); err != nil {
			return err
		}
	}
}

// saColStats is what pass 1 learns about one column.
type saColStats struct {
	numeric  bool // every non-missing value is a number
	nonNA    int64
	strs     map[string]struct{} // distinct non-missing values, at most saDistinctCap
	floats   map[float64]struct{}
	finite   map[float64]struct{} // distinct finite values, at most 2
	sample   []float64            // reservoir of finite values
	seen     int64                // finite values offered to the reservoir
	keyBytes int64                // total length of non-missing values
}

// saDistinctCap: distinct counts are exact up to 20, which is all the
// target-encoding check needs to know.
const saDistinctCap = 21

// saPass1Stats is the outcome of pass 1.
type saPass1Stats struct {
	cols      []saColStats
	rows      int64
	perSplit  []int64
	reservoir int
}

func saPass1(ctx context.Context, src *saSource, sp SplitSpec) (*saPass1Stats, error) {
	n := len(src.columns)
	st := &saPass1Stats{cols: make([]saColStats, n)}
	// The reservoirs of all columns share 32 MiB, between 4096 and 131072
	// values each; a column with fewer finite values is sampled exactly.
	st.reservoir = min(max((32<<20)/8/max(n, 1), 4096), 1<<17)
	for i := range st.cols {
		st.cols[i] = saColStats{numeric: true, strs: map[string]struct{}{}, floats: map[float64]struct{}{}, finite: map[float64]struct{}{}}
	}
	rng := rand.New(rand.NewPCG(0x5eed, 0xa0d1)) // fixed: the audit is deterministic
	err := src.scan(ctx, func(split int, row []string) error {
		st.rows++
		for len(st.perSplit) <= split {
			st.perSplit = append(st.perSplit, 0)
		}
		st.perSplit[split]++
		for j, v := range row {
			c := &st.cols[j]
			if saNA(v) {
				continue
			}
			c.nonNA++
			c.keyBytes += int64(len(v))
			if len(c.strs) < saDistinctCap {
				c.strs[v] = struct{}{}
			}
			if !c.numeric {
				continue
			}
			f, ok, na := saFloat(v)
			if !ok {
				c.numeric, c.sample, c.floats, c.finite = false, nil, nil, nil
				continue
			}
			if na {
				c.nonNA--
				continue
			}
			if f == 0 {
				f = 0 // -0 is 0
			}
			if len(c.floats) < saDistinctCap {
				c.floats[f] = struct{}{}
			}
			if math.IsInf(f, 0) {
				continue
			}
			if len(c.finite) < 2 {
				c.finite[f] = struct{}{}
			}
			c.seen++
			if len(c.sample) < st.reservoir {
				c.sample = append(c.sample, f)
			} else if k := rng.Int64N(c.seen); k < int64(st.reservoir) {
				c.sample[k] = f
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// nunique is the number of distinct non-missing values, capped at 21.
func (c *saColStats) nunique() int {
	if c.numeric {
		return len(c.floats)
	}
	return len(c.strs)
}

// saPlan is what pass 2 computes per column, and how it partitions.
type saPlan struct {
	features   []int
	numeric    []bool      // by unified column
	edges      [][]float64 // inner bin edges of a numeric feature with ≥ 2 finite values; nil otherwise
	constant   []bool      // numeric feature with fewer than 2 distinct finite values
	group      int         // -1: none
	target     int         // -1: none
	parts      int         // partitions of the duplicate check
	groupParts int
	tme        *saTME
}

func saMakePlan(src *saSource, sp SplitSpec, st *saPass1Stats, opts SplitOptions) (*saPlan, error) {
	n := len(src.columns)
	p := &saPlan{numeric: make([]bool, n), edges: make([][]float64, n), constant: make([]bool, n), group: -1, target: -1}
	if len(src.labels) < 2 || len(st.perSplit) < 2 {
		return nil, fmt.Errorf("%w: %s has %d split value(s) %q; an audit needs at least two", ErrSplitInput, src.desc, len(src.labels), src.labels)
	}
	lookup := func(what, name string) (int, error) {
		i, ok := src.index[name]
		if !ok {
			return 0, fmt.Errorf("%w: %s has no %s column %q (columns: %s)", ErrSplitInput, src.desc, what, name, strings.Join(src.columns, ", "))
		}
		return i, nil
	}
	var err error
	if sp.GroupCol != "" {
		if p.group, err = lookup("group", sp.GroupCol); err != nil {
			return nil, err
		}
	}
	if sp.Target != "" {
		if p.target, err = lookup("target", sp.Target); err != nil {
			return nil, err
		}
	}
	if len(sp.Cols) > 0 {
		for _, c := range sp.Cols {
			i, err := lookup("feature", c)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(p.features, i) {
				p.features = append(p.features, i)
			}
		}
	} else {
		for i := range src.columns {
			if i != src.splitCol && i != p.group && i != p.target {
				p.features = append(p.features, i)
			}
		}
	}
	if len(p.features) == 0 {
		return nil, fmt.Errorf("%w: %s has no feature columns to compare", ErrSplitInput, src.desc)
	}
	for _, j := range p.features {
		c := &st.cols[j]
		if !c.numeric || c.nonNA == 0 {
			continue // an all-missing column reads as text, as pandas makes it object
		}
		p.numeric[j] = true
		if len(c.finite) < 2 {
			p.constant[j] = true
			continue
		}
		p.edges[j] = saInnerEdges(c.sample, sp.Bins)
		c.sample = nil
	}
	// Each row costs about 100 bytes in the hash tables of its partition
	// (its exact key, the near key, split masks and counts).
	p.parts = int(min(max(1, (st.rows*100+opts.MemoryBudget-1)/opts.MemoryBudget), saMaxParts))
	if p.group >= 0 {
		avg := st.cols[p.group].keyBytes / max(st.cols[p.group].nonNA, 1)
		p.groupParts = int(min(max(1, (st.cols[p.group].nonNA*(80+avg)+opts.MemoryBudget-1)/opts.MemoryBudget), saMaxParts))
	}
	if p.target >= 0 {
		p.tme = newSATME(src, st, p, opts.MemoryBudget/4)
	}
	return p, nil
}

// saInnerEdges returns the inner edges of the quantile bins of a sample:
// bins+1 evenly spaced quantiles (linear interpolation, as numpy's default),
// de-duplicated, without the outer two, which stand for -Inf and +Inf.
func saInnerEdges(sample []float64, bins int) []float64 {
	s := slices.Clone(sample)
	slices.Sort(s)
	q := make([]float64, 0, bins+1)
	for i := 0; i <= bins; i++ {
		pos := float64(i) / float64(bins) * float64(len(s)-1)
		lo := int(math.Floor(pos))
		v := s[lo]
		if lo+1 < len(s) {
			v += (pos - float64(lo)) * (s[lo+1] - s[lo])
		}
		q = append(q, v)
	}
	q = slices.Compact(q)
	if len(q) <= 2 {
		return []float64{}
	}
	return q[1 : len(q)-1]
}

// saBin is the bin code of v: the number of inner edges below it (bins are
// closed on the right), -1 for NaN.
func saBin(edges []float64, v float64) int32 {
	if math.IsNaN(v) {
		return -1
	}
	i, _ := slices.BinarySearch(edges, v) // first edge ≥ v
	return int32(i)
}

// saMaxParts caps the partitions of one spill, so that the open spill
// files stay well under the usual limit of 1024 descriptors; a budget so
// small that more would be needed then gets partitions larger than it.
const saMaxParts = 400

// saRecSize is the size of one spilled row: the exact key (16 bytes), the
// near key (8) and the split (1).
const saRecSize = 25

func saPass2(ctx context.Context, src *saSource, sp SplitSpec, st *saPass1Stats, p *saPlan, opts SplitOptions) (*SplitAudit, error) {
	dir := ""
	if p.parts > 1 || p.groupParts > 1 {
		var err error
		if dir, err = os.MkdirTemp(opts.TempDir, "rigor-split-*"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	rows, err := newSASpill(dir, "rows", p.parts, st.rows*saRecSize, opts.MemoryBudget)
	if err != nil {
		return nil, err
	}
	defer rows.close()
	var groups *saSpill
	if p.group >= 0 {
		gc := &st.cols[p.group]
		if groups, err = newSASpill(dir, "groups", p.groupParts, gc.keyBytes+2*gc.nonNA, opts.MemoryBudget); err != nil {
			return nil, err
		}
		defer groups.close()
	}
	seedA, seedB, seedN := maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed()
	var exactBuf, nearBuf []byte
	var rec [saRecSize]byte
	vals := make([]float64, len(src.columns))
	err = src.scan(ctx, func(split int, row []string) error {
		exactBuf, nearBuf = exactBuf[:0], nearBuf[:0]
		for _, j := range p.features {
			v := row[j]
			if !p.numeric[j] {
				if saNA(v) {
					exactBuf = append(exactBuf, 0)
					nearBuf = append(nearBuf, 0)
				} else {
					exactBuf = saAppendStr(append(exactBuf, 2), v)
					nearBuf = saAppendStr(append(nearBuf, 2), v)
				}
				continue
			}
			f, _, na := saFloat(v)
			vals[j] = f
			if na {
				exactBuf = append(exactBuf, 0)
			} else {
				if f == 0 {
					f = 0
				}
				exactBuf = binary.LittleEndian.AppendUint64(append(exactBuf, 1), math.Float64bits(f))
			}
			code := int32(0)
			if !p.constant[j] {
				code = saBin(p.edges[j], f)
			}
			nearBuf = binary.LittleEndian.AppendUint32(append(nearBuf, 1), uint32(code))
		}
		binary.LittleEndian.PutUint64(rec[0:], maphash.Bytes(seedA, exactBuf))
		binary.LittleEndian.PutUint64(rec[8:], maphash.Bytes(seedB, exactBuf))
		near := maphash.Bytes(seedN, nearBuf)
		binary.LittleEndian.PutUint64(rec[16:], near)
		rec[24] = byte(split)
		if err := rows.write(int((near>>32)*uint64(p.parts)>>32), rec[:]); err != nil { // high bits: the table indexes by the low ones
			return err
		}
		if groups != nil {
			if g := row[p.group]; !saNA(g) {
				var hdr [binary.MaxVarintLen64 + 1]byte
				hdr[0] = byte(split)
				n := binary.PutUvarint(hdr[1:], uint64(len(g)))
				part := int(maphash.String(seedN, g) % uint64(p.groupParts))
				if err := groups.write(part, hdr[:1+n]); err != nil {
					return err
				}
				if err := groups.writeString(part, g); err != nil {
					return err
				}
				groups.add(part)
			}
		}
		if p.tme != nil {
			p.tme.add(row, vals)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &SplitAudit{Rows: []SplitRow{}, RowsRead: st.rows, Partitions: p.parts}
	for i, l := range src.labels {
		res.Splits = append(res.Splits, SplitCount{Label: l, Rows: st.perSplit[i]})
	}
	for _, j := range p.features {
		res.Features = append(res.Features, src.columns[j])
	}
	// One table serves the duplicate check and then the entity check, so
	// the memory of the first is reused by the second.
	var tab saTable
	dup, err := saDuplicates(ctx, rows, &tab)
	if err != nil {
		return nil, err
	}
	if dup.exactRows > 0 {
		res.Rows = append(res.Rows, SplitRow{Check: CheckExactDuplicate, Severity: SplitHigh, Columns: []string{},
			Detail: fmt.Sprintf("%d rows (%d unique feature combinations) have exactly the same feature values in two or more splits",
				dup.exactRows, dup.exactKeys)})
	}
	if dup.nearRows > 0 {
		res.Rows = append(res.Rows, SplitRow{Check: CheckNearDuplicate, Severity: SplitMed, Columns: []string{},
			Detail: fmt.Sprintf("%d rows that are not exact duplicates share a binned fingerprint (%d bins per numeric feature) with a row of another split (%d fingerprints)",
				dup.nearRows, sp.Bins, dup.nearKeys)})
	}
	if groups != nil {
		ov, err := saEntities(ctx, groups, seedA, seedB, &tab)
		if err != nil {
			return nil, err
		}
		if ov.entities > 0 {
			res.Rows = append(res.Rows, SplitRow{Check: CheckEntityOverlap, Severity: SplitHigh, Columns: []string{src.columns[p.group]},
				Detail: fmt.Sprintf("%d entities of %s (%d rows) occur in two or more splits; for example %s",
					ov.entities, src.columns[p.group], ov.rows, strings.Join(ov.sample, ", "))})
		}
	}
	if p.tme != nil {
		res.Rows = append(res.Rows, p.tme.suspects(sp.RTol)...)
		res.Notes = append(res.Notes, p.tme.notes...)
	}
	return res, nil
}

func saAppendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// saSpill holds records in partitions: in memory for one partition, in
// temporary files otherwise.
type saSpill struct {
	n     []int // records per partition (callers count with add)
	mem   *bytes.Buffer
	files []*os.File
	ws    []*bufio.Writer
}

// newSASpill makes parts partitions; size is the expected total (the
// in-memory buffer's capacity), and the file buffers of all partitions
// together take at most an eighth of budget (4 to 64 KiB each).
func newSASpill(dir, name string, parts int, size, budget int64) (*saSpill, error) {
	s := &saSpill{n: make([]int, max(parts, 1))}
	if parts <= 1 {
		s.mem = bytes.NewBuffer(make([]byte, 0, size+16))
		return s, nil
	}
	for i := 0; i < parts; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%04d", name, i)))
		if err != nil {
			s.close()
			return nil, err
		}
		s.files = append(s.files, f)
		s.ws = append(s.ws, bufio.NewWriterSize(f, int(min(max(budget/8/int64(parts), 4<<10), 64<<10))))
	}
	return s, nil
}

func (s *saSpill) write(part int, b []byte) error {
	if s.mem != nil {
		s.mem.Write(b)
		return nil
	}
	_, err := s.ws[part].Write(b)
	return err
}

func (s *saSpill) writeString(part int, str string) error {
	if s.mem != nil {
		s.mem.WriteString(str)
		return nil
	}
	_, err := s.ws[part].WriteString(str)
	return err
}

// add counts one record written to partition part.
func (s *saSpill) add(part int) { s.n[part]++ }

// records is the number of records of partition i.
func (s *saSpill) records(i int) int { return s.n[i] }

func (s *saSpill) count() int {
	if s.mem != nil {
		return 1
	}
	return len(s.files)
}

// reader returns a reader of partition i, from its start, and the
// partition's size. The reader is also an io.ByteReader.
func (s *saSpill) reader(i int) (io.Reader, int64, error) {
	if s.mem != nil {
		return bytes.NewReader(s.mem.Bytes()), int64(s.mem.Len()), nil
	}
	if err := s.ws[i].Flush(); err != nil {
		return nil, 0, err
	}
	size, err := s.files[i].Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.files[i].Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	return bufio.NewReaderSize(s.files[i], 256<<10), size, nil
}

func (s *saSpill) close() {
	for _, f := range s.files {
		f.Close()
	}
	s.files, s.ws, s.mem = nil, nil, nil
}

type saDupResult struct {
	exactRows, exactKeys int64
	nearRows, nearKeys   int64
}

// saDuplicates aggregates each partition of rows. All rows with one exact
// key have one near key, and rows are partitioned by near key, so both
// checks are complete within a partition. The tables are flat
// open-addressing arrays keyed by the (already uniformly random) hashes,
// reused from one partition to the next.
func saDuplicates(ctx context.Context, rows *saSpill, exact *saTable) (saDupResult, error) {
	var res saDupResult
	var rec [saRecSize]byte
	var near saNearTable
	for i := 0; i < rows.count(); i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r, size, err := rows.reader(i)
		if err != nil {
			return res, err
		}
		exact.reset(int(size / saRecSize))
		near.reset(int(size / saRecSize))
		for {
			if _, err := io.ReadFull(r, rec[:]); err == io.EOF {
				break
			} else if err != nil {
				return res, err
			}
			k0, k1 := binary.LittleEndian.Uint64(rec[0:]), binary.LittleEndian.Uint64(rec[8:])
			nk := binary.LittleEndian.Uint64(rec[16:])
			bit := uint64(1) << rec[24]
			e := exact.slot(k0, k1)
			e.mask |= bit
			e.count++
			e.aux = nk
			near.slot(nk).mask |= bit
		}
		for j := range exact.slots {
			e := &exact.slots[j]
			switch {
			case e.mask == 0:
			case bits.OnesCount64(e.mask) >= 2:
				res.exactRows += int64(e.count)
				res.exactKeys++
			default:
				if n := near.slot(e.aux); bits.OnesCount64(n.mask) >= 2 {
					res.nearRows += int64(e.count)
					if !n.hit {
						n.hit = true
						res.nearKeys++
					}
				}
			}
		}
	}
	return res, nil
}

// saTable is an open-addressing hash table keyed by 128 bits of hash, with
// linear probing. The slot of a key is k0 scaled to the table's size
// (Lemire's multiply-shift), so any size works and the load stays between
// 0.35 and 0.7. A slot with mask 0 is empty: every caller sets a split bit
// in the mask of the slot it gets before the next call.
type saTable struct {
	slots []saSlot
	used  int
}

type saSlot struct {
	k0, k1 uint64
	mask   uint64 // the splits the key occurs in
	aux    uint64
	count  uint64
}

// reset empties the table, sized for about n keys.
func (t *saTable) reset(n int) {
	size := max(16, n*10/7+1)
	if cap(t.slots) >= size && cap(t.slots) <= 2*size {
		t.slots = t.slots[:size]
		clear(t.slots)
	} else {
		t.slots = make([]saSlot, size)
	}
	t.used = 0
}

func (t *saTable) home(k0 uint64) int { return saHome(k0, len(t.slots)) }

// saHome maps a key to a slot of a table of n slots. The key is mixed
// first (multiplied by an odd constant, a bijection) so that keys sharing
// their high bits, as the keys of one partition do, still spread over the
// whole table.
func saHome(key uint64, n int) int {
	hi, _ := bits.Mul64(key*0x9e3779b97f4a7c15, uint64(n))
	return int(hi)
}

// slot returns the slot of key (k0, k1), adding it, empty, when it is new.
func (t *saTable) slot(k0, k1 uint64) *saSlot {
	if (t.used+1)*10 > len(t.slots)*7 {
		t.grow()
	}
	for i := t.home(k0); ; i++ {
		if i == len(t.slots) {
			i = 0
		}
		s := &t.slots[i]
		if s.mask == 0 {
			*s = saSlot{k0: k0, k1: k1}
			t.used++
			return s
		}
		if s.k0 == k0 && s.k1 == k1 {
			return s
		}
	}
}

// find returns the slot of key (k0, k1), or nil.
func (t *saTable) find(k0, k1 uint64) *saSlot {
	for i := t.home(k0); ; i++ {
		if i == len(t.slots) {
			i = 0
		}
		s := &t.slots[i]
		if s.mask == 0 {
			return nil
		}
		if s.k0 == k0 && s.k1 == k1 {
			return s
		}
	}
}

func (t *saTable) grow() {
	old := t.slots
	t.slots = make([]saSlot, 2*len(old))
	t.used = 0
	for i := range old {
		if o := &old[i]; o.mask != 0 {
			*t.slot(o.k0, o.k1) = *o
		}
	}
}

// saNearTable maps a 64-bit near key to the splits it occurs in; the same
// scheme as saTable in 24-byte slots.
type saNearTable struct {
	slots []saNearSlot
	used  int
}

type saNearSlot struct {
	key  uint64
	mask uint64
	hit  bool // counted among the near-duplicate fingerprints
}

func (t *saNearTable) reset(n int) {
	size := max(16, n*10/7+1)
	if cap(t.slots) >= size && cap(t.slots) <= 2*size {
		t.slots = t.slots[:size]
		clear(t.slots)
	} else {
		t.slots = make([]saNearSlot, size)
	}
	t.used = 0
}

func (t *saNearTable) slot(key uint64) *saNearSlot {
	if (t.used+1)*10 > len(t.slots)*7 {
		old := t.slots
		t.slots = make([]saNearSlot, 2*len(old))
		t.used = 0
		for i := range old {
			if old[i].mask != 0 {
				*t.slot(old[i].key) = old[i]
			}
		}
	}
	for i := saHome(key, len(t.slots)); ; i++ {
		if i == len(t.slots) {
			i = 0
		}
		s := &t.slots[i]
		if s.mask == 0 {
			*s = saNearSlot{key: key}
			t.used++
			return s
		}
		if s.key == key {
			return s
		}
	}
}

type saEntityResult struct {
	entities, rows int64
	sample         []string // the 20 smallest overlapping entities
}

// saEntities aggregates each partition of entity records by a 128-bit hash
// of the entity, then reads the partition again for the names of a sample.
func saEntities(ctx context.Context, groups *saSpill, seedA, seedB maphash.Seed, tab *saTable) (saEntityResult, error) {
	var res saEntityResult
	var name []byte
	for i := 0; i < groups.count(); i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		tab.reset(groups.records(i))
		each := func(fn func(split byte, name []byte) error) error {
			r, _, err := groups.reader(i)
			if err != nil {
				return err
			}
			br := r.(saByteReader)
			for {
				split, err := br.ReadByte()
				if err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				n, err := binary.ReadUvarint(br)
				if err != nil {
					return err
				}
				name = slices.Grow(name[:0], int(n))[:n]
				if _, err := io.ReadFull(br, name); err != nil {
					return err
				}
				if err := fn(split, name); err != nil {
					return err
				}
			}
		}
		err := each(func(split byte, name []byte) error {
			s := tab.slot(maphash.Bytes(seedA, name), maphash.Bytes(seedB, name))
			s.mask |= 1 << split
			s.count++
			return nil
		})
		if err != nil {
			return res, err
		}
		for j := range tab.slots {
			if s := &tab.slots[j]; bits.OnesCount64(s.mask) >= 2 {
				res.entities++
				res.rows += int64(s.count)
			}
		}
		err = each(func(split byte, name []byte) error {
			s := tab.find(maphash.Bytes(seedA, name), maphash.Bytes(seedB, name))
			if s == nil || bits.OnesCount64(s.mask) < 2 || s.aux != 0 {
				return nil
			}
			s.aux = 1 // each entity once
			if len(res.sample) == 20 && string(name) >= res.sample[19] {
				return nil
			}
			k, _ := slices.BinarySearch(res.sample, string(name))
			res.sample = slices.Insert(res.sample, k, string(name))
			if len(res.sample) > 20 {
				res.sample = res.sample[:20]
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// saByteReader is what reading spilled entity records needs.
type saByteReader interface {
	io.Reader
	io.ByteReader
}
