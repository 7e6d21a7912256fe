package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/markdown"
)

// site is the api over HTTP on a real loopback port, on one database, with
// a clock the test moves.
type site struct {
	t     *testing.T
	url   string
	store *store.Store
	svc   *api.Service
	mu    sync.Mutex
	now   time.Time
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *site) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// forEachDB runs a test of the api on SQLite and on PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, kind)
		})
	}
}

// newSite starts the api with board b (the default one, poster IDs as given)
// and trusting 127.0.0.1 as a proxy unless trusted says otherwise.
func newSite(t *testing.T, kind string, trusted string, boards ...maniwani.Board) *site {
	t.Helper()
	return newSiteWith(t, kind, trusted, nil, boards...)
}

// newSiteWith is newSite with the api's Config and Deps changed by with
// (Deps holds the site's store).
func newSiteWith(t *testing.T, kind, trusted string, with func(*api.Config, *api.Deps), boards ...maniwani.Board) *site {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testdb.URL(t, kind)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(boards) == 0 {
		boards = []maniwani.Board{maniwani.DefaultBoard()}
	}
	for _, b := range boards {
		if err := st.CreateBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	proxies, err := realip.Parse(trusted)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, store: st, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	cfg := api.Config{Proxies: proxies, Now: s.clock}
	deps := api.Deps{Store: st, Renderer: markdown.NewRenderer(markdown.RendererConfig{})}
	if with != nil {
		with(&cfg, &deps)
	}
	svc, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	s.svc = svc
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// form builds a multipart body from name/value pairs.
func form(t *testing.T, fields ...string) (string, *bytes.Buffer) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return w.FormDataContentType(), &body
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %s", a.code, a.body)
	}
	return m
}

func (s *site) do(req *http.Request) answer {
	s.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// post sends a JSON-answered post from the address ip with the fields.
func (s *site) post(board, ip string, fields ...string) answer {
	s.t.Helper()
	ct, body := form(s.t, fields...)
	req, _ := http.NewRequest("POST", s.url+"/"+board+"/post", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	return s.do(req)
}

// mustPost posts and returns the new post's number.
func (s *site) mustPost(board, ip string, fields ...string) int64 {
	s.t.Helper()
	a := s.post(board, ip, fields...)
	if a.code != http.StatusCreated {
		s.t.Fatalf("post %v answered %d: %s", fields, a.code, a.body)
	}
	m := a.json(s.t)
	if m["board"] != board {
		s.t.Fatalf("post answer names board %v", m["board"])
	}
	return int64(m["no"].(float64))
}

func (s *site) get(path string, header ...string) answer {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(req)
}

// thread reads a thread's JSON posts.
func (s *site) thread(board string, no int64) []map[string]any {
	s.t.Helper()
	a := s.get(fmt.Sprintf("/%s/thread/%d.json", board, no))
	if a.code != 200 {
		s.t.Fatalf("thread %d: %d %s", no, a.code, a.body)
	}
	var v struct{ Posts []map[string]any }
	if err := json.Unmarshal(a.body, &v); err != nil {
		s.t.Fatal(err)
	}
	return v.Posts
}

func TestPostAndReadJSON(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "resto", "0", "sub", "Hello there", "com", "first <b>post</b>\nline two & more")
		if op != 1 {
			t.Fatalf("first post is No.%d", op)
		}
		s.advance(time.Minute)
		r1 := s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "a reply", "name", "Bob")
		posts := s.thread("b", op)
		if len(posts) != 2 {
			t.Fatalf("%d posts", len(posts))
		}
		o, r := posts[0], posts[1]
		want := map[string]any{"no": 1.0, "resto": 0.0, "name": "Anonymous", "sub": "Hello there",
			"com": "first &lt;b&gt;post&lt;/b&gt;<br>line two &amp; more", "replies": 1.0, "images": 0.0,
			"time": float64(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Unix()),
			"now":  "11/22/26(Sun)10:00:00", "semantic_url": "hello-there",
			"last_modified": float64(time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC).Unix())}
		for k, v := range want {
			if o[k] != v {
				t.Errorf("OP %s = %#v, want %#v", k, o[k], v)
			}
		}
		for _, k := range []string{"sticky", "closed", "trip", "id", "archived", "tim", "bumplimit", "imagelimit"} {
			if _, ok := o[k]; ok {
				t.Errorf("OP has %s, which is left out when false or empty", k)
			}
		}
		if r["no"] != float64(r1) || r["resto"] != float64(op) || r["name"] != "Bob" || r["com"] != "a reply" {
			t.Errorf("reply %v", r)
		}
		if _, ok := r["replies"]; ok {
			t.Errorf("a reply carries replies")
		}

		// A form post is sent to the thread.
		ct, body := form(t, "resto", fmt.Sprint(op), "com", "from a form")
		req, _ := http.NewRequest("POST", s.url+"/b/post", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", "10.0.0.3")
		a := s.do(req)
		if a.code != http.StatusSeeOther || a.header.Get("Location") != fmt.Sprintf("/b/thread/%d#p%d", op, r1+1) {
			t.Fatalf("form post answered %d to %q", a.code, a.header.Get("Location"))
		}

		// The board-level JSON.
		var boards struct{ Boards []map[string]any }
		json.Unmarshal(s.get("/boards.json").body, &boards)
		if len(boards.Boards) != 1 || boards.Boards[0]["board"] != "b" || boards.Boards[0]["title"] != "Random" ||
			boards.Boards[0]["per_page"] != 15.0 || boards.Boards[0]["max_comment_chars"] != 2000.0 {
			t.Errorf("boards.json %v", boards)
		}
		var page struct {
			Threads []struct{ Posts []map[string]any }
		}
		json.Unmarshal(s.get("/b/1.json").body, &page)
		if len(page.Threads) != 1 || len(page.Threads[0].Posts) != 3 || page.Threads[0].Posts[0]["omitted_posts"] != 0.0 {
			t.Errorf("1.json %s", s.get("/b/1.json").body)
		}
		var catalog []struct {
			Page    int
			Threads []map[string]any
		}
		json.Unmarshal(s.get("/b/catalog.json").body, &catalog)
		if len(catalog) != 1 || catalog[0].Page != 1 || len(catalog[0].Threads) != 1 ||
			len(catalog[0].Threads[0]["last_replies"].([]any)) != 2 || catalog[0].Threads[0]["replies"] != 2.0 {
			t.Errorf("catalog.json %s", s.get("/b/catalog.json").body)
		}
		var threads []struct {
			Page    int
			Threads []map[string]any
		}
		json.Unmarshal(s.get("/b/threads.json").body, &threads)
		if len(threads) != 1 || threads[0].Threads[0]["no"] != 1.0 || threads[0].Threads[0]["replies"] != 2.0 {
			t.Errorf("threads.json %s", s.get("/b/threads.json").body)
		}
		if a := s.get("/b/archive.json"); a.code != 200 || strings.TrimSpace(string(a.body)) != "[]" {
			t.Errorf("archive.json %d %s", a.code, a.body)
		}
		for _, p := range []string{"/b/11.json", "/b/0.json", "/b/x.json", "/b/thread/99.json", "/b/thread/1",
			"/zz/1.json", "/zz/thread/1.json"} {
			if a := s.get(p); a.code != 404 {
				t.Errorf("%s answered %d", p, a.code)
			}
		}
	})
}

// Every refusal is a 4xx with a readable reason and changes nothing.
func TestRefusals(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		closedOp := s.mustPost("b", "10.0.0.2", "com", "to be closed")
		yes := true
		if err := s.store.UpdateThread(context.Background(), "b", closedOp, store.ThreadFlags{Closed: &yes}, s.clock()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.CreateBan(context.Background(), maniwani.Ban{CIDR: "10.9.9.0/24", Reason: "spamming links",
			Created: s.clock(), Expires: s.clock().Add(48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		resto := fmt.Sprint(op)
		long := func(n int) string { return strings.Repeat("é", n) }
		cases := []struct {
			name   string
			board  string
			ip     string
			fields []string
			code   int
			reason string
		}{
			{"unknown board", "zz", "10.1.0.1", []string{"com", "x"}, 404, "does not exist"},
			{"board name not allowed", "Bad!", "10.1.0.1", []string{"com", "x"}, 404, "does not exist"},
			{"unknown thread", "b", "10.1.0.2", []string{"resto", "9999", "com", "x"}, 404, "does not exist"},
			{"resto not a number", "b", "10.1.0.3", []string{"resto", "abc", "com", "x"}, 400, "thread number"},
			{"empty post", "b", "10.1.0.4", []string{"resto", resto, "com", ""}, 400, "empty"},
			{"blank comment", "b", "10.1.0.5", []string{"com", " \n\t "}, 400, "empty"},
			{"comment too long", "b", "10.1.0.6", []string{"resto", resto, "com", long(2001)}, 400, "over the limit of 2000"},
			{"subject too long", "b", "10.1.0.7", []string{"com", "x", "sub", long(101)}, 400, "over the limit of 100"},
			{"name too long", "b", "10.1.0.8", []string{"resto", resto, "com", "x", "name", long(101)}, 400, "over the limit of 100"},
			{"closed thread", "b", "10.1.0.9", []string{"resto", fmt.Sprint(closedOp), "com", "x"}, 403, "closed"},
			{"banned, even with an empty post", "b", "10.9.9.7", []string{"com", ""}, 403, "spamming links"},
		}
		for _, c := range cases {
			a := s.post(c.board, c.ip, c.fields...)
			if a.code != c.code {
				t.Errorf("%s: answered %d, want %d: %s", c.name, a.code, c.code, a.body)
				continue
			}
			if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, c.reason) {
				t.Errorf("%s: error %q does not say %q", c.name, msg, c.reason)
			}
		}
		// The ban answer says when it ends.
		if m := s.post("b", "10.9.9.7", "com", "x").json(t); m["expires"] != "2026-11-24T10:00:00Z" {
			t.Errorf("ban answer: %v", m)
		}

		raw := func(ct, body string) answer {
			req, _ := http.NewRequest("POST", s.url+"/b/post", strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Forwarded-For", "10.2.0.1")
			return s.do(req)
		}
		for _, c := range []struct {
			name, ct, body string
			code           int
		}{
			{"malformed multipart", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"com\"\r\n\r\nhello", 400},
			{"multipart without boundary", "multipart/form-data", "com=x", 400},
			{"not a form", "text/plain", "com=x", 400},
			{"too large", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n" +
				strings.Repeat("a", 10<<20) + "\r\n--xyz--\r\n", 413}, // past the file limit and the fields
		} {
			a := raw(c.ct, c.body)
			if a.code != c.code || a.json(t)["error"] == "" {
				t.Errorf("%s: answered %d, want %d: %s", c.name, a.code, c.code, a.body)
			}
		}

		// A body that says it is past the board's limit is refused before
		// any of it is read: here none of it is ever sent.
		c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"+
			"Accept: application/json\r\nX-Forwarded-For: 10.2.0.9\r\nContent-Length: %d\r\n\r\n", 9<<20)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a body said to be 9 MiB, not sent: no answer: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(got), "larger than this board") {
			t.Errorf("a body said to be 9 MiB: %d %s, want 413 naming the board's limit", resp.StatusCode, got)
		}

		// A file is refused, not dropped.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("com", "with a file")
		fw, _ := mw.CreateFormFile("upfile", "cat.png")
		fw.Write([]byte("\x89PNG..."))
		mw.Close()
		if a := raw(mw.FormDataContentType(), body.String()); a.code != 400 {
			t.Errorf("file answered %d", a.code)
		}

		// A form post that is refused gets a page that says why.
		ct, fb := form(t, "com", "")
		req, _ := http.NewRequest("POST", s.url+"/b/post", fb)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", "10.3.0.1")
		if a := s.do(req); a.code != 400 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(a.body), "empty") {
			t.Errorf("refused form post: %d %s %s", a.code, a.header.Get("Content-Type"), a.body)
		}

		// Nothing changed: two threads, one post each, and the next post takes the next number.
		for _, no := range []int64{op, closedOp} {
			if n := len(s.thread("b", no)); n != 1 {
				t.Errorf("thread %d has %d posts", no, n)
			}
		}
		if next := s.mustPost("b", "10.4.0.1", "resto", resto, "com", long(2000)); next != closedOp+1 {
			t.Errorf("next post is No.%d, want %d: a refusal took a number", next, closedOp+1)
		}
	})
}

func TestCooldownAndTrustedProxies(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		a := s.post("b", "10.0.0.1", "resto", fmt.Sprint(op), "com", "too soon")
		if a.code != http.StatusTooManyRequests || !strings.Contains(a.json(t)["error"].(string), "10 more seconds") {
			t.Fatalf("cooldown answered %d %s", a.code, a.body)
		}
		s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "another address") // a different poster behind the proxy
		s.advance(10 * time.Second)
		s.mustPost("b", "10.0.0.1", "resto", fmt.Sprint(op), "com", "after the wait")
		// The rightmost untrusted address counts: a spoofed left entry changes nothing.
		if a := s.post("b", "6.6.6.6, 10.0.0.1", "resto", fmt.Sprint(op), "com", "spoof"); a.code != 429 {
			t.Errorf("spoofed X-Forwarded-For answered %d", a.code)
		}

		// Without trusted proxies X-Forwarded-For is ignored: every post is 127.0.0.1's.
		u := newSite(t, kind, "")
		op2 := u.mustPost("b", "10.0.0.1", "com", "op")
		if a := u.post("b", "10.0.0.9", "resto", fmt.Sprint(op2), "com", "x"); a.code != 429 {
			t.Errorf("untrusted X-Forwarded-For was believed: %d %s", a.code, a.body)
		}
	})
}

func TestTripcodesAndPosterIDs(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ids := maniwani.DefaultBoard()
		ids.Name, ids.PosterIDs = "pol", true
		s := newSite(t, kind, "127.0.0.1/32", maniwani.DefaultBoard(), ids)
		op := s.mustPost("b", "10.0.0.1", "com", "x", "name", "Kim#password")
		r := s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "x", "name", "##secret")
		posts := s.thread("b", op)
		// "#password" -> !ozOtJW9BFA is the pair published by guro.cx's tripcode FAQ.
		if posts[0]["name"] != "Kim" || posts[0]["trip"] != "!ozOtJW9BFA" {
			t.Errorf("classic tripcode: %v %v", posts[0]["name"], posts[0]["trip"])
		}
		trip, _ := posts[1]["trip"].(string)
		if posts[1]["no"] != float64(r) || posts[1]["name"] != "Anonymous" || !strings.HasPrefix(trip, "!!") || len(trip) != 12 {
			t.Errorf("secure tripcode: %v %v", posts[1]["name"], trip)
		}
		if _, ok := posts[0]["id"]; ok {
			t.Errorf("board b shows poster IDs")
		}

		t1 := s.mustPost("pol", "10.0.0.1", "com", "x")
		s.mustPost("pol", "10.0.0.2", "resto", fmt.Sprint(t1), "com", "x")
		s.advance(time.Minute)
		s.mustPost("pol", "10.0.0.1", "resto", fmt.Sprint(t1), "com", "x")
		t2 := s.mustPost("pol", "10.0.0.1", "com", "x")
		p1, p2 := s.thread("pol", t1), s.thread("pol", t2)
		id := func(p map[string]any) string { v, _ := p["id"].(string); return v }
		if len(id(p1[0])) != 8 || id(p1[0]) != id(p1[2]) {
			t.Errorf("one address in one thread: ids %q %q", id(p1[0]), id(p1[2]))
		}
		if id(p1[0]) == id(p1[1]) {
			t.Errorf("two addresses share id %q", id(p1[0]))
		}
		if id(p1[0]) == id(p2[0]) {
			t.Errorf("one address has the same id in two threads")
		}
		for _, p := range append(p1, p2...) {
			if b, _ := json.Marshal(p); strings.Contains(string(b), "10.0.0") {
				t.Errorf("an address reached the JSON: %s", b)
			}
		}
	})
}

func TestConditionalGET(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "x")
		for _, p := range []string{fmt.Sprintf("/b/thread/%d.json", op), "/b/catalog.json", "/b/threads.json",
			"/b/1.json", "/b/archive.json", "/boards.json"} {
			a := s.get(p)
			etag, lm := a.header.Get("ETag"), a.header.Get("Last-Modified")
			if a.code != 200 || etag == "" || lm == "" || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d etag %q last-modified %q", p, a.code, etag, lm)
			}
			if c := s.get(p, "If-None-Match", etag).code; c != 304 {
				t.Errorf("%s If-None-Match answered %d", p, c)
			}
			if c := s.get(p, "If-Modified-Since", lm).code; c != 304 {
				t.Errorf("%s If-Modified-Since answered %d", p, c)
			}
		}
		path := fmt.Sprintf("/b/thread/%d.json", op)
		etag := s.get(path).header.Get("ETag")
		s.advance(time.Minute)
		s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "new")
		a := s.get(path, "If-None-Match", etag)
		if a.code != 200 || a.header.Get("ETag") == etag {
			t.Errorf("after a reply the old ETag answered %d", a.code)
		}
	})
}

func TestArchiveAndSage(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		b := maniwani.DefaultBoard()
		b.MaxThreads, b.CooldownThread, b.CooldownReply = 2, 0, 0
		s := newSite(t, kind, "127.0.0.1/32", b)
		t1 := s.mustPost("b", "10.0.0.1", "com", "one")
		s.advance(time.Second)
		t2 := s.mustPost("b", "10.0.0.1", "com", "two")
		s.advance(time.Second)
		s.mustPost("b", "10.0.0.1", "resto", fmt.Sprint(t1), "com", "sage", "email", "sage")
		var threads []struct{ Threads []struct{ No int64 } }
		json.Unmarshal(s.get("/b/threads.json").body, &threads)
		if threads[0].Threads[0].No != t2 {
			t.Errorf("a sage reply bumped: %+v", threads)
		}
		s.advance(time.Second)
		t3 := s.mustPost("b", "10.0.0.1", "com", "three")
		if a := s.get("/b/archive.json"); strings.TrimSpace(string(a.body)) != fmt.Sprintf("[%d]", t1) {
			t.Fatalf("archive.json %s, want [%d]", a.body, t1)
		}
		op := s.thread("b", t1)[0]
		if op["archived"] != 1.0 || op["closed"] != 1.0 || op["archived_on"] == nil {
			t.Errorf("archived OP %v", op)
		}
		if a := s.post("b", "10.0.0.1", "resto", fmt.Sprint(t1), "com", "late"); a.code != 403 {
			t.Errorf("reply to an archived thread answered %d", a.code)
		}
		json.Unmarshal(s.get("/b/threads.json").body, &threads)
		if n := len(threads[0].Threads); n != 2 || threads[0].Threads[0].No != t3 {
			t.Errorf("live threads %+v", threads)
		}
	})
}

// com is rendered from markup at post time, with quotes resolved to their
// threads and kept as backlinks.
func TestMarkupAndQuotes(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		g := maniwani.DefaultBoard()
		g.Name = "g"
		s := newSite(t, kind, "127.0.0.1/32", maniwani.DefaultBoard(), g)
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		other := s.mustPost("b", "10.0.0.2", "com", "another thread")
		gop := s.mustPost("g", "10.0.0.3", "com", "on g")
		body := fmt.Sprintf(">be me\n>>%d\n>>%d\n>>>/g/%d\n>>999999\n||secret||\n<script>x</script>", op, other, gop)
		r := s.mustPost("b", "10.0.0.4", "resto", fmt.Sprint(op), "com", body)
		com := s.thread("b", op)[1]["com"].(string)
		for _, want := range []string{
			`<span class="quote">&gt;be me</span>`,
			fmt.Sprintf(`<a href="/b/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a>`, op, op, op),
			fmt.Sprintf(`<a href="/b/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a>`, other, other, other),
			fmt.Sprintf(`<a href="/g/thread/%d#p%d" class="quotelink">&gt;&gt;&gt;/g/%d</a>`, gop, gop, gop),
			`<span class="deadlink">&gt;&gt;999999</span>`, `<s>secret</s>`, `&lt;script&gt;`,
		} {
			if !strings.Contains(com, want) {
				t.Errorf("com lacks %s:\n%s", want, com)
			}
		}
		bl, err := s.store.Backlinks(context.Background(), "b", other)
		if err != nil || len(bl[other]) != 1 || bl[other][0].No != r {
			t.Errorf("backlinks of the other thread: %v %v", bl, err)
		}
		bl, _ = s.store.Backlinks(context.Background(), "g", gop)
		if len(bl[gop]) != 1 || bl[gop][0] != (maniwani.Ref{Board: "b", No: r}) {
			t.Errorf("backlinks on /g/: %v", bl)
		}
	})
}

func TestRerender(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", fmt.Sprintf(">>%d\n>green", op))
		want := s.thread("b", op)[1]["com"]
		// As if an older renderer had made it.
		posts, err := s.store.PostsAfter(ctx, 0, 10)
		if err != nil || len(posts) != 2 {
			t.Fatalf("PostsAfter: %v %v", posts, err)
		}
		if err := s.store.SetCom(ctx, posts[1].ID, "old output"); err != nil {
			t.Fatal(err)
		}
		svc, err := api.New(api.Config{}, api.Deps{Store: s.store, Renderer: markdown.NewRenderer(markdown.RendererConfig{})})
		if err != nil {
			t.Fatal(err)
		}
		seen, changed, err := svc.Rerender(ctx)
		if err != nil || seen != 2 || changed != 1 {
			t.Fatalf("Rerender: seen %d changed %d, %v", seen, changed, err)
		}
		if got := s.thread("b", op)[1]["com"]; got != want {
			t.Fatalf("after Rerender com is %q, want %q", got, want)
		}
		if _, changed, _ := svc.Rerender(ctx); changed != 0 {
			t.Fatalf("a second Rerender changed %d posts", changed)
		}
	})
}

// sendForm posts a JSON-answered form to a board's path from the address ip.
func (s *site) sendForm(path, ip string, fields ...string) answer {
	s.t.Helper()
	ct, body := form(s.t, fields...)
	req, _ := http.NewRequest("POST", s.url+path, body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return s.do(req)
}

// A poster deletes their own post with its password; a reply leaves the
// thread one reply shorter, an opening post takes the thread with it.
func TestSelfDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op", "pwd", "op-secret")
		r1 := s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "mine", "pwd", "hunter2")
		r2 := s.mustPost("b", "10.0.0.3", "resto", fmt.Sprint(op), "com", fmt.Sprintf(">>%d no password", r1))
		for _, c := range []struct {
			name   string
			fields []string
			code   int
		}{
			{"wrong password", []string{"no", fmt.Sprint(r1), "pwd", "guess"}, 403},
			{"no password given", []string{"no", fmt.Sprint(r1)}, 403},
			{"post made without a password", []string{"no", fmt.Sprint(r2), "pwd", ""}, 403},
			{"post made without a password, any guess", []string{"no", fmt.Sprint(r2), "pwd", "x"}, 403},
			{"no such post", []string{"no", "99999", "pwd", "hunter2"}, 404},
			{"not a number", []string{"no", "abc", "pwd", "hunter2"}, 400},
		} {
			if a := s.sendForm("/b/delete", "10.0.0.9", c.fields...); a.code != c.code || a.json(t)["error"] == "" {
				t.Errorf("%s: %d %s, want %d", c.name, a.code, a.body, c.code)
			}
		}
		if n := len(s.thread("b", op)); n != 3 {
			t.Fatalf("refused deletes changed the thread: %d posts", n)
		}
		if a := s.sendForm("/b/delete", "10.0.0.2", "no", fmt.Sprint(r1), "pwd", "hunter2"); a.code != 200 {
			t.Fatalf("delete with the right password: %d %s", a.code, a.body)
		}
		posts := s.thread("b", op)
		if len(posts) != 2 || posts[0]["replies"] != 1.0 || posts[1]["no"] != float64(r2) {
			t.Fatalf("after the delete: %d posts, replies %v", len(posts), posts[0]["replies"])
		}
		if bl, _ := s.store.Backlinks(context.Background(), "b", op); len(bl) != 0 {
			t.Errorf("backlinks of a deleted post's quotes remain: %v", bl)
		}
		// The opening post takes the thread with it.
		if a := s.sendForm("/b/delete", "10.0.0.1", "no", fmt.Sprint(op), "pwd", "op-secret"); a.code != 200 {
			t.Fatalf("deleting the OP: %d %s", a.code, a.body)
		}
		if a := s.get(fmt.Sprintf("/b/thread/%d.json", op)); a.code != 404 {
			t.Fatalf("the deleted thread answers %d", a.code)
		}
		var threads []struct{ Threads []any }
		json.Unmarshal(s.get("/b/threads.json").body, &threads)
		if len(threads) != 1 || len(threads[0].Threads) != 0 {
			t.Fatalf("threads.json after the delete: %s", s.get("/b/threads.json").body)
		}
		// An archived thread's posts stay.
		old := s.mustPost("b", "10.0.0.4", "com", "to the archive", "pwd", "mine")
		if err := s.store.UpdateBoard(context.Background(), func() maniwani.Board {
			b := maniwani.DefaultBoard()
			b.MaxThreads = 1
			return b
		}()); err != nil {
			t.Fatal(err)
		}
		s.advance(time.Minute)
		s.mustPost("b", "10.0.0.5", "com", "pushes it out")
		if a := s.sendForm("/b/delete", "10.0.0.4", "no", fmt.Sprint(old), "pwd", "mine"); a.code != 409 {
			t.Errorf("deleting one's archived thread: %d %s, want 409", a.code, a.body)
		}
	})
}

func TestReports(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "spam")
		if a := s.sendForm("/b/report", "10.0.0.2", "no", fmt.Sprint(op), "reason", "spam"); a.code != 201 {
			t.Fatalf("report: %d %s", a.code, a.body)
		}
		if a := s.sendForm("/b/report", "10.0.0.2", "no", "99999", "reason", "spam"); a.code != 404 {
			t.Errorf("report of no post: %d", a.code)
		}
		if a := s.sendForm("/b/report", "10.0.0.2", "no", fmt.Sprint(op), "reason", strings.Repeat("x", 201)); a.code != 400 {
			t.Errorf("a too long reason: %d", a.code)
		}
		for i := 0; i < 4; i++ {
			if a := s.sendForm("/b/report", "10.0.0.2", "no", fmt.Sprint(op)); a.code != 201 {
				t.Fatalf("report %d: %d %s", i+2, a.code, a.body)
			}
		}
		if a := s.sendForm("/b/report", "10.0.0.2", "no", fmt.Sprint(op)); a.code != 429 {
			t.Errorf("the sixth report in a minute answered %d", a.code)
		}
		if a := s.sendForm("/b/report", "10.0.0.3", "no", fmt.Sprint(op)); a.code != 201 {
			t.Errorf("another address is not limited: %d", a.code)
		}
		s.advance(time.Minute)
		if a := s.sendForm("/b/report", "10.0.0.2", "no", fmt.Sprint(op)); a.code != 201 {
			t.Errorf("a minute later: %d", a.code)
		}
		// Bans hold on reports and on self-delete.
		if _, err := s.store.CreateBan(context.Background(), maniwani.Ban{CIDR: "10.0.0.2", Reason: "report spam", Created: s.clock()}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/b/report", "/b/delete"} {
			a := s.sendForm(p, "10.0.0.2", "no", fmt.Sprint(op), "pwd", "x")
			if a.code != 403 || !strings.Contains(a.json(t)["error"].(string), "report spam") {
				t.Errorf("banned %s: %d %s", p, a.code, a.body)
			}
		}
	})
}

// Item 13 of issue 18: a thread's posters (4chan's unique_ips in the
// opening post's JSON, an address key once however often it posts) and
// the index page it is on.
func TestThreadStats(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		ctx := context.Background()
		op := s.mustPost("b", "10.4.0.1", "com", "op")
		s.mustPost("b", "10.4.0.2", "resto", fmt.Sprint(op), "com", "one")
		s.advance(time.Minute)
		s.mustPost("b", "10.4.0.2", "resto", fmt.Sprint(op), "com", "the same poster again")
		s.mustPost("b", "2001:db8::1", "resto", fmt.Sprint(op), "com", "v6")
		s.advance(time.Minute)
		s.mustPost("b", "2001:db8::2", "resto", fmt.Sprint(op), "com", "the same /64")
		if p := s.thread("b", op)[0]; p["unique_ips"] != 3.0 {
			t.Errorf("unique_ips %v, want 3", p["unique_ips"])
		}
		// Fifteen newer threads push it to page 2.
		for i := range maniwani.ThreadsPerPage {
			s.advance(time.Minute)
			s.mustPost("b", fmt.Sprintf("10.4.1.%d", i+1), "com", fmt.Sprint("newer ", i))
		}
		v, err := s.store.Thread(ctx, "b", op)
		if err != nil || v.Page != 2 || v.Posters != 3 {
			t.Fatalf("the thread: page %d, posters %d, %v; want 2 and 3", v.Page, v.Posters, err)
		}
		vs, err := s.store.Threads(ctx, "b", 0, 100, 0)
		if err != nil || len(vs) != 16 || vs[15].No != op || vs[15].Page != 2 || vs[0].Page != 1 || vs[15].Posters != 3 {
			t.Fatalf("the index: %d threads, %v", len(vs), err)
		}
	})
}
