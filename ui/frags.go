package ui

import (
	"bytes"
	"strconv"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
	"github.com/maniwani/maniwani/markdown"
)

// A thread page is its posts, and a hot thread's page is made again after
// every post: so each post's markup is made once and kept, and the page is
// put together from the kept pieces. A piece is used again only when every
// input it was made of is equal to the post as read now (its fields, its
// file's, and on an opening post the thread's flags): an edit of com (a
// ban's message, a dead quote), a thumbnail made, a spoiler, a sticky or a
// lock all read as a different post, and a deleted post is no longer read.
// Backlinks are not in a piece: they are other posts' quotes, written
// anew on each assembly from each piece's quotes.

// fragThreads is how many threads' pieces are kept, the least recently
// assembled going first; a thread's pieces are about its page's size, and
// a thread whose pieces pass fragMaxBytes is not kept (its page is written
// whole each time, as any page is): so at most 64 MB.
const (
	fragThreads  = 32
	fragMaxBytes = 2 << 20
)

// fragTTL is how long a thread's pieces are kept since its last assembly.
const fragTTL = time.Hour

// postFrag is one post's markup up to its backlinks, and what it was made of.
type postFrag struct {
	post           maniwani.Post // a copy: its File and Extra are its own
	op             bool          // an opening post: the thread's flags are in it
	sticky, closed bool
	head           []byte
	quotes         []int64 // the posts of its own thread it quotes, in order
}

// threadFrags are a thread's pieces by post number; never changed once made
// (a rebuild makes a new one), so concurrent assemblies share them.
type threadFrags map[int64]*postFrag

func newFragCache() *lru.Cache[threadFrags] { return lru.New[threadFrags](fragThreads) }

// same tells whether f was made of p, of thread t (op: p opens it).
func (f *postFrag) same(p *maniwani.Post, t *maniwani.Thread, op bool) bool {
	if f.op != op || (op && (f.sticky != t.Sticky || f.closed != t.Closed)) {
		return false
	}
	return f.post.Equal(p)
}

// newPostFrag makes the piece of v's post i.
func (s *Service) newPostFrag(v *maniwani.ThreadView, path string, i int) *postFrag {
	p := &v.Posts[i]
	f := &postFrag{post: p.Clone(), op: i == 0}
	pv := postView{Post: p, Href: path + "#p" + strconv.FormatInt(p.No, 10)}
	if p.File != nil {
		pv.File = s.newFileView(p.Board, p.File)
	}
	for j := range p.Extra {
		pv.Extra = append(pv.Extra, s.newFileView(p.Board, &p.Extra[j]))
	}
	if f.op {
		f.sticky, f.closed = v.Sticky, v.Closed
		pv.T = &v.Thread
	}
	var b bytes.Buffer
	b.Grow(len(p.Com) + 600)
	writePostHead(&b, &pv)
	f.head = b.Bytes()
	for q := range markdown.ComQuotes(v.Board, p.Com) {
		if q.Board == v.Board && q.Thread == v.No {
			f.quotes = append(f.quotes, q.No)
		}
	}
	return f
}

// threadMarkup is the markup of every post of v, as postsHTML writes it for
// newThreadView(v).Posts, put together from the pieces kept of the thread.
func (s *Service) threadMarkup(v *maniwani.ThreadView) []byte {
	key := v.Board + "/" + strconv.FormatInt(v.No, 10)
	now := time.Now()
	old, _ := s.frags.Get(key, now)
	path := threadPath(v.Board, v.No)
	frags := make([]*postFrag, len(v.Posts))
	fresh := make(threadFrags, len(v.Posts))
	at := make(map[int64]int, len(v.Posts))
	size := 0
	for i := range v.Posts {
		p := &v.Posts[i]
		f := old[p.No]
		if f == nil || !f.same(p, &v.Thread, i == 0) {
			f = s.newPostFrag(v, path, i)
		}
		frags[i], fresh[p.No], at[p.No] = f, f, i
		size += len(f.head) + len("</div>\n")
	}
	if size <= fragMaxBytes {
		s.frags.Put(key, fresh, now.Add(fragTTL))
	} else {
		s.frags.Remove(key)
	}
	// Backlinks as newThreadView gives them.
	backlinks := make([][]int64, len(frags))
	for i, f := range frags {
		from := v.Posts[i].No
		for _, no := range f.quotes {
			j, ok := at[no]
			if !ok || j == i {
				continue
			}
			bl := backlinks[j]
			if n := len(bl); n > 0 && bl[n-1] == from {
				continue // quoted twice in one post
			}
			backlinks[j] = append(bl, from)
			size += len(path) + 64
		}
	}
	var b bytes.Buffer
	b.Grow(size)
	for i, f := range frags {
		b.Write(f.head)
		if len(backlinks[i]) > 0 {
			writeBacklinks(&b, path, backlinks[i])
		}
		b.WriteString("</div>\n")
	}
	return b.Bytes()
}
