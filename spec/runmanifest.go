package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// RunManifestSchema is the schema tag of a Light run manifest.
const RunManifestSchema = "light.run_manifest.v3"

// RunManifest is a light.run_manifest.v3 document (spec §2.2) as rigor writes
// it. rigor extends every hashed-file record with the BLAKE3 digest of the
// same bytes beside the SHA-256; the Light checker ignores the extra member.
type RunManifest struct {
	Schema          string          `json:"schema"`
	RunID           string          `json:"run_id"`
	MatrixRow       string          `json:"matrix_row"`
	Status          string          `json:"status"`
	Termination     Termination     `json:"termination"`
	Seed            Seed            `json:"seed"`
	Command         []string        `json:"command"`
	StartedAt       string          `json:"started_at"`
	EndedAt         string          `json:"ended_at"`
	Config          *FileRef        `json:"config"`
	Environment     *FileRef        `json:"environment"`
	Code            CodeRef         `json:"code"`
	Inputs          []InputRef      `json:"inputs"`
	Artifacts       Artifacts       `json:"artifacts"`
	Completion      Completion      `json:"completion"`
	Reproducibility Reproducibility `json:"reproducibility"`
	Notes           []string        `json:"notes"`
	// Rigor holds what rigor adds beyond the Light format; nil when absent.
	Rigor map[string]any `json:"rigor,omitempty"`
}

// Termination says how the process ended.
type Termination struct {
	Reason   string `json:"reason"`
	ExitCode *int   `json:"exit_code"`
	Signal   *int   `json:"signal"`
}

// Seed is the run's seed and its role.
type Seed struct {
	Role  string `json:"role"`
	Value int64  `json:"value"`
}

// FileRef names a file of the run directory by relative path and digests.
type FileRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	BLAKE3 string `json:"blake3,omitempty"`
	Size   *int64 `json:"size,omitempty"`
}

// CodeRef is the code identity of a run.
type CodeRef struct {
	Commit     string    `json:"commit"`
	Dirty      bool      `json:"dirty"`
	DiffSHA256 *string   `json:"diff_sha256"`
	DiffBLAKE3 string    `json:"diff_blake3,omitempty"`
	Files      []FileRef `json:"files"`
}

// InputRef is one data input of a run.
type InputRef struct {
	Role           string `json:"role"`
	Path           string `json:"path"`
	SHA256         string `json:"sha256"`
	BLAKE3         string `json:"blake3,omitempty"`
	SourceRevision string `json:"source_revision,omitempty"`
	SplitID        string `json:"split_id,omitempty"`
	Size           *int64 `json:"size,omitempty"`
}

// Artifacts are the run's outputs by name. A nil entry is written as null.
type Artifacts map[string]*FileRef

// Completion is the task-completion judgement, apart from termination.
type Completion struct {
	Status            string   `json:"status"`
	Oracle            []string `json:"oracle"`
	EvidenceArtifacts []string `json:"evidence_artifacts"`
}

// Reproducibility pairs runs for same-seed comparison.
type Reproducibility struct {
	PairID           string   `json:"pair_id"`
	ComparisonRole   string   `json:"comparison_role"`
	CompareArtifacts []string `json:"compare_artifacts"`
}

// Enumerations of light.run_manifest.v3.
var (
	RunStatuses         = []string{"aborted", "completed", "failed"}
	TerminationReasons  = []string{"error", "max_iterations", "natural_exit", "preempted", "timeout", "user_cancel"}
	SeedRoles           = []string{"fixed_repro", "randomness_estimation"}
	CompletionStatuses  = []string{"FAIL", "NOT_EVALUATED", "PASS"}
	abortedReasons      = []string{"timeout", "max_iterations", "user_cancel", "preempted"}
	hex64               = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{64}$`) })
	errNotExistInBundle = fs.ErrNotExist
)

// RunFiles gives the run-manifest checker access to the files of one run,
// addressed by slash paths relative to the manifest's directory. It lets the
// same rules run on a directory (export, import) and on a stored run tree.
type RunFiles interface {
	// SHA256 returns the lower-case hex SHA-256 of the file at rel, or an
	// error wrapping fs.ErrNotExist when there is none.
	SHA256(rel string) (string, error)
}

// ErrEscapesRunDir is returned (wrapped) by a [RunFiles] when rel resolves
// outside the run directory through a symbolic link; the checker reports
// it as the Light checker does, as the path escaping the run directory.
var ErrEscapesRunDir = errors.New("spec: path escapes the run directory")

// ManifestCheck is the result of checking one manifest, in the shape of the
// Light checker's single-manifest result (spec §2.7).
type ManifestCheck struct {
	OK                 bool              `json:"ok"`
	Errors             []string          `json:"errors"`
	CheckedHashes      map[string]string `json:"checked_hashes"`
	CompletionVerified bool              `json:"completion_verified"`
}

// FutureSkew is how far in the future a timestamp may lie.
const FutureSkew = 5 * time.Minute

// CheckRunManifest applies every rule of run_artifact_check (spec §3.5) to
// the manifest bytes, reading file digests through files, with now as the
// current time. Every rule runs; errors accumulate with the checker's exact
// messages. It never fails: unreadable input is itself an error in the result.
func CheckRunManifest(data []byte, files RunFiles, now time.Time) ManifestCheck {
	c := &checker{files: files, now: now.UTC(), hashes: map[string]string{}}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		c.errf("cannot read manifest: %v", err)
		return c.result(nil)
	}
	// Python's json.load refuses anything after the value but JSON's
	// whitespace ("Extra data"); the Decoder stops after the value.
	if off := dec.InputOffset(); len(bytes.TrimLeft(data[off:], " \t\n\r")) > 0 {
		c.errf("cannot read manifest: extra data after the JSON value, at byte %d", off)
		return c.result(nil)
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.errf("cannot read manifest: top level must be an object")
		return c.result(nil)
	}
	c.check(m)
	return c.result(m)
}

type checker struct {
	files  RunFiles
	now    time.Time
	errs   []string
	hashes map[string]string
}

func (c *checker) errf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *checker) result(m map[string]any) ManifestCheck {
	r := ManifestCheck{OK: len(c.errs) == 0, Errors: c.errs, CheckedHashes: c.hashes}
	if r.Errors == nil {
		r.Errors = []string{}
	}
	if m != nil && r.OK {
		comp, _ := m["completion"].(map[string]any)
		st, _ := comp["status"].(string)
		r.CompletionVerified = st == "PASS" && len(stringList(comp["oracle"])) > 0 && len(stringList(comp["evidence_artifacts"])) > 0
	}
	return r
}

func nonEmptyString(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", false
	}
	return s, true
}

// parseTime parses ISO-8601 with a timezone, as Python's fromisoformat does
// (with "Z" accepted).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	_, err := n.Int64()
	return err == nil
}

func (c *checker) check(m map[string]any) {
	if m["schema"] != RunManifestSchema {
		c.errf("schema must be %s", RunManifestSchema)
	}
	for _, k := range []string{"run_id", "matrix_row", "started_at", "ended_at"} {
		if _, ok := nonEmptyString(m[k]); !ok {
			c.errf("missing non-empty string: %s", k)
		}
	}
	var times [2]time.Time
	var parsed [2]bool
	for i, k := range []string{"started_at", "ended_at"} {
		s, ok := m[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		t, ok := parseTime(s)
		if !ok {
			c.errf("%s must be timezone-aware ISO-8601", k)
			continue
		}
		times[i], parsed[i] = t, true
		if t.After(c.now.Add(FutureSkew)) {
			c.errf("%s is in the future", k)
		}
	}
	if parsed[0] && parsed[1] && times[1].Before(times[0]) {
		c.errf("ended_at must be greater than or equal to started_at")
	}
	status, _ := m["status"].(string)
	if !slices.Contains(RunStatuses, status) {
		c.errf("status must be one of ['aborted', 'completed', 'failed']")
	}
	term, ok := m["termination"].(map[string]any)
	if !ok {
		c.errf("termination must be an object")
		term = map[string]any{}
	}
	reason, _ := term["reason"].(string)
	if !slices.Contains(TerminationReasons, reason) {
		c.errf("termination.reason must be one of %s", pyList(TerminationReasons))
	}
	exitCode, hasExit := term["exit_code"]
	if hasExit && exitCode != nil && !isInt(exitCode) {
		c.errf("termination.exit_code must be integer or null")
	}
	switch status {
	case "completed":
		if reason != "natural_exit" || !isInt(exitCode) || exitCode.(json.Number).String() != "0" {
			c.errf("completed requires termination.reason=natural_exit and exit_code=0")
		}
	case "failed":
		if reason != "error" {
			c.errf("failed requires termination.reason=error")
		}
	case "aborted":
		if !slices.Contains(abortedReasons, reason) {
			c.errf("aborted requires timeout/max_iterations/user_cancel/preempted")
		}
	}
	if seed, ok := m["seed"].(map[string]any); !ok {
		c.errf("seed must be an object")
	} else {
		if role, _ := seed["role"].(string); !slices.Contains(SeedRoles, role) {
			c.errf("seed.role must be one of ['fixed_repro', 'randomness_estimation']")
		}
		if !isInt(seed["value"]) {
			c.errf("seed.value must be an integer")
		}
	}
	c.checkCommand(m["command"])
	c.hashedFile("config", m["config"], false)
	c.hashedFile("environment", m["environment"], false)
	c.checkCode(m["code"])
	c.checkInputs(m["inputs"])
	arts, ok := m["artifacts"].(map[string]any)
	if !ok {
		c.errf("artifacts must be an object")
		arts = map[string]any{}
	}
	for _, name := range []string{"stdout", "stderr", "test_evidence"} {
		c.hashedFile("artifacts."+name, arts[name], false)
	}
	if status == "completed" {
		for _, name := range []string{"raw_metrics", "predictions"} {
			c.hashedFile("artifacts."+name, arts[name], false)
		}
		if arts["failure"] != nil {
			c.errf("completed run must set artifacts.failure to null")
		}
	}
	if status == "failed" || status == "aborted" {
		c.hashedFile("artifacts.failure", arts["failure"], false)
	}
	c.checkCompletion(m["completion"], arts)
	if repro, ok := m["reproducibility"].(map[string]any); !ok {
		c.errf("reproducibility must be an object")
	} else {
		names, ok := strictStringList(repro["compare_artifacts"])
		if !ok || len(names) == 0 {
			c.errf("reproducibility.compare_artifacts must be a non-empty list")
		} else if status == "completed" {
			for _, n := range names {
				if _, ok := arts[n]; !ok {
					c.errf("compare artifact not declared: artifacts.%s", n)
				}
			}
		}
	}
}

// SecretFlags are argv flags whose values must never be recorded.
var SecretFlags = []string{"--api-key", "--token", "--password", "--secret"}

func (c *checker) checkCommand(v any) {
	argv, ok := strictStringList(v)
	if !ok || len(argv) == 0 {
		c.errf("command must be a non-empty argv list")
		return
	}
	for _, a := range argv {
		if strings.TrimSpace(a) == "" {
			c.errf("command must be a non-empty argv list")
			return
		}
	}
	for _, a := range argv {
		la := strings.ToLower(a)
		for _, f := range SecretFlags {
			if la == f || strings.HasPrefix(la, f+"=") {
				c.errf("command appears to contain a secret-bearing flag; record only an env/key name")
				return
			}
		}
	}
}

func (c *checker) checkCode(v any) {
	code, ok := v.(map[string]any)
	if !ok {
		c.errf("code must be an object")
		return
	}
	if _, ok := nonEmptyString(code["commit"]); !ok {
		c.errf("missing non-empty string: commit")
	}
	dirty, isBool := code["dirty"].(bool)
	if !isBool {
		c.errf("code.dirty must be boolean")
	}
	diff := code["diff_sha256"]
	ds, _ := diff.(string)
	if isBool && dirty {
		if !hex64().MatchString(ds) {
			c.errf("dirty code requires code.diff_sha256")
		}
	} else if diff != nil && !hex64().MatchString(ds) {
		c.errf("code.diff_sha256 must be null or a 64-char hexadecimal digest")
	}
	files, ok := code["files"].([]any)
	if !ok || len(files) == 0 {
		c.errf("code.files must retain at least one path + sha256")
		return
	}
	for i, f := range files {
		c.hashedFile(fmt.Sprintf("code.files[%d]", i), f, false)
	}
}

func (c *checker) checkInputs(v any) {
	inputs, ok := v.([]any)
	if !ok || len(inputs) == 0 {
		c.errf("inputs must retain at least one hashed input")
		return
	}
	for i, in := range inputs {
		label := fmt.Sprintf("inputs[%d]", i)
		obj, ok := in.(map[string]any)
		if !ok {
			c.errf("%s must be an object", label)
			continue
		}
		role, ok := nonEmptyString(obj["role"])
		if !ok {
			c.errf("%s.role missing", label)
		}
		if role == "data" {
			if _, ok := nonEmptyString(obj["source_revision"]); !ok {
				c.errf("%s.source_revision missing for data input", label)
			}
		}
		c.hashedFile(label, obj, false)
	}
}

func (c *checker) checkCompletion(v any, arts map[string]any) {
	comp, ok := v.(map[string]any)
	if !ok {
		c.errf("completion must be an object; execution end is not task completion")
		return
	}
	st, _ := comp["status"].(string)
	if !slices.Contains(CompletionStatuses, st) {
		c.errf("completion.status must be one of ['FAIL', 'NOT_EVALUATED', 'PASS']")
	}
	oracle, ok := strictStringList(comp["oracle"])
	if ok {
		for _, o := range oracle {
			if strings.TrimSpace(o) == "" {
				ok = false
			}
		}
	}
	if !ok {
		c.errf("completion.oracle must be a list of non-empty checks")
		oracle = nil
	}
	evidence, ok := strictStringList(comp["evidence_artifacts"])
	if ok {
		for _, e := range evidence {
			if strings.TrimSpace(e) == "" {
				ok = false
			}
		}
	}
	if !ok {
		c.errf("completion.evidence_artifacts must be a list of artifact names")
		evidence = nil
	}
	if (st == "PASS" || st == "FAIL") && len(oracle) == 0 {
		c.errf("completion %s requires at least one oracle", st)
	}
	if st == "PASS" && len(evidence) == 0 {
		c.errf("completion PASS requires evidence_artifacts")
	}
	for _, e := range evidence {
		if a, ok := arts[e]; !ok || a == nil {
			c.errf("completion evidence not declared: artifacts.%s", e)
		}
	}
}

// hashedFile applies the hashed-file rules to one {path, sha256} record.
func (c *checker) hashedFile(label string, v any, optional bool) {
	if v == nil && optional {
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.errf("%s must be an object with path + sha256", label)
		return
	}
	p, ok := nonEmptyString(obj["path"])
	if !ok {
		c.errf("%s.path missing", label)
		return
	}
	want, _ := obj["sha256"].(string)
	if !hex64().MatchString(want) {
		c.errf("%s.sha256 must be a 64-char hexadecimal digest", label)
		return
	}
	rel, ok := RunRelPath(p)
	if !ok {
		c.errf("%s: path escapes run directory: %s", label, p)
		return
	}
	got, err := c.files.SHA256(rel)
	if errors.Is(err, ErrEscapesRunDir) {
		c.errf("%s: path escapes run directory: %s", label, p)
		return
	}
	if errors.Is(err, errNotExistInBundle) {
		c.errf("%s: file not found: %s", label, p)
		return
	}
	if err != nil {
		c.errf("%s: cannot read %s: %v", label, p, err)
		return
	}
	c.hashes[label] = got
	if got != want {
		c.errf("%s: sha256 mismatch expected=%s actual=%s", label, want, got)
	}
}

// RunRelPath cleans a manifest path and reports whether it stays inside the
// run directory. The result is a slash path without a leading "./".
func RunRelPath(p string) (string, bool) {
	p = strings.ReplaceAll(p, "\\", "/")
	if path.IsAbs(p) || strings.ContainsRune(p, 0) {
		return "", false
	}
	clean := path.Clean(p)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

func strictStringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func stringList(v any) []string {
	s, _ := strictStringList(v)
	return s
}

// pyList renders a sorted list the way Python prints a list of strings.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
