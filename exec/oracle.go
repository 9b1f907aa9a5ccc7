package exec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// Names of the completion oracle's checks, as listed in the manifest's
// completion.oracle.
const (
	CheckOutputsPresent  = "outputs_present"
	CheckMetricsFinite   = "raw_metrics_finite"
	CheckTestsPassed     = "tests_passed"
	CheckOracleCommand   = "oracle_command"
	maxMetricsLineLength = 16 << 20
)

// expectedOutputs are the files a completed run must leave, non-empty, in
// RIGOR_OUT.
var expectedOutputs = []string{"predictions.csv", "raw_metrics.jsonl"}

// checkMetrics reads raw metrics (JSON Lines) and reports the first problem:
// a line that is not JSON, a NaN or infinite number (Python's json writes
// them as NaN, Infinity and -Infinity, which are not JSON), a number too
// large for a float64, or a string that spells NaN or Inf. Blank lines are
// allowed; at least one record is required. Memory is bounded by the
// longest line, at most 16 MiB.
func checkMetrics(r io.Reader) (records int, problem string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		var rerr error
		for {
			frag, e := br.ReadSlice('\n')
			line = append(line, frag...)
			if len(line) > maxMetricsLineLength {
				return records, fmt.Sprintf("line %d is longer than %d bytes", n, maxMetricsLineLength), nil
			}
			if !errors.Is(e, bufio.ErrBufferFull) {
				rerr = e
				break
			}
		}
		if rerr != nil && rerr != io.EOF {
			return records, "", rerr
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			if p := checkMetricsLine(trimmed); p != "" {
				return records, fmt.Sprintf("line %d: %s", n, p), nil
			}
			records++
		}
		if rerr == io.EOF {
			break
		}
	}
	if records == 0 {
		return 0, "no metric records", nil
	}
	return records, "", nil
}

func checkMetricsLine(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if tok := nonFiniteToken(line); tok != "" {
			return "holds " + tok
		}
		return "not JSON: " + err.Error()
	}
	if dec.More() {
		return "more than one JSON value"
	}
	return nonFiniteValue(v, "")
}

// nonFiniteToken finds a bare NaN, Infinity or -Infinity outside strings.
func nonFiniteToken(line []byte) string {
	inString, escaped := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case atValueStart(line[:i]):
			for _, tok := range []string{"NaN", "-Infinity", "Infinity", "-inf", "inf", "nan"} {
				if !bytes.HasPrefix(line[i:], []byte(tok)) {
					continue
				}
				if rest := line[i+len(tok):]; len(rest) == 0 || bytes.IndexByte([]byte(",]} \t\r\n"), rest[0]) >= 0 {
					return tok
				}
			}
		}
	}
	return ""
}

// atValueStart reports whether a JSON value may start after before: it is
// empty or ends, spaces aside, with ':', '[' or ','.
func atValueStart(before []byte) bool {
	before = bytes.TrimRight(before, " \t\r\n")
	return len(before) == 0 || bytes.IndexByte([]byte(":[,"), before[len(before)-1]) >= 0
}

// nonFiniteValue walks a decoded value for numbers that overflow float64
// and strings that spell a non-finite number.
func nonFiniteValue(v any, path string) string {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return fmt.Sprintf("%s%s overflows to Inf", at(path), x)
		}
		_ = f
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity":
			return fmt.Sprintf("%sholds the string %q", at(path), x)
		}
	case map[string]any:
		for k, e := range x {
			if p := nonFiniteValue(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := nonFiniteValue(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return strings.TrimPrefix(path, ".") + " "
}

// judge returns the run status for a termination, and the completion
// status for the oracle checks: NOT_EVALUATED unless the run completed,
// then FAIL if any check failed and PASS otherwise.
func judge(reason string, exitCode *int, checks []spec.OracleCheck) (status, completion string) {
	status = spec.StatusFor(reason, exitCode)
	if status != spec.StatusCompleted || len(checks) == 0 {
		return status, spec.CompletionNotEvaluated
	}
	for _, c := range checks {
		if c.Status != spec.CompletionPass {
			return status, spec.CompletionFail
		}
	}
	return status, spec.CompletionPass
}
