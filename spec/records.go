package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// Schema names of the records this file defines.
const (
	SchemaCodeSnapshot = "rigor.code_snapshot.v1"
	SchemaEnvironment  = "rigor.environment.v1"
	SchemaConfig       = "rigor.config.v1"
	SchemaInput        = "rigor.input.v1"
)

// Unavailable starts every value that stands for a fact rigor could not
// collect; the reason follows, as in "UNAVAILABLE: nvidia-smi not found".
const Unavailable = "UNAVAILABLE: "

// UnavailableReason formats the value recorded for a fact that could not be
// collected: [Unavailable] followed by reason.
func UnavailableReason(reason string) string { return Unavailable + reason }

// IsUnavailable reports whether s records a fact that could not be collected.
func IsUnavailable(s string) bool { return strings.HasPrefix(s, Unavailable) }

// Object refers to one object in the store: its BLAKE3 digest and logical
// size, and, where a Light format needs it, the SHA-256 of the same bytes as
// 64 lower-case hex digits.
type Object struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	SHA256 string        `json:"sha256,omitempty"`
}

// CodeRecord ("rigor.code_snapshot.v1") describes the source code a run can
// import. Exactly one of Git and GitUnavailable is set.
type CodeRecord struct {
	Schema string `json:"schema"`
	// Git is the state of the git work tree, nil outside git.
	Git *GitState `json:"git,omitempty"`
	// GitUnavailable says why there is no git state, for example
	// "UNAVAILABLE: not a git work tree".
	GitUnavailable string `json:"git_unavailable,omitempty"`
	// Tree is the tree of every snapshotted source file, paths relative to
	// the work tree root (or the snapshotted directory outside git).
	Tree Object `json:"tree"`
	// Files and Bytes count the regular files and symlinks in Tree and their
	// total size.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Include and Exclude are the path patterns that chose the files.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Skipped lists paths that were left out because they are neither
	// regular files, directories nor symlinks (sockets, devices, FIFOs).
	Skipped []string `json:"skipped,omitempty"`
}

// GitState is the state of a git work tree when the snapshot was taken.
type GitState struct {
	// Commit is the full object name of HEAD, or an [Unavailable] reason
	// when the branch has no commit yet.
	Commit string `json:"commit"`
	// Ref is the ref HEAD points at ("refs/heads/main"); empty when
	// Detached.
	Ref      string `json:"ref,omitempty"`
	Detached bool   `json:"detached"`
	// Dirty is true when tracked files differ from HEAD or untracked files
	// that git does not ignore exist (in the work tree or a submodule).
	Dirty bool `json:"dirty"`
	// Diff is the binary patch that takes HEAD to the work tree, untracked
	// files included, submodule changes appended with their path prefix;
	// nil when the patch is empty.
	Diff *Object `json:"diff,omitempty"`
	// Submodules are the checked-out submodules, recursively, by path.
	Submodules []Submodule `json:"submodules,omitempty"`
}

// Submodule is the state of one checked-out submodule.
type Submodule struct {
	Path   string `json:"path"`
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
}

// EnvRecord ("rigor.environment.v1") describes the machine and software a
// run executes on. Each section that could not be probed says why in its
// Unavailable member instead of holding values.
type EnvRecord struct {
	Schema    string     `json:"schema"`
	OS        OSInfo     `json:"os"`
	CPU       CPUInfo    `json:"cpu"`
	Memory    MemoryInfo `json:"memory"`
	GPU       GPUInfo    `json:"gpu"`
	Python    PythonInfo `json:"python"`
	LockFiles []LockFile `json:"lock_files,omitempty"`
	// Env holds the allow-listed environment variables and, redacted, every
	// variable that looks like a credential (see [RedactEnv]).
	Env []EnvVar `json:"env,omitempty"`
	// Locale is the effective LC_ALL, LC_CTYPE or LANG, "C" when none is set.
	Locale string `json:"locale"`
	// TimeZone is TZ, else the zone /etc/localtime names, else an
	// [Unavailable] reason.
	TimeZone string   `json:"time_zone"`
	Rigor    ToolInfo `json:"rigor"`
}

// OSInfo describes the operating system.
type OSInfo struct {
	Name          string `json:"name"` // GOOS: linux, darwin...
	Arch          string `json:"arch"` // GOARCH: amd64, arm64...
	Kernel        string `json:"kernel,omitempty"`
	KernelVersion string `json:"kernel_version,omitempty"`
	Distribution  string `json:"distribution,omitempty"`
	Hostname      string `json:"hostname,omitempty"`
	Unavailable   string `json:"unavailable,omitempty"`
}

// CPUInfo describes the processors.
type CPUInfo struct {
	Model string   `json:"model,omitempty"`
	Flags []string `json:"flags,omitempty"` // sorted, unique
	// Cores is the number of logical CPUs of the machine; Usable the number
	// this process may run on.
	Cores       int    `json:"cores"`
	Usable      int    `json:"usable"`
	Unavailable string `json:"unavailable,omitempty"`
}

// MemoryInfo describes main memory.
type MemoryInfo struct {
	TotalBytes  int64  `json:"total_bytes"`
	Unavailable string `json:"unavailable,omitempty"`
}

// GPUInfo describes the GPUs as nvidia-smi reports them, and the CUDA and
// cuDNN versions. CUDA and CUDNN hold a version or an [Unavailable] reason.
type GPUInfo struct {
	Devices     []GPU  `json:"devices,omitempty"`
	CUDA        string `json:"cuda"`
	CUDNN       string `json:"cudnn"`
	Unavailable string `json:"unavailable,omitempty"`
}

// GPU is one device.
type GPU struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	Driver      string `json:"driver"`
	Memory      string `json:"memory"` // as reported: "81559 MiB"
	MemoryBytes int64  `json:"memory_bytes"`
	UUID        string `json:"uuid"`
}

// PythonInfo describes the Python interpreter a run will use.
type PythonInfo struct {
	Executable     string `json:"executable,omitempty"`
	Version        string `json:"version,omitempty"` // "3.11.7"
	SysVersion     string `json:"sys_version,omitempty"`
	Implementation string `json:"implementation,omitempty"` // "cpython"
	Platform       string `json:"platform,omitempty"`
	Prefix         string `json:"prefix,omitempty"`
	// Distributions are the installed distributions, sorted by name then
	// version.
	Distributions []Distribution `json:"distributions,omitempty"`
	Unavailable   string         `json:"unavailable,omitempty"`
}

// Distribution is one installed Python distribution.
type Distribution struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// LockFile is a dependency lock or manifest file found next to the code.
type LockFile struct {
	Path string `json:"path"` // slash-separated, relative to the project root
	Object
}

// ToolInfo identifies the rigor build that made a record.
type ToolInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version,omitempty"`
	Revision  string `json:"revision,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
}

// ConfigRecord ("rigor.config.v1") records a matrix-row config. The
// digest of Canonical is the config's identity.
type ConfigRecord struct {
	Schema string `json:"schema"`
	// Path is the config file as named by the user, if it came from a file.
	Path string `json:"path,omitempty"`
	// Format is the syntax it was written in: "json" or "yaml".
	Format string `json:"format"`
	// Source holds the bytes as given; Canonical their canonical JSON form.
	Source    Object `json:"source"`
	Canonical Object `json:"canonical"`
	// ValidatedAgainst is the JSON Schema the config satisfied, nil when it
	// was not validated.
	ValidatedAgainst *SchemaRef `json:"validated_against,omitempty"`
}

// SchemaRef identifies a JSON Schema by its $id and stored bytes.
type SchemaRef struct {
	ID string `json:"id"`
	Object
}

// Input kinds.
const (
	InputFile = "file"
	InputTree = "tree"
)

// InputRecord ("rigor.input.v1") records one data input.
type InputRecord struct {
	Schema string `json:"schema"`
	// Role says what the run uses the input for ("data", "weights"...).
	Role string `json:"role"`
	// Path is the input as named by the user.
	Path string `json:"path"`
	// SourceRevision names the upstream version; required for role "data".
	SourceRevision string `json:"source_revision,omitempty"`
	SplitID        string `json:"split_id,omitempty"`
	// Kind is "file" or "tree".
	Kind string `json:"kind"`
	// Digest is the store identity: the blob of a file, the tree of a
	// directory. Size is the file size, or the total size of a tree's files;
	// Files their number.
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	Files  int           `json:"files"`
	// SHA256 is the SHA-256 of a file's bytes. For a tree it is the SHA-256
	// of its sha256sum-format manifest ("<hex>  <path>\n" per file, sorted
	// by path), which is stored as SHA256Manifest.
	SHA256         string  `json:"sha256"`
	SHA256Manifest *Object `json:"sha256_manifest,omitempty"`
}

// Encode validates r and returns its canonical JSON encoding.
func (r *CodeRecord) Encode() ([]byte, error) { return encodeRecord(r) }

// Encode validates r and returns its canonical JSON encoding.
func (r *EnvRecord) Encode() ([]byte, error) { return encodeRecord(r) }

// Encode validates r and returns its canonical JSON encoding.
func (r *ConfigRecord) Encode() ([]byte, error) { return encodeRecord(r) }

// Encode validates r and returns its canonical JSON encoding.
func (r *InputRecord) Encode() ([]byte, error) { return encodeRecord(r) }

type validator interface{ Validate() error }

func encodeRecord(r validator) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return Canonical(r)
}

// DecodeCodeRecord decodes and validates a "rigor.code_snapshot.v1" record
// strictly (see the package documentation).
func DecodeCodeRecord(data []byte) (*CodeRecord, error) {
	r := new(CodeRecord)
	return r, decodeRecord(data, SchemaCodeSnapshot, r)
}

// DecodeEnvRecord decodes and validates a "rigor.environment.v1" record.
func DecodeEnvRecord(data []byte) (*EnvRecord, error) {
	r := new(EnvRecord)
	return r, decodeRecord(data, SchemaEnvironment, r)
}

// DecodeConfigRecord decodes and validates a "rigor.config.v1" record.
func DecodeConfigRecord(data []byte) (*ConfigRecord, error) {
	r := new(ConfigRecord)
	return r, decodeRecord(data, SchemaConfig, r)
}

// DecodeInputRecord decodes and validates a "rigor.input.v1" record.
func DecodeInputRecord(data []byte) (*InputRecord, error) {
	r := new(InputRecord)
	return r, decodeRecord(data, SchemaInput, r)
}

// RecordSchema returns the "schema" member of a JSON object, so a reader can
// pick the decoder; it returns an error wrapping [ErrSyntax] or [ErrSchema].
func RecordSchema(data []byte) (string, error) {
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if head.Schema == nil {
		return "", fmt.Errorf("%w: no \"schema\" member", ErrSchema)
	}
	return *head.Schema, nil
}

func decodeRecord(data []byte, schema string, r validator) error {
	// ParseJSON first: it rejects what encoding/json forgives (duplicate
	// keys, invalid UTF-8).
	tree, err := ParseJSON(data)
	if err != nil {
		return err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s record is not a JSON object", ErrSyntax, schema)
	}
	if got, _ := obj["schema"].(string); got != schema {
		return fmt.Errorf("%w: got %q, want %q", ErrSchema, got, schema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return fmt.Errorf("%s: %w: %s", schema, ErrUnknownField, strings.TrimPrefix(err.Error(), "json: "))
		}
		return fmt.Errorf("%s: %w: %v", schema, ErrSyntax, err)
	}
	return r.Validate()
}

// problems accumulates rule violations of one record.
type problems struct {
	schema string
	errs   []string
}

func (p *problems) addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", p.schema, ErrInvalid, strings.Join(p.errs, "; "))
}

func (p *problems) schemaIs(got string) {
	if got != p.schema {
		p.errs = append(p.errs, fmt.Sprintf("schema is %q, want %q", got, p.schema))
	}
}

func (p *problems) nonEmpty(field, v string) {
	if strings.TrimSpace(v) == "" {
		p.addf("%s must be a non-empty string", field)
	}
}

func (p *problems) unavailable(field, v string, optional bool) {
	if v == "" && optional {
		return
	}
	if !IsUnavailable(v) || strings.TrimSpace(strings.TrimPrefix(v, Unavailable)) == "" {
		p.addf("%s must be %q followed by a reason", field, Unavailable)
	}
}

// ValidDigest reports whether d is a digest a record may hold:
// "blake3:" or "sha256:" followed by 64 lower-case hex digits.
func ValidDigest(d digest.Digest) bool {
	alg, hex, ok := strings.Cut(string(d), ":")
	return ok && (alg == "blake3" || alg == "sha256") && IsHex64(hex)
}

// IsHex64 reports whether s is 64 lower-case hex digits, the form of a
// SHA-256 in Light formats.
func IsHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (p *problems) object(field string, o Object, needSHA bool) {
	if !ValidDigest(o.Digest) {
		p.addf("%s.digest %q is not a blake3:/sha256: digest", field, o.Digest)
	}
	if o.Size < 0 {
		p.addf("%s.size is negative", field)
	}
	if (needSHA || o.SHA256 != "") && !IsHex64(o.SHA256) {
		p.addf("%s.sha256 must be 64 lower-case hex digits", field)
	}
}

func (p *problems) relPath(field, v string) {
	if v == "" || strings.HasPrefix(v, "/") || strings.Contains(v, "\\") || slices.Contains(strings.Split(v, "/"), "..") {
		p.addf("%s %q must be a relative slash-separated path inside the root", field, v)
	}
}

func sortedUnique(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// Validate checks the rules of "rigor.code_snapshot.v1"; its error wraps
// [ErrInvalid] and lists every violation.
func (r *CodeRecord) Validate() error {
	p := &problems{schema: SchemaCodeSnapshot}
	p.schemaIs(r.Schema)
	switch {
	case r.Git == nil && r.GitUnavailable == "":
		p.addf("one of git and git_unavailable is required")
	case r.Git != nil && r.GitUnavailable != "":
		p.addf("git and git_unavailable are mutually exclusive")
	case r.Git != nil:
		g := r.Git
		if !IsUnavailable(g.Commit) && !isObjectName(g.Commit) {
			p.addf("git.commit %q is not a full hex object name", g.Commit)
		}
		if g.Detached == (g.Ref != "") {
			p.addf("git.ref must be set exactly when HEAD is not detached")
		}
		if g.Diff != nil {
			p.object("git.diff", *g.Diff, true)
			if !g.Dirty {
				p.addf("git.diff is set but git.dirty is false")
			}
		}
		for i, s := range g.Submodules {
			p.relPath(fmt.Sprintf("git.submodules[%d].path", i), s.Path)
			if !isObjectName(s.Commit) && !IsUnavailable(s.Commit) {
				p.addf("git.submodules[%d].commit %q is not a full hex object name", i, s.Commit)
			}
			if i > 0 && g.Submodules[i-1].Path >= s.Path {
				p.addf("git.submodules must be sorted by path, each path once")
			}
		}
	default:
		p.unavailable("git_unavailable", r.GitUnavailable, false)
	}
	p.object("tree", r.Tree, false)
	if r.Files < 0 || r.Bytes < 0 {
		p.addf("files and bytes must not be negative")
	}
	if !sortedUnique(r.Skipped) {
		p.addf("skipped must be sorted, each path once")
	}
	return p.err()
}

// isObjectName reports whether s is a full git object name (SHA-1 or SHA-256).
func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return IsHex64(s + strings.Repeat("0", 64-len(s)))
}

// Validate checks the rules of "rigor.environment.v1"; its error wraps
// [ErrInvalid] and lists every violation. It also rejects an environment
// variable that looks like a credential but is not redacted.
func (r *EnvRecord) Validate() error {
	p := &problems{schema: SchemaEnvironment}
	p.schemaIs(r.Schema)
	p.nonEmpty("os.name", r.OS.Name)
	p.nonEmpty("os.arch", r.OS.Arch)
	p.unavailable("os.unavailable", r.OS.Unavailable, true)
	p.unavailable("cpu.unavailable", r.CPU.Unavailable, true)
	if !sortedUnique(r.CPU.Flags) {
		p.addf("cpu.flags must be sorted, each flag once")
	}
	if r.CPU.Cores < 0 || r.CPU.Usable < 0 || r.Memory.TotalBytes < 0 {
		p.addf("cpu.cores, cpu.usable and memory.total_bytes must not be negative")
	}
	p.unavailable("memory.unavailable", r.Memory.Unavailable, true)
	p.unavailable("gpu.unavailable", r.GPU.Unavailable, true)
	if r.GPU.Unavailable != "" && len(r.GPU.Devices) > 0 {
		p.addf("gpu.devices must be empty when gpu.unavailable is set")
	}
	p.nonEmpty("gpu.cuda", r.GPU.CUDA)
	p.nonEmpty("gpu.cudnn", r.GPU.CUDNN)
	for i, d := range r.GPU.Devices {
		if d.Index != i {
			p.addf("gpu.devices[%d].index is %d, want %d", i, d.Index, i)
		}
		p.nonEmpty(fmt.Sprintf("gpu.devices[%d].name", i), d.Name)
	}
	py := r.Python
	if py.Unavailable != "" {
		p.unavailable("python.unavailable", py.Unavailable, false)
	} else {
		p.nonEmpty("python.version", py.Version)
		p.nonEmpty("python.implementation", py.Implementation)
	}
	for i, d := range py.Distributions {
		p.nonEmpty(fmt.Sprintf("python.distributions[%d].name", i), d.Name)
		if i > 0 && compareDist(py.Distributions[i-1], d) >= 0 {
			p.addf("python.distributions must be sorted by name then version, each once")
			break
		}
	}
	for i, l := range r.LockFiles {
		p.relPath(fmt.Sprintf("lock_files[%d].path", i), l.Path)
		p.object(fmt.Sprintf("lock_files[%d]", i), l.Object, true)
		if i > 0 && r.LockFiles[i-1].Path >= l.Path {
			p.addf("lock_files must be sorted by path, each path once")
		}
	}
	for i, v := range r.Env {
		p.nonEmpty(fmt.Sprintf("env[%d].name", i), v.Name)
		if i > 0 && r.Env[i-1].Name >= v.Name {
			p.addf("env must be sorted by name, each name once")
		}
		if v.Redacted && v.Value != Redacted {
			p.addf("env[%d] (%s) is marked redacted but holds a value", i, v.Name)
		}
		if !v.Redacted && (IsSecretName(v.Name) || IsSecretValue(v.Value)) {
			p.addf("env[%d] (%s) looks like a credential and must be redacted", i, v.Name)
		}
	}
	p.nonEmpty("locale", r.Locale)
	p.nonEmpty("time_zone", r.TimeZone)
	p.nonEmpty("rigor.version", r.Rigor.Version)
	return p.err()
}

// CompareDistributions orders distributions by name, case-insensitively,
// then by name and version bytes; it is the order of
// [PythonInfo.Distributions].
func CompareDistributions(a, b Distribution) int { return compareDist(a, b) }

func compareDist(a, b Distribution) int {
	if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Version, b.Version)
}

// Validate checks the rules of "rigor.config.v1"; its error wraps
// [ErrInvalid] and lists every violation.
func (r *ConfigRecord) Validate() error {
	p := &problems{schema: SchemaConfig}
	p.schemaIs(r.Schema)
	if r.Format != "json" && r.Format != "yaml" {
		p.addf("format %q must be json or yaml", r.Format)
	}
	p.object("source", r.Source, false)
	p.object("canonical", r.Canonical, true)
	if v := r.ValidatedAgainst; v != nil {
		p.nonEmpty("validated_against.id", v.ID)
		p.object("validated_against", v.Object, false)
	}
	return p.err()
}

// Validate checks the rules of "rigor.input.v1"; its error wraps
// [ErrInvalid] and lists every violation.
func (r *InputRecord) Validate() error {
	p := &problems{schema: SchemaInput}
	p.schemaIs(r.Schema)
	p.nonEmpty("role", r.Role)
	p.nonEmpty("path", r.Path)
	if r.Role == "data" && strings.TrimSpace(r.SourceRevision) == "" {
		p.addf("source_revision is required for a data input")
	}
	if !ValidDigest(r.Digest) {
		p.addf("digest %q is not a blake3:/sha256: digest", r.Digest)
	}
	if r.Size < 0 || r.Files < 0 {
		p.addf("size and files must not be negative")
	}
	if !IsHex64(r.SHA256) {
		p.addf("sha256 must be 64 lower-case hex digits")
	}
	switch r.Kind {
	case InputFile:
		if r.SHA256Manifest != nil {
			p.addf("sha256_manifest is only for a tree input")
		}
		if r.Files != 1 {
			p.addf("a file input has files = 1")
		}
	case InputTree:
		if r.SHA256Manifest == nil {
			p.addf("a tree input needs sha256_manifest")
		} else {
			p.object("sha256_manifest", *r.SHA256Manifest, true)
			if r.SHA256Manifest.SHA256 != r.SHA256 {
				p.addf("sha256 must be the SHA-256 of sha256_manifest")
			}
		}
	default:
		p.addf("kind %q must be %q or %q", r.Kind, InputFile, InputTree)
	}
	return p.err()
}
