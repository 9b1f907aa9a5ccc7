package ingest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

//go:embed probes/python_env.py
var pythonProbe string

// EnvOptions control [Ingester.ProbeEnv]. The zero value probes this machine
// for a run started from the working directory with the process
// environment.
type EnvOptions struct {
	// Python is the interpreter the run will use: a name looked up through
	// the PATH of Env, or a path. Empty means python3, then python.
	Python string
	// Dir is the project directory: the Python probe runs there and lock
	// files are looked for there. Empty means the working directory.
	Dir string
	// Env is the environment of the run; nil means the process environment.
	// It is recorded through spec.RedactEnv with Allow.
	Env []string
	// Allow is the environment allow-list; nil means spec.DefaultEnvAllow.
	Allow []string
	// Tool identifies rigor; the zero value reads the build information of
	// the running binary.
	Tool spec.ToolInfo
	// Hostname overrides os.Hostname (tests use it for stable records).
	Hostname string
	// Timeout bounds each probe process; ≤0 means 2 minutes.
	Timeout time.Duration
	// Rehash is passed on when lock files are stored, and makes the Python
	// probe run even when Cache holds an answer (which it then refreshes).
	Rehash bool
	// Cache, when set, keeps the Python section of the record in the index
	// PythonProbeIndex, so that no interpreter starts while nothing it
	// depends on changed: the interpreter (its path and stat, the
	// environment variables and version files that select it), and the stat
	// of every sys.path entry and site directory with every *.dist-info,
	// *.egg-info, *.egg, *.egg-link and *.pth entry in it. Any doubt runs
	// the probe. The record is the same either way.
	Cache cas.Indexer
}

// EnvSnapshot is the result of [Ingester.ProbeEnv].
type EnvSnapshot struct {
	Record spec.EnvRecord
	Digest digest.Digest // the stored record
}

// LockFilePatterns are the dependency lock and manifest files that
// ProbeEnv records, matched in the project directory.
var LockFilePatterns = []string{
	"uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock", "requirements*.txt",
	"environment.yml", "environment.yaml", "conda-lock.yml", "pyproject.toml",
}

// ProbeEnv records the environment a run will execute in: OS and kernel, CPU
// model, flags and cores, memory, GPUs (through nvidia-smi), CUDA and cuDNN
// versions, the Python interpreter and its installed distributions (one run
// of an embedded probe script), the lock files of the project, the
// allow-listed environment variables (credentials redacted), locale, time
// zone and rigor's own build. The processes it starts are found through
// the PATH of opts.Env, each bounded by opts.Timeout. A fact that cannot be
// collected is recorded as "UNAVAILABLE: <reason>"; ProbeEnv fails only on a
// store error or a cancelled ctx.
func (in *Ingester) ProbeEnv(ctx context.Context, opts EnvOptions) (EnvSnapshot, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	env := environ(opts.Env)
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	rec := spec.EnvRecord{
		Schema: spec.SchemaEnvironment,
		OS:     probeOS(opts.Hostname),
		CPU:    probeCPU(),
		Memory: probeMemory(),
		Env:    spec.RedactEnv(env, opts.Allow),
		Locale: locale(env),
		Rigor:  opts.Tool,
	}
	rec.TimeZone = timeZone(env)
	if rec.Rigor == (spec.ToolInfo{}) {
		rec.Rigor = BuildInfo()
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rec.Python = probePython(ctx, opts, dir, env)
	}()
	go func() {
		defer wg.Done()
		rec.GPU = probeGPU(ctx, env, opts.Timeout)
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return EnvSnapshot{}, err
	}
	rec.GPU.CUDNN = probeCUDNN(env, rec.Python.Distributions)
	locks, err := in.lockFiles(ctx, dir, opts.Rehash)
	if err != nil {
		return EnvSnapshot{}, err
	}
	rec.LockFiles = locks
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return EnvSnapshot{}, err
	}
	return EnvSnapshot{Record: rec, Digest: info.Digest}, nil
}

// BuildInfo describes the running rigor binary from its embedded build
// information.
func BuildInfo() spec.ToolInfo {
	t := spec.ToolInfo{Version: "(unknown)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return t
	}
	if bi.Main.Version != "" {
		t.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			t.Revision = s.Value
		case "vcs.modified":
			t.Modified = s.Value == "true"
		}
	}
	return t
}

func unavailable(format string, args ...any) string {
	return spec.UnavailableReason(fmt.Sprintf(format, args...))
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func probeOS(hostname string) spec.OSInfo {
	o := spec.OSInfo{Name: runtime.GOOS, Arch: runtime.GOARCH, Hostname: hostname}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if runtime.GOOS != "linux" {
		o.Unavailable = unavailable("kernel and distribution are only probed on linux")
		return o
	}
	o.Kernel = readTrim("/proc/sys/kernel/osrelease")
	o.KernelVersion = readTrim("/proc/sys/kernel/version")
	o.Distribution = osRelease(readTrim("/etc/os-release"))
	return o
}

// osRelease returns PRETTY_NAME (else NAME VERSION) of an os-release file.
func osRelease(text string) string {
	vals := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			vals[k] = strings.Trim(v, `"'`)
		}
	}
	if p := vals["PRETTY_NAME"]; p != "" {
		return p
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION"])
}

func probeCPU() spec.CPUInfo {
	c := spec.CPUInfo{Usable: runtime.NumCPU()}
	if runtime.GOOS != "linux" {
		c.Unavailable = unavailable("CPU details are only probed on linux")
		return c
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		c.Unavailable = unavailable("%v", err)
		return c
	}
	defer f.Close()
	return parseCPUInfo(f, c)
}

// parseCPUInfo reads /proc/cpuinfo: the model and flags of the first
// processor and the number of processors.
func parseCPUInfo(r io.Reader, c spec.CPUInfo) spec.CPUInfo {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			c.Cores++
		case "model name", "Model", "cpu model", "Processor":
			if c.Model == "" {
				c.Model = v
			}
		case "flags", "Features":
			if c.Flags == nil {
				c.Flags = strings.Fields(v)
				slices.Sort(c.Flags)
				c.Flags = slices.Compact(c.Flags)
			}
		}
	}
	return c
}

func probeMemory() spec.MemoryInfo {
	if runtime.GOOS != "linux" {
		return spec.MemoryInfo{Unavailable: unavailable("memory is only probed on linux")}
	}
	text := readTrim("/proc/meminfo")
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return spec.MemoryInfo{TotalBytes: kb << 10}
				}
			}
		}
	}
	return spec.MemoryInfo{Unavailable: unavailable("no MemTotal in /proc/meminfo")}
}

func locale(env []string) string {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(env, k); v != "" {
			return v
		}
	}
	return "C"
}

func timeZone(env []string) string {
	if tz := getenv(env, "TZ"); tz != "" {
		return tz
	}
	if runtime.GOOS == "windows" {
		return unavailable("time zone is not probed on windows")
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, zone, ok := strings.Cut(target, "zoneinfo/"); ok && zone != "" {
			return zone
		}
	}
	if tz := readTrim("/etc/timezone"); tz != "" {
		return tz
	}
	if _, err := os.Stat("/etc/localtime"); errors.Is(err, os.ErrNotExist) {
		return "UTC" // the C library's default without /etc/localtime
	}
	return unavailable("/etc/localtime names no zone")
}

// pythonOutput is what probes/python_env.py prints.
type pythonOutput struct {
	Executable     string              `json:"executable"`
	Version        string              `json:"version"`
	SysVersion     string              `json:"sys_version"`
	Implementation string              `json:"implementation"`
	Platform       string              `json:"platform"`
	Prefix         string              `json:"prefix"`
	Metadata       bool                `json:"metadata"`
	Distributions  []spec.Distribution `json:"distributions"`
	// Path and Site are where distributions were and could be looked for.
	Path []string `json:"path"`
	Site []string `json:"site"`
}

// probePython runs the probe script with the interpreter of opts (else
// python3, else python), unless opts.Cache holds a still valid answer.
func probePython(ctx context.Context, opts EnvOptions, dir string, env []string) spec.PythonInfo {
	candidates := []string{opts.Python}
	if opts.Python == "" {
		candidates = []string{"python3", "python"}
	}
	var key string
	if opts.Cache != nil {
		for _, name := range candidates {
			if key = pythonCacheKey(name, dir, env); key != "" {
				break
			}
		}
	}
	if key != "" && !opts.Rehash {
		if info, ok := cachedPython(ctx, opts.Cache, key, dir); ok {
			return info
		}
	}
	// Anything changed after this (less the coarseness of file system
	// clocks) may or may not be in the answer, which is then not cached.
	start := time.Now().Add(-10 * time.Millisecond)
	info, po := runPythonProbe(ctx, candidates, dir, env, opts.Timeout)
	if key != "" && info.Unavailable == "" {
		if checks, ok := pythonChecks(po, dir, start); ok {
			savePython(ctx, opts.Cache, key, checks, info)
		}
	}
	return info
}

func runPythonProbe(ctx context.Context, candidates []string, dir string, env []string, timeout time.Duration) (spec.PythonInfo, pythonOutput) {
	var err error
	var out []byte
	for _, name := range candidates {
		c := command{dir: dir, env: env, timeout: timeout}
		if out, err = c.run(ctx, name, "-c", pythonProbe); !errors.Is(err, errNotInstalled) {
			break
		}
	}
	var po pythonOutput
	if err != nil {
		return spec.PythonInfo{Unavailable: unavailable("%v", err)}, po
	}
	if err := json.Unmarshal(out, &po); err != nil {
		return spec.PythonInfo{Unavailable: unavailable("python probe printed no JSON: %v", err)}, po
	}
	info := spec.PythonInfo{
		Executable: po.Executable, Version: po.Version, SysVersion: po.SysVersion,
		Implementation: po.Implementation, Platform: po.Platform, Prefix: po.Prefix,
	}
	if info.Version == "" || info.Implementation == "" {
		return spec.PythonInfo{Unavailable: unavailable("python probe printed no version")}, po
	}
	var dists []spec.Distribution
	for _, d := range po.Distributions {
		if strings.TrimSpace(d.Name) != "" {
			dists = append(dists, d)
		}
	}
	slices.SortFunc(dists, spec.CompareDistributions)
	info.Distributions = slices.Compact(dists)
	return info, po
}

// nvidiaQuery is the nvidia-smi query of one line per GPU.
var nvidiaQuery = []string{"--query-gpu=name,driver_version,memory.total,uuid", "--format=csv,noheader"}

var cudaVersionRE = regexp.MustCompile(`CUDA Version:\s*([0-9][0-9.]*)`)

func probeGPU(ctx context.Context, env []string, timeout time.Duration) spec.GPUInfo {
	c := command{env: env, timeout: timeout}
	out, err := c.run(ctx, "nvidia-smi", nvidiaQuery...)
	if err != nil {
		reason := unavailable("%v", err)
		return spec.GPUInfo{Unavailable: reason, CUDA: probeNVCC(ctx, env, timeout, reason)}
	}
	devs, err := parseNvidiaSMI(out)
	if err != nil {
		reason := unavailable("%v", err)
		return spec.GPUInfo{Unavailable: reason, CUDA: probeNVCC(ctx, env, timeout, reason)}
	}
	g := spec.GPUInfo{Devices: devs}
	header, err := c.run(ctx, "nvidia-smi")
	switch {
	case err != nil:
		g.CUDA = probeNVCC(ctx, env, timeout, unavailable("%v", err))
	default:
		if m := cudaVersionRE.FindSubmatch(header); m != nil {
			g.CUDA = string(m[1])
		} else {
			g.CUDA = probeNVCC(ctx, env, timeout, unavailable("nvidia-smi reports no CUDA version"))
		}
	}
	return g
}

// parseNvidiaSMI parses the CSV lines of nvidiaQuery.
func parseNvidiaSMI(out []byte) ([]spec.GPU, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = 4
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi output does not parse: %v", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("nvidia-smi lists no GPU")
	}
	var devs []spec.GPU
	for i, f := range recs {
		g := spec.GPU{Index: i, Name: strings.TrimSpace(f[0]), Driver: strings.TrimSpace(f[1]),
			Memory: strings.TrimSpace(f[2]), UUID: strings.TrimSpace(f[3])}
		g.MemoryBytes = parseMemory(g.Memory)
		if g.Name == "" {
			return nil, fmt.Errorf("nvidia-smi line %d has no GPU name", i+1)
		}
		devs = append(devs, g)
	}
	return devs, nil
}

// parseMemory converts "81559 MiB" to bytes; 0 when it cannot.
func parseMemory(s string) int64 {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	switch f[1] {
	case "MiB":
		return n << 20
	case "GiB":
		return n << 30
	case "KiB":
		return n << 10
	}
	return 0
}

var nvccRE = regexp.MustCompile(`release ([0-9][0-9.]*)`)

// probeNVCC asks the CUDA compiler for the toolkit version, returning
// fallback when there is none.
func probeNVCC(ctx context.Context, env []string, timeout time.Duration, fallback string) string {
	out, err := command{env: env, timeout: timeout}.run(ctx, "nvcc", "--version")
	if err != nil {
		return fallback
	}
	if m := nvccRE.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return fallback
}

var cudnnDefineRE = regexp.MustCompile(`(?m)^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL)\s+(\d+)`)

// probeCUDNN reads the cuDNN version from its header, else from an
// nvidia-cudnn-* Python distribution.
func probeCUDNN(env []string, dists []spec.Distribution) string {
	var dirs []string
	for _, k := range []string{"CUDNN_HOME", "CUDNN_PATH", "CUDA_HOME", "CUDA_PATH"} {
		if v := getenv(env, k); v != "" {
			dirs = append(dirs, filepath.Join(v, "include"))
		}
	}
	dirs = append(dirs, "/usr/include", "/usr/local/cuda/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu")
	for _, d := range dirs {
		for _, h := range []string{"cudnn_version.h", "cudnn.h"} {
			b, err := os.ReadFile(filepath.Join(d, h))
			if err != nil {
				continue
			}
			parts := map[string]string{}
			for _, m := range cudnnDefineRE.FindAllSubmatch(b, -1) {
				parts[string(m[1])] = string(m[2])
			}
			if parts["MAJOR"] != "" && parts["MINOR"] != "" && parts["PATCHLEVEL"] != "" {
				return parts["MAJOR"] + "." + parts["MINOR"] + "." + parts["PATCHLEVEL"]
			}
		}
	}
	for _, d := range dists {
		if n := strings.ToLower(d.Name); strings.HasPrefix(n, "nvidia-cudnn") {
			return d.Version
		}
	}
	return unavailable("no cuDNN header and no nvidia-cudnn distribution found")
}

// lockFiles stores the lock and manifest files in dir.
func (in *Ingester) lockFiles(ctx context.Context, dir string, rehash bool) ([]spec.LockFile, error) {
	var names []string
	for _, pat := range LockFilePatterns {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		names = append(names, m...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var out []spec.LockFile
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		res, err := in.AddPath(ctx, p, AddOptions{SHA256: true, Rehash: rehash})
		if err != nil {
			return nil, err
		}
		out = append(out, spec.LockFile{Path: filepath.Base(p), Object: spec.Object{
			Digest: res.Info.Digest, Size: res.Info.Size, SHA256: res.Files[0].SHA256,
		}})
	}
	return out, nil
}
