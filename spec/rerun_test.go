package spec

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func driftBase() *EnvRecord {
	return &EnvRecord{
		Schema: SchemaEnvironment,
		OS:     OSInfo{Name: "linux", Arch: "amd64", Kernel: "6.1.0", Hostname: "a"},
		CPU:    CPUInfo{Model: "Xeon", Flags: []string{"avx2", "sse4_2"}, Cores: 8, Usable: 8},
		Memory: MemoryInfo{TotalBytes: 1 << 30},
		GPU:    GPUInfo{Devices: []GPU{{Name: "H100", Driver: "550.54", UUID: "GPU-1"}}, CUDA: "12.4", CUDNN: "9.1.0"},
		Python: PythonInfo{Executable: "/usr/bin/python3", Version: "3.11.7", Implementation: "cpython",
			Distributions: []Distribution{{Name: "numpy", Version: "1.26.4"}, {Name: "torch", Version: "2.3.0"}}},
		Env:      []EnvVar{{Name: "OMP_NUM_THREADS", Value: "4"}, {Name: "PATH", Value: "/usr/bin"}},
		Locale:   "C.UTF-8",
		TimeZone: "UTC",
		Rigor:    ToolInfo{Version: "v0.1.0"},
	}
}

func TestEnvDrift(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(r *EnvRecord)
		want   []EnvChange
		level  string
	}{
		{"identical", func(*EnvRecord) {}, nil, LevelSameEnvRepeat},
		{"package upgraded", func(r *EnvRecord) {
			r.Python.Distributions = []Distribution{{Name: "numpy", Version: "2.0.0"}, {Name: "torch", Version: "2.3.0"}}
		}, []EnvChange{{DriftPackages, Change{Where: "package numpy", Kind: ChangeChanged, First: "1.26.4", Second: "2.0.0"}}}, ""},
		{"threads", func(r *EnvRecord) {
			r.Env = []EnvVar{{Name: "OMP_NUM_THREADS", Value: "1"}, {Name: "PATH", Value: "/usr/bin"}}
		}, []EnvChange{{DriftThreads, Change{Where: "env OMP_NUM_THREADS", Kind: ChangeChanged, First: "4", Second: "1"}}}, ""},
		{"cpu flag", func(r *EnvRecord) {
			r.CPU.Flags = []string{"avx2", "avx512f", "sse4_2"}
		}, []EnvChange{{DriftCPUFlags, Change{Where: "cpu flag avx512f", Kind: ChangeAdded, Second: "present"}}}, LevelCrossPlatform},
		{"driver and host", func(r *EnvRecord) {
			r.GPU.Devices[0].Driver = "555.42"
			r.OS.Hostname = "b"
		}, []EnvChange{
			{DriftGPU, Change{Where: "$.gpu.devices[0].driver", Kind: ChangeChanged, First: `"550.54"`, Second: `"555.42"`}},
			{DriftMachine, Change{Where: "$.os.hostname", Kind: ChangeChanged, First: `"a"`, Second: `"b"`}},
		}, LevelCrossPlatform},
		{"interpreter and lock", func(r *EnvRecord) {
			r.Python.Executable = "/venv/bin/python"
			r.LockFiles = []LockFile{{Path: "requirements.txt", Object: Object{SHA256: "ab"}}}
		}, []EnvChange{
			{DriftPython, Change{Where: "$.python.executable", Kind: ChangeChanged, First: `"/usr/bin/python3"`, Second: `"/venv/bin/python"`}},
			{DriftLockFiles, Change{Where: "lock file requirements.txt", Kind: ChangeAdded, Second: "ab"}},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := driftBase(), driftBase()
			tt.change(b)
			got := EnvDrift(a, b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EnvDrift = %+v\nwant %+v", got, tt.want)
			}
			if level, note := RerunLevel(got, false); level != tt.level || note == "" {
				t.Errorf("RerunLevel = %q (%s), want %q", level, note, tt.level)
			}
		})
	}
}

func TestRerunLevelCleanEnv(t *testing.T) {
	t.Parallel()
	py := []EnvChange{{Category: DriftPython}}
	if l, _ := RerunLevel(py, true); l != LevelCleanEnvRerun {
		t.Errorf("clean env = %q", l)
	}
	if l, _ := RerunLevel(append(py, EnvChange{Category: DriftGPU}), true); l != LevelCrossPlatform {
		t.Errorf("clean env on another GPU = %q", l)
	}
	if l, _ := RerunLevel(nil, true); l != LevelCleanEnvRerun {
		t.Errorf("clean env, nothing differs = %q", l)
	}
}

func TestRerunContractRepro(t *testing.T) {
	t.Parallel()
	r := RerunContractRepro(LevelSameEnvRepeat, true, true, "A", "B", "rigor compare A B")
	if r.Levels[LevelSameEnvRepeat] != "PASS" || r.Levels[LevelCleanEnvRerun] != "UNKNOWN" ||
		r.Evidence["same_env_repeat"] != "rigor compare A B" || len(r.SameSeedRuns) != 1 || !r.SameSeedRuns[0].SameSeedExact {
		t.Errorf("same env = %+v", r)
	}
	r = RerunContractRepro(LevelCrossPlatform, false, false, "A", "B", "L")
	if r.Levels[LevelCrossPlatform] != "FAIL" || len(r.SameSeedRuns) != 0 || r.Evidence["cross_platform"] != "L" {
		t.Errorf("cross platform = %+v", r)
	}
	r = RerunContractRepro("", true, false, "A", "B", "L")
	if len(r.Evidence) != 0 || r.Levels[LevelSameEnvRepeat] != "UNKNOWN" {
		t.Errorf("no level = %+v", r)
	}
}

func TestDecodeRunRecord(t *testing.T) {
	t.Parallel()
	rec := RunRecord{Schema: SchemaRun, RunID: "EXP-01__seed-1__attempt-1", Ref: "runs/EXP-01/seed-1/attempt-1", Row: "EXP-01",
		Seed: Seed{Role: "fixed_repro", Value: 1}, Attempt: 1, Argv: []string{"true"}, Dir: "/p",
		EnvSet: []EnvVar{}, Env: []EnvVar{}, Rigor: ToolInfo{Version: "v"}}
	b, err := rec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRunRecord(b)
	if err != nil || !reflect.DeepEqual(*got, rec) {
		t.Errorf("DecodeRunRecord = %+v, %v", got, err)
	}
	if _, err := DecodeRunRecord([]byte(`{"schema":"rigor.run.v1","extra":1}`)); !errors.Is(err, ErrUnknownField) {
		t.Errorf("unknown field: %v", err)
	}
}

func FuzzDecodeRunRecord(f *testing.F) {
	f.Add([]byte(`{"schema":"rigor.run.v1","run_id":"R__seed-1__attempt-1","ref":"runs/R/seed-1/attempt-1","matrix_row":"R",` +
		`"seed":{"role":"fixed_repro","value":1},"attempt":1,"argv":["true"],"dir":"/p","env_set":[],"env":[],` +
		`"timeout_ms":0,"grace_ms":10000,"rigor":{"version":"v"}}`))
	f.Add([]byte(`{"schema":"rigor.run.v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRunRecord(data)
		if err != nil {
			return
		}
		b1, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		r2, err := DecodeRunRecord(b1)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v", err)
		}
		if b2, _ := r2.Encode(); !bytes.Equal(b1, b2) {
			t.Fatalf("unstable: %s vs %s", b1, b2)
		}
	})
}
