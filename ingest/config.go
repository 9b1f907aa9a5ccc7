package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Errors of config handling.
var (
	// ErrConfigInvalid: the config does not satisfy its schema; the error is
	// a *ConfigError listing every violation.
	ErrConfigInvalid = errors.New("ingest: config does not match its schema")
	// ErrConfigSyntax: the config is not well-formed JSON or YAML, or uses
	// YAML that has no JSON equivalent.
	ErrConfigSyntax = errors.New("ingest: config does not parse")
	// ErrSchemaInvalid: the JSON Schema itself does not compile.
	ErrSchemaInvalid = errors.New("ingest: bad JSON Schema")
)

// ConfigProblem is one schema violation: where (a JSON pointer into the
// config, "" for the whole document) and why.
type ConfigProblem struct {
	Pointer string
	Reason  string
}

func (p ConfigProblem) String() string {
	ptr := p.Pointer
	if ptr == "" {
		ptr = "(root)"
	}
	return ptr + ": " + p.Reason
}

// ConfigError lists every way a config breaks its schema, sorted by
// pointer. It wraps [ErrConfigInvalid].
type ConfigError struct {
	SchemaID string
	Problems []ConfigProblem
}

// Error is one line per problem after a summary line.
func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config does not match schema %s (%d problems)", e.SchemaID, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *ConfigError) Unwrap() error { return ErrConfigInvalid }

// Schema is a compiled JSON Schema (draft 2020-12 unless it says otherwise).
type Schema struct {
	ID  string
	raw []byte
	sch *jsonschema.Schema
}

// CompileSchema compiles a JSON Schema document. References to other
// documents are not followed (nothing is fetched). It returns an error
// wrapping [ErrSchemaInvalid].
func CompileSchema(raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchemaInvalid, err)
	}
	id := "urn:rigor:config-schema"
	if m, ok := doc.(map[string]any); ok {
		if s, ok := m["$id"].(string); ok && s != "" {
			id = s
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchemaInvalid, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchemaInvalid, err)
	}
	return &Schema{ID: id, raw: slices.Clone(raw), sch: sch}, nil
}

// noLoader refuses to load referenced documents.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema reference %s: loading other documents is disabled", url)
}

var printer = message.NewPrinter(language.English)

// Validate checks a parsed config (as [ParseConfig] returns it) and returns
// nil or a *ConfigError with every violation.
func (s *Schema) Validate(v any) error {
	err := s.sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("ingest: validate config: %v", err)
	}
	ce := &ConfigError{SchemaID: s.ID}
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			ce.Problems = append(ce.Problems, ConfigProblem{Pointer: jsonPointer(e.InstanceLocation), Reason: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	slices.SortFunc(ce.Problems, func(a, b ConfigProblem) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	ce.Problems = slices.Compact(ce.Problems)
	return ce
}

// jsonPointer formats RFC 6901 pointer tokens.
func jsonPointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// ConfigFormat guesses the syntax of a config from its file name (.json,
// .yaml, .yml), else from its first byte: "{" or "[" is JSON, anything
// else YAML.
func ConfigFormat(name string, data []byte) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "json"
	case ".yaml", ".yml":
		return "yaml"
	}
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return "json"
	}
	return "yaml"
}

// ParseConfig parses a JSON or YAML config into a JSON value tree
// (map[string]any, []any, string, json.Number, bool, nil). JSON is parsed
// strictly (spec.ParseJSON); YAML must have one document whose mapping keys
// are strings, no duplicate keys, no merge keys, no custom tags, and no
// NaN or infinity. Errors wrap [ErrConfigSyntax].
func ParseConfig(data []byte, format string) (any, error) {
	switch format {
	case "json":
		v, err := spec.ParseJSON(bytes.TrimPrefix(data, []byte("\ufeff")))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfigSyntax, err)
		}
		return v, nil
	case "yaml":
		return parseYAML(data)
	}
	return nil, fmt.Errorf("%w: unknown format %q (want json or yaml)", ErrConfigSyntax, format)
}

// maxYAMLNodes bounds alias expansion ("billion laughs").
const maxYAMLNodes = 1 << 20

func parseYAML(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: empty YAML document", ErrConfigSyntax)
		}
		return nil, fmt.Errorf("%w: %v", ErrConfigSyntax, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrConfigSyntax)
	}
	budget := maxYAMLNodes
	return yamlValue(&doc, &budget, 0)
}

func yamlErr(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrConfigSyntax, n.Line, fmt.Sprintf(format, args...))
}

func yamlValue(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 || depth > 512 {
		return nil, yamlErr(n, "document too large or too deeply nested (aliases expand to more than %d nodes?)", maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, yamlErr(n, "empty document")
		}
		return yamlValue(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		arr := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			for k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				if k.ShortTag() == "!!merge" {
					return nil, yamlErr(k, "merge keys (<<) are not supported; write the keys out")
				}
				return nil, yamlErr(k, "mapping key %q is not a string; quote it", k.Value)
			}
			if _, dup := obj[k.Value]; dup {
				return nil, yamlErr(k, "duplicate key %q", k.Value)
			}
			v, err := yamlValue(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			obj[k.Value] = v
		}
		return obj, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, yamlErr(n, "unsupported YAML node")
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, yamlErr(n, "%v", err)
		}
		return b, nil
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, yamlErr(n, "%v", err)
		}
		switch i := v.(type) {
		case int:
			return json.Number(strconv.Itoa(i)), nil
		case int64:
			return json.Number(strconv.FormatInt(i, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(i, 10)), nil
		case float64:
			return floatNumber(n, i)
		}
		return nil, yamlErr(n, "integer %q out of range", n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, yamlErr(n, "%v", err)
		}
		return floatNumber(n, f)
	}
	return nil, yamlErr(n, "tag %s has no JSON equivalent", n.Tag)
}

func floatNumber(n *yaml.Node, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, yamlErr(n, "%s is not a JSON number", n.Value)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// ConfigOptions control [Ingester.RecordConfig].
type ConfigOptions struct {
	// Path is recorded as the config's name; it also picks the format when
	// Format is empty.
	Path string
	// Format is "json", "yaml", or empty to guess ([ConfigFormat]).
	Format string
	// Schema, if set, is what the config must satisfy; nil records the
	// config unvalidated.
	Schema *Schema
}

// ConfigSnapshot is the result of [Ingester.RecordConfig].
type ConfigSnapshot struct {
	Record spec.ConfigRecord
	Digest digest.Digest // the stored record
	// Canonical is the canonical JSON of the config; its digest,
	// Record.Canonical.Digest, is the config's identity.
	Canonical []byte
}

// RecordConfig parses a matrix-row config, validates it against
// opts.Schema, and stores the bytes as given, their canonical JSON form,
// the schema and the record. A config that does not parse gives an error
// wrapping [ErrConfigSyntax]; one that breaks the schema a *ConfigError
// listing every failing JSON pointer. In both cases nothing is stored.
func (in *Ingester) RecordConfig(ctx context.Context, data []byte, opts ConfigOptions) (ConfigSnapshot, error) {
	format := opts.Format
	if format == "" {
		format = ConfigFormat(opts.Path, data)
	}
	v, err := ParseConfig(data, format)
	if err != nil {
		return ConfigSnapshot{}, err
	}
	if opts.Schema != nil {
		if err := opts.Schema.Validate(v); err != nil {
			return ConfigSnapshot{}, err
		}
	}
	canon, err := spec.Canonical(v)
	if err != nil {
		return ConfigSnapshot{}, fmt.Errorf("%w: %v", ErrConfigSyntax, err)
	}
	rec := spec.ConfigRecord{Schema: spec.SchemaConfig, Path: filepath.ToSlash(opts.Path), Format: format}
	if rec.Source, err = in.putBytes(ctx, data, false); err != nil {
		return ConfigSnapshot{}, err
	}
	if rec.Canonical, err = in.putBytes(ctx, canon, true); err != nil {
		return ConfigSnapshot{}, err
	}
	if opts.Schema != nil {
		obj, err := in.putBytes(ctx, opts.Schema.raw, false)
		if err != nil {
			return ConfigSnapshot{}, err
		}
		rec.ValidatedAgainst = &spec.SchemaRef{ID: opts.Schema.ID, Object: obj}
	}
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return ConfigSnapshot{}, err
	}
	return ConfigSnapshot{Record: rec, Digest: info.Digest, Canonical: canon}, nil
}

// putBytes stores b as a blob, with its SHA-256 when withSHA is set.
func (in *Ingester) putBytes(ctx context.Context, b []byte, withSHA bool) (spec.Object, error) {
	info, err := in.s.Put(ctx, bytes.NewReader(b), cas.PutOptions{})
	if err != nil {
		return spec.Object{}, fmt.Errorf("ingest: %w", err)
	}
	o := spec.Object{Digest: info.Digest, Size: info.Size}
	if withSHA {
		sum := sha256.Sum256(b)
		o.SHA256 = hex.EncodeToString(sum[:])
	}
	return o, nil
}
