package spec

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds the value rules of the Light execution contract (§3.1
// "Common helpers"): how a loosely typed JSON member is read as text, as a
// number, as an enumerated status, as a hash or as a timestamp.

// JSONText returns the text of a JSON value as the contract rules read it:
// "" for null, a string as is, a number as written, true and false as
// "true" and "false", and an array or object as its canonical JSON.
func JSONText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	}
	return jsonRepr(v)
}

// jsonRepr is v as canonical JSON, for messages.
func jsonRepr(v any) string {
	b, err := Canonical(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// ContractStatus normalises an enumerated value: its [JSONText], trimmed
// and upper-cased. A missing value is "".
func ContractStatus(v any) string { return strings.ToUpper(strings.TrimSpace(JSONText(v))) }

// JSONInt returns v as an integer when it is a JSON number written as an
// integer (no fraction or exponent: 1.0 is not an integer, as in Python's
// json) that fits in an int64. Booleans are not integers.
func JSONInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

// pyFloat is the syntax Python's float() accepts for a string, after
// trimming: a decimal with optional underscores between digits, or inf,
// infinity, nan, each with an optional sign.
var pyFloat = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[+-]?(?:(?:[0-9](?:_?[0-9])*)?(?:\.(?:[0-9](?:_?[0-9])*)?)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?|(?i:inf|infinity|nan))$`)
})

// ContractNumber reads v as a number the way the contract rules do (they
// accept anything Python's float() converts): a JSON number, a boolean (1
// or 0), or a string that float() parses, such as "5", " 2.5 ", "1e3",
// "1_000" or "inf". Anything else — null, "UNKNOWN", an array — is not a
// number.
func ContractNumber(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil || isRangeErr(err)
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	case string:
		s := strings.TrimSpace(t)
		if s == "" || !pyFloat().MatchString(s) || !strings.ContainsAny(s, "0123456789") && !isInfNaN(s) {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		return f, err == nil || isRangeErr(err)
	}
	return 0, false
}

func isInfNaN(s string) bool {
	s = strings.ToLower(strings.TrimLeft(s, "+-"))
	return s == "inf" || s == "infinity" || s == "nan"
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// IsHex64Any reports whether s, trimmed, is 64 hex digits of either case,
// the contract's hash rule.
func IsHex64Any(s string) bool { return IsHex64(strings.ToLower(strings.TrimSpace(s))) }

// IsSHARef reports whether s, trimmed, is a sha-ref: 64 hex digits with an
// optional "sha256:" prefix.
func IsSHARef(s string) bool {
	s = strings.TrimSpace(s)
	return IsHex64Any(strings.TrimPrefix(s, "sha256:"))
}

// placeholder matches, as a whole and ignoring case, the values the
// contract treats as "not filled in".
var placeholder = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(?:|\{\{.*\}\}|todo|tbd|待填|待定|-|—|–|n/a|na|unknown)$`)
})

// IsPlaceholder reports whether s, trimmed, is a placeholder: empty,
// "{{...}}", TODO, TBD, 待填, 待定, a single dash (-, — or –), n/a, na or
// unknown, in any case.
func IsPlaceholder(s string) bool { return placeholder().MatchString(strings.TrimSpace(s)) }

// IsRealText reports whether v is a string that is not a placeholder.
func IsRealText(v any) bool {
	s, ok := v.(string)
	return ok && !IsPlaceholder(s)
}

// IsMissing reports whether a contract member counts as missing: absent,
// null, "", [] or {}. 0 and false are present.
func IsMissing(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// Truthy is Python's truth value of a JSON value: false for null, false,
// 0, "", [] and {}; true otherwise (the string "false" is true).
func Truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return err != nil || f != 0
	}
	return !IsMissing(v)
}

// isoTime is the ISO-8601 date-time syntax Python's datetime.fromisoformat
// reads, in the extended form: a date, a 'T' or space, hours with optional
// minutes, seconds and fraction, and an optional offset (Z, ±HH, ±HH:MM or
// ±HHMM, with optional seconds).
var isoTime = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?` +
		`(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$`)
})

// ParseContractTime parses an ISO-8601 timestamp that carries a time zone
// ("2026-07-04T10:00+08:00", "2026-07-04T02:00:00Z"). ok is false for
// anything else, including a valid timestamp without a zone and a value
// that is not a string.
func ParseContractTime(v any) (t time.Time, ok bool) {
	s, isStr := v.(string)
	if !isStr {
		return time.Time{}, false
	}
	m := isoTime().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || m[8] == "" {
		return time.Time{}, false
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	year, month, day, hour, minute, sec := num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6])
	nsec := 0
	if m[7] != "" {
		frac := (m[7] + "000000000")[:9]
		nsec = num(frac)
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	offset := 0
	if z := m[8]; z != "Z" && z != "z" {
		digits := strings.ReplaceAll(z[1:], ":", "")
		if len(digits)%2 != 0 {
			return time.Time{}, false
		}
		oh, om, os := num(digits[0:2]), 0, 0
		if len(digits) >= 4 {
			om = num(digits[2:4])
		}
		if len(digits) == 6 {
			os = num(digits[4:6])
		}
		if om > 59 || os > 59 || oh > 23 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60 + os
		if z[0] == '-' {
			offset = -offset
		}
	}
	loc := time.FixedZone("", offset)
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day || t.Month() != time.Month(month) { // 2026-02-30 normalises away
		return time.Time{}, false
	}
	return t, true
}

// IsFuture reports whether t lies more than [FutureSkew] after asOf, the
// contract's "future" rule.
func IsFuture(t, asOf time.Time) bool { return t.After(asOf.Add(FutureSkew)) }
