package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// CompareOptions control [Compare] and [Diff]. The zero value compares
// numbers exactly.
type CompareOptions struct {
	// Tolerance is how far numbers in CSV and JSONL artifacts may differ
	// and still be reported as agreeing within tolerance (never as exact).
	Tolerance Tolerance
	// Shown is how many differing values each content diff keeps; ≤0 is 10.
	Shown int
	// Deep re-hashes every blob of both runs while loading them.
	Deep bool
	// Now is the current time for the future-timestamp rule; nil is
	// time.Now.
	Now func() time.Time
}

// Comparison is the result of [Compare]: light.repro_comparison.v1 (the
// embedded fields, as the Light checker's compare mode writes them) plus
// rigor's account of where the runs differ.
type Comparison struct {
	spec.ReproComparison
	Rigor CompareDetails `json:"rigor"`
}

// CompareDetails says what differs and where.
type CompareDetails struct {
	// Identity details each identity component that differs: which value,
	// and inside it which JSON path, file, package or input.
	Identity []IdentityDiff `json:"identity,omitempty"`
	// Artifacts details each artifact of compare_artifacts whose digests
	// differ (also when the checker stopped before comparing them); CSV and
	// JSONL ones get a content diff.
	Artifacts []ArtifactDiff `json:"artifacts,omitempty"`
	// WithinTolerance is true when the runs are not exact, every error is
	// an artifact mismatch, and every mismatching artifact agrees within
	// the tolerance. It never makes the runs exact.
	WithinTolerance bool `json:"within_tolerance"`
	// Problems are the store-level problems found while loading the runs.
	Problems []Problem `json:"problems,omitempty"`
}

// IdentityDiff is one identity component that differs between two runs.
type IdentityDiff struct {
	// Component is one of [spec.IdentityComponents].
	Component string `json:"component"`
	// First and Second are the component's values (digests for config and
	// environment), as text.
	First  string `json:"first,omitempty"`
	Second string `json:"second,omitempty"`
	// Changes locate the difference inside the component: JSON paths of
	// the config, packages (and JSON paths) of the environment, code files,
	// inputs.
	Changes []spec.Change `json:"changes,omitempty"`
	// Note explains a component whose content could not be compared.
	Note string `json:"note,omitempty"`
}

// ArtifactDiff is one artifact that differs between two runs.
type ArtifactDiff struct {
	Name string `json:"name"`
	// Kind is spec.ChangeAdded, ChangeRemoved or ChangeChanged.
	Kind         string `json:"change"`
	PathFirst    string `json:"path_first,omitempty"`
	PathSecond   string `json:"path_second,omitempty"`
	SHA256First  string `json:"sha256_first,omitempty"`
	SHA256Second string `json:"sha256_second,omitempty"`
	// Content is the row-level diff of CSV and JSONL artifacts.
	Content *ContentDiff `json:"content,omitempty"`
	// Note explains why there is no content diff.
	Note string `json:"note,omitempty"`
}

// loadedRun is a run verified and ready to be compared.
type loadedRun struct {
	info  RunInfo
	v     *runVerifier
	rep   Report
	loose map[string]any
}

func load(ctx context.Context, src Store, info RunInfo, deep bool, now func() time.Time) (*loadedRun, error) {
	v := newRunVerifier(src, info.Root, Options{Deep: deep, Now: now, Run: info.RunID})
	rep, err := v.run(ctx)
	if err != nil {
		return nil, err
	}
	l := &loadedRun{info: info, v: v, rep: rep}
	if v.manifest != nil {
		dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(v.manifest, []byte("\xef\xbb\xbf"))))
		dec.UseNumber()
		_ = dec.Decode(&l.loose) // a non-object leaves nil; the check reported it
	}
	return l, nil
}

func (l *loadedRun) label() string { return l.rep.Run }

// files returns the manifest's file records for rigor's questions.
func (l *loadedRun) files() []spec.ManifestFile { return l.v.manifestFiles }

// open opens the file at rel in the run's tree.
func (l *loadedRun) open(ctx context.Context, rel string) (io.ReadCloser, error) {
	e, ok := l.v.files[rel]
	if !ok {
		return nil, fmt.Errorf("%s: not in the run bundle", rel)
	}
	return l.v.src.Open(ctx, e.Digest)
}

// readJSON reads and decodes a JSON file of the run, at most limit bytes.
func (l *loadedRun) readJSON(ctx context.Context, rel string, limit int64) (any, error) {
	rc, err := l.open(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", rel, limit)
	}
	return spec.ParseJSON(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
}

// sha256Of returns the SHA-256 of the file at rel, when it was computed or
// indexed while loading, else the declared one.
func (l *loadedRun) sha256Of(rel, declared string) string {
	if s, ok := l.v.sums[rel]; ok {
		return s
	}
	return declared
}

func (l *loadedRun) treeFiles() spec.RunFiles { return &treeFiles{v: l.v, sums: l.v.sums} }

// maxJSONDiff bounds the config and environment files read for a diff.
const maxJSONDiff = 64 << 20

// Compare is the same-seed pair check of the Light run-artifact check
// (spec §3.5 compare mode) on two stored runs: both are verified (every
// rule, with errors prefixed "first: " and "second: "); then both must be
// completed, share seed role fixed_repro and value, have the same identity
// (matrix row, config, environment, code commit, dirty flag, diff and
// files, inputs) and the same compare_artifacts, and then the same declared
// artifact digests. The embedded light.repro_comparison.v1 result is the
// original's, byte for byte in meaning; Rigor adds where the runs differ:
// each differing identity component with the JSON paths, files, packages
// or inputs inside it, and for each differing CSV or JSONL artifact a
// content diff with the largest absolute and relative differences and a
// within-tolerance verdict, which is reported as such and never counted
// as exact. Compare returns an error only when it could not run.
func Compare(ctx context.Context, src Store, first, second RunInfo, opts CompareOptions) (*Comparison, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a, err := load(ctx, src, first, opts.Deep, now)
	if err != nil {
		return nil, err
	}
	b, err := load(ctx, src, second, opts.Deep, now)
	if err != nil {
		return nil, err
	}
	c := &Comparison{ReproComparison: spec.CompareRunManifests(a.v.manifest, b.v.manifest, a.treeFiles(), b.treeFiles(), a.label(), b.label(), now())}
	for _, r := range []*loadedRun{a, b} {
		for _, p := range r.rep.Problems {
			if p.Kind != ManifestRule {
				c.Rigor.Problems = append(c.Rigor.Problems, p)
			}
		}
	}
	if a.loose == nil || b.loose == nil {
		return c, nil
	}
	if len(c.IdentityDifference) > 0 {
		c.Rigor.Identity, err = identityDiffs(ctx, a, b, c.IdentityDifference)
		if err != nil {
			return nil, err
		}
	}
	onlyArtifacts := !c.SameSeedExact && len(c.Errors) > 0
	names := slices.Sorted(maps.Keys(c.ComparedArtifacts))
	if len(c.ComparedArtifacts) == 0 {
		// The checker stopped before the artifacts (identity or seed
		// differ): still say how the artifacts it would compare differ.
		for _, n := range compareList(a.loose) {
			fa, okA := a.artifactRecord(n)
			fb, okB := b.artifactRecord(n)
			if okA != okB || okA && a.sha256Of(fa.Rel, fa.SHA256) != b.sha256Of(fb.Rel, fb.SHA256) {
				names = append(names, n)
			}
		}
	}
	for _, name := range names {
		if ac, ok := c.ComparedArtifacts[name]; ok && ac.Match {
			continue
		}
		ad, err := artifactDiff(ctx, a, b, name, opts)
		if err != nil {
			return nil, err
		}
		c.Rigor.Artifacts = append(c.Rigor.Artifacts, ad)
		if ad.Content == nil || !ad.Content.WithinTolerance {
			onlyArtifacts = false
		}
	}
	for _, e := range c.Errors {
		if !strings.HasPrefix(e, "artifact mismatch: ") {
			onlyArtifacts = false
		}
	}
	c.Rigor.WithinTolerance = onlyArtifacts && len(c.Rigor.Artifacts) > 0
	return c, nil
}

// artifactRecord returns the manifest record of artifact name.
func (l *loadedRun) artifactRecord(name string) (spec.ManifestFile, bool) {
	for _, f := range l.files() {
		if f.Label == "artifacts."+name {
			return f, true
		}
	}
	return spec.ManifestFile{}, false
}

// artifactDiff compares artifact name of two runs.
func artifactDiff(ctx context.Context, a, b *loadedRun, name string, opts CompareOptions) (ArtifactDiff, error) {
	fa, okA := a.artifactRecord(name)
	fb, okB := b.artifactRecord(name)
	ad := ArtifactDiff{Name: name, Kind: spec.ChangeChanged, PathFirst: fa.Path, PathSecond: fb.Path}
	switch {
	case !okA && !okB:
		ad.Note = "declared by neither run"
		return ad, nil
	case !okA:
		ad.Kind = spec.ChangeAdded
	case !okB:
		ad.Kind = spec.ChangeRemoved
	}
	if okA {
		ad.SHA256First = a.sha256Of(fa.Rel, fa.SHA256)
	}
	if okB {
		ad.SHA256Second = b.sha256Of(fb.Rel, fb.SHA256)
	}
	if !okA || !okB {
		return ad, nil
	}
	format := ContentFormat(fa.Rel)
	if format == "" || format != ContentFormat(fb.Rel) {
		ad.Note = "no content diff for this file type (CSV and JSONL have one)"
		return ad, nil
	}
	ra, err := a.open(ctx, fa.Rel)
	if err != nil {
		ad.Note = "cannot read the first file: " + err.Error()
		return ad, nil
	}
	defer ra.Close()
	rb, err := b.open(ctx, fb.Rel)
	if err != nil {
		ad.Note = "cannot read the second file: " + err.Error()
		return ad, nil
	}
	defer rb.Close()
	tol := opts.Tolerance
	cd, err := DiffContent(ctx, format, ra, rb, tol, opts.Shown)
	if err != nil {
		if fatal(ctx, err) {
			return ad, err
		}
		ad.Note = "no content diff: " + err.Error()
		return ad, nil
	}
	ad.Content = cd
	return ad, nil
}

// identityDiffs details the identity components listed.
func identityDiffs(ctx context.Context, a, b *loadedRun, components []string) ([]IdentityDiff, error) {
	var out []IdentityDiff
	codeA, _ := a.loose["code"].(map[string]any)
	codeB, _ := b.loose["code"].(map[string]any)
	for _, comp := range components {
		d := IdentityDiff{Component: comp}
		switch comp {
		case "matrix_row":
			d.First, d.Second = text(a.loose["matrix_row"]), text(b.loose["matrix_row"])
		case "seed":
			d.First, d.Second = text(a.loose["seed"]), text(b.loose["seed"])
			d.Changes = spec.DiffJSON(a.loose["seed"], b.loose["seed"])
		case "code.commit", "code.dirty", "code.diff_sha256":
			key := strings.TrimPrefix(comp, "code.")
			d.First, d.Second = text(codeA[key]), text(codeB[key])
		case "config", "environment":
			if err := jsonFileDiff(ctx, a, b, comp, &d); err != nil {
				return nil, err
			}
		case "code.files":
			d.Changes = fileChanges(a.files(), b.files(), "code.files[")
		case "inputs":
			d.Changes = inputChanges(a.files(), b.files())
		}
		out = append(out, d)
	}
	return out, nil
}

// text renders a loosely decoded manifest value.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	}
	b, err := spec.Canonical(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jsonFileDiff diffs the config or environment file of two runs.
func jsonFileDiff(ctx context.Context, a, b *loadedRun, label string, d *IdentityDiff) error {
	fa, okA := record(a.files(), label)
	fb, okB := record(b.files(), label)
	d.First, d.Second = fa.SHA256, fb.SHA256
	if !okA || !okB || fa.Rel == "" || fb.Rel == "" {
		d.Note = "the " + label + " record is missing or invalid in one run"
		return nil
	}
	va, errA := a.readJSON(ctx, fa.Rel, maxJSONDiff)
	vb, errB := b.readJSON(ctx, fb.Rel, maxJSONDiff)
	for _, err := range []error{errA, errB} {
		if err != nil && fatal(ctx, err) {
			return err
		}
	}
	if errA != nil || errB != nil {
		d.Note = fmt.Sprintf("the %s files differ but cannot both be read as JSON: %v", label, firstErr(errA, errB))
		return nil
	}
	if label == "environment" {
		d.Changes = environmentChanges(va, vb)
	} else {
		d.Changes = spec.DiffJSON(va, vb)
	}
	if len(d.Changes) == 0 {
		d.Note = "the files differ only in formatting: their JSON values are equal"
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func record(files []spec.ManifestFile, label string) (spec.ManifestFile, bool) {
	for _, f := range files {
		if f.Label == label {
			return f, true
		}
	}
	return spec.ManifestFile{}, false
}

// fileChanges compares the {path, sha256} records whose label starts with
// prefix, keyed by path.
func fileChanges(a, b []spec.ManifestFile, prefix string) []spec.Change {
	pick := func(fs []spec.ManifestFile) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			if strings.HasPrefix(f.Label, prefix) {
				m[f.Path] = f.SHA256
			}
		}
		return m
	}
	return mapChanges(pick(a), pick(b))
}

// mapChanges compares two maps key by key, in key order.
func mapChanges(ma, mb map[string]string) []spec.Change {
	keys := slices.Sorted(maps.Keys(ma))
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []spec.Change
	for _, k := range keys {
		va, inA := ma[k]
		vb, inB := mb[k]
		switch {
		case !inB:
			out = append(out, spec.Change{Where: k, Kind: spec.ChangeRemoved, First: va})
		case !inA:
			out = append(out, spec.Change{Where: k, Kind: spec.ChangeAdded, Second: vb})
		case va != vb:
			out = append(out, spec.Change{Where: k, Kind: spec.ChangeChanged, First: va, Second: vb})
		}
	}
	return out
}

// inputChanges compares inputs keyed by role and path; the value is the
// input's identity (source revision and SHA-256).
func inputChanges(a, b []spec.ManifestFile) []spec.Change {
	key := func(f spec.ManifestFile) string { return f.Role + " " + f.Path }
	ma, mb := map[string]string{}, map[string]string{}
	for _, f := range a {
		if strings.HasPrefix(f.Label, "inputs[") {
			ma[key(f)] = "revision " + orNone(f.SourceRevision) + ", sha256 " + f.SHA256
		}
	}
	for _, f := range b {
		if strings.HasPrefix(f.Label, "inputs[") {
			mb[key(f)] = "revision " + orNone(f.SourceRevision) + ", sha256 " + f.SHA256
		}
	}
	return mapChanges(ma, mb)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// environmentChanges diffs two environment records: every list of
// {name, version} objects (installed packages) package by package, the
// rest by JSON path.
func environmentChanges(a, b any) []spec.Change {
	pa, pb := map[string]map[string]string{}, map[string]map[string]string{}
	findPackages("$", a, pa)
	findPackages("$", b, pb)
	var out []spec.Change
	lists := slices.Sorted(maps.Keys(pa))
	for l := range pb {
		if _, ok := pa[l]; !ok {
			lists = append(lists, l)
		}
	}
	slices.Sort(lists)
	for _, l := range lists {
		for _, c := range mapChanges(pa[l], pb[l]) {
			c.Where = "package " + c.Where
			out = append(out, c)
		}
	}
	for _, c := range spec.DiffJSON(a, b) {
		inList := false
		for l := range pa {
			inList = inList || c.Where == l || strings.HasPrefix(c.Where, l+"[")
		}
		for l := range pb {
			inList = inList || c.Where == l || strings.HasPrefix(c.Where, l+"[")
		}
		if !inList {
			out = append(out, c)
		}
	}
	return out
}

// findPackages records, by JSON path, every non-empty array whose elements
// are all objects with string "name" and "version" members.
func findPackages(p string, v any, out map[string]map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			findPackages(spec.JSONPathKey(p, k), e, out)
		}
	case []any:
		pk := map[string]string{}
		for _, e := range x {
			obj, ok := e.(map[string]any)
			name, okN := obj["name"].(string)
			ver, okV := obj["version"].(string)
			if !ok || !okN || !okV {
				pk = nil
				break
			}
			pk[name] = ver
		}
		if len(pk) > 0 {
			out[p] = pk
			return
		}
		for i, e := range x {
			findPackages(fmt.Sprintf("%s[%d]", p, i), e, out)
		}
	}
}

// compareList returns reproducibility.compare_artifacts of a manifest.
func compareList(m map[string]any) []string {
	repro, _ := m["reproducibility"].(map[string]any)
	list, _ := repro["compare_artifacts"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
