package markdown

import (
	"math"
	"slices"
	"testing"

	"github.com/maniwani/maniwani"
)

// moveFn is a move of thread 1 from /b/ to /g/, as the store makes one:
// /b/'s posts numbered a multiple of 3 move, each to twice its number on
// /g/ (a number no post of /g/ has in testWorld), in thread 2000; >>N of
// any other post of /b/ becomes >>>/b/N; >>>/x/N stays.
func moveFn(q Quote) Quote {
	if q.Cross || q.Board != "b" {
		return q
	}
	if q.No%3 == 0 && q.No <= math.MaxInt64/2 {
		q.Board, q.No = "g", q.No*2
		if q.Thread > 0 {
			q.Thread = 2000
		}
		return q
	}
	q.Cross = true
	return q
}

// testWorld is what exists for body: the odd-numbered posts it quotes (a
// post of /b/ in thread 1, any other in thread 7) and every board it
// names. before renders body on /b/, after renders moved on /g/ (both
// normalized, as Render has them), with the posts that moveFn moved at
// their new numbers. The moved posts are kept at their old numbers too, as
// quotes of them typed >>>/b/N keep pointing at them there.
func testWorld(body, moved string) (before, after maniwani.RenderInput) {
	before = maniwani.RenderInput{Board: "b", Thread: 1, Body: normalize(body), Threads: map[maniwani.Ref]int64{}, Boards: map[string]bool{}}
	after = maniwani.RenderInput{Board: "g", Thread: 2000, Body: normalize(moved), Threads: map[maniwani.Ref]int64{}, Boards: map[string]bool{}}
	for _, r := range Refs("b", body) {
		if r.No%2 == 0 {
			continue
		}
		t := int64(7)
		if r.Board == "b" {
			t = 1
		}
		before.Threads[r], after.Threads[r] = t, t
		if m := moveFn(Quote{Board: r.Board, No: r.No}); m.Board == "g" && r.Board == "b" {
			after.Threads[m.Ref()] = 2000
		}
	}
	for _, b := range BoardRefs(body) {
		before.Boards[b], after.Boards[b] = true, true
	}
	return before, after
}

// checkRequote holds RequoteBody and RequoteCom to each other: the com of
// body, requoted, is the com of the body requoted, rendered where it moved.
func checkRequote(t *testing.T, body string) {
	t.Helper()
	moved := RequoteBody("b", body, moveFn)
	before, after := testWorld(body, moved)
	com := renderHTML(sharedParser(), &before)
	got := RequoteCom("b", com, moveFn)
	if want := renderHTML(sharedParser(), &after); got != want {
		t.Fatalf("body %q, moved %q:\nRequoteCom(%s)\n= %s\nwant %s", body, moved, com, got, want)
	}
	// The new body reads back as the quotes fn made.
	var wantRefs []maniwani.Ref
	walkQuotes(body, func(src []byte, n *quoteNode) {
		if q, ok := quoteOf(n.q, src[n.seg.Start:n.seg.Stop], "b"); ok && !slices.Contains(wantRefs, moveFn(q).Ref()) {
			wantRefs = append(wantRefs, moveFn(q).Ref())
		}
	})
	if got := Refs("g", moved); !slices.Equal(got, wantRefs) {
		t.Fatalf("body %q, moved %q: Refs %v, want %v", body, moved, got, wantRefs)
	}
}

func TestRequoteBody(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", ""},
		{">>3 >>1", ">>6 >>>/b/1"},
		{">>3\n>>3 ||>>3|| *>>3*", ">>6\n>>6 ||>>6|| *>>6*"},
		{">green >>9", ">green >>18"},
		{">>>3 a > before", ">>>6 a > before"},
		{">>>/b/3 >>>/g/3 >>>/b/", ">>>/b/3 >>>/g/3 >>>/b/"},
		{"[code]x = a >>3[/code] >>3", "[code]x = a >>3[/code] >>6"},
		{"[CODE]\n>>3\n[/code]", "[CODE]\n>>3\n[/code]"},
		{"```\n>>3\n```\n~~~\n>>3", "```\n>>3\n```\n~~~\n>>3"},
		{"`>>3` \\>>3 \\\\>>3", "`>>3` \\>>3 \\\\>>6"},
		{">>0 >>99999999999999999999 >>x >>", ">>0 >>99999999999999999999 >>x >>"},
		{">>03", ">>6"},
		{"a>>3b", "a>>6b"},
	} {
		if got := RequoteBody("b", tc.body, moveFn); got != tc.want {
			t.Errorf("RequoteBody(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	// Nothing to change: the body as given, not normalized.
	if got := RequoteBody("b", "a\r\n>>>/g/3", moveFn); got != "a\r\n>>>/g/3" {
		t.Errorf("unchanged body came back as %q", got)
	}
}

func TestRequoteCom(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) { checkRequote(t, tc.body) })
	}
	for _, body := range []string{
		">>3 >>1 >>2 >>6 >>9 >>>/b/3 >>>/g/5 >>>/g/ >>>/b/",
		">>3\n[code]>>3[/code]\n```\n>>3\n```\n`>>3` \\>>3 >>>3 >>03",
		"||>>3\n>green >>1|| *>>9* >>0 >>99999999999999999999",
		typicalPost,
	} {
		checkRequote(t, body)
	}
	// A com not of the renderer's making is left as it is.
	for _, com := range []string{
		`<a href="/b/thread/1#p3" class="quotelink">&gt;&gt;4</a>`,
		`<a href="/b/thread/1#p3" class="quotelink">&gt;&gt;&gt;/g/3</a>`,
		`<a href="/b/thread/1#p3" class="quotelink">&gt;&gt;3`,
		`<a href="/B/thread/1#p3" class="quotelink">&gt;&gt;3</a>`,
		`<span class="deadlink">&gt;&gt;3 x</span>`,
		`<span class="deadlink">&gt;&gt;0</span><a href="/b/" class="quotelink">&gt;&gt;&gt;/b/</a>`,
		`&lt;a href="/b/thread/1#p3" class="quotelink"&gt;&gt;&gt;3&lt;/a&gt;`,
	} {
		if got := RequoteCom("b", com, moveFn); got != com {
			t.Errorf("RequoteCom(%s) = %s", com, got)
		}
	}
}

func TestComQuotes(t *testing.T) {
	in := testInput(">>34 >>35 >>36 >>>/g/56 >>>/g/ [code]>>34[/code] >>>/b/12 >>0")
	com := renderHTML(sharedParser(), &in)
	var got []Quote
	for q := range ComQuotes("b", com) {
		got = append(got, q)
	}
	want := []Quote{{Board: "b", No: 34, Thread: 12}, {Board: "b", No: 35, Thread: 40}, {Board: "b", No: 36},
		{Board: "g", No: 56, Cross: true, Thread: 7}, {Board: "b", No: 12, Cross: true, Thread: 12}}
	if !slices.Equal(got, want) {
		t.Errorf("ComQuotes(%s)\n= %v\nwant %v", com, got, want)
	}
	for range ComQuotes("b", com) {
		break // stopping early is allowed
	}
}
