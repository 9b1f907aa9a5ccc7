package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeTerminal is a writer that newProgress takes for a terminal, so that
// a test can read what a progress bar draws.
type fakeTerminal struct{ bytes.Buffer }

func (*fakeTerminal) terminal() bool { return true }

// take returns what was drawn since the last call, and forgets it.
func (f *fakeTerminal) take() string {
	s := f.String()
	f.Reset()
	return s
}

// rateRE matches the transfer rate a bar ends with: bytes or items per
// second, which depend on the clock.
const rateRE = `(\d+ B|\d+\.\d [KMGTPE]iB)/s   `

// age makes p look as if it had started d ago and had never drawn, so that
// its next set draws.
func age(p *progress, d time.Duration) {
	p.mu.Lock()
	p.start = time.Now().Add(-d)
	p.last = time.Time{}
	p.mu.Unlock()
}

// TestProgressDraws checks what a bar draws on a terminal: nothing in its
// first half second, then one line rewritten in place (label, bytes done,
// percentage and total once the total is known, rate), at most every
// 100 ms, and at the end a blank line that clears it.
func TestProgressDraws(t *testing.T) {
	t.Setenv("CI", "")
	term := &fakeTerminal{}
	g := &globalOptions{stderr: term}
	p := newProgress(g, "push origin", 0)
	if p == nil {
		t.Fatal("newProgress drew nothing on a terminal, outside CI, without -q or --json")
	}

	p.set(10)
	if s := term.take(); s != "" {
		t.Errorf("a bar drew %q in its first half second; want nothing", s)
	}

	age(p, 2*time.Second)
	p.set(3 << 10)
	if s := term.take(); !regexp.MustCompile(`^\rpush origin: 3\.0 KiB  ` + rateRE + `$`).MatchString(s) {
		t.Errorf("bytes without a total: drew %q, want \"\\rpush origin: 3.0 KiB  <rate>/s   \"", s)
	}

	// Within 100 ms of the last draw, nothing is redrawn.
	p.setWithTotal(1<<10, 4<<10)
	if s := term.take(); s != "" {
		t.Errorf("a bar redrew %q within 100 ms of its last draw", s)
	}

	age(p, 2*time.Second)
	p.setWithTotal(1<<10, 4<<10)
	if s := term.take(); !regexp.MustCompile(`^\rpush origin:  25\.0% 1\.0 KiB / 4\.0 KiB  ` + rateRE + `$`).MatchString(s) {
		t.Errorf("bytes with a total: drew %q, want \"\\rpush origin:  25.0%% 1.0 KiB / 4.0 KiB  <rate>/s   \"", s)
	}

	age(p, time.Second)
	p.setWithTotal(3<<29, 4<<30)
	if s := term.take(); !regexp.MustCompile(`^\rpush origin:  37\.5% 1\.5 GiB / 4\.0 GiB  ` + rateRE + `$`).MatchString(s) {
		t.Errorf("a total raised later: drew %q, want \"\\rpush origin:  37.5%% 1.5 GiB / 4.0 GiB  <rate>/s   \"", s)
	}

	// The last line drawn is wiped: a carriage return, blanks over it, and
	// the cursor back at the start of the line.
	p.done()
	if s, want := term.take(), "\r"+strings.Repeat(" ", 72)+"\r"; s != want {
		t.Errorf("done drew %q, want %q", s, want)
	}
}

// TestProgressCounts checks a bar that counts items: "label: done / total"
// and a rate in items per second.
func TestProgressCounts(t *testing.T) {
	t.Setenv("CI", "")
	term := &fakeTerminal{}
	p := newProgress(&globalOptions{stderr: term}, "fsck", 10).counting()
	if p == nil {
		t.Fatal("newProgress drew nothing on a terminal")
	}
	age(p, 2*time.Second)
	p.set(3)
	if s := term.take(); !regexp.MustCompile(`^\rfsck: 3 / 10  \d+/s   $`).MatchString(s) {
		t.Errorf("counting bar drew %q, want \"\\rfsck: 3 / 10  <rate>/s   \"", s)
	}
}

// TestProgressDoneWithoutDraw checks that a bar that never drew (an
// operation shorter than half a second) leaves the terminal untouched.
func TestProgressDoneWithoutDraw(t *testing.T) {
	t.Setenv("CI", "")
	term := &fakeTerminal{}
	p := newProgress(&globalOptions{stderr: term}, "add data.csv", 0)
	if p == nil {
		t.Fatal("newProgress drew nothing on a terminal")
	}
	p.set(1 << 20)
	p.done()
	if s := term.take(); s != "" {
		t.Errorf("a bar that finished in under half a second drew %q", s)
	}
}

// TestProgressSilent checks every case in which no bar is drawn: stderr
// not a terminal (a buffer, a regular file, a pipe), CI set, -q, --json.
// newProgress then returns nil, and every method of a nil bar does
// nothing.
func TestProgressSilent(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()

	// flags parses args as the root command's flags would be.
	flags := func(g *globalOptions, args ...string) *globalOptions {
		if err := newRootCmd(g).PersistentFlags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, tc := range []struct {
		name string
		ci   string
		g    func() (*globalOptions, func() string)
	}{
		{"buffer", "", func() (*globalOptions, func() string) {
			var b bytes.Buffer
			return &globalOptions{stderr: &b}, b.String
		}},
		{"regular file", "", func() (*globalOptions, func() string) {
			return &globalOptions{stderr: file}, func() string {
				b, err := os.ReadFile(file.Name())
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
		}},
		{"pipe", "", func() (*globalOptions, func() string) {
			return &globalOptions{stderr: pw}, func() string {
				pw.Close()
				b, err := io.ReadAll(pr)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
		}},
		{"CI", "true", func() (*globalOptions, func() string) {
			term := &fakeTerminal{}
			return &globalOptions{stderr: term}, term.String
		}},
		{"-q", "", func() (*globalOptions, func() string) {
			term := &fakeTerminal{}
			return flags(&globalOptions{stderr: term}, "-q"), term.String
		}},
		{"--quiet", "", func() (*globalOptions, func() string) {
			term := &fakeTerminal{}
			return flags(&globalOptions{stderr: term}, "--quiet"), term.String
		}},
		{"--json", "", func() (*globalOptions, func() string) {
			term := &fakeTerminal{}
			return flags(&globalOptions{stderr: term}, "--json"), term.String
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			g, drawn := tc.g()
			p := newProgress(g, "pull origin", 100)
			if p != nil {
				t.Fatalf("newProgress made a bar (%s)", tc.name)
			}
			// A nil bar is what callers hold here; every method must be a
			// no-op on it.
			p.counting().setWithTotal(50, 100)
			p.setTotal(200)
			p.set(150)
			p.done()
			if s := drawn(); s != "" {
				t.Errorf("drew %q (%s)", s, tc.name)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1024.0 KiB"},
		{1 << 20, "1.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{3 << 40, "3.0 TiB"},
	} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
