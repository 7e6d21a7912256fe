package ui

import (
	"embed"
	"html/template"
	"strconv"
)

//go:embed templates/*.html
var templateFiles embed.FS

// parseTemplates parses the pages, with the helpers they call; asset gives
// the hashed URL of an embedded file.
func parseTemplates(a *assets) (*template.Template, error) {
	funcs := template.FuncMap{
		"asset":    a.url,
		"post":     postHTML,
		"size":     func(n int64) string { return humanSize(n) },
		"showTime": showTime,
		"isoTime":  isoTime,
		// short is the first n bytes of a hex hash, for a glance.
		"short": func(s string, n int) string { return s[:min(n, len(s))] },
		"fileBanArgs": func(page *adminPage, post *staffPostView, report int64) fileBanArgs {
			return fileBanArgs{page, post, report}
		},
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return "1 " + one
			}
			return strconv.Itoa(n) + " " + many
		},
	}
	return template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
}
