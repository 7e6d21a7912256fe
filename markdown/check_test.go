package markdown

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
)

// checkHTML is a strict reader of the renderer's output: it accepts only
// the tags the writer writes, with exactly their attributes and values of
// the right form, properly nested, and text in which every & < > " ' is
// escaped. Anything a poster could smuggle in as markup fails it.
func checkHTML(out string) error {
	type open struct {
		tag string
		at  int
	}
	var stack []open
	inside := func(tag string) bool {
		for _, o := range stack {
			if o.tag == tag {
				return true
			}
		}
		return false
	}
	push := func(tag string, at int) error {
		if len(stack) > 0 {
			switch top := stack[len(stack)-1].tag; top {
			case "pre", "code":
				return fmt.Errorf("at %d: <%s> inside <%s>", at, tag, top)
			}
		}
		if tag == "a" && inside("a") {
			return fmt.Errorf("at %d: <a> inside <a>", at)
		}
		stack = append(stack, open{tag, at})
		return nil
	}
	pop := func(tag string, at int) error {
		if len(stack) == 0 || stack[len(stack)-1].tag != tag {
			return fmt.Errorf("at %d: </%s> closes nothing open (open: %v)", at, tag, stack)
		}
		stack = stack[:len(stack)-1]
		return nil
	}
	fixed := []struct {
		s    string
		tag  string
		open bool
	}{
		{"<br>", "", false},
		{"<em>", "em", true}, {"</em>", "em", false},
		{"<strong>", "strong", true}, {"</strong>", "strong", false},
		{"<s>", "s", true}, {"</s>", "s", false},
		{"<code>", "code", true}, {"</code>", "code", false},
		{`<pre class="prettyprint">`, "pre", true}, {"</pre>", "pre", false},
		{`<span class="quote">`, "span", true}, {`<span class="deadlink">`, "span", true}, {"</span>", "span", false},
		{"</a>", "a", false},
	}
	i := 0
next:
	for i < len(out) {
		c := out[i]
		switch c {
		case '<':
			for _, f := range fixed {
				if strings.HasPrefix(out[i:], f.s) {
					var err error
					switch {
					case f.tag == "":
						if len(stack) > 0 && stack[len(stack)-1].tag == "code" {
							err = fmt.Errorf("at %d: <br> inside <code>", i)
						}
					case f.open:
						err = push(f.tag, i)
					default:
						err = pop(f.tag, i)
					}
					if err != nil {
						return err
					}
					i += len(f.s)
					continue next
				}
			}
			if m := quoteLinkRE.FindStringSubmatch(out[i:]); m != nil {
				if err := push("a", i); err != nil {
					return err
				}
				i += len(m[0])
				continue
			}
			if m := urlLinkRE.FindStringSubmatch(out[i:]); m != nil {
				if err := checkText(m[1]); err != nil {
					return fmt.Errorf("at %d: href: %v", i, err)
				}
				href := strings.ToLower(html.UnescapeString(m[1]))
				if !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") {
					return fmt.Errorf("at %d: href %q is not http(s)", i, m[1])
				}
				if err := push("a", i); err != nil {
					return err
				}
				i += len(m[0])
				continue
			}
			end := min(len(out), i+40)
			return fmt.Errorf("at %d: a tag that is not ours: %q", i, out[i:end])
		case '>', '"', '\'':
			return fmt.Errorf("at %d: %q unescaped", i, c)
		case '&':
			for _, e := range entities {
				if strings.HasPrefix(out[i:], e) {
					i += len(e)
					continue next
				}
			}
			return fmt.Errorf("at %d: & that is not one of our entities: %q", i, out[i:min(len(out), i+12)])
		}
		i++
	}
	if len(stack) > 0 {
		return fmt.Errorf("left open: %v", stack)
	}
	// The belt and braces the issue names, though the reader above already
	// lets none of them through.
	markup := strings.ToLower(html.UnescapeString(stripText(out)))
	for _, bad := range []string{`href="javascript:`, `href="data:`, `href="vbscript:`, "<script", " on"} {
		if strings.Contains(markup, bad) {
			return fmt.Errorf("%q in the markup", bad)
		}
	}
	return nil
}

var (
	entities    = []string{"&amp;", "&lt;", "&gt;", "&#34;", "&#39;"}
	quoteLinkRE = regexp.MustCompile(`^<a href="(/[a-z0-9]{1,16}/(?:thread/[1-9][0-9]*#p[0-9]+)?)" class="quotelink">`)
	urlLinkRE   = regexp.MustCompile(`^<a href="([^"<>\s]+)" rel="nofollow noopener ugc">`)
)

// checkText checks escaped text: no raw < > " ', every & an entity of ours.
func checkText(s string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<', '>', '"', '\'':
			return fmt.Errorf("%q unescaped", s[i])
		case '&':
			ok := false
			for _, e := range entities {
				if strings.HasPrefix(s[i:], e) {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("& that is not one of our entities")
			}
		}
	}
	return nil
}

// stripText is the markup of out: its tags, without the text between them.
func stripText(out string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == '<':
			in = true
		case out[i] == '>' && in:
			in = false
			b.WriteByte('>')
			continue
		}
		if in {
			b.WriteByte(out[i])
		}
	}
	return b.String()
}

// visibleText is what a reader sees of out: the text, unescaped, with a
// newline for each <br>.
func visibleText(out string) string {
	var b strings.Builder
	for i := 0; i < len(out); i++ {
		if out[i] == '<' {
			j := strings.IndexByte(out[i:], '>')
			if strings.HasPrefix(out[i:], "<br>") {
				b.WriteByte('\n')
			}
			i += j
			continue
		}
		b.WriteByte(out[i])
	}
	return html.UnescapeString(b.String())
}

// TestCheckHTML: the reader the XSS and fuzz tests trust rejects what it
// must.
func TestCheckHTML(t *testing.T) {
	for _, ok := range []string{
		"", "a &amp; b", "<br>", "<s>x</s>", `<span class="quote">&gt;a <s>b</s></span>`,
		`<a href="/b/thread/12#p34" class="quotelink">&gt;&gt;34</a>`, `<a href="/g/" class="quotelink">x</a>`,
		`<a href="https://x.example/?a=1&amp;b=2" rel="nofollow noopener ugc">x</a>`,
		`<pre class="prettyprint">a<br>b</pre>`, "<code>x</code>",
	} {
		if err := checkHTML(ok); err != nil {
			t.Errorf("checkHTML(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"<script>alert(1)</script>", "<b>x</b>", "<img src=x onerror=alert(1)>",
		`<a href="javascript:alert(1)" rel="nofollow noopener ugc">x</a>`,
		`<a href="JaVaScRiPt:alert(1)" rel="nofollow noopener ugc">x</a>`,
		`<a href="data:text/html,x" rel="nofollow noopener ugc">x</a>`,
		`<a href="&#106;avascript:alert(1)" rel="nofollow noopener ugc">x</a>`,
		`<a href="/b/thread/12#p34" class="quotelink" onclick="x">`,
		`<a href="//evil.example/" class="quotelink">x</a>`,
		`<span class="quote" onmouseover="x">`, `<span class="x">a</span>`,
		"a > b", `say "hi"`, "it's", "&foo;", "&amp", "&#60",
		"<s>", "</s>", "<s><em></s></em>", "<s>a</span>",
		`<a href="/b/" class="quotelink"><a href="/b/" class="quotelink">x</a></a>`,
		`<pre class="prettyprint"><s>x</s></pre>`, "<code><br></code>",
		"<", "<<br>",
	} {
		if err := checkHTML(bad); err == nil {
			t.Errorf("checkHTML(%q) = nil, want an error", bad)
		}
	}
}
