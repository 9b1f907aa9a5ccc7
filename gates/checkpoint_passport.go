package gates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/rigor-dev/rigor/spec"
)

// Errors of the passport write-back.
var (
	// ErrPassport: the passport is not valid passport v3 YAML, before or
	// after the write-back. The message lists the problems.
	ErrPassport = errors.New("gates: invalid passport")
	// ErrStageNotFound: the passport has no entry for the stage.
	ErrStageNotFound = errors.New("gates: stage not in passport")
)

// Passport is a passport v3 document held as a YAML node tree, so that
// writing it back keeps its style: key order, comments, quoting, flow and
// block collections, "~" or "null".
type Passport struct {
	doc *yaml.Node
}

// ParsePassport parses passport YAML. It returns an error wrapping
// [ErrPassport] when the document is not a YAML mapping.
func ParsePassport(data []byte) (*Passport, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPassport, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the document is not a YAML mapping", ErrPassport)
	}
	return &Passport{doc: &doc}, nil
}

// Encode writes the passport back as YAML, two-space indented.
func (p *Passport) Encode() ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(p.doc); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (p *Passport) root() *yaml.Node { return p.doc.Content[0] }

// Tree returns the passport as a tree of map[string]any, []any, string,
// int64, float64, bool and nil, the values a YAML 1.1 loader gives the
// orchestrator, except that timestamps stay strings.
func (p *Passport) Tree() (map[string]any, error) {
	budget := maxPassportValues
	v, err := yamlTree(p.root(), 0, &budget)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// maxPassportValues bounds the values Tree builds: aliases let a document
// of a few hundred bytes expand to 10^9 values ("billion laughs", issue 10).
const maxPassportValues = 1 << 20

func yamlTree(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > 256 {
		return nil, fmt.Errorf("%w: nesting too deep", ErrPassport)
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("%w: line %d: more than %d values once aliases are expanded", ErrPassport, n.Line, maxPassportValues)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return yamlTree(n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if kn := n.Content[i]; kn.Kind != yaml.ScalarNode {
				// "? [a]": yaml writes such a key back in a form it cannot
				// read (issue 10, FuzzParsePassport); a passport has none.
				return nil, fmt.Errorf("%w: line %d: a mapping key must be a plain value", ErrPassport, kn.Line)
			}
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("%w: line %d: key %q appears twice", ErrPassport, n.Content[i].Line, k)
			}
			v, err := yamlTree(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlTree(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrPassport, n.Line, err)
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrPassport, n.Line, err)
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrPassport, n.Line, err)
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("%w: line %d: unexpected YAML node", ErrPassport, n.Line)
}

// yamlMapGet returns the value node of key in mapping m, or nil.
func yamlMapGet(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlMapSet sets key to v in mapping m. An existing scalar keeps its quoting
// style when the new value is a scalar too. A new key goes after the last
// key that comes before it in order (or at the end when order is nil).
func yamlMapSet(m *yaml.Node, key string, v *yaml.Node, order []string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			if old.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode && v.Tag == "!!str" && old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				v.Style = old.Style
			}
			v.HeadComment, v.LineComment, v.FootComment = old.HeadComment, old.LineComment, old.FootComment
			m.Content[i+1] = v
			return
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	at := len(m.Content)
	if pos := slices.Index(order, key); pos >= 0 {
		at = 0
		for i := 0; i+1 < len(m.Content); i += 2 {
			if j := slices.Index(order, m.Content[i].Value); j >= 0 && j < pos {
				at = i + 2
			}
		}
	}
	m.Content = slices.Insert(m.Content, at, k, v)
}

// yamlStrNode is a string scalar of a block mapping, plain when YAML allows
// it and double-quoted otherwise, as the orchestrator's YAML writer quotes.
func yamlStrNode(s string) *yaml.Node { return yamlQuotedIfNeeded(s, 0) }

// yamlFlowStrNode is yamlStrNode for a value inside a flow map, where commas and
// colons need quotes too.
func yamlFlowStrNode(s string) *yaml.Node { return yamlQuotedIfNeeded(s, yaml.FlowStyle) }

func yamlQuotedIfNeeded(s string, style yaml.Style) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	probe := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: style,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "k"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: s}}}
	out, err := yaml.Marshal(probe)
	prefix := "k: " + s
	if style == yaml.FlowStyle {
		prefix = "{k: " + s
	}
	if err != nil || !strings.HasPrefix(string(out), prefix) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func yamlIntNode(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}
func yamlBoolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// Stage returns the entry of stage n.
func (p *Passport) stage(n int) *yaml.Node {
	st := yamlMapGet(p.root(), "stages")
	if st == nil || st.Kind != yaml.SequenceNode {
		return nil
	}
	for _, e := range st.Content {
		if e.Kind != yaml.MappingNode {
			continue
		}
		if v := yamlMapGet(e, "stage"); v != nil && v.Value == strconv.Itoa(n) {
			return e
		}
	}
	return nil
}

// HasStage reports whether the passport has an entry for stage n.
func (p *Passport) HasStage(n int) bool { return p.stage(n) != nil }

// RevisionRounds returns the revision_rounds of stage n, 0 when it has
// none; ok is false when the stage is absent.
func (p *Passport) RevisionRounds(n int) (rounds int, ok bool) {
	e := p.stage(n)
	if e == nil {
		return 0, false
	}
	if v := yamlMapGet(e, "revision_rounds"); v != nil {
		r, _ := strconv.Atoi(v.Value)
		return r, true
	}
	return 0, true
}

// Skill returns the skill of stage n, or "".
func (p *Passport) Skill(n int) string {
	if e := p.stage(n); e != nil {
		if v := yamlMapGet(e, "skill"); v != nil {
			return v.Value
		}
	}
	return ""
}

var (
	passportPrinter    = message.NewPrinter(language.English)
	passportSchemaOnce sync.Once
	passportSchema     *jsonschema.Schema
	passportSchemaErr  error
)

func compiledPassportSchema() (*jsonschema.Schema, error) {
	passportSchemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.PassportJSONSchema))
		if err != nil {
			passportSchemaErr = err
			return
		}
		const id = "https://rigor.dev/schemas/light.passport.v3.json"
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(id, doc); err != nil {
			passportSchemaErr = err
			return
		}
		passportSchema, passportSchemaErr = c.Compile(id)
	})
	return passportSchema, passportSchemaErr
}

// Validate checks the passport against rigor's passport v3 JSON Schema
// ([spec.PassportJSONSchema]) and the rules of [spec.CheckPassport]. With
// verifyHash, state_hash must match the content. It returns the warnings,
// and an error wrapping [ErrPassport] that lists every problem.
func (p *Passport) Validate(verifyHash bool) (warnings []string, err error) {
	tree, err := p.Tree()
	if err != nil {
		return nil, err
	}
	var problems []string
	sch, err := compiledPassportSchema()
	if err != nil {
		return nil, fmt.Errorf("gates: passport schema: %w", err)
	}
	js, err := spec.PythonJSON(tree)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPassport, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPassport, err)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: %v", ErrPassport, err)
		}
		var leaves func(e *jsonschema.ValidationError)
		leaves = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				problems = append(problems, "/"+strings.Join(e.InstanceLocation, "/")+": "+e.ErrorKind.LocalizedString(passportPrinter))
				return
			}
			for _, c := range e.Causes {
				leaves(c)
			}
		}
		leaves(ve)
	}
	errs, warnings := spec.CheckPassport(tree, verifyHash)
	problems = append(problems, errs...)
	if len(problems) > 0 {
		slices.Sort(problems)
		return warnings, fmt.Errorf("%w: %s", ErrPassport, strings.Join(slices.Compact(problems), "; "))
	}
	return warnings, nil
}

// WriteBackOptions tune [Passport.ApplyCheckpoint].
type WriteBackOptions struct {
	// Write applies the checkpoint; false is a dry run, which only checks
	// that the stage exists.
	Write bool
	// BaseDir is the directory the stages' output and artifact paths are
	// relative to; "" means the working directory.
	BaseDir string
}

// WriteBack is what [Passport.ApplyCheckpoint] did.
type WriteBack struct {
	// Status is the stage status written: gate_failed or delivered; "" in
	// a dry run.
	Status string
	// Revision is the new state_revision, StateHash the new state_hash.
	Revision  int64
	StateHash string
	Warnings  []string
}

// Next actions written by the checkpoint.
const (
	nextActionFail = "inspect blocking evidence at stage %d, generate a reroute suggestion, and stop for user authorization"
	nextActionPass = "stage %d checkpoint verified; proceed to the next selected stage"
)

// ApplyCheckpoint writes a checkpoint back into the passport, as
// run_checkpoint --write does (spec §4.2). The stage must be in the
// passport ([ErrStageNotFound], checked in a dry run too). With
// opts.Write it:
//
//   - sets the stage's gate (a flow map) and status: gate_failed for FAIL,
//     delivered for PASS and WARN;
//   - for a delivered stage, sets artifacts to [output] when artifacts is
//     empty and output names an existing file, and recomputes
//     inputs_fingerprint from the artifacts of the stages it depends on;
//   - sets the stage's and the passport's evidence_state, next_action and
//     updated (the checkpoint's timestamp);
//   - validates the result without checking the old hash (an invalid
//     result is [ErrPassport] and leaves p as it was);
//   - increments state_revision and recomputes state_hash.
//
// New keys are inserted in the documented field order; existing ones keep
// their place, comments and quoting.
func (p *Passport) ApplyCheckpoint(cp *Checkpoint, opts WriteBackOptions) (*WriteBack, error) {
	e := p.stage(cp.Stage)
	if e == nil {
		return nil, fmt.Errorf("stage %d: %w", cp.Stage, ErrStageNotFound)
	}
	wb := &WriteBack{}
	if !opts.Write {
		return wb, nil
	}
	saved, err := p.Encode()
	if err != nil {
		return nil, err
	}
	restore := func() {
		if q, err := ParsePassport(saved); err == nil {
			p.doc = q.doc
		}
	}
	gate := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
	for _, kv := range cp.Record.Fields() {
		var v *yaml.Node
		switch x := kv[1].(type) {
		case bool:
			v = yamlBoolNode(x)
		default:
			v = yamlFlowStrNode(fmt.Sprint(x))
		}
		gate.Content = append(gate.Content, yamlStrNode(kv[0].(string)), v)
	}
	yamlMapSet(e, "gate", gate, spec.StageFieldOrder)
	fail := cp.Record.Result == "FAIL"
	wb.Status = spec.StageDelivered
	if fail {
		wb.Status = spec.StageGateFailed
	}
	yamlMapSet(e, "status", yamlStrNode(wb.Status), spec.StageFieldOrder)
	if !fail {
		if err := p.deliver(e, opts.BaseDir); err != nil {
			restore()
			return nil, err
		}
	}
	state := cp.Record.EvidenceState
	yamlMapSet(e, "evidence_state", yamlStrNode(state), spec.StageFieldOrder)
	root := p.root()
	yamlMapSet(root, "evidence_state", yamlStrNode(state), nil)
	next := fmt.Sprintf(nextActionPass, cp.Stage)
	if fail {
		next = fmt.Sprintf(nextActionFail, cp.Stage)
	}
	yamlMapSet(root, "next_action", yamlStrNode(next), nil)
	yamlMapSet(root, "updated", yamlStrNode(cp.TS), nil)
	if wb.Warnings, err = p.Validate(false); err != nil {
		restore()
		return nil, err
	}
	rev := int64(0)
	if v := yamlMapGet(root, "state_revision"); v != nil {
		rev, _ = strconv.ParseInt(v.Value, 10, 64)
	}
	wb.Revision = rev + 1
	yamlMapSet(root, "state_revision", yamlIntNode(wb.Revision), nil)
	tree, err := p.Tree()
	if err != nil {
		restore()
		return nil, err
	}
	if wb.StateHash, err = spec.PassportStateHash(tree); err != nil {
		restore()
		return nil, err
	}
	yamlMapSet(root, "state_hash", yamlStrNode(wb.StateHash), nil)
	return wb, nil
}

// deliver fills artifacts and inputs_fingerprint of a delivered stage.
func (p *Passport) deliver(e *yaml.Node, base string) error {
	arts := yamlMapGet(e, "artifacts")
	if arts == nil || arts.Kind == yaml.SequenceNode && len(arts.Content) == 0 || arts.ShortTag() == "!!null" {
		if out := yamlMapGet(e, "output"); out != nil && out.Value != "" {
			if fi, err := os.Stat(filepath.Join(base, out.Value)); err == nil && fi.Mode().IsRegular() {
				seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{yamlFlowStrNode(out.Value)}}
				yamlMapSet(e, "artifacts", seq, spec.StageFieldOrder)
			}
		}
	}
	deps := yamlMapGet(e, "depends_on")
	if deps == nil || deps.Kind != yaml.SequenceNode || len(deps.Content) == 0 {
		return nil
	}
	var paths []string
	for _, d := range deps.Content {
		n, err := strconv.Atoi(d.Value)
		if err != nil {
			continue
		}
		up := p.stage(n)
		if up == nil {
			continue
		}
		if a := yamlMapGet(up, "artifacts"); a != nil && a.Kind == yaml.SequenceNode {
			for _, x := range a.Content {
				paths = append(paths, x.Value)
			}
		}
	}
	fp, err := InputsFingerprint(base, paths)
	if err != nil {
		return err
	}
	yamlMapSet(e, "inputs_fingerprint", yamlStrNode(fp), spec.StageFieldOrder)
	return nil
}

// InputsFingerprint is the fingerprint of a stage's inputs: "sha256:" and
// the SHA-256 over the sorted, de-duplicated paths, each followed by "|",
// its content (or "<missing>" for a path that is not a readable file) and
// a newline. Paths are relative to base.
func InputsFingerprint(base string, paths []string) (string, error) {
	paths = slices.Compact(slices.Sorted(slices.Values(paths)))
	h := sha256.New()
	for _, p := range paths {
		io.WriteString(h, p+"|")
		f, err := os.Open(filepath.Join(base, p))
		if err != nil {
			io.WriteString(h, "<missing>\n")
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			f.Close()
			io.WriteString(h, "<missing>\n")
			continue
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
		io.WriteString(h, "\n")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
