package router_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testutil"
	redisbus "github.com/maniwani/maniwani/pubsub/redis"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// site is what one router process has of a site on Redis: its counters,
// L2, bus and invalidator. Every site of a test shares the test's prefix.
type site struct {
	gens *cache.Generations
	l2   *cache.Redis
	bus  maniwani.Bus
	inv  cache.Shared
}

func newSite(t *testing.T, url, prefix string) *site {
	t.Helper()
	opt, _ := goredis.ParseURL(url)
	rdb := goredis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	bus, err := redisbus.New(redisbus.Config{Prefix: prefix}, rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	s := &site{gens: cache.NewGenerations(), l2: cache.NewRedis(rdb, prefix, time.Minute), bus: bus}
	s.inv = cache.Shared{Redis: s.l2, Gens: s.gens, Bus: bus, Topic: router.CacheTopic}
	return s
}

func (s *site) router(t *testing.T, up router.Upstream) string {
	return startRouter(t, router.Deps{API: up, Gens: s.gens, L2: s.l2, Bus: s.bus})
}

// following waits until s's router has subscribed to the invalidations:
// writes through w then reach s's counters. A write sent before s
// subscribed is lost to it, so one is sent again while s stays behind.
func following(t *testing.T, w, s *site) {
	t.Helper()
	var sent time.Time
	testutil.Eventually(t, 5*time.Second, func() error {
		if !sent.IsZero() && s.gens.Get(cache.Scope{}) == w.gens.Get(cache.Scope{}) {
			return nil
		}
		if time.Since(sent) > 100*time.Millisecond {
			if err := w.inv.Invalidate(t.Context(), maniwani.Invalidation{}); err != nil {
				return err
			}
			sent = time.Now()
		}
		return errors.New("the router does not follow the invalidations")
	})
}

// inL2 waits until Redis holds a current page at path.
func inL2(t *testing.T, s *site, path string) {
	t.Helper()
	sc, _ := cache.ScopeOf(path)
	testutil.Eventually(t, 5*time.Second, func() error {
		e, _, err := s.l2.Lookup(t.Context(), sc, path)
		if err == nil && e == nil {
			err = errors.New("no current page of " + path + " in Redis")
		}
		return err
	})
}

// Two routers on one Redis: the second's first miss is served from L2, and
// a write through the first is seen by the second on its next read. The
// second learns of the write only through Redis Pub/Sub, so this counts how
// often a read sent right after the write's answer still beats the event.
func TestTwoRoutersShareRedis(t *testing.T) {
	url := testdb.RedisURL(t)
	prefix := testdb.RedisPrefix(t, url)
	f := newFakeAPI()
	a, b := newSite(t, url, prefix), newSite(t, url, prefix)
	baseA, baseB := a.router(t, router.NewLocal(f)), b.router(t, router.NewLocal(f))
	following(t, a, b)
	following(t, b, a)

	const path = "/b/thread/12.json"
	for i, c := range []struct{ base, want string }{{baseA, "MISS"}, {baseA, "HIT"}, {baseB, "MISS"}, {baseB, "HIT"}} {
		if c.base == baseB && c.want == "MISS" {
			inL2(t, a, path) // A stores its fill after answering it
		}
		if got := get(t, c.base+path); got.cache() != c.want || got.body != bigBody(path, 0) {
			t.Fatalf("warming, GET #%d: %s, want %s", i, got.cache(), c.want)
		}
	}
	if n := f.count("GET " + path); n != 1 {
		t.Errorf("warming two routers asked the upstream %d times, want 1 (the second from Redis)", n)
	}

	// The writer's router is fresh at once; the other within a moment (it
	// learns through Pub/Sub), which the test bounds and reports.
	const writes = 50
	late := 0
	var worst time.Duration
	for v := int64(1); v <= writes; v++ {
		f.version.Store(v)
		if err := a.inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
			t.Fatal(err)
		}
		done := time.Now()
		if got := get(t, baseA+path); got.body != bigBody(path, v) || got.cache() != "MISS" {
			t.Errorf("write %d: router A (the writer's) answered %s with the old page", v, got.cache())
		}
		if get(t, baseB+path).body != bigBody(path, v) {
			late++
			testutil.Eventually(t, 2*time.Second, func() error {
				if get(t, baseB+path).body != bigBody(path, v) {
					return fmt.Errorf("write %d: router B still serves the old page", v)
				}
				return nil
			})
		}
		worst = max(worst, time.Since(done))
	}
	t.Logf("router B was behind on the first read after %d of %d writes; caught up within %v at worst", late, writes, worst)
}

// A Redis blip during a write's invalidation must not cost the router its
// L1 for good: once Redis is back, a GET after a MISS is a HIT again.
func TestRouterHitsAgainAfterFailedInvalidation(t *testing.T) {
	url := testdb.RedisURL(t)
	prefix := testdb.RedisPrefix(t, url)
	f := newFakeAPI()
	s := newSite(t, url, prefix)
	base := s.router(t, router.NewLocal(f))
	const path = "/b/thread/12.json"
	get(t, base+path)
	if a := get(t, base+path); a.cache() != "HIT" {
		t.Fatalf("before: %s", a.cache())
	}

	dead := goredis.NewClient(&goredis.Options{MaxRetries: -1, DialerRetries: 1,
		Dialer: func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("redis is down") }})
	defer dead.Close()
	down := cache.Shared{Redis: cache.NewRedis(dead, prefix, time.Minute), Gens: s.gens, Bus: s.bus, Topic: router.CacheTopic}
	f.version.Store(1)
	if err := down.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err == nil {
		t.Fatal("no error with Redis down")
	}
	// Redis is back for the next write.
	f.version.Store(2)
	if err := s.inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
		t.Fatal(err)
	}
	if a := get(t, base+path); a.cache() != "MISS" || a.body != bigBody(path, 2) {
		t.Errorf("after the write: %s %.40q", a.cache(), a.body)
	}
	var states []string
	for range 3 {
		states = append(states, get(t, base+path).cache())
	}
	if states[2] != "HIT" {
		t.Errorf("GETs after the MISS answered %v: the L1 never hits again", states)
	}
}

// A router that restarts (a new process: empty L1, counters from zero)
// fills from Redis, not from the upstream: what the router before it made
// is stored there by the time it stopped, and is current by Redis's
// counters. A write after the restart is the one thing that goes upstream.
func TestRestartedRouterFillsFromRedis(t *testing.T) {
	url := testdb.RedisURL(t)
	prefix := testdb.RedisPrefix(t, url)
	f := newFakeAPI()
	cfg := router.Config{Logger: slog.New(slog.DiscardHandler), FetchTimeout: 5 * time.Second}
	paths := []string{"/b/thread/12", "/b/thread/12.json", "/b/", "/"}

	before := newSite(t, url, prefix)
	base, stop := serve(t, cfg, router.Deps{API: router.NewLocal(f), Gens: before.gens, L2: before.l2, Bus: before.bus})
	for _, p := range paths {
		get(t, base+p)
	}
	filled := f.total()
	if filled != len(paths) {
		t.Fatalf("the first router asked the upstream %d times for %d pages", filled, len(paths))
	}
	client.CloseIdleConnections()
	if err := stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	after := newSite(t, url, prefix)
	base = startRouter(t, router.Deps{API: router.NewLocal(f), Gens: after.gens, L2: after.l2, Bus: after.bus})
	for _, p := range paths {
		if a := get(t, base+p); a.code != 200 || a.body != bigBody(p, 0) {
			t.Errorf("after the restart, GET %s: %d %.40q", p, a.code, a.body)
		}
		if a := get(t, base+p); a.cache() != "HIT" {
			t.Errorf("after the restart, the second GET %s: %s, want HIT", p, a.cache())
		}
	}
	if n := f.total() - filled; n != 0 {
		t.Errorf("the restarted router asked the upstream %d times for %d pages Redis holds, want 0", n, len(paths))
	}

	// A write: the thread's page is made again, once; the other pages of
	// its board and the site's are too, as a post changes them.
	following(t, before, after)
	f.version.Store(1)
	if err := before.inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 2*time.Second, func() error {
		if a := get(t, base+"/b/thread/12"); a.body != bigBody("/b/thread/12", 1) {
			return errors.New("the restarted router serves the page from before the write")
		}
		return nil
	})
	if n := f.count("GET /b/thread/12"); n != 2 {
		t.Errorf("the thread page was made %d times over a write and a restart, want 2", n)
	}
}
