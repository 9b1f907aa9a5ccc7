package gates

import (
	"regexp"
	"sync"
)

// lazyRegexp is a regular expression compiled on its first use. The gates'
// expressions (some are long case-insensitive alternations) took about
// 2 ms to compile at package initialisation, which every rigor command
// paid, whether it scanned Python or not.
type lazyRegexp struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

func lazyRE(src string) *lazyRegexp { return &lazyRegexp{src: src} }

// MatchString is regexp.Regexp.MatchString, compiling first if needed.
func (l *lazyRegexp) MatchString(s string) bool {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re.MatchString(s)
}
