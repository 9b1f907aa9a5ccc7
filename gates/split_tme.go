package gates

import (
	"fmt"
	"math"
)

// saTME is the target-mean-encoding check (spec §4.4): a numeric feature f
// is suspect when, for some category column c, f is constant within at
// least two levels of c and, at every such level, equals the mean of the
// target there, over all splits: the signature of a target encoding
// computed on data that includes the test rows.
//
// It keeps, per level of each category column, the target's sum and count
// and the running mean and variance of each numeric candidate. Category
// columns are the non-numeric features and the features with at most 20
// distinct values; numeric candidates are numeric features with more than
// 2. A non-numeric column can have many levels: past maxLevels a column is
// dropped from the check and a note says so, which bounds the memory.
type saTME struct {
	names     []string
	target    int
	cats      []int
	catIsNum  []bool
	nums      []int
	strLevels []map[string]*saLevel
	numLevels []map[float64]*saLevel
	dropped   []bool
	maxLevels int
	notes     []string
}

type saLevel struct {
	yN   int64
	ySum float64
	f    []saMoments // by position in nums
}

// saMoments is Welford's running mean and sum of squared deviations.
type saMoments struct {
	n    int64
	mean float64
	m2   float64
}

func (m *saMoments) add(x float64) {
	m.n++
	d := x - m.mean
	m.mean += d / float64(m.n)
	m.m2 += d * (x - m.mean)
}

func newSATME(src *saSource, st *saPass1Stats, p *saPlan, budget int64) *saTME {
	t := &saTME{names: src.columns, target: p.target}
	for _, j := range p.features {
		c := &st.cols[j]
		nu := c.nunique()
		if !p.numeric[j] || nu <= 20 {
			t.cats = append(t.cats, j)
			t.catIsNum = append(t.catIsNum, p.numeric[j])
		}
		if p.numeric[j] && nu > 2 {
			t.nums = append(t.nums, j)
		}
	}
	t.strLevels = make([]map[string]*saLevel, len(t.cats))
	t.numLevels = make([]map[float64]*saLevel, len(t.cats))
	for i := range t.cats {
		t.strLevels[i] = map[string]*saLevel{}
		t.numLevels[i] = map[float64]*saLevel{}
	}
	t.dropped = make([]bool, len(t.cats))
	cost := int64(96 + 24*len(t.nums))
	t.maxLevels = int(max(budget/(max(int64(len(t.cats)), 1)*cost), saDistinctCap))
	return t
}

// add accounts one row; vals holds the parsed numeric features.
func (t *saTME) add(row []string, vals []float64) {
	if len(t.nums) == 0 {
		return
	}
	y, ok, _ := saFloat(row[t.target])
	if !ok {
		y = math.NaN()
	}
	for i, c := range t.cats {
		if t.dropped[i] {
			continue
		}
		raw := row[c]
		if saNA(raw) {
			continue
		}
		var lvl *saLevel
		var n int
		if t.catIsNum[i] {
			k := vals[c]
			if k == 0 {
				k = 0
			}
			lvl, n = t.numLevels[i][k], len(t.numLevels[i])
			if lvl == nil && n < t.maxLevels {
				lvl = &saLevel{f: make([]saMoments, len(t.nums))}
				t.numLevels[i][k] = lvl
			}
		} else {
			lvl, n = t.strLevels[i][raw], len(t.strLevels[i])
			if lvl == nil && n < t.maxLevels {
				lvl = &saLevel{f: make([]saMoments, len(t.nums))}
				t.strLevels[i][raw] = lvl
			}
		}
		if lvl == nil {
			t.dropped[i] = true
			t.strLevels[i], t.numLevels[i] = nil, nil
			t.notes = append(t.notes, fmt.Sprintf("%s has more than %d levels; it was not checked as the category of a target encoding", t.names[c], t.maxLevels))
			continue
		}
		if !math.IsNaN(y) {
			lvl.yN++
			lvl.ySum += y
		}
		for k, f := range t.nums {
			if f != c && !math.IsNaN(vals[f]) {
				lvl.f[k].add(vals[f])
			}
		}
	}
}

// suspects returns one row per suspect feature, with the first category
// column that explains it.
func (t *saTME) suspects(rtol float64) []SplitRow {
	var out []SplitRow
	for k, f := range t.nums {
		for i, c := range t.cats {
			if c == f || t.dropped[i] {
				continue
			}
			var levels []*saLevel
			for _, l := range t.strLevels[i] {
				levels = append(levels, l)
			}
			for _, l := range t.numLevels[i] {
				levels = append(levels, l)
			}
			constant, match := 0, true
			for _, l := range levels {
				m := l.f[k]
				if m.n == 0 || !(math.Sqrt(m.m2/float64(m.n)) < 1e-9) || math.IsInf(m.mean, 0) || math.IsNaN(m.mean) {
					continue
				}
				constant++
				ymean := math.NaN()
				if l.yN > 0 {
					ymean = l.ySum / float64(l.yN)
				}
				if !(math.Abs(m.mean-ymean) <= 1e-6+rtol*math.Abs(ymean)) {
					match = false
				}
			}
			if constant >= 2 && match {
				out = append(out, SplitRow{Check: CheckTargetEncoding, Severity: SplitHigh,
					Columns: []string{t.names[f], t.names[c]},
					Detail: fmt.Sprintf("%s is constant within %d levels of %s and equals the mean of %s at each (rtol %g): a target mean encoding computed over all splits, test rows included",
						t.names[f], constant, t.names[c], t.names[t.target], rtol)})
				break
			}
		}
	}
	return out
}
