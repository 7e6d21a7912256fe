package api

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// wholeThreadJSON is a thread file encoded in one piece, as before its
// replies' objects were kept: what threadJSON must equal.
func wholeThreadJSON(t *testing.T, b *maniwani.Board, v *maniwani.ThreadView) []byte {
	posts := []*maniwani.PostJSON{opOut(b, v)}
	for i := 1; i < len(v.Posts); i++ {
		posts = append(posts, maniwani.NewPostJSON(&v.Posts[i]))
	}
	var buf bytes.Buffer
	if err := encodeJSON(&buf, struct {
		Posts []*maniwani.PostJSON `json:"posts"`
	}{posts}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A thread file put together from kept objects is byte for byte the file
// encoded whole, for random threads through replies, deletions, sticky,
// lock, thumbnails, spoilers, a ban's message and the thread's counts.
func TestThreadJSONAssembled(t *testing.T) {
	b := maniwani.DefaultBoard()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := &Service{jsonFrags: newJSONCache()}
			r := rand.New(rand.NewPCG(seed, 5))
			t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
			v := &maniwani.ThreadView{Thread: maniwani.Thread{Board: b.Name, No: 100, Modified: t0}}
			next := int64(100)
			add := func() {
				p := maniwani.Post{Board: b.Name, No: next, Time: t0.Add(time.Duration(next) * time.Second), Name: "Anonymous",
					Com: fmt.Sprintf(`<a href="/b/thread/100#p%d" class="quotelink">&gt;&gt;%d</a><br>"quoted" &amp; \u2028 ünï`, next-1, next-1)}
				if next != v.No {
					p.Resto = v.No
				} else {
					p.Subject = "A thread"
				}
				if r.IntN(3) == 0 {
					p.File = &maniwani.File{Tim: 1795000000000 + next, Filename: "f<" + fmt.Sprint(next), Ext: ".png", Size: 1000 + next,
						MD5: "1B2M2Y8AsgTpgAmY7PhCfg==", Width: 640, Height: 480, ThumbW: 250, ThumbH: 187}
				}
				if r.IntN(4) == 0 {
					p.Trip = "!Ep8pui8Vw2"
				}
				v.Posts = append(v.Posts, p)
				v.Replies = len(v.Posts) - 1
				next++
			}
			for range 10 + r.IntN(50) {
				add()
			}
			read := func() *maniwani.ThreadView { // a copy each read, as the store gives
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
				got, err := s.threadJSON(&b, read())
				if err != nil {
					t.Fatal(err)
				}
				if want := wholeThreadJSON(t, &b, read()); !bytes.Equal(got, want) {
					t.Fatalf("after %s:\n got %s\nwant %s", what, got, want)
				}
			}
			check("the first read")
			check("no change")
			for step := range 40 {
				p := &v.Posts[r.IntN(len(v.Posts))]
				var what string
				switch r.IntN(7) {
				case 0:
					add()
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
				}
				check(fmt.Sprintf("step %d, %s", step, what))
			}
		})
	}
}
