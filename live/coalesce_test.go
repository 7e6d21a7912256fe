package live

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/memory"
)

// fakeConn is a client's connection that keeps each write the service
// makes; with stall set, a write waits until the service gives up on it (a
// write deadline in the past) or the connection closes.
type fakeConn struct {
	stall bool

	mu       sync.Mutex
	writes   []string
	closed   bool
	late     int           // writes tried after the client closed it
	hangup   chan struct{} // closed when the client goes away
	kickR    chan struct{} // closed by a read deadline in the past
	kickW    chan struct{} // closed by a write deadline in the past
	onceR    sync.Once
	onceW    sync.Once
	onceHang sync.Once
}

func newFakeConn(stall bool) *fakeConn {
	return &fakeConn{stall: stall, hangup: make(chan struct{}), kickR: make(chan struct{}), kickW: make(chan struct{})}
}

func (c *fakeConn) Read([]byte) (int, error) {
	select {
	case <-c.hangup:
		return 0, errors.New("closed by the client")
	case <-c.kickR:
		return 0, os.ErrDeadlineExceeded
	}
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.late++
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.mu.Unlock()
	if c.stall && strings.Contains(string(p), "event: ") {
		select {
		case <-c.kickW:
			return 0, os.ErrDeadlineExceeded
		case <-c.hangup:
			return 0, net.ErrClosed
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

// hangUp is the client going away.
func (c *fakeConn) hangUp() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.onceHang.Do(func() { close(c.hangup) })
}

func (c *fakeConn) Close() error { c.hangUp(); return nil }

func (c *fakeConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		c.onceR.Do(func() { close(c.kickR) })
	}
	return nil
}

func (c *fakeConn) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		c.onceW.Do(func() { close(c.kickW) })
	}
	return nil
}

func (c *fakeConn) LocalAddr() net.Addr  { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{} }

// taken is what was written since the last call.
func (c *fakeConn) taken(from *int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.writes[*from:]
	*from = len(c.writes)
	return out
}

// hijacker is a ResponseWriter that hands its connection over.
type hijacker struct {
	h    http.Header
	conn net.Conn
}

func (w *hijacker) Header() http.Header         { return w.h }
func (w *hijacker) Write(b []byte) (int, error) { return 0, errors.New("hijacker: write on the conn") }
func (w *hijacker) WriteHeader(int)             {}
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, nil, nil
}

// streamOn opens path on s with conn as its connection, from its own
// address; the handler runs until the stream ends.
func streamOn(t *testing.T, s *Service, path string, conn *fakeConn, i int) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", i)
	t.Cleanup(conn.hangUp)
	go s.Handler().ServeHTTP(&hijacker{h: http.Header{}, conn: conn}, r)
}

// events are the ids of the events in a write, in order.
func events(w string) []string {
	var ids []string
	for _, l := range strings.Split(w, "\n") {
		if id, ok := strings.CutPrefix(l, "id: "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// inBubble runs f with a Service (coalescing window w) on a memory bus in a
// synctest bubble, and ends both after it.
func inBubble(t *testing.T, cfg Config, f func(t *testing.T, s *Service, bus maniwani.Bus)) {
	synctest.Test(t, func(t *testing.T) {
		bus := memory.New(memory.Config{})
		s, err := New(cfg, Deps{Bus: bus, Reader: &fakeReader{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // in the bubble, also after a failure
			s.Shutdown()
			synctest.Wait()
			bus.Close()
		})
		f(t, s, bus)
	})
}

// Events that come within the window go out in one write, in order; an
// event alone goes out when its window ends, not before.
func TestCoalesceWindow(t *testing.T) {
	const w = 5 * time.Millisecond
	inBubble(t, Config{Coalesce: w, Heartbeat: time.Hour}, func(t *testing.T, s *Service, bus maniwani.Bus) {
		conn := newFakeConn(false)
		streamOn(t, s, "/live/g/1", conn, 1)
		synctest.Wait()
		seen := 0
		if got := conn.taken(&seen); len(got) != 1 || !strings.Contains(got[0], ": open") {
			t.Fatalf("first writes %q, want the head and the open comment", got)
		}

		// Three within the window, from the first: nothing until it ends,
		// then one write.
		var ids []string
		t0 := time.Now()
		for i := range 3 {
			ids = append(ids, publish(t, bus, "g", post("g", 1, int64(i)+2, "burst")))
			time.Sleep(w / 3)
		}
		time.Sleep(time.Until(t0.Add(w)) - time.Nanosecond)
		synctest.Wait()
		if got := conn.taken(&seen); len(got) != 0 {
			t.Fatalf("written before the window ended: %q", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		got := conn.taken(&seen)
		if len(got) != 1 || strings.Join(events(got[0]), " ") != strings.Join(ids, " ") {
			t.Fatalf("writes %q, want one with %v in order", got, ids)
		}

		// One alone: out when its window ends.
		time.Sleep(time.Second)
		id := publish(t, bus, "g", post("g", 1, 10, "alone"))
		time.Sleep(w - time.Nanosecond)
		synctest.Wait()
		if got := conn.taken(&seen); len(got) != 0 {
			t.Fatalf("written before its window ended: %q", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		got = conn.taken(&seen)
		if len(got) != 1 || strings.Join(events(got[0]), " ") != id {
			t.Fatalf("writes %q, want one with %s", got, id)
		}

		// More than a write takes at once: the first maxBatch go at once,
		// the rest after their own window, all in order.
		ids = ids[:0]
		for i := range maxBatch + 3 {
			ids = append(ids, publish(t, bus, "g", post("g", 1, int64(i)+100, "flood")))
		}
		synctest.Wait()
		first := conn.taken(&seen)
		time.Sleep(w)
		synctest.Wait()
		rest := conn.taken(&seen)
		if len(first) != 1 || len(events(first[0])) != maxBatch || len(rest) != 1 {
			t.Fatalf("%d writes at once (%d events), %d after the window; want 1 of %d, then 1", len(first), len(events(first[0])), len(rest), maxBatch)
		}
		if got := strings.Join(append(events(first[0]), events(rest[0])...), " "); got != strings.Join(ids, " ") {
			t.Fatalf("events %s, want %s", got, strings.Join(ids, " "))
		}
	})
}

// With no window, each write takes what waits: an event goes out at once.
func TestCoalesceOff(t *testing.T) {
	inBubble(t, Config{Coalesce: -1, Heartbeat: time.Hour}, func(t *testing.T, s *Service, bus maniwani.Bus) {
		conn := newFakeConn(false)
		streamOn(t, s, "/live/g/1", conn, 1)
		synctest.Wait()
		seen := 0
		conn.taken(&seen)
		t0 := time.Now()
		id := publish(t, bus, "g", post("g", 1, 2, "now"))
		synctest.Wait()
		if got := conn.taken(&seen); len(got) != 1 || strings.Join(events(got[0]), " ") != id || time.Since(t0) != 0 {
			t.Fatalf("writes %q after %v, want one with %s at once", got, time.Since(t0), id)
		}
	})
}

// A client that takes nothing fills its queue and is dropped; the others
// get every event, in order, one write per window.
func TestCoalesceSlowClient(t *testing.T) {
	const w = 5 * time.Millisecond
	inBubble(t, Config{Coalesce: w, SendBuffer: 4, Heartbeat: time.Hour}, func(t *testing.T, s *Service, bus maniwani.Bus) {
		slow, fast := newFakeConn(true), newFakeConn(false)
		streamOn(t, s, "/live/g/1", slow, 1)
		streamOn(t, s, "/live/g/1", fast, 2)
		synctest.Wait()
		if n := s.clients("g"); n != 2 {
			t.Fatalf("%d clients, want 2", n)
		}
		seen := 0
		fast.taken(&seen)
		var ids, got []string
		for i := 0; s.clients("g") == 2; i++ {
			if i == 100 {
				t.Fatal("the client that takes nothing was never dropped")
			}
			ids = append(ids, publish(t, bus, "g", post("g", 1, int64(i)+2, "x")))
			time.Sleep(w)
			synctest.Wait()
			ws := fast.taken(&seen)
			if len(ws) != 1 {
				t.Fatalf("window %d: %d writes to the client that reads, want 1", i, len(ws))
			}
			got = append(got, events(ws[0])...)
			// The queue of the one that takes nothing stays within its bound.
			c := s.hub("g").clientOn(slow)
			if c != nil {
				c.mu.Lock()
				n := len(c.queue)
				c.mu.Unlock()
				if n > 4 {
					t.Fatalf("a queue of %d writes, over SendBuffer 4", n)
				}
			}
		}
		if strings.Join(got, " ") != strings.Join(ids, " ") {
			t.Fatalf("the client that reads got %v, want %v", got, ids)
		}
		id := publish(t, bus, "g", post("g", 1, 1000, "after"))
		time.Sleep(w)
		synctest.Wait()
		if ws := fast.taken(&seen); len(ws) != 1 || events(ws[0])[0] != id {
			t.Fatalf("after the drop: %q, want %s", ws, id)
		}
	})
}

// Nothing is written to a client after it went away, even what was
// gathered for it before.
func TestCoalesceAfterHangup(t *testing.T) {
	const w = 5 * time.Millisecond
	inBubble(t, Config{Coalesce: w, Heartbeat: time.Millisecond}, func(t *testing.T, s *Service, bus maniwani.Bus) {
		gone, stays := newFakeConn(false), newFakeConn(false)
		streamOn(t, s, "/live/g/1", gone, 1)
		streamOn(t, s, "/live/g/1", stays, 2)
		synctest.Wait()
		seen := 0
		stays.taken(&seen)
		id := publish(t, bus, "g", post("g", 1, 2, "gathered"))
		time.Sleep(w / 2)
		gone.hangUp()
		synctest.Wait()
		if n := s.clients("g"); n != 1 {
			t.Fatalf("%d clients after one went away, want 1", n)
		}
		time.Sleep(w)
		synctest.Wait()
		id2 := publish(t, bus, "g", post("g", 1, 3, "later"))
		time.Sleep(10 * w) // heartbeats too
		synctest.Wait()
		var got []string
		for _, wr := range stays.taken(&seen) {
			got = append(got, events(wr)...)
		}
		if strings.Join(got, " ") != id+" "+id2 {
			t.Fatalf("the client that stayed got %v, want %s %s", got, id, id2)
		}
		gone.mu.Lock()
		defer gone.mu.Unlock()
		if gone.late != 0 {
			t.Fatalf("%d writes to the client after it went away", gone.late)
		}
	})
}

// hub is the board's hub; nil: none.
func (s *Service) hub(board string) *hub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hubs[board]
}

// clientOn is the hub's client on conn; nil: none.
func (h *hub) clientOn(conn net.Conn) *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		c.mu.Lock()
		on := c.conn == conn
		c.mu.Unlock()
		if on {
			return c
		}
	}
	return nil
}

// A client given several batches of the log at once writes them to its
// socket in one go, in order; what the socket does not take at once waits
// in its queue and follows, still in order; a batch it has had is not
// written again.
func TestOfferLogInOrder(t *testing.T) {
	s, err := New(Config{}, Deps{Bus: memory.New(memory.Config{}), Reader: &fakeReader{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetWriteBuffer(4096) // the socket takes a part at once, not all

	c := &client{s: s, st: stream{board: "g", thread: 1}, idx: -1}
	c.setConn(conn, false)
	if c.raw == nil {
		t.Skip("no socket writes on this system")
	}
	var v logView
	var want strings.Builder
	for i := range 5 {
		data, err := proto.Marshal(post("g", 1, int64(i)+2, strings.Repeat(strconv.Itoa(i), 100<<10)))
		if err != nil {
			t.Fatal(err)
		}
		it := render(slog.Default(), maniwani.Message{ID: fmt.Sprintf("%d-0", i+1), Topic: maniwani.BoardTopic("g"), Data: data})
		v.batches = append(v.batches, newBatch([]*item{it}))
		want.Write(it.threadFrames)
	}
	w := &writeBuf{}
	first := &logView{batches: v.batches[:3]}
	for range 2 { // the second time: nothing new
		if c.offer(first, w) {
			t.Fatal("the client was dropped")
		}
	}
	if c.offer(&v, w) {
		t.Fatal("the client was dropped")
	}
	got := make([]byte, want.Len())
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Fatal("the bytes came out of order or twice")
	}
	c.end(endGone)
	c.flushers.Wait()
	peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _ := peer.Read(make([]byte, 1)); n != 0 {
		t.Fatal("more than the log was written")
	}
}

// A client that joins while the hub gathers a batch gets what the hub
// takes from then on, not what it took before: that came before the
// stream opened.
func TestCoalesceJoinDuringWindow(t *testing.T) {
	const w = 5 * time.Millisecond
	inBubble(t, Config{Coalesce: w, Heartbeat: time.Hour}, func(t *testing.T, s *Service, bus maniwani.Bus) {
		early, late := newFakeConn(false), newFakeConn(false)
		streamOn(t, s, "/live/g/1", early, 1)
		synctest.Wait()
		seenEarly, seenLate := 0, 0
		early.taken(&seenEarly)
		before := publish(t, bus, "g", post("g", 1, 2, "before"))
		time.Sleep(w / 2)
		streamOn(t, s, "/live/g/1", late, 2)
		synctest.Wait()
		late.taken(&seenLate)
		after := publish(t, bus, "g", post("g", 1, 3, "after"))
		time.Sleep(w)
		synctest.Wait()
		if got := early.taken(&seenEarly); len(got) != 1 || strings.Join(events(got[0]), " ") != before+" "+after {
			t.Fatalf("the client there before got %q, want one write of %s %s", got, before, after)
		}
		if got := late.taken(&seenLate); len(got) != 1 || strings.Join(events(got[0]), " ") != after {
			t.Fatalf("the client that joined in the window got %q, want one write of %s", got, after)
		}
	})
}
