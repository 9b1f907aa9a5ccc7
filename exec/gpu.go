package exec

import (
	"bufio"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// gpuSampler samples nvidia-smi in loop mode while a run executes: one
// process reports utilisation and memory per device, another the compute
// processes, whose pids are matched against the run's process group.
type gpuSampler struct {
	interval    time.Duration
	unavailable string
	procs       []*osexec.Cmd
	wg          sync.WaitGroup

	mu          sync.Mutex
	samples     int
	devices     int
	busy        float64 // device-milliseconds at 100 % utilisation
	sampleMem   int64   // memory of the sample being read
	maxMem      int64
	seenBuckets map[int64]bool // interval buckets with one of our processes
	start       time.Time
}

// startGPUSampler starts sampling for the process group pgid, finding
// nvidia-smi in path. It never fails: when nvidia-smi is missing or does
// not start, stop reports why.
func startGPUSampler(pgid int, path string, interval time.Duration) *gpuSampler {
	g := &gpuSampler{interval: interval, seenBuckets: map[int64]bool{}, start: time.Now()}
	smi, ok := lookPathIn("nvidia-smi", path)
	if !ok {
		g.unavailable = spec.UnavailableReason("nvidia-smi not found")
		return g
	}
	ms := strconv.FormatInt(interval.Milliseconds(), 10)
	devQuery := osexec.Command(smi, "--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits", "-lms", ms)
	appQuery := osexec.Command(smi, "--query-compute-apps=pid", "--format=csv,noheader", "-lms", ms)
	for i, c := range []*osexec.Cmd{devQuery, appQuery} {
		out, err := c.StdoutPipe()
		if err != nil {
			g.unavailable = spec.UnavailableReason("nvidia-smi: " + err.Error())
			break
		}
		if err := c.Start(); err != nil {
			g.unavailable = spec.UnavailableReason("nvidia-smi: " + err.Error())
			break
		}
		g.procs = append(g.procs, c)
		g.wg.Add(1)
		go func(i int, r io.Reader) {
			defer g.wg.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				if i == 0 {
					g.deviceLine(sc.Text())
				} else {
					g.appLine(sc.Text(), pgid)
				}
			}
		}(i, out)
	}
	return g
}

// deviceLine reads "index, utilization %, memory MiB".
func (g *gpuSampler) deviceLine(line string) {
	f := strings.Split(line, ",")
	if len(f) != 3 {
		return
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
	util, err2 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
	mem, err3 := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return // "[N/A]" and friends
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if idx == 0 {
		g.samples++
		g.sampleMem = 0
	}
	g.devices = max(g.devices, idx+1)
	g.busy += util / 100 * float64(g.interval.Milliseconds())
	g.sampleMem += mem << 20
	g.maxMem = max(g.maxMem, g.sampleMem)
}

// appLine reads one compute process id and notes the current interval when
// it belongs to the run's process group.
func (g *gpuSampler) appLine(line string, pgid int) {
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || processGroup(pid) != pgid {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seenBuckets[int64(time.Since(g.start)/g.interval)] = true
}

// stop ends sampling and returns the totals.
func (g *gpuSampler) stop() spec.GPUUse {
	for _, c := range g.procs {
		c.Process.Signal(syscall.SIGTERM)
	}
	g.wg.Wait()
	for _, c := range g.procs {
		c.Wait()
	}
	if g.unavailable != "" {
		return spec.GPUUse{Unavailable: g.unavailable, IntervalMS: g.interval.Milliseconds()}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.samples == 0 {
		return spec.GPUUse{Unavailable: spec.UnavailableReason("nvidia-smi reported no device"), IntervalMS: g.interval.Milliseconds()}
	}
	return spec.GPUUse{
		Samples:            g.samples,
		IntervalMS:         g.interval.Milliseconds(),
		BusyMS:             int64(g.busy + 0.5),
		ProcessMS:          int64(len(g.seenBuckets)) * g.interval.Milliseconds(),
		MaxMemoryUsedBytes: g.maxMem,
		Devices:            g.devices,
	}
}

// processGroup returns the process group of pid from /proc, or -1.
func processGroup(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// "pid (comm) state ppid pgrp ..."; comm may hold spaces and ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return -1
	}
	pg, err := strconv.Atoi(f[2])
	if err != nil {
		return -1
	}
	return pg
}

// lookPathIn finds an executable called name in the directories of path
// (a PATH value), skipping relative directories. A name with a slash is
// not looked up.
func lookPathIn(name, path string) (string, bool) {
	if strings.ContainsRune(name, '/') {
		return "", false
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// envValue returns the value of name in an os.Environ-style list (the first
// occurrence), or "".
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
