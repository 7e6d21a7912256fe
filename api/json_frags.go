package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
)

// A thread's JSON is its posts' objects in an array, and a hot thread's is
// made again after every post: so each reply's object is encoded once and
// kept, and the array put together from the kept ones. A kept object is
// used again only when the post read now is equal, field for field and its
// file's, to the post it was encoded from; the opening post, which carries
// the thread's counts and flags, is encoded on each read.

// jsonThreads is how many threads' objects are kept, the least recently
// read going first, none of a thread whose objects pass jsonMaxBytes (so
// at most 64 MB); jsonKeptFor is how long since a thread's last read.
const (
	jsonThreads  = 32
	jsonMaxBytes = 2 << 20
	jsonKeptFor  = time.Hour
)

// jsonFrag is one reply's object and the post it was encoded from.
type jsonFrag struct {
	post maniwani.Post // a copy: its File and Extra are its own
	json []byte
}

// jsonFrags are a thread's kept objects by post number; never changed once
// made, so concurrent reads share them.
type jsonFrags map[int64]*jsonFrag

func newJSONCache() *lru.Cache[jsonFrags] { return lru.New[jsonFrags](jsonThreads) }

// same tells whether f was encoded from p.
func (f *jsonFrag) same(p *maniwani.Post) bool {
	return f.post.Equal(p)
}

// encodeJSON writes v as serveJSON does: com's HTML as it is, no newline.
func encodeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}

// threadJSON is v's thread file, {"posts":[...]}, the bytes serveJSON
// writes for it, put together from the objects kept of the thread.
func (s *Service) threadJSON(b *maniwani.Board, v *maniwani.ThreadView) ([]byte, error) {
	key := v.Board + "/" + strconv.FormatInt(v.No, 10)
	now := time.Now()
	old, _ := s.jsonFrags.Get(key, now)
	fresh := make(jsonFrags, len(v.Posts))
	frags := make([]*jsonFrag, len(v.Posts))
	size := 0
	var enc bytes.Buffer
	for i := 1; i < len(v.Posts); i++ {
		p := &v.Posts[i]
		f := old[p.No]
		if f == nil || !f.same(p) {
			enc.Reset()
			if err := encodeJSON(&enc, maniwani.NewPostJSON(p)); err != nil {
				return nil, err
			}
			f = &jsonFrag{post: p.Clone(), json: bytes.Clone(enc.Bytes())}
		}
		frags[i], fresh[p.No] = f, f
		size += len(f.json) + 1
	}
	if size <= jsonMaxBytes {
		s.jsonFrags.Put(key, fresh, now.Add(jsonKeptFor))
	} else {
		s.jsonFrags.Remove(key)
	}
	var out bytes.Buffer
	out.Grow(size + 2048)
	out.WriteString(`{"posts":[`)
	if err := encodeJSON(&out, opOut(b, v)); err != nil {
		return nil, err
	}
	for _, f := range frags[1:] {
		out.WriteByte(',')
		out.Write(f.json)
	}
	out.WriteString(`]}`)
	return out.Bytes(), nil
}
