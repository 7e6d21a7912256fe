package router_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

// rawPost sends a request with a body of n bytes of x and reads the answer
// while it sends, as a browser does: a server may answer before the body
// is all sent, and close. head holds the request's header lines.
func rawPost(t *testing.T, base, path string, head []string, n int) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails the test instead of stalling it
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: x\r\n", path)
	for _, h := range head {
		req.WriteString(h + "\r\n")
	}
	if n >= 0 {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", n)
	}
	req.WriteString("\r\n")
	go func() {
		c.Write(req.Bytes())
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for left := n; left > 0; left -= len(chunk) {
			if _, err := c.Write(chunk[:min(left, len(chunk))]); err != nil {
				return // the server closed: its answer is being read
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("POST %s: no answer: %v", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// settled waits until no goroutine is left of the requests passed
// through: none sends a body, lingers on a client's connection or serves
// a connection of the service.
func settled(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		buf := make([]byte, 1<<20)
		var left []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			for _, f := range []string{"router.copyBody", "router.(*Remote).forwardBody", "router.(*conn).Close", "net/http.(*conn).serve"} {
				if strings.Contains(g, f) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("%d goroutines of the requests are still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		return nil
	})
}

// refuser answers 413 once it has read limit bytes of a body, without
// reading the rest: a board's file size limit, in the api.
func refuser(limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprint(w, `{"error":"The post is too large."}`)
			return
		}
		fmt.Fprint(w, "ok")
	})
}

// A service that refuses a body before it has read it all is heard at
// once, in one process (an in-memory pipe, where the router and the
// service once each waited for the other) and apart (TCP), and nothing the
// request started is left running.
func TestEarlyAnswerWhileSending(t *testing.T) {
	apart := httptest.NewServer(refuser(1 << 20))
	t.Cleanup(apart.Close)
	for name, up := range map[string]func() router.Upstream{
		"local": func() router.Upstream {
			l := router.NewLocal(refuser(1 << 20))
			t.Cleanup(func() { l.Close() })
			return l
		},
		"remote": func() router.Upstream { return router.NewRemote(strings.TrimPrefix(apart.URL, "http://")) },
	} {
		t.Run(name, func(t *testing.T) {
			base := startRouter(t, router.Deps{API: up(), Gens: cache.NewGenerations()})
			for i := 0; i < 3; i++ {
				resp, body := rawPost(t, base, "/b/post", []string{"Content-Type: application/octet-stream"}, 9<<20)
				if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"error"`) {
					t.Fatalf("a 9 MiB body past a 1 MiB limit: %d %q, want 413 with the service's error", resp.StatusCode, body)
				}
				if !resp.Close {
					t.Error("the connection is kept open after a body that was not read")
				}
			}
			settled(t)
			resp, body := rawPost(t, base, "/b/post", []string{"Content-Type: application/octet-stream"}, 512<<10)
			if resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("a body within the limit after the refusals: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// A body that says it is longer than the router takes is refused before
// any of it reaches a service; one that does not say (chunked) is cut off
// where it crosses the limit.
func TestBodyOverRouterLimit(t *testing.T) {
	reached := make(chan string, 10)
	up := router.NewLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- r.URL.Path
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "got %d", n)
	}))
	t.Cleanup(func() { up.Close() })
	base := serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), MaxRequestBody: 4 << 20, MaxFormBody: 64 << 10},
		router.Deps{API: up, Gens: cache.NewGenerations()})
	json := []string{"Content-Type: application/json", "Accept: application/json"}
	for _, c := range []struct {
		path string
		n    int
	}{{"/b/post", 200 << 20}, {"/b/report", 100 << 10}, {"/api/admin/login", 300 << 10}} {
		resp, body := rawPost(t, base, c.path, json, c.n)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"error"`) {
			t.Errorf("POST %s of %d bytes: %d %q, want 413 with an error", c.path, c.n, resp.StatusCode, body)
		}
	}
	select {
	case p := <-reached:
		t.Fatalf("a body over the router's limit reached the service (%s)", p)
	default:
	}
	for _, c := range []struct {
		path string
		n    int
		want int
	}{{"/b/report", 100 << 10, 413}, {"/b/report", 60 << 10, 200}, {"/b/post", 5 << 20, 413}, {"/b/post", 3 << 20, 200}} {
		resp, err := client.Post(base+c.path, "application/octet-stream", io.MultiReader(bytes.NewReader(make([]byte, c.n)))) // no length: chunked
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("chunked POST %s of %d bytes: %d %q, want %d", c.path, c.n, resp.StatusCode, body, c.want)
		}
		if c.want == 200 && string(body) != fmt.Sprintf("got %d", c.n) {
			t.Errorf("chunked POST %s of %d bytes: the service answered %q", c.path, c.n, body)
		}
	}
}

// A chunked body that breaks its framing is the client's fault: 400, not
// a 502 of a service.
func TestMalformedChunkedBody(t *testing.T) {
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "ok")
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "POST /b/post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAccept: application/json\r\n\r\n5\r\nhello\r\nzz\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Fatalf("a broken chunked body: %d %q, want 400 with an error", resp.StatusCode, body)
	}
}

// A multipart body is the service's to read: however odd its parts (too
// many for a form parser, a control character in a header), the router
// passes it on as it is.
func TestMultipartPassedAsItIs(t *testing.T) {
	var got []byte
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		fmt.Fprint(w, "ok")
	}))
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i < 1001; i++ {
		mw.WriteField(fmt.Sprintf("f%d", i), "x")
	}
	mw.Close()
	sent := b.Bytes()
	sent = bytes.Replace(sent, []byte(`name="f7"`), []byte("name=\"f\x017\""), 1)
	resp, err := client.Post(base+"/b/post", mw.FormDataContentType(), bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" || !bytes.Equal(got, sent) {
		t.Fatalf("a 1,001-part form: %d %q; the service got %d of %d bytes", resp.StatusCode, body, len(got), len(sent))
	}
}

// A client's X-Request-Id reaches the services (and their logs) only when
// it is short and plain; otherwise the router gives the request its own.
func TestRequestIDKeptOnlyWhenPlain(t *testing.T) {
	base := passRouter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("X-Request-Id"))
	}))
	for id, kept := range map[string]bool{
		"abc-123-DEF":                  true,
		strings.Repeat("a", 64):        true,
		strings.Repeat("a", 65):        false,
		"a b":                          false,
		"x\" level=ERROR msg=\"forged": false,
		"id_with_underscore":           false,
		"":                             false,
	} {
		req, _ := http.NewRequest("POST", base+"/b/report", strings.NewReader("no=1"))
		req.Header.Set("X-Request-Id", id)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case kept && string(got) != id:
			t.Errorf("X-Request-Id %q reached the service as %q, want it kept", id, got)
		case !kept && (string(got) == id || len(got) != 24):
			t.Errorf("X-Request-Id %q reached the service as %q, want the router's own", id, got)
		}
	}
}

// A client that asks before it sends (Expect: 100-continue) a body longer
// than its route takes hears 413 instead of 100 Continue, and sends
// nothing; one within the limit is told to go on.
func TestExpectContinueOverLimit(t *testing.T) {
	reached := make(chan string, 10)
	up := router.NewLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- r.URL.Path
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d", n)
	}))
	t.Cleanup(func() { up.Close() })
	base := serveRouter(t, router.Config{Logger: slog.New(slog.DiscardHandler), MaxRequestBody: 4 << 20, MaxFormBody: 64 << 10},
		router.Deps{API: up, Gens: cache.NewGenerations()})
	ask := func(path string, n int) (*http.Response, net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", path, n)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("POST %s asking first: no answer: %v", path, err)
		}
		return resp, c, br
	}
	for _, c := range []struct {
		path string
		n    int
	}{{"/b/post", 5 << 20}, {"/b/report", 100 << 10}} {
		resp, _, _ := ask(c.path, c.n)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"error"`) || !resp.Close {
			t.Errorf("POST %s of %d bytes asking first: %d %q (close %v), want 413 with an error, closed",
				c.path, c.n, resp.StatusCode, body, resp.Close)
		}
	}
	select {
	case p := <-reached:
		t.Fatalf("a body refused before it was sent reached the service (%s)", p)
	default:
	}
	resp, conn, br := ask("/b/report", 10)
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("a body within the limit asking first: %d, want 100 Continue", resp.StatusCode)
	}
	conn.Write([]byte("0123456789"))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(body) != "got 10" {
		t.Fatalf("after 100 Continue: %d %q", resp.StatusCode, body)
	}
}

// Posts with bodies, forwarded each on a connection of its own to the
// service, leave the client's connection open for its next request, in
// one process and apart; a refused one closes it.
func TestPostsKeepTheConnection(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d", n)
	})
	apart := httptest.NewServer(echo)
	t.Cleanup(apart.Close)
	for name, up := range map[string]func() router.Upstream{
		"local": func() router.Upstream {
			l := router.NewLocal(echo)
			t.Cleanup(func() { l.Close() })
			return l
		},
		"remote": func() router.Upstream { return router.NewRemote(strings.TrimPrefix(apart.URL, "http://")) },
	} {
		t.Run(name, func(t *testing.T) {
			base := startRouter(t, router.Deps{API: up(), Gens: cache.NewGenerations()})
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for i, n := range []int{10, 200 << 10, 0, 5} {
				body := strings.Repeat("x", n)
				fmt.Fprintf(c, "POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s", n, body)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("post %d on the same connection: no answer: %v", i+1, err)
				}
				got, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(got) != fmt.Sprintf("got %d", n) || resp.Close {
					t.Fatalf("post %d on the same connection: %d %q (close %v)", i+1, resp.StatusCode, got, resp.Close)
				}
			}
		})
	}
}
