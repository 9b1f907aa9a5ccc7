package serve

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// runIndex is every run summary of the store, read once per session.
type runIndex struct {
	all  []spec.RunSummary // in row, seed, attempt order
	rows []string          // distinct rows, sorted
}

// runIndex returns the session's run index. The first call of a session
// scans the store's runs index and decodes only the entries that changed
// since the last session (see runCache).
func (sess *session) runIndex(ctx context.Context) (*runIndex, error) {
	sess.runsMu.Lock()
	defer sess.runsMu.Unlock()
	if sess.runs != nil {
		return sess.runs, nil
	}
	ix, err := sess.cache.load(ctx, sess.st)
	if err != nil {
		return nil, err
	}
	sess.runs = ix
	return ix, nil
}

// runCache keeps the decoded runs index between sessions. Decoding and
// validating 10,000 summaries takes about 400 ms; scanning their stored
// bytes about 50 ms. Each session scans the index (the store may have
// changed while it was closed) and decodes only the entries whose bytes
// differ from what the cache holds, so the result is exactly what
// verify.ListRuns would return, at the cost of the scan.
type runCache struct {
	mu      sync.Mutex
	entries map[string]cachedRun // by run id
	last    *runIndex            // built from entries
}

type cachedRun struct {
	raw []byte // the stored value
	sum spec.RunSummary
}

// decodeParallel: above this many entries to decode, decode on every core.
const decodeParallel = 512

func (c *runCache) load(ctx context.Context, idx cas.Indexer) (*runIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	type pending struct {
		key string
		raw []byte
		sum *spec.RunSummary
		err error
	}
	var fresh []*pending
	next := make(map[string]cachedRun, len(c.entries))
	err := idx.ScanIndex(ctx, spec.RunsIndex, nil, func(k, v []byte) error {
		if e, ok := c.entries[string(k)]; ok && bytes.Equal(e.raw, v) {
			next[string(k)] = e
			return nil
		}
		fresh = append(fresh, &pending{key: string(k), raw: bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(fresh) == 0 && len(next) == len(c.entries) && c.last != nil {
		return c.last, nil
	}
	decode := func(p *pending) { p.sum, p.err = spec.DecodeRunSummary(p.raw) }
	if len(fresh) < decodeParallel {
		for _, p := range fresh {
			decode(p)
		}
	} else {
		var wg sync.WaitGroup
		work := make(chan *pending)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for p := range work {
					decode(p)
				}
			})
		}
		for _, p := range fresh {
			work <- p
		}
		close(work)
		wg.Wait()
	}
	for _, p := range fresh {
		if p.err != nil {
			return nil, fmt.Errorf("verify: runs index entry %s: %w", p.key, p.err)
		}
		next[p.key] = cachedRun{raw: p.raw, sum: *p.sum}
	}
	ix := &runIndex{all: make([]spec.RunSummary, 0, len(next))}
	for _, e := range next {
		ix.all = append(ix.all, e.sum)
	}
	// The order of verify.ListRuns.
	slices.SortFunc(ix.all, func(a, b spec.RunSummary) int {
		return cmp.Or(strings.Compare(a.Row, b.Row), cmp.Compare(a.Seed.Value, b.Seed.Value), cmp.Compare(a.Attempt, b.Attempt))
	})
	for i := range ix.all {
		if i == 0 || ix.all[i].Row != ix.all[i-1].Row {
			ix.rows = append(ix.rows, ix.all[i].Row)
		}
	}
	c.entries, c.last = next, ix
	return ix, nil
}

// RunsQuery selects, orders and pages the runs table. Its zero value
// lists every run in row, seed, attempt order.
type RunsQuery struct {
	Row        string `json:"row,omitempty"`        // exact matrix row
	Seed       *int64 `json:"seed,omitempty"`       // seed value
	Status     string `json:"status,omitempty"`     // completed, failed, aborted
	Completion string `json:"completion,omitempty"` // PASS, FAIL, NOT_EVALUATED
	Text       string `json:"q,omitempty"`          // substring of the run id, any case
	Sort       string `json:"sort"`                 // a column key
	Desc       bool   `json:"desc,omitempty"`
	Offset     int    `json:"offset"`
	Limit      int    `json:"limit"`
}

// column is one sortable column of the runs table.
type column struct {
	Key   string
	Label string
	cmp   func(a, b *spec.RunSummary) int
}

func optInt(p *int) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// columns are the runs table's columns, in display order.
var columns = []column{
	{"run", "Run", func(a, b *spec.RunSummary) int { return 0 }},
	{"row", "Row", func(a, b *spec.RunSummary) int { return strings.Compare(a.Row, b.Row) }},
	{"seed", "Seed", func(a, b *spec.RunSummary) int { return cmp.Compare(a.Seed.Value, b.Seed.Value) }},
	{"attempt", "Attempt", func(a, b *spec.RunSummary) int { return cmp.Compare(a.Attempt, b.Attempt) }},
	{"status", "Status", func(a, b *spec.RunSummary) int { return strings.Compare(a.Status, b.Status) }},
	{"termination", "Termination", func(a, b *spec.RunSummary) int { return strings.Compare(a.Termination, b.Termination) }},
	{"exit", "Exit", func(a, b *spec.RunSummary) int { return cmp.Compare(optInt(a.ExitCode), optInt(b.ExitCode)) }},
	{"completion", "Completion", func(a, b *spec.RunSummary) int { return strings.Compare(a.Completion, b.Completion) }},
	{"started", "Started", func(a, b *spec.RunSummary) int { return strings.Compare(a.StartedAt, b.StartedAt) }},
	{"duration", "Duration", func(a, b *spec.RunSummary) int { return cmp.Compare(a.DurationMS, b.DurationMS) }},
	{"root", "Root", func(a, b *spec.RunSummary) int { return strings.Compare(a.Root.String(), b.Root.String()) }},
}

func columnOf(key string) (column, bool) {
	for _, c := range columns {
		if c.Key == key {
			return c, true
		}
	}
	return column{}, false
}

// maxLimit bounds the runs one request returns.
const maxLimit = 10000

// parseRunsQuery reads a RunsQuery from URL parameters; a malformed one
// is an error wrapping [ErrBadRequest].
func parseRunsQuery(q url.Values, pageSize int) (RunsQuery, error) {
	rq := RunsQuery{Row: q.Get("row"), Status: q.Get("status"), Completion: q.Get("completion"), Text: q.Get("q"), Sort: q.Get("sort"), Limit: pageSize}
	bad := func(format string, args ...any) (RunsQuery, error) {
		return RunsQuery{}, fmt.Errorf(format+": %w", append(args, ErrBadRequest)...)
	}
	if s := strings.TrimSpace(q.Get("seed")); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad("seed %q is not an integer", s)
		}
		rq.Seed = &v
	}
	if rq.Status != "" && !slices.Contains(spec.RunStatuses, rq.Status) {
		return bad("status %q is not one of %s", rq.Status, strings.Join(spec.RunStatuses, ", "))
	}
	if rq.Completion != "" && !slices.Contains(spec.CompletionStatuses, rq.Completion) {
		return bad("completion %q is not one of %s", rq.Completion, strings.Join(spec.CompletionStatuses, ", "))
	}
	if rq.Sort == "" {
		rq.Sort = "run"
	}
	if _, ok := columnOf(rq.Sort); !ok {
		return bad("sort %q is not a column", rq.Sort)
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		rq.Desc = true
	default:
		return bad("order %q is not asc or desc", q.Get("order"))
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", &rq.Offset, 0, 1 << 30}, {"limit", &rq.Limit, 1, maxLimit}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < p.min || v > p.max {
			return bad("%s %q is not an integer from %d to %d", p.name, s, p.min, p.max)
		}
		*p.dst = v
	}
	return rq, nil
}

// values encodes the query as URL parameters, leaving defaults out.
func (q RunsQuery) values(pageSize int) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("row", q.Row)
	if q.Seed != nil {
		v.Set("seed", strconv.FormatInt(*q.Seed, 10))
	}
	set("status", q.Status)
	set("completion", q.Completion)
	set("q", q.Text)
	if q.Sort != "run" {
		set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit != pageSize {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func (q RunsQuery) url(pageSize int) string {
	if enc := q.values(pageSize).Encode(); enc != "" {
		return "/?" + enc
	}
	return "/"
}

func (q RunsQuery) keeps(r *spec.RunSummary) bool {
	return (q.Row == "" || r.Row == q.Row) &&
		(q.Seed == nil || r.Seed.Value == *q.Seed) &&
		(q.Status == "" || r.Status == q.Status) &&
		(q.Completion == "" || r.Completion == q.Completion) &&
		(q.Text == "" || containsFold(r.RunID, q.Text))
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// RunsView is the runs table: one page of the runs that pass the query.
type RunsView struct {
	Query RunsQuery `json:"query"`
	// Total counts the runs that pass the query; Stored every run.
	Total  int `json:"total"`
	Stored int `json:"stored"`
	// Runs is the page: Query.Limit runs from Query.Offset.
	Runs []spec.RunSummary `json:"runs"`
	// NextOffset is the offset of the next page; absent on the last.
	NextOffset *int `json:"next_offset,omitempty"`

	// For the page only.
	Rows        []string     `json:"-"`
	Headers     []headerView `json:"-"`
	Prev, Next  string       `json:"-"`
	Statuses    []string     `json:"-"`
	Completions []string     `json:"-"`
	SeedText    string       `json:"-"`
}

// headerView is a column header: its label and the URL that sorts by it.
type headerView struct {
	Key, Label, URL string
	Sorted, Desc    bool
}

func (s *Server) runsView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	q, err := parseRunsQuery(r.URL.Query(), s.opts.PageSize)
	if err != nil {
		return nil, err
	}
	ix, err := sess.runIndex(ctx)
	if err != nil {
		return nil, err
	}
	return buildRunsView(ix, q, s.opts.PageSize), nil
}

// buildRunsView filters, sorts and pages the index.
func buildRunsView(ix *runIndex, q RunsQuery, pageSize int) *RunsView {
	sel := make([]*spec.RunSummary, 0, len(ix.all))
	for i := range ix.all {
		if q.keeps(&ix.all[i]) {
			sel = append(sel, &ix.all[i])
		}
	}
	if q.Sort != "run" || q.Desc {
		c, _ := columnOf(q.Sort)
		// Stable on the index order (row, seed, attempt) for ties.
		slices.SortStableFunc(sel, func(a, b *spec.RunSummary) int {
			n := c.cmp(a, b)
			if q.Desc {
				return -n
			}
			return n
		})
		if q.Sort == "run" && q.Desc {
			slices.Reverse(sel)
		}
	}
	v := &RunsView{Query: q, Total: len(sel), Stored: len(ix.all), Rows: ix.rows,
		Statuses: spec.RunStatuses, Completions: spec.CompletionStatuses}
	lo := min(q.Offset, len(sel))
	hi := min(lo+q.Limit, len(sel))
	v.Runs = make([]spec.RunSummary, 0, hi-lo)
	for _, r := range sel[lo:hi] {
		v.Runs = append(v.Runs, *r)
	}
	if hi < len(sel) {
		n := hi
		v.NextOffset = &n
		nq := q
		nq.Offset = hi
		v.Next = nq.url(pageSize)
	}
	if lo > 0 {
		pq := q
		pq.Offset = max(0, lo-q.Limit)
		v.Prev = pq.url(pageSize)
	}
	if q.Seed != nil {
		v.SeedText = strconv.FormatInt(*q.Seed, 10)
	}
	for _, c := range columns {
		hq := q
		hq.Offset = 0
		hq.Sort, hq.Desc = c.Key, c.Key == q.Sort && !q.Desc
		v.Headers = append(v.Headers, headerView{Key: c.Key, Label: c.Label, URL: hq.url(pageSize), Sorted: c.Key == q.Sort, Desc: q.Desc})
	}
	return v
}
