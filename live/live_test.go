package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/pubsub/pb"
	"github.com/maniwani/maniwani/pubsub/redis"
)

// backend makes buses that share one store (one memory bus, or one Redis
// prefix): each call is another instance's connection to it.
type backend struct {
	name string
	make func(t *testing.T, historyLen int) func() maniwani.Bus
}

var backends = []backend{
	{"memory", func(t *testing.T, historyLen int) func() maniwani.Bus {
		b := memory.New(memory.Config{HistoryLen: historyLen})
		t.Cleanup(func() { b.Close() })
		return func() maniwani.Bus { return b }
	}},
	{"redis", func(t *testing.T, historyLen int) func() maniwani.Bus {
		rdb, prefix := testdb.Redis(t)
		return func() maniwani.Bus {
			b, err := redis.New(redis.Config{Prefix: prefix, HistoryLen: historyLen}, rdb)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}
	}},
}

// each runs f on every backend (in parallel), with each way of writing a
// stream (one after the other).
func each(t *testing.T, f func(t *testing.T, newBus func() maniwani.Bus, start starter)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) { f(t, be.make(t, 1000), m.start) })
			}
		})
	}
}

// inModes runs f with each way of writing a stream.
func inModes(t *testing.T, f func(t *testing.T, start starter)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m.start)
		})
	}
}

// starter starts a Service and an HTTP server in front of it.
type starter func(t *testing.T, bus maniwani.Bus, cfg Config) (*Service, *httptest.Server)

// The ways a stream is written: on the socket, taken over from net/http
// (the hub writes without waiting); on a connection taken over that is no
// socket (a goroutine writes); through a ResponseWriter that cannot be
// taken over, as with HTTP/2 (the handler writes).
var modes = []struct {
	name  string
	start starter
}{
	{"socket", start},
	{"conn", func(t *testing.T, bus maniwani.Bus, cfg Config) (*Service, *httptest.Server) {
		return startWrapped(t, bus, cfg, func(w http.ResponseWriter) http.ResponseWriter { return connOnly{plainWriter{w}} })
	}},
	{"writer", func(t *testing.T, bus maniwani.Bus, cfg Config) (*Service, *httptest.Server) {
		return startWrapped(t, bus, cfg, func(w http.ResponseWriter) http.ResponseWriter { return plainWriter{w} })
	}},
}

func start(t *testing.T, bus maniwani.Bus, cfg Config) (*Service, *httptest.Server) {
	t.Helper()
	return startWrapped(t, bus, cfg, nil)
}

func startWrapped(t *testing.T, bus maniwani.Bus, cfg Config, wrap func(http.ResponseWriter) http.ResponseWriter) (*Service, *httptest.Server) {
	t.Helper()
	return startWith(t, Deps{Bus: bus, Reader: &fakeReader{}}, cfg, wrap)
}

func startWith(t *testing.T, deps Deps, cfg Config, wrap func(http.ResponseWriter) http.ResponseWriter) (*Service, *httptest.Server) {
	t.Helper()
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if wrap != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.Handler().ServeHTTP(wrap(w), r) })
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		s.Shutdown()
		srv.Close()
	})
	return s, srv
}

// plainWriter is a ResponseWriter that flushes and takes write deadlines,
// and cannot be taken over.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }
func (p plainWriter) FlushError() error           { return http.NewResponseController(p.w).Flush() }
func (p plainWriter) SetWriteDeadline(d time.Time) error {
	return http.NewResponseController(p.w).SetWriteDeadline(d)
}

// connOnly hands its connection over as a plain net.Conn: no socket.
type connOnly struct{ plainWriter }

func (c connOnly) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return struct{ net.Conn }{conn}, rw, nil
}

type event struct {
	typ, id, data, comment, retry string
}

// sse is a Server-Sent Events client.
type sse struct {
	resp   *http.Response
	events chan event // closed at the end of the stream
}

func dial(t *testing.T, url string, header http.Header) *sse {
	t.Helper()
	c, code := tryDial(t, url, header)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	return c
}

func tryDial(t *testing.T, url string, header http.Header) (*sse, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	c := &sse{resp: resp, events: make(chan event, 10000)}
	t.Cleanup(c.close)
	go c.read()
	return c, resp.StatusCode
}

func (c *sse) close() { c.resp.Body.Close() }

func (c *sse) read() {
	defer close(c.events)
	sc := bufio.NewScanner(c.resp.Body)
	sc.Buffer(nil, 1<<20)
	var ev event
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if ev != (event{}) {
				c.events <- ev
			}
			ev = event{}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			c.events <- event{comment: value}
		case "event":
			ev.typ = value
		case "id":
			ev.id = value
		case "data":
			ev.data = value
		case "retry":
			ev.retry = value
		}
	}
}

// next is the next event that is not a comment.
func (c *sse) next(t *testing.T) event {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.comment == "" {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 3s")
		}
	}
}

// nothingBefore checks that the next event is id, one published after
// everything the stream should have had: an event that should not come
// (a duplicate, another board's) would come before it.
func (c *sse) nothingBefore(t *testing.T, id string) {
	t.Helper()
	if ev := c.next(t); ev.id != id {
		t.Fatalf("unexpected event %+v before %s", ev, id)
	}
}

func publish(t *testing.T, bus maniwani.Bus, board string, ev *pb.Event) string {
	t.Helper()
	data, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	id, err := bus.Publish(context.Background(), maniwani.BoardTopic(board), data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func post(board string, thread, no int64, com string) *pb.Event {
	return &pb.Event{Kind: &pb.Event_PostCreated{PostCreated: &pb.PostCreated{
		Board: board, Thread: thread, No: no, Time: 1700000000, Name: "Anonymous", Com: com}}}
}

func expect(t *testing.T, got event, typ, id, data string) {
	t.Helper()
	if got.typ != typ || got.id != id {
		t.Fatalf("got event %q id %q, want %q id %q (data %s)", got.typ, got.id, typ, id, got.data)
	}
	var g, w any
	if err := json.Unmarshal([]byte(got.data), &g); err != nil {
		t.Fatalf("data %q: %v", got.data, err)
	}
	if err := json.Unmarshal([]byte(data), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s data\n got %s\nwant %s", typ, got.data, data)
	}
}

func TestEvents(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus := newBus()
		_, srv := start(t, bus, Config{})
		board := dial(t, srv.URL+"/live/g", nil)
		thread := dial(t, srv.URL+"/live/g/100", nil)
		other := dial(t, srv.URL+"/live/g/7", nil)

		op := &pb.Event{Kind: &pb.Event_PostCreated{PostCreated: &pb.PostCreated{
			Board: "g", Thread: 100, No: 100, Time: 1700000000, Name: "Anonymous", Trip: "!abc",
			PosterId: "XyZ", Sub: "Hello", Com: "<b>hi</b>\n>there",
			File: &pb.File{Tim: 1700000000123, Filename: "cat", Ext: ".png", Fsize: 1234, Md5: "bWQ1bWQ1bWQ1bWQ1bWQ1MQ==",
				W: 640, H: 480, TnW: 250, TnH: 187, Spoiler: true}}}}
		id := publish(t, bus, "g", op)
		opJSON := `{"board":"g","no":100,"resto":0,"now":"11/14/23(Tue)22:13:20","time":1700000000,
			"name":"Anonymous","trip":"!abc","id":"XyZ","sub":"Hello","com":"<b>hi</b>\n>there",
			"tim":1700000000123,"filename":"cat","ext":".png","fsize":1234,"md5":"bWQ1bWQ1bWQ1bWQ1bWQ1MQ==",
			"w":640,"h":480,"tn_w":250,"tn_h":187,"spoiler":1}`
		expect(t, board.next(t), "thread", id, opJSON)
		expect(t, board.next(t), "post", id, opJSON)
		expect(t, thread.next(t), "post", id, opJSON)

		id = publish(t, bus, "g", post("g", 100, 101, "reply"))
		reply := `{"board":"g","no":101,"resto":100,"now":"11/14/23(Tue)22:13:20","time":1700000000,"name":"Anonymous","com":"reply"}`
		expect(t, board.next(t), "post", id, reply)
		expect(t, thread.next(t), "post", id, reply)

		id = publish(t, bus, "g", &pb.Event{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{Board: "g", No: 101, Thread: 100}}})
		expect(t, board.next(t), "delete", id, `{"board":"g","no":101}`)
		expect(t, thread.next(t), "delete", id, `{"board":"g","no":101}`)

		id = publish(t, bus, "g", &pb.Event{Kind: &pb.Event_ThreadUpdated{ThreadUpdated: &pb.ThreadUpdated{Board: "g", No: 100, Closed: true, Archived: true}}})
		expect(t, board.next(t), "update", id, `{"board":"g","no":100,"sticky":false,"closed":true}`)
		expect(t, thread.next(t), "update", id, `{"board":"g","no":100,"sticky":false,"closed":true}`)

		// Another board's events and other events stay out.
		publish(t, bus, "a", post("a", 100, 100, "elsewhere"))
		publish(t, bus, "g", &pb.Event{Kind: &pb.Event_CacheInvalidation{CacheInvalidation: &pb.CacheInvalidation{Board: "g", BoardGen: 2}}})
		in7 := publish(t, bus, "g", post("g", 7, 8, "after"))
		in100 := publish(t, bus, "g", post("g", 100, 102, "after"))
		other.nothingBefore(t, in7)
		board.nothingBefore(t, in7)
		board.nothingBefore(t, in100)
		thread.nothingBefore(t, in100)
	})
}

func TestBadRequests(t *testing.T) {
	_, srv := start(t, memory.New(memory.Config{}), Config{})
	for path, want := range map[string]int{
		"/live/G": 404, "/live/admin": 404, "/live/g/x": 404, "/live/g/0": 404,
		"/live/g?last_event_id=nope": 400, "/live/g/1?last_event_id=1-": 400,
	} {
		if _, code := tryDial(t, srv.URL+path, nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	if _, code := tryDial(t, srv.URL+"/live/g", http.Header{"Last-Event-Id": {"x"}}); code != 400 {
		t.Errorf("bad Last-Event-ID: %d, want 400", code)
	}
}

func TestResume(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus := newBus()
		_, srv := start(t, bus, Config{})
		for _, via := range []string{"header", "query"} {
			thread := int64(10)
			if via == "query" {
				thread = 20
			}
			url := fmt.Sprintf("%s/live/g/%d", srv.URL, thread)
			c := dial(t, url, nil)
			var ids []string
			for i := range 2 {
				ids = append(ids, publish(t, bus, "g", post("g", thread, thread+int64(i)+1, "before")))
			}
			for _, id := range ids {
				if ev := c.next(t); ev.id != id {
					t.Fatalf("got %s, want %s", ev.id, id)
				}
			}
			c.close()
			var missed []string
			for i := range 3 {
				missed = append(missed, publish(t, bus, "g", post("g", thread, thread+int64(i)+3, "missed")))
				publish(t, bus, "g", post("g", 99, 99+int64(i)+1, "another thread"))
			}
			h := http.Header{"Last-Event-Id": {ids[1]}}
			if via == "query" {
				h, url = nil, url+"?last_event_id="+ids[1]
			}
			c = dial(t, url, h)
			for i, id := range missed {
				ev := c.next(t)
				expect(t, ev, "post", id, fmt.Sprintf(`{"board":"g","no":%d,"resto":%d,"now":"11/14/23(Tue)22:13:20","time":1700000000,"name":"Anonymous","com":"missed"}`, thread+int64(i)+3, thread))
			}
			id := publish(t, bus, "g", post("g", thread, thread+9, "live"))
			if ev := c.next(t); ev.id != id || ev.typ != "post" {
				t.Fatalf("got %+v, want the live post %s", ev, id)
			}
			c.nothingBefore(t, publish(t, bus, "g", post("g", thread, thread+10, "last")))
		}
	})
}

// While a client replays, events published meanwhile come once, in order.
func TestResumeUnderLoad(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus := newBus()
		_, srv := start(t, bus, Config{SendBuffer: 1000, MaxReplay: 1000})
		first := publish(t, bus, "g", post("g", 1, 1, "x"))
		var ids []string
		for i := range 250 {
			ids = append(ids, publish(t, bus, "g", post("g", 1, int64(i)+2, "x")))
		}
		done := make(chan []string)
		go func() {
			var more []string
			for i := range 50 {
				data, _ := proto.Marshal(post("g", 1, int64(i)+300, "x"))
				id, err := bus.Publish(context.Background(), maniwani.BoardTopic("g"), data)
				if err != nil {
					t.Error(err)
					break
				}
				more = append(more, id)
			}
			done <- more
		}()
		c := dial(t, srv.URL+"/live/g/1", http.Header{"Last-Event-Id": {first}})
		ids = append(ids, <-done...)
		for _, id := range ids {
			if ev := c.next(t); ev.id != id {
				t.Fatalf("got %s, want %s", ev.id, id)
			}
		}
		c.nothingBefore(t, publish(t, bus, "g", post("g", 1, 400, "last")))
	})
}

func TestHistoryGone(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					bus := be.make(t, 5)()
					_, srv := m.start(t, bus, Config{})
					old := publish(t, bus, "g", post("g", 1, 1, "old"))
					for i := range 300 {
						publish(t, bus, "g", post("g", 1, int64(i)+2, "x"))
					}
					c := dial(t, srv.URL+"/live/g/1", http.Header{"Last-Event-Id": {old}})
					if ev := c.next(t); ev.typ != "reload" || ev.data != "{}" {
						t.Fatalf("got %+v, want reload", ev)
					}
					id := publish(t, bus, "g", post("g", 1, 400, "live"))
					if ev := c.next(t); ev.id != id {
						t.Fatalf("got %+v, want the live post %s", ev, id)
					}
				})
			}
		})
	}
}

// An old or made-up Last-Event-ID gets a reload, not the whole history;
// one within MaxReplay events gets them.
func TestReplayBound(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus := newBus()
		_, srv := start(t, bus, Config{MaxReplay: 20})
		var ids []string
		for i := range 30 {
			ids = append(ids, publish(t, bus, "g", post("g", 1, int64(i)+1, "x")))
		}
		for _, last := range []string{"0-0", ids[8]} { // 30 and 21 events after
			c := dial(t, srv.URL+"/live/g/1", http.Header{"Last-Event-Id": {last}})
			if ev := c.next(t); ev.typ != "reload" || ev.data != "{}" {
				t.Fatalf("after %s: got %+v, want reload", last, ev)
			}
			id := publish(t, bus, "g", post("g", 1, 100, "live"))
			if ev := c.next(t); ev.id != id || ev.typ != "post" {
				t.Fatalf("after the reload: got %+v, want the live post %s", ev, id)
			}
			c.close()
			ids = append(ids, id)
		}
		// 20 events after ids[len-21]: all of them, then live.
		from := len(ids) - 21
		c := dial(t, srv.URL+"/live/g/1", http.Header{"Last-Event-Id": {ids[from]}})
		for _, id := range ids[from+1:] {
			if ev := c.next(t); ev.id != id {
				t.Fatalf("got %+v, want %s", ev, id)
			}
		}
		c.nothingBefore(t, publish(t, bus, "g", post("g", 1, 101, "last")))
	})
}

func TestTwoInstances(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus1, bus2 := newBus(), newBus()
		_, srv1 := start(t, bus1, Config{})
		_, srv2 := start(t, bus2, Config{})
		c1 := dial(t, srv1.URL+"/live/g/5", nil)
		c2 := dial(t, srv2.URL+"/live/g/5", nil)
		id := publish(t, bus1, "g", post("g", 5, 6, "both"))
		for _, c := range []*sse{c1, c2} {
			if ev := c.next(t); ev.id != id || ev.typ != "post" {
				t.Fatalf("got %+v, want %s", ev, id)
			}
		}
	})
}

func (s *Service) clients(board string) int {
	s.mu.Lock()
	h := s.hubs[board]
	s.mu.Unlock()
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (s *Service) hubCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hubs)
}

func TestStalledClient(t *testing.T) {
	each(t, func(t *testing.T, newBus func() maniwani.Bus, start starter) {
		bus := newBus()
		s, srv := start(t, bus, Config{SendBuffer: 4, MaxPerIP: 100})
		normal := dial(t, srv.URL+"/live/g", nil)

		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(conn, "GET /live/g HTTP/1.1\r\nHost: x\r\n\r\n")
		testutil.Eventually(t, 3*time.Second, func() error {
			if n := s.clients("g"); n != 2 {
				return fmt.Errorf("%d clients: the stalled client did not join", n)
			}
			return nil
		})

		big := strings.Repeat("x", 64<<10)
		var worst time.Duration
		for i := 0; s.clients("g") > 1; i++ {
			if i == 1000 {
				t.Fatal("the stalled client was never dropped")
			}
			t0 := time.Now()
			id := publish(t, bus, "g", post("g", 1, int64(i)+2, big))
			if ev := normal.next(t); ev.id != id {
				t.Fatalf("got %s, want %s", ev.id, id)
			}
			worst = max(worst, time.Since(t0))
		}
		if worst > time.Second {
			t.Errorf("the normal client waited up to %v for an event", worst)
		}
		id := publish(t, bus, "g", post("g", 1, 5000, "after"))
		if ev := normal.next(t); ev.id != id {
			t.Fatalf("got %s, want %s", ev.id, id)
		}
		t.Logf("worst delay %v", worst)
	})
}

func TestHeartbeat(t *testing.T) {
	inModes(t, func(t *testing.T, start starter) {
		_, srv := start(t, memory.New(memory.Config{}), Config{Heartbeat: 50 * time.Millisecond})
		c := dial(t, srv.URL+"/live/g", nil)
		// The stream opens with a comment at once, then keepalives.
		for _, want := range []string{"open", "keepalive", "keepalive"} {
			select {
			case ev := <-c.events:
				if ev.comment != want {
					t.Fatalf("got %+v, want the %s comment", ev, want)
				}
			case <-time.After(time.Second):
				t.Fatalf("no %s comment within 1 s", want)
			}
		}
	})
}

func TestPerIPLimit(t *testing.T) {
	inModes(t, func(t *testing.T, start starter) {
		s, srv := start(t, memory.New(memory.Config{}), Config{MaxPerIP: 2})
		a := dial(t, srv.URL+"/live/g", nil)
		dial(t, srv.URL+"/live/g/1", nil)
		// X-Forwarded-For from an untrusted peer changes nothing.
		if _, code := tryDial(t, srv.URL+"/live/a", http.Header{"X-Forwarded-For": {"10.1.2.3"}}); code != http.StatusTooManyRequests {
			t.Fatalf("third stream: %d, want 429", code)
		}
		a.close()
		testutil.Eventually(t, 2*time.Second, func() error {
			c, code := tryDial(t, srv.URL+"/live/a", nil)
			if code != http.StatusOK {
				return fmt.Errorf("after one closed: %d, want 200", code)
			}
			c.close()
			return nil
		})
		_ = s
	})
}

// The addresses of one IPv6 /64 share one client's stream cap.
func TestPerIPLimitIPv6(t *testing.T) {
	proxies, err := realip.Parse("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	_, srv := start(t, memory.New(memory.Config{}), Config{MaxPerIP: 2, Proxies: proxies})
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	dial(t, srv.URL+"/live/g", from("2001:db8:1:2::1"))
	dial(t, srv.URL+"/live/g", from("2001:db8:1:2::2"))
	for i, ip := range []string{"2001:db8:1:2::3", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::1%eth0"} {
		if _, code := tryDial(t, srv.URL+"/live/g", from(ip)); code != http.StatusTooManyRequests {
			t.Errorf("stream %d of the /64, from %s: %d, want 429", i+3, ip, code)
		}
	}
	for _, ip := range []string{"2001:db8:1:3::1", "10.0.0.1", "10.0.0.2"} {
		if _, code := tryDial(t, srv.URL+"/live/g", from(ip)); code != http.StatusOK {
			t.Errorf("from %s: %d, want 200", ip, code)
		}
	}
}

func TestShutdown(t *testing.T) {
	inModes(t, func(t *testing.T, start starter) {
		s, srv := start(t, memory.New(memory.Config{}), Config{})
		c1 := dial(t, srv.URL+"/live/g", nil)
		c2 := dial(t, srv.URL+"/live/g/3", nil)
		s.Shutdown()
		for _, c := range []*sse{c1, c2} {
			if ev := c.next(t); ev.retry != "1000" {
				t.Fatalf("got %+v, want retry: 1000", ev)
			}
			select {
			case _, ok := <-c.events:
				if ok {
					t.Fatal("the stream went on")
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the stream did not end")
			}
		}
		if _, code := tryDial(t, srv.URL+"/live/g", nil); code != http.StatusServiceUnavailable {
			t.Fatalf("after shutdown: %d, want 503", code)
		}
	})
}

func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	s, err := New(Config{}, Deps{Bus: memory.New(memory.Config{}), Reader: &fakeReader{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	c := dial(t, "http://"+addr+"/live/g", nil) // ln takes connections already
	cancel()
	if ev := c.next(t); ev.retry != "1000" {
		t.Fatalf("got %+v, want retry", ev)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
}

// A hub whose subscription breaks resubscribes and replays: its clients
// miss nothing and get nothing twice. The last client out closes the hub.
func TestHubResumes(t *testing.T) {
	inModes(t, func(t *testing.T, start starter) {
		fb := &flakyBus{Bus: memory.New(memory.Config{}), gate: make(chan struct{})}
		s, srv := start(t, fb, Config{})
		c1 := dial(t, srv.URL+"/live/g", nil)
		c2 := dial(t, srv.URL+"/live/g/1", nil)
		if n := s.hubCount(); n != 1 {
			t.Fatalf("%d hubs for one board, want 1", n)
		}
		a := publish(t, fb, "g", post("g", 1, 2, "a"))
		for _, c := range []*sse{c1, c2} {
			if ev := c.next(t); ev.id != a {
				t.Fatalf("got %+v, want %s", ev, a)
			}
		}
		fb.breakSubs() // the next Subscribe waits for the gate
		b := publish(t, fb, "g", post("g", 1, 3, "b"))
		close(fb.gate)
		for _, c := range []*sse{c1, c2} {
			if ev := c.next(t); ev.id != b {
				t.Fatalf("got %+v, want %s", ev, b)
			}
		}
		d := publish(t, fb, "g", post("g", 1, 4, "d"))
		for _, c := range []*sse{c1, c2} {
			if ev := c.next(t); ev.id != d {
				t.Fatalf("got %+v, want %s", ev, d)
			}
		}
		last := publish(t, fb, "g", post("g", 1, 5, "last"))
		for _, c := range []*sse{c1, c2} {
			c.nothingBefore(t, last)
		}
		c1.close()
		c2.close()
		testutil.Eventually(t, 2*time.Second, func() error {
			if h, o := s.hubCount(), fb.open(); h != 0 || o != 0 {
				return fmt.Errorf("%d hubs, %d subscriptions after the last client left", h, o)
			}
			return nil
		})
	})
}

// flakyBus lets a test break its subscriptions.
type flakyBus struct {
	maniwani.Bus
	gate chan struct{}

	mu    sync.Mutex
	subs  []maniwani.Subscription
	calls int
}

func (f *flakyBus) Subscribe(ctx context.Context, topic string) (maniwani.Subscription, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n > 1 {
		<-f.gate
	}
	sub, err := f.Bus.Subscribe(ctx, topic)
	if err == nil {
		f.mu.Lock()
		f.subs = append(f.subs, sub)
		f.mu.Unlock()
	}
	return sub, err
}

func (f *flakyBus) breakSubs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		s.Close()
	}
}

// open counts the subscriptions not ended yet.
func (f *flakyBus) open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.subs {
		select {
		case _, ok := <-s.C():
			if ok {
				n++
			}
		default:
			n++
		}
	}
	return n
}

// Events that come together go out in one write per client: each stream
// gets what it shows of them, in order.
func TestBatchFrames(t *testing.T) {
	log := slog.Default()
	msg := func(id string, ev *pb.Event) *item {
		data, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return render(log, maniwani.Message{ID: id, Topic: maniwani.BoardTopic("g"), Data: data})
	}
	op := msg("1-0", post("g", 5, 5, "op"))
	a := msg("2-0", post("g", 1, 2, "a"))
	b := msg("3-0", post("g", 5, 6, "b"))
	reload := &item{reload: true, boardFrames: reloadFrame, threadFrames: reloadFrame}
	c := msg("4-0", post("g", 1, 3, "c"))
	items := []*item{op, a, b, reload, c}
	bt := newBatch(items)
	join := func(fs ...[]byte) string { return string(bytes.Join(fs, nil)) }
	for _, tc := range []struct {
		st   stream
		want string
	}{
		{stream{board: "g"}, join(op.boardFrames, a.boardFrames, b.boardFrames, reloadFrame, c.boardFrames)},
		{stream{board: "g", thread: 1}, join(a.threadFrames, reloadFrame, c.threadFrames)},
		{stream{board: "g", thread: 5}, join(op.threadFrames, b.threadFrames, reloadFrame)},
		{stream{board: "g", thread: 9}, join(reloadFrame)},
	} {
		if got := string(bt.frames(tc.st, false)); got != tc.want {
			t.Errorf("stream %+v:\n got %q\nwant %q", tc.st, got, tc.want)
		}
		want := fmt.Sprintf("%x\r\n%s\r\n", len(tc.want), tc.want)
		if got := string(bt.frames(tc.st, true)); got != want {
			t.Errorf("stream %+v, chunked:\n got %q\nwant %q", tc.st, got, want)
		}
	}
	if !strings.HasPrefix(string(op.boardFrames), "event: thread\n") || !strings.HasPrefix(string(op.threadFrames), "event: post\n") {
		t.Fatalf("the OP's frames: %q, %q", op.boardFrames, op.threadFrames)
	}
	// One item: its own frames, nothing for a stream it is not about.
	if f := newBatch([]*item{a}).frames(stream{board: "g", thread: 5}, true); f != nil {
		t.Errorf("thread 5 got %q of thread 1's post", f)
	}
}

// On a connection of its own, an HTTP/1.1 stream is chunked and ends, at
// Shutdown, with "retry:" and the last chunk; an HTTP/1.0 one is the bare
// body until the connection closes.
func TestWire(t *testing.T) {
	for _, m := range modes[:2] { // the connection is taken over
		for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
			t.Run(m.name+"/"+proto, func(t *testing.T) {
				bus := memory.New(memory.Config{})
				s, srv := m.start(t, bus, Config{})
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "GET /live/g/1 %s\r\nHost: x\r\n\r\n", proto)
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				chunked := len(resp.TransferEncoding) > 0
				if chunked != (proto == "HTTP/1.1") || resp.Header.Get("Connection") != "close" && !resp.Close {
					t.Fatalf("%s: Transfer-Encoding %v, Connection %q", proto, resp.TransferEncoding, resp.Header.Get("Connection"))
				}
				id := publish(t, bus, "g", post("g", 1, 2, "hi"))
				conn.SetReadDeadline(time.Now().Add(3 * time.Second))
				// The body as it came, chunks and all: up to the event, then
				// what Shutdown sends.
				var raw []byte
				for buf := make([]byte, 4096); !bytes.Contains(raw, []byte("\nid: "+id+"\n")); {
					n, err := br.Read(buf)
					raw = append(raw, buf[:n]...)
					if err != nil {
						t.Fatalf("no event %s in %q: %v", id, raw, err)
					}
				}
				s.Shutdown()
				rest, err := io.ReadAll(br)
				raw = append(raw, rest...)
				if err != nil {
					t.Fatalf("after %q: %v", raw, err)
				}
				body := ": open\n\nevent: post\nid: " + id + "\ndata: "
				if chunked {
					if !strings.HasPrefix(string(raw), fmt.Sprintf("%x\r\n: open\n\n\r\n", len(": open\n\n"))) ||
						!strings.HasSuffix(string(raw), "\r\nretry: 1000\n\n\r\n0\r\n\r\n") || !strings.Contains(string(raw), "\r\nevent: post\nid: "+id+"\n") {
						t.Fatalf("chunked body %q", raw)
					}
					return
				}
				if !strings.HasPrefix(string(raw), body) || !strings.HasSuffix(string(raw), "\n\nretry: 1000\n\n") {
					t.Fatalf("body %q", raw)
				}
			})
		}
	}
}
