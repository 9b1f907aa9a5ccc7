package gates

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// The labelled corpus in testdata/corpus: each entry is a .py file, a
// notebook, or a directory of files scanned together. One of its files
// carries the label in a comment (or a notebook's markdown cell):
//
//	# label: LEAK kind=preprocessing
//	# label: NO-LEAK
//	# label: SEEDED
//	# label: UNDER-SEEDED kind=missing.numpy_seed
//
// A LEAK entry counts as found only if the leakage report has a finding of
// its kind; an UNDER-SEEDED entry only if the seed report has a finding of
// rule seed.<kind> at severity major or above. NO-LEAK entries must have no
// leakage finding at all, SEEDED entries no seed finding at major or above.

var labelRe = regexp.MustCompile(`label:\s*(LEAK|NO-LEAK|SEEDED|UNDER-SEEDED)(?:\s+kind=([A-Za-z0-9_.\-]+))?`)

type corpusEntry struct {
	name  string
	path  string
	label string
	kind  string
}

func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	dir := filepath.Join("testdata", "corpus")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	for _, e := range ents {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".py") && !strings.HasSuffix(e.Name(), ".ipynb") {
			continue // README.md
		}
		p := filepath.Join(dir, e.Name())
		files := []string{p}
		if e.IsDir() {
			sub, err := os.ReadDir(p)
			if err != nil {
				t.Fatal(err)
			}
			files = nil
			for _, s := range sub {
				files = append(files, filepath.Join(p, s.Name()))
			}
		}
		ce := corpusEntry{name: e.Name(), path: p}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if m := labelRe.FindStringSubmatch(string(b)); m != nil {
				if ce.label != "" {
					t.Fatalf("%s: more than one label", ce.name)
				}
				ce.label, ce.kind = m[1], m[2]
			}
		}
		if ce.label == "" {
			t.Fatalf("%s: no label", ce.name)
		}
		if (ce.label == "LEAK" || ce.label == "UNDER-SEEDED") && ce.kind == "" {
			t.Fatalf("%s: %s needs a kind", ce.name, ce.label)
		}
		out = append(out, ce)
	}
	return out
}

type confusion struct{ tp, fp, fn, tn int }

func (c confusion) precision() float64 {
	if c.tp+c.fp == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fp)
}

func (c confusion) recall() float64 {
	if c.tp+c.fn == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fn)
}

// TestCorpus scans every corpus entry and checks precision and recall of
// the leakage and seeding analyses against the labels.
func TestCorpus(t *testing.T) {
	entries := readCorpus(t)
	var leak, seed confusion
	kinds := map[string]bool{}
	var misses []string
	for _, ce := range entries {
		srcs, err := Load(t.Context(), []string{ce.path})
		if err != nil {
			t.Fatal(err)
		}
		switch ce.label {
		case "LEAK", "NO-LEAK":
			res := mustScan(t, Leakage, srcs)
			var found []string
			for _, f := range res.Findings {
				if strings.HasPrefix(f.Rule, "leakage.") {
					found = append(found, f.Kind)
				}
			}
			switch {
			case ce.label == "LEAK" && slices.Contains(found, ce.kind):
				leak.tp++
				kinds["leak:"+ce.kind] = true
			case ce.label == "LEAK":
				leak.fn++
				misses = append(misses, fmt.Sprintf("missed  %s (%s), found %v:\n%s", ce.name, ce.kind, found, describe(res.Findings)))
			case len(found) > 0:
				leak.fp++
				misses = append(misses, fmt.Sprintf("false+  %s:\n%s", ce.name, describe(res.Findings)))
			default:
				leak.tn++
			}
		case "SEEDED", "UNDER-SEEDED":
			res := mustScan(t, Seeds, srcs)
			var found []string
			for _, f := range res.Findings {
				if strings.HasPrefix(f.Rule, "seed.") && f.Severity.Rank() >= spec.SeverityMajor.Rank() {
					found = append(found, strings.TrimPrefix(f.Rule, "seed."))
				}
			}
			switch {
			case ce.label == "UNDER-SEEDED" && slices.Contains(found, ce.kind):
				seed.tp++
				kinds["seed:"+ce.kind] = true
			case ce.label == "UNDER-SEEDED":
				seed.fn++
				misses = append(misses, fmt.Sprintf("missed  %s (%s), found %v:\n%s", ce.name, ce.kind, found, describe(res.Findings)))
			case len(found) > 0:
				seed.fp++
				misses = append(misses, fmt.Sprintf("false+  %s:\n%s", ce.name, describe(res.Findings)))
			default:
				seed.tn++
			}
		}
	}
	for _, m := range misses {
		t.Log(m)
	}
	t.Logf("corpus: %d programs", len(entries))
	report := func(name string, c confusion) string {
		return fmt.Sprintf("%-8s precision %.3f recall %.3f (tp %d, fp %d, fn %d, tn %d)", name, c.precision(), c.recall(), c.tp, c.fp, c.fn, c.tn)
	}
	fmt.Println(report("leakage", leak))
	fmt.Println(report("seeding", seed))
	t.Log(report("leakage", leak))
	t.Log(report("seeding", seed))
	if len(entries) < 60 {
		t.Errorf("corpus has %d programs, want at least 60", len(entries))
	}
	for _, k := range []string{"leak:preprocessing", "leak:overlap", "leak:test-in-training", "leak:group", "leak:time"} {
		if !kinds[k] {
			t.Errorf("no correctly found LEAK entry of kind %s", strings.TrimPrefix(k, "leak:"))
		}
	}
	if leak.precision() < 0.95 || leak.recall() < 0.90 {
		t.Errorf("leakage below target: %s", report("leakage", leak))
	}
	if seed.precision() < 0.95 || seed.recall() < 0.90 {
		t.Errorf("seeding below target: %s", report("seeding", seed))
	}
}
