package router_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// versioned is an upstream whose page says how many writes it has seen,
// and whose fills can be held until the test lets them go.
type versioned struct {
	version atomic.Int64
	fetches atomic.Int64
	mu      sync.Mutex
	hold    chan struct{} // non-nil: fills wait on it
	arrived chan struct{} // told of each fill that waits
}

func (v *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.fetches.Add(1)
	body := fmt.Sprintf("version %d", v.version.Load())
	v.mu.Lock()
	hold, arrived := v.hold, v.arrived
	v.mu.Unlock()
	if hold != nil {
		arrived <- struct{}{}
		<-hold
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("ETag", `"`+body+`"`)
	fmt.Fprint(w, body)
}

// clock is a settable Config.Now.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func updatingRouter(t *testing.T, up *versioned, now *clock) (string, cache.Local) {
	t.Helper()
	l := router.NewLocal(up)
	t.Cleanup(func() { l.Close() })
	gens := cache.NewGenerations()
	base := serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), FetchTimeout: 5 * time.Second,
		Now: now.now}, router.Deps{API: l, Gens: gens})
	return base, cache.Local{Gens: gens}
}

// While one request makes an outdated page again, the readers that come
// meanwhile get the outdated page at once (UPDATING, with its own ETag),
// for at most StaleFor after it was made; past that they wait for the
// fill as its starter does. A page is never answered older than the bound.
func TestUpdatingWhileFilled(t *testing.T) {
	up := &versioned{}
	now := &clock{}
	now.set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	base, inv := updatingRouter(t, up, now)
	page := base + "/b/thread/1"
	if a := get(t, page); a.cache() != "MISS" || a.body != "version 0" {
		t.Fatalf("first GET: %s %q", a.cache(), a.body)
	}
	if a := get(t, page); a.cache() != "HIT" {
		t.Fatalf("second GET: %s", a.cache())
	}

	up.version.Store(1) // a write, then its invalidation
	if err := inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	// With no fill in flight the first reader after the write waits for
	// one: a poster's next read shows the post.
	if a := get(t, page); a.cache() != "MISS" || a.body != "version 1" {
		t.Fatalf("the first GET after a write: %s %q, want a MISS of version 1", a.cache(), a.body)
	}

	up.version.Store(2)
	if err := inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	up.mu.Lock()
	up.hold, up.arrived = release, make(chan struct{}, 8)
	up.mu.Unlock()
	starter := make(chan answer, 1)
	go func() { starter <- get(t, page) }()
	<-up.arrived // the fill is in flight, and held
	now.add(router.DefaultStaleFor / 2)
	a := get(t, page)
	if a.cache() != "UPDATING" || a.body != "version 1" || a.h.Get("Etag") != `"version 1"` {
		t.Fatalf("a GET while the page is made again: %s %q (ETag %s), want UPDATING version 1 with its ETag",
			a.cache(), a.body, a.h.Get("Etag"))
	}
	if a := get(t, page, "If-None-Match", `"version 1"`); a.code != http.StatusNotModified {
		t.Errorf("a conditional GET of the outdated page while it is made: %d, want 304", a.code)
	}
	// Past the bound, a reader waits for the fill rather than take a page
	// that old.
	now.add(router.DefaultStaleFor)
	// (Answered at once, it would be the outdated page: it must be the
	// fill's, below.)
	late := make(chan answer, 1)
	go func() { late <- get(t, page) }()
	close(release)
	if a := <-starter; a.body != "version 2" || a.cache() != "MISS" {
		t.Errorf("the fill's starter: %s %q, want a MISS of version 2", a.cache(), a.body)
	}
	if a := <-late; a.body != "version 2" || a.cache() == "UPDATING" {
		t.Errorf("the reader past the bound: %s %q, want version 2 (the fill's, or a HIT after it)", a.cache(), a.body)
	}
	if n := up.fetches.Load(); n != 3 {
		t.Errorf("%d fills, want 3: one per version", n)
	}
}

// Readers of a page that keeps changing: each version is made at most
// once, however many readers come while it is made.
func TestOneFillPerVersionUnderWrites(t *testing.T) {
	up := &versioned{}
	now := &clock{}
	now.set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	base, inv := updatingRouter(t, up, now)
	// The readers' keep-alive connections are closed before the router
	// stops: with this many, one is at times caught between requests when
	// fasthttp's shutdown closes the idle ones, and the drain waits it out.
	t.Cleanup(client.CloseIdleConnections)
	page := base + "/b/thread/1"
	get(t, page)
	const readers, writes = 16, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var states sync.Map
	var answered atomic.Int64
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := get(t, page)
				n, _ := states.LoadOrStore(a.cache(), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				answered.Add(1)
			}
		})
	}
	for i := 1; i <= writes; i++ {
		up.version.Store(int64(i))
		if err := inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{1}}); err != nil {
			t.Fatal(err)
		}
		// The next write once every reader could have read this version.
		seen := answered.Load()
		testutil.Eventually(t, 5*time.Second, func() error {
			if answered.Load() < seen+readers {
				return fmt.Errorf("%d answers since the write", answered.Load()-seen)
			}
			return nil
		})
	}
	close(stop)
	wg.Wait()
	if n := up.fetches.Load(); n > writes+1 {
		t.Errorf("%d fills for %d versions: a version was made more than once", n, writes+1)
	}
	count := func(s string) int64 {
		if n, ok := states.Load(s); ok {
			return n.(*atomic.Int64).Load()
		}
		return 0
	}
	// How many readers came during a fill depends on the machine's timing
	// (TestUpdatingWhileFilled holds a fill to see it for certain).
	t.Logf("answers: %d HIT, %d UPDATING, %d MISS; %d fills", count("HIT"), count("UPDATING"), count("MISS"), up.fetches.Load())
}
