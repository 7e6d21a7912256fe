package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/live"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/pubsub/pb"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// everyStream is a Reader for which every board and thread exists: these
// tests have no api.
type everyStream struct{ maniwani.Reader }

func (everyStream) Board(_ context.Context, name string) (*maniwani.Board, error) {
	return &maniwani.Board{Name: name}, nil
}

func (everyStream) ThreadOf(_ context.Context, _ string, no int64) (int64, error) { return no, nil }

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
	svc, err := live.New(live.Config{Proxies: proxies}, live.Deps{Bus: bus, Reader: everyStream{}})
	if err != nil {
		t.Fatal(err)
	}
	api := router.NewLocal(http.NotFoundHandler())
	defer api.Close()
	// As cmd/maniwani wires it: the router hands each stream's connection to live.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(router.Config{Listener: ln}, router.Deps{API: api, LiveHandler: svc.Handler(), Gens: cache.NewGenerations()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rt.Run(ctx)

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
	testutil.Eventually(t, time.Minute, func() error { // every stream is in the hubs, not just answered
		if got := svc.Clients(); got != n {
			return fmt.Errorf("%d streams of %d joined", got, n)
		}
		return nil
	})
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

// throughRouter starts a live service behind a router that hands it the
// connections, as in one process; it answers the router's address.
func throughRouter(t *testing.T, cfg live.Config) (*live.Service, *memory.Bus, string) {
	t.Helper()
	bus := memory.New(memory.Config{})
	t.Cleanup(func() { bus.Close() })
	svc, err := live.New(cfg, live.Deps{Bus: bus, Reader: everyStream{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Shutdown)
	api := router.NewLocal(http.NotFoundHandler())
	t.Cleanup(func() { api.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(router.Config{Listener: ln}, router.Deps{API: api, LiveHandler: svc.Handler(), Gens: cache.NewGenerations()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go rt.Run(ctx)
	return svc, bus, ln.Addr().String()
}

func publishPost(t *testing.T, bus *memory.Bus, thread, no int64, com string) string {
	t.Helper()
	data, err := proto.Marshal(&pb.Event{Kind: &pb.Event_PostCreated{PostCreated: &pb.PostCreated{
		Board: "b", Thread: thread, No: no, Time: 1700000000, Com: com}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := bus.Publish(context.Background(), maniwani.BoardTopic("b"), data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sseStream is a raw client of a stream: the answer's head, then its lines.
type sseStream struct {
	c     net.Conn
	br    *bufio.Reader
	lines chan string // closed at the end of the stream
}

func openStream(t *testing.T, addr, path string, header string) *sseStream {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, header)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("answer %d, header %v", resp.StatusCode, resp.Header)
	}
	s := &sseStream{c: c, br: br, lines: make(chan string, 1000)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s
}

// next is the next line that is neither empty nor a comment, within 3 s.
func (s *sseStream) next(t *testing.T) string {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if l != "" && l[0] != ':' {
				return l
			}
		case <-timeout:
			t.Fatal("nothing within 3 s")
		}
	}
}

// TestThroughRouter: streams whose connection the router hands to live
// get events, resume with Last-Event-ID, keep getting events while a
// client that stopped reading is dropped, and end with "retry:" at
// Shutdown.
func TestThroughRouter(t *testing.T) {
	svc, bus, addr := throughRouter(t, live.Config{SendBuffer: 4, Heartbeat: time.Hour})
	a := openStream(t, addr, "/live/b/1", "")
	board := openStream(t, addr, "/live/b", "")
	id1 := publishPost(t, bus, 1, 2, "one")
	for _, s := range []*sseStream{a, board} {
		if l := s.next(t); l != "event: post" {
			t.Fatalf("got %q, want the post event", l)
		}
		if l := s.next(t); l != "id: "+id1 {
			t.Fatalf("got %q, want id %s", l, id1)
		}
		s.next(t) // data
	}

	// Resume: what came after id1.
	id2 := publishPost(t, bus, 1, 3, "two")
	r := openStream(t, addr, "/live/b/1", "Last-Event-ID: "+id1+"\r\n")
	r.next(t)
	if l := r.next(t); l != "id: "+id2 {
		t.Fatalf("resumed: got %q, want id %s", l, id2)
	}

	// A client that stops reading, with a small window: dropped, while a
	// reads on.
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stalled, "GET /live/b/1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n")
	testutil.Eventually(t, 3*time.Second, func() error {
		if n := svc.Clients(); n != 4 {
			return fmt.Errorf("%d clients, want 4", n)
		}
		return nil
	})
	big := strings.Repeat("x", 64<<10)
	for i := 0; svc.Clients() == 4; i++ {
		if i == 1000 {
			t.Fatal("the stalled client was never dropped")
		}
		id := publishPost(t, bus, 1, int64(i)+10, big)
		for a.next(t) != "id: "+id {
		}
	}

	svc.Shutdown()
	for _, s := range []*sseStream{a, board, r} {
		for l := range s.lines {
			if l == "retry: 1000" {
				goto ended
			}
		}
		t.Fatal("the stream ended without retry")
	ended:
		for range s.lines { // then it ends
		}
	}
}
