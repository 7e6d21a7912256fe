package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/live"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// TestProfileConns opens LIVE_PROFILE_CLIENTS streams through the router
// and the live service in this process and writes a heap profile
// (LIVE_PROFILE_OUT, default /tmp/live-heap.pprof) and the memory figures
// per stream. It is skipped unless LIVE_PROFILE_CLIENTS is set.
func TestProfileConns(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LIVE_PROFILE_CLIENTS"))
	if n <= 0 {
		t.Skip("set LIVE_PROFILE_CLIENTS")
	}
	out := os.Getenv("LIVE_PROFILE_OUT")
	if out == "" {
		out = "/tmp/live-heap.pprof"
	}
	bus := memory.New(memory.Config{})
	defer bus.Close()
	proxies, err := realip.Parse("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := live.New(live.Config{Proxies: proxies}, live.Deps{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	liveLocal := router.NewLocal(svc.Handler())
	defer liveLocal.Close()
	api := router.NewLocal(http.NotFoundHandler())
	defer api.Close()
	rt, err := router.New(router.Config{}, router.Deps{API: api, Live: liveLocal, Gens: cache.NewGenerations()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rt.Serve(ctx, ln)

	measure := func() (runtime.MemStats, int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m, runtime.NumGoroutine()
	}
	m0, g0 := measure()
	o := options{board: "b", thread: 1, posts: 1}
	conns := make([]*conn, n)
	for i := range conns {
		conns[i] = open(ctx, o, ln.Addr().String(), i)
		if i%200 == 199 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, c := range conns {
		if err := <-c.opened; err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	m1, g1 := measure()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	pprof.WriteHeapProfile(f)
	f.Close()
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) / 1024 }
	// This process holds the clients too: their goroutines and buffers
	// are in these figures as well (about 1 goroutine, 4+2 KB of buffers each).
	fmt.Printf("streams %d: goroutines +%.2f per stream; per stream: HeapInuse %.1f KB, StackInuse %.1f KB, Sys %.1f KB\n",
		n, float64(g1-g0)/float64(n), per(m0.HeapInuse, m1.HeapInuse), per(m0.StackInuse, m1.StackInuse), per(m0.Sys, m1.Sys))
	for _, c := range conns {
		c.mu.Lock()
		if c.c != nil {
			c.c.Close()
		}
		c.mu.Unlock()
	}
}
