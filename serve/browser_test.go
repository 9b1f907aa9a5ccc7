package serve

import (
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rigor-dev/rigor/cas"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package, /usr/bin/chromium) through the pages, with chromedp. They skip
// when no Chromium is installed; RIGOR_CHROMIUM names another binary.
// Screenshots of every page are kept in $RIGOR_TEST_ARTIFACTS/serve-browser,
// or else in <temp dir>/rigor-serve-screenshots, and the path is logged.

func chromiumPath(t *testing.T) string {
	if p := os.Getenv("RIGOR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if p, err := osexec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium: install Debian's chromium package (apt-get install chromium) or set RIGOR_CHROMIUM to run the browser tests")
	return ""
}

// screenshotDir is where the screenshots are kept after the test.
func screenshotDir(t *testing.T) string {
	dir := filepath.Join(os.TempDir(), "rigor-serve-screenshots")
	if base := os.Getenv("RIGOR_TEST_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, "serve-browser")
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts headless Chromium for the test and returns a tab.
func newBrowser(t *testing.T) context.Context {
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "rigor-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		// Chromium's children may still write the profile for a moment.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// tab wraps a browser tab with steps that fail the test.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu      sync.Mutex
	dialogs []string
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript condition (a page that loads after a
// click); evaluation errors while a page navigates are retried.
func (b *tab) until(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	b.t.Fatalf("waiting for %s (%s) at %s: %v", what, cond, loc, lastErr)
}

func (b *tab) open(path, ready string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(ready)))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) shot(name string) {
	b.t.Helper()
	// A page that has just navigated (a followed link) can report a
	// layout of width 0 for a moment, which Chromium refuses to capture:
	// wait for the document to be laid out, and try again briefly.
	b.until("the page laid out before "+name, `document.readyState === 'complete' && document.documentElement.scrollWidth > 0`)
	var png []byte
	var err error
	for try := 0; try < 5; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) rows() int {
	b.t.Helper()
	return eval[int](b, `document.querySelectorAll('#runs-table tbody tr[data-run]').length`)
}

// TestBrowser walks the pages in headless Chromium: the runs table and
// its filters, a run, the compare page of a same-seed pair and of two
// seeds, a lineage graph (clicked through), a run whose output is markup,
// a log search, a gate report, and a download checked against its digest.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test starts Chromium; not in -short mode")
	}
	ctx := newBrowser(t)
	f := newRealFixture(t)
	srv := New(OpenDir(f.store, 0), Options{})
	ts := newTestServer(t, srv)
	b := &tab{t: t, ctx: ctx, base: ts.URL, shots: screenshotDir(t)}

	// Any alert, confirm or prompt means markup from the store ran.
	dialogCtx, stopDialogs := context.WithCancel(ctx)
	defer stopDialogs()
	dialogs := chromedp.Events(dialogCtx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	// The runs table.
	b.open("/", "#runs-table")
	if n := b.rows(); n != 7 {
		t.Fatalf("the runs table shows %d runs, want 7", n)
	}
	b.shot("01-runs")

	// Filter by row, then by seed.
	b.do("filter by row", chromedp.SendKeys(chromedp.CSS(`#filters input[name=row]`), "EXP-01"), chromedp.Click(chromedp.CSS("#filter-button")))
	b.until("the row filter", `location.search.includes('row=EXP-01') && document.querySelectorAll('#runs-table tbody tr[data-run]').length === 3`)
	b.do("filter by seed", chromedp.SendKeys(chromedp.CSS(`#filters input[name=seed]`), "1"), chromedp.Click(chromedp.CSS("#filter-button")))
	b.until("the seed filter", `location.search.includes('seed=1') && document.querySelectorAll('#runs-table tbody tr[data-run]').length === 2`)
	if got := b.text("#runs-count"); got != "2 of 7" {
		t.Errorf("runs count %q, want 2 of 7", got)
	}
	b.shot("02-runs-filtered")
	// A status select applies at once (app.js).
	eval[bool](b, `(() => { const s = document.querySelector('#filters select[name=status]'); s.value = 'failed'; s.dispatchEvent(new Event('change')); return true })()`)
	b.until("the status filter", `location.search.includes('status=failed') && document.querySelector('#runs-table tbody .empty') !== null`)
	// Sort by a column header.
	b.open("/?row=EXP-01", "#runs-table")
	b.do("sort by seed", chromedp.Click(chromedp.CSS(`#runs-table thead a[data-col=seed]`)))
	b.do("sort by seed, descending", chromedp.WaitVisible(chromedp.CSS(`#runs-table`)), chromedp.Click(chromedp.CSS(`#runs-table thead a[data-col=seed]`)))
	b.until("descending seeds", `location.search.includes('order=desc') && document.querySelector('#runs-table tbody tr[data-run]').dataset.run === 'EXP-01__seed-2__attempt-1'`)

	// Compare the same-seed pair: pick both, then Compare selected.
	b.open("/?row=EXP-01&seed=1", "#runs-table")
	b.do("pick the pair",
		chromedp.Click(chromedp.CSS(`input.pick[value="`+f.pairA.RunID+`"]`)),
		chromedp.Click(chromedp.CSS(`input.pick[value="`+f.pairB.RunID+`"]`)),
		chromedp.WaitEnabled(chromedp.CSS("#compare-selected")),
		chromedp.Click(chromedp.CSS("#compare-selected")))
	b.until("the compare page", `location.pathname === '/compare' && document.querySelector('#verdict') !== null`)
	if v := b.text("#verdict"); v != "within_tolerance" {
		t.Errorf("same-seed pair verdict %q, want within_tolerance", v)
	}
	if got := b.text("#same-seed-exact"); got != "false" {
		t.Errorf("same_seed_exact %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#outputs .rowdiff tbody tr').length`); n != 1 {
		t.Errorf("%d differing prediction rows shown, want 1", n)
	}
	if !strings.Contains(b.text("#outputs .rowdiff"), "✓ within") {
		t.Errorf("the differing row is not marked within tolerance: %q", b.text("#outputs .rowdiff"))
	}
	b.shot("03-compare-same-seed")

	// Open a run.
	b.open("/?row=EXP-01", "#runs-table")
	b.do("open the run", chromedp.Click(chromedp.CSS(`#runs-table a[href="/runs/`+f.pairA.RunID+`"]`)))
	b.until("the run page", `document.querySelector('#run-id') !== null && document.querySelector('#run-id').textContent === '`+f.pairA.RunID+`'`)
	if got := b.text("#run-status"); got != "completed" {
		t.Errorf("status %q", got)
	}
	if got := b.text("#run-completion"); got != "PASS" {
		t.Errorf("completion %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#metrics svg polyline').length`); n != 2 {
		t.Errorf("%d metric plots, want 2 (acc, loss)", n)
	}
	if n := eval[int](b, `document.querySelectorAll('#metrics-table tbody tr').length`); n != 5 {
		t.Errorf("%d metric rows, want 5 folds", n)
	}
	if !strings.Contains(b.text("#code-diff"), "+# tuned by hand") {
		t.Errorf("the dirty diff is not shown")
	}
	if n := eval[int](b, `document.querySelectorAll('#inputs code.digest').length`); n != 2 {
		t.Errorf("the input shows %d digests, want 2 (blake3 and sha256)", n)
	}
	b.shot("04-run")

	// Download an artifact and check its digest.
	downloads, err := os.MkdirTemp("", "rigor-downloads-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(downloads)
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	want := eval[string](b, `document.querySelector('#artifacts tr[data-artifact=predictions] a.download').dataset.digest`)
	dlCtx, stopDL := context.WithTimeout(ctx, 60*time.Second)
	defer stopDL()
	progress := chromedp.BrowserEvents(dlCtx, browser.DownloadProgress)
	b.do("download predictions", chromedp.Click(chromedp.CSS(`#artifacts tr[data-artifact=predictions] a.download`)))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(downloads, ev.GUID)
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := cas.FromBytes(data).String(); got != want || !strings.HasPrefix(string(data), "id,p\n") {
		t.Errorf("the downloaded file hashes to %s, want %s", got, want)
	}

	// Compare two seeds, from the run's related runs.
	b.do("compare with seed 2", chromedp.Click(chromedp.CSS(`#related a.compare-link[href*="seed-2"]`)))
	b.until("the compare page", `location.pathname === '/compare' && document.querySelector('#verdict') !== null`)
	if got := b.text("#compare-mode"); !strings.Contains(got, "diff") {
		t.Errorf("two seeds compared as %q", got)
	}
	if got := b.text("#identity-diffs"); !strings.Contains(got, "seed") {
		t.Errorf("identity differences do not name the seed: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#fold-deltas .mark.bad').length`); n == 0 {
		t.Errorf("no per-fold metric is marked outside the tolerance")
	}
	b.shot("05-compare-two-seeds")

	// Lineage: from the chain's second run to the input it read, then
	// click through the graph to the run that produced it.
	b.open("/runs/"+f.chain1.RunID, "#inputs")
	b.do("open the input's lineage", chromedp.Click(chromedp.CSS(`#inputs a[href^="/lineage/"]`)))
	b.until("the lineage graph", `document.querySelector('#lineage-graph') !== null`)
	// chain0 → content → chain1 → its predictions → chain2.
	if n := eval[int](b, `document.querySelectorAll('#lineage-graph a.node').length`); n != 5 {
		t.Errorf("the graph has %d nodes, want 5: three runs and two contents", n)
	}
	if n := eval[int](b, `document.querySelectorAll('#lineage-graph path.edge').length`); n != 4 {
		t.Errorf("the graph has %d edges, want 4", n)
	}
	b.shot("06-lineage")
	b.do("click the producer", chromedp.Click(chromedp.CSS(`#lineage-graph a.node.run[data-id="`+f.chain0.RunID+`"] rect`)))
	b.until("the producer's page", `document.querySelector('#run-id') !== null && document.querySelector('#run-id').textContent === '`+f.chain0.RunID+`'`)

	// A run whose output and file names are markup: shown as text.
	b.open("/runs/"+f.xss.RunID, "#logs")
	if got := b.text("#tail-stdout"); !strings.Contains(got, `<script>alert("pwned")</script>`) {
		t.Errorf("the stdout tail does not show the markup as text: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('script').length`); n != 1 {
		t.Errorf("the page has %d script elements, want 1 (app.js)", n)
	}
	if n := eval[int](b, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("the page has %d img elements from the run's output", n)
	}
	if !strings.Contains(b.text("#files"), "<img src=x onerror=alert(2)>.txt") {
		t.Errorf("the file named with markup is not listed as text")
	}
	b.shot("07-run-hostile-output")
	b.open("/runs/"+f.xss.RunID+"/logs/stderr", "#log-lines")
	b.shot("08-log-hostile")

	// Search a log.
	b.open("/runs/"+f.pairA.RunID+"/logs/stdout", "#log-lines")
	b.do("search the log", chromedp.SendKeys(chromedp.CSS("#log-q"), "DATA"), chromedp.Submit(chromedp.CSS("#log-q")))
	b.until("the search result", `location.search.includes('q=DATA')`)
	if got := b.text("#log-summary"); !strings.HasPrefix(got, "1 line contains") {
		t.Errorf("log search summary %q", got)
	}
	b.shot("09-log-search")

	// A gate report, its location linked to the run's code at the line.
	b.open("/runs/"+f.pairA.RunID, "#findings")
	b.do("open the report", chromedp.Click(chromedp.CSS(`#findings a[href^="/findings/"]`)))
	b.until("the report", `document.querySelector('#report-verdict') !== null`)
	b.shot("10-findings")
	b.do("follow the location", chromedp.Click(chromedp.CSS(`td.loc a`)))
	b.until("the code at the line", `location.hash === '#L8' && document.querySelector('#source') !== null`)
	b.shot("11-code-at-line")

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		t.Errorf("markup from the store ran: dialogs %q", b.dialogs)
	}
}

func ptrTo[T any](v T) *T { return &v }
