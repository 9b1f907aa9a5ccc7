package exec

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// fSetPipeSz is F_SETPIPE_SZ from <fcntl.h>.
const fSetPipeSz = 1031

// growPipe asks for a 1 MiB pipe buffer, so a chatty child makes fewer,
// larger writes; the default 64 KiB is kept when the kernel refuses.
func growPipe(f *os.File) {
	syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, 1<<20)
}

// cgroupDir returns the directory of this process's memory cgroup and
// whether it is cgroup v2, or "" when none can be found. The child runs in
// the same cgroup.
func cgroupDir() (string, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	var v1, v2 string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case strings.Contains(","+parts[1]+",", ",memory,"):
			v1 = parts[2]
		}
	}
	// A container often mounts its own cgroup at the root of the hierarchy,
	// so try the full path first, then the mount root.
	try := func(base, rel, file string) string {
		for _, dir := range []string{filepath.Join(base, rel), base} {
			if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
				return dir
			}
		}
		return ""
	}
	if v1 != "" {
		if d := try("/sys/fs/cgroup/memory", v1, "memory.oom_control"); d != "" {
			return d, false
		}
	}
	if v2 != "" {
		if d := try("/sys/fs/cgroup", v2, "memory.events"); d != "" {
			return d, true
		}
	}
	return "", false
}

// readOOMKills returns the oom_kill counter of the memory cgroup (cgroup v2
// memory.events, or v1 memory.oom_control) and the file it came from; nil
// and the reason when it cannot be read.
func readOOMKills() (*int64, string) {
	dir, v2 := cgroupDir()
	if dir == "" {
		return nil, "UNAVAILABLE: no memory cgroup found"
	}
	file := filepath.Join(dir, "memory.oom_control")
	if v2 {
		file = filepath.Join(dir, "memory.events")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "UNAVAILABLE: " + err.Error()
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "oom_kill" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return &n, file
			}
		}
	}
	return nil, "UNAVAILABLE: no oom_kill counter in " + file
}

// memoryLimit returns the memory cgroup's limit in bytes, nil when it is
// unlimited or unknown.
func memoryLimit() *int64 {
	dir, v2 := cgroupDir()
	if dir == "" {
		return nil
	}
	file := filepath.Join(dir, "memory.limit_in_bytes")
	if v2 {
		file = filepath.Join(dir, "memory.max")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	// cgroup v1 writes "unlimited" as a huge page-aligned number.
	if err != nil || n <= 0 || n >= 1<<62 {
		return nil
	}
	return &n
}
