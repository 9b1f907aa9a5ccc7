package spec

import (
	"strconv"
	"strings"
)

// Loc is a place in a source file as a finding's loc string names it. Line
// and Col are 1-based; 0 means unknown (Col 0 with Line > 0: the whole line).
// Cell is the 1-based cell of a Jupyter notebook, 0 for a plain file; Line
// and Col then count within the cell.
type Loc struct {
	Path string
	Cell int
	Line int
	Col  int
}

// String formats l the way findings carry it: "path", "path:line",
// "path:line:col", or for a notebook cell "nb.ipynb:cell 3:12:5".
func (l Loc) String() string {
	var b strings.Builder
	b.WriteString(l.Path)
	if l.Cell > 0 {
		b.WriteString(":cell ")
		b.WriteString(strconv.Itoa(l.Cell))
	}
	if l.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(l.Line))
		if l.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(l.Col))
		}
	}
	return b.String()
}

// ParseLoc is the inverse of [Loc.String]. It reads the numbers from the
// right, so a path may itself contain colons ("C:\src\a.py:3"). ok is false
// when s has no line number, as in "P:leakage" or "(rows)"; l.Path is then s.
func ParseLoc(s string) (l Loc, ok bool) {
	rest := s
	nums := make([]int, 0, 2)
	for len(nums) < 2 {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil || n <= 0 || strings.HasPrefix(rest[i+1:], "+") {
			break
		}
		nums = append(nums, n)
		rest = rest[:i]
	}
	if len(nums) == 0 || rest == "" {
		return Loc{Path: s}, false
	}
	l.Path = rest
	if len(nums) == 2 {
		l.Line, l.Col = nums[1], nums[0]
	} else {
		l.Line = nums[0]
	}
	if i := strings.LastIndex(rest, ":cell "); i > 0 {
		if c, err := strconv.Atoi(rest[i+len(":cell "):]); err == nil && c > 0 {
			l.Path, l.Cell = rest[:i], c
		}
	}
	return l, true
}
