package exec

import (
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// rerun reruns the run named run with opts (GPU sampling off).
func (p *testProject) rerun(run string, opts RerunOptions) RerunResult {
	p.t.Helper()
	opts.GPUInterval = -1
	res, err := Rerun(p.t.Context(), p.open, run, opts)
	if err != nil {
		p.t.Fatalf("Rerun(%s): %v", run, err)
	}
	return res
}

// identityOf is what the same-seed comparison compares of a manifest.
func identityOf(m *spec.RunManifest) []any {
	var files, inputs []string
	for _, f := range m.Code.Files {
		files = append(files, f.Path+" "+f.SHA256)
	}
	for _, in := range m.Inputs {
		inputs = append(inputs, in.Role+" "+in.Path+" "+in.SourceRevision+" "+in.SHA256)
	}
	diff := ""
	if m.Code.DiffSHA256 != nil {
		diff = *m.Code.DiffSHA256
	}
	return []any{m.MatrixRow, m.Seed, m.Config.SHA256, m.Environment.SHA256, m.Code.Commit, m.Code.Dirty, diff, files, inputs}
}

func artifactSHA(m *spec.RunManifest, name string) string {
	if a := m.Artifacts[name]; a != nil {
		return a.SHA256
	}
	return ""
}

// wantSameRun checks that the rerun has the original's identity and
// outputs.
func wantSameRun(t *testing.T, orig, rerun *spec.RunManifest) {
	t.Helper()
	if a, b := identityOf(orig), identityOf(rerun); !reflect.DeepEqual(a, b) {
		t.Errorf("identity differs:\n original %v\n rerun    %v", a, b)
	}
	for _, name := range []string{"predictions", "raw_metrics"} {
		if a, b := artifactSHA(orig, name), artifactSHA(rerun, name); a == "" || a != b {
			t.Errorf("%s: original sha256 %q, rerun %q", name, a, b)
		}
	}
}

func TestRerunExact(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	orig := p.run(p.options("python3", "src/train.py"))

	// After the run the data and the code change on disk: the rerun must
	// use what the bundle recorded.
	p.write("data/input.csv", "id,x,y\n9,9,9\n")
	p.write("src/train.py", "raise SystemExit('the current tree must not run')\n")

	var started RerunStarted
	wd := filepath.Join(t.TempDir(), "wd")
	res := p.rerun(orig.RunID, RerunOptions{
		Workdir: wd,
		Env:     append(os.Environ(), "MY_API_TOKEN=tok-supplied-again"),
		OnStart: func(s RerunStarted) { started = s },
	})
	if res.Rerun.RunID != "EXP-01__seed-42__attempt-2" {
		t.Errorf("rerun id = %s", res.Rerun.RunID)
	}
	if res.Original.RunID != orig.RunID || res.Original.Root != orig.Root {
		t.Errorf("original = %+v", res.Original)
	}
	if started.Original != orig.RunID || started.Info.Level != spec.LevelSameEnvRepeat || started.Dir != wd {
		t.Errorf("OnStart got %+v", started)
	}
	if res.Info.Level != spec.LevelSameEnvRepeat || len(res.Drift) != 0 {
		t.Errorf("level %q, drift %+v", res.Info.Level, res.Drift)
	}
	if _, err := os.Stat(wd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the work directory was not removed: %v", err)
	}
	om, c := p.check(orig.Root)
	wantOK(t, c)
	rm, c := p.check(res.Rerun.Root)
	wantOK(t, c)
	wantSameRun(t, om, rm)
	if rm.Reproducibility.PairID != orig.RunID || rm.Reproducibility.ComparisonRole != "rerun" {
		t.Errorf("reproducibility = %+v", rm.Reproducibility)
	}
	info, _ := rm.Rigor["rerun"].(map[string]any)
	if info["of"] != orig.RunID || info["root"] != orig.Root.String() || info["repro_level"] != "SAME_ENV_REPEAT" {
		t.Errorf("rigor.rerun = %v", info)
	}
	if got, want := p.file(res.Rerun.Root, "stdout.log"), strings.Replace(p.file(orig.Root, "stdout.log"), `"RIGOR_ATTEMPT": "1", "RIGOR_RUN_ID": "EXP-01__seed-42__attempt-1"`, `"RIGOR_ATTEMPT": "2", "RIGOR_RUN_ID": "EXP-01__seed-42__attempt-2"`, 1); got != want {
		t.Errorf("rerun stdout = %q, want %q", got, want)
	}
	// The secret was supplied to the child, and still recorded redacted.
	if env := p.file(res.Rerun.Root, "environment.json"); strings.Contains(env, "tok-") {
		t.Errorf("environment.json holds the secret: %s", env)
	}
}

func TestRerunMissingSecret(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	orig := p.run(p.options("python3", "src/train.py"))
	_, err := Rerun(t.Context(), p.open, orig.Ref, RerunOptions{Env: os.Environ(), GPUInterval: -1})
	if !errors.Is(err, ErrMissingSecrets) || !strings.Contains(err.Error(), "MY_API_TOKEN") {
		t.Fatalf("Rerun without the token: %v, want ErrMissingSecrets naming MY_API_TOKEN", err)
	}
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := verify.ListRuns(t.Context(), s, verify.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Errorf("runs after a refused rerun: %d, %v", len(runs), err)
	}
}

// gitProject makes the project a git repository with one commit.
func gitProject(t *testing.T, p *testProject) {
	t.Helper()
	if _, err := osexec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first"},
	} {
		cmd := osexec.Command("git", args...)
		cmd.Dir = p.dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

const valueSh = `printf 'id,p\n1,%s\n' "$(cat src/value.txt)" > "$RIGOR_OUT/predictions.csv"
printf '{"v": %s}\n' "$(cat src/value.txt)" > "$RIGOR_OUT/raw_metrics.jsonl"
`

func TestRerunDirtyTree(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.write(".gitignore", "data/\n")
	p.write("src/value.txt", "0.25\n")
	p.write("src/value.sh", valueSh)
	gitProject(t, p)
	p.write("src/value.txt", "0.5\n") // dirty: the run sees 0.5
	orig := p.run(p.options("sh", "src/value.sh"))
	p.write("src/value.txt", "0.75\n") // changed again after the run

	res := p.rerun(orig.RunID, RerunOptions{Env: append(os.Environ(), "MY_API_TOKEN=x")})
	om, _ := p.check(orig.Root)
	rm, c := p.check(res.Rerun.Root)
	wantOK(t, c)
	if !om.Code.Dirty || om.Code.DiffSHA256 == nil {
		t.Fatalf("the original is not dirty: %+v", om.Code)
	}
	wantSameRun(t, om, rm)
	if got := p.file(res.Rerun.Root, "predictions.csv"); got != "id,p\n1,0.5\n" {
		t.Errorf("rerun predictions = %q, want the dirty value 0.5", got)
	}
	if !p.hasFile(res.Rerun.Root, "rigor/code.diff") {
		t.Errorf("the rerun has no rigor/code.diff")
	}
}

// TestRerunLayout reruns a program whose input lies outside the code
// root, named in its argv by absolute path: the input is restored from the
// store into the work directory and the argv points there.
func TestRerunLayout(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	outside := filepath.Join(t.TempDir(), "shared", "features.csv")
	if err := os.MkdirAll(filepath.Dir(outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.write("src/cat.sh", `echo "$1"
cp "$1" "$RIGOR_OUT/predictions.csv"
echo '{"n": 1}' > "$RIGOR_OUT/raw_metrics.jsonl"
`)
	opts := p.options("sh", "src/cat.sh", outside)
	opts.Inputs = []InputSpec{{Role: "features", Path: outside}}
	orig := p.run(opts)
	if err := os.WriteFile(outside, []byte("a,b\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	wd := filepath.Join(t.TempDir(), "wd")
	res := p.rerun(orig.RunID, RerunOptions{Workdir: wd, Keep: true, Env: append(os.Environ(), "MY_API_TOKEN=x")})
	if res.Workdir != wd {
		t.Errorf("kept work directory = %q, want %q", res.Workdir, wd)
	}
	if got := p.file(res.Rerun.Root, "predictions.csv"); got != "a,b\n1,2\n" {
		t.Errorf("rerun read %q, not the recorded input", got)
	}
	arg := strings.TrimSpace(p.file(res.Rerun.Root, "stdout.log"))
	if !strings.HasPrefix(arg, wd+string(filepath.Separator)) || !strings.HasSuffix(arg, filepath.Join("shared", "features.csv")) {
		t.Errorf("the program was given %q, want a path in %s", arg, wd)
	}
	om, _ := p.check(orig.Root)
	rm, _ := p.check(res.Rerun.Root)
	wantSameRun(t, om, rm)
}

// fakeNvidiaSMI writes an nvidia-smi that reports one GPU with driver.
func fakeNvidiaSMI(t *testing.T, dir, driver string) {
	t.Helper()
	script := "#!/bin/sh\ncase \"$1\" in\n--query-gpu=*) echo 'Fake GPU, " + driver + ", 1024 MiB, GPU-fake';;\n*) echo 'CUDA Version: 12.4';;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestRerunDrift(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	bin := t.TempDir()
	fakeNvidiaSMI(t, bin, "550.54")
	opts := p.options("python3", "src/train.py")
	opts.Env = append(withoutVars(opts.Env, []string{"PATH"}), "PATH="+bin+string(filepath.ListSeparator)+os.Getenv("PATH"))
	orig := p.run(opts)
	fakeNvidiaSMI(t, bin, "555.42") // the driver was upgraded

	env := append(os.Environ(), "MY_API_TOKEN=x")
	_, err := Rerun(t.Context(), p.open, orig.RunID, RerunOptions{Env: env, StrictEnv: true, GPUInterval: -1})
	var de *EnvDriftError
	if !errors.As(err, &de) || !errors.Is(err, ErrEnvDrift) {
		t.Fatalf("strict rerun: %v, want an EnvDriftError", err)
	}
	if len(de.Drift) != 1 || de.Drift[0].Category != spec.DriftGPU || de.Drift[0].Where != "$.gpu.devices[0].driver" {
		t.Errorf("drift = %+v", de.Drift)
	}

	res := p.rerun(orig.RunID, RerunOptions{Env: env})
	if res.Info.Level != spec.LevelCrossPlatform || !slices.Equal(res.Info.EnvDrift, []string{"gpu"}) {
		t.Errorf("info = %+v", res.Info)
	}
	om, _ := p.check(orig.Root)
	rm, _ := p.check(res.Rerun.Root)
	if om.Environment.SHA256 == rm.Environment.SHA256 {
		t.Errorf("the environment records are equal")
	}
	if artifactSHA(om, "predictions") != artifactSHA(rm, "predictions") {
		t.Errorf("predictions differ")
	}
}

func TestRerunCleanEnv(t *testing.T) {
	t.Parallel()
	if err := osexec.Command("python3", "-c", "import venv").Run(); err != nil {
		t.Skip("python3 with venv is not available")
	}
	p := newTestProject(t)
	p.write("requirements.txt", "# nothing to install\n")
	orig := p.run(p.options("python3", "src/train.py"))
	env := append(os.Environ(), "MY_API_TOKEN=x")
	var started RerunStarted
	res := p.rerun(orig.RunID, RerunOptions{Env: env, CleanEnv: true, OnStart: func(s RerunStarted) { started = s }})
	if res.Info.Level != spec.LevelCleanEnvRerun || !res.Info.CleanEnv {
		t.Errorf("info = %+v", res.Info)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "requirements.txt") {
		t.Errorf("notes = %q", res.Notes)
	}
	var exe bool
	for _, c := range started.Drift {
		exe = exe || c.Where == "$.python.executable" && strings.Contains(c.Second, filepath.Join(".rigor-rerun", "venv"))
	}
	if !exe {
		t.Errorf("the rerun's interpreter is not the rebuilt one: %+v", started.Drift)
	}
	om, _ := p.check(orig.Root)
	rm, _ := p.check(res.Rerun.Root)
	for _, name := range []string{"predictions", "raw_metrics"} {
		if artifactSHA(om, name) != artifactSHA(rm, name) {
			t.Errorf("%s differs", name)
		}
	}
}

func TestRerunNotRerunnable(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	opts := p.options("python3", "src/train.py", "--token", "hunter2hunter2")
	orig := p.run(opts)
	_, err := Rerun(t.Context(), p.open, orig.RunID, RerunOptions{Env: os.Environ(), GPUInterval: -1})
	if !errors.Is(err, ErrNotRerunnable) || !strings.Contains(err.Error(), "--token") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("rerun of a run with a secret flag: %v", err)
	}
	_, err = Rerun(t.Context(), p.open, "EXP-01__seed-42__attempt-9", RerunOptions{})
	if !errors.Is(err, ErrRunNotFound) {
		t.Errorf("rerun of an unknown run: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Rerun(t.Context(), p.open, orig.RunID, RerunOptions{Workdir: dir})
	if !errors.Is(err, ErrWorkdir) {
		t.Errorf("rerun into a non-empty directory: %v", err)
	}
}

func TestFirstByteDiff(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.write("src/bytes.sh", `printf '%s' "$1" > "$RIGOR_OUT/predictions.csv"`+"\n")
	var roots []digest.Digest
	for _, content := range []string{"abcdef", "abcXef", "abc"} {
		opts := p.options("sh", "src/bytes.sh", content)
		roots = append(roots, p.run(opts).Root)
	}
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		a, b digest.Digest
		want int64
	}{
		{roots[0], roots[0], -1},
		{roots[0], roots[1], 3},
		{roots[0], roots[2], 3},
		{roots[2], roots[1], 3},
	}
	for _, tt := range tests {
		got, err := FirstByteDiff(t.Context(), s, tt.a, "predictions.csv", tt.b, "predictions.csv")
		if err != nil || got != tt.want {
			t.Errorf("FirstByteDiff = %d, %v; want %d", got, err, tt.want)
		}
	}
}

func TestCommonDirAndArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		paths []string
		want  string
	}{
		{[]string{"/a/b/c"}, "/a/b/c"},
		{[]string{"/a/b/c", "/a/b/c/d"}, "/a/b/c"},
		{[]string{"/a/b/c", "/a/b"}, "/a/b"},
		{[]string{"/a/bc", "/a/b"}, "/a"},
		{[]string{"/a/b", "/x/y"}, "/"},
	}
	for _, tt := range tests {
		if got := commonDir(tt.paths); got != tt.want {
			t.Errorf("commonDir(%q) = %q, want %q", tt.paths, got, tt.want)
		}
	}
	l := &layout{base: "/p", root: "/w", mapped: []string{"/p/code", "/p/data/in.csv"}}
	args := []struct{ in, want string }{
		{"/p/code/train.py", "/w/code/train.py"},
		{"--data=/p/data/in.csv", "--data=/w/data/in.csv"},
		{"/p/data/in.csv.bak", "/p/data/in.csv.bak"},
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"relative/x", "relative/x"},
		{"/p/codex", "/p/codex"},
	}
	for _, tt := range args {
		if got := l.arg(tt.in); got != tt.want {
			t.Errorf("arg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRecordedEnv(t *testing.T) {
	t.Parallel()
	rec := []spec.EnvVar{
		{Name: "OMP_NUM_THREADS", Value: "4"},
		{Name: "PATH", Value: "/recorded/bin"},
		{Name: "HF_TOKEN", Value: spec.Redacted, Redacted: true},
	}
	current := []string{"PATH=/now/bin", "HF_TOKEN=hf_now", "HOME=/home/u", "MKL_NUM_THREADS=8", "GITHUB_TOKEN=x", "OMP_NUM_THREADS=1"}
	got, err := recordedEnv(rec, current)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"OMP_NUM_THREADS=4", "PATH=/recorded/bin", "HF_TOKEN=hf_now", "HOME=/home/u"}
	if !slices.Equal(got, want) {
		t.Errorf("recordedEnv = %q, want %q", got, want)
	}
	_, err = recordedEnv(rec, []string{"PATH=/x"})
	if !errors.Is(err, ErrMissingSecrets) || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("without HF_TOKEN: %v", err)
	}
}

func TestRequirementLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"# only a comment\n\n", 0},
		{"numpy==1.26.4\n# c\n  scipy\n", 2},
	}
	for _, tt := range tests {
		if got := requirementLines([]byte(tt.in)); got != tt.want {
			t.Errorf("requirementLines(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestRerunSubdir reruns a program started in a subdirectory of its git
// work tree, with an input and a config reached through "..": the layout
// keeps the directories where they were relative to each other.
func TestRerunSubdir(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.write(".gitignore", "data/\n")
	p.write("src/value.txt", "0.5\n")
	p.write("src/run.sh", `pwd
printf 'id,p\n1,%s\n' "$(cat value.txt)" > "$RIGOR_OUT/predictions.csv"
tail -n 1 ../data/input.csv > "$RIGOR_OUT/raw_metrics.jsonl"
`)
	gitProject(t, p)
	opts := p.options("sh", "run.sh")
	opts.Dir = filepath.Join(p.dir, "src")
	opts.Inputs = []InputSpec{{Role: "data", Path: "../data/input.csv", Revision: "v1"}}
	orig := p.run(opts)

	res := p.rerun(orig.RunID, RerunOptions{Env: append(os.Environ(), "MY_API_TOKEN=x")})
	if cwd := strings.TrimSpace(p.file(res.Rerun.Root, "stdout.log")); filepath.Base(cwd) != "src" || cwd == opts.Dir {
		t.Errorf("the rerun ran in %q, want the src directory of its work directory", cwd)
	}
	om, _ := p.check(orig.Root)
	rm, c := p.check(res.Rerun.Root)
	wantOK(t, c)
	wantSameRun(t, om, rm)
	if len(res.Notes) != 0 {
		t.Errorf("notes = %q (the layout is recorded)", res.Notes)
	}
}
