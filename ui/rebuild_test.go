package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hotThread is a thread of n posts on s as a busy thread has them: text,
// some greentext, and quotes of earlier posts (so backlinks).
func hotThread(s *site, n int) int64 {
	op, _ := s.post("b", 0, "sub", "A hot thread", "com", strings.Repeat("op text ", 30))
	for i := 1; i < n; i++ {
		s.post("b", op, "com", replyText(op, i))
	}
	return op
}

func replyText(op int64, i int) string {
	var b strings.Builder
	if i%3 == 0 {
		fmt.Fprintf(&b, ">>%d\n", op+int64(i/2))
	}
	if i%5 == 0 {
		b.WriteString(">greentext line\n")
	}
	b.WriteString(fmt.Sprintf("reply %d ", i) + strings.Repeat("reply text ", 30))
	return b.String()
}

// BenchmarkRebuild is the cost of one rebuild of a thread's page and of its
// JSON in one process on SQLite: what a router's fill costs once a post has
// emptied its entry. "post": a reply was added before each rebuild (the
// posting is not timed), the case of a hot thread; "same": nothing changed.
// cpu-ms/op is the process's CPU time in the rebuilds (GC included), the
// figure to compare on a shared machine. Run with a fixed count, as "post"
// grows the thread (by one post an iteration):
//
//	go test -run XXX -bench Rebuild -benchtime 100x ./ui
//
// Before the posts' rows, markup and JSON were kept, and after, measured
// back to back (CPU ms a rebuild, allocations): 600 posts, page 9.4 and
// 31,770 against 2.8-3.3 and 2,595; JSON 10.1-10.3 and 35,770 against
// 2.3-2.9 and 2,304; 50 posts, page 1.3 and 3,412 against 0.6 and 950.
func BenchmarkRebuild(b *testing.B) {
	for _, n := range []int{50, 600} {
		s := newSite(b)
		op := hotThread(s, n)
		paths := map[string]string{"page": fmt.Sprintf("/b/thread/%d", op), "json": fmt.Sprintf("/b/thread/%d.json", op)}
		for _, kind := range []string{"page", "json"} {
			h := s.ui
			if kind == "json" {
				h = s.api
			}
			get := func(b *testing.B) int {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", paths[kind], nil))
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", paths[kind], w.Code)
				}
				return w.Body.Len()
			}
			for _, change := range []string{"same", "post"} {
				b.Run(fmt.Sprintf("posts=%d/%s/%s", n, kind, change), func(b *testing.B) {
					get(b) // as a router's previous fill did
					b.ReportAllocs()
					size, i := 0, 0
					var cpu time.Duration
					for b.Loop() {
						if change == "post" {
							b.StopTimer()
							i++
							s.post("b", op, "com", replyText(op, n+i))
							b.StartTimer()
						}
						c0 := cpuTime()
						size = get(b)
						cpu += cpuTime() - c0
					}
					b.ReportMetric(float64(size), "bytes")
					b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}
