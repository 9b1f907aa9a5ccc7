package main

// Hardening (issue 10): 16 processes at once run, verify and list runs
// against one store, in a loop for a bounded time (30 s here, 5 minutes
// under RIGOR_SOAK=1, RIGOR_LOAD_TIME overrides). Every command must
// succeed (the store lock makes them take turns; none may time out),
// every recorded run must have its own attempt, and the store must fsck
// clean at the end.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("16 processes for 30 s: not in -short")
	}
	dur := 30 * time.Second
	if soak() {
		dur = 5 * time.Minute
	}
	if v := os.Getenv("RIGOR_LOAD_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		dur = d
	}
	const workers = 16
	c := newCLI(t)
	proj := t.TempDir()
	c.must(proj, "init", "-q")
	writeRandom(t, filepath.Join(proj, "data.bin"), 1<<20, 3)
	prog := `head -c 100000 data.bin | od -An -tx1 | head -n 200; echo "id,p" > "$RIGOR_OUT/predictions.csv"; echo "1,$RIGOR_SEED" >> "$RIGOR_OUT/predictions.csv"; echo '{"loss": 0.5}' > "$RIGOR_OUT/raw_metrics.jsonl"`
	// One run first, so verify and runs have something from the start.
	c.must(proj, "run", "-q", "--row", "LOAD", "--seed", "0", "--input", "data=data.bin@v1", "--", "sh", "-c", prog)

	type stat struct {
		n     int
		worst time.Duration
		total time.Duration
	}
	var mu sync.Mutex
	stats := map[string]*stat{}
	var failures []string
	runsOK := 1
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; time.Now().Before(deadline); k++ {
				var op string
				var args []string
				switch (w + k) % 4 {
				case 0, 1: // half the load records runs; four seeds, so attempts race
					op = "run"
					args = []string{"run", "-q", "--row", "LOAD", "--seed", fmt.Sprint(w % 4), "--input", "data=data.bin@v1", "--", "sh", "-c", prog}
				case 2:
					op = "verify"
					args = []string{"verify", "-q", "--all"}
				case 3:
					op = "runs"
					args = []string{"runs", "--row", "LOAD"}
				}
				start := time.Now()
				out, errOut, err := c.run(proj, args...)
				took := time.Since(start)
				mu.Lock()
				s := stats[op]
				if s == nil {
					s = &stat{}
					stats[op] = s
				}
				s.n++
				s.total += took
				s.worst = max(s.worst, took)
				if err != nil {
					failures = append(failures, fmt.Sprintf("worker %d: rigor %s: %v\n%s%s", w, strings.Join(args[:2], " "), err, out, errOut))
				} else if op == "run" {
					runsOK++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	ops := 0
	for _, op := range []string{"run", "verify", "runs"} {
		if s := stats[op]; s != nil {
			ops += s.n
			t.Logf("%-6s %5d commands, mean %v, worst %v", op, s.n, (s.total / time.Duration(s.n)).Round(time.Millisecond), s.worst.Round(time.Millisecond))
		}
	}
	t.Logf("load: %d processes for %v: %d commands, %d failed", workers, dur, ops, len(failures))

	// Every run recorded once, with an attempt of its own.
	var list []struct {
		RunID   string `json:"run_id"`
		Attempt int    `json:"attempt"`
		Seed    struct {
			Value int64 `json:"value"`
		} `json:"seed"`
	}
	out := c.must(proj, "--json", "runs", "--row", "LOAD")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("runs --json: %v", err)
	}
	if len(list) != runsOK {
		t.Errorf("%d runs listed, %d rigor run commands succeeded", len(list), runsOK)
	}
	seen := map[string]bool{}
	perSeed := map[int64][]int{}
	for _, r := range list {
		if seen[r.RunID] {
			t.Errorf("run %s listed twice", r.RunID)
		}
		seen[r.RunID] = true
		perSeed[r.Seed.Value] = append(perSeed[r.Seed.Value], r.Attempt)
	}
	for seed, atts := range perSeed {
		slices.Sort(atts)
		for i := 1; i < len(atts); i++ {
			if atts[i] == atts[i-1] {
				t.Errorf("seed %d: attempt %d recorded twice", seed, atts[i])
			}
		}
	}
	fsck := c.must(proj, "fsck")
	if !strings.Contains(fsck, ": 0 problems") {
		t.Errorf("fsck after load: %s", fsck)
	}
	c.must(proj, "verify", "-q", "--all", "--deep")
}
