package markdown

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/redis/go-redis/v9"
)

// testCache is what every Cache must do.
func testCache(t *testing.T, c Cache) {
	ctx := t.Context()
	if _, ok, err := c.Get(ctx, "missing"); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if err := c.Set(ctx, "k", "<b>html</b>"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, "k"); v != "<b>html</b>" || !ok || err != nil {
		t.Fatalf("Get(k) = %q, %v, %v", v, ok, err)
	}
	if err := c.Set(ctx, "k", "again"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := c.Get(ctx, "k"); v != "again" {
		t.Fatalf("Get(k) after a second Set = %q", v)
	}
	if err := c.Set(ctx, "empty", ""); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := c.Get(ctx, "empty"); v != "" || !ok {
		t.Fatalf("an empty render is a render: %q, %v", v, ok)
	}
	// Concurrent use.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				k := fmt.Sprintf("c%d-%d", i, j%5)
				if err := c.Set(ctx, k, k); err != nil {
					t.Error(err)
					return
				}
				if v, ok, err := c.Get(ctx, k); err != nil || (ok && v != k) {
					t.Errorf("Get(%s) = %q, %v, %v", k, v, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMemoryCache(t *testing.T) {
	testCache(t, NewMemoryCache(0))
}

func TestMemoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := t.Context()
	entry := int64(len("k0") + 100 + entryOverhead)
	c := NewMemoryCache(3 * entry)
	v := strings.Repeat("x", 100)
	for _, k := range []string{"k0", "k1", "k2"} {
		c.Set(ctx, k, v)
	}
	c.Get(ctx, "k0") // k1 is now the least recently used
	c.Set(ctx, "k3", v)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	for k, want := range map[string]bool{"k0": true, "k1": false, "k2": true, "k3": true} {
		if _, ok, _ := c.Get(ctx, k); ok != want {
			t.Errorf("%s kept = %v, want %v", k, ok, want)
		}
	}
	c.Set(ctx, "huge", strings.Repeat("x", int(4*entry)))
	if _, ok, _ := c.Get(ctx, "huge"); ok || c.Len() != 3 {
		t.Errorf("an entry larger than the cache was kept, or pushed others out (Len %d)", c.Len())
	}
}

func TestRedisCache(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	c := NewRedisCache(rdb, RedisConfig{Prefix: prefix, TTL: time.Minute})
	testCache(t, c)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Keys live under the prefix, for the TTL.
	if err := c.Set(t.Context(), "ttl", "x"); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.TTL(t.Context(), prefix+":md:ttl").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL = %v, %v; want up to a minute", ttl, err)
	}
}

func TestRedisCacheDown(t *testing.T) {
	// A Redis that is not there, with go-redis's default retries: errors,
	// which Render logs and passes by, within the cache's timeout.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	c := NewRedisCache(rdb, RedisConfig{Prefix: "x", Timeout: 50 * time.Millisecond})
	if _, _, err := c.Get(t.Context(), "k"); err == nil {
		t.Fatal("Get on a Redis that is down: no error")
	}
	r := NewRenderer(RendererConfig{Cache: c, Logger: slog.New(slog.DiscardHandler)})
	want, _ := NewRenderer(RendererConfig{}).Render(t.Context(), testInput(">>34 hi"))
	start := time.Now()
	got, err := r.Render(t.Context(), testInput(">>34 hi"))
	if err != nil || got != want {
		t.Fatalf("Render with Redis down = %q, %v; want %q", got, err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Render with Redis down took %v", d)
	}
}

func TestLayered(t *testing.T) {
	ctx := t.Context()
	l1, l2 := NewMemoryCache(0), NewMemoryCache(0)
	testCache(t, Layered{L1: l1, L2: l2})
	l2.Set(ctx, "only-l2", "v")
	c := Layered{L1: l1, L2: l2}
	if v, ok, _ := c.Get(ctx, "only-l2"); !ok || v != "v" {
		t.Fatalf("Get from L2 = %q, %v", v, ok)
	}
	if _, ok, _ := l1.Get(ctx, "only-l2"); !ok {
		t.Error("a hit in L2 did not fill L1")
	}
	// L2 down: L1 still answers; writes report L2's error.
	down := Layered{L1: l1, L2: failing{}}
	if v, ok, _ := down.Get(ctx, "only-l2"); !ok || v != "v" {
		t.Errorf("L1 hit with L2 down = %q, %v", v, ok)
	}
	if err := down.Set(ctx, "x", "y"); err == nil {
		t.Error("Set with L2 down: no error")
	}
	if v, ok, _ := l1.Get(ctx, "x"); !ok || v != "y" {
		t.Error("Set with L2 down did not reach L1")
	}
}

type failing struct{}

func (failing) Get(context.Context, string) (string, bool, error) {
	return "", false, errors.New("down")
}
func (failing) Set(context.Context, string, string) error { return errors.New("down") }

func TestLayeredRedis(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	shared := NewRedisCache(rdb, RedisConfig{Prefix: prefix, TTL: time.Minute})
	// Two processes: what one renders, the other finds in Redis.
	a := NewRenderer(RendererConfig{Cache: Layered{L1: NewMemoryCache(0), L2: shared}})
	bL1 := NewMemoryCache(0)
	b := NewRenderer(RendererConfig{Cache: Layered{L1: bL1, L2: shared}})
	in := testInput(">>34 shared")
	want, _ := a.Render(t.Context(), in)
	if _, ok, _ := shared.Get(t.Context(), Key(in)); !ok {
		t.Fatal("the render is not in Redis")
	}
	got, _ := b.Render(t.Context(), in)
	if got != want || bL1.Len() != 1 {
		t.Fatalf("second process: %q (L1 %d), want %q", got, bL1.Len(), want)
	}
}
