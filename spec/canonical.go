package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values that [ParseJSON] accepts, so
// that hostile input cannot exhaust the stack.
const maxDepth = 512

// ParseJSON parses one JSON value strictly and returns it as a tree of
// map[string]any, []any, string, json.Number, bool and nil. It returns an
// error wrapping [ErrSyntax] for malformed JSON, invalid UTF-8, a duplicate
// object key, trailing data after the value, or nesting deeper than 512.
// Numbers are kept exactly as written (json.Number).
func ParseJSON(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrSyntax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the top-level value at offset %d", ErrSyntax, dec.InputOffset())
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrSyntax, maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(err, dec)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxErr(err, dec)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("%w: object key is not a string at offset %d", ErrSyntax, dec.InputOffset())
				}
				if _, dup := obj[k]; dup {
					return nil, fmt.Errorf("%w: duplicate key %q at offset %d", ErrSyntax, k, dec.InputOffset())
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj[k] = v
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, syntaxErr(err, dec)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, syntaxErr(err, dec)
			}
			return arr, nil
		default:
			return nil, fmt.Errorf("%w: unexpected %q at offset %d", ErrSyntax, rune(t), dec.InputOffset())
		}
	default:
		return t, nil // string, json.Number, bool or nil
	}
}

func syntaxErr(err error, dec *json.Decoder) error {
	if err == io.EOF {
		return fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	return fmt.Errorf("%w: %v (offset %d)", ErrSyntax, err, dec.InputOffset())
}

// Canonical returns the canonical JSON encoding of v (see the package
// documentation). v is either a tree as [ParseJSON] returns it or any value
// that encoding/json can marshal, in which case it is marshalled first. It
// returns an error for values JSON cannot represent (NaN, infinities,
// channels...).
func Canonical(v any) ([]byte, error) {
	if !isTree(v) {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("spec: canonical encoding: %w", err)
		}
		if v, err = ParseJSON(raw); err != nil {
			return nil, err
		}
	}
	return appendCanonical(nil, v, 0)
}

// CanonicalizeJSON parses data strictly ([ParseJSON]) and returns its
// canonical encoding.
func CanonicalizeJSON(data []byte) ([]byte, error) {
	v, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	return appendCanonical(nil, v, 0)
}

func isTree(v any) bool {
	switch v.(type) {
	case map[string]any, []any, string, json.Number, bool, nil:
		return true
	}
	return false
}

func appendCanonical(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrSyntax, maxDepth)
	}
	var err error
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case string:
		return appendString(b, t), nil
	case json.Number:
		return appendNumber(b, string(t))
	case float64:
		return appendFloat(b, t)
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendCanonical(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if b, err = appendCanonical(b, t[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	default:
		sub, err := Canonical(v)
		if err != nil {
			return nil, err
		}
		return append(b, sub...), nil
	}
}

// isJSONInteger reports whether s is an integer in JSON number syntax:
// an optional minus, then 0 or a digit string without a leading zero.
func isJSONInteger(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func appendNumber(b []byte, s string) ([]byte, error) {
	if isJSONInteger(s) {
		if s == "-0" {
			s = "0"
		}
		return append(b, s...), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%w: number %s is out of range", ErrSyntax, s)
		}
		return nil, fmt.Errorf("%w: bad number %q", ErrSyntax, s)
	}
	return appendFloat(b, f)
}

func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not a JSON number", ErrSyntax, f)
	}
	if f == 0 {
		return append(b, '0'), nil // also -0
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	// encoding/json formats floats the way ECMAScript does.
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return append(b, raw...), nil
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
