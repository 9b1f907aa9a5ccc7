package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ReproSpec is the input of the stage-6 repro gate (spec §2.4): the code
// to scan, inline or as files, and optionally a data split to audit.
type ReproSpec struct {
	// Project names the report's target; "" reads as "unnamed".
	Project string
	// Code is inline Python source, scanned first under the name CodeName
	// ("<inline>" when empty). HasCode says whether "code" was given at
	// all, since an empty string is still a source.
	Code     string
	HasCode  bool
	CodeName string
	// CodeFiles are further sources: .py and .ipynb files, or directories.
	CodeFiles []string
	// Leakage, when not nil, asks for the split audit.
	Leakage *LeakageSpec
}

// LeakageSpec is the "leakage" object of a repro spec: two files, or one
// file with a split column, and the audit's options (spec §4.4).
type LeakageSpec struct {
	Train, Test   string
	CSV, SplitCol string
	// Cols are the feature columns (the spec writes them as one
	// comma-separated string); empty means all but split, group and target.
	Cols     []string
	GroupCol string
	Target   string
	// Bins defaults to 20 and RTol to 1e-3.
	Bins int
	RTol float64
}

var reproSpecFields = []string{"project", "code", "code_name", "code_files", "leakage"}

var leakageFields = []string{"train", "test", "csv", "split_col", "cols", "group_col", "target", "bins", "rtol"}

// DecodeReproSpec decodes a repro spec. As the original tool, it reads plain
// UTF-8 and rejects a byte order mark. The value must be an object whose
// members are those of §2.4 or annotations starting with "_" (such as
// "_doc"); each member must have its JSON type: strings, a list of strings
// for code_files, an object for leakage, whose cols may also be a list, bins
// a positive integer and rtol a positive number. Errors wrap [ErrSyntax],
// [ErrUnknownField] or [ErrInvalid] and name the member.
func DecodeReproSpec(data []byte) (*ReproSpec, error) {
	if bytes.HasPrefix(data, []byte("\ufeff")) {
		return nil, fmt.Errorf("%w: repro spec starts with a byte order mark; save it as plain UTF-8", ErrSyntax)
	}
	tree, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: a repro spec is a JSON object", ErrSyntax)
	}
	if err := onlyFields("repro spec", obj, reproSpecFields); err != nil {
		return nil, err
	}
	r := &ReproSpec{}
	var p fieldReader
	r.Project = p.str(obj, "project")
	_, r.HasCode = obj["code"]
	r.Code = p.str(obj, "code")
	r.CodeName = p.str(obj, "code_name")
	r.CodeFiles = p.strList(obj, "code_files", false)
	if lv, present := obj["leakage"]; present && lv != nil {
		lo, isObj := lv.(map[string]any)
		if !isObj {
			return nil, fmt.Errorf("%w: repro spec: leakage must be an object", ErrInvalid)
		}
		if err := onlyFields("repro spec leakage", lo, leakageFields); err != nil {
			return nil, err
		}
		l := &LeakageSpec{Bins: 20, RTol: 1e-3}
		l.Train, l.Test = p.str(lo, "train"), p.str(lo, "test")
		l.CSV, l.SplitCol = p.str(lo, "csv"), p.str(lo, "split_col")
		l.Cols = p.strList(lo, "cols", true)
		l.GroupCol, l.Target = p.str(lo, "group_col"), p.str(lo, "target")
		if v, present := lo["bins"]; present && v != nil {
			n, ok := JSONInt(v)
			if !ok || n < 1 || n > 1<<20 {
				p.failf("leakage.bins must be a positive integer")
			}
			l.Bins = int(n)
		}
		if v, present := lo["rtol"]; present && v != nil {
			n, isNum := v.(json.Number)
			f, err := strconv.ParseFloat(string(n), 64)
			if !isNum || err != nil || !(f > 0) {
				p.failf("leakage.rtol must be a positive number")
			}
			l.RTol = f
		}
		r.Leakage = l
	}
	if p.err != nil {
		return nil, p.err
	}
	return r, nil
}

// Name is the project, or "unnamed".
func (r *ReproSpec) Name() string {
	if strings.TrimSpace(r.Project) == "" {
		return "unnamed"
	}
	return r.Project
}

// InlineName is the name of the inline source, or "<inline>".
func (r *ReproSpec) InlineName() string {
	if r.CodeName == "" {
		return "<inline>"
	}
	return r.CodeName
}

func onlyFields(what string, obj map[string]any, fields []string) error {
	var unknown []string
	for k := range obj {
		if !slices.Contains(fields, k) && !strings.HasPrefix(k, "_") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%w: %s: member %q (known: %s; prefix comments with \"_\")", ErrUnknownField, what, unknown[0], strings.Join(fields, ", "))
}

// fieldReader reads typed members, keeping the first problem.
type fieldReader struct{ err error }

func (p *fieldReader) failf(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: repro spec: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

func (p *fieldReader) str(obj map[string]any, k string) string {
	v, present := obj[k]
	if !present || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.failf("%s must be a string", k)
	}
	return s
}

// strList reads a list of strings; with comma, a string is also accepted
// and split at commas.
func (p *fieldReader) strList(obj map[string]any, k string, comma bool) []string {
	v, present := obj[k]
	if !present || v == nil {
		return nil
	}
	if s, ok := v.(string); ok && comma {
		var out []string
		for _, c := range strings.Split(s, ",") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
		return out
	}
	l, ok := v.([]any)
	if !ok {
		p.failf("%s must be a list of strings", k)
		return nil
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			p.failf("%s must be a list of strings", k)
			return nil
		}
		out = append(out, s)
	}
	return out
}
