package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ManifestFile is one {path, sha256} record of a run manifest, read
// loosely, the way the run-artifact checker reads it.
type ManifestFile struct {
	// Label is the checker's name for the record: "config",
	// "environment", "code.files[0]", "inputs[0]", "artifacts.predictions".
	Label string
	// Path is the path as written; Rel its cleaned form, and Inside whether
	// it stays inside the run directory (see [RunRelPath]). Rel is "" when
	// Path is missing or blank.
	Path   string
	Rel    string
	Inside bool
	// SHA256 and BLAKE3 are the digests as written ("" when absent). Size
	// is rigor's size member, nil when absent or not an integer.
	SHA256 string
	BLAKE3 string
	Size   *int64
	// Role and SourceRevision are the input's (inputs only).
	Role           string
	SourceRevision string
}

// ManifestFiles lists the {path, sha256} records of a run manifest in the
// checker's order: config, environment, code files, inputs, then the
// artifacts by name. Records that are not objects are left out; a null
// artifact is left out. It returns nil when data is not a JSON object.
func ManifestFiles(data []byte) []ManifestFile {
	m := decodeLoose(data)
	if m == nil {
		return nil
	}
	var out []ManifestFile
	add := func(label string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		f := ManifestFile{Label: label}
		f.Path, _ = obj["path"].(string)
		f.SHA256, _ = obj["sha256"].(string)
		f.BLAKE3, _ = obj["blake3"].(string)
		f.Role, _ = obj["role"].(string)
		f.SourceRevision, _ = obj["source_revision"].(string)
		if n, ok := obj["size"].(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				f.Size = &i
			}
		}
		if strings.TrimSpace(f.Path) != "" {
			f.Rel, f.Inside = RunRelPath(f.Path)
			if !f.Inside {
				f.Rel = ""
			}
		}
		out = append(out, f)
	}
	add("config", m["config"])
	add("environment", m["environment"])
	code, _ := m["code"].(map[string]any)
	for i, f := range asList(code["files"]) {
		add(fmt.Sprintf("code.files[%d]", i), f)
	}
	for i, in := range asList(m["inputs"]) {
		add(fmt.Sprintf("inputs[%d]", i), in)
	}
	arts, _ := m["artifacts"].(map[string]any)
	names := make([]string, 0, len(arts))
	for n := range arts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		add("artifacts."+n, arts[n])
	}
	return out
}

// ManifestPaths returns the distinct cleaned paths inside the run
// directory that a run manifest names, in [ManifestFiles] order.
func ManifestPaths(data []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range ManifestFiles(data) {
		if f.Rel != "" && !seen[f.Rel] {
			seen[f.Rel] = true
			out = append(out, f.Rel)
		}
	}
	return out
}

// ErrorLabel returns the record label a run-artifact checker message is
// about ("config", "inputs[0]", "artifacts.stdout"), or "" for a message
// about the manifest as a whole.
func ErrorLabel(msg string, files []ManifestFile) string {
	best := ""
	for _, f := range files {
		l := f.Label
		if len(l) > len(best) && strings.HasPrefix(msg, l) && len(msg) > len(l) {
			switch msg[len(l)] {
			case ':', '.', ' ':
				best = l
			}
		}
	}
	if best != "" {
		return best
	}
	// Records that are not objects are not in files; their messages still
	// start with the label.
	for _, p := range []string{"config", "environment"} {
		if strings.HasPrefix(msg, p+" ") || strings.HasPrefix(msg, p+":") || strings.HasPrefix(msg, p+".") {
			return p
		}
	}
	for _, p := range []string{"code.files[", "inputs[", "artifacts."} {
		if strings.HasPrefix(msg, p) {
			if i := strings.IndexAny(msg[len(p):], ":. "); i >= 0 {
				end := len(p) + i
				if p != "artifacts." && msg[end-1] != ']' {
					continue
				}
				return msg[:end]
			}
		}
	}
	return ""
}

// ManifestRunID returns the run_id of a run manifest, read loosely; ok is
// false when it is missing or blank.
func ManifestRunID(data []byte) (string, bool) {
	s, ok := nonEmptyString(decodeLoose(data)["run_id"])
	return strings.TrimSpace(s), ok
}
