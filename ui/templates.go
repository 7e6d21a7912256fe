package ui

import (
	"embed"
	"html/template"
	"strconv"
	"strings"

	"github.com/maniwani/maniwani"
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
		"accept": accept,
		// sorts are the catalog's orders: path suffix, name, label.
		"sorts": func() [][3]string {
			return [][3]string{{"", "", "Bump order"}, {"/last", "last", "Last reply"}, {"/new", "new", "Creation"}, {"/replies", "replies", "Reply count"}}
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

// accept is a file field's accept attribute for the files the board takes.
func accept(b *maniwani.Board) string {
	mimes := map[string]string{".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
		".webm": "video/webm", ".mp4": "video/mp4"}
	var out []string
	for _, t := range b.Types() {
		if m, ok := mimes[t]; ok {
			out = append(out, m)
		}
		out = append(out, t)
	}
	return strings.Join(out, ",")
}
