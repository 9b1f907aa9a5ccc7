package spec

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactArgv(t *testing.T) {
	tests := []struct {
		in, want, stripped []string
	}{
		{
			in:       []string{"python", "train.py", "--api-key", "xyz", "--lr", "0.1"},
			want:     []string{"python", "train.py", "--api-key", Redacted, "--lr", "0.1"},
			stripped: []string{"python", "train.py", "--lr", "0.1"},
		},
		{
			in:       []string{"run", "--TOKEN=abc", "--password", "p", "--secret=s", "-api_key", "k"},
			want:     []string{"run", "--TOKEN=" + Redacted, "--password", Redacted, "--secret=" + Redacted, "-api_key", Redacted},
			stripped: []string{"run"},
		},
		{
			in:       []string{"x", "--hf-token", "t", "--aws-secret-access-key", "s", "--client_secret=c", "--max-tokens", "100", "--tokenizer", "gpt2"},
			want:     []string{"x", "--hf-token", Redacted, "--aws-secret-access-key", Redacted, "--client_secret=" + Redacted, "--max-tokens", "100", "--tokenizer", "gpt2"},
			stripped: []string{"x", "--max-tokens", "100", "--tokenizer", "gpt2"},
		},
		{
			in:       []string{"x", "--key-file", "k.pem", "AKIAABCDEFGHIJKLMNOP", "https://user:hunter2@db.example.com/x", "--token"},
			want:     []string{"x", "--key-file", "k.pem", Redacted, Redacted, "--token"},
			stripped: []string{"x", "--key-file", "k.pem", Redacted, Redacted},
		},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := RedactArgv(in); !slices.Equal(got, tt.want) {
			t.Errorf("RedactArgv(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("RedactArgv modified its argument")
		}
		got := StripSecretArgs(tt.in)
		if !slices.Equal(got, tt.stripped) {
			t.Errorf("StripSecretArgs(%q)\n = %q\nwant %q", tt.in, got, tt.stripped)
		}
		if HasLightSecretFlag(got) {
			t.Errorf("StripSecretArgs(%q) still fails the light.run_manifest.v3 rule", tt.in)
		}
	}
	for _, a := range [][]string{{"--api-key"}, {"--TOKEN=x"}, {"a", "--Secret"}, {"--password="}} {
		if !HasLightSecretFlag(a) {
			t.Errorf("HasLightSecretFlag(%q) = false", a)
		}
	}
	if HasLightSecretFlag([]string{"--tokens", "--api-keys"}) {
		t.Error("HasLightSecretFlag matched a longer flag")
	}
}

func TestRedactEnv(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
	env := []string{
		"OMP_NUM_THREADS=8", "HOME=/root", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "DEPLOY_CERT=" + pem, "MY_DB_PASSWORD=hunter2",
		"AWS_REGION=eu-west-1", "LC_ALL=C.UTF-8", "OMP_NUM_THREADS=99", "NOEQUALS", "PYTHONHASHSEED=0",
		"DATABASE_URL=postgres://app:s3cret@db/app", "CUDA_VISIBLE_DEVICES=1",
	}
	got := RedactEnv(env, nil)
	want := []EnvVar{
		{Name: "AWS_REGION", Value: Redacted, Redacted: true},
		{Name: "AWS_SECRET_ACCESS_KEY", Value: Redacted, Redacted: true},
		{Name: "CUDA_VISIBLE_DEVICES", Value: "1"},
		{Name: "DATABASE_URL", Value: Redacted, Redacted: true},
		{Name: "DEPLOY_CERT", Value: Redacted, Redacted: true},
		{Name: "GITHUB_TOKEN", Value: Redacted, Redacted: true},
		{Name: "LC_ALL", Value: "C.UTF-8"},
		{Name: "MY_DB_PASSWORD", Value: Redacted, Redacted: true},
		{Name: "OMP_NUM_THREADS", Value: "8"},
		{Name: "PYTHONHASHSEED", Value: "0"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("RedactEnv:\n%+v\nwant\n%+v", got, want)
	}
	// An allow-list never lets a credential through.
	got = RedactEnv([]string{"HF_TOKEN=hf_x", "HOME=/root", "XYZ=-----BEGIN OPENSSH PRIVATE KEY-----"}, []string{"HF_*", "HOME", "XYZ"})
	want = []EnvVar{{Name: "HF_TOKEN", Value: Redacted, Redacted: true}, {Name: "HOME", Value: "/root"}, {Name: "XYZ", Value: Redacted, Redacted: true}}
	if !slices.Equal(got, want) {
		t.Errorf("RedactEnv with allow-list:\n%+v\nwant\n%+v", got, want)
	}
}

func TestSecretDetectors(t *testing.T) {
	for _, n := range []string{"GITHUB_TOKEN", "api_key", "Db_Password", "PASSWD", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS", "SSH_PRIVATE"} {
		if !IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = false", n)
		}
	}
	for _, n := range []string{"PATH", "OMP_NUM_THREADS", "LANG", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED"} {
		if IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = true", n)
		}
	}
	for _, v := range []string{"-----BEGIN PRIVATE KEY-----", "id AKIAIOSFODNN7EXAMPLE", "ghp_" + strings.Repeat("a", 36), "xoxb-1234567890-abc", "hf_" + strings.Repeat("Z", 34), "sk-" + strings.Repeat("q", 40), "https://u:p@h/"} {
		if !IsSecretValue(v) {
			t.Errorf("IsSecretValue(%q) = false", v)
		}
	}
	for _, v := range []string{"", "0.1", "/usr/bin:/bin", "https://example.com/a@b", "AKIA-short", "en_US.UTF-8"} {
		if IsSecretValue(v) {
			t.Errorf("IsSecretValue(%q) = true", v)
		}
	}
}
