package oci

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
)

// BenchmarkPushSharedInput pushes 10 runs that share one input (1 GiB;
// RIGOR_BENCH_INPUT_MB changes it) to a local distribution registry:
//
//	push        the first push to an empty repository: MB/s of unique
//	            content, and sent/unique, the bytes sent over the unique
//	            content of the 10 runs (goal: at most 1.05)
//	push-again  the same push again: nothing is sent (goal: under 1 s)
//	oras-push   oras push of the same files, one artifact per run, to an
//	            empty repository, for the throughput comparison
//
// go test ./remote/oci -run XXX -bench PushSharedInput -benchtime 1x -timeout 60m
func BenchmarkPushSharedInput(b *testing.B) {
	mb := 1024
	if s := os.Getenv("RIGOR_BENCH_INPUT_MB"); s != "" {
		var err error
		if mb, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	reg := startRegistry(b)
	dir := b.TempDir()
	input := filepath.Join(dir, "shared.bin")
	writeRandom(b, input, int64(mb)<<20)
	storeDir := filepath.Join(dir, ".rigor")
	s, err := cas.Init(b.Context(), storeDir, cas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	var roots []digest.Digest
	for seed := int64(1); seed <= 10; seed++ {
		res := recordRun(b, storeDir, "EXP-01", seed, input, "")
		roots = append(roots, res.Root)
	}
	s, err = cas.Open(b.Context(), storeDir, cas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	unique := uniqueBytes(b, s, roots)
	b.Logf("10 runs, unique content %d bytes (input %d MiB)", unique, mb)

	repo := 0
	b.Run("push", func(b *testing.B) {
		b.SetBytes(unique)
		var st remote.Stats
		for b.Loop() {
			repo++
			r := localRegistry(b, reg, fmt.Sprintf("bench/push-%d", repo))
			st, err = r.Push(b.Context(), s, nil, remote.Options{})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(st.BytesSent)/float64(unique), "sent/unique")
		b.ReportMetric(float64(st.BytesSent), "bytes-sent")
		b.ReportMetric(float64(unique), "bytes-unique")
		b.ReportMetric(float64(st.BytesHashed), "bytes-hashed")
	})
	b.Run("push-again", func(b *testing.B) {
		r := localRegistry(b, reg, fmt.Sprintf("bench/push-%d", repo))
		var st remote.Stats
		for b.Loop() {
			st, err = r.Push(b.Context(), s, nil, remote.Options{})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(st.BytesSent), "bytes-sent")
		b.ReportMetric(float64(st.BytesHashed), "bytes-hashed")
	})
	oras := toolPath(b, "RIGOR_TEST_ORAS_BIN", "oras")
	if oras == "" {
		b.Log("no oras binary: skipping oras-push")
		return
	}
	runDirs := materializeRuns(b, s, roots, input, filepath.Join(dir, "dirs"))
	b.Run("oras-push", func(b *testing.B) {
		b.SetBytes(unique)
		n := 0
		for b.Loop() {
			n++
			for i, rd := range runDirs {
				files := listFiles(b, rd)
				args := append([]string{"push", "--plain-http", "--disable-path-validation", fmt.Sprintf("%s/bench/oras-%d:run-%d", reg.addr, n, i)}, files...)
				cmd := exec.Command(oras, args...)
				cmd.Dir = rd
				cmd.Env = append(os.Environ(), "HOME="+b.TempDir())
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("oras push: %v\n%s", err, out)
				}
			}
		}
	})
}

// uniqueBytes adds up the sizes of the distinct objects of the runs.
func uniqueBytes(b *testing.B, s *cas.Store, roots []digest.Digest) int64 {
	cl := remote.NewClosure()
	for _, r := range roots {
		if err := cl.Add(b.Context(), s, r); err != nil {
			b.Fatal(err)
		}
	}
	var n int64
	for _, o := range cl.Objects {
		n += o.Size
	}
	return n
}

// materializeRuns writes each run's directory under dir (the shared input
// hard-linked, not copied) for oras to push.
func materializeRuns(b *testing.B, s *cas.Store, roots []digest.Digest, input, dir string) []string {
	inputDigest, _, err := cas.FromReader(mustOpen(b, input))
	if err != nil {
		b.Fatal(err)
	}
	var dirs []string
	for i, root := range roots {
		rd := filepath.Join(dir, strconv.Itoa(i))
		err := s.Walk(b.Context(), root, func(p string, e cas.Entry) error {
			target := filepath.Join(rd, filepath.FromSlash(p))
			if e.Mode == cas.ModeTree {
				return os.MkdirAll(target, 0o755)
			}
			if e.Digest == inputDigest {
				return os.Link(input, target)
			}
			rc, err := s.Open(b.Context(), e.Digest)
			if err != nil {
				return err
			}
			defer rc.Close()
			f, err := os.Create(target)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, rc); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
		if err != nil {
			b.Fatal(err)
		}
		dirs = append(dirs, rd)
	}
	return dirs
}

func listFiles(b *testing.B, dir string) []string {
	var files []string
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, rel)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

func writeRandom(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := newXorshift(uint64(time.Now().UnixNano()))
	buf := make([]byte, 1<<20)
	for n > 0 {
		rng.fill(buf)
		k := min(int64(len(buf)), n)
		if _, err := f.Write(buf[:k]); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
}

type xorshift struct{ s uint64 }

func newXorshift(seed uint64) *xorshift { return &xorshift{s: seed | 1} }

func (x *xorshift) fill(p []byte) {
	for i := 0; i+8 <= len(p); i += 8 {
		x.s ^= x.s << 13
		x.s ^= x.s >> 7
		x.s ^= x.s << 17
		v := x.s
		for j := range 8 {
			p[i+j] = byte(v >> (8 * j))
		}
	}
}
