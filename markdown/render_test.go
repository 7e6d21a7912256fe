package markdown

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/maniwani/maniwani"
)

// testInput is a post in thread 12 of /b/, where post 34 is in thread 12,
// post 35 in thread 40, post 12 is the thread's OP, and post 56 of /g/ is
// in thread 7. Boards b and g exist.
func testInput(body string) maniwani.RenderInput {
	return maniwani.RenderInput{
		Board: "b", Thread: 12, Body: body,
		Threads: map[maniwani.Ref]int64{
			{Board: "b", No: 34}: 12,
			{Board: "b", No: 35}: 40,
			{Board: "b", No: 12}: 12,
			{Board: "g", No: 56}: 7,
		},
		Boards: map[string]bool{"b": true, "g": true},
	}
}

const (
	q34    = `<a href="/b/thread/12#p34" class="quotelink">&gt;&gt;34</a>`
	pre    = `<pre class="prettyprint">`
	green  = `<span class="quote">&gt;`
	urlEnd = `" rel="nofollow noopener ugc">`
)

func link(u string) string { return `<a href="` + u + urlEnd + u + `</a>` }

var renderCases = []struct {
	name, body, want string
}{
	// Text and line breaks.
	{"empty", "", ""},
	{"only spaces", "  \n \t \n  ", ""},
	{"plain", "hello", "hello"},
	{"line break", "a\nb", "a<br>b"},
	{"blank line", "a\n\nb", "a<br><br>b"},
	{"blank lines are kept", "a\n\n\n\nb", "a<br><br><br><br>b"},
	{"spaces-only line is a blank line", "a\n   \nb", "a<br><br>b"},
	{"blank lines around the post are dropped", "\n\n  a\n\n\n", "a"},
	{"leading spaces dropped", "   a\n  b", "a<br>b"},
	{"indented line is text, not code", "    x := 1\ny", "x := 1<br>y"},
	{"tab-indented line is text", "\tx\n\t\ty", "x<br>y"},
	{"CRLF", "a\r\nb\rc", "a<br>b<br>c"},
	{"trailing spaces", "a  \nb", "a<br>b"},
	{"NUL", "a\x00b", "a\uFFFDb"},
	{"control characters dropped", "a\x07\x1bb", "ab"},
	{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	{"unicode", "日本語 ¯\\_(ツ)_/¯", "日本語 ¯\\_(ツ)_/¯"},

	// Escaping: nothing typed is markup.
	{"html escaped", `<b>"x" & 'y'</b>`, "&lt;b&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/b&gt;"},
	{"entities shown as typed", "&lt;&amp;&#60;", "&amp;lt;&amp;amp;&amp;#60;"},
	{"script", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
	{"html block", "<div>\n<p>x</p>\n</div>", "&lt;div&gt;<br>&lt;p&gt;x&lt;/p&gt;<br>&lt;/div&gt;"},
	{"html comment", "<!-- x -->", "&lt;!-- x --&gt;"},

	// No Markdown that does not fit a post.
	{"no heading", "# title", "# title"},
	{"no setext heading", "title\n===", "title<br>==="},
	{"no list", "* a\n- b\n+ c\n1. d", "* a<br>- b<br>+ c<br>1. d"},
	{"no thematic break", "---\n***\n___", "---<br>***<br>___"},
	{"no link", "[x](/y)", "[x](/y)"},
	{"no image", "![x](/y.png)", "![x](/y.png)"},
	{"no reference definition", "[a]: /b\n[a]", "[a]: /b<br>[a]"},
	{"no autolink syntax beyond the url", "<mailto:a@b.c>", "&lt;mailto:a@b.c&gt;"},

	// Greentext.
	{"greentext", ">be me", green + "be me</span>"},
	{"greentext lines", ">a\n>b", green + "a</span><br>" + green + "b</span>"},
	{"greentext then text", ">a\nb", green + "a</span><br>b"},
	{"greentext after a blank line", "a\n\n>b", "a<br><br>" + green + "b</span>"},
	{"greentext with spaces before", "  >a", green + "a</span>"},
	{"> alone", ">", green + "</span>"},
	{">> alone", ">>", green + "&gt;</span>"},
	{">>> alone", ">>>", green + "&gt;&gt;</span>"},
	{"> mid-line is text", "a > b >c", "a &gt; b &gt;c"},
	{">> mid-line is text", "a >> b", "a &gt;&gt; b"},
	{"escaped >", "\\>not green", "&gt;not green"},
	{"greentext holding a quote", ">lol >>34", green + "lol " + q34 + "</span>"},
	{">>>N: greentext and a quote", ">>>34", green + q34 + "</span>"},
	{"greentext with emphasis", ">*sigh* **so**", green + "<em>sigh</em> <strong>so</strong></span>"},
	{"greentext arithmetic", ">2*3*4=24", green + "2*3*4=24</span>"},
	{"greentext uppercase board is text", ">>>/G/", green + "&gt;&gt;/G/</span>"},
	{"greentext with a url", ">https://a.example", green + link("https://a.example") + "</span>"},

	// Quotes.
	{"quote", ">>34", q34},
	{"quote of another thread", ">>35", `<a href="/b/thread/40#p35" class="quotelink">&gt;&gt;35</a>`},
	{"quote of the OP", ">>12", `<a href="/b/thread/12#p12" class="quotelink">&gt;&gt;12</a>`},
	{"quote of nothing", ">>99", `<span class="deadlink">&gt;&gt;99</span>`},
	{"quote of 0", ">>0", `<span class="deadlink">&gt;&gt;0</span>`},
	{"quote past int64", ">>99999999999999999999", `<span class="deadlink">&gt;&gt;99999999999999999999</span>`},
	{"quote starting a line is not greentext", ">>34 yes", q34 + " yes"},
	{"dead quote starting a line is not greentext", ">>99 no", `<span class="deadlink">&gt;&gt;99</span> no`},
	{"quote inside a word", "a>>34b", "a" + q34 + "b"},
	{"quotes", ">>34\n>>34 >>35", q34 + "<br>" + q34 + ` <a href="/b/thread/40#p35" class="quotelink">&gt;&gt;35</a>`},
	{">>x is text", ">>x", green + "&gt;x</span>"},
	{"escaped quote", "\\>>34", "&gt;&gt;34"},
	{"cross-board quote", ">>>/g/56", `<a href="/g/thread/7#p56" class="quotelink">&gt;&gt;&gt;/g/56</a>`},
	{"cross-board quote of nothing", ">>>/g/57", `<span class="deadlink">&gt;&gt;&gt;/g/57</span>`},
	{"cross-board quote of a board that does not exist", ">>>/x/56", `<span class="deadlink">&gt;&gt;&gt;/x/56</span>`},
	{"board link", ">>>/g/", `<a href="/g/" class="quotelink">&gt;&gt;&gt;/g/</a>`},
	{"board link mid-line", "see >>>/g/.", `see <a href="/g/" class="quotelink">&gt;&gt;&gt;/g/</a>.`},
	{"board that does not exist", ">>>/nonexistent/", `<span class="deadlink">&gt;&gt;&gt;/nonexistent/</span>`},
	{"board link then text", ">>>/g/catalog", `<a href="/g/" class="quotelink">&gt;&gt;&gt;/g/</a>catalog`},
	{"board name of 17 characters is text", ">>>/abcdefghijklmnopq/", green + "&gt;&gt;/abcdefghijklmnopq/</span>"},
	{"board without its slash is text", ">>>/g", green + "&gt;&gt;/g</span>"},
	{"four >", "a >>>>34", "a &gt;&gt;" + q34},
	{"quote in a spoiler", "||>>34||", "<s>" + q34 + "</s>"},
	{"quote in emphasis", "*>>34*", "<em>" + q34 + "</em>"},
	{"quote in code", "[code]>>34[/code]", pre + "&gt;&gt;34</pre>"},
	{"quote in a code span", "`>>34`", "<code>&gt;&gt;34</code>"},

	// Spoilers.
	{"spoiler", "||secret||", "<s>secret</s>"},
	{"spoiler tag", "[spoiler]secret[/spoiler]", "<s>secret</s>"},
	{"spoiler tag in any case", "[SPOILER]x[/Spoiler]", "<s>x</s>"},
	{"spoiler mid-line", "it was ||him|| all along", "it was <s>him</s> all along"},
	{"pipes with spaces are no spoiler", "a || b || c", "a || b || c"},
	{"three pipes are text", "|||x|||", "|||x|||"},
	{"one pipe is text", "|x|", "|x|"},
	{"unclosed spoiler", "||open", "||open"},
	{"unclosed spoiler tag", "[spoiler]open", "[spoiler]open"},
	{"stray closing tag", "x[/spoiler]", "x[/spoiler]"},
	{"escaped pipes", "\\||not\\||", "||not||"},
	{"spoiler across lines", "||a\nb||", "<s>a<br>b</s>"},
	{"spoiler tag across a blank line", "[spoiler]a\n\nb[/spoiler]", "<s>a<br><br>b</s>"},
	{"spoiler holding greentext lines", "[spoiler]\n>a\n>b\n[/spoiler]",
		"<s><br>" + green + "a</span><br>" + green + "b</span></s>"},
	{"spoiler ending inside greentext", "||a\n>b|| c",
		"<s>a<br>" + green + "b</span></s><span class=\"quote\"> c</span>"},
	{"spoiler starting inside greentext", ">a ||b\nc|| d",
		green + "a <s>b</s></span><br><s>c</s> d"},
	{"spoiler in strong", "**||x||**", "<strong><s>x</s></strong>"},
	{"strong in a spoiler", "||**x**||", "<s><strong>x</strong></s>"},
	{"crossing strong and spoiler nest", "**a ||b** c||", "<strong>a ||b</strong> c||"},
	{"both spoiler syntaxes", "[spoiler]||x||[/spoiler]", "<s><s>x</s></s>"},
	{"empty spoiler across a line", "[spoiler]\n[/spoiler]x", "<s></s><br>x"},

	// Code.
	{"code", "[code]x[/code]", pre + "x</pre>"},
	{"code tag in any case", "[CODE]x[/Code]", pre + "x</pre>"},
	{"code block", "[code]\nif a < b {\n    f()\n}\n[/code]", pre + "if a &lt; b {<br>    f()<br>}</pre>"},
	{"code block between lines", "before\n[code]\nx\n[/code]\nafter", "before<br>" + pre + "x</pre>after"},
	{"code block between blank lines", "before\n\n[code]\nx\n[/code]\n\nafter", "before<br><br>" + pre + "x</pre><br>after"},
	{"code blocks apart", "[code]\na\n[/code]\n\n\n[code]\nb\n[/code]", pre + "a</pre><br><br>" + pre + "b</pre>"},
	{"greentext then code", ">a\n[code]\nb\n[/code]", green + "a</span><br>" + pre + "b</pre>"},
	{"code block keeps blank lines", "[code]a\n\nb[/code]", pre + "a<br><br>b</pre>"},
	{"code block then text on its last line", "[code]\nx\n[/code] tail", pre + "x</pre>tail"},
	{"greentext inside code", "[code]\n>not green\n>>34\n[/code]", pre + "&gt;not green<br>&gt;&gt;34</pre>"},
	{"markup inside code", "[code]*a* ||b|| [spoiler]c[/spoiler] <i> https://x.example[/code]",
		pre + "*a* ||b|| [spoiler]c[/spoiler] &lt;i&gt; https://x.example</pre>"},
	{"inline code", "x [code]a[/code] y", "x " + pre + "a</pre> y"},
	{"inline code across lines", "x [code]a\nb[/code] y", "x " + pre + "a<br>b</pre> y"},
	{"inline code keeps the indentation of its lines", "x [code]if a {\n    f()\n\tg()\n}[/code]", "x " + pre + "if a {<br>    f()<br>\tg()<br>}</pre>"},
	{"unclosed code is text", "[code] x", "[code] x"},
	{"code block with no end is text", "[code]\nx\ny", "[code]<br>x<br>y"},
	{"stray [/code]", "x [/code]", "x [/code]"},
	{"code in a spoiler", "||[code]x[/code]||", "<s>" + pre + "x</pre></s>"},
	{"fence", "```\n<b>\n```", pre + "&lt;b&gt;</pre>"},
	{"fence with info", "```go\nfunc f() {}\n```", pre + "func f() {}</pre>"},
	{"tilde fence", "~~~\nx\n~~~", pre + "x</pre>"},
	{"fence keeps indentation and tabs", "```\n\tx\n  y\n```", pre + "\tx<br>  y</pre>"},
	{"unclosed fence runs to the end", "```\nx\n\ny", pre + "x<br><br>y</pre>"},
	{"fence between lines", "a\n```\nx\n```\nb", "a<br>" + pre + "x</pre>b"},
	{"fence after a blank line", "a\n\n```\nx\n```\n\n\nb", "a<br><br>" + pre + "x</pre><br><br>b"},
	{"fences in a row", "```\na\n```\n```\nb\n```", pre + "a</pre>" + pre + "b</pre>"},
	{"greentext inside a fence", "```\n>x\n```", pre + "&gt;x</pre>"},
	{"fence mid-line is text", "a ```x```", "a <code>x</code>"},
	{"code span", "use `fmt.Println` here", "use <code>fmt.Println</code> here"},
	{"code span escapes", "`<b>&`", "<code>&lt;b&gt;&amp;</code>"},
	{"code span across lines", "`a\nb`", "<code>a b</code>"},
	{"unclosed backtick", "`x", "`x"},

	// Emphasis.
	{"emphasis", "*em*", "<em>em</em>"},
	{"strong", "**strong**", "<strong>strong</strong>"},
	{"both", "***both***", "<em><strong>both</strong></em>"},
	{"emphasis mid-line", "a *b* c", "a <em>b</em> c"},
	{"no emphasis inside words", "2*3*4 and a*b*c", "2*3*4 and a*b*c"},
	{"underscores are text", "_a_ __b__ snake_case_name", "_a_ __b__ snake_case_name"},
	{"unclosed star", "*a", "*a"},
	{"lone star", "a * b", "a * b"},
	{"escaped stars", "\\*not\\*", "*not*"},
	{"emphasis across lines", "*a\nb*", "<em>a<br>b</em>"},
	{"emphasis across greentext", "*a\n>b* c", "<em>a<br>" + green + "b</span></em><span class=\"quote\"> c</span>"},

	// URLs.
	{"url", "https://example.com", link("https://example.com")},
	{"http url", "http://example.com/a", link("http://example.com/a")},
	{"url with query", "https://example.com/?a=1&b=2", `<a href="https://example.com/?a=1&amp;b=2` + urlEnd + "https://example.com/?a=1&amp;b=2</a>"},
	{"url then a period", "see https://example.com.", "see " + link("https://example.com") + "."},
	{"url in parentheses", "(https://example.com)", "(" + link("https://example.com") + ")"},
	{"url with parentheses", "https://en.wikipedia.org/wiki/Go_(game)", link("https://en.wikipedia.org/wiki/Go_(game)")},
	{"url in quotes", `"https://example.com"`, "&#34;" + link("https://example.com") + "&#34;"},
	{"url in angle brackets", "<https://example.com>", "&lt;" + link("https://example.com") + "&gt;"},
	{"uppercase scheme", "HTTPS://EXAMPLE.COM", link("HTTPS://EXAMPLE.COM")},
	{"url ends at a quote mark", `https://x.example/"onmouseover="alert(1)`,
		link("https://x.example/") + "&#34;onmouseover=&#34;alert(1)"},
	{"url ends at <", "https://x.example/<script>", link("https://x.example/") + "&lt;script&gt;"},
	{"url in a spoiler", "||https://x.example||", "<s>" + link("https://x.example") + "</s>"},
	{"url in emphasis", "*https://x.example*", "<em>" + link("https://x.example") + "</em>"},
	{"unicode url", "https://例え.jp/パス", link("https://例え.jp/パス")},
	{"url inside a word is text", "xhttps://example.com", "xhttps://example.com"},
	{"url after a digit or _ is text", "1https://a.example b_http://a.example", "1https://a.example b_http://a.example"},
	{"url after punctuation", "a,https://a.example", "a," + link("https://a.example")},
	{"url right after a quote's digits is text", ">>34https://a.example", q34 + "https://a.example"},
	{"url after a board link", ">>>/g/https://a.example", `<a href="/g/" class="quotelink">&gt;&gt;&gt;/g/</a>` + link("https://a.example")},
	{"url with stars", "https://a.example/*x*", link("https://a.example/*x") + "*"},
	{"url at a line start", "a\nhttps://a.example\nb", "a<br>" + link("https://a.example") + "<br>b"},
	{"scheme alone is text", "https://", "https://"},
	{"url without a host is text", "https://-x", "https://-x"},
	{"javascript is text", "javascript:alert(1)", "javascript:alert(1)"},
	{"javascript in any case is text", "JaVaScRiPt:alert(1)", "JaVaScRiPt:alert(1)"},
	{"data is text", "data:text/html;base64,PHNjcmlwdD4=", "data:text/html;base64,PHNjcmlwdD4="},
	{"vbscript is text", "vbscript:msgbox(1)", "vbscript:msgbox(1)"},
	{"other schemes are text", "ftp://x.example mailto:a@b.example www.example.com", "ftp://x.example mailto:a@b.example www.example.com"},

	// Backslashes.
	{"backslash before other characters", "C:\\Users\\anon", "C:\\Users\\anon"},
	{"double backslash kept", "\\\\server\\share", "\\\\server\\share"},
	{"backslash ends the post", "a\\", "a\\"},
	{"backslash ends a line", "a\\\nb", "a\\<br>b"},

	// Everything at once.
	{"a post", ">>34\n>be me\n>||spoiled|| **hard**\n\nsee https://example.com and >>>/g/56\n[code]\nx := <-ch\n[/code]\nbye",
		q34 + "<br>" + green + "be me</span><br>" + green + "<s>spoiled</s> <strong>hard</strong></span><br><br>" +
			"see " + link("https://example.com") + ` and <a href="/g/thread/7#p56" class="quotelink">&gt;&gt;&gt;/g/56</a><br>` +
			pre + "x := &lt;-ch</pre>bye"},
}

func TestRender(t *testing.T) {
	r := NewRenderer(RendererConfig{})
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Render(t.Context(), testInput(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Render(%q)\n got %s\nwant %s", tc.body, got, tc.want)
			}
			if err := checkHTML(got); err != nil {
				t.Errorf("Render(%q) = %s: %v", tc.body, got, err)
			}
		})
	}
}

// TestRenderInputs: what RenderInput says, and only that, decides links.
func TestRenderInputs(t *testing.T) {
	r := NewRenderer(RendererConfig{})
	render := func(in maniwani.RenderInput) string {
		t.Helper()
		out, err := r.Render(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   maniwani.RenderInput
		want string
	}{
		{"nothing resolved: every quote is dead", maniwani.RenderInput{Board: "b", Body: ">>34 >>>/g/56 >>>/g/"},
			`<span class="deadlink">&gt;&gt;34</span> <span class="deadlink">&gt;&gt;&gt;/g/56</span> <span class="deadlink">&gt;&gt;&gt;/g/</span>`},
		{"the post's own board needs no Boards entry", maniwani.RenderInput{Board: "b", Body: ">>>/b/"},
			`<a href="/b/" class="quotelink">&gt;&gt;&gt;/b/</a>`},
		{"a board marked false does not exist", maniwani.RenderInput{Board: "b", Body: ">>>/g/", Boards: map[string]bool{"g": false}},
			`<span class="deadlink">&gt;&gt;&gt;/g/</span>`},
		{"a thread of 0 is no thread", maniwani.RenderInput{Board: "b", Body: ">>34",
			Threads: map[maniwani.Ref]int64{{Board: "b", No: 34}: 0}}, `<span class="deadlink">&gt;&gt;34</span>`},
		{"a post of the same number on another board is not this one", maniwani.RenderInput{Board: "b", Body: ">>56",
			Threads: map[maniwani.Ref]int64{{Board: "g", No: 56}: 7}}, `<span class="deadlink">&gt;&gt;56</span>`},
		{"a board name that cannot be one links nothing", maniwani.RenderInput{Board: `b"><script>`, Body: ">>34",
			Threads: map[maniwani.Ref]int64{{Board: `b"><script>`, No: 34}: 12}}, `<span class="deadlink">&gt;&gt;34</span>`},
		{"a new thread quoting", maniwani.RenderInput{Board: "b", Thread: 0, Body: ">>34",
			Threads: map[maniwani.Ref]int64{{Board: "b", No: 34}: 12}}, q34},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(tc.in); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	for _, tc := range []struct {
		body   string
		refs   []maniwani.Ref
		boards []string
	}{
		{"", nil, nil},
		{"no quotes > here >>", nil, nil},
		{">>34", []maniwani.Ref{{Board: "b", No: 34}}, nil},
		{">>34 >>35\n>>34 >>>/g/56 >>>/b/34", []maniwani.Ref{{Board: "b", No: 34}, {Board: "b", No: 35}, {Board: "g", No: 56}},
			[]string{"g", "b"}},
		{">>>/g/ >>>/a/1 >>>/g/2", []maniwani.Ref{{Board: "a", No: 1}, {Board: "g", No: 2}}, []string{"g", "a"}},
		{"[code]>>77 >>>/c/[/code] `>>78` \\>>79 >>0 >>99999999999999999999 >>>/x/", nil, []string{"x"}},
		{"[code]\n>>1\n[/code]\n```\n>>2\n```\n>>3", []maniwani.Ref{{Board: "b", No: 3}}, nil},
		{">green >>5 ||>>6|| *>>7*", []maniwani.Ref{{Board: "b", No: 5}, {Board: "b", No: 6}, {Board: "b", No: 7}}, nil},
	} {
		if got := Refs("b", tc.body); !slices.Equal(got, tc.refs) {
			t.Errorf("Refs(%q) = %v, want %v", tc.body, got, tc.refs)
		}
		if got := BoardRefs(tc.body); !slices.Equal(got, tc.boards) {
			t.Errorf("BoardRefs(%q) = %v, want %v", tc.body, got, tc.boards)
		}
	}
}

// TestRefsAgreeWithRender: every quote the renderer links is in Refs, and
// resolving exactly Refs links every quote that Refs names.
func TestRefsAgreeWithRender(t *testing.T) {
	r := NewRenderer(RendererConfig{})
	for _, tc := range renderCases {
		if tc.name == "quote of 0" || tc.name == "quote past int64" {
			continue // no post has those numbers: dead whatever is resolved
		}
		refs := Refs("b", tc.body)
		in := maniwani.RenderInput{Board: "b", Body: tc.body, Threads: map[maniwani.Ref]int64{}, Boards: map[string]bool{}}
		for _, ref := range refs {
			in.Threads[ref] = 1
		}
		for _, b := range BoardRefs(tc.body) {
			in.Boards[b] = true
		}
		out, _ := r.Render(t.Context(), in)
		if n := strings.Count(out, "deadlink"); n != 0 {
			t.Errorf("%s: with Refs and BoardRefs resolved, %d dead links remain: %s", tc.name, n, out)
		}
	}
}

func TestKey(t *testing.T) {
	base := testInput(">>34 >>>/g/ hello")
	k := Key(base)
	if len(k) != 64 {
		t.Fatalf("Key = %q, want 64 hex digits", k)
	}
	same := func(name string, f func(in *maniwani.RenderInput), want bool) {
		in := testInput(base.Body)
		f(&in)
		if got := Key(in) == k; got != want {
			t.Errorf("%s: same key = %v, want %v", name, got, want)
		}
	}
	same("unchanged", func(in *maniwani.RenderInput) {}, true)
	same("an entry the body does not name", func(in *maniwani.RenderInput) {
		in.Threads[maniwani.Ref{Board: "b", No: 99}] = 3
		in.Boards["zz"] = true
	}, true)
	same("CRLF is LF", func(in *maniwani.RenderInput) { in.Body = strings.ReplaceAll(in.Body, " hello", " hello\r\n") }, false)
	same("board", func(in *maniwani.RenderInput) { in.Board = "c" }, false)
	same("thread", func(in *maniwani.RenderInput) { in.Thread = 13 }, false)
	same("body", func(in *maniwani.RenderInput) { in.Body += "!" }, false)
	same("a quoted post moved", func(in *maniwani.RenderInput) { in.Threads[maniwani.Ref{Board: "b", No: 34}] = 13 }, false)
	same("a quoted post is gone", func(in *maniwani.RenderInput) { delete(in.Threads, maniwani.Ref{Board: "b", No: 34}) }, false)
	same("a named board is gone", func(in *maniwani.RenderInput) { delete(in.Boards, "g") }, false)
	a, b := testInput("x\r\ny"), testInput("x\ny")
	if Key(a) != Key(b) {
		t.Error("a body and its normal form have different keys")
	}
}

// TestCachedIsUncached: a render from the cache is the render.
func TestCachedIsUncached(t *testing.T) {
	plain := NewRenderer(RendererConfig{})
	cache := NewMemoryCache(0)
	cached := NewRenderer(RendererConfig{Cache: cache})
	for range 2 {
		for _, tc := range renderCases {
			want, _ := plain.Render(t.Context(), testInput(tc.body))
			got, _ := cached.Render(t.Context(), testInput(tc.body))
			if got != want {
				t.Errorf("%s: cached %s, uncached %s", tc.name, got, want)
			}
		}
	}
	if cache.Len() == 0 {
		t.Error("nothing was cached")
	}
}

// TestConcurrentRender: one Renderer, many goroutines (run with -race).
func TestConcurrentRender(t *testing.T) {
	r := NewRenderer(RendererConfig{Cache: NewMemoryCache(1 << 12)}) // small: evictions too
	plain := NewRenderer(RendererConfig{})
	want := map[string]string{}
	for _, tc := range renderCases {
		want[tc.body], _ = plain.Render(t.Context(), testInput(tc.body))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range renderCases {
				tc := renderCases[(i+g*7)%len(renderCases)]
				got, _ := r.Render(t.Context(), testInput(tc.body))
				if got != want[tc.body] {
					t.Errorf("%s: %s, want %s", tc.name, got, want[tc.body])
				}
				Refs("b", tc.body)
			}
		})
	}
	wg.Wait()
}
