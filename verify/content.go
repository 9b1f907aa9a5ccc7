package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// Content formats [DiffContent] understands.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// ContentFormat returns the content format of a file by its name: "csv"
// for .csv, "jsonl" for .jsonl and .ndjson, "" for anything else.
func ContentFormat(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson":
		return FormatJSONL
	}
	return ""
}

// Tolerance is how far numbers may differ and still agree, as
// numpy.isclose: |a − b| ≤ ATol + RTol·|b|. The zero value demands equal
// numbers (so 0.10 and 0.1 agree, 0.1 and 0.1000001 do not).
type Tolerance struct {
	RTol float64 `json:"rtol"`
	ATol float64 `json:"atol"`
}

// DefaultTolerance is numpy.isclose's: rtol 1e-05, atol 1e-08.
var DefaultTolerance = Tolerance{RTol: 1e-5, ATol: 1e-8}

func (t Tolerance) close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= t.ATol+t.RTol*math.Abs(b)
}

// CellDiff is one differing value: a CSV cell or a JSONL leaf.
type CellDiff struct {
	// Row is the 1-based data row (CSV, not counting the header) or line
	// (JSONL).
	Row int64 `json:"row"`
	// Column is the CSV column name (or its 1-based number when the header
	// has none), or the JSON path of the JSONL leaf.
	Column string `json:"column"`
	First  string `json:"first"`
	Second string `json:"second"`
	// AbsDiff and RelDiff are set when both values are finite numbers.
	AbsDiff *float64 `json:"abs_diff,omitempty"`
	RelDiff *float64 `json:"rel_diff,omitempty"`
	// WithinTolerance says whether this value agrees within the tolerance.
	WithinTolerance bool `json:"within_tolerance"`
}

// ContentDiff compares the content of two CSV or JSONL files row by row.
// Files that differ in any byte are never "exact"; WithinTolerance says
// whether every difference is a number that agrees within Tolerance.
type ContentDiff struct {
	Format       string `json:"format"`
	RowsFirst    int64  `json:"rows_first"`
	RowsSecond   int64  `json:"rows_second"`
	RowsCompared int64  `json:"rows_compared"`
	// DifferingRows counts the rows with at least one differing value, and
	// the rows only one side has.
	DifferingRows int64 `json:"differing_rows"`
	// DifferingValues counts the differing cells or leaves.
	DifferingValues int64 `json:"differing_values"`
	// Differences are the first differing values, in file order.
	Differences []CellDiff `json:"differences"`
	// MaxAbsDiff and MaxRelDiff are over the differing values that are
	// finite numbers on both sides; RelDiff is |a − b| / max(|a|, |b|).
	MaxAbsDiff float64 `json:"max_abs_diff"`
	MaxRelDiff float64 `json:"max_rel_diff"`
	// Structural lists differences that no tolerance covers: headers,
	// row counts, keys present on one side only, non-numeric values.
	Structural      []string  `json:"structural,omitempty"`
	Tolerance       Tolerance `json:"tolerance"`
	WithinTolerance bool      `json:"within_tolerance"`
}

// maxLine bounds one JSONL line (and one CSV record) held in memory.
const maxLine = 64 << 20

// maxStructural bounds the structural notes kept.
const maxStructural = 20

// DiffContent compares two files of the given format (FormatCSV or
// FormatJSONL) row by row, streaming: memory is bounded by the longest row
// and shown, whatever the file sizes. Rows are paired by position. Values
// equal as text agree; values that are both numbers agree when they are
// within tol; anything else differs structurally. At most shown (≤0: 10)
// differences are kept. It returns an error when a file cannot be read or
// parsed as the format (a malformed CSV record, a JSONL line that is not
// JSON, a line over 64 MiB).
func DiffContent(ctx context.Context, format string, first, second io.Reader, tol Tolerance, shown int) (*ContentDiff, error) {
	if shown <= 0 {
		shown = 10
	}
	d := &ContentDiff{Format: format, Tolerance: tol, Differences: []CellDiff{}}
	var err error
	switch format {
	case FormatCSV:
		err = d.csv(ctx, first, second, shown)
	case FormatJSONL:
		err = d.jsonl(ctx, first, second, shown)
	default:
		return nil, fmt.Errorf("verify: no content diff for format %q", format)
	}
	if err != nil {
		return nil, err
	}
	d.WithinTolerance = len(d.Structural) == 0
	return d, nil
}

// countRow counts one row position of a side-by-side read in which one side
// may have ended, and reports whether both sides had a row to compare.
func (d *ContentDiff) countRow(doneA, doneB bool) bool {
	switch {
	case doneA:
		d.RowsSecond++
		d.DifferingRows++
		return false
	case doneB:
		d.RowsFirst++
		d.DifferingRows++
		return false
	}
	d.RowsFirst++
	d.RowsSecond++
	d.RowsCompared++
	return true
}

func (d *ContentDiff) structural(format string, args ...any) {
	if len(d.Structural) < maxStructural {
		d.Structural = append(d.Structural, fmt.Sprintf(format, args...))
	}
}

// value compares one pair of values; it reports whether they differ.
func (d *ContentDiff) value(row int64, col, a, b string, shown int) bool {
	if a == b {
		return false
	}
	c := CellDiff{Row: row, Column: col, First: a, Second: b}
	fa, errA := strconv.ParseFloat(strings.TrimSpace(a), 64)
	fb, errB := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if errA == nil && errB == nil {
		c.WithinTolerance = d.Tolerance.close(fa, fb)
		if !math.IsNaN(fa) && !math.IsNaN(fb) && !math.IsInf(fa, 0) && !math.IsInf(fb, 0) {
			abs := math.Abs(fa - fb)
			rel := 0.0
			if m := max(math.Abs(fa), math.Abs(fb)); m > 0 {
				rel = abs / m
			}
			c.AbsDiff, c.RelDiff = &abs, &rel
			d.MaxAbsDiff = max(d.MaxAbsDiff, abs)
			d.MaxRelDiff = max(d.MaxRelDiff, rel)
		}
		if !c.WithinTolerance {
			d.structural("row %d, %s: %s and %s differ beyond the tolerance", row, col, a, b)
		}
	} else {
		d.structural("row %d, %s: %q and %q differ and are not both numbers", row, col, a, b)
	}
	d.DifferingValues++
	if len(d.Differences) < shown {
		d.Differences = append(d.Differences, c)
	}
	return true
}

func (d *ContentDiff) csv(ctx context.Context, first, second io.Reader, shown int) error {
	ra, rb := newCSV(first), newCSV(second)
	ha, errA := ra.Read()
	hb, errB := rb.Read()
	if errA != nil && errA != io.EOF {
		return fmt.Errorf("verify: first CSV: %w", errA)
	}
	if errB != nil && errB != io.EOF {
		return fmt.Errorf("verify: second CSV: %w", errB)
	}
	ha, hb = slices.Clone(ha), slices.Clone(hb)
	if !slices.Equal(ha, hb) {
		d.structural("headers differ: %q and %q", ha, hb)
	}
	col := func(i int) string {
		if i < len(ha) && ha[i] != "" {
			return ha[i]
		}
		return "column " + strconv.Itoa(i+1)
	}
	doneA, doneB := errA == io.EOF, errB == io.EOF
	for row := int64(1); ; row++ {
		if row%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var a, b []string
		var err error
		if !doneA {
			if a, err = ra.Read(); err == io.EOF {
				doneA = true
			} else if err != nil {
				return fmt.Errorf("verify: first CSV: %w", err)
			}
		}
		if !doneB {
			if b, err = rb.Read(); err == io.EOF {
				doneB = true
			} else if err != nil {
				return fmt.Errorf("verify: second CSV: %w", err)
			}
		}
		if doneA && doneB {
			break
		}
		if !d.countRow(doneA, doneB) {
			continue
		}
		differs := false
		if len(a) != len(b) {
			d.structural("row %d has %d fields in the first file and %d in the second", row, len(a), len(b))
			differs = true
		}
		for i := 0; i < min(len(a), len(b)); i++ {
			if d.value(row, col(i), a[i], b[i], shown) {
				differs = true
			}
		}
		if differs {
			d.DifferingRows++
		}
	}
	if d.RowsFirst != d.RowsSecond {
		d.structural("the first file has %d data rows, the second %d", d.RowsFirst, d.RowsSecond)
	}
	return nil
}

func newCSV(r io.Reader) *csv.Reader {
	cr := csv.NewReader(bufio.NewReaderSize(&limitedLines{r: r}, 256<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// limitedLines fails a read once a single line grows past maxLine, so a
// CSV reader's memory stays bounded.
type limitedLines struct {
	r   io.Reader
	run int
}

var errLineTooLong = errors.New("verify: a line is longer than 64 MiB")

func (l *limitedLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.run = 0
		} else if l.run++; l.run > maxLine {
			return 0, errLineTooLong
		}
	}
	return n, err
}

func (d *ContentDiff) jsonl(ctx context.Context, first, second io.Reader, shown int) error {
	sa, sb := newLines(first), newLines(second)
	doneA, doneB := false, false
	for row := int64(1); ; row++ {
		if row%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var a, b []byte
		if !doneA {
			if sa.Scan() {
				a = sa.Bytes()
			} else if err := sa.Err(); err != nil {
				return fmt.Errorf("verify: first JSONL: %w", err)
			} else {
				doneA = true
			}
		}
		if !doneB {
			if sb.Scan() {
				b = sb.Bytes()
			} else if err := sb.Err(); err != nil {
				return fmt.Errorf("verify: second JSONL: %w", err)
			} else {
				doneB = true
			}
		}
		if doneA && doneB {
			break
		}
		if !d.countRow(doneA, doneB) {
			continue
		}
		if bytes.Equal(a, b) {
			continue
		}
		la, err := leaves(a)
		if err != nil {
			return fmt.Errorf("verify: first JSONL line %d: %w", row, err)
		}
		lb, err := leaves(b)
		if err != nil {
			return fmt.Errorf("verify: second JSONL line %d: %w", row, err)
		}
		differs := false
		keys := make([]string, 0, len(la)+len(lb))
		for k := range la {
			keys = append(keys, k)
		}
		for k := range lb {
			if _, ok := la[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			va, inA := la[k]
			vb, inB := lb[k]
			switch {
			case !inA || !inB:
				d.structural("line %d: %s is only in the %s file", row, k, map[bool]string{true: "first", false: "second"}[inA])
				d.DifferingValues++
				if len(d.Differences) < shown {
					d.Differences = append(d.Differences, CellDiff{Row: row, Column: k, First: va, Second: vb})
				}
				differs = true
			default:
				if d.value(row, k, va, vb, shown) {
					differs = true
				}
			}
		}
		if differs {
			d.DifferingRows++
		}
	}
	if d.RowsFirst != d.RowsSecond {
		d.structural("the first file has %d lines, the second %d", d.RowsFirst, d.RowsSecond)
	}
	return nil
}

func newLines(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxLine)
	return s
}

// leaves flattens one JSON line into JSON path → value: numbers as written,
// strings as JSON strings, other scalars as JSON.
func leaves(line []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if len(bytes.TrimSpace(line)) == 0 {
			return map[string]string{}, nil
		}
		return nil, err
	}
	out := map[string]string{}
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				out[p] = "{}"
			}
			for k, e := range x {
				walk(spec.JSONPathKey(p, k), e)
			}
		case []any:
			if len(x) == 0 {
				out[p] = "[]"
			}
			for i, e := range x {
				walk(p+"["+strconv.Itoa(i)+"]", e)
			}
		case json.Number:
			out[p] = x.String()
		default:
			b, _ := json.Marshal(x)
			out[p] = string(b)
		}
	}
	walk("$", v)
	return out, nil
}
