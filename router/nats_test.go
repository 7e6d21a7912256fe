package router_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testserver"
	"github.com/maniwani/maniwani/internal/testutil"
	natsbus "github.com/maniwani/maniwani/pubsub/nats"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// Two routers on a NATS bus and no Redis: each keeps its L1 and its own
// counters, and a write through one reaches the other's as a bump.
func TestTwoRoutersShareNATS(t *testing.T) {
	url := testserver.NATS(t)
	var r [6]byte
	rand.Read(r[:])
	prefix := "test_" + hex.EncodeToString(r[:])
	type site struct {
		gens *cache.Generations
		inv  cache.Broadcast
		base string
	}
	f := newFakeAPI()
	newSite := func() *site {
		nc, err := natsgo.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		bus, err := natsbus.New(natsbus.Config{Prefix: prefix}, nc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		s := &site{gens: cache.NewGenerations()}
		s.inv = cache.Broadcast{Gens: s.gens, Bus: bus, Topic: router.CacheTopic}
		s.base = startRouter(t, router.Deps{API: router.NewLocal(f), Gens: s.gens, Bus: bus})
		return s
	}
	a, b := newSite(), newSite()
	// b follows once a write through a moves b's counters.
	testutil.Eventually(t, 5*time.Second, func() error {
		before := b.gens.Get(cache.Scope{})
		if err := a.inv.Invalidate(t.Context(), maniwani.Invalidation{}); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
		if b.gens.Get(cache.Scope{}) == before {
			return errors.New("router B does not follow the invalidations")
		}
		return nil
	})

	const path = "/b/thread/12.json"
	for i, c := range []struct{ base, want string }{{a.base, "MISS"}, {a.base, "HIT"}, {b.base, "MISS"}, {b.base, "HIT"}} {
		if got := get(t, c.base+path); got.cache() != c.want || got.body != bigBody(path, 0) {
			t.Fatalf("warming, GET #%d: %s, want %s", i, got.cache(), c.want)
		}
	}
	const writes = 20
	late := 0
	for v := int64(1); v <= writes; v++ {
		f.version.Store(v)
		if err := a.inv.Invalidate(t.Context(), maniwani.Invalidation{Board: "b", Threads: []int64{12}}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, a.base+path); got.body != bigBody(path, v) || got.cache() != "MISS" {
			t.Errorf("write %d: router A (the writer's) answered %s with the old page", v, got.cache())
		}
		if get(t, b.base+path).body != bigBody(path, v) {
			late++
			testutil.Eventually(t, 2*time.Second, func() error {
				if get(t, b.base+path).body != bigBody(path, v) {
					return fmt.Errorf("write %d: router B still serves the old page", v)
				}
				return nil
			})
		}
		// Between writes B hits its L1 again.
		if got := get(t, b.base+path); got.cache() != "HIT" {
			t.Errorf("write %d: router B's second read was a %s", v, got.cache())
		}
	}
	t.Logf("router B was behind on the first read after %d of %d writes", late, writes)
}
