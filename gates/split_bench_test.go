package gates

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeBenchCSV writes a split CSV of about size bytes: a fold column
// (80% train), a user id (1% of test users also in train), five float
// features, a city, a label; one test row in a thousand copies the features
// of an earlier train row. It returns the number of data rows.
func writeBenchCSV(path string, size int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(42, 7))
	w.WriteString("fold,user_id,f1,f2,f3,f4,f5,city,label\n")
	var written, rows int64
	var last []byte
	buf := make([]byte, 0, 256)
	for written < size {
		train := rng.IntN(5) != 0
		user := rows
		if !train && rng.IntN(100) == 0 {
			user = rng.Int64N(rows + 1)
		}
		buf = buf[:0]
		if train {
			buf = append(buf, "train,"...)
		} else {
			buf = append(buf, "test,"...)
		}
		buf = append(buf, 'u')
		buf = strconv.AppendInt(buf, user, 10)
		buf = append(buf, ',')
		start := len(buf)
		if !train && last != nil && rng.IntN(1000) == 0 {
			buf = append(buf, last...)
		} else {
			for i := 0; i < 5; i++ {
				buf = strconv.AppendFloat(buf, rng.NormFloat64()*float64(i+1), 'f', 6, 64)
				buf = append(buf, ',')
			}
			buf = append(buf, "city"...)
			buf = strconv.AppendInt(buf, int64(rng.IntN(50)), 10)
			buf = append(buf, ',')
		}
		if train {
			last = append(last[:0], buf[start:]...)
		}
		buf = strconv.AppendInt(buf, int64(rng.IntN(2)), 10)
		buf = append(buf, '\n')
		n, err := w.Write(buf)
		if err != nil {
			f.Close()
			return 0, err
		}
		written += int64(n)
		rows++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return rows, f.Close()
}

// TestSplitAuditHelperProcess is not a test: BenchmarkSplitAudit runs the
// test binary with RIGOR_SPLIT_AUDIT_CSV set, so that it can measure the
// audit's peak resident memory from the child's rusage.
func TestSplitAuditHelperProcess(t *testing.T) {
	path := os.Getenv("RIGOR_SPLIT_AUDIT_CSV")
	if path == "" {
		t.Skip("helper process for BenchmarkSplitAudit")
	}
	var budget int64
	if v := os.Getenv("RIGOR_SPLIT_AUDIT_BUDGET"); v != "" {
		budget, _ = strconv.ParseInt(v, 10, 64)
	}
	debug.SetMemoryLimit(SplitMemoryLimit(budget)) // as rigor gate split does
	a, err := AuditSplit(t.Context(), SplitSpec{CSV: path, SplitCol: "fold", GroupCol: "user_id", Target: "label"},
		SplitOptions{TempDir: os.Getenv("RIGOR_SPLIT_AUDIT_TMP"), MemoryBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(a)
	fmt.Println("AUDIT " + string(b))
}

// TestGenerateSplitCSV writes the benchmark CSV for the command-line
// benchmark in BENCHMARKS.md when RIGOR_SPLIT_GEN is "PATH:MEGABYTES".
func TestGenerateSplitCSV(t *testing.T) {
	spec := os.Getenv("RIGOR_SPLIT_GEN")
	if spec == "" {
		t.Skip("set RIGOR_SPLIT_GEN=PATH:MEGABYTES to write the benchmark CSV")
	}
	path, mb, _ := strings.Cut(spec, ":")
	n, err := strconv.ParseInt(mb, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := writeBenchCSV(path, n<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d rows", path, rows)
}

// BenchmarkSplitAudit audits a generated CSV of RIGOR_SPLIT_BENCH_MB
// megabytes (default 32) in a child process and reports rows/s and MB/s
// of wall time, rows per CPU second, and the child's peak RSS.
// RIGOR_SPLIT_BENCH_BUDGET sets the memory budget in bytes (default 128 MiB). The 1 GB figure in BENCHMARKS.md is
// RIGOR_SPLIT_BENCH_MB=1024 go test ./gates -run '^$' -bench SplitAudit -benchtime 1x.
func BenchmarkSplitAudit(b *testing.B) {
	mb := int64(32)
	if v := os.Getenv("RIGOR_SPLIT_BENCH_MB"); v != "" {
		var err error
		if mb, err = strconv.ParseInt(v, 10, 64); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.csv")
	rows, err := writeBenchCSV(path, mb<<20)
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.ResetTimer()
	var wall, cpu time.Duration
	var peak int64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSplitAuditHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RIGOR_SPLIT_AUDIT_CSV="+path, "RIGOR_SPLIT_AUDIT_TMP="+dir,
			"RIGOR_SPLIT_AUDIT_BUDGET="+os.Getenv("RIGOR_SPLIT_BENCH_BUDGET"))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("audit: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "AUDIT ") {
			b.Fatalf("no audit result:\n%s", out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss*1024) // Linux reports KiB
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	sec := wall.Seconds() / float64(b.N)
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(fi.Size())/(1<<20)/sec, "MB/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)/(cpu.Seconds()/float64(b.N)), "rows/cpu-s")
}
