package router

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestPipeFreesTheServerAfterAnswer: net/http's server, after an answer,
// stops its background read of the connection with a read deadline in the
// past, and only then waits for the next request. A pipe whose blocked
// Read ignored a new deadline (fasthttputil's PipeConns) would leave the
// server's connection stuck there, active, until the client sent again.
func TestPipeFreesTheServerAfterAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newPipeListener()
		var idle atomic.Bool
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(20 * time.Millisecond) // the background read is blocked by now
				w.Write([]byte("ok"))
			}),
			ConnState: func(_ net.Conn, s http.ConnState) { idle.Store(s == http.StateIdle) },
		}
		go srv.Serve(ln)
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		synctest.Wait()
		if !idle.Load() {
			t.Error("the server's connection is not idle after its answer")
		}
		c.Close()
		srv.Close()
	})
}
