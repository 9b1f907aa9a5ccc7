package spec

import (
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// SARIF 2.1.0 constants.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// SARIFOptions describe the tool in a SARIF export. The zero value names
// the tool "rigor" with no version.
type SARIFOptions struct {
	ToolName       string // "" means "rigor"
	ToolVersion    string // "" leaves the version out
	InformationURI string // "" leaves it out
	// RuleHelp gives a rule's one-line description by rule id, for
	// tool.driver.rules; rules not in it get their id as description.
	RuleHelp map[string]string
}

// SARIFLog is the subset of a SARIF 2.1.0 log that a findings export uses.
type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SARIFRun `json:"runs"`
}

// SARIFRun is one run of one tool.
type SARIFRun struct {
	Tool    SARIFTool     `json:"tool"`
	Results []SARIFResult `json:"results"`
}

// SARIFTool describes the tool.
type SARIFTool struct {
	Driver SARIFDriver `json:"driver"`
}

// SARIFDriver is the tool component that produced the results.
type SARIFDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []SARIFRule `json:"rules"`
}

// SARIFRule is a reportingDescriptor for one rule id.
type SARIFRule struct {
	ID                   string         `json:"id"`
	ShortDescription     SARIFMessage   `json:"shortDescription"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration,omitempty"`
}

// SARIFMessage is a plain-text message.
type SARIFMessage struct {
	Text string `json:"text"`
}

// SARIFResult is one finding.
type SARIFResult struct {
	RuleID     string          `json:"ruleId"`
	Level      string          `json:"level"`
	Message    SARIFMessage    `json:"message"`
	Locations  []SARIFLocation `json:"locations,omitempty"`
	Properties map[string]any  `json:"properties,omitempty"`
}

// SARIFLocation is where a result is: a physical location when the loc
// names a line of a file, a logical one otherwise or in addition.
type SARIFLocation struct {
	PhysicalLocation *SARIFPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []SARIFLogicalLocation `json:"logicalLocations,omitempty"`
}

// SARIFPhysicalLocation is a file and a region in it.
type SARIFPhysicalLocation struct {
	ArtifactLocation SARIFArtifactLocation `json:"artifactLocation"`
	Region           *SARIFRegion          `json:"region,omitempty"`
}

// SARIFArtifactLocation names a file by URI reference.
type SARIFArtifactLocation struct {
	URI string `json:"uri"`
}

// SARIFRegion is a start position; lines and columns are 1-based.
type SARIFRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// SARIFLogicalLocation names a place that is not a file region (a notebook
// cell, a gate).
type SARIFLogicalLocation struct {
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty"`
}

// SARIFLevel maps a gate severity to a SARIF level as §2.6 says: critical
// and major are "error", minor "warning", info (and anything else) "note".
func SARIFLevel(s Severity) string {
	switch s {
	case SeverityCritical, SeverityMajor:
		return "error"
	case SeverityMinor:
		return "warning"
	}
	return "note"
}

// SARIF exports r as a SARIF 2.1.0 log with one run. Every finding of every
// gate becomes a result: its ruleId is the finding's rule, or the gate name
// when the finding has none; its level comes from the gate's severity
// ([SARIFLevel]); its message is the issue followed by " (fix: ...)" when
// there is a fix. A loc of the form "file:line[:col]" becomes an artifact
// URI with startLine (and startColumn); a notebook cell loc
// ("nb.ipynb:cell 3:12:5") keeps the notebook as the artifact, the line and
// column within the cell as the region, and names the cell as a logical
// location and in properties.cell. Any other loc becomes a logical location.
// Evidence goes to properties.evidence, the gate to properties.gate.
func (r *Report) SARIF(opts SARIFOptions) *SARIFLog {
	name := opts.ToolName
	if name == "" {
		name = "rigor"
	}
	run := SARIFRun{
		Tool:    SARIFTool{Driver: SARIFDriver{Name: name, Version: opts.ToolVersion, InformationURI: opts.InformationURI, Rules: []SARIFRule{}}},
		Results: []SARIFResult{},
	}
	seen := map[string]bool{}
	for _, g := range r.Gates {
		level := SARIFLevel(g.Severity)
		for _, f := range g.Findings {
			id := f.Rule
			if id == "" {
				id = g.Gate
			}
			if !seen[id] {
				seen[id] = true
				desc := opts.RuleHelp[id]
				if desc == "" {
					desc = id
				}
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, SARIFRule{
					ID: id, ShortDescription: SARIFMessage{Text: desc},
					DefaultConfiguration: map[string]any{"level": level},
				})
			}
			msg := f.Issue
			if f.Fix != "" {
				msg += " (fix: " + f.Fix + ")"
			}
			res := SARIFResult{RuleID: id, Level: level, Message: SARIFMessage{Text: msg},
				Properties: map[string]any{"gate": g.Gate, "status": string(g.Status), "severity": string(g.Severity)}}
			if f.Evidence != "" {
				res.Properties["evidence"] = f.Evidence
			}
			res.Locations = []SARIFLocation{sarifLocation(f.Loc, res.Properties)}
			run.Results = append(run.Results, res)
		}
	}
	return &SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{run}}
}

func sarifLocation(loc string, props map[string]any) SARIFLocation {
	l, ok := ParseLoc(loc)
	if !ok {
		return SARIFLocation{LogicalLocations: []SARIFLogicalLocation{{Name: loc}}}
	}
	out := SARIFLocation{PhysicalLocation: &SARIFPhysicalLocation{
		ArtifactLocation: SARIFArtifactLocation{URI: SARIFURI(l.Path)},
		Region:           &SARIFRegion{StartLine: l.Line, StartColumn: l.Col},
	}}
	if l.Cell > 0 {
		props["cell"] = l.Cell
		out.LogicalLocations = []SARIFLogicalLocation{{Name: "cell " + strconv.Itoa(l.Cell), Kind: "module"}}
	}
	return out
}

// SARIFURI turns a file path into the URI reference SARIF wants: a relative
// path stays relative with forward slashes and percent-escapes; an absolute
// one becomes a file:// URI.
func SARIFURI(p string) string {
	slash := filepath.ToSlash(p)
	if filepath.IsAbs(p) || strings.HasPrefix(slash, "/") {
		u := url.URL{Scheme: "file", Path: path.Clean("/" + strings.TrimPrefix(slash, "/"))}
		return u.String()
	}
	u := url.URL{Path: strings.TrimPrefix(slash, "./")}
	return u.String()
}
