package cache

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// threadPage is a thread page of n posts as the ui writes one: each post's
// header, its text (random words, some greentext and quotes) and its
// backlinks, from a fixed seed.
func threadPage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields(`the a thread post board image reply anon bump sage catalog archive moderator
		thumbnail spoiler file sticky closed janitor captcha filter ban quote greentext live stream page
		cache router api markdown media upload video webm jpeg png gif size width height time number`)
	text := func() string {
		ws := make([]string, 4+r.IntN(60))
		for i := range ws {
			ws[i] = words[r.IntN(len(words))]
		}
		return strings.Join(ws, " ")
	}
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>/b/ - Random</title></head><body><main><article class="t" id="t1">`)
	for no := 1; no <= n; no++ {
		fmt.Fprintf(&b, "<div class=\"p\" id=\"p%d\">\n<div class=\"ph\"><span class=\"na\">Anonymous</span> "+
			"<time datetime=\"2026-12-04T19:%02d:%02dZ\">12/04/26(Fri)19:%02d:%02d</time> <a href=\"/b/thread/1#p%d\" class=\"no\">No.%d</a></div>\n<blockquote>",
			no, no/60%60, no%60, no/60%60, no%60, no, no)
		if no > 1 && r.IntN(3) == 0 {
			q := 1 + r.IntN(no-1)
			fmt.Fprintf(&b, "<a href=\"/b/thread/1#p%d\" class=\"quotelink\">&gt;&gt;%d</a><br>", q, q)
		}
		if r.IntN(6) == 0 {
			b.WriteString(`<span class="quote">&gt;` + text() + `</span><br>`)
		}
		b.WriteString(text())
		b.WriteString("</blockquote>\n</div>\n")
	}
	b.WriteString("</article></main></body></html>\n")
	return b.Bytes()
}

// The cost and the bytes of each gzip level on a 50- and a 600-post
// thread page: what Compress's level is chosen by (gzipLevel).
//
//	go test -run XXX -bench Compress ./router/cache
func BenchmarkCompress(b *testing.B) {
	for _, n := range []int{50, 600} {
		page := threadPage(n)
		for _, level := range []int{1, 3, 4, 5, 6, 9} {
			b.Run(fmt.Sprintf("posts=%d/level=%d", n, level), func(b *testing.B) {
				var out bytes.Buffer
				b.SetBytes(int64(len(page)))
				for b.Loop() {
					out.Reset()
					w, _ := gzip.NewWriterLevel(&out, level)
					w.Write(page)
					w.Close()
				}
				b.ReportMetric(float64(out.Len()), "gzip-bytes")
				b.ReportMetric(100*float64(out.Len())/float64(len(page)), "%-of-page")
			})
		}
	}
}
