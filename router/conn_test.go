package router_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// A connection a client opened ahead of need and never sent a request on
// does not hold the router's shutdown to its drain's end (15 s): fasthttp
// counts it busy, and the router closes it itself. One busy with a request
// is still let finish.
func TestShutdownClosesConnectionsThatNeverAsked(t *testing.T) {
	f := newFakeAPI()
	l := router.NewLocal(f)
	defer l.Close()
	base, stop := serve(t, router.Config{Logger: slog.New(slog.DiscardHandler)}, router.Deps{API: l, Gens: cache.NewGenerations()})
	idle, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// A request on a connection dialed after it: answered, so idle (the
	// first in the accept queue) has been accepted.
	get(t, base+"/b/thread/1")
	client.CloseIdleConnections()
	start := time.Now()
	if err := stop(5 * time.Second); err != nil {
		t.Fatalf("with a connection that never sent a request: %v", err)
	}
	t.Logf("stopped in %v", time.Since(start))
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("the connection that never asked was not closed")
	}
}
