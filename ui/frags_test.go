package ui

import (
	"fmt"
	"html/template"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// A thread page put together from kept pieces is byte for byte the page
// written anew, for random threads through the changes a thread goes
// through: replies (quoting others), deletions, sticky and lock, a
// thumbnail made, a spoiler set, a ban's message, a quote that went dead.
func TestAssembled(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := testService(t)
			r := rand.New(rand.NewPCG(seed, 99))
			v := fakeThread(20 + r.IntN(80))
			// Posts are as the Reader gives them: a copy each read.
			read := func() *maniwani.ThreadView {
				c := *v
				c.Posts = slices.Clone(v.Posts)
				for i := range c.Posts {
					if f := c.Posts[i].File; f != nil {
						ff := *f
						c.Posts[i].File = &ff
					}
				}
				return &c
			}
			check := func(what string) {
				t.Helper()
				got := template.HTML(s.threadMarkup(read()))
				want := postsHTML(s.newThreadView(read()).Posts)
				if got != want {
					t.Fatalf("after %s: the assembled page differs from the full render:\n%s", what, diffAt(string(got), string(want)))
				}
			}
			check("the first render")
			check("no change")
			next := v.Posts[len(v.Posts)-1].No + 1
			for step := range 40 {
				p := &v.Posts[r.IntN(len(v.Posts))]
				var what string
				switch r.IntN(8) {
				case 0:
					q := v.Posts[r.IntN(len(v.Posts))].No
					v.Posts = append(v.Posts, maniwani.Post{Board: "b", No: next, Resto: v.No, Time: p.Time, Name: "Anonymous",
						Com: fmt.Sprintf(`<a href="/b/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a><br>a reply`, v.No, q, q)})
					next++
					what = "a reply"
				case 1:
					if len(v.Posts) > 2 {
						i := 1 + r.IntN(len(v.Posts)-1)
						v.Posts = slices.Delete(v.Posts, i, i+1)
					}
					what = "a deletion"
				case 2:
					v.Sticky = !v.Sticky
					what = "sticky"
				case 3:
					v.Closed = !v.Closed
					what = "lock"
				case 4:
					if p.File != nil {
						p.File.Thumbnail, p.File.ThumbW, p.File.ThumbH = true, 200, 150
					}
					what = "a thumbnail made"
				case 5:
					if p.File != nil {
						p.File.Spoiler = !p.File.Spoiler
					}
					what = "a spoiler"
				case 6:
					p.Com += `<br><br><strong class="banned">(USER WAS BANNED FOR THIS POST)</strong>`
					what = "a ban's message"
				case 7:
					p.Com = `<span class="deadlink">&gt;&gt;1</span><br>` + p.Com[len(p.Com)/2:]
					what = "a dead quote"
				}
				check(fmt.Sprintf("step %d, %s", step, what))
			}
		})
	}
}

// A piece is kept: a second assembly of an unchanged thread makes none.
func TestAssembledKeeps(t *testing.T) {
	s := testService(t)
	v := fakeThread(30)
	s.threadMarkup(v)
	first, _ := s.frags.Get("b/1000", time.Now())
	v.Posts[5].Com += "!"
	s.threadMarkup(v)
	second, _ := s.frags.Get("b/1000", time.Now())
	if len(first) != 30 || len(second) != 30 {
		t.Fatalf("%d and %d pieces kept, want 30", len(first), len(second))
	}
	for no, f := range second {
		if kept := first[no] == f; kept != (no != v.Posts[5].No) {
			t.Errorf("post %d: piece kept %v", no, kept)
		}
	}
}

// diffAt shows where a and b first differ.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n got: %q\nwant: %q", i, a[from:min(len(a), i+200)], b[from:min(len(b), i+200)])
}

// render writes a thread page as its head, its posts and its tail: the
// bytes of the whole "thread" template.
func TestRenderThreadInParts(t *testing.T) {
	s := testService(t)
	b := boardB()
	for _, v := range []*maniwani.ThreadView{fakeThread(1), fakeThread(40)} {
		v.Closed = v.No%2 == 0
		p := s.threadPage([]maniwani.Board{b}, &b, v)
		w := httptest.NewRecorder()
		s.render(w, httptest.NewRequest("GET", "/b/thread/1000", nil), "thread", p)
		if got, want := w.Body.String(), string(renderThread(t, s, v)); got != want {
			t.Fatalf("%d posts: render differs from the template:\n%s", len(v.Posts), diffAt(got, want))
		}
	}
}

// A thread whose pieces pass fragMaxBytes is not kept, and its page is
// still right.
func TestAssembledTooBigNotKept(t *testing.T) {
	s := testService(t)
	v := fakeThread(20)
	s.threadMarkup(v)
	for i := range v.Posts {
		v.Posts[i].Com = strings.Repeat("x", fragMaxBytes/len(v.Posts)+1)
	}
	if got, want := template.HTML(s.threadMarkup(v)), postsHTML(s.newThreadView(v).Posts); got != want {
		t.Fatal("a thread too big to keep is written wrong")
	}
	if kept, ok := s.frags.Get("b/1000", time.Now()); ok {
		t.Errorf("%d pieces of a thread past fragMaxBytes kept", len(kept))
	}
}
