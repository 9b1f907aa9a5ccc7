package spec

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var updateRecords = flag.Bool("update-records", false, "rewrite the record golden files in testdata/records")

func recB3(c byte) digest.Digest { return digest.Digest("blake3:" + strings.Repeat(string(c), 64)) }

func recHex(c byte) string { return strings.Repeat(string(c), 64) }

// sampleRecords are one or more records of each kind, covering their
// optional parts; the golden files hold their canonical encodings.
func sampleRecords() map[string]interface {
	Encode() ([]byte, error)
	Validate() error
} {
	return map[string]interface {
		Encode() ([]byte, error)
		Validate() error
	}{
		"code_git_dirty": &CodeRecord{
			Schema: SchemaCodeSnapshot,
			Git: &GitState{
				Commit: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", Dirty: true,
				Diff:       &Object{Digest: recB3('d'), Size: 1234, SHA256: recHex('e')},
				Submodules: []Submodule{{Path: "vendor/lib", Commit: "89abcdef0123456789abcdef0123456789abcdef", Dirty: true}},
			},
			Tree: Object{Digest: recB3('a'), Size: 310}, Files: 12, Bytes: 45678,
			Exclude: []string{".git", "__pycache__"}, Skipped: []string{"run/socket"},
		},
		"code_no_git": &CodeRecord{
			Schema: SchemaCodeSnapshot, GitUnavailable: UnavailableReason("not a git work tree"),
			Tree: Object{Digest: recB3('b'), Size: 90}, Files: 2, Bytes: 20, Include: []string{"**/*.py"},
		},
		"code_detached": &CodeRecord{
			Schema: SchemaCodeSnapshot,
			Git:    &GitState{Commit: "fedcba9876543210fedcba9876543210fedcba98", Detached: true},
			Tree:   Object{Digest: recB3('c'), Size: 50}, Files: 1, Bytes: 3,
		},
		"env_gpu": &EnvRecord{
			Schema: SchemaEnvironment,
			OS:     OSInfo{Name: "linux", Arch: "amd64", Kernel: "6.1.0-18-amd64", KernelVersion: "#1 SMP PREEMPT_DYNAMIC", Distribution: "Debian GNU/Linux 12 (bookworm)", Hostname: "gpu-7"},
			CPU:    CPUInfo{Model: "Example CPU", Flags: []string{"avx2", "avx512f", "sse4_2"}, Cores: 64, Usable: 16},
			Memory: MemoryInfo{TotalBytes: 540000000000},
			GPU: GPUInfo{Devices: []GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", Driver: "535.129.03", Memory: "81559 MiB", MemoryBytes: 81559 << 20, UUID: "GPU-00000000-1111-2222-3333-444444444444"}},
				CUDA: "12.2", CUDNN: "8.9.7"},
			Python: PythonInfo{Executable: "/opt/venv/bin/python", Version: "3.11.7", SysVersion: "3.11.7 (main)", Implementation: "cpython",
				Platform: "Linux-6.1.0-x86_64-with-glibc2.36", Prefix: "/opt/venv",
				Distributions: []Distribution{{Name: "numpy", Version: "1.26.4"}, {Name: "Torch", Version: "2.2.1"}}},
			LockFiles: []LockFile{{Path: "uv.lock", Object: Object{Digest: recB3('f'), Size: 99, SHA256: recHex('9')}}},
			Env:       []EnvVar{{Name: "CUDA_VISIBLE_DEVICES", Value: "0"}, {Name: "GITHUB_TOKEN", Value: Redacted, Redacted: true}, {Name: "OMP_NUM_THREADS", Value: "4"}},
			Locale:    "C.UTF-8", TimeZone: "Etc/UTC",
			Rigor: ToolInfo{Version: "v0.1.0", GoVersion: "go1.26.0", Revision: "abc123", Modified: true},
		},
		"env_bare": &EnvRecord{
			Schema: SchemaEnvironment,
			OS:     OSInfo{Name: "darwin", Arch: "arm64", Unavailable: UnavailableReason("kernel and distribution are only probed on linux")},
			CPU:    CPUInfo{Usable: 8, Unavailable: UnavailableReason("CPU details are only probed on linux")},
			Memory: MemoryInfo{Unavailable: UnavailableReason("memory is only probed on linux")},
			GPU: GPUInfo{Unavailable: UnavailableReason("nvidia-smi not found on PATH"), CUDA: UnavailableReason("nvidia-smi not found on PATH"),
				CUDNN: UnavailableReason("no cuDNN header and no nvidia-cudnn distribution found")},
			Python: PythonInfo{Unavailable: UnavailableReason("python not found on PATH")},
			Locale: "C", TimeZone: "UTC", Rigor: ToolInfo{Version: "(devel)"},
		},
		"config_validated": &ConfigRecord{
			Schema: SchemaConfig, Path: "configs/exp01.yaml", Format: "yaml",
			Source: Object{Digest: recB3('1'), Size: 400}, Canonical: Object{Digest: recB3('2'), Size: 380, SHA256: recHex('3')},
			ValidatedAgainst: &SchemaRef{ID: "https://light.local/schemas/experiment-config.v1.json", Object: Object{Digest: recB3('4'), Size: 2000}},
		},
		"config_plain": &ConfigRecord{
			Schema: SchemaConfig, Format: "json",
			Source: Object{Digest: recB3('5'), Size: 10}, Canonical: Object{Digest: recB3('5'), Size: 10, SHA256: recHex('6')},
		},
		"input_file": &InputRecord{
			Schema: SchemaInput, Role: "data", Path: "data/train.csv", SourceRevision: "v3", SplitID: "fold-0",
			Kind: InputFile, Digest: recB3('7'), Size: 1 << 30, Files: 1, SHA256: recHex('8'),
		},
		"input_tree": &InputRecord{
			Schema: SchemaInput, Role: "weights", Path: "models/base",
			Kind: InputTree, Digest: recB3('9'), Size: 4096, Files: 3, SHA256: recHex('a'),
			SHA256Manifest: &Object{Digest: recB3('0'), Size: 250, SHA256: recHex('a')},
		},
	}
}

func decodeAny(b []byte) (interface{ Encode() ([]byte, error) }, error) {
	name, err := RecordSchema(b)
	if err != nil {
		return nil, err
	}
	switch name {
	case SchemaCodeSnapshot:
		return DecodeCodeRecord(b)
	case SchemaEnvironment:
		return DecodeEnvRecord(b)
	case SchemaConfig:
		return DecodeConfigRecord(b)
	case SchemaInput:
		return DecodeInputRecord(b)
	}
	return nil, ErrSchema
}

func compileRecordSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	raw, err := Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestRecordsGoldenAndSchemas(t *testing.T) {
	for name, rec := range sampleRecords() {
		t.Run(name, func(t *testing.T) {
			b, err := rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "records", name+".json")
			if *updateRecords {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -update-records)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("encoding differs from %s:\n got %s\nwant %s", golden, b, want)
			}
			// It validates against its JSON Schema.
			schema, _ := RecordSchema(b)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := compileRecordSchema(t, schema).Validate(inst); err != nil {
				t.Errorf("%s does not satisfy %s.schema.json: %v", name, schema, err)
			}
			// Decoding and encoding again is the identity.
			dec, err := decodeAny(b)
			if err != nil {
				t.Fatal(err)
			}
			again, err := dec.Encode()
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("round trip: %s (%v)", again, err)
			}
		})
	}
}

func TestDecodeRecordsStrict(t *testing.T) {
	good, err := sampleRecords()["input_file"].Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := []struct {
		name, in string
		want     error
	}{
		{"unknown field", strings.Replace(s, `"role"`, `"colour":"red","role"`, 1), ErrUnknownField},
		{"duplicate key", strings.Replace(s, `"role":"data"`, `"role":"data","role":"x"`, 1), ErrSyntax},
		{"wrong schema", strings.Replace(s, SchemaInput, SchemaConfig, 1), ErrSchema},
		{"no schema", strings.Replace(s, `"schema":"rigor.input.v1",`, "", 1), ErrSchema},
		{"trailing data", s + "{}", ErrSyntax},
		{"not an object", `["rigor.input.v1"]`, ErrSyntax},
		{"bad digest", strings.Replace(s, "blake3:", "md5:", 1), ErrInvalid},
		{"data without revision", strings.Replace(s, `"source_revision":"v3",`, "", 1), ErrInvalid},
		{"upper-case sha256", strings.Replace(s, recHex('8'), strings.ToUpper(recHex('a')), 1), ErrInvalid},
		{"wrong type", strings.Replace(s, `"files":1`, `"files":"1"`, 1), ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeInputRecord([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("DecodeInputRecord = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	secret := sampleRecords()["env_gpu"].(*EnvRecord)
	secret.Env = append(secret.Env, EnvVar{Name: "ZZ_API_KEY", Value: "plain"})
	dirtyless := sampleRecords()["code_git_dirty"].(*CodeRecord)
	dirtyless.Git.Dirty = false
	both := sampleRecords()["code_no_git"].(*CodeRecord)
	both.Git = &GitState{Commit: strings.Repeat("a", 40), Ref: "refs/heads/x"}
	unsorted := sampleRecords()["env_gpu"].(*EnvRecord)
	unsorted.Python.Distributions[0], unsorted.Python.Distributions[1] = unsorted.Python.Distributions[1], unsorted.Python.Distributions[0]
	tests := map[string]struct {
		r    interface{ Validate() error }
		want string
	}{
		"unredacted credential": {secret, "must be redacted"},
		"diff on a clean tree":  {dirtyless, "git.dirty is false"},
		"git and unavailable":   {both, "mutually exclusive"},
		"unsorted dists":        {unsorted, "must be sorted"},
	}
	for name, tt := range tests {
		if err := tt.r.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want ErrInvalid containing %q", name, err, tt.want)
		}
	}
}

func TestSchemaNames(t *testing.T) {
	for _, n := range []string{SchemaCodeSnapshot, SchemaEnvironment, SchemaConfig, SchemaInput, LightExperimentConfig} {
		compileRecordSchema(t, n)
	}
	if _, err := Schema("nope.v1"); !errors.Is(err, ErrSchema) {
		t.Errorf("Schema(unknown) = %v", err)
	}
}

// FuzzDecodeRecords: whatever a decoder accepts re-encodes canonically,
// and the canonical bytes decode to the same encoding.
func FuzzDecodeRecords(f *testing.F) {
	for _, r := range sampleRecords() {
		b, err := r.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (interface{ Encode() ([]byte, error) }, error){
			func(b []byte) (interface{ Encode() ([]byte, error) }, error) { return DecodeCodeRecord(b) },
			func(b []byte) (interface{ Encode() ([]byte, error) }, error) { return DecodeEnvRecord(b) },
			func(b []byte) (interface{ Encode() ([]byte, error) }, error) { return DecodeConfigRecord(b) },
			func(b []byte) (interface{ Encode() ([]byte, error) }, error) { return DecodeInputRecord(b) },
		} {
			r, err := decode(data)
			if err != nil {
				continue
			}
			enc, err := r.Encode()
			if err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
			r2, err := decode(enc)
			if err != nil {
				t.Fatalf("canonical encoding does not decode: %v\n%s", err, enc)
			}
			enc2, _ := r2.Encode()
			if !bytes.Equal(enc, enc2) {
				t.Fatalf("unstable encoding:\n%s\n%s", enc, enc2)
			}
		}
	})
}
