package serve

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"
	"unicode/utf8"

	digest "github.com/opencontainers/go-digest"
)

// assets are the templates and the static files (style.css, app.js),
// embedded in the binary: nothing is built or fetched to serve them.
//
//go:embed assets
var assets embed.FS

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"runs.html", "run.html", "log.html", "file.html", "compare.html", "lineage.html", "findings.html", "report.html", "error.html"}

type pages struct {
	t map[string]*template.Template
}

func loadPages() *pages {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		p.t[name] = template.Must(template.New(name).Funcs(templateFuncs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/"+name))
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// never leaves half a page behind a 200.
func (p *pages) render(w http.ResponseWriter, code int, name string, v any) {
	var buf bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "rigor serve: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// templateFuncs build URLs (every element escaped) and format values.
var templateFuncs = template.FuncMap{
	"short": func(d any) string { return shortDigest(fmt.Sprint(d)) },
	"bytes": humanBytes,
	"dur":   durationText,
	"runURL": func(id string) string {
		return "/runs/" + pathEscape(id)
	},
	"fileURL": func(run, p string) string {
		return "/runs/" + pathEscape(run) + "/files/" + escapePath(p)
	},
	"logURL": func(run, name string) string {
		return "/runs/" + pathEscape(run) + "/logs/" + pathEscape(name)
	},
	"blobURL": func(d digest.Digest, p string) string {
		u := "/blobs/" + pathEscape(d.String())
		if n := path.Base(p); p != "" {
			if _, err := downloadName(n); err == nil && n != "" {
				u += "?name=" + url.QueryEscape(n)
			}
		}
		return u
	},
	"lineageURL": func(d any) string { return "/lineage/" + pathEscape(fmt.Sprint(d)) },
	"compareURL": func(a, b string) string {
		return "/compare?" + url.Values{"a": {a}, "b": {b}}.Encode()
	},
	"reportURL": func(d digest.Digest, run string) string {
		u := "/findings/" + pathEscape(d.String())
		if run != "" {
			u += "?run=" + url.QueryEscape(run)
		}
		return u
	},
	"intp": func(p *int) string {
		if p == nil {
			return "–"
		}
		return strconv.Itoa(*p)
	},
	"num": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmtNum(*p)
	},
	"sha256digest": func(hex string) string {
		if hex == "" {
			return ""
		}
		return "sha256:" + hex
	},
	"cut": func(s string, n int) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		r := []rune(s)
		return string(r[:n-1]) + "…"
	},
	"fnum": fmtNum,
	"add":  func(a, b int) int { return a + b },
	"lnum": func(i int) int { return i + 1 },
}

// durationText rounds a duration for a table: 850ms, 12.3s, 4m5s.
func durationText(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
