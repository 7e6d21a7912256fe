package router_test

import (
	"fmt"
	"log/slog"
	"net/http"
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

// staleRouter is a router on up whose clock is now, with its invalidator.
func staleRouter(t *testing.T, up http.Handler, now *clock) (string, cache.Local) {
	t.Helper()
	l := router.NewLocal(up)
	t.Cleanup(func() { l.Close() })
	t.Cleanup(client.CloseIdleConnections)
	gens := cache.NewGenerations()
	base := serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), FetchTimeout: 5 * time.Second,
		Now: now.now}, router.Deps{API: l, Gens: gens})
	return base, cache.Local{Gens: gens}
}

// Readers of a page under a stream of writes, on the router's clock: no
// answer is older than the bound. A page answered from a fill (MISS) or as
// current (HIT) holds every write whose invalidation was done before the
// request was sent; one answered while it is made again (UPDATING) every
// write done more than StaleFor before. And each version is made at most
// once: one fill per version of the counters, however many readers ask.
func TestStalenessBoundUnderWrites(t *testing.T) {
	const readers, writes = 8, 300
	up := &lagging{done: make([]chan struct{}, writes+2), held: map[int64]int{}}
	for i := range up.done {
		up.done[i] = make(chan struct{})
	}
	now := &clock{}
	now.set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	base, inv := staleRouter(t, up, now)
	page := base + "/b/thread/1"
	get(t, page)

	step := router.DefaultStaleFor / 2 // the clock moves this much a write
	// done[i] is the router's time once write i's invalidation was done;
	// completed is the last write done (written after its time).
	var done [writes + 1]time.Time
	done[0] = now.now()
	var completed atomic.Int64
	// newestBefore is the newest write done strictly before t, among the
	// first n.
	newestBefore := func(t time.Time, n int64) int64 {
		for i := n; i > 0; i-- {
			if done[i].Before(t) {
				return i
			}
		}
		return 0
	}

	// letGo ends every fill still held.
	closed := int64(0)
	letGo := func() {
		for ; closed < int64(len(up.done))-1; closed++ {
			close(up.done[closed+1])
		}
	}
	var sent, asking atomic.Int64 // requests the readers sent; are waiting for
	var mu sync.Mutex
	var bad []string
	states := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// end stops the readers once the fills still held are let go: after
	// the writes, or when the test fails before their end.
	end := sync.OnceFunc(func() {
		close(stop)
		letGo()
		wg.Wait()
	})
	t.Cleanup(end)
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := completed.Load()
				at := now.now()
				sent.Add(1)
				asking.Add(1)
				a := get(t, page)
				asking.Add(-1)
				var v int64
				fmt.Sscanf(a.body, "version %d", &v)
				want := n // MISS, HIT: every write done before it was sent
				if a.cache() == "UPDATING" {
					want = newestBefore(at.Add(-router.DefaultStaleFor), n)
				}
				mu.Lock()
				states[a.cache()]++
				if v < want && len(bad) < 5 {
					bad = append(bad, fmt.Sprintf("%s answered version %d to a request sent after write %d was done (%d writes done)",
						a.cache(), v, want, n))
				}
				mu.Unlock()
			}
		})
	}
	for i := int64(1); i <= writes; i++ {
		seen := sent.Load()
		now.add(step)
		up.version.Store(i)
		if err := inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{1}}); err != nil {
			t.Fatal(err)
		}
		done[i] = now.now()
		completed.Store(i)
		closed = i
		close(up.done[i])
		// The next write once each reader could ask for this version, or
		// when every reader waits while a fill is slow until a later
		// write (they may all wait for it).
		testutil.Eventually(t, 5*time.Second, func() error {
			if sent.Load() < seen+readers && (asking.Load() < readers || !up.holding(i)) {
				return fmt.Errorf("write %d: %d requests since", i, sent.Load()-seen)
			}
			return nil
		})
	}
	end()
	for _, b := range bad {
		t.Error(b)
	}
	if n := up.fetches.Load(); n > writes+1 {
		t.Errorf("%d fills for %d versions: a version was made more than once", n, writes+1)
	}
	t.Logf("answers %v; %d fills for %d versions", states, up.fetches.Load(), writes+1)
}

// lagging is a page whose every third fill reads the version and is then
// slow: it ends only once the second write after it is done, so its page
// is outdated before it is answered.
type lagging struct {
	version atomic.Int64
	fetches atomic.Int64
	done    []chan struct{} // closed once write i is done; the last when the writes end
	mu      sync.Mutex
	held    map[int64]int // fills being slow now, by the write they wait for
}

// holding tells whether a fill waits for a write after the first n.
func (l *lagging) holding(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for until, k := range l.held {
		if until > n && k > 0 {
			return true
		}
	}
	return false
}

func (l *lagging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := l.fetches.Add(1)
	v := l.version.Load()
	if n%3 == 0 {
		until := min(int64(v)+2, int64(len(l.done))-1)
		l.mu.Lock()
		l.held[until]++
		l.mu.Unlock()
		<-l.done[until]
		l.mu.Lock()
		l.held[until]--
		l.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "version %d", v)
}

// moderated is a thread page whose posts a test deletes; a fill of a
// version in slow is held until the test lets it go (a slow reader path).
type moderated struct {
	mu      sync.Mutex
	posts   []string
	slow    map[int]chan struct{} // by version: fills of it wait on the channel
	arrived chan int              // told the version of each fill that waits
	version int
	fetches map[int]int
}

func (m *moderated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	v, body := m.version, fmt.Sprintf("version %d: %s", m.version, strings.Join(m.posts, " "))
	m.fetches[v]++
	hold := m.slow[v]
	m.mu.Unlock()
	if hold != nil {
		m.arrived <- v
		<-hold
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, body)
}

// write changes the posts as a write does, before its invalidation.
func (m *moderated) write(posts ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.version++
	m.posts = posts
}

// A moderator deletes a post (or bans with "delete all") while the page
// is being made again on a slow reader path, from before the deletion.
// The deletion does not wait for that fill; the moderator's next read, and
// every reader's from then on, is a page without the post (the router
// never joins the older fill, nor answers the page before it, to a request
// that comes after the invalidation; the new fill waits for the older one
// at most StaleFor, then goes beside it), and the older fill, when it ends,
// does not put the post back. Only a reader who asked before the deletion
// may get the post, from that fill. The board's index pages are held to
// the same.
func TestModerationNotServedStale(t *testing.T) {
	for _, c := range []struct {
		name string
		inv  maniwani.Invalidation
	}{
		// What the api invalidates for a post's deletion, and for a ban
		// whose "delete all" purges the poster's posts.
		{"delete", maniwani.Invalidation{Board: "b", Threads: []int64{1}}},
		{"ban and delete all", maniwani.Invalidation{Board: "b", Threads: []int64{1, 7}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/b/thread/1", "/b/"} {
				moderationNotStale(t, path, c.inv)
			}
		})
	}
}

func moderationNotStale(t *testing.T, path string, inv maniwani.Invalidation) {
	up := &moderated{posts: []string{"p1", "spam"}, slow: map[int]chan struct{}{}, arrived: make(chan int, 4), fetches: map[int]int{}}
	now := &clock{}
	now.set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	base, invalidator := staleRouter(t, up, now)
	page := base + path
	get(t, page)
	if a := get(t, page); a.cache() != "HIT" || !strings.Contains(a.body, "spam") {
		t.Fatalf("%s before: %s %q", path, a.cache(), a.body)
	}

	// A reply, and a reader whose fill of it is slow.
	release := make(chan struct{})
	up.mu.Lock()
	up.slow[1] = release
	up.mu.Unlock()
	up.write("p1", "spam", "p3")
	if err := invalidator.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	early := make(chan answer, 1)
	go func() { early <- get(t, page) }()
	if v := <-up.arrived; v != 1 {
		t.Fatalf("the held fill is of version %d", v)
	}

	// The deletion, while that fill is held: it does not wait for it.
	up.write("p1", "p3")
	deleted := make(chan error, 1)
	go func() { deleted <- invalidator.Invalidate(t.Context(), inv) }()
	select {
	case err := <-deleted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deletion's invalidation waited for the slow fill")
	}
	for i, who := range []string{"the moderator", "a reader", "a reader within the bound"} {
		if i == 2 {
			now.add(router.DefaultStaleFor / 2)
		}
		if a := get(t, page); strings.Contains(a.body, "spam") || a.code != 200 {
			t.Errorf("%s: %s after the deletion, while an older fill is held: %s %d %q", path, who, a.cache(), a.code, a.body)
		}
	}

	close(release)
	if a := <-early; !strings.Contains(a.body, "version 1") {
		t.Errorf("%s: the reader who came before the deletion: %s %q, want the fill it started", path, a.cache(), a.body)
	}
	now.add(router.DefaultStaleFor)
	for range 2 {
		if a := get(t, page); a.body != "version 2: p1 p3" || a.cache() != "HIT" {
			t.Errorf("%s: after the older fill ended: %s %q, want a HIT of version 2", path, a.cache(), a.body)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for v, n := range up.fetches {
		if n > 1 {
			t.Errorf("%s: version %d was made %d times", path, v, n)
		}
	}
}
