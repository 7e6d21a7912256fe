package router_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// passRouter is a router whose API is h, a service in this process.
func passRouter(t *testing.T, h http.Handler) string {
	t.Helper()
	up := router.NewLocal(h)
	t.Cleanup(func() { up.Close() })
	return startRouter(t, router.Deps{API: up, Gens: cache.NewGenerations()})
}

// A post's body reaches the service while the client is still sending it:
// the router holds no upload whole.
func TestUploadStreamsThrough(t *testing.T) {
	first := make(chan struct{})
	got := make(chan int64, 1)
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		n, err := io.ReadFull(r.Body, buf)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		close(first) // the first 64 KB are here; the client has not sent the rest yet
		rest, _ := io.Copy(io.Discard, r.Body)
		got <- int64(n) + rest
		fmt.Fprint(w, "stored")
	}))
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		pw.Write(chunk)
		select {
		case <-first:
		case <-time.After(5 * time.Second):
			pw.CloseWithError(fmt.Errorf("the service saw nothing of the body in 5 s: the router held it"))
			return
		}
		for i := 0; i < 160; i++ { // 10 MB more
			pw.Write(chunk)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/b/post", pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "stored" {
		t.Fatalf("answered %d %q", resp.StatusCode, body)
	}
	if n := <-got; n != 161*64<<10 {
		t.Fatalf("the service got %d bytes, want %d", n, 161*64<<10)
	}
}

// A stream (Server-Sent Events) reaches the client event by event, as the
// service flushes, not when it ends.
func TestEventStreamPassesThrough(t *testing.T) {
	next := make(chan struct{})
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, "id: 1\ndata: one\n\n")
		w.(http.Flusher).Flush()
		select { // the second event only once the client has the first
		case <-next:
		case <-time.After(5 * time.Second):
			return
		}
		fmt.Fprint(w, "id: 2\ndata: two\n\n")
	}))
	resp, err := client.Get(base + "/live/b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.Header.Get("X-Cache") != "" {
		t.Fatalf("Content-Type %q, X-Cache %q", ct, resp.Header.Get("X-Cache"))
	}
	br := bufio.NewReader(resp.Body)
	read := func() string {
		var ev strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", ev.String(), err)
			}
			if line == "\n" {
				return ev.String()
			}
			ev.WriteString(line)
		}
	}
	done := make(chan string, 1)
	go func() { done <- read() }()
	select {
	case ev := <-done:
		if ev != "id: 1\ndata: one\n" {
			t.Fatalf("first event %q", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive while the stream was open: the router buffered it")
	}
	close(next)
	if ev := read(); ev != "id: 2\ndata: two\n" {
		t.Fatalf("second event %q", ev)
	}
}

// A local service sees the client's own address and X-Forwarded-For, and a
// client cannot pose as another address with the router's internal header.
func TestLocalServiceSeesTheClient(t *testing.T) {
	seen := make(chan string, 1)
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.RemoteAddr + " | " + r.Header.Get("X-Forwarded-For") + " | " + r.Header.Get("X-Maniwani-Client-Addr")
	}))
	req, _ := http.NewRequest("POST", base+"/b/post", strings.NewReader("com=x"))
	req.Header.Set("X-Forwarded-For", "10.1.2.3")
	req.Header.Set("X-Maniwani-Client-Addr", "6.6.6.6:1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := <-seen
	if !strings.HasPrefix(got, "127.0.0.1:") || !strings.HasSuffix(got, " | 10.1.2.3 | ") {
		t.Fatalf("the service saw %q", got)
	}
}

// Range requests pass through to the service that owns the file.
func TestRangePassesThrough(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Unix(0, 0), bytes.NewReader(data))
	}))
	resp := get(t, base+"/media/b/1.bin", "Range", "bytes=100-109")
	if resp.code != http.StatusPartialContent || resp.body != "0123456789" || resp.cache() != "" {
		t.Fatalf("Range answered %d %q (X-Cache %q)", resp.code, resp.body, resp.cache())
	}
}

// A request answered the moment its body is read must not spoil the
// connection to a local service for the requests after it (the in-process
// pipe must keep net/http's read deadlines right).
func TestLocalConnectionSurvivesQuickAnswers(t *testing.T) {
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("quick") != "" {
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
		time.Sleep(5 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	for i, path := range []string{"/b/post?quick=1", "/b/post", "/b/post?quick=1", "/b/post?quick=1", "/b/post", "/b/post"} {
		resp, err := client.Post(base+path, "text/plain", strings.NewReader("com=x"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusOK
		if strings.Contains(path, "quick") {
			want = http.StatusBadRequest
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d (%s): %d %s", i, path, resp.StatusCode, body)
		}
	}
}

// A stream outlives the router's write timeout as long as it keeps flowing.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	up := router.NewLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 8; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	t.Cleanup(func() { up.Close() })
	base := serveRouter(t, router.Config{WriteTimeout: 300 * time.Millisecond},
		router.Deps{API: up, Gens: cache.NewGenerations()})
	resp, err := client.Get(base + "/live/b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "data: ") != 8 {
		t.Fatalf("after %d events of 8 (about 800 ms, write timeout 300 ms): %v", strings.Count(string(b), "data: "), err)
	}
}

// Streams under /live/ go to the live service, everything else to the api.
func TestLiveRoutedToLive(t *testing.T) {
	named := func(name string) *router.Local {
		l := router.NewLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
		t.Cleanup(func() { l.Close() })
		return l
	}
	base := startRouter(t, router.Deps{API: named("api"), Live: named("live"), Gens: cache.NewGenerations()})
	for path, want := range map[string]string{"/live/b": "live", "/live/b/12": "live", "/b/post": "api", "/lively/x": "api"} {
		if got := get(t, base+path); got.body != want {
			t.Errorf("GET %s went to %q, want %q", path, got.body, want)
		}
	}
}

// A live service in this process gets the client's connection: events reach
// the client as they are flushed, with the client's own address.
func TestLiveHandlerGetsTheConnection(t *testing.T) {
	next := make(chan struct{})
	seen := make(chan string, 1)
	live := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.RemoteAddr + " " + r.URL.Path + " " + r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		fmt.Fprint(w, "id: 1\ndata: one\n\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		select {
		case <-next:
		case <-time.After(5 * time.Second):
			return
		}
		fmt.Fprint(w, "id: 2\ndata: two\n\n")
	})
	base := startRouter(t, router.Deps{API: router.NewLocal(http.NotFoundHandler()), LiveHandler: live, Gens: cache.NewGenerations()})
	req, _ := http.NewRequest("GET", base+"/live/b/12", nil)
	req.Header.Set("Last-Event-ID", "5-0")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := <-seen; !strings.HasPrefix(got, "127.0.0.1:") || !strings.HasSuffix(got, " /live/b/12 5-0") {
		t.Fatalf("the live handler saw %q", got)
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	line := make(chan string, 1)
	go func() { l, _ := br.ReadString('\n'); line <- l }()
	select {
	case l := <-line:
		if l != "id: 1\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive while the stream was open")
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if string(rest) != "data: one\n\nid: 2\ndata: two\n\n" {
		t.Fatalf("rest of the stream %q", rest)
	}
}

// A router stopping while live streams pass through it to a live process
// elsewhere (which goes on) cuts them and stops at once, without error,
// rather than waiting out its drain; its clients see their stream end.
func TestStopCutsStreamsToRemoteLive(t *testing.T) {
	stop := make(chan struct{})
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\ndata: one\n\n")
		w.(http.Flusher).Flush()
		select { // a stream with nothing more to say for a long while
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer live.Close()
	defer close(stop) // before Close, which waits for the handlers
	remote, err := router.NewRemoteURL(live.URL)
	if err != nil {
		t.Fatal(err)
	}
	base, stopRouter := serve(t, router.Config{Logger: slog.New(slog.DiscardHandler)},
		router.Deps{API: router.NewRemote("127.0.0.1:1"), Live: remote, Gens: cache.NewGenerations()})

	var ended []chan error
	for range 3 {
		resp, err := client.Get(base + "/live/b/1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		if line, err := br.ReadString('\n'); line != "id: 1\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		end := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, br); end <- err }()
		ended = append(ended, end)
	}
	start := time.Now()
	if err := stopRouter(5 * time.Second); err != nil {
		t.Fatalf("%v: it waited on the streams", err)
	}
	for i, end := range ended {
		select {
		case <-end:
		case <-time.After(2 * time.Second):
			t.Fatalf("stream %d still open after the router stopped", i)
		}
	}
	t.Logf("stopped in %v with 3 streams open", time.Since(start).Round(time.Millisecond))
}
