package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// Limits on what a run page reads from the store.
const (
	maxManifest    = 64 << 20 // as verify
	maxShownJSON   = 1 << 20  // config, environment, failure, records
	maxShownDiff   = 1 << 20  // the dirty diff
	maxTailSize    = 4 << 20  // logs larger than this get no tail on the run page
	runPageTail    = 100      // lines of each log tail on the run page
	maxListedFiles = 2000     // files of the bundle listed
	maxRelated     = 200      // runs of the same row listed
	maxFindingScan = 32       // JSON files read looking for findings reports
	maxFindingFile = 1 << 20  // and the largest of them read
)

// FileView is one file of a run bundle.
type FileView struct {
	// Name is the artifact name, input role or log name, where it has one.
	Name string `json:"name,omitempty"`
	Path string `json:"path"`
	// Digest is the BLAKE3 digest of the content in the store (from the
	// bundle's tree, whatever the manifest says); empty when Missing.
	Digest digest.Digest `json:"digest,omitempty"`
	// SHA256 is the SHA-256 the manifest declares, where it declares one.
	SHA256  string `json:"sha256,omitempty"`
	Size    int64  `json:"size"`
	Mode    string `json:"mode,omitempty"`
	Missing bool   `json:"missing,omitempty"`
}

// TextView is the shown content of a small file.
type TextView struct {
	FileView
	Text string `json:"text"`
	// Note says why the text is absent or cut.
	Note string `json:"note,omitempty"`
}

// InputView is one data input of a run, with both its digests.
type InputView struct {
	FileView
	Role           string `json:"role"`
	SourceRevision string `json:"source_revision,omitempty"`
	SplitID        string `json:"split_id,omitempty"`
	// DeclaredBLAKE3 is the blake3 member of the manifest's record, when
	// rigor wrote one (it equals Digest for a file input; for a directory
	// input Digest is the sha256sum listing and DeclaredBLAKE3 the tree).
	DeclaredBLAKE3 string `json:"declared_blake3,omitempty"`
}

// CodeView is the code identity of a run.
type CodeView struct {
	Commit string     `json:"commit"`
	Dirty  bool       `json:"dirty"`
	Files  []FileView `json:"files"`
	// Diff is the dirty diff (rigor/code.diff), its lines classed for
	// display.
	Diff *DiffView `json:"diff,omitempty"`
}

// DiffView is a unified diff, line by line.
type DiffView struct {
	FileView
	Lines []DiffLine `json:"lines"`
	Note  string     `json:"note,omitempty"`
}

// DiffLine is one line of a diff; Class is add, del, hunk, file or "".
type DiffLine struct {
	Class string `json:"class,omitempty"`
	Text  string `json:"text"`
}

// LogSummary is one log of a run with its tail.
type LogSummary struct {
	FileView
	// Tail holds the last lines, when the log is small enough to read
	// for a page; TailNote says why not.
	Tail     []LogLine `json:"tail,omitempty"`
	TailNote string    `json:"tail_note,omitempty"`
}

// FindingsSummary names a light.findings.v1 report.
type FindingsSummary struct {
	// Ref is the ref naming the report (findings/…), or Path its place in
	// a run bundle.
	Ref      string        `json:"ref,omitempty"`
	Path     string        `json:"path,omitempty"`
	Digest   digest.Digest `json:"digest"`
	Producer string        `json:"producer,omitempty"`
	Target   string        `json:"target,omitempty"`
	Verdict  string        `json:"verdict,omitempty"`
	Gates    int           `json:"gates"`
	Findings int           `json:"findings"`
	Error    string        `json:"error,omitempty"`
}

// RunView is the run page: everything a run recorded.
type RunView struct {
	RunID   string           `json:"run_id,omitempty"`
	Ref     string           `json:"ref,omitempty"`
	Root    digest.Digest    `json:"root"`
	Summary *spec.RunSummary `json:"summary,omitempty"`
	// Manifest is the decoded manifest.json; ManifestError says why it is
	// absent.
	Manifest      *spec.RunManifest `json:"manifest,omitempty"`
	ManifestError string            `json:"manifest_error,omitempty"`
	ManifestFile  FileView          `json:"manifest_file"`

	Failure     *TextView          `json:"failure,omitempty"`
	Oracle      *spec.OracleReport `json:"oracle,omitempty"`
	Config      *TextView          `json:"config,omitempty"`
	Environment *TextView          `json:"environment,omitempty"`
	Code        CodeView           `json:"code"`
	Inputs      []InputView        `json:"inputs"`
	Logs        []LogSummary       `json:"logs"`
	Artifacts   []FileView         `json:"artifacts"`
	// Files lists every file of the bundle (at most 2000; FilesTruncated
	// says when more were left out).
	Files          []FileView        `json:"files"`
	FilesTruncated bool              `json:"files_truncated,omitempty"`
	Metrics        *MetricsView      `json:"metrics,omitempty"`
	Findings       []FindingsSummary `json:"findings"`
	// Related are the other runs of the same row, for comparison.
	Related []spec.RunSummary `json:"related"`
	// Problems say what the page could not show, and why.
	Problems []string `json:"problems,omitempty"`
}

func (s *Server) runView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	info, err := findRun(ctx, sess.st, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return buildRunView(ctx, sess, info)
}

func buildRunView(ctx context.Context, sess *session, info verify.RunInfo) (*RunView, error) {
	b := newBundle(sess.st, info.Root)
	v := &RunView{RunID: info.RunID, Ref: info.Ref, Root: info.Root, Summary: info.Summary,
		Inputs: []InputView{}, Logs: []LogSummary{}, Artifacts: []FileView{}, Files: []FileView{}, Findings: []FindingsSummary{}, Related: []spec.RunSummary{}}
	v.Code.Files = []FileView{}
	problem := func(format string, args ...any) { v.Problems = append(v.Problems, fmt.Sprintf(format, args...)) }
	// soft turns an error reading one part of the run into a problem
	// shown on the page; only store failures and cancellation end it.
	soft := func(what string, err error) error {
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, cas.ErrClosed) {
			return err
		}
		problem("%s: %v", what, err)
		return nil
	}

	raw, me, err := b.read(ctx, verify.ManifestName, maxManifest)
	v.ManifestFile = fileView("", verify.ManifestName, me, "")
	if err != nil {
		if errors.Is(err, cas.ErrNotTree) {
			return nil, fmt.Errorf("%s is not a run bundle: %w", info.Root, ErrNotFound)
		}
		if err := soft("manifest.json", err); err != nil {
			return nil, err
		}
	} else {
		m := new(spec.RunManifest)
		if err := json.Unmarshal(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), m); err != nil {
			v.ManifestError = fmt.Sprintf("manifest.json does not decode: %v", err)
		} else {
			v.Manifest = m
		}
	}
	if v.RunID == "" && v.Manifest != nil {
		v.RunID = v.Manifest.RunID
	}

	files, more, err := b.walk(ctx, maxListedFiles)
	if err := soft("listing the bundle", err); err != nil {
		return nil, err
	}
	for _, f := range files {
		v.Files = append(v.Files, fileView("", f.Path, f.Entry, ""))
	}
	v.FilesTruncated = more

	// fileRef resolves a manifest file record against the tree.
	fileRef := func(name string, ref *spec.FileRef) FileView {
		rel, e, err := b.manifestEntry(ctx, ref.Path)
		if rel == "" {
			rel = ref.Path
		}
		fv := fileView(name, rel, e, ref.SHA256)
		if err != nil {
			fv.Missing = true
		}
		return fv
	}
	text := func(name string, ref *spec.FileRef, limit int64) (*TextView, error) {
		if ref == nil {
			return nil, nil
		}
		tv := &TextView{FileView: fileRef(name, ref)}
		if tv.Missing {
			tv.Note = "not in the run bundle"
			return tv, nil
		}
		if tv.Size > limit {
			tv.Note = fmt.Sprintf("%s: too large to show here; download it", humanBytes(tv.Size))
			return tv, nil
		}
		data, err := readBlob(ctx, b.st, tv.Digest, tv.Size, limit)
		if err != nil {
			return nil, err
		}
		tv.Text = prettyJSON(data)
		return tv, nil
	}

	if m := v.Manifest; m != nil {
		for _, t := range []struct {
			name string
			ref  *spec.FileRef
			dst  **TextView
		}{{"config", m.Config, &v.Config}, {"environment", m.Environment, &v.Environment}, {"failure", m.Artifacts["failure"], &v.Failure}} {
			tv, err := text(t.name, t.ref, maxShownJSON)
			if err := soft(t.name, err); err != nil {
				return nil, err
			}
			*t.dst = tv
		}
		v.Code.Commit, v.Code.Dirty = m.Code.Commit, m.Code.Dirty
		for i := range m.Code.Files {
			v.Code.Files = append(v.Code.Files, fileRef("", &m.Code.Files[i]))
		}
		for _, in := range m.Inputs {
			iv := InputView{FileView: fileRef(in.Role, &spec.FileRef{Path: in.Path, SHA256: in.SHA256}), Role: in.Role,
				SourceRevision: in.SourceRevision, SplitID: in.SplitID, DeclaredBLAKE3: in.BLAKE3}
			v.Inputs = append(v.Inputs, iv)
		}
		for _, name := range sortedArtifactNames(m.Artifacts) {
			if ref := m.Artifacts[name]; ref != nil {
				v.Artifacts = append(v.Artifacts, fileRef(name, ref))
			}
		}
		if m.Code.Dirty {
			diff, err := readDiff(ctx, b)
			if err := soft("code diff", err); err != nil {
				return nil, err
			}
			v.Code.Diff = diff
		}
		if ref := m.Artifacts["raw_metrics"]; ref != nil {
			fv := fileRef("raw_metrics", ref)
			if !fv.Missing {
				mv, err := readMetrics(ctx, b.st, fv)
				if err := soft("raw metrics", err); err != nil {
					return nil, err
				}
				v.Metrics = mv
			}
		}
	}
	if data, _, err := b.read(ctx, "rigor/oracle.json", maxShownJSON); err == nil {
		o := new(spec.OracleReport)
		if json.Unmarshal(data, o) == nil {
			v.Oracle = o
		}
	} else if !errors.Is(err, ErrNotFound) {
		if err := soft("rigor/oracle.json", err); err != nil {
			return nil, err
		}
	}

	for _, lg := range runLogs(v.Manifest, files) {
		ls := LogSummary{FileView: lg}
		switch {
		case lg.Missing:
			ls.TailNote = "not in the run bundle"
		case lg.Size > maxTailSize:
			ls.TailNote = fmt.Sprintf("%s: open the log to see its tail or search it", humanBytes(lg.Size))
		default:
			lv, err := scanLog(ctx, b.st, lg, logQuery{Tail: runPageTail})
			if err := soft(lg.Path, err); err != nil {
				return nil, err
			}
			if lv != nil {
				ls.Tail = lv.Lines
			}
		}
		v.Logs = append(v.Logs, ls)
	}

	found, err := bundleFindings(ctx, b, files)
	if err := soft("findings", err); err != nil {
		return nil, err
	}
	v.Findings = found

	row := ""
	switch {
	case v.Summary != nil:
		row = v.Summary.Row
	case v.Manifest != nil:
		row = v.Manifest.MatrixRow
	}
	if row != "" {
		ix, err := sess.runIndex(ctx)
		if err != nil {
			return nil, err
		}
		i, _ := slices.BinarySearchFunc(ix.all, row, func(s spec.RunSummary, row string) int { return strings.Compare(s.Row, row) })
		for ; i < len(ix.all) && ix.all[i].Row == row && len(v.Related) < maxRelated; i++ {
			if ix.all[i].RunID != v.RunID {
				v.Related = append(v.Related, ix.all[i])
			}
		}
	}
	return v, nil
}

func fileView(name, rel string, e cas.Entry, sha string) FileView {
	fv := FileView{Name: name, Path: rel, SHA256: sha}
	if e.Digest == "" {
		fv.Missing = true
		return fv
	}
	fv.Digest, fv.Size, fv.Mode = e.Digest, e.Size, modeName(e.Mode)
	return fv
}

func modeName(m cas.Mode) string {
	switch m {
	case cas.ModeFile:
		return "file"
	case cas.ModeExec:
		return "exec"
	case cas.ModeSymlink:
		return "symlink"
	case cas.ModeTree:
		return "dir"
	}
	return ""
}

// sortedArtifactNames puts the Light artifacts first, in the manifest
// template's order, then the others by name.
func sortedArtifactNames(a spec.Artifacts) []string {
	known := []string{"stdout", "stderr", "predictions", "raw_metrics", "test_evidence", "guardrail_evidence", "failure"}
	var out []string
	for _, k := range known {
		if _, ok := a[k]; ok {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range a {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// runLogs lists the logs of a run: the stdout and stderr artifacts, then
// the logs of the --test and --oracle commands under rigor/.
func runLogs(m *spec.RunManifest, files []fileEntry) []FileView {
	var out []FileView
	seen := map[string]bool{}
	add := func(name, rel string) {
		for _, f := range files {
			if f.Path == rel {
				out = append(out, fileView(name, rel, f.Entry, ""))
				seen[rel] = true
				return
			}
		}
		out = append(out, FileView{Name: name, Path: rel, Missing: true})
	}
	if m != nil {
		for _, name := range []string{"stdout", "stderr"} {
			if ref := m.Artifacts[name]; ref != nil {
				if rel, ok := spec.RunRelPath(ref.Path); ok {
					add(name, rel)
				}
			}
		}
	}
	for _, f := range files {
		dir, base, ok := strings.Cut(strings.TrimPrefix(f.Path, "rigor/"), "/")
		if !strings.HasPrefix(f.Path, "rigor/") || !ok || (base != "stdout.log" && base != "stderr.log") || strings.Contains(dir, "/") || seen[f.Path] {
			continue
		}
		out = append(out, fileView(dir+"-"+strings.TrimSuffix(base, ".log"), f.Path, f.Entry, ""))
	}
	return out
}

// readDiff reads rigor/code.diff and classes its lines.
func readDiff(ctx context.Context, b *bundle) (*DiffView, error) {
	e, err := b.lookup(ctx, "rigor/code.diff")
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dv := &DiffView{FileView: fileView("diff", "rigor/code.diff", e, ""), Lines: []DiffLine{}}
	if e.Size > maxShownDiff {
		dv.Note = fmt.Sprintf("%s: too large to show here; download it", humanBytes(e.Size))
		return dv, nil
	}
	data, err := readBlob(ctx, b.st, e.Digest, e.Size, maxShownDiff)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		c := ""
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"), strings.HasPrefix(line, "diff "):
			c = "file"
		case strings.HasPrefix(line, "@@"):
			c = "hunk"
		case strings.HasPrefix(line, "+"):
			c = "add"
		case strings.HasPrefix(line, "-"):
			c = "del"
		}
		dv.Lines = append(dv.Lines, DiffLine{Class: c, Text: line})
	}
	return dv, nil
}

// prettyJSON indents JSON for display; anything else is returned as is.
func prettyJSON(data []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), "", "  ") == nil {
		return buf.String()
	}
	return string(data)
}

// humanBytes formats a size: 512 B, 1.5 KiB, 3.2 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
