package cache

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testserver"
	"github.com/maniwani/maniwani/pubsub/pb"
	redisbus "github.com/maniwani/maniwani/pubsub/redis"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// onBoth runs a test on one Redis and on a three-master Redis Cluster.
func onBoth(t *testing.T, test func(t *testing.T, rdb goredis.UniversalClient, prefix string)) {
	t.Run("one", func(t *testing.T) {
		rdb, prefix := testdb.Redis(t)
		test(t, rdb, prefix)
	})
	t.Run("cluster", func(t *testing.T) {
		rdb, prefix := testserver.ClusterClient(t)
		test(t, rdb, prefix)
	})
}

func TestRedisLookupStoreGensBump(t *testing.T) { onBoth(t, testRedisLookupStoreGensBump) }

func testRedisLookupStoreGensBump(t *testing.T, rdb goredis.UniversalClient, prefix string) {
	zeroEpoch(t, rdb, prefix)
	r := NewRedis(rdb, prefix, time.Minute)
	ctx := t.Context()
	site, b, b12 := Scope{}, Scope{Board: "b"}, Scope{Board: "b", Thread: 12}

	e, g, err := r.Lookup(ctx, b12, "/b/thread/12.json")
	if e != nil || g != (Gens{}) || err != nil {
		t.Fatalf("empty Redis: Lookup = %v, %v, %v", e, g, err)
	}

	want := &Entry{Status: 200, ContentType: "application/json", ETag: `"1"`, Body: []byte(`{"posts":[]}`), Gens: Gens{}}
	if err := r.Store(ctx, b12, "/b/thread/12.json", want); err != nil {
		t.Fatal(err)
	}
	// A page of the same URL in another scope is another key.
	other := &Entry{Status: 200, Body: []byte("site")}
	if err := r.Store(ctx, site, "/b/thread/12.json", other); err != nil {
		t.Fatal(err)
	}
	e, g, err = r.Lookup(ctx, b12, "/b/thread/12.json")
	if err != nil || g != (Gens{}) || e == nil || string(e.Body) != string(want.Body) || e.ETag != want.ETag {
		t.Fatalf("Lookup after Store = %+v, %v, %v", e, g, err)
	}
	if e, _, _ := r.Lookup(ctx, site, "/b/thread/12.json"); e == nil || string(e.Body) != "site" {
		t.Errorf("site-scope entry = %+v", e)
	}

	bumped, err := r.Bump(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12, 13}})
	if err != nil {
		t.Fatal(err)
	}
	if bumped.Site != (Gens{0, 1}) || bumped.Board != (Gens{0, 1}) || !slices.Equal(bumped.Threads, []Gens{{0, 1}, {0, 1}}) {
		t.Errorf("Bump = %+v", bumped)
	}
	bumped, err = r.Bump(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12}})
	if err != nil || bumped.Board != (Gens{0, 2}) || !slices.Equal(bumped.Threads, []Gens{{0, 2}}) {
		t.Errorf("second Bump = %+v, %v", bumped, err)
	}
	if bumped, err = r.Bump(ctx, maniwani.Invalidation{}); err != nil || bumped.Site != (Gens{0, 3}) || bumped.Threads != nil {
		t.Errorf("site Bump = %+v, %v", bumped, err)
	}
	for s, want := range map[Scope]Gens{site: {0, 3}, b: {0, 2}, b12: {0, 2},
		{Board: "b", Thread: 13}: {0, 1}, {Board: "g"}: {0, 0}} {
		if got, err := r.Gens(ctx, s); got != want || err != nil {
			t.Errorf("Gens(%+v) = %v, %v; want %v", s, got, err, want)
		}
	}
	// Lookup reads the counters with the head of the entry; the entry was
	// made under older ones, so it is not read and not returned.
	e, g, err = r.Lookup(ctx, b12, "/b/thread/12.json")
	if err != nil || g != (Gens{0, 2}) || e != nil {
		t.Errorf("Lookup after Bump = %+v, %v, %v; want no entry under counters %v", e, g, err, Gens{0, 2})
	}
	// One made under the counters of now is.
	want.Gens = g
	if err := r.Store(ctx, b12, "/b/thread/12.json", want); err != nil {
		t.Fatal(err)
	}
	if e, _, err := r.Lookup(ctx, b12, "/b/thread/12.json"); err != nil || e == nil || e.Gens != g || string(e.Body) != string(want.Body) {
		t.Errorf("Lookup of a current entry = %+v, %v", e, err)
	}

	// Keys: all under the prefix, a board's under its hash tag, with the TTL.
	keys, err := testserver.Keys(ctx, rdb, prefix+":*")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	// On a cluster, a board's keys are in one slot.
	slots := map[int64]bool{}
	for _, k := range keys {
		if strings.Contains(k, "{b}") {
			s, err := rdb.ClusterKeySlot(ctx, k).Result()
			if err != nil && !strings.Contains(err.Error(), "cluster support disabled") {
				t.Fatal(err)
			}
			slots[s] = true
		}
	}
	if len(slots) != 1 {
		t.Errorf("board b's keys are in slots %v", slots)
	}
	wantKeys := []string{prefix + ":site:epoch", prefix + ":site:gen", prefix + ":site:page:/b/thread/12.json", prefix + ":{b}:gen",
		prefix + ":{b}:gen:12", prefix + ":{b}:gen:13", prefix + ":{b}:page:/b/thread/12.json"}
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys\n %v\nwant\n %v", keys, wantKeys)
	}
	ttl, err := rdb.PTTL(ctx, prefix+":{b}:page:/b/thread/12.json").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("page TTL = %v, %v; want up to 1m", ttl, err)
	}
}

// An entry that cannot be read is a miss, not an error; the counters still
// come back.
func TestRedisLookupCorruptEntry(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	zeroEpoch(t, rdb, prefix)
	r := NewRedis(rdb, prefix, time.Minute)
	ctx := t.Context()
	if _, err := r.Bump(ctx, maniwani.Invalidation{Board: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, prefix+":{b}:page:/b/", "garbage", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	e, g, err := r.Lookup(ctx, Scope{Board: "b"}, "/b/")
	if e != nil || err != nil || g != (Gens{0, 1}) {
		t.Errorf("Lookup of a corrupt entry = %+v, %v, %v", e, g, err)
	}
	// A counter that is not a number is an error.
	if err := rdb.Set(ctx, prefix+":{b}:gen", "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Lookup(ctx, Scope{Board: "b"}, "/b/"); err == nil {
		t.Error("Lookup with a malformed counter gave no error")
	}
}

// newBus is a Redis bus on the test's prefix.
func newBus(t *testing.T, rdb goredis.UniversalClient, prefix string) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.New(redisbus.Config{Prefix: prefix}, rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func receiveInvalidation(t *testing.T, sub maniwani.Subscription) *pb.CacheInvalidation {
	t.Helper()
	select {
	case m, ok := <-sub.C():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		var ev pb.Event
		if err := proto.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		ci := ev.GetCacheInvalidation()
		if ci == nil {
			t.Fatalf("event is not a CacheInvalidation: %v", &ev)
		}
		return ci
	case <-time.After(5 * time.Second):
		t.Fatal("no invalidation event in 5 s")
	}
	return nil
}

// Shared moves the counters in Redis, raises this process's to them and
// publishes Redis's values, so another process can raise its own.
func TestSharedPublishesRedisCounters(t *testing.T) { onBoth(t, testSharedPublishesRedisCounters) }

func testSharedPublishesRedisCounters(t *testing.T, rdb goredis.UniversalClient, prefix string) {
	zeroEpoch(t, rdb, prefix)
	ctx := t.Context()
	bus := newBus(t, rdb, prefix)
	r := NewRedis(rdb, prefix, time.Minute)
	// Redis is ahead of this process, as after other processes' writes.
	for k, v := range map[string]int{":site:gen": 41, ":{b}:gen": 7, ":{b}:gen:12": 3} {
		rdb.Set(ctx, prefix+k, v, 0)
	}
	gens := NewGenerations()
	sub, err := bus.Subscribe(ctx, "cache")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	inv := Shared{Redis: r, Gens: gens, Bus: bus, Topic: "cache"}
	if err := inv.Invalidate(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12, 13}}); err != nil {
		t.Fatal(err)
	}
	ci := receiveInvalidation(t, sub)
	if ci.Board != "b" || ci.SiteGen != 42 || ci.BoardGen != 8 || !slices.Equal(ci.Threads, []int64{12, 13}) ||
		!slices.Equal(ci.ThreadGens, []uint64{4, 1}) {
		t.Errorf("event = %v; want b, site 42, board 8, threads [12 13] at [4 1]", ci)
	}
	for s, want := range map[Scope]Gens{{}: {0, 42}, {Board: "b"}: {0, 8}, {Board: "b", Thread: 12}: {0, 4}, {Board: "b", Thread: 13}: {0, 1}} {
		red, err := r.Gens(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := gens.Get(s); got != want || red != want {
			t.Errorf("%+v: local %v, Redis %v; want both %v", s, got, red, want)
		}
	}

	// A site-wide invalidation.
	if err := inv.Invalidate(ctx, maniwani.Invalidation{}); err != nil {
		t.Fatal(err)
	}
	ci = receiveInvalidation(t, sub)
	if ci.Board != "" || ci.SiteGen != 43 || len(ci.Threads) != 0 {
		t.Errorf("site event = %v", ci)
	}
	if got := gens.Get(Scope{}); got != (Gens{0, 43}) {
		t.Errorf("local site = %v, want 43", got)
	}
}

// deadRedis is a client of a Redis that is down: every dial fails at once.
func deadRedis(t *testing.T) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{MaxRetries: -1, DialerRetries: 1,
		Dialer: func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("redis is down") }})
	t.Cleanup(func() { c.Close() })
	return c
}

// A write whose Redis bump failed (a blip) must not leave this process's
// counters ahead of Redis's for good: the router stores entries under
// Redis's counters and finds an entry current only when they equal its
// own, so counters that stay ahead mean no L1 hit ever again in this
// process (every scope holds the site counter).
func TestSharedFailedBumpLeavesCountersInStep(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	zeroEpoch(t, rdb, prefix)
	ctx := t.Context()
	bus := newBus(t, rdb, prefix)
	gens := NewGenerations()
	good := Shared{Redis: NewRedis(rdb, prefix, time.Minute), Gens: gens, Bus: bus, Topic: "cache"}
	down := Shared{Redis: NewRedis(deadRedis(t), prefix, time.Minute), Gens: gens, Bus: bus, Topic: "cache"}

	b12 := Scope{Board: "b", Thread: 12}
	if err := down.Invalidate(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err == nil {
		t.Fatal("Invalidate with Redis down gave no error")
	}
	if got := gens.Get(b12); got == (Gens{}) {
		t.Error("with Redis down this process's own counters did not move: its L1 keeps the old page")
	}
	// Redis is back; the next write goes through.
	if err := good.Invalidate(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
		t.Fatal(err)
	}
	red, err := good.Redis.Gens(ctx, b12)
	if err != nil {
		t.Fatal(err)
	}
	if local := gens.Get(b12); local != red {
		t.Errorf("after Redis came back: local counters %v, Redis %v; ahead for good, so no L1 entry is ever current", local, red)
	}
}

// zeroEpoch starts the site's epoch at 0 instead of a random value, so the
// counters the tests expect are plain numbers.
func zeroEpoch(t *testing.T, rdb goredis.UniversalClient, prefix string) {
	t.Helper()
	if err := rdb.Set(t.Context(), prefix+":site:epoch", 0, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// A Redis that restarted empty gets a new random epoch, and a router that
// follows it resets its counters: pages cached before are outdated, and the
// L1 hits again under the new counters instead of never.
func TestRedisRestartResetsCounters(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	r := NewRedis(rdb, prefix, time.Minute)
	g := NewGenerations()
	l1 := NewL1(1 << 20)
	ctx := t.Context()
	b12 := Scope{Board: "b", Thread: 12}
	if _, err := r.Bump(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
		t.Fatal(err)
	}
	_, before, err := r.Lookup(ctx, b12, "/b/thread/12.json")
	if err != nil || before[0] == 0 {
		t.Fatalf("a new Redis's epoch is %v (%v); want a random non-zero one", before, err)
	}
	g.Sync(b12, before)
	e := &Entry{Status: 200, Body: []byte("old"), Gens: before}
	l1.Put("/b/thread/12.json", e, g, b12)
	if _, cur := l1.Get([]byte("/b/thread/12.json")); !cur {
		t.Fatal("not current after Put")
	}
	// Redis restarts empty.
	if err := rdb.Del(ctx, prefix+":site:epoch", prefix+":{b}:gen:12", prefix+":{b}:gen", prefix+":site:gen").Err(); err != nil {
		t.Fatal(err)
	}
	_, after, err := r.Lookup(ctx, b12, "/b/thread/12.json")
	if err != nil || after[0] == before[0] || after[1] != 0 {
		t.Fatalf("after the restart: %v, %v (before %v)", after, err, before)
	}
	if !g.Sync(b12, after) {
		t.Fatal("Sync did not reset on a new epoch")
	}
	if _, cur := l1.Get([]byte("/b/thread/12.json")); cur {
		t.Fatal("a page from before the restart is still current")
	}
	l1.Put("/b/thread/12.json", &Entry{Status: 200, Body: []byte("new"), Gens: after}, g, b12)
	if got, cur := l1.Get([]byte("/b/thread/12.json")); !cur || string(got.Body) != "new" {
		t.Fatal("the L1 does not hit again after the restart")
	}
}

// A write whose invalidation Redis missed (it was down) and a Redis that
// comes back with its data: entries stored before are current by Redis's
// counters, though stale. Repair moves the epoch once Redis answers, and
// only then stops.
func TestSharedRepairAfterMissedWrite(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	ctx := t.Context()
	bus := newBus(t, rdb, prefix)
	gens := NewGenerations()
	missed := new(atomic.Bool)
	r := NewRedis(rdb, prefix, time.Minute)
	good := Shared{Redis: r, Gens: gens, Bus: bus, Topic: "cache", Missed: missed}
	down := Shared{Redis: NewRedis(deadRedis(t), prefix, time.Minute), Gens: gens, Bus: bus, Topic: "cache", Missed: missed}
	b12 := Scope{Board: "b", Thread: 12}
	before, err := r.Gens(ctx, b12)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Invalidate(ctx, maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err == nil || !missed.Load() {
		t.Fatalf("missed write not remembered: %v", err)
	}
	if err := down.Repair(ctx); err == nil || !missed.Load() {
		t.Fatalf("repair with Redis still down: %v, missed %v", err, missed.Load())
	}
	if err := good.Repair(ctx); err != nil || missed.Load() {
		t.Fatalf("repair with Redis back: %v, missed %v", err, missed.Load())
	}
	after, err := r.Gens(ctx, b12)
	if err != nil || after[0] == before[0] {
		t.Fatalf("epoch %v -> %v (%v): entries stored before the outage would still be current", before, after, err)
	}
	if err := good.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Gens(ctx, b12); again != after {
		t.Errorf("repair with nothing missed moved the counters: %v -> %v", after, again)
	}
}
