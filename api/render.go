package api

import (
	"context"
	"html"
	"strings"
)

// plainRenderer shows a post as its text: escaped, with <br> for each line
// break. The markdown service replaces it when it is configured.
type plainRenderer struct{}

func (plainRenderer) Render(_ context.Context, _ string, _ int64, body string) (string, error) {
	return strings.ReplaceAll(html.EscapeString(body), "\n", "<br>"), nil
}
