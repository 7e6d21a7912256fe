package router_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// fakeAPI is the upstream: it counts the requests it gets and answers each
// path with a body that tells the path and the data's version.
type fakeAPI struct {
	version atomic.Int64  // bumped by a test to stand for a write
	fail    atomic.Int32  // when not 0, every answer is this status
	hold    chan struct{} // when not nil, each GET waits for it to close

	mu    sync.Mutex
	calls map[string]int // "METHOD /path?query"
	bad   []string       // request headers a cache fill must not send
}

func newFakeAPI() *fakeAPI { return &fakeAPI{calls: map[string]int{}} }

func (f *fakeAPI) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeAPI) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// lastModified is the data's time at version v.
func lastModified(v int64) time.Time {
	return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(v) * time.Hour)
}

// bigBody is the page at path and version v: over 1 KB and compressible.
func bigBody(path string, v int64) string {
	return fmt.Sprintf(`{"path":%q,"version":%d,"posts":[%s{}]}`, path, v,
		strings.Repeat(`{"no":1,"com":"the same words again and again"},`, 40))
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.Method+" "+r.URL.RequestURI()]++
	if r.Method == http.MethodGet {
		for _, h := range []string{"If-None-Match", "If-Modified-Since", "Range", "Accept-Encoding"} {
			if r.Header.Get(h) != "" {
				f.bad = append(f.bad, h+" on "+r.URL.RequestURI())
			}
		}
	}
	f.mu.Unlock()
	if code := f.fail.Load(); code != 0 {
		http.Error(w, "upstream broken", int(code))
		return
	}
	if r.Method != http.MethodGet {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"method":%q,"path":%q,"got":%q}`, r.Method, r.URL.Path, body)
		return
	}
	if f.hold != nil {
		<-f.hold
	}
	v := f.version.Load()
	switch r.URL.Path {
	case "/b/thread/99.json":
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"/b/thread/99 does not exist.","version":%d}`, v)
		return
	case "/b/thread/98":
		http.Redirect(w, r, "/b/thread/97", http.StatusMovedPermanently)
		return
	case "/metrics", "/healthz", "/readyz":
		fmt.Fprint(w, "UPSTREAM-SECRET")
		return
	}
	h := w.Header()
	if strings.HasSuffix(r.URL.Path, ".json") {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
	h.Set("ETag", fmt.Sprintf(`"v%d-%d"`, v, len(r.URL.Path)))
	h.Set("Last-Modified", lastModified(v).Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	h.Set("Set-Cookie", "upstream=1") // never shown to the next reader of a cached page
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	if strings.HasPrefix(r.URL.Path, "/s/") { // board s: small pages
		fmt.Fprintf(w, `{"v":%d}`, v)
		return
	}
	io.WriteString(w, bigBody(r.URL.Path, v))
}

// startRouter serves a router on a loopback port until the test ends.
func startRouter(t *testing.T, deps router.Deps) string {
	t.Helper()
	if deps.Gens == nil {
		t.Fatal("no Gens")
	}
	return serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), FetchTimeout: 5 * time.Second}, deps)
}

// serveRouter serves a router of cfg and deps on a loopback port until the
// test ends.
func serveRouter(t *testing.T, cfg router.Config, deps router.Deps) string {
	t.Helper()
	base, stop := serve(t, cfg, deps)
	t.Cleanup(func() {
		if err := stop(20 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return base
}

// serve runs a router of cfg and deps on a loopback port; stop tells it to
// stop and says how Run ended, or that it had not within wait.
func serve(t *testing.T, cfg router.Config, deps router.Deps) (base string, stop func(wait time.Duration) error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	svc, err := router.New(cfg, deps)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	return "http://" + ln.Addr().String(), func(wait time.Duration) error {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("Run: %w", err)
			}
			return nil
		case <-time.After(wait):
			return fmt.Errorf("router did not stop in %v", wait)
		}
	}
}

func localRouter(t *testing.T, f *fakeAPI) (string, *cache.Generations) {
	gens := cache.NewGenerations()
	return startRouter(t, router.Deps{API: router.NewLocal(f), Gens: gens}), gens
}

// client neither follows redirects nor asks for gzip by itself.
var client = &http.Client{
	Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 512},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       20 * time.Second,
}

type answer struct {
	code int
	h    http.Header
	body string
}

func (a answer) cache() string { return a.h.Get("X-Cache") }

func do(t testing.TB, method, url string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func get(t testing.TB, url string, hdr ...string) answer { return do(t, http.MethodGet, url, hdr...) }

func (f *fakeAPI) checkNoConditionals(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Errorf("cache fills passed the client's headers upstream: %v", f.bad)
	}
}

func TestMissThenHit(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	for _, path := range []string{"/b/thread/12.json", "/b/thread/12", "/b/", "/b/2", "/b/catalog.json", "/", "/boards.json"} {
		// The first reader's conditional and range headers are not the
		// fill's: the cache keeps the whole page.
		a := get(t, base+path, "If-None-Match", `"nope"`, "Range", "bytes=0-9")
		if a.code != 200 || a.cache() != "MISS" || a.body != bigBody(strings.Split(path, "?")[0], 0) {
			t.Fatalf("first GET %s: %d %s %q", path, a.code, a.cache(), a.body)
		}
		b := get(t, base+path)
		if b.code != 200 || b.cache() != "HIT" || b.body != a.body {
			t.Fatalf("second GET %s: %d %s", path, b.code, b.cache())
		}
		for _, h := range []string{"Content-Type", "ETag", "Last-Modified", "Cache-Control", "X-Content-Type-Options", "Content-Security-Policy"} {
			if b.h.Get(h) == "" || b.h.Get(h) != a.h.Get(h) {
				t.Errorf("%s: %s on the hit %q, on the miss %q", path, h, b.h.Get(h), a.h.Get(h))
			}
		}
		if b.h.Get("Set-Cookie") != "" {
			t.Errorf("%s: a cached page carries the upstream's Set-Cookie", path)
		}
		if n := f.count("GET " + path); n != 1 {
			t.Errorf("%s reached the upstream %d times, want 1", path, n)
		}
	}
	// No page reads a query string: any query names the page without it,
	// so none can fill the cache with entries of its own.
	for _, path := range []string{"/b/?x=2", "/b/?bust=1", "/b/thread/12.json?bust=2", "/?"} {
		want := strings.Split(path, "?")[0]
		if a := get(t, base+path); a.cache() != "HIT" || a.body != bigBody(want, 0) {
			t.Errorf("GET %s after %s: %s, want a HIT of that page", path, want, a.cache())
		}
	}
	if a := get(t, base+"/b/catalog?bust=3"); a.cache() != "MISS" || a.body != bigBody("/b/catalog", 0) {
		t.Errorf("GET /b/catalog?bust=3 first: %s %q", a.cache(), a.body)
	}
	if n := f.count("GET /b/catalog"); n != 1 {
		t.Errorf("a fill of /b/catalog?bust=3 asked the upstream for /b/catalog %d times, want once without the query", n)
	}
	f.checkNoConditionals(t)
}

func TestHead(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	full := bigBody("/b/thread/12.json", 0)
	a := do(t, http.MethodHead, base+"/b/thread/12.json")
	if a.code != 200 || a.cache() != "MISS" || a.body != "" || a.h.Get("Content-Length") != fmt.Sprint(len(full)) {
		t.Fatalf("HEAD on a cold key: %d %s body %q Content-Length %q, want %d", a.code, a.cache(), a.body,
			a.h.Get("Content-Length"), len(full))
	}
	if a.h.Get("ETag") == "" || a.h.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD headers: %v", a.h)
	}
	if g := get(t, base+"/b/thread/12.json"); g.cache() != "HIT" || g.body != full {
		t.Errorf("GET after HEAD: %s %d bytes", g.cache(), len(g.body))
	}
	z := do(t, http.MethodHead, base+"/b/thread/12.json", "Accept-Encoding", "gzip")
	gz := get(t, base+"/b/thread/12.json", "Accept-Encoding", "gzip")
	if z.cache() != "HIT" || z.body != "" || z.h.Get("Content-Encoding") != "gzip" ||
		z.h.Get("Content-Length") != fmt.Sprint(len(gz.body)) {
		t.Errorf("HEAD with gzip: %s body %d Content-Encoding %q Content-Length %q, want %d",
			z.cache(), len(z.body), z.h.Get("Content-Encoding"), z.h.Get("Content-Length"), len(gz.body))
	}
	if n := f.count("GET /b/thread/12.json"); n != 1 || f.count("HEAD /b/thread/12.json") != 0 {
		t.Errorf("upstream saw %d GETs and %d HEADs, want one GET", n, f.count("HEAD /b/thread/12.json"))
	}
}

func TestConditionalRequests(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	url := base + "/b/thread/12.json"
	first := get(t, url)
	etag, lm := first.h.Get("ETag"), first.h.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("no validators: %v", first.h)
	}
	earlier := lastModified(0).Add(-time.Second).Format(http.TimeFormat)
	for _, c := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"If-None-Match", []string{"If-None-Match", etag}, 304},
		{"weak If-None-Match", []string{"If-None-Match", "W/" + etag}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"other", ` + etag}, 304},
		{"If-None-Match *", []string{"If-None-Match", "*"}, 304},
		{"If-None-Match other", []string{"If-None-Match", `"other"`}, 200},
		{"If-Modified-Since same", []string{"If-Modified-Since", lm}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since", lastModified(5).Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", earlier}, 200},
		{"If-None-Match wins", []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}, 200},
		{"If-None-Match with gzip", []string{"If-None-Match", etag, "Accept-Encoding", "gzip"}, 304},
	} {
		a := get(t, url, c.hdr...)
		if a.code != c.want || a.cache() != "HIT" {
			t.Errorf("%s: %d %s, want %d HIT", c.name, a.code, a.cache(), c.want)
			continue
		}
		if c.want == 304 && (a.body != "" || a.h.Get("ETag") != etag) {
			t.Errorf("%s: 304 with body %q and ETag %q", c.name, a.body, a.h.Get("ETag"))
		}
		if c.want == 200 && a.body != first.body && a.h.Get("Content-Encoding") == "" {
			t.Errorf("%s: 200 with another body", c.name)
		}
	}
	if n := f.count("GET /b/thread/12.json"); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	f.checkNoConditionals(t)
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestGzip(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	for _, path := range []string{"/b/thread/12.json", "/b/"} {
		for i, state := range []string{"MISS", "HIT"} {
			z := get(t, base+path, "Accept-Encoding", "gzip, deflate, br")
			if z.code != 200 || z.cache() != state || z.h.Get("Content-Encoding") != "gzip" ||
				z.h.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("%s #%d with gzip: %d %s Content-Encoding %q Vary %q", path, i, z.code, z.cache(),
					z.h.Get("Content-Encoding"), z.h.Get("Vary"))
			}
			if len(z.body) >= len(bigBody(path, 0)) {
				t.Errorf("%s: gzip form %d bytes, identity %d", path, len(z.body), len(bigBody(path, 0)))
			}
			if got := gunzip(t, []byte(z.body)); string(got) != bigBody(path, 0) {
				t.Errorf("%s: gunzipped body differs:\n%s", path, got)
			}
		}
		plain := get(t, base+path, "Accept-Encoding", "br")
		if plain.h.Get("Content-Encoding") != "" || plain.body != bigBody(path, 0) || plain.h.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s without gzip: Content-Encoding %q Vary %q", path, plain.h.Get("Content-Encoding"), plain.h.Get("Vary"))
		}
	}
	// A small body is not worth it.
	s := get(t, base+"/s/thread/12.json", "Accept-Encoding", "gzip")
	if s.h.Get("Content-Encoding") != "" || s.body != `{"v":0}` {
		t.Errorf("small body: Content-Encoding %q body %q", s.h.Get("Content-Encoding"), s.body)
	}
}

func TestNon200PassedOnNotCached(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	for i := range 2 {
		a := get(t, base+"/b/thread/99.json")
		if a.code != 404 || !strings.Contains(a.body, "does not exist") || a.h.Get("Cache-Control") != "no-store" ||
			a.h.Get("Content-Type") != "application/json" {
			t.Errorf("404 #%d: %d %q %v", i, a.code, a.body, a.h)
		}
		if a.cache() == "HIT" {
			t.Errorf("404 #%d served from cache", i)
		}
	}
	if n := f.count("GET /b/thread/99.json"); n != 2 {
		t.Errorf("two GETs of a 404 reached the upstream %d times, want 2", n)
	}
	// A redirect keeps where it goes.
	a := get(t, base+"/b/thread/98")
	if a.code != http.StatusMovedPermanently || a.h.Get("Location") != "/b/thread/97" {
		t.Errorf("redirect passed on as %d, Location %q; want 301 to /b/thread/97", a.code, a.h.Get("Location"))
	}
}

func TestWritesAndUncacheablePassThrough(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	warm := get(t, base+"/b/thread/12.json")
	for i := range 2 {
		resp, err := client.Post(base+"/b/post", "application/x-www-form-urlencoded", strings.NewReader(fmt.Sprint("com=hi", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("X-Cache") != "" || !strings.Contains(string(b), fmt.Sprint("com=hi", i)) {
			t.Errorf("POST #%d: %d X-Cache %q %s", i, resp.StatusCode, resp.Header.Get("X-Cache"), b)
		}
	}
	if n := f.count("POST /b/post"); n != 2 {
		t.Errorf("two POSTs reached the upstream %d times", n)
	}
	// Other methods on a cacheable path go through and leave the cache be.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if a := do(t, m, base+"/b/thread/12.json"); a.code != 201 || a.cache() != "" {
			t.Errorf("%s on a cached path: %d %q", m, a.code, a.cache())
		}
	}
	if a := get(t, base+"/b/thread/12.json"); a.cache() != "HIT" || a.body != warm.body {
		t.Errorf("after writes that did not invalidate: %s", a.cache())
	}
	// GETs outside the cacheable paths are never cached.
	for _, path := range []string{"/api/admin/boards", "/admin/", "/live/b", "/media/b/1.png", "/b/thread/x"} {
		for range 2 {
			if a := get(t, base+path); a.code != 200 || a.cache() != "" {
				t.Errorf("GET %s: %d X-Cache %q", path, a.code, a.cache())
			}
		}
		if n := f.count("GET " + path); n != 2 {
			t.Errorf("GET %s twice reached the upstream %d times", path, n)
		}
	}
}

func TestInternalPathsNotPublic(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/metrics?x=1", "//metrics", "/%6detrics", "/./healthz",
		"/_internal/boards", "/_internal/media/src/x", "//_internal/boards", "/%5finternal/boards"} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			a := do(t, m, base+path)
			if a.code != 404 || strings.Contains(a.body, "UPSTREAM-SECRET") {
				t.Errorf("%s %s: %d %q", m, path, a.code, a.body)
			}
		}
	}
	if n := f.total(); n != 0 {
		t.Errorf("the upstream was asked %d times: %v", n, f.calls)
	}
}

// Many concurrent misses of one key make one upstream request.
func TestSingleFlight(t *testing.T) {
	f := newFakeAPI()
	// The fill is held until every GET waits on it.
	f.hold = make(chan struct{})
	base := serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), FetchTimeout: 20 * time.Second},
		router.Deps{API: router.NewLocal(f), Gens: cache.NewGenerations()})
	const n = 256
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		states = map[string]int{}
		bodies = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			state, body := "error", ""
			resp, err := client.Get(base + "/b/thread/12.json")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				state, body = fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("X-Cache")), string(b)
			}
			mu.Lock()
			states[state]++
			bodies[body]++
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	close(start)
	testutil.Eventually(t, 10*time.Second, func() error {
		if got := inSingleFlight(); got < n {
			return fmt.Errorf("%d of %d GETs wait on the one fill", got, n)
		}
		return nil
	})
	close(f.hold)
	wg.Wait()
	if got := f.count("GET /b/thread/12.json"); got != 1 {
		t.Errorf("%d concurrent GETs of a cold key made %d upstream requests, want 1", n, got)
	}
	if len(bodies) != 1 || bodies[bigBody("/b/thread/12.json", 0)] != n {
		t.Errorf("bodies differ: %d kinds", len(bodies))
	}
	if states["200 MISS"]+states["200 HIT"] != n || states["200 MISS"] < 2 {
		t.Errorf("states %v: want all 200, several sharing the one fill", states)
	}
	t.Logf("%d GETs in %v: %v", n, time.Since(t0).Round(time.Millisecond), states)
}

// inSingleFlight counts the goroutines in the router's fill of a cached
// page: the one fill and the requests that wait for it.
func inSingleFlight() int {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1) // one record per stack: "count @ pcs", then its frames
	total := 0
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		var count int
		if _, err := fmt.Sscanf(rec, "%d @", &count); err == nil && strings.Contains(rec, "router.(*Service).serveCached") {
			total += count
		}
	}
	return total
}

func TestInvalidation(t *testing.T) {
	f := newFakeAPI()
	base, gens := localRouter(t, f)
	paths := []string{"/b/thread/12.json", "/b/thread/12", "/b/", "/b/catalog.json", "/"}
	etags := map[string]string{}
	for _, p := range paths {
		etags[p] = get(t, base+p).h.Get("ETag")
		if a := get(t, base+p); a.cache() != "HIT" {
			t.Fatalf("%s: %s before the write", p, a.cache())
		}
	}
	for v := int64(1); v <= 3; v++ {
		f.version.Store(v) // the write commits, then invalidates
		gens.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{12}})
		for _, p := range paths {
			a := get(t, base+p)
			if a.cache() != "MISS" || a.body != bigBody(p, v) || a.h.Get("ETag") == etags[p] {
				t.Errorf("v%d %s after Bump: %s, ETag %s (was %s), body %.40q", v, p, a.cache(), a.h.Get("ETag"), etags[p], a.body)
			}
			etags[p] = a.h.Get("ETag")
			if a := get(t, base+p); a.cache() != "HIT" {
				t.Errorf("v%d %s: %s after the MISS", v, p, a.cache())
			}
		}
	}
	// A write to another thread of the board leaves this thread's page
	// cached; a change of the board itself outdates it.
	f.version.Store(4)
	gens.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{13}})
	if a := get(t, base+"/b/thread/12.json"); a.cache() != "HIT" || a.body != bigBody("/b/thread/12.json", 3) {
		t.Errorf("after a write to another thread: %s %.40q", a.cache(), a.body)
	}
	gens.Bump(maniwani.Invalidation{Board: "b", All: true})
	if a := get(t, base+"/b/thread/12.json"); a.cache() != "MISS" || a.body != bigBody("/b/thread/12.json", 4) {
		t.Errorf("after a change of the board: %s %.40q", a.cache(), a.body)
	}
}

func checkUnavailable(t *testing.T, base string) {
	t.Helper()
	for _, c := range []struct {
		path string
		hdr  []string
		json bool
	}{
		{"/b/thread/13.json", nil, true},
		{"/b/catalog.json", nil, true},
		{"/b/thread/13", nil, false},
		{"/b/", nil, false},
		{"/b/", []string{"Accept", "application/json"}, true},
	} {
		a := get(t, base+c.path, c.hdr...)
		if a.code != http.StatusBadGateway || a.h.Get("Cache-Control") != "no-store" {
			t.Errorf("uncached %s with the upstream down: %d Cache-Control %q", c.path, a.code, a.h.Get("Cache-Control"))
			continue
		}
		if c.json {
			var v struct{ Error string }
			if err := json.Unmarshal([]byte(a.body), &v); err != nil || v.Error == "" ||
				!strings.HasPrefix(a.h.Get("Content-Type"), "application/json") {
				t.Errorf("%s: want a JSON error, got %q %q", c.path, a.h.Get("Content-Type"), a.body)
			}
		} else if !strings.HasPrefix(a.h.Get("Content-Type"), "text/html") || !strings.Contains(a.body, "<h1>") ||
			strings.Contains(a.body, "upstream broken") {
			t.Errorf("%s: want an HTML page, got %q %q", c.path, a.h.Get("Content-Type"), a.body)
		}
	}
}

// When the upstream fails, a page cached earlier is served stale rather than
// not at all; a page never cached gets a clear 502.
func TestUpstreamFailingServesStale(t *testing.T) {
	f := newFakeAPI()
	base, gens := localRouter(t, f)
	old := get(t, base+"/b/thread/12.json")
	oldHTML := get(t, base+"/b/thread/12", "Accept-Encoding", "gzip")
	f.version.Store(1)
	gens.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{12}})
	for _, code := range []int32{500, 503} {
		f.fail.Store(code)
		for range 2 {
			a := get(t, base+"/b/thread/12.json")
			if a.code != 200 || a.cache() != "STALE" || a.body != old.body || a.h.Get("ETag") != old.h.Get("ETag") {
				t.Errorf("upstream answering %d: %d %s %.40q", code, a.code, a.cache(), a.body)
			}
			z := get(t, base+"/b/thread/12", "Accept-Encoding", "gzip")
			if z.code != 200 || z.cache() != "STALE" || z.body != oldHTML.body || z.h.Get("Content-Encoding") != "gzip" {
				t.Errorf("upstream answering %d, gzip: %d %s", code, z.code, z.cache())
			}
		}
		checkUnavailable(t, base)
	}
	// Back up: the next GET is fresh.
	f.fail.Store(0)
	if a := get(t, base+"/b/thread/12.json"); a.code != 200 || a.cache() != "MISS" || a.body != bigBody("/b/thread/12.json", 1) {
		t.Errorf("upstream back: %d %s %.40q", a.code, a.cache(), a.body)
	}
	if a := get(t, base+"/b/thread/12.json"); a.cache() != "HIT" {
		t.Errorf("upstream back, second GET: %s", a.cache())
	}
}

// The same with an upstream in another process that stops answering at all.
func TestUpstreamRefusingServesStale(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	gens := cache.NewGenerations()
	base := startRouter(t, router.Deps{API: router.NewRemote(srv.Listener.Addr().String()), Gens: gens})
	old := get(t, base+"/b/thread/12.json")
	if old.code != 200 || old.cache() != "MISS" || get(t, base+"/b/thread/12.json").cache() != "HIT" {
		t.Fatalf("through a remote upstream: %d %s", old.code, old.cache())
	}
	srv.Close() // connection refused from now on
	gens.Bump(maniwani.Invalidation{Board: "b", Threads: []int64{12}})
	a := get(t, base+"/b/thread/12.json")
	if a.code != 200 || a.cache() != "STALE" || a.body != old.body {
		t.Errorf("upstream refusing: %d %s %.40q", a.code, a.cache(), a.body)
	}
	checkUnavailable(t, base)
	resp, err := client.Post(base+"/b/post", "application/x-www-form-urlencoded", strings.NewReader("com=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST with the upstream refusing: %d, want 502", resp.StatusCode)
	}
}

// A client that sends "Expect: 100-continue" (curl does for bodies over
// 1 MB) gets the router's 100, then the service's answer: the service's own
// 100 must not pass for its answer.
func TestExpectContinue(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	body := "com=" + strings.Repeat("x", 2<<20)
	fmt.Fprintf(conn, "POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q %v, want 100 Continue", line, err)
	}
	for line != "\r\n" && err == nil {
		line, err = br.ReadString('\n')
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || len(b) < len(body) {
		t.Fatalf("answer %d with %d bytes, want 201 echoing %d", resp.StatusCode, len(b), len(body))
	}
}
