package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ReproComparisonSchema tags the result of a same-seed comparison.
const ReproComparisonSchema = "light.repro_comparison.v1"

// ReproComparison is light.repro_comparison.v1 (spec §2.7).
type ReproComparison struct {
	Schema             string                     `json:"schema"`
	First              string                     `json:"first"`
	Second             string                     `json:"second"`
	SameSeedExact      bool                       `json:"same_seed_exact"`
	ComparedArtifacts  map[string]ArtifactCompare `json:"compared_artifacts"`
	Errors             []string                   `json:"errors"`
	IdentityDifference []string                   `json:"identity_differences,omitempty"`
}

// ArtifactCompare is the declared-digest comparison of one artifact.
type ArtifactCompare struct {
	First  string `json:"first"`
	Second string `json:"second"`
	Match  bool   `json:"match"`
}

// IdentityComponents are the parts of a run's identity, in the order the
// Light checker builds its identity tuple.
var IdentityComponents = []string{"matrix_row", "seed", "config", "environment", "code.commit", "code.dirty", "code.diff_sha256", "code.files", "inputs"}

// CompareRunManifests is run_artifact_check's compare mode (spec §3.5): it
// validates both manifests (errors prefixed "first: " and "second: "), and
// only when both are valid compares status, seed, identity, the
// compare_artifacts lists and then the declared artifact digests.
// IdentityDifference names each identity component that differs, which the
// original reports only as one message.
func CompareRunManifests(first, second []byte, filesA, filesB RunFiles, labelA, labelB string, now time.Time) ReproComparison {
	r := ReproComparison{Schema: ReproComparisonSchema, First: labelA, Second: labelB, ComparedArtifacts: map[string]ArtifactCompare{}, Errors: []string{}}
	ca := CheckRunManifest(first, filesA, now)
	cb := CheckRunManifest(second, filesB, now)
	for _, e := range ca.Errors {
		r.Errors = append(r.Errors, "first: "+e)
	}
	for _, e := range cb.Errors {
		r.Errors = append(r.Errors, "second: "+e)
	}
	if len(r.Errors) > 0 {
		return r
	}
	a, b := decodeLoose(first), decodeLoose(second)
	if a["status"] != "completed" || b["status"] != "completed" {
		r.Errors = append(r.Errors, "same-seed comparison requires two completed runs")
	}
	sa, _ := a["seed"].(map[string]any)
	sb, _ := b["seed"].(map[string]any)
	if !reflect.DeepEqual(sa, sb) || sa["role"] != "fixed_repro" {
		r.Errors = append(r.Errors, "runs must share seed role=fixed_repro and the same integer value")
	}
	ia, ib := identity(a), identity(b)
	for i, comp := range IdentityComponents {
		if !reflect.DeepEqual(ia[i], ib[i]) {
			r.IdentityDifference = append(r.IdentityDifference, comp)
		}
	}
	if len(r.IdentityDifference) > 0 {
		r.Errors = append(r.Errors, "run identity differs (matrix/config/environment/code/input)")
	}
	la := stringList(a["reproducibility"].(map[string]any)["compare_artifacts"])
	lb := stringList(b["reproducibility"].(map[string]any)["compare_artifacts"])
	if !slices.Equal(la, lb) {
		r.Errors = append(r.Errors, "compare_artifacts lists differ")
	} else if len(r.Errors) == 0 {
		arta, _ := a["artifacts"].(map[string]any)
		artb, _ := b["artifacts"].(map[string]any)
		for _, name := range la {
			x, y := declaredSHA(arta[name]), declaredSHA(artb[name])
			m := x != "" && x == y
			r.ComparedArtifacts[name] = ArtifactCompare{First: x, Second: y, Match: m}
			if !m {
				r.Errors = append(r.Errors, "artifact mismatch: "+name)
			}
		}
	}
	r.SameSeedExact = len(r.Errors) == 0
	return r
}

func decodeLoose(data []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m)
	return m
}

func declaredSHA(v any) string {
	obj, _ := v.(map[string]any)
	s, _ := obj["sha256"].(string)
	return s
}

// identity builds the Light identity tuple; lists are sorted as the
// original sorts them.
func identity(m map[string]any) []any {
	code, _ := m["code"].(map[string]any)
	var files []string
	for _, f := range asList(code["files"]) {
		obj, _ := f.(map[string]any)
		files = append(files, fmt.Sprint(obj["path"])+"\x00"+fmt.Sprint(obj["sha256"]))
	}
	slices.Sort(files)
	var inputs []string
	for _, in := range asList(m["inputs"]) {
		obj, _ := in.(map[string]any)
		inputs = append(inputs, strings.Join([]string{fmt.Sprint(obj["role"]), fmt.Sprint(obj["source_revision"]), fmt.Sprint(obj["sha256"])}, "\x00"))
	}
	slices.Sort(inputs)
	return []any{m["matrix_row"], m["seed"], declaredSHA(m["config"]), declaredSHA(m["environment"]),
		code["commit"], code["dirty"], code["diff_sha256"], files, inputs}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
