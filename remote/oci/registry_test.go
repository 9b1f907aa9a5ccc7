package oci

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// testRegistry is a distribution/distribution registry process on
// 127.0.0.1, storing blobs under a temporary directory, that a test can
// kill and start again.
type testRegistry struct {
	t    testing.TB
	bin  string
	dir  string // filesystem storage root
	conf string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// toolPath finds a test tool: the environment variable env, else
// bin/tools/NAME in the repository root. It returns "" when neither
// exists.
func toolPath(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); strings.HasPrefix(string(b), "module github.com/rigor-dev/rigor\n") {
				p := filepath.Join(dir, "bin", "tools", name)
				if _, err := os.Stat(p); err == nil {
					return p
				}
				return ""
			}
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// startRegistry starts a registry for the test, or skips the test when
// the registry binary has not been built ('make tools').
func startRegistry(t testing.TB) *testRegistry {
	t.Helper()
	return startRegistryWith(t, "")
}

// startRegistryWith is startRegistry with extra top-level sections
// appended to the registry's YAML configuration (auth, say).
func startRegistryWith(t testing.TB, extra string) *testRegistry {
	t.Helper()
	bin := toolPath(t, "RIGOR_TEST_REGISTRY_BIN", "registry")
	if bin == "" {
		t.Skip("no registry binary: run 'make tools' (builds bin/tools/registry) or set RIGOR_TEST_REGISTRY_BIN")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	r := &testRegistry{t: t, bin: bin, dir: filepath.Join(dir, "data"), conf: filepath.Join(dir, "config.yml"), addr: addr}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
%s`, r.dir, addr, extra)
	if err := os.WriteFile(r.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// start runs the registry and waits until it answers.
func (r *testRegistry) start() {
	r.t.Helper()
	cmd := exec.Command(r.bin, "serve", r.conf)
	logf, err := os.Create(filepath.Join(filepath.Dir(r.conf), "registry.log"))
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	logf.Close()
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			// 401: a registry with auth configured answers, but not
			// to an anonymous client.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(r.conf), "registry.log"))
			r.t.Fatalf("registry exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("registry on %s did not answer: %v", r.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the registry with SIGKILL, as a crash would.
func (r *testRegistry) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// blobData is where the registry's filesystem driver keeps a blob.
func (r *testRegistry) blobData(d digest.Digest) string {
	return filepath.Join(r.dir, "docker", "registry", "v2", "blobs", d.Algorithm().String(), d.Encoded()[:2], d.Encoded(), "data")
}
