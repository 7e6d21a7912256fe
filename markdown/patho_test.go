package markdown

import (
	"strings"
	"testing"
	"time"
)

// pathological are inputs of the api's largest size (2000 characters, up
// to 8 KB) built to make a parser quadratic.
func pathological() map[string]string {
	var ticks strings.Builder
	for i := 1; ticks.Len() < 8000; i++ {
		ticks.WriteString(strings.Repeat("`", i%40+1) + " ")
	}
	return map[string]string{
		"stars":            strings.Repeat("*a** ", 1600),
		"star openers":     strings.Repeat("*a ", 2700),
		"star closers":     strings.Repeat("a* ", 2700),
		"rule of three":    strings.Repeat("*a**b***", 1000),
		"pipes":            strings.Repeat("||a ", 2000),
		"spoiler openers":  strings.Repeat("[spoiler]", 900),
		"spoiler closers":  strings.Repeat("[/spoiler]", 800),
		"spoilers nested":  strings.Repeat("[spoiler]", 400) + strings.Repeat("[/spoiler]", 400),
		"code openers":     strings.Repeat("[code]", 1300) + "[/code]",
		"code lines":       strings.Repeat("[code]\n", 1100) + "[/code]",
		"unclosed code":    strings.Repeat("x [code]\n", 900),
		"backticks":        ticks.String(),
		"greentext":        strings.Repeat(">", 8000),
		"quotes":           strings.Repeat(">>1", 2600),
		"cross quotes":     strings.Repeat(">>>/abcdefghijklmnop/1", 360),
		"long number":      ">>" + strings.Repeat("9", 8000),
		"blank lines":      strings.Repeat("\n", 8000) + "x",
		"lines":            strings.Repeat("a\n", 4000),
		"spaces then >":    strings.Repeat(" ", 7999) + ">",
		"space >":          strings.Repeat(" >", 4000),
		"urls":             strings.Repeat("https://a.b ", 660),
		"url parens":       "https://x/" + strings.Repeat("(", 4000) + strings.Repeat(")", 4000),
		"url trailing":     "https://x" + strings.Repeat(".", 8000),
		"fences":           strings.Repeat("```\n", 2000),
		"fence lines":      "````\n" + strings.Repeat("```\n", 2000),
		"escapes":          strings.Repeat("\\*", 4000),
		"greentext spoils": strings.Repeat(">||a\n", 1600),
		"nested stars":     strings.Repeat("*", 4000) + "a" + strings.Repeat("*", 4000),
		"nested mixed":     strings.Repeat("||*a ", 800) + strings.Repeat("b*||\n>", 800),
	}
}

func TestPathological(t *testing.T) {
	r := NewRenderer(RendererConfig{})
	for name, body := range pathological() {
		start := time.Now()
		out, _ := r.Render(t.Context(), testInput(body))
		Refs("b", body)
		d := time.Since(start)
		if err := checkHTML(out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%-16s %5d bytes %v", name, len(body), d)
		if d > time.Second {
			t.Errorf("%s: %v to render %d bytes", name, d, len(body))
		}
	}
}
