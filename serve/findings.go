package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// FindingsRefPrefix is where stored gate reports are named: a ref
// findings/<name> pointing at a light.findings.v1 JSON blob
// (rigor add report.json; rigor ref set findings/<name> DIGEST).
const FindingsRefPrefix = "findings/"

const maxFindingsSize = 4 << 20

// FindingsListView is the findings page: every stored gate report.
type FindingsListView struct {
	Reports []FindingsSummary `json:"reports"`
}

func (s *Server) findingsView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	v := &FindingsListView{Reports: []FindingsSummary{}}
	type named struct {
		name string
		d    digest.Digest
	}
	var refs []named
	err := sess.st.ListRefs(ctx, FindingsRefPrefix, func(name string, d digest.Digest) error {
		if len(refs) < 1000 {
			refs = append(refs, named{name, d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, n := range refs {
		fs := FindingsSummary{Ref: n.name, Digest: n.d}
		rep, err := readFindings(ctx, sess.st, n.d)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fs.Error = err.Error()
		} else {
			summarize(&fs, rep)
		}
		v.Reports = append(v.Reports, fs)
	}
	return v, nil
}

func summarize(fs *FindingsSummary, rep *spec.Report) {
	fs.Producer, fs.Target, fs.Verdict, fs.Gates = rep.Producer, rep.Target, string(rep.Verdict), len(rep.Gates)
	for _, g := range rep.Gates {
		fs.Findings += len(g.Findings)
	}
}

// readFindings reads and decodes a light.findings.v1 report.
func readFindings(ctx context.Context, st cas.Getter, d digest.Digest) (*spec.Report, error) {
	info, err := st.Stat(ctx, d)
	if err != nil {
		return nil, err
	}
	if info.Kind != cas.KindBlob {
		return nil, fmt.Errorf("%s is a tree, not a findings report: %w", d, ErrNotFound)
	}
	data, err := readBlob(ctx, st, d, info.Size, maxFindingsSize)
	if err != nil {
		return nil, err
	}
	return spec.DecodeFindings(data)
}

// bundleFindings finds the light.findings.v1 reports among a run's JSON
// files (outputs and records; inputs and code are not searched), reading
// at most 32 files of at most 1 MiB each.
func bundleFindings(ctx context.Context, b *bundle, files []fileEntry) ([]FindingsSummary, error) {
	out := []FindingsSummary{}
	read := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".json") || f.Size > maxFindingFile || f.Path == "manifest.json" ||
			strings.HasPrefix(f.Path, "inputs/") || strings.HasPrefix(f.Path, "code/") || strings.HasPrefix(f.Path, "rigor/inputs/") {
			continue
		}
		if read == maxFindingScan {
			break
		}
		read++
		data, err := readBlob(ctx, b.st, f.Digest, f.Size, maxFindingsSize)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(data, []byte(spec.FindingsSchema)) {
			continue
		}
		fs := FindingsSummary{Path: f.Path, Digest: f.Digest}
		if rep, err := spec.DecodeFindings(data); err != nil {
			fs.Error = err.Error()
		} else {
			summarize(&fs, rep)
		}
		out = append(out, fs)
	}
	return out, nil
}

// ReportView is one gate report with its findings.
type ReportView struct {
	Digest digest.Digest `json:"digest"`
	Report *spec.Report  `json:"report"`
	// Run is the run the findings' locations are resolved in (?run=).
	Run string `json:"run,omitempty"`
	// Locs gives, per gate and finding, the parsed location and the page
	// of the file in the run where the run has it.
	Locs [][]LocView `json:"locations"`
}

// LocView is a finding's location: file and line, and where to see it.
type LocView struct {
	Text string `json:"loc"`
	Path string `json:"path,omitempty"`
	Line int    `json:"line,omitempty"`
	// URL is the run's file page at the line, when the run has the file.
	URL string `json:"url,omitempty"`
}

func (s *Server) reportView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	d, err := cas.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return nil, err
	}
	rep, err := readFindings(ctx, sess.st, d)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%s is too large for a findings report: %w", d, ErrBadRequest)
		}
		if errors.Is(err, spec.ErrSyntax) || errors.Is(err, spec.ErrSchema) || errors.Is(err, spec.ErrUnknownField) || errors.Is(err, spec.ErrInvalid) {
			return nil, fmt.Errorf("%s is not a light.findings.v1 report (%v): %w", d, err, ErrBadRequest)
		}
		return nil, err
	}
	v := &ReportView{Digest: d, Report: rep, Locs: make([][]LocView, len(rep.Gates))}
	var b *bundle
	if run := r.URL.Query().Get("run"); run != "" {
		info, err := findRun(ctx, sess.st, run)
		if err != nil {
			return nil, err
		}
		v.Run = info.RunID
		if v.Run == "" {
			v.Run = info.Root.String()
		}
		b = newBundle(sess.st, info.Root)
	}
	for i, g := range rep.Gates {
		v.Locs[i] = make([]LocView, len(g.Findings))
		for j, f := range g.Findings {
			lv := LocView{Text: f.Loc}
			if l, ok := spec.ParseLoc(f.Loc); ok {
				lv.Path, lv.Line = l.Path, l.Line
			}
			if b != nil && lv.Path != "" {
				lv.URL = locURL(ctx, b, v.Run, lv.Path, lv.Line)
			}
			v.Locs[i][j] = lv
		}
	}
	return v, nil
}

// locURL finds the file a finding names in the run (as given, or under
// code/) and returns its page, anchored at the line; "" when the run has
// no such file.
func locURL(ctx context.Context, b *bundle, run, p string, line int) string {
	p = strings.TrimPrefix(path.Clean(strings.ReplaceAll(p, "\\", "/")), "/")
	for _, cand := range []string{p, "code/" + p} {
		if _, err := cleanRel(cand); err != nil {
			continue
		}
		e, err := b.lookup(ctx, cand)
		if err != nil || e.Mode == cas.ModeTree {
			continue
		}
		u := "/runs/" + pathEscape(run) + "/files/" + escapePath(cand)
		if line > 0 {
			u += fmt.Sprintf("#L%d", line)
		}
		return u
	}
	return ""
}
