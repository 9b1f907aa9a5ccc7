package spec

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// PassportSchema tags a Light orchestrator passport, .light/passport.yaml
// (spec §4.2).
const PassportSchema = "light.passport.v3"

// PassportJSONSchema is rigor's JSON Schema (draft 2020-12) of passport v3,
// written from the description in spec §4.2: the required top-level
// members and their types, the evidence and delivery enumerations, and the
// shape of a stage entry, its gate record and its back edges. The rules a
// schema cannot say are [CheckPassport]'s.
//
//go:embed passport.v3.schema.json
var PassportJSONSchema []byte

// The enumerations of passport v3. Do not reorder; append only.
var (
	EvidenceStates = []string{"VERIFIED", "PLANNED", "UNKNOWN", "UNAVAILABLE", "FAILED"}
	StageStatuses  = []string{"not_started", "in_progress", "delivered", "gate_failed", "needs_rework"}
)

// Stage statuses the checkpoint writes.
const (
	StageDelivered   = "delivered"
	StageGateFailed  = "gate_failed"
	StageNeedsRework = "needs_rework"
)

// MaxRevisionRounds is how many revision rounds a stage may use.
const MaxRevisionRounds = 2

// StageFieldOrder is the order in which a stage entry's fields are
// written; a field a stage lacks is inserted at its place in this order.
var StageFieldOrder = []string{"stage", "depends_on", "status", "node_kind", "evidence_state", "round",
	"revision_rounds", "skill", "input", "output", "artifacts", "inputs_fingerprint", "gate", "back_edges", "gaps"}

// GateRecord is the gate a checkpoint writes into a stage entry, as a flow
// map in this field order.
type GateRecord struct {
	Type          string // "confirm"
	Result        string // PASS, WARN or FAIL
	Notes         string
	Evidence      string // "sha256:<hex>@<ts>"
	EvidenceState string // FAILED or VERIFIED
	Fresh         bool
	Gates         string // comma-joined gate names, or "(none)"
}

// Fields returns the record as ordered key/value pairs.
func (g GateRecord) Fields() [][2]any {
	return [][2]any{{"type", g.Type}, {"result", g.Result}, {"notes", g.Notes}, {"evidence", g.Evidence},
		{"evidence_state", g.EvidenceState}, {"fresh", g.Fresh}, {"gates", g.Gates}}
}

// Unstamped is the evidence timestamp of a checkpoint run without one; its
// gate record is not fresh.
const Unstamped = "unstamped"

// EvidenceDigest is the evidence hash of a checkpoint: the hex SHA-256 of
// the sorted "gate:status:severity" strings of its gates joined by "|",
// followed by "|stage<N>". It changes whenever the set of gates or one's
// outcome changes.
func EvidenceDigest(gates []Gate, stage int) string {
	parts := make([]string, 0, len(gates))
	for _, g := range gates {
		parts = append(parts, g.Gate+":"+string(g.Status)+":"+string(g.Severity))
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "|") + fmt.Sprintf("|stage%d", stage)))
	return hex.EncodeToString(sum[:])
}

// PassportStateHash is the state_hash of a passport given as a JSON tree:
// "sha256:" and the SHA-256 of [PythonJSON] of the passport without its
// state_hash member.
func PassportStateHash(tree map[string]any) (string, error) {
	c := make(map[string]any, len(tree))
	for k, v := range tree {
		if k != "state_hash" {
			c[k] = v
		}
	}
	b, err := PythonJSON(c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// CheckPassport applies the passport rules a JSON Schema cannot state to a
// passport tree (as YAML decodes it: map[string]any, []any, string, int64,
// float64, bool, nil, or json.Number). Errors make the passport invalid;
// warnings do not:
//
//   - a confirm gate that has evidence must be fresh, and its
//     evidence_state must be one of [EvidenceStates] (error); a confirm
//     gate without evidence is a PLANNED placeholder (warning);
//   - stage numbers are unique;
//   - a back edge must point to an earlier stage, and both of its stages
//     must exist;
//   - revision_rounds is at most [MaxRevisionRounds].
//
// With verifyHash, state_hash must also equal [PassportStateHash].
func CheckPassport(tree map[string]any, verifyHash bool) (errs, warnings []string) {
	stages, _ := tree["stages"].([]any)
	exists := map[int64]bool{}
	for i, sv := range stages {
		st, ok := sv.(map[string]any)
		if !ok {
			continue
		}
		n, ok := passportInt(st["stage"])
		if !ok {
			continue
		}
		if exists[n] {
			errs = append(errs, fmt.Sprintf("stages[%d]: stage %d appears twice", i, n))
		}
		exists[n] = true
	}
	for i, sv := range stages {
		st, ok := sv.(map[string]any)
		if !ok {
			continue
		}
		at := fmt.Sprintf("stages[%d]", i)
		if n, ok := passportInt(st["stage"]); ok {
			at = fmt.Sprintf("stage %d", n)
		}
		if g, ok := st["gate"].(map[string]any); ok && g["type"] == "confirm" {
			if ev, _ := g["evidence"].(string); strings.TrimSpace(ev) == "" {
				warnings = append(warnings, at+": confirm gate without evidence (a PLANNED placeholder)")
			} else {
				if g["fresh"] != true {
					errs = append(errs, at+": a confirm gate with evidence must be fresh")
				}
				if es, _ := g["evidence_state"].(string); !slices.Contains(EvidenceStates, es) {
					errs = append(errs, fmt.Sprintf("%s: gate evidence_state %q is not one of %s", at, es, strings.Join(EvidenceStates, ", ")))
				}
			}
		}
		if r, ok := passportInt(st["revision_rounds"]); ok && r > MaxRevisionRounds {
			errs = append(errs, fmt.Sprintf("%s: revision_rounds %d is more than %d", at, r, MaxRevisionRounds))
		}
		edges, _ := st["back_edges"].([]any)
		for j, ev := range edges {
			e, ok := ev.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: back_edges[%d] is not a map", at, j))
				continue
			}
			from, ok1 := passportInt(e["from"])
			to, ok2 := passportInt(e["to"])
			switch {
			case !ok1 || !ok2:
				errs = append(errs, fmt.Sprintf("%s: back_edges[%d]: from and to must be stage numbers", at, j))
			case to >= from:
				errs = append(errs, fmt.Sprintf("%s: back_edges[%d]: %d -> %d points forward or to itself", at, j, from, to))
			case !exists[from] || !exists[to]:
				errs = append(errs, fmt.Sprintf("%s: back_edges[%d]: %d -> %d names a stage the passport lacks", at, j, from, to))
			}
		}
	}
	if verifyHash {
		want, err := PassportStateHash(tree)
		if err != nil {
			errs = append(errs, "state_hash: "+err.Error())
		} else if got, _ := tree["state_hash"].(string); got != want {
			errs = append(errs, fmt.Sprintf("state_hash %q is not the hash of the passport (%s)", got, want))
		}
	}
	return errs, warnings
}

// passportInt reads an integer of a passport tree.
func passportInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int:
		return int64(t), true
	case int64:
		return t, true
	case float64:
		if t == float64(int64(t)) {
			return int64(t), true
		}
	}
	return JSONInt(v)
}
