package cache

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Entry is a cached response: what is needed to answer a GET, a HEAD or a
// conditional request without the upstream.
type Entry struct {
	Status       int
	ContentType  string
	CacheControl string
	ETag         string
	LastModified string
	Body         []byte
	Gzip         []byte // Body gzipped once, on fill; nil when not worth it
	Gens         Gens   // the counters it was made under
	Location     string // of a redirect; answers other than 200 are passed on, never stored
	// Extra are the upstream's other headers (its security headers, ...),
	// canonical name and value, sent on every answer from the entry.
	Extra [][2][]byte
	// Made is when what the entry says was read: its counters' time on a
	// fill from upstream, the lookup's on one from Redis. It bounds how old
	// a page answered while it is made again can be; not kept in Redis.
	Made time.Time
}

// Kept tells whether an upstream's header is kept in Extra: the fields
// above are kept apart, and what belongs to one answer (its date, framing,
// cookies, request ID) or to a connection is not kept at all.
func Kept(name []byte) bool {
	switch string(name) {
	case "Content-Type", "Cache-Control", "Etag", "Last-Modified", "Location", "Vary",
		"Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "Keep-Alive", "Trailer",
		"Date", "Server", "Set-Cookie", "X-Request-Id", "X-Cache", "Age":
		return false
	}
	return true
}

// size is what the entry costs in memory, roughly.
func (e *Entry) size() int64 {
	n := len(e.Body) + len(e.Gzip) + len(e.ContentType) + len(e.CacheControl) + len(e.ETag) +
		len(e.LastModified) + 128
	for _, h := range e.Extra {
		n += len(h[0]) + len(h[1]) + 48
	}
	return int64(n)
}

// gzipMin is the smallest body worth compressing: below it the gzip framing
// (about 20 bytes) eats most of the gain. A typical short thread's JSON, a
// few hundred bytes, still shrinks by half.
const gzipMin = 256

// gzipLevel is Compress's level. A fill compresses before any waiting
// reader is answered, and a hot thread is filled again after each post, so
// the level is chosen by cost as much as by size: on a 600-post thread
// page (BenchmarkCompress) level 4 takes 2.7 ms where 9 takes 12.2, for
// 13% more bytes; on a page of real post markup 3.3 ms against 7.7, for
// 4% more. Level 3 makes as few bytes as 4 on the ui's own 600-post pages
// (133.2 KB of 432 KB of random-letter posts, 16.2 KB of 381 KB of posted
// replies) in 9-40% less CPU (4.2 against 4.6 ms, 0.8 against 1.3).
const gzipLevel = 3

// Compress fills in Gzip for a compressible body of gzipMin bytes or more.
func (e *Entry) Compress() {
	if len(e.Body) < gzipMin || !compressible(e.ContentType) {
		return
	}
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzipLevel) // once per fill, served many times
	w.Write(e.Body)
	w.Close()
	if b.Len() < len(e.Body) {
		e.Gzip = b.Bytes()
	}
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") ||
		strings.HasPrefix(ct, "application/javascript") || strings.HasPrefix(ct, "image/svg+xml")
}

// entryVersion starts an encoded entry, so a format change reads as a miss.
const entryVersion = 2

// Marshal encodes the entry for Redis.
func (e *Entry) Marshal() []byte {
	b := make([]byte, 0, e.size())
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(e.Status))
	for _, g := range e.Gens {
		b = binary.AppendUvarint(b, g)
	}
	for _, s := range [][]byte{[]byte(e.ContentType), []byte(e.CacheControl), []byte(e.ETag),
		[]byte(e.LastModified), e.Body, e.Gzip} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Extra)))
	for _, h := range e.Extra {
		for _, s := range h {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

// entryHeadMax is the longest head of an encoded entry that holds its
// counters: the version byte, then three uvarints.
const entryHeadMax = 1 + 3*binary.MaxVarintLen64

// entryGens reads the counters from the head of an encoded entry.
func entryGens(b []byte) (Gens, bool) {
	if len(b) == 0 || b[0] != entryVersion {
		return Gens{}, false
	}
	b = b[1:]
	var g Gens
	for i := -1; i < len(g); i++ { // the status, then the counters
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return Gens{}, false
		}
		b = b[n:]
		if i >= 0 {
			g[i] = v
		}
	}
	return g, true
}

var errBadEntry = errors.New("cache: malformed entry")

// Unmarshal decodes what Marshal made.
func Unmarshal(b []byte) (*Entry, error) {
	if len(b) == 0 || b[0] != entryVersion {
		return nil, errBadEntry
	}
	b = b[1:]
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	e := &Entry{Status: int(uv())}
	for i := range e.Gens {
		e.Gens[i] = uv()
	}
	field := func() ([]byte, bool) {
		n := uv()
		if b == nil || uint64(len(b)) < n {
			return nil, false
		}
		f := b[:n:n]
		b = b[n:]
		return f, true
	}
	var fields [6][]byte
	for i := range fields {
		var ok bool
		if fields[i], ok = field(); !ok {
			return nil, errBadEntry
		}
	}
	n := uv()
	if b == nil || n > uint64(len(b)) { // each header takes two bytes at least
		return nil, errBadEntry
	}
	for range n {
		k, ok1 := field()
		v, ok2 := field()
		if !ok1 || !ok2 {
			return nil, errBadEntry
		}
		e.Extra = append(e.Extra, [2][]byte{k, v})
	}
	e.ContentType, e.CacheControl, e.ETag, e.LastModified = string(fields[0]), string(fields[1]),
		string(fields[2]), string(fields[3])
	e.Body = fields[4]
	if len(fields[5]) > 0 {
		e.Gzip = fields[5]
	}
	return e, nil
}
