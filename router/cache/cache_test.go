package cache

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/maniwani/maniwani"
)

func TestGenerationsGetRaiseBump(t *testing.T) {
	g := NewGenerations()
	site, b, b12, b13, other := Scope{}, Scope{Board: "b"}, Scope{Board: "b", Thread: 12},
		Scope{Board: "b", Thread: 13}, Scope{Board: "g"}
	for _, s := range []Scope{site, b, b12, other} {
		if got := g.Get(s); got != (Gens{}) {
			t.Fatalf("new Get(%v) = %v, want zeros", s, got)
		}
	}

	// A post in thread 12 outdates the site's pages, the board's and thread
	// 12's, and leaves thread 13 and other boards cached.
	g.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{12}})
	for s, want := range map[Scope]Gens{site: {0, 1}, b: {0, 1}, b12: {0, 1}, b13: {0, 0}, other: {0, 0}} {
		if got := g.Get(s); got != want {
			t.Errorf("after Bump(b, 12): Get(%v) = %v, want %v", s, got, want)
		}
	}
	// A site-only invalidation moves the site's counter alone.
	g.Bump(maniwani.Invalidation{})
	if got, bs := g.Get(site), g.Get(b12); got != (Gens{0, 2}) || bs != (Gens{0, 1}) {
		t.Errorf("after Bump(site): site %v, b/12 %v", got, bs)
	}
	// A change of the board itself moves the epoch: every page is outdated.
	g.Bump(maniwani.Invalidation{Board: "b", All: true})
	for s, want := range map[Scope]Gens{site: {1, 3}, b: {1, 2}, b12: {1, 1}, b13: {1, 0}, other: {1, 0}} {
		if got := g.Get(s); got != want {
			t.Errorf("after Bump(b, all): Get(%v) = %v, want %v", s, got, want)
		}
	}

	// Raise moves each counter up to the value given, never down.
	g.Raise(b12, Gens{10, 5})
	if got := g.Get(b12); got != (Gens{10, 5}) {
		t.Errorf("Raise(b/12, [10 5]) = %v", got)
	}
	g.Raise(b12, Gens{3, 7})
	if got := g.Get(b12); got != (Gens{10, 7}) {
		t.Errorf("Raise(b/12, [3 7]) = %v, want [10 7]", got)
	}
	g.Raise(b12, Gens{})
	if got := g.Get(b12); got != (Gens{10, 7}) {
		t.Errorf("Raise to zeros lowered the counters: %v", got)
	}
	// A board's Raise leaves its threads' own counters alone.
	g.Raise(b, Gens{11, 40})
	if got := g.Get(b12); got != (Gens{11, 7}) {
		t.Errorf("after a board Raise: Get(b/12) = %v, want [11 7]", got)
	}
	if got := g.Get(other); got != (Gens{11, 0}) {
		t.Errorf("Get(g) = %v, want [11 0]", got)
	}
}

// Bumps and Raises from many goroutines lose no increment (run with -race).
func TestGenerationsConcurrent(t *testing.T) {
	g := NewGenerations()
	const workers, rounds = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				g.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{int64(i%4 + 1)}})
				g.Raise(Scope{Board: fmt.Sprint("r", w), Thread: int64(i)}, Gens{0, uint64(i)})
				g.Get(Scope{Board: "b", Thread: int64(i%4 + 1)})
			}
		}()
	}
	wg.Wait()
	if got, site := g.Get(Scope{Board: "b"}), g.Get(Scope{}); got != (Gens{0, workers * rounds}) || site != got {
		t.Errorf("Get(b) = %v, site %v, want both at %d", got, site, workers*rounds)
	}
	for no := int64(1); no <= 4; no++ {
		if got := g.Get(Scope{Board: "b", Thread: no})[1]; got != workers*rounds/4 {
			t.Errorf("thread %d counter = %d, want %d", no, got, workers*rounds/4)
		}
	}
}

func TestScopeOf(t *testing.T) {
	for _, c := range []struct {
		path string
		want Scope
		ok   bool
	}{
		{"/", Scope{}, true},
		{"/boards.json", Scope{}, true},
		{"/b/", Scope{Board: "b"}, true},
		{"/b/2", Scope{Board: "b"}, true},
		{"/b/catalog", Scope{Board: "b"}, true},
		{"/b/catalog.json", Scope{Board: "b"}, true},
		{"/b/catalog/new", Scope{Board: "b"}, true},
		{"/b/catalog/last", Scope{Board: "b"}, true},
		{"/b/catalog/replies", Scope{Board: "b"}, true},
		{"/b/catalog/search/cats", Scope{Board: "b"}, true},
		{"/b/catalog/search/", Scope{}, false},
		{"/b/catalog/search/a/b", Scope{}, false},
		{"/b/catalog/find", Scope{}, false}, // the search form's GET, answered by a redirect
		{"/b/catalog/other", Scope{}, false},
		{"/b/threads.json", Scope{Board: "b"}, true},
		{"/b/thread/12", Scope{Board: "b", Thread: 12}, true},
		{"/b/thread/12.json", Scope{Board: "b", Thread: 12}, true},
		{"/g0/thread/7", Scope{Board: "g0", Thread: 7}, true},
		{"/b/thread/x", Scope{}, false},
		{"/b/thread/0", Scope{}, false},
		{"/b/thread/-1", Scope{}, false},
		{"/b/thread/", Scope{}, false},
		{"/b/thread/12/extra", Scope{}, false},
		{"/b/post/x", Scope{}, false},
		{"/admin/", Scope{}, false},
		{"/api/admin/boards", Scope{}, false},
		{"/live/b", Scope{}, false},
		{"/media/b/1.png", Scope{}, false},
		{"/static/app.js", Scope{}, false},
		{"/metrics", Scope{}, false},
		{"/captcha", Scope{}, false}, // a challenge per visitor
		{"/captcha/frame", Scope{}, false},
		{"/B/", Scope{}, false},
		{"/toolongboardnamexxx/", Scope{}, false},
		{"", Scope{}, false},
		{"b/", Scope{}, false},
	} {
		got, ok := ScopeOf(c.path)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ScopeOf(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func entryOf(n int, g Gens) *Entry {
	return &Entry{Status: 200, ContentType: "text/plain", Body: bytes.Repeat([]byte("x"), n), Gens: g}
}

func TestL1CurrentAndStale(t *testing.T) {
	g := NewGenerations()
	c := NewL1(1 << 20)
	if e, cur := c.Get([]byte("/b/thread/12.json")); e != nil || cur {
		t.Fatalf("empty cache returned %v, %v", e, cur)
	}
	b12, b13 := Scope{Board: "b", Thread: 12}, Scope{Board: "b", Thread: 13}
	e12, e13, eb := entryOf(10, g.Get(b12)), entryOf(10, g.Get(b13)), entryOf(10, g.Get(Scope{Board: "b"}))
	c.Put("/b/thread/12.json", e12, g, b12)
	c.Put("/b/thread/13.json", e13, g, b13)
	c.Put("/b/", eb, g, Scope{Board: "b"})
	check := func(key string, want *Entry, wantCur bool) {
		t.Helper()
		e, cur := c.Get([]byte(key))
		if e != want || cur != wantCur {
			t.Errorf("Get(%s) = %p, current %v; want %p, current %v", key, e, cur, want, wantCur)
		}
	}
	check("/b/thread/12.json", e12, true)
	check("/b/", eb, true)

	// A write to thread 13 of b: its pages and b's go stale (and still come
	// back, for when the upstream is down).
	g.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{13}})
	check("/b/thread/13.json", e13, false)
	check("/b/", eb, false)
	// Thread 12 did not change: it stays current.
	check("/b/thread/12.json", e12, true)

	// Made again under the new counters: current.
	e12b := entryOf(20, g.Get(b12))
	c.Put("/b/thread/12.json", e12b, g, b12)
	check("/b/thread/12.json", e12b, true)
	// Raised from elsewhere (another process's write): stale.
	g.Raise(b12, Gens{0, 100})
	check("/b/thread/12.json", e12b, false)
	if n := entries(c); n != 3 {
		t.Errorf("%d entries, want 3", n)
	}
}

// entries is the number of entries c holds.
func entries(c *L1) int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

// sameShard returns n distinct keys that fall in one shard of c.
func sameShard(c *L1, n int) []string {
	var keys []string
	var want *l1Shard
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprintf("/b/%05d", i)
		s := c.shard([]byte(k))
		if want == nil {
			want = s
		}
		if s == want {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestL1EvictsLeastRecentlyUsedByBytes(t *testing.T) {
	g := NewGenerations()
	const shardMax = 1000
	c := NewL1(shardMax * l1Shards)
	keys := sameShard(c, 5)
	// Each costs body+type+128+key = 180+10+128+8 = 326 bytes: three fit
	// in a shard of 1000, four do not.
	const body = 180
	es := make([]*Entry, len(keys))
	for i := range es {
		es[i] = entryOf(body, Gens{})
	}
	sh := c.shard([]byte(keys[0]))
	cost := es[0].size() + int64(len(keys[0]))
	if 3*cost > shardMax || 4*cost <= shardMax {
		t.Fatalf("test sizes are off: entry costs %d", cost)
	}
	for i := range 3 {
		c.Put(keys[i], es[i], g, Scope{Board: "b"})
	}
	if entries(c) != 3 || sh.used != 3*cost {
		t.Fatalf("after 3 puts: Len %d used %d, want 3 and %d", entries(c), sh.used, 3*cost)
	}
	c.Get([]byte(keys[0])) // keys[1] is now the least recently used
	c.Put(keys[3], es[3], g, Scope{Board: "b"})
	for i, want := range []bool{true, false, true, true} {
		if e, _ := c.Get([]byte(keys[i])); (e != nil) != want {
			t.Errorf("after the 4th put: %s present %v, want %v", keys[i], e != nil, want)
		}
	}
	if sh.used > shardMax || sh.used != 3*cost {
		t.Errorf("used %d bytes, want %d (bound %d)", sh.used, 3*cost, shardMax)
	}

	// Replacing a key counts only the new entry's bytes, and evicts what no
	// longer fits: a body of 500 leaves room for one other entry.
	big := entryOf(500, Gens{})
	c.Put(keys[3], big, g, Scope{Board: "b"})
	if e, _ := c.Get([]byte(keys[3])); e != big {
		t.Errorf("replaced key returned %p, want the new entry %p", e, big)
	}
	want := big.size() + int64(len(keys[3])) + cost
	if sh.used != want || entries(c) != 2 {
		t.Errorf("after replacing: used %d Len %d, want %d and 2", sh.used, entries(c), want)
	}
	// The reads above left the order keys[3], keys[2], keys[0]: the
	// replacement pushed out keys[0], the least recently used.
	if e, _ := c.Get([]byte(keys[0])); e != nil {
		t.Errorf("%s should have been evicted as least recently used", keys[0])
	}
	if e, _ := c.Get([]byte(keys[2])); e != es[2] {
		t.Errorf("%s was evicted, want it kept", keys[2])
	}

	// An entry bigger than a shard is not kept at all, and evicts nothing.
	c.Put(keys[4], entryOf(shardMax, Gens{}), g, Scope{Board: "b"})
	if e, _ := c.Get([]byte(keys[4])); e != nil {
		t.Error("an entry bigger than the shard's bound was kept")
	}
	if entries(c) != 2 {
		t.Errorf("Len %d after a too-big put, want 2", entries(c))
	}
}

// L1 under concurrent Puts and Gets stays within its bound (run with -race).
func TestL1Concurrent(t *testing.T) {
	g := NewGenerations()
	c := NewL1(64 << 10)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				n := (i*7 + w) % 300
				k := fmt.Sprintf("/b/%d", n)
				// A key's body is 100+n bytes long: another length is a mixed-up entry.
				if e, _ := c.Get([]byte(k)); e != nil && len(e.Body) != 100+n {
					t.Errorf("key %s returned a body of %d", k, len(e.Body))
				}
				c.Put(k, entryOf(100+n, g.Get(Scope{Board: "b"})), g, Scope{Board: "b"})
				if i%100 == 0 {
					g.Bump(maniwani.Invalidation{Board: "b"})
				}
			}
		}()
	}
	wg.Wait()
	var used int64
	for i := range c.shards {
		s := &c.shards[i]
		if s.used > s.max {
			t.Errorf("shard %d holds %d bytes, bound %d", i, s.used, s.max)
		}
		var sum int64
		for k, el := range s.items {
			sum += el.Value.(*l1Item).entry.size() + int64(len(k))
		}
		if sum != s.used || s.order.Len() != len(s.items) {
			t.Errorf("shard %d: used %d but items sum to %d; list %d map %d", i, s.used, sum, s.order.Len(), len(s.items))
		}
		used += s.used
	}
	if used > 64<<10 {
		t.Errorf("L1 holds %d bytes, bound %d", used, 64<<10)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	body := []byte(strings.Repeat(`{"no":1,"com":"hello"},`, 100))
	full := &Entry{Status: 200, ContentType: "application/json", CacheControl: "no-cache", ETag: `"abc"`,
		LastModified: "Mon, 02 Jan 2006 15:04:05 GMT", Body: body, Gens: Gens{1 << 40, 7},
		Extra: [][2][]byte{{[]byte("X-Content-Type-Options"), []byte("nosniff")}, {[]byte("X-Empty"), {}}}}
	full.Compress()
	if full.Gzip == nil {
		t.Fatal("a repetitive JSON body was not compressed")
	}
	for _, e := range []*Entry{
		full,
		{Status: 404, Body: []byte("x"), Gens: Gens{2, 3}},
		{Status: 200, ContentType: "text/html; charset=utf-8", Body: []byte("<p>é</p>")},
	} {
		got, err := Unmarshal(e.Marshal())
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", e, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
		}
	}
	// An empty body comes back empty, and no gzip stays none.
	got, err := Unmarshal((&Entry{Status: 204}).Marshal())
	if err != nil || got.Status != 204 || len(got.Body) != 0 || got.Gzip != nil {
		t.Errorf("empty entry: %+v, %v", got, err)
	}
}

func TestEntryUnmarshalCorrupt(t *testing.T) {
	e := &Entry{Status: 200, ContentType: "application/json", ETag: `"x"`, Body: []byte(`{"posts":[]}`),
		Gzip: []byte{0x1f, 0x8b, 1, 2, 3}, Gens: Gens{300, 2}, Extra: [][2][]byte{{[]byte("A"), []byte("b")}}}
	good := e.Marshal()
	// Every truncation is refused, never read as a shorter entry.
	for n := range len(good) {
		if got, err := Unmarshal(good[:n]); err == nil {
			t.Errorf("Unmarshal of the first %d of %d bytes = %+v, want an error", n, len(good), got)
		}
	}
	other := append([]byte{entryVersion + 1}, good[1:]...)
	if _, err := Unmarshal(other); err == nil {
		t.Error("an entry of another format version was read")
	}
	// A length far past the end.
	huge := []byte{entryVersion, 200, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'}
	if _, err := Unmarshal(huge); err == nil {
		t.Error("a length past the end was read")
	}
	// A varint that overflows.
	if _, err := Unmarshal(append([]byte{entryVersion}, bytes.Repeat([]byte{0xff}, 20)...)); err == nil {
		t.Error("an overflowing varint was read")
	}
	// Random bytes never panic.
	buf := make([]byte, 64)
	for range 2000 {
		rand.Read(buf)
		buf[0] = entryVersion
		Unmarshal(buf)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestCompress(t *testing.T) {
	small := &Entry{ContentType: "application/json", Body: []byte(`{"posts":[{"no":1}]}`)}
	small.Compress()
	if small.Gzip != nil {
		t.Errorf("a %d-byte body was compressed", len(small.Body))
	}
	bigJSON := []byte(`{"posts":[` + strings.Repeat(`{"no":1,"resto":0,"com":"hello world"},`, 200) + `{}]}`)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "text/html; charset=utf-8"} {
		e := &Entry{ContentType: ct, Body: bigJSON}
		e.Compress()
		if e.Gzip == nil || len(e.Gzip) >= len(e.Body)/4 {
			t.Fatalf("%s: %d bytes compressed to %d", ct, len(e.Body), len(e.Gzip))
		}
		if got := gunzip(t, e.Gzip); !bytes.Equal(got, bigJSON) {
			t.Errorf("%s: gunzip gives %d bytes, not the body", ct, len(got))
		}
	}
	// Not a compressible type, or not smaller once compressed: left alone.
	png := &Entry{ContentType: "image/png", Body: bigJSON}
	png.Compress()
	if png.Gzip != nil {
		t.Error("an image/png body was compressed")
	}
	random := make([]byte, 4096)
	rand.Read(random)
	noise := &Entry{ContentType: "text/plain", Body: random}
	noise.Compress()
	if noise.Gzip != nil {
		t.Errorf("random bytes kept a gzip form of %d bytes for a body of %d", len(noise.Gzip), len(random))
	}
}

// Reading the counters of boards and threads nobody wrote to makes none:
// anyone can ask for any thread number.
func TestGenerationsDoNotGrowOnReads(t *testing.T) {
	g := NewGenerations()
	for i := int64(1); i <= 1000; i++ {
		s := Scope{Board: fmt.Sprint("x", i%50), Thread: i}
		if got := g.Get(s); got != (Gens{}) {
			t.Fatalf("Get(%v) = %v", s, got)
		}
		g.Raise(s, Gens{0, 0})
		g.Get(Scope{Board: s.Board})
	}
	if len(g.boards) != 0 || len(g.threads) != 0 {
		t.Fatalf("reads made %d board and %d thread counters", len(g.boards), len(g.threads))
	}
	g.Raise(Scope{Board: "b", Thread: 7}, Gens{0, 3})
	if got := g.Get(Scope{Board: "b", Thread: 7}); got != (Gens{0, 3}) || len(g.threads) != 1 {
		t.Fatalf("a raise to 3 gave %v, %d thread counters", got, len(g.threads))
	}
}

// The counters of an entry are read from its encoded head alone, which is
// all Lookup reads of an entry that turns out outdated.
func TestEntryGensFromHead(t *testing.T) {
	for _, g := range []Gens{{}, {1, 2}, {1<<48 - 1, 1<<63 + 5}} {
		b := (&Entry{Status: 200, Gens: g, Body: []byte("body")}).Marshal()
		got, ok := entryGens(b[:min(len(b), entryHeadMax)])
		if !ok || got != g {
			t.Errorf("entryGens of an entry under %v = %v, %v", g, got, ok)
		}
		if _, ok := entryGens(b[:3]); ok { // the version and the status
			t.Errorf("entryGens of a cut head of %v: ok", g)
		}
	}
	for _, b := range [][]byte{nil, {}, []byte("garbage"), {entryVersion}} {
		if g, ok := entryGens(b); ok {
			t.Errorf("entryGens(%q) = %v, ok", b, g)
		}
	}
}

// Fills of two versions of a page can overlap: the older, ending last,
// does not replace the newer in L1.
func TestL1KeepsTheNewerVersion(t *testing.T) {
	g := NewGenerations()
	c := NewL1(1 << 20)
	sc := Scope{Board: "b", Thread: 1}
	g.Raise(sc, Gens{0, 2})
	c.Put("/b/thread/1", &Entry{Status: 200, Body: []byte("v2"), Gens: Gens{0, 2}}, g, sc)
	c.Put("/b/thread/1", &Entry{Status: 200, Body: []byte("v1"), Gens: Gens{0, 1}}, g, sc)
	if e, current := c.Get([]byte("/b/thread/1")); string(e.Body) != "v2" || !current {
		t.Errorf("after an older version's Put: %q (current %v), want v2", e.Body, current)
	}
	// After a Reset the counters start again: a page made since is kept,
	// whatever its numbers.
	g.Reset()
	c.Put("/b/thread/1", &Entry{Status: 200, Body: []byte("v0"), Gens: Gens{0, 0}}, g, sc)
	if e, current := c.Get([]byte("/b/thread/1")); string(e.Body) != "v0" || !current {
		t.Errorf("after a Reset and a Put: %q (current %v), want v0", e.Body, current)
	}
}
