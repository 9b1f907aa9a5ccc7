package oci

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/remote"
)

// testHtpasswd is the htpasswd line of user "rigor" with the password
// testPassword (bcrypt, cost 4: the registry accepts only bcrypt).
const (
	testPassword = "rigor-test-secret"
	testHtpasswd = "rigor:$2a$04$ZnpVfcktizyVkQJDAY0P/OOH31Jr5vjVWCXXkX8S7x9gPl0FfEIC6\n"
)

// dockerConfig writes a docker config.json whose "auths" holds user:pass
// for host, and returns its directory (what DOCKER_CONFIG names).
func dockerConfig(t *testing.T, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))},
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDockerCredentials: against a registry that requires a login
// (htpasswd), push is refused with no credentials and with a wrong
// password, and works with the credentials of the standard docker config
// ($DOCKER_CONFIG/config.json, as "docker login" writes it): push, pull
// into a fresh store (verify --deep) and the remote check.
func TestDockerCredentials(t *testing.T) {
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(testHtpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := startRegistryWith(t, "auth:\n  htpasswd:\n    realm: rigor-test\n    path: "+htpasswd+"\n")
	src := newStoreDir(t)
	res := recordRun(t, src, "EXP-01", 1, "", "")
	s := openStore(t, src)

	for _, c := range []struct{ name, dir, want string }{
		{"no credentials", t.TempDir(), "credential not found"},
		{"a wrong password", dockerConfig(t, reg.addr, "rigor", "not-the-password"), "401"},
	} {
		t.Setenv("DOCKER_CONFIG", c.dir)
		_, err := localRegistry(t, reg, "private/runs").Push(t.Context(), s, nil, remote.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("push with %s: %v, want an error saying %q", c.name, err, c.want)
		}
	}

	t.Setenv("DOCKER_CONFIG", dockerConfig(t, reg.addr, "rigor", testPassword))
	r := localRegistry(t, reg, "private/runs")
	st, err := r.Push(t.Context(), s, nil, remote.Options{})
	if err != nil {
		t.Fatalf("push with the docker config's credentials: %v", err)
	}
	if got := statuses(st)[res.RunID]; got != remote.Sent {
		t.Errorf("push: %s %v, want sent", res.RunID, got)
	}
	results, err := r.Check(t.Context(), s, nil)
	if err != nil || len(results) != 1 || !results[0].OK() {
		t.Errorf("check after push: %+v, %v; want complete", results, err)
	}
	d := openStore(t, newStoreDir(t))
	if _, err := r.Pull(t.Context(), d, nil, remote.Options{}); err != nil {
		t.Fatalf("pull with the docker config's credentials: %v", err)
	}
	if got, err := d.GetRef(t.Context(), res.Ref); err != nil || got != res.Root {
		t.Errorf("pulled %s = %s, %v; want %s", res.Ref, got, err, res.Root)
	}
	verifyDeep(t, d)
}
