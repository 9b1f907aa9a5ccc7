package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rigor-dev/rigor/spec"
)

// TestScriptsOCI runs the push and pull specs that need an OCI registry,
// testdata/oci/*.txtar, each against its own distribution/distribution
// registry on 127.0.0.1 (address in $REGISTRY), with the oras CLI on PATH.
// 'make tools' builds both into bin/tools; without them the test skips.
func TestScriptsOCI(t *testing.T) {
	bin := testTool("RIGOR_TEST_REGISTRY_BIN", "registry")
	if bin == "" {
		t.Skip("no registry binary: run 'make tools' (builds bin/tools/registry) or set RIGOR_TEST_REGISTRY_BIN")
	}
	oras := testTool("RIGOR_TEST_ORAS_BIN", "oras")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/oci",
		Setup: func(env *testscript.Env) error {
			env.Setenv("RIGOR_STORE", "")
			env.Setenv("HOME", env.WorkDir)
			if oras != "" {
				env.Setenv("PATH", filepath.Dir(oras)+string(os.PathListSeparator)+env.Getenv("PATH"))
			}
			reg, err := newScriptRegistry(bin, filepath.Join(env.WorkDir, ".registry"))
			if err != nil {
				return err
			}
			if err := reg.start(); err != nil {
				return err
			}
			env.Defer(reg.kill)
			env.Values["registry"] = reg
			env.Setenv("REGISTRY", reg.addr)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"registry":    cmdRegistry,
			"sha256check": cmdSHA256Check,
			"exitcode":    cmdExitCode,
			"envstdout":   cmdEnvStdout,
			"mkfile":      cmdMkfile,
		},
	})
}

// testTool finds a test tool: $env, else bin/tools/NAME in the repository
// root; "" when neither exists.
func testTool(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "tools", name))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// scriptRegistry is a registry process a script can kill and restart.
type scriptRegistry struct {
	bin, dir, conf, addr string
	cmd                  *exec.Cmd
	done                 chan struct{}
}

func newScriptRegistry(bin, dir string) (*scriptRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &scriptRegistry{bin: bin, dir: filepath.Join(dir, "data"), conf: filepath.Join(dir, "config.yml"), addr: addr}
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: %s\n", r.dir, addr)
	return r, os.WriteFile(r.conf, []byte(conf), 0o644)
}

func (r *scriptRegistry) start() error {
	logf, err := os.Create(filepath.Join(filepath.Dir(r.conf), "registry.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(r.bin, "serve", r.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return err
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(r.conf), "registry.log"))
			return fmt.Errorf("registry exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("registry on %s did not answer: %v", r.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *scriptRegistry) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// blobData is where the registry keeps the blob with this SHA-256 (hex).
func (r *scriptRegistry) blobData(sum string) string {
	return filepath.Join(r.dir, "docker", "registry", "v2", "blobs", "sha256", sum[:2], sum, "data")
}

// cmdRegistry is the script command "registry kill|start|corrupt FILE|drop
// FILE": kill stops the registry with SIGKILL, start starts it again on the
// same address and storage; corrupt flips a byte of the registry's copy of
// the blob with FILE's content, drop deletes that blob from its disk.
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: registry kill|start|corrupt FILE|drop FILE")
	}
	r := ts.Value("registry").(*scriptRegistry)
	switch args[0] {
	case "kill":
		r.kill()
	case "start":
		ts.Check(r.start())
	case "corrupt", "drop":
		if len(args) != 2 {
			ts.Fatalf("usage: registry %s FILE", args[0])
		}
		sum := sha256.Sum256([]byte(ts.ReadFile(args[1])))
		data := r.blobData(hex.EncodeToString(sum[:]))
		if args[0] == "drop" {
			ts.Check(os.RemoveAll(filepath.Dir(data)))
			return
		}
		b, err := os.ReadFile(data)
		ts.Check(err)
		b[len(b)/2] ^= 0x20
		ts.Check(os.WriteFile(data, b, 0o644))
	default:
		ts.Fatalf("registry: unknown action %q", args[0])
	}
}

// cmdSHA256Check is the script command "sha256check DIR": it reads the
// run manifest DIR/manifest.json and checks the SHA-256 of every file it
// lists (config, environment, code files, inputs, artifacts) in DIR.
func cmdSHA256Check(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sha256check DIR")
	}
	dir := ts.MkAbs(args[0])
	m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	ts.Check(err)
	files := spec.ManifestFiles(m)
	checked := 0
	var bad []string
	for _, f := range files {
		if f.Rel == "" || f.SHA256 == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Rel)))
		if errors.Is(err, os.ErrNotExist) {
			bad = append(bad, f.Rel+": missing")
			continue
		}
		ts.Check(err)
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			bad = append(bad, fmt.Sprintf("%s: sha256 %x, manifest %s", f.Rel, sum, f.SHA256))
		}
		checked++
	}
	if len(bad) > 0 {
		ts.Fatalf("sha256check %s:\n%s", args[0], strings.Join(bad, "\n"))
	}
	if checked == 0 {
		ts.Fatalf("sha256check %s: the manifest lists no files", args[0])
	}
	ts.Logf("sha256check: %d files match the manifest", checked)
}
