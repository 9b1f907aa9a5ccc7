package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// realPython returns the path of the machine's python3 interpreter itself
// (not a shim), or skips the test.
func realPython(t *testing.T) string {
	t.Helper()
	out, err := osexec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skipf("python3 is not available: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// binDir makes a directory holding links to the given programs, to serve
// as the whole PATH of a probe.
func binDir(t *testing.T, progs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, target := range progs {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nvidiaStandIn writes an nvidia-smi that prints the recorded output of a
// real one (testdata/nvidia-smi), or fails like one without a driver.
func nvidiaStandIn(t *testing.T, dir string, broken bool) {
	t.Helper()
	fix, err := filepath.Abs("testdata/nvidia-smi")
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncase \"$*\" in\n*--query-gpu=*) /bin/cat '" + fix + "/query.csv' ;;\n*) /bin/cat '" + fix + "/header.txt' ;;\nesac\n"
	if broken {
		script = "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\"\nexit 9\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func probeEnv(t *testing.T, opts EnvOptions) EnvSnapshot {
	t.Helper()
	s := newTestStore(t)
	if opts.Tool == (spec.ToolInfo{}) {
		opts.Tool = spec.ToolInfo{Version: "v0.0.0-test"}
	}
	snap, err := New(s, Options{}).ProbeEnv(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	b := readBlob(t, s, snap.Digest)
	if _, err := spec.DecodeEnvRecord(b); err != nil {
		t.Fatalf("stored record does not decode: %v\n%s", err, b)
	}
	return snap
}

func TestProbeEnvPython(t *testing.T) {
	py := realPython(t)
	bin := binDir(t, map[string]string{"python3": py})
	snap := probeEnv(t, EnvOptions{Env: []string{"PATH=" + bin}, Dir: t.TempDir()})
	got := snap.Record.Python
	if got.Unavailable != "" {
		t.Fatalf("python: %s", got.Unavailable)
	}
	ver, _ := osexec.Command(py, "-c", "import platform; print(platform.python_version())").Output()
	if got.Version != strings.TrimSpace(string(ver)) || got.Implementation != "cpython" {
		t.Errorf("python %s %s, want cpython %s", got.Implementation, got.Version, ver)
	}
	// The same distributions as an independent listing.
	list, err := osexec.Command(py, "-c", `import importlib.metadata as m
for n, v in sorted({(d.metadata["Name"], d.version) for d in m.distributions() if d.metadata["Name"]}):
    print(n + "==" + v)`).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want, have []string
	for _, l := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if l != "" {
			want = append(want, strings.ToLower(l))
		}
	}
	for _, d := range got.Distributions {
		have = append(have, strings.ToLower(d.Name+"=="+d.Version))
	}
	slices.Sort(want)
	slices.Sort(have)
	if len(want) == 0 || !slices.Equal(have, want) {
		t.Errorf("distributions:\n%v\nwant:\n%v", have, want)
	}
	r := snap.Record
	if r.OS.Name == "" || r.CPU.Usable < 1 || r.Rigor.Version != "v0.0.0-test" {
		t.Errorf("os %+v cpu %+v rigor %+v", r.OS, r.CPU, r.Rigor)
	}
	if r.OS.Name == "linux" && (r.CPU.Cores < 1 || r.CPU.Model == "" || r.Memory.TotalBytes <= 0 || r.OS.Kernel == "") {
		t.Errorf("linux facts missing: os %+v cpu %s/%d memory %+v", r.OS, r.CPU.Model, r.CPU.Cores, r.Memory)
	}
}

func TestProbeEnvGPU(t *testing.T) {
	py := realPython(t)
	tests := []struct {
		name       string
		standIn    bool
		broken     bool
		wantDevs   int
		wantGPU    string // prefix of gpu.unavailable
		wantCUDA   string
		wantCUDAUn bool
	}{
		{name: "absent", wantGPU: "UNAVAILABLE: nvidia-smi not found on PATH", wantCUDAUn: true},
		{name: "no driver", standIn: true, broken: true, wantGPU: "UNAVAILABLE: nvidia-smi exited with status 9: NVIDIA-SMI has failed", wantCUDAUn: true},
		{name: "two H100s", standIn: true, wantDevs: 2, wantCUDA: "12.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := binDir(t, map[string]string{"python3": py})
			if tt.standIn {
				nvidiaStandIn(t, bin, tt.broken)
			}
			g := probeEnv(t, EnvOptions{Env: []string{"PATH=" + bin}, Dir: t.TempDir()}).Record.GPU
			if !strings.HasPrefix(g.Unavailable, tt.wantGPU) || (tt.wantGPU == "") != (g.Unavailable == "") {
				t.Errorf("gpu.unavailable = %q, want prefix %q", g.Unavailable, tt.wantGPU)
			}
			if len(g.Devices) != tt.wantDevs {
				t.Fatalf("devices = %+v, want %d", g.Devices, tt.wantDevs)
			}
			if tt.wantCUDAUn != spec.IsUnavailable(g.CUDA) || (!tt.wantCUDAUn && g.CUDA != tt.wantCUDA) {
				t.Errorf("cuda = %q, want %q (unavailable: %v)", g.CUDA, tt.wantCUDA, tt.wantCUDAUn)
			}
			if !spec.IsUnavailable(g.CUDNN) {
				t.Errorf("cudnn = %q, want UNAVAILABLE on this machine", g.CUDNN)
			}
			if tt.wantDevs == 2 {
				want := spec.GPU{Index: 1, Name: "NVIDIA H100 80GB HBM3", Driver: "535.129.03", Memory: "81559 MiB",
					MemoryBytes: 81559 << 20, UUID: "GPU-a81f09d2-5b3c-e6a7-41d8-92c0f3b7e4d1"}
				if g.Devices[1] != want {
					t.Errorf("device 1 = %+v\nwant %+v", g.Devices[1], want)
				}
			}
		})
	}
}

func TestProbeEnvNoPython(t *testing.T) {
	snap := probeEnv(t, EnvOptions{Env: []string{"PATH=" + t.TempDir()}, Dir: t.TempDir()})
	if got := snap.Record.Python.Unavailable; got != "UNAVAILABLE: python not found on PATH" {
		t.Errorf("python.unavailable = %q", got)
	}
	snap = probeEnv(t, EnvOptions{Env: []string{"PATH=" + t.TempDir()}, Dir: t.TempDir(), Python: "/no/such/python"})
	if got := snap.Record.Python.Unavailable; !strings.HasPrefix(got, "UNAVAILABLE: ") {
		t.Errorf("python.unavailable = %q", got)
	}
}

func TestProbeEnvVariablesAndLockFiles(t *testing.T) {
	proj := t.TempDir()
	writeFiles(t, proj, map[string]string{
		"uv.lock": "version = 1\n", "requirements-dev.txt": "pytest==8.0\n", "pyproject.toml": "[project]\nname='x'\n",
		"README.md": "not a lock file", "requirements/base.txt": "not at the top",
	})
	env := []string{
		"PATH=" + t.TempDir(), "OMP_NUM_THREADS=4", "MKL_NUM_THREADS=2", "CUDA_VISIBLE_DEVICES=0,1",
		"TZ=Europe/Paris", "LANG=en_US.UTF-8", "LC_ALL=C.UTF-8", "EDITOR=vim", "GITHUB_TOKEN=ghp_notreallyatokenbutlongenough0123456789",
	}
	r := probeEnv(t, EnvOptions{Env: env, Dir: proj, Hostname: "host-a"}).Record
	got := map[string]spec.EnvVar{}
	for _, v := range r.Env {
		got[v.Name] = v
	}
	for _, name := range []string{"OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "TZ", "LANG", "LC_ALL"} {
		if v, ok := got[name]; !ok || v.Redacted || "="+v.Value != strings.TrimPrefix(env[slices.IndexFunc(env, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })], name) {
			t.Errorf("%s = %+v, want its value recorded", name, v)
		}
	}
	if _, ok := got["EDITOR"]; ok {
		t.Error("EDITOR is not allow-listed but was recorded")
	}
	if v := got["GITHUB_TOKEN"]; !v.Redacted || v.Value != spec.Redacted {
		t.Errorf("GITHUB_TOKEN = %+v, want redacted", v)
	}
	if r.TimeZone != "Europe/Paris" || r.Locale != "C.UTF-8" || r.OS.Hostname != "host-a" {
		t.Errorf("time zone %q locale %q host %q", r.TimeZone, r.Locale, r.OS.Hostname)
	}
	var paths []string
	for _, l := range r.LockFiles {
		paths = append(paths, l.Path)
		b, _ := os.ReadFile(filepath.Join(proj, l.Path))
		sum := sha256.Sum256(b)
		if l.SHA256 != hex.EncodeToString(sum[:]) || l.Size != int64(len(b)) {
			t.Errorf("%s: sha256 %s size %d", l.Path, l.SHA256, l.Size)
		}
	}
	if got, want := strings.Join(paths, " "), "pyproject.toml requirements-dev.txt uv.lock"; got != want {
		t.Errorf("lock files = %s, want %s", got, want)
	}
}

func TestParseNvidiaSMIErrors(t *testing.T) {
	for _, in := range []string{"", "NVIDIA H100, 535.1\n", "\"unterminated, a, b, c\n", ", 535.1, 1 MiB, GPU-x\n"} {
		if _, err := parseNvidiaSMI([]byte(in)); err == nil {
			t.Errorf("parseNvidiaSMI(%q) accepted bad output", in)
		}
	}
	for in, want := range map[string]int64{"81559 MiB": 81559 << 20, "16 GiB": 16 << 30, "[N/A]": 0, "12 MB": 0} {
		if got := parseMemory(in); got != want {
			t.Errorf("parseMemory(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseCPUInfo(t *testing.T) {
	in := "processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\nflags\t\t: sse2 avx2 fpu avx2\n\nprocessor\t: 1\nmodel name\t: Example CPU @ 2.00GHz\nflags\t\t: sse2 avx2 fpu\n"
	c := parseCPUInfo(strings.NewReader(in), spec.CPUInfo{})
	if c.Cores != 2 || c.Model != "Example CPU @ 2.00GHz" || strings.Join(c.Flags, ",") != "avx2,fpu,sse2" {
		t.Errorf("parseCPUInfo = %+v", c)
	}
	if got := osRelease("NAME=\"Debian GNU/Linux\"\nVERSION=\"12 (bookworm)\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("osRelease = %q", got)
	}
}
