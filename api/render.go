package api

import (
	"context"
	"github.com/maniwani/maniwani"
	"html"
	"strings"
)

// plainRenderer shows a post as its text: escaped, with <br> for each line
// break. The markdown service replaces it when it is configured.
type plainRenderer struct{}

func (plainRenderer) Render(_ context.Context, in maniwani.RenderInput) (string, error) {
	return strings.ReplaceAll(html.EscapeString(in.Body), "\n", "<br>"), nil
}
