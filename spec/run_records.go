package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
)

// Schema names of the records rigor writes into a run bundle (besides the
// Light manifest itself).
const (
	SchemaRun          = "rigor.run.v1"
	SchemaRunSummary   = "rigor.run_summary.v1"
	SchemaResources    = "rigor.resources.v1"
	SchemaFailure      = "rigor.failure.v1"
	SchemaTestEvidence = "rigor.test_evidence.v1"
	SchemaOracle       = "rigor.oracle.v1"
)

// Termination reasons of light.run_manifest.v3, by name.
const (
	ReasonNaturalExit   = "natural_exit"
	ReasonTimeout       = "timeout"
	ReasonMaxIterations = "max_iterations"
	ReasonUserCancel    = "user_cancel"
	ReasonError         = "error"
	ReasonPreempted     = "preempted"
)

// Run statuses of light.run_manifest.v3, by name.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusAborted   = "aborted"
)

// Completion statuses of light.run_manifest.v3, by name.
const (
	CompletionPass         = "PASS"
	CompletionFail         = "FAIL"
	CompletionNotEvaluated = "NOT_EVALUATED"
)

// StatusFor returns the run status light.run_manifest.v3 requires for a
// termination reason and exit code: completed only for natural_exit with
// exit code 0; aborted for timeout, max_iterations, user_cancel and
// preempted; failed otherwise (error, or natural_exit with another code,
// which rigor records as error in the first place).
func StatusFor(reason string, exitCode *int) string {
	switch {
	case reason == ReasonNaturalExit && exitCode != nil && *exitCode == 0:
		return StatusCompleted
	case slices.Contains(abortedReasons, reason):
		return StatusAborted
	default:
		return StatusFailed
	}
}

// rowName is what a matrix row may be called: it becomes part of a ref
// name, a run id and a directory name.
var rowName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`) })

// ValidRowName reports whether row can name a matrix row in rigor: 1 to 128
// letters, digits, '.', '_' or '-', starting with a letter or digit, and not
// containing "__" (the run-id separator).
func ValidRowName(row string) bool {
	return rowName().MatchString(row) && !strings.Contains(row, "__")
}

// RunID returns the run id of an attempt: "<row>__seed-<n>__attempt-<k>".
func RunID(row string, seed int64, attempt int) string {
	return fmt.Sprintf("%s__seed-%d__attempt-%d", row, seed, attempt)
}

// RunRef returns the ref name of an attempt: "runs/<row>/seed-<n>/attempt-<k>".
func RunRef(row string, seed int64, attempt int) string {
	return fmt.Sprintf("runs/%s/seed-%d/attempt-%d", row, seed, attempt)
}

var runIDPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(.+)__seed-(0|[1-9][0-9]*)__attempt-([1-9][0-9]*)$`)
})

// ParseRunID splits a run id made by [RunID]; ok is false for anything else.
func ParseRunID(id string) (row string, seed int64, attempt int, ok bool) {
	m := runIDPattern().FindStringSubmatch(id)
	if m == nil || !ValidRowName(m[1]) {
		return "", 0, 0, false
	}
	if _, err := fmt.Sscan(m[2], &seed); err != nil {
		return "", 0, 0, false
	}
	if _, err := fmt.Sscan(m[3], &attempt); err != nil {
		return "", 0, 0, false
	}
	return m[1], seed, attempt, true
}

// RunRecord ("rigor.run.v1") is rigor's own account of how an attempt was
// started, stored as rigor/run.json in the run bundle. Argv, commands and
// environment are recorded redacted; the child got the real values.
type RunRecord struct {
	Schema  string `json:"schema"`
	RunID   string `json:"run_id"`
	Ref     string `json:"ref"`
	Row     string `json:"matrix_row"`
	Seed    Seed   `json:"seed"`
	Attempt int    `json:"attempt"`
	// Argv is the command as run, through [RedactArgv] (secret flags kept,
	// their values replaced). The manifest's command uses [StripSecretArgs].
	Argv []string `json:"argv"`
	// Dir is the working directory of the child.
	Dir string `json:"dir"`
	// EnvSet are the variables rigor set for the child (seed, run id, output
	// directory, CUBLAS_WORKSPACE_CONFIG), as set.
	EnvSet []EnvVar `json:"env_set"`
	// Env is the child's whole environment through [RedactEnv] with the
	// default allow-list.
	Env []EnvVar `json:"env"`
	// TimeoutMS is the --timeout (0: none); GraceMS the time between SIGTERM
	// and SIGKILL.
	TimeoutMS int64 `json:"timeout_ms"`
	GraceMS   int64 `json:"grace_ms"`
	// TestCommand and OracleCommand are the --test and --oracle commands,
	// redacted; empty when not given.
	TestCommand   string `json:"test_command,omitempty"`
	OracleCommand string `json:"oracle_command,omitempty"`
	// Config names the config file as given; empty when the config was
	// made from flags.
	Config string   `json:"config,omitempty"`
	Rigor  ToolInfo `json:"rigor"`
}

// Validate checks the rules of "rigor.run.v1".
func (r *RunRecord) Validate() error {
	p := &problems{schema: SchemaRun}
	p.schemaIs(r.Schema)
	p.nonEmpty("run_id", r.RunID)
	p.nonEmpty("ref", r.Ref)
	if !ValidRowName(r.Row) {
		p.addf("matrix_row %q is not a valid row name", r.Row)
	}
	if !slices.Contains(SeedRoles, r.Seed.Role) {
		p.addf("seed.role %q is not one of %s", r.Seed.Role, pyList(SeedRoles))
	}
	if r.Attempt < 1 {
		p.addf("attempt must be at least 1")
	}
	if len(r.Argv) == 0 {
		p.addf("argv must not be empty")
	}
	for i, v := range append(slices.Clone(r.EnvSet), r.Env...) {
		if !v.Redacted && (IsSecretName(v.Name) || IsSecretValue(v.Value)) {
			p.addf("env[%d] (%s) looks like a credential and must be redacted", i, v.Name)
		}
	}
	p.nonEmpty("rigor.version", r.Rigor.Version)
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *RunRecord) Encode() ([]byte, error) { return encodeRecord(r) }

// RunSummary ("rigor.run_summary.v1") is the small record kept per run in
// the store's "runs" index, so that listing runs never reads a bundle.
type RunSummary struct {
	Schema      string        `json:"schema"`
	RunID       string        `json:"run_id"`
	Row         string        `json:"matrix_row"`
	Seed        Seed          `json:"seed"`
	Attempt     int           `json:"attempt"`
	Ref         string        `json:"ref"`
	Status      string        `json:"status"`
	Termination string        `json:"termination"`
	ExitCode    *int          `json:"exit_code"`
	Signal      *int          `json:"signal"`
	Completion  string        `json:"completion"`
	StartedAt   string        `json:"started_at"`
	EndedAt     string        `json:"ended_at"`
	DurationMS  int64         `json:"duration_ms"`
	Root        digest.Digest `json:"root"`
	// Config is the digest of the canonical config (config.json).
	Config digest.Digest `json:"config"`
}

// Validate checks the rules of "rigor.run_summary.v1".
func (r *RunSummary) Validate() error {
	p := &problems{schema: SchemaRunSummary}
	p.schemaIs(r.Schema)
	row, seed, attempt, ok := ParseRunID(r.RunID)
	switch {
	case !ok:
		p.addf("run_id %q is not <row>__seed-<n>__attempt-<k>", r.RunID)
	case row != r.Row || seed != r.Seed.Value || attempt != r.Attempt:
		p.addf("run_id %q disagrees with matrix_row, seed or attempt", r.RunID)
	}
	if r.Ref != RunRef(r.Row, r.Seed.Value, r.Attempt) {
		p.addf("ref %q is not %q", r.Ref, RunRef(r.Row, r.Seed.Value, r.Attempt))
	}
	if !slices.Contains(SeedRoles, r.Seed.Role) {
		p.addf("seed.role %q is not one of %s", r.Seed.Role, pyList(SeedRoles))
	}
	if !slices.Contains(RunStatuses, r.Status) {
		p.addf("status %q is not one of %s", r.Status, pyList(RunStatuses))
	}
	if !slices.Contains(TerminationReasons, r.Termination) {
		p.addf("termination %q is not one of %s", r.Termination, pyList(TerminationReasons))
	} else if r.Status != "" && StatusFor(r.Termination, r.ExitCode) != r.Status {
		p.addf("status %q does not go with termination %q", r.Status, r.Termination)
	}
	if !slices.Contains(CompletionStatuses, r.Completion) {
		p.addf("completion %q is not one of %s", r.Completion, pyList(CompletionStatuses))
	}
	if r.DurationMS < 0 {
		p.addf("duration_ms must not be negative")
	}
	if !ValidDigest(r.Root) {
		p.addf("root %q is not a digest", r.Root)
	}
	if !ValidDigest(r.Config) {
		p.addf("config %q is not a digest", r.Config)
	}
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *RunSummary) Encode() ([]byte, error) { return encodeRecord(r) }

// DecodeRunSummary decodes and validates a "rigor.run_summary.v1" record
// strictly.
func DecodeRunSummary(data []byte) (*RunSummary, error) {
	r := new(RunSummary)
	return r, decodeRecord(data, SchemaRunSummary, r)
}

// Resources is what an attempt consumed. CPU time and peak RSS come from
// the child's rusage, so they cover the child and the descendants it waited
// for.
type Resources struct {
	WallMS       int64  `json:"wall_ms"`
	UserCPUMS    int64  `json:"user_cpu_ms"`
	SystemCPUMS  int64  `json:"system_cpu_ms"`
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	StdoutBytes  int64  `json:"stdout_bytes"`
	StderrBytes  int64  `json:"stderr_bytes"`
	GPU          GPUUse `json:"gpu"`
}

// GPUUse is GPU time sampled with nvidia-smi while the attempt ran, or why
// it could not be.
type GPUUse struct {
	// Unavailable says why nothing was sampled ("UNAVAILABLE: nvidia-smi not
	// found"); the other fields are then zero.
	Unavailable string `json:"unavailable,omitempty"`
	Samples     int    `json:"samples"`
	IntervalMS  int64  `json:"interval_ms"`
	// BusyMS is the sum over samples and devices of utilisation × interval:
	// GPU time of the whole devices, this run's or not.
	BusyMS int64 `json:"busy_ms"`
	// ProcessMS is the time during which a process of the run's process
	// group was seen among the devices' compute processes. It stays 0 when
	// nvidia-smi reports process ids of another pid namespace.
	ProcessMS int64 `json:"process_ms"`
	// MaxMemoryUsedBytes is the most device memory in use at one sample,
	// summed over devices.
	MaxMemoryUsedBytes int64 `json:"max_memory_used_bytes"`
	Devices            int   `json:"devices"`
}

// StopSignal is a signal rigor sent to the run's process group.
type StopSignal struct {
	Signal string `json:"signal"` // "SIGTERM"
	// AtMS is when it was sent, in milliseconds after the start.
	AtMS int64 `json:"at_ms"`
	// Why: "timeout", "user_cancel", "grace_expired" or "leftover" (members
	// of the group still alive after the main process exited).
	Why string `json:"why"`
}

// OOMEvidence is recorded when the child was killed by SIGKILL that rigor
// did not send, the signature of the kernel's OOM killer.
type OOMEvidence struct {
	// Suspected is always true in a record; Confirmed when the kernel's
	// cgroup oom_kill counter rose while the attempt ran.
	Suspected    bool  `json:"suspected_oom"`
	Confirmed    bool  `json:"confirmed"`
	Signal       int   `json:"signal"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// MemoryLimitBytes is the cgroup memory limit, nil when unlimited or
	// unknown.
	MemoryLimitBytes *int64 `json:"memory_limit_bytes"`
	// OOMKillsBefore and OOMKillsAfter are the cgroup's oom_kill counter;
	// nil when it could not be read.
	OOMKillsBefore *int64 `json:"oom_kills_before"`
	OOMKillsAfter  *int64 `json:"oom_kills_after"`
	// Source names the counter file, or why there is none.
	Source string `json:"source"`
}

// ResourcesRecord ("rigor.resources.v1") is stored as rigor/resources.json.
type ResourcesRecord struct {
	Schema      string       `json:"schema"`
	Resources   Resources    `json:"resources"`
	StopSignals []StopSignal `json:"stop_signals,omitempty"`
	OOM         *OOMEvidence `json:"oom,omitempty"`
}

// Validate checks the rules of "rigor.resources.v1".
func (r *ResourcesRecord) Validate() error {
	p := &problems{schema: SchemaResources}
	p.schemaIs(r.Schema)
	p.resources("resources", r.Resources)
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *ResourcesRecord) Encode() ([]byte, error) { return encodeRecord(r) }

func (p *problems) resources(field string, r Resources) {
	if r.WallMS < 0 || r.UserCPUMS < 0 || r.SystemCPUMS < 0 || r.PeakRSSBytes < 0 || r.StdoutBytes < 0 || r.StderrBytes < 0 {
		p.addf("%s: times, sizes and byte counts must not be negative", field)
	}
	if r.GPU.Unavailable != "" {
		p.unavailable(field+".gpu.unavailable", r.GPU.Unavailable, false)
	}
}

// FailureRecord ("rigor.failure.v1") is the failure artifact (failure.json)
// of a failed or aborted run.
type FailureRecord struct {
	Schema string `json:"schema"`
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	// Reason is the termination reason; Message says it in words.
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	ExitCode *int   `json:"exit_code"`
	Signal   *int   `json:"signal"`
	// SignalName is the name of Signal ("SIGKILL"), empty when none.
	SignalName  string       `json:"signal_name,omitempty"`
	StopSignals []StopSignal `json:"stop_signals,omitempty"`
	// StderrTail is the end of stderr.log (at most 64 lines or 8 KiB).
	StderrTail string       `json:"stderr_tail"`
	Resources  Resources    `json:"resources"`
	OOM        *OOMEvidence `json:"oom,omitempty"`
	// StartError says why the program could not be started, if it could not.
	StartError string `json:"start_error,omitempty"`
	// ProgramFailure is the failure.json the program wrote itself, kept at
	// this path of the bundle; empty when it wrote none.
	ProgramFailure string `json:"program_failure,omitempty"`
}

// Validate checks the rules of "rigor.failure.v1".
func (r *FailureRecord) Validate() error {
	p := &problems{schema: SchemaFailure}
	p.schemaIs(r.Schema)
	p.nonEmpty("run_id", r.RunID)
	if r.Status != StatusFailed && r.Status != StatusAborted {
		p.addf("status %q must be failed or aborted", r.Status)
	}
	if !slices.Contains(TerminationReasons, r.Reason) {
		p.addf("reason %q is not one of %s", r.Reason, pyList(TerminationReasons))
	} else if StatusFor(r.Reason, r.ExitCode) != r.Status {
		p.addf("status %q does not go with reason %q", r.Status, r.Reason)
	}
	p.nonEmpty("message", r.Message)
	p.resources("resources", r.Resources)
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *FailureRecord) Encode() ([]byte, error) { return encodeRecord(r) }

// TestEvidence ("rigor.test_evidence.v1") is the test_evidence.json rigor
// writes: the result of --test, or a NOT_EVALUATED record saying why there
// is none.
type TestEvidence struct {
	Schema string `json:"schema"`
	// Status is PASS (the test command exited 0), FAIL or NOT_EVALUATED.
	Status     string `json:"status"`
	Command    string `json:"command,omitempty"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	Signal     *int   `json:"signal,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// Stdout and Stderr are the paths, in the bundle, of the test command's
	// output: its report.
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// Tail is the end of its stdout (at most 8 KiB), where test runners
	// print their summary.
	Tail   string `json:"tail,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the rules of "rigor.test_evidence.v1".
func (r *TestEvidence) Validate() error {
	p := &problems{schema: SchemaTestEvidence}
	p.schemaIs(r.Schema)
	if !slices.Contains(CompletionStatuses, r.Status) {
		p.addf("status %q is not one of %s", r.Status, pyList(CompletionStatuses))
	}
	if r.Status == CompletionNotEvaluated {
		p.nonEmpty("reason", r.Reason)
	} else {
		p.nonEmpty("command", r.Command)
		if (r.ExitCode == nil) == (r.Signal == nil) {
			p.addf("exactly one of exit_code and signal is required when the tests ran")
		}
	}
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *TestEvidence) Encode() ([]byte, error) { return encodeRecord(r) }

// OracleCheck is one check of the completion oracle.
type OracleCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"` // PASS, FAIL or NOT_EVALUATED
	Detail string `json:"detail,omitempty"`
}

// OracleReport ("rigor.oracle.v1") is stored as rigor/oracle.json: the
// completion judgement with the result of every check.
type OracleReport struct {
	Schema string        `json:"schema"`
	Status string        `json:"status"`
	Checks []OracleCheck `json:"checks"`
}

// Validate checks the rules of "rigor.oracle.v1".
func (r *OracleReport) Validate() error {
	p := &problems{schema: SchemaOracle}
	p.schemaIs(r.Schema)
	if !slices.Contains(CompletionStatuses, r.Status) {
		p.addf("status %q is not one of %s", r.Status, pyList(CompletionStatuses))
	}
	for i, c := range r.Checks {
		p.nonEmpty(fmt.Sprintf("checks[%d].name", i), c.Name)
		if !slices.Contains(CompletionStatuses, c.Status) {
			p.addf("checks[%d].status %q is not one of %s", i, c.Status, pyList(CompletionStatuses))
		}
	}
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding.
func (r *OracleReport) Encode() ([]byte, error) { return encodeRecord(r) }
