package exec

// Hardening (issue 10): the program's output directory disappears, turns
// into a file, or turns read-only while the program runs. rigor records
// the run (failed, or completed without outputs) with a note saying what
// happened, never crashes, and the store stays clean.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/faults"
)

func TestOutputDirFaults(t *testing.T) {
	tests := []struct {
		name     string
		userOut  bool // --out DIR rather than the spool's
		script   string
		status   string
		wantNote string
	}{
		{"default out removed", false, `echo 1 > "$RIGOR_OUT/predictions.csv"; rm -rf "$RIGOR_OUT"`, "completed", "was gone when the program ended"},
		{"user out removed", true, `echo 1 > "$RIGOR_OUT/predictions.csv"; rm -rf "$RIGOR_OUT"; exit 3`, "failed", "was gone when the program ended"},
		{"out replaced by a file", true, `rm -rf "$RIGOR_OUT"; echo x > "$RIGOR_OUT"`, "completed", "was not a directory"},
		{"out removed, then writing fails", false, `rm -rf "$RIGOR_OUT"; echo 1 > "$RIGOR_OUT/predictions.csv"`, "failed", "was gone when the program ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProject(t)
			opts := p.options("sh", "-c", tt.script)
			if tt.userOut {
				opts.OutDir = filepath.Join(t.TempDir(), "out")
			}
			res := p.run(opts)
			m, _ := p.check(res.Root)
			if m.Status != tt.status {
				t.Errorf("status %s, want %s", m.Status, tt.status)
			}
			if m.Completion.Status == "PASS" {
				t.Errorf("completion PASS without outputs")
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", res.Notes, tt.wantNote)
			}
			s, err := p.open(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep, err := s.Fsck(t.Context(), cas.FsckOptions{})
			if err != nil || !rep.OK() {
				t.Errorf("fsck: %v %v", rep.Problems, err)
			}
		})
	}
}

// TestOutputDirTurnsReadOnly: RIGOR_OUT on a filesystem remounted
// read-only mid-run. The program's write fails, the run is recorded as
// failed with its stderr, and what it wrote before is kept.
func TestOutputDirTurnsReadOnly(t *testing.T) {
	mnt := t.TempDir()
	unmount, err := faults.MountTmpfs(mnt, 16<<20)
	if err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer unmount()
	p := newTestProject(t)
	ready, resume := filepath.Join(t.TempDir(), "ready"), filepath.Join(t.TempDir(), "resume")
	script := `echo early > "$RIGOR_OUT/early.txt"; touch ` + ready + `; while [ ! -e ` + resume + ` ]; do sleep 0.02; done; echo 1 > "$RIGOR_OUT/predictions.csv"`
	opts := p.options("sh", "-c", script)
	opts.OutDir = filepath.Join(mnt, "out")
	go func() {
		for i := 0; i < 1500; i++ {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := faults.Remount(mnt, 16<<20, true); err != nil {
			t.Errorf("remount read-only: %v", err)
		}
		os.WriteFile(resume, nil, 0o644)
	}()
	res := p.run(opts)
	m, _ := p.check(res.Root)
	if m.Status != "failed" {
		t.Errorf("status %s, want failed", m.Status)
	}
	if got := p.file(res.Root, "stderr.log"); !strings.Contains(got, "Read-only file system") {
		t.Errorf("stderr.log = %q, want the program's write error", got)
	}
	if got := p.file(res.Root, "rigor/outputs/early.txt"); got != "early\n" {
		t.Errorf("output written before = %q", got)
	}
}
