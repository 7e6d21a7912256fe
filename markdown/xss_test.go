package markdown

import (
	"os"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
)

// xssVectors reads testdata/xss.txt: one vector a line, or the lines
// between two "%%%" lines as one; "# " lines are comments.
func xssVectors(t testing.TB) []string {
	b, err := os.ReadFile("testdata/xss.txt")
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	var multi []string
	inMulti := false
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		switch {
		case line == "%%%":
			if inMulti {
				vs = append(vs, strings.Join(multi, "\n"))
				multi = multi[:0]
			}
			inMulti = !inMulti
		case inMulti:
			multi = append(multi, line)
		case strings.HasPrefix(line, "# "), line == "":
		default:
			vs = append(vs, line)
		}
	}
	if inMulti {
		t.Fatal("testdata/xss.txt: a %%% block is not closed")
	}
	// What a text file cannot well hold: the cheat sheet's NUL in
	// "java\0script", and other control characters.
	vs = append(vs, "<IMG SRC=java\x00script:alert(\"XSS\")>", "https://x.example/\x00\"onmouseover=alert(1)",
		"jav\x0dascript:alert(1)", "<a\x0bhref=javascript:alert(1)>", "\xfe<script>\xff")
	return vs
}

// TestXSS renders every vector of the corpus, alone and inside each piece
// of the post syntax, and requires each output to be inert: checkHTML
// lets through only the renderer's own tags, with their own attributes
// (no on*), hrefs that are /board/ paths or http(s) URLs (no javascript:,
// data:, vbscript:), and text with every < > & " ' escaped.
func TestXSS(t *testing.T) {
	vectors := xssVectors(t)
	if len(vectors) < 60 {
		t.Fatalf("%d vectors in testdata/xss.txt; want at least 60", len(vectors))
	}
	wraps := []struct{ before, after string }{
		{"", ""},
		{">", ""},
		{">>34 ", " >>>/g/56"},
		{"||", "||"},
		{"[spoiler]", "[/spoiler]"},
		{"*", "*"},
		{"**", "**"},
		{"[code]", "[/code]"},
		{"[code]\n", "\n[/code]"},
		{"```\n", "\n```"},
		{"`", "`"},
		{"https://example.com/", ""},
		{"(", ")"},
	}
	r := NewRenderer(RendererConfig{})
	n := 0
	for _, v := range vectors {
		for _, w := range wraps {
			body := w.before + v + w.after
			for _, in := range []maniwani.RenderInput{testInput(body), {Board: "b", Body: body}} {
				out, err := r.Render(t.Context(), in)
				if err != nil {
					t.Fatal(err)
				}
				n++
				if err := checkHTML(out); err != nil {
					t.Errorf("vector %q: %v\noutput: %s", body, err, out)
				}
			}
		}
	}
	t.Logf("%d vectors, %d renders, all inert", len(vectors), n)
}
