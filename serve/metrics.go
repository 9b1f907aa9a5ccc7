package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Limits of the metrics table and plots.
const (
	maxMetricsSize = 16 << 20
	maxMetricRows  = 2000
	maxMetricKeys  = 50
	maxPlots       = 12
)

// labelKeys name what a raw_metrics line is about, in order of preference.
var labelKeys = []string{"fold", "epoch", "step", "iteration"}

// MetricsView is the raw_metrics.jsonl artifact as a table, one row per
// line (per fold, as rigor's examples write it), one column per numeric
// value (nested keys joined with "."), and a plot per column.
type MetricsView struct {
	File FileView `json:"file"`
	// Label is the key that names each row ("fold", "epoch", "step",
	// "iteration"), or "line" when not every line has one of them.
	Label string `json:"label"`
	// Keys are the numeric columns, Label excluded, sorted.
	Keys []string    `json:"keys"`
	Rows []MetricRow `json:"rows"`
	// Skipped counts lines that are not JSON objects; Truncated says the
	// table stops at 2000 rows or 50 keys.
	Skipped   int  `json:"skipped,omitempty"`
	Truncated bool `json:"truncated,omitempty"`

	Plots []Plot `json:"-"`
}

// MetricRow is one line of raw_metrics.jsonl; Values follow Keys (null
// where the line has no such number).
type MetricRow struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
}

// readMetrics reads and tabulates a raw_metrics.jsonl file.
func readMetrics(ctx context.Context, st cas.Getter, f FileView) (*MetricsView, error) {
	mv := &MetricsView{File: f, Keys: []string{}, Rows: []MetricRow{}}
	if f.Size > maxMetricsSize {
		mv.Truncated = true
		return mv, nil
	}
	data, err := readBlob(ctx, st, f.Digest, f.Size, maxMetricsSize)
	if err != nil {
		return nil, err
	}
	var lines []map[string]float64
	var labels [][]string // per line, the value of each label key ("" absent)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxMetricsSize)
	keys := map[string]bool{}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(lines) == maxMetricRows {
			mv.Truncated = true
			break
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) != nil || obj == nil {
			mv.Skipped++
			continue
		}
		vals := map[string]float64{}
		flatten("", obj, vals)
		lab := make([]string, len(labelKeys))
		for i, k := range labelKeys {
			if x, ok := obj[k]; ok {
				lab[i] = labelText(x)
			}
		}
		for k := range vals {
			if !keys[k] && len(keys) >= maxMetricKeys {
				delete(vals, k)
				mv.Truncated = true
				continue
			}
			keys[k] = true
		}
		lines = append(lines, vals)
		labels = append(labels, lab)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	mv.Label = "line"
	li := -1
	for i, k := range labelKeys {
		if len(lines) > 0 && !slices.ContainsFunc(labels, func(l []string) bool { return l[i] == "" }) {
			mv.Label, li = k, i
			break
		}
	}
	for k := range keys {
		if k != mv.Label {
			mv.Keys = append(mv.Keys, k)
		}
	}
	slices.Sort(mv.Keys)
	for i, vals := range lines {
		row := MetricRow{Label: strconv.Itoa(i + 1), Values: make([]*float64, len(mv.Keys))}
		if li >= 0 {
			row.Label = labels[i][li]
		}
		for j, k := range mv.Keys {
			if x, ok := vals[k]; ok {
				row.Values[j] = &x
			}
		}
		mv.Rows = append(mv.Rows, row)
	}
	for j, k := range mv.Keys {
		if len(mv.Plots) == maxPlots {
			break
		}
		if p, ok := plotColumn(k, mv.Label, mv.Rows, j); ok {
			mv.Plots = append(mv.Plots, p)
		}
	}
	return mv, nil
}

// flatten collects the finite numbers of a JSON object by dotted key.
func flatten(prefix string, v any, out map[string]float64) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			flatten(prefix+k+".", c, out)
		}
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			out[strings.TrimSuffix(prefix, ".")] = f
		}
	}
}

func labelText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// Plot is a server-drawn line chart of one metric over the rows, in SVG
// user units (the template draws it).
type Plot struct {
	Key            string
	Width, Height  int
	Left, Bottom   int // plot area: x from Left to Width-8, y from 8 to Height-Bottom
	Polyline       string
	Points         []PlotPoint
	YMin, YMax     string // axis labels
	YTop, YBottom  int
	XFirst, XLast  string
	XLabelY        int
	XRight, XLeftL int
}

// PlotPoint is one marker with its hover text.
type PlotPoint struct {
	X, Y  string
	Title string
}

// plotColumn draws column j of rows; ok is false when it has no values.
func plotColumn(key, label string, rows []MetricRow, j int) (Plot, bool) {
	const w, h, left, bottom, pad = 320, 170, 64, 28, 10
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if v := r.Values[j]; v != nil {
			lo, hi = math.Min(lo, *v), math.Max(hi, *v)
		}
	}
	if math.IsInf(lo, 1) {
		return Plot{}, false
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*0.1, 1e-9)
		lo, hi = lo-d, hi+d
	}
	p := Plot{Key: key, Width: w, Height: h, Left: left, Bottom: bottom, YMin: fmtNum(lo), YMax: fmtNum(hi),
		YTop: pad + 4, YBottom: h - bottom, XFirst: rows[0].Label, XLast: rows[len(rows)-1].Label, XLabelY: h - bottom + 16,
		XRight: w - pad, XLeftL: left}
	xAt := func(i int) float64 {
		if len(rows) == 1 {
			return float64(left+w-pad) / 2
		}
		return float64(left) + float64(i)*float64(w-pad-left)/float64(len(rows)-1)
	}
	yAt := func(v float64) float64 { return float64(h-bottom) - (v-lo)/(hi-lo)*float64(h-bottom-pad) }
	var pts []string
	for i, r := range rows {
		v := r.Values[j]
		if v == nil {
			continue
		}
		x, y := strconv.FormatFloat(xAt(i), 'f', 1, 64), strconv.FormatFloat(yAt(*v), 'f', 1, 64)
		pts = append(pts, x+","+y)
		if len(p.Points) < 500 {
			p.Points = append(p.Points, PlotPoint{X: x, Y: y, Title: fmt.Sprintf("%s %s: %s = %s", label, r.Label, key, fmtNum(*v))})
		}
	}
	p.Polyline = strings.Join(pts, " ")
	return p, true
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

// decodeManifest decodes a manifest.json leniently, for display.
func decodeManifest(raw []byte) (*spec.RunManifest, error) {
	m := new(spec.RunManifest)
	if err := json.Unmarshal(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), m); err != nil {
		return nil, err
	}
	return m, nil
}
