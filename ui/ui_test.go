package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/ui"
)

// site is the ui over the real api on SQLite: the api is its Reader, and
// posts go through the api's handler as a browser's would.
type site struct {
	t   testing.TB
	api http.Handler
	ui  http.Handler
	ips int
}

func newSite(t testing.TB, boards ...maniwani.Board) *site {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "maniwani.db")})
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
	a, err := api.New(api.Config{}, api.Deps{Store: st, Renderer: markdown.NewRenderer(markdown.RendererConfig{})})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(ui.Config{}, ui.Deps{Reader: a})
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, api: a.Handler(), ui: u.Handler()}
}

// post posts to board from an address of its own (no cooldown) and returns
// the thread and the post's number.
func (s *site) post(board string, resto int64, fields ...string) (thread, no int64) {
	s.t.Helper()
	v := url.Values{"resto": {fmt.Sprint(resto)}}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Set(fields[i], fields[i+1])
	}
	req := httptest.NewRequest("POST", "/"+board+"/post", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	s.ips++
	req.RemoteAddr = fmt.Sprintf("10.1.%d.%d:1234", s.ips/250, s.ips%250+1)
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	var out struct{ Thread, No int64 }
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		s.t.Fatalf("post: %d %s", w.Code, w.Body)
	}
	return out.Thread, out.No
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func (s *site) get(path string, header ...string) answer {
	s.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ui.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return answer{w.Code, w.Result().Header, string(b)}
}

// page GETs a page that must be there.
func (s *site) page(path string) string {
	s.t.Helper()
	a := s.get(path)
	if a.code != http.StatusOK || a.header.Get("Content-Type") != "text/html; charset=utf-8" {
		s.t.Fatalf("GET %s: %d %q\n%s", path, a.code, a.header.Get("Content-Type"), a.body)
	}
	return a.body
}

func TestPages(t *testing.T) {
	s := newSite(t)
	th, _ := s.post("b", 0, "sub", "Greetings", "com", "hello from the op")
	_, r1 := s.post("b", th, "com", fmt.Sprintf(">>%d nice\n>be me", th), "name", "Kot#secret")
	_, r2 := s.post("b", th, "com", fmt.Sprintf(">>%d >>%d agreed", th, r1))

	home := s.page("/")
	for _, want := range []string{`href="/b/"`, "Random", `href="/b/thread/` + fmt.Sprint(th), "Greetings", "hello from the op"} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %s", want)
		}
	}

	thread := s.page(fmt.Sprintf("/b/thread/%d", th))
	for _, want := range []string{
		fmt.Sprintf(`id="p%d"`, th), fmt.Sprintf(`id="p%d"`, r1), fmt.Sprintf(`id="p%d"`, r2),
		"Greetings", "hello from the op", `<span class="quote">&gt;be me</span>`,
		`<span class="na">Kot</span> <span class="tr">!`,
		`<form class="pf" id="f" action="/b/post" method="post" enctype="multipart/form-data">`,
		fmt.Sprintf(`<input type="hidden" name="resto" value="%d">`, th), `name="upfile"`, `name="com"`,
		fmt.Sprintf(`<div class="bl"><a href="/b/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a> <a href="/b/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a> </div>`, th, r1, r1, th, r2, r2),
		`<title>/b/ - Greetings</title>`,
	} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread page lacks %s", want)
		}
	}
	// Every form control has a label.
	for _, id := range regexp.MustCompile(`<(?:input|textarea|select) id="([^"]+)"`).FindAllStringSubmatch(thread, -1) {
		if !strings.Contains(thread, `<label for="`+id[1]+`"`) {
			t.Errorf("control %s has no label", id[1])
		}
	}
	if strings.Count(thread, "<input")+strings.Count(thread, "<textarea") !=
		len(regexp.MustCompile(`<(?:input|textarea) id=`).FindAllString(thread, -1))+
			strings.Count(thread, `type="hidden"`)+strings.Count(thread, `<label class="ck"><input`) {
		t.Error("a form control without an id (and so without a label)")
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(thread) {
		t.Error("the page loads something from another site")
	}

	index := s.page("/b/")
	for _, want := range []string{`<details class="nt"><summary>Start a new thread</summary>`, `action="/b/post"`, "Greetings",
		fmt.Sprintf(`<a href="/b/thread/%d" class="rl">Reply</a>`, th), `<b aria-current="page">1</b>`, `href="/b/catalog"`} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if strings.Contains(index, `name="resto"`) {
		t.Error("the index's form replies instead of starting a thread")
	}

	catalog := s.page("/b/catalog")
	for _, want := range []string{"Greetings", "hello from the op", "R: <b>2</b> / I: <b>0</b>", fmt.Sprintf(`href="/b/thread/%d"`, th)} {
		if !strings.Contains(catalog, want) {
			t.Errorf("catalog lacks %s", want)
		}
	}
}

// An index page shows each thread's OP with its last 5 replies and says
// how many are left out.
func TestIndexOmits(t *testing.T) {
	s := newSite(t)
	th, _ := s.post("b", 0, "com", "op")
	var nos []int64
	for i := range 8 {
		_, no := s.post("b", th, "com", fmt.Sprint("reply ", i))
		nos = append(nos, no)
	}
	index := s.page("/b/")
	if !strings.Contains(index, `<p class="om">3 replies omitted. <a href="/b/thread/`+fmt.Sprint(th)+`">View the thread</a></p>`) {
		t.Errorf("no omitted line in\n%s", index)
	}
	for i, no := range nos {
		if shown := strings.Contains(index, fmt.Sprintf(`id="p%d"`, no)); shown != (i >= 3) {
			t.Errorf("reply %d shown: %v", i, shown)
		}
	}
}

func TestPagination(t *testing.T) {
	b := maniwani.DefaultBoard()
	b.MaxThreads = 45 // three pages, two of them with threads
	s := newSite(t, b)
	for i := range 17 {
		s.post("b", 0, "com", fmt.Sprint("thread ", i))
	}
	one := s.page("/b/")
	if !strings.Contains(one, `<a href="/b/2" rel="next">Next</a>`) || strings.Count(one, `<article class="t"`) != 15 {
		t.Errorf("page 1: no next link or not 15 threads")
	}
	two := s.page("/b/2")
	if !strings.Contains(two, `<a href="/b/" rel="prev">Previous</a>`) || strings.Count(two, `<article class="t"`) != 2 ||
		strings.Contains(two, `rel="next"`) {
		t.Errorf("page 2:\n%s", two)
	}
	if strings.Contains(two, `href="/b/3"`) || !strings.Contains(two, `<a href="/b/">1</a> <b aria-current="page">2</b>`) {
		t.Errorf("page 2's pager lists pages without threads or misses page 1")
	}
	if a := s.get("/b/3"); a.code != http.StatusNotFound || !strings.Contains(a.body, "/b/ has no threads on page 3.") {
		t.Errorf("/b/3, past the threads: %d", a.code)
	}
	if a := s.get("/b/1"); a.code != http.StatusMovedPermanently || a.header.Get("Location") != "/b/" {
		t.Errorf("/b/1: %d %s", a.code, a.header.Get("Location"))
	}
	if a := s.get("/b"); a.code != http.StatusMovedPermanently || a.header.Get("Location") != "/b/" {
		t.Errorf("/b: %d %s", a.code, a.header.Get("Location"))
	}
}

// Errors are pages that say what happened, with their real status.
func TestNotFound(t *testing.T) {
	s := newSite(t)
	th, _ := s.post("b", 0, "com", "op")
	for path, msg := range map[string]string{
		"/nope/":                             "There is no board /nope/.",
		"/nope":                              "There is no board /nope/.",
		"/nope/catalog":                      "There is no board /nope/.",
		"/b/thread/99999":                    "Thread No.99999 is not on /b/",
		"/b/thread/abc":                      "is not a thread number",
		"/b/11":                              "/b/ has no page &#34;11&#34;: its pages are 1 to 10.",
		"/b/0":                               "its pages are 1 to 10",
		"/b/02":                              "its pages are 1 to 10",
		"/admin/":                            "There is no page at /admin/.",
		"/b/thread/" + fmt.Sprint(th) + "/x": "There is no page",
		"/static/nothing.css":                "",
	} {
		a := s.get(path)
		if a.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, a.code)
			continue
		}
		if msg != "" && (!strings.Contains(a.body, "<html") || !strings.Contains(a.body, msg)) {
			t.Errorf("%s: want a page saying %q:\n%s", path, msg, a.body)
		}
	}
	if a := s.get("/b/thread/99999"); !strings.Contains(a.body, `href="/b/"`) {
		t.Error("a missing thread's page has no way back to its board")
	}
	// A reply's number leads to its thread, at the reply.
	_, reply := s.post("b", th, "com", "a reply")
	if a := s.get(fmt.Sprintf("/b/thread/%d", reply)); a.code != http.StatusFound ||
		a.header.Get("Location") != fmt.Sprintf("/b/thread/%d#p%d", th, reply) {
		t.Errorf("a reply's number: %d %q", a.code, a.header.Get("Location"))
	}
}

// Pages carry an ETag and answer 304 to it; assets have hashed names and
// are kept for good.
func TestCaching(t *testing.T) {
	s := newSite(t)
	th, _ := s.post("b", 0, "com", "op")
	for _, path := range []string{"/", "/b/", "/b/catalog", fmt.Sprintf("/b/thread/%d", th)} {
		a := s.get(path)
		etag := a.header.Get("ETag")
		if etag == "" || a.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: ETag %q, Cache-Control %q", path, etag, a.header.Get("Cache-Control"))
			continue
		}
		if b := s.get(path, "If-None-Match", etag); b.code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match answered %d", path, b.code)
		}
	}
	page := s.page("/b/")
	for _, m := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		a := s.get(m[1], "Accept-Encoding", "gzip")
		if a.code != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %q", m[1], a.code, a.header.Get("Cache-Control"))
		}
		if strings.HasSuffix(m[1], ".js") && a.header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s is not gzipped", m[1])
		}
	}
	if !strings.Contains(page, `<script src="/static/app.`) {
		t.Error("no script")
	}
}

// What a poster types is shown as typed, never as markup.
func TestEscapes(t *testing.T) {
	s := newSite(t)
	evil := `<script>alert(1)</script>"'&`
	th, _ := s.post("b", 0, "sub", evil, "name", evil, "com", evil)
	for _, path := range []string{"/", "/b/", "/b/catalog", fmt.Sprintf("/b/thread/%d", th)} {
		if body := s.page(path); strings.Contains(body, "<script>alert") {
			t.Errorf("%s shows a poster's markup", path)
		}
	}
}
