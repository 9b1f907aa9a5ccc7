package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
)

// TestServeCommand starts rigor serve on a free port, fetches the runs API
// and a page, with and without the token, and stops it as an interrupt
// would.
func TestServeCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := cas.Init(t.Context(), dir, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", "s3cret"} {
		t.Run("token="+token, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			g := &globalOptions{storeDir: dir, stdout: &stdout, stderr: &stderr}
			ctx, cancel := context.WithCancel(t.Context())
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- runServe(ctx, g, serveOptions{addr: "127.0.0.1:0", token: token, lockTimeout: time.Second, ready: func(a string) { addrc <- a }})
			}()
			var addr string
			select {
			case addr = <-addrc:
			case err := <-done:
				t.Fatalf("serve ended: %v; stderr %s", err, stderr.String())
			}
			fetch := func(path, auth string) (int, []byte) {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", "Bearer "+auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, b
			}
			code, body := fetch("/api/runs", token)
			var v struct {
				Total int `json:"total"`
			}
			if code != 200 || json.Unmarshal(body, &v) != nil || v.Total != 0 {
				t.Errorf("GET /api/runs: %d %s", code, body)
			}
			if code, body := fetch("/", token); code != 200 || !strings.Contains(string(body), "<h1>Runs") {
				t.Errorf("GET /: %d", code)
			}
			if token != "" {
				if code, _ := fetch("/api/runs", ""); code != http.StatusUnauthorized {
					t.Errorf("without the token: %d, want 401", code)
				}
				if code, _ := fetch("/api/runs", "wrong"); code != http.StatusUnauthorized {
					t.Errorf("with a wrong token: %d, want 401", code)
				}
			}
			if got := strings.TrimSpace(stdout.String()); got != "http://"+addr+"/" {
				t.Errorf("stdout %q, want the URL", got)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v after an interrupt, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop")
			}
			// The store is free again.
			s, err := cas.Open(t.Context(), dir, cas.Options{LockTimeout: time.Second})
			if err != nil {
				t.Fatalf("the store is still held after serve stopped: %v", err)
			}
			s.Close()
		})
	}
}
