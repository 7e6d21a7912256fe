package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/ui"
)

const adminPassword = "admin-password-for-tests"

// newAdminSite is the ui over the real api on SQLite, with the admin UI:
// the api's handler is its staff API, as in one process.
func newAdminSite(t *testing.T) *site {
	t.Helper()
	return newAdminSiteTrusting(t, "")
}

// newAdminSiteTrusting is newAdminSite with the api believing the proxies
// of trusted.
func newAdminSiteTrusting(t *testing.T, trusted string) *site {
	t.Helper()
	return newAdminSiteWith(t, trusted, nil)
}

// newAdminSiteWith is newAdminSiteTrusting with the api's Config and Deps
// changed by with, which may use the store.
func newAdminSiteWith(t *testing.T, trusted string, with func(*api.Config, *api.Deps)) *site {
	t.Helper()
	proxies, err := realip.Parse(trusted)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "maniwani.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	if err := api.Bootstrap(ctx, st, adminPassword, log); err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Logger: log, Proxies: proxies}
	deps := api.Deps{Store: st, Renderer: markdown.NewRenderer(markdown.RendererConfig{Logger: log})}
	if with != nil {
		with(&cfg, &deps)
	}
	a, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(ui.Config{Logger: log}, ui.Deps{Reader: a, Staff: a})
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, api: a.Handler(), ui: u.Handler()}
}

// staffBrowser is a browser on the admin UI: it keeps its cookies and the
// CSRF token of the last page it read.
type staffBrowser struct {
	t       testing.TB
	s       *site
	ip      string
	cookies map[string]string
	csrf    string
}

func (s *site) browser(ip string) *staffBrowser {
	return &staffBrowser{t: s.t, s: s, ip: ip, cookies: map[string]string{}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (b *staffBrowser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = b.ip + ":4321"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.s.ui.ServeHTTP(w, req)
	res := w.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	got, _ := io.ReadAll(res.Body)
	a := answer{w.Code, res.Header, string(got)}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		b.t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, cc)
	}
	if m := csrfField.FindStringSubmatch(a.body); m != nil {
		b.csrf = m[1]
	}
	return a
}

// page GETs an admin page that must be there.
func (b *staffBrowser) page(path string) string {
	b.t.Helper()
	a := b.do("GET", path, nil)
	if a.code != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s\n%s", path, a.code, a.header.Get("Location"), a.body)
	}
	return a.body
}

// submit posts a form (fields are name, value pairs) with the CSRF token of
// the last page and returns where the browser is sent and the message it
// carries: done, or err prefixed "error: ".
func (b *staffBrowser) submit(path string, fields ...string) (to, msg string) {
	b.t.Helper()
	form := url.Values{"csrf": {b.csrf}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Add(fields[i], fields[i+1])
	}
	a := b.do("POST", path, form)
	if a.code != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d, want 303\n%s", path, a.code, a.body)
	}
	loc, _ := url.Parse(a.header.Get("Location"))
	if e := loc.Query().Get("err"); e != "" {
		return loc.Path, "error: " + e
	}
	return loc.Path, loc.Query().Get("done")
}

func (b *staffBrowser) login(user, password string) {
	b.t.Helper()
	a := b.do("POST", "/admin/login", url.Values{"username": {user}, "password": {password}, "next": {"/admin/"}})
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/admin/" || b.cookies[api.SessionCookie] == "" {
		b.t.Fatalf("login as %s: %d to %q, cookies %v\n%s", user, a.code, a.header.Get("Location"), b.cookies, a.body)
	}
}

// report reports a post as a poster would.
func (s *site) report(board string, no int64, reason, ip string) {
	s.t.Helper()
	req := httptest.NewRequest("POST", "/"+board+"/report", strings.NewReader(url.Values{"no": {fmt.Sprint(no)}, "reason": {reason}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.RemoteAddr = ip + ":1234"
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		s.t.Fatalf("report: %d %s", w.Code, w.Body)
	}
}

// postFrom posts to a board from ip and returns the api's status and body.
func (s *site) postFrom(ip, board string, resto int64, com string) (int, string) {
	req := httptest.NewRequest("POST", "/"+board+"/post", strings.NewReader(url.Values{"resto": {fmt.Sprint(resto)}, "com": {com}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = ip + ":1234"
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (s *site) threadCom(board string, thread int64) []string {
	s.t.Helper()
	req := httptest.NewRequest("GET", fmt.Sprintf("/%s/thread/%d.json", board, thread), nil)
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	var v struct{ Posts []struct{ Com string } }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		s.t.Fatalf("thread %d: %d %s", thread, w.Code, w.Body)
	}
	out := make([]string, len(v.Posts))
	for i, p := range v.Posts {
		out[i] = p.Com
	}
	return out
}

func TestAdminLogin(t *testing.T) {
	s := newAdminSite(t)
	b := s.browser("10.3.0.1")
	for _, path := range []string{"/admin/", "/admin/reports", "/admin/bans?x=1"} {
		a := b.do("GET", path, nil)
		if want := "/admin/login?next=" + url.QueryEscape(path); a.code != http.StatusSeeOther || a.header.Get("Location") != want {
			t.Errorf("GET %s logged out: %d to %q, want 303 to %q", path, a.code, a.header.Get("Location"), want)
		}
	}
	if a := b.do("GET", "/admin", nil); a.header.Get("Location") != "/admin/" {
		t.Errorf("/admin: to %q", a.header.Get("Location"))
	}
	form := b.page("/admin/login?next=/admin/log")
	if !strings.Contains(form, `name="next" value="/admin/log"`) || !strings.Contains(form, `type="password"`) {
		t.Errorf("login form:\n%s", form)
	}
	if f := b.page("/admin/login?next=https://evil.example/"); !strings.Contains(f, `name="next" value="/admin/"`) {
		t.Error("the login's next may lead off the site")
	}
	a := b.do("POST", "/admin/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	if a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Wrong username or password.") || len(b.cookies) != 0 {
		t.Errorf("wrong password: %d %v\n%s", a.code, b.cookies, a.body)
	}
	a = b.do("POST", "/admin/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "next": {"/admin/log"}})
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/admin/log" {
		t.Fatalf("login: %d to %q\n%s", a.code, a.header.Get("Location"), a.body)
	}
	if c := a.header.Get("Set-Cookie"); !strings.Contains(c, api.SessionCookie+"=") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("session cookie passed on as %q", c)
	}
	dash := b.page("/admin/")
	for _, want := range []string{"Dashboard", "admin", `href="/admin/reports"`, `href="/admin/bans"`, `href="/admin/boards"`,
		`href="/admin/staff"`, `href="/admin/log"`, "open reports", `action="/admin/logout"`} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if a := b.do("GET", "/admin/", nil); a.header.Get("X-Frame-Options") != "DENY" {
		t.Error("the admin pages may be framed")
	}
	// Logging out ends the session; the device cookie stays, as the mark
	// of a browser the account logs in from.
	if to, _ := b.submit("/admin/logout"); to != "/admin/login" || b.cookies[api.SessionCookie] != "" ||
		b.cookies[api.DeviceCookie] == "" {
		t.Errorf("logout: to %q, cookies %v", to, b.cookies)
	}
	if a := b.do("GET", "/admin/", nil); a.code != http.StatusSeeOther {
		t.Errorf("after logout: %d", a.code)
	}
}

// Behind a trusted TLS proxy the login form's cookies are Secure, as the
// staff API's own login's are: the ui tells the api what the proxy said.
func TestAdminLoginBehindTLSProxy(t *testing.T) {
	for _, c := range []struct {
		trusted string
		secure  bool
	}{{"127.0.0.1/32", true}, {"", false}} {
		s := newAdminSiteTrusting(t, c.trusted)
		form := url.Values{"username": {"admin"}, "password": {adminPassword}}
		req := httptest.NewRequest("POST", "/admin/login", strings.NewReader(form.Encode()))
		req.RemoteAddr = "127.0.0.1:4321"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "10.4.0.1")
		req.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		s.ui.ServeHTTP(w, req)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("login: %d\n%s", w.Code, w.Body)
		}
		cookies := map[string]*http.Cookie{}
		for _, ck := range w.Result().Cookies() {
			cookies[ck.Name] = ck
		}
		for _, name := range []string{api.SessionCookie, api.DeviceCookie} {
			if ck := cookies[name]; ck == nil || ck.Secure != c.secure {
				t.Errorf("trusted proxies %q, X-Forwarded-Proto https: cookie %s is %v, want Secure=%v", c.trusted, name, ck, c.secure)
			}
		}
	}
}

// The admin's own browser logs in through the form while strangers' wrong
// passwords have spent the account's budget: the form passes the device
// cookie on both ways.
func TestAdminLoginDevice(t *testing.T) {
	s := newAdminSite(t)
	b := s.browser("10.4.1.1")
	b.login("admin", adminPassword)
	if b.cookies[api.DeviceCookie] == "" {
		t.Fatalf("the form's login left no device cookie: %v", b.cookies)
	}
	b.page("/admin/")
	b.submit("/admin/logout")
	for i := range 5 {
		a := s.browser(fmt.Sprintf("10.4.2.%d", i+1)).do("POST", "/admin/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
		if a.code != http.StatusUnauthorized {
			t.Fatalf("a stranger's wrong password #%d: %d", i+1, a.code)
		}
	}
	a := s.browser("10.4.3.1").do("POST", "/admin/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	if a.code != http.StatusTooManyRequests || !strings.Contains(a.body, "Too many failed logins") || a.header.Get("Retry-After") == "" {
		t.Errorf("a stranger's browser with the right password: %d, Retry-After %q\n%s", a.code, a.header.Get("Retry-After"), a.body)
	}
	b.ip = "10.4.4.1" // the admin's browser, elsewhere now
	b.login("admin", adminPassword)
}

// A login form too large to read is refused by the ui, not sent on cut
// short (where it cost a hash and a failure of the address's).
func TestAdminLoginTooLarge(t *testing.T) {
	s := newAdminSite(t)
	b := s.browser("10.4.5.1")
	for i := range 10 {
		a := b.do("POST", "/admin/login", url.Values{"username": {"admin"}, "password": {strings.Repeat("a", 20<<10)}})
		if a.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("an oversized login form #%d: %d, want 413", i+1, a.code)
		}
	}
	b.login("admin", adminPassword)
}

// The report queue, the post in place, a ban from the report with its
// public note, and the banned poster refused.
func TestAdminReportBan(t *testing.T) {
	s := newAdminSite(t)
	th, _ := s.post("b", 0, "com", "an innocent thread")
	_, bad := s.post("b", th, "com", "buy cheap watches")
	s.report("b", bad, "spam", "10.8.0.1")
	s.report("b", th, "I just don't like it", "10.8.0.2")

	b := s.browser("10.3.0.2")
	b.login("admin", adminPassword)
	if d := b.page("/admin/"); !strings.Contains(d, "<b>2</b> open reports") || !strings.Contains(d, "<b>0</b> bans") ||
		!strings.Contains(d, "<b>1</b> staff") {
		t.Errorf("dashboard does not count 2 reports, 0 bans, 1 staff:\n%s", d)
	}
	q := b.page("/admin/reports")
	for _, want := range []string{"buy cheap watches", "an innocent thread", "“spam”", `class="ip"`,
		fmt.Sprintf(`/admin/ban?board=b&amp;no=%d&amp;report=`, bad), "Dismiss", "Delete post"} {
		if !strings.Contains(q, want) {
			t.Errorf("report queue lacks %q:\n%s", want, q)
		}
	}
	m := regexp.MustCompile(`/admin/ban\?board=b&amp;no=` + fmt.Sprint(bad) + `&amp;report=(\d+)`).FindStringSubmatch(q)
	if m == nil {
		t.Fatal("no ban link for the report")
	}
	form := b.page(fmt.Sprintf("/admin/ban?board=b&no=%d&report=%s&back=/admin/reports", bad, m[1]))
	ip := regexp.MustCompile(`name="target" value="([^"]+)"`).FindStringSubmatch(form)
	if ip == nil || !strings.HasPrefix(ip[1], "10.1.") || !strings.Contains(form, "USER WAS BANNED FOR THIS POST") ||
		!strings.Contains(form, `name="back" value="/admin/reports"`) {
		t.Fatalf("ban form:\n%s", form)
	}
	to, msg := b.submit("/admin/bans", "back", "/admin/reports", "target", ip[1], "duration", "24h", "reason", "spam",
		"board", "", "post_board", "b", "post_no", fmt.Sprint(bad), "public", "1", "report", m[1], "resolve", "1")
	if to != "/admin/reports" || !strings.HasPrefix(msg, "Banned "+ip[1]+"/32 until ") {
		t.Fatalf("ban: to %s, %q", to, msg)
	}
	if coms := s.threadCom("b", th); !strings.Contains(coms[1], "USER WAS BANNED FOR THIS POST") {
		t.Errorf("no public note on the post: %q", coms[1])
	}
	code, page := s.postFrom(ip[1], "b", th, "am I banned?")
	if code != http.StatusForbidden || !strings.Contains(page, "spam") || !strings.Contains(page, "It ends") {
		t.Errorf("banned poster: %d\n%s", code, page)
	}
	q = b.page("/admin/reports?done=x")
	if strings.Contains(q, "buy cheap watches") || !strings.Contains(q, "an innocent thread") {
		t.Errorf("the ban did not resolve its report:\n%s", q)
	}
	m = regexp.MustCompile(`action="/admin/reports/(\d+)/dismiss"`).FindStringSubmatch(q)
	if m == nil {
		t.Fatal("no dismiss form")
	}
	if to, msg := b.submit("/admin/reports/"+m[1]+"/dismiss", "back", "/admin/reports"); to != "/admin/reports" || msg != "Dismissed report #"+m[1]+"." {
		t.Errorf("dismiss: %s %q", to, msg)
	}
	if q := b.page("/admin/reports"); !strings.Contains(q, "No open reports") {
		t.Errorf("queue not empty:\n%s", q)
	}
	bans := b.page("/admin/bans")
	if !strings.Contains(bans, ip[1]+"/32") || !strings.Contains(bans, "spam") || !strings.Contains(bans, "all boards") {
		t.Errorf("bans page:\n%s", bans)
	}
	log := b.page("/admin/log")
	for _, want := range []string{"dismiss report", "admin", "ban"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	id := regexp.MustCompile(`action="/admin/bans/(\d+)/lift"`).FindStringSubmatch(bans)
	if to, msg := b.submit("/admin/bans/"+id[1]+"/lift", "back", "/admin/bans"); to != "/admin/bans" || !strings.HasPrefix(msg, "Lifted") {
		t.Errorf("lift: %s %q", to, msg)
	}
	if code, page := s.postFrom(ip[1], "b", th, "back again"); code == http.StatusForbidden { // a cooldown's 429 is fine
		t.Errorf("after the ban was lifted: %d %s", code, page)
	}
	// A range, and a permanent ban; a bad address is the form's error.
	b.page("/admin/ban")
	if _, msg := b.submit("/admin/bans", "target", "2001:db8::/48", "duration", "perm", "reason", "range"); msg != "Banned 2001:db8::/48 for good." {
		t.Errorf("range ban: %q", msg)
	}
	if _, msg := b.submit("/admin/bans", "target", "10.0.0.300", "duration", "24h", "reason", "x"); !strings.Contains(msg, "is not an IPv4 or IPv6 address") {
		t.Errorf("bad address: %q", msg)
	}
	if _, msg := b.submit("/admin/bans", "target", "10.0.0.3", "custom", "2w", "reason", "two weeks"); !strings.Contains(msg, "until") {
		t.Errorf("custom length: %q", msg)
	}

	// A range wider than an IPv4 /16: an admin ticks the box for it; a
	// moderator has none.
	const wide = `name="confirm_wide"`
	if form := b.page("/admin/ban"); !strings.Contains(form, wide) {
		t.Errorf("the admin's ban form has no box to confirm a wide range:\n%s", form)
	}
	if _, msg := b.submit("/admin/bans", "target", "10.0.0.0/8", "duration", "perm", "reason", "wide"); !strings.Contains(msg, "wider than an IPv4 /16") {
		t.Errorf("a wide range unconfirmed: %q", msg)
	}
	if _, msg := b.submit("/admin/bans", "target", "10.0.0.0/8", "duration", "perm", "reason", "wide", "confirm_wide", "1"); msg != "Banned 10.0.0.0/8 for good." {
		t.Errorf("a wide range confirmed: %q", msg)
	}
	b.page("/admin/staff")
	if _, msg := b.submit("/admin/staff", "username", "mod", "password", "moderator-password", "role", "moderator"); msg != "Added mod as moderator." {
		t.Fatalf("add a moderator: %q", msg)
	}
	mod := s.browser("10.3.0.9")
	mod.login("mod", "moderator-password")
	if form := mod.page("/admin/ban"); strings.Contains(form, wide) {
		t.Errorf("a moderator's ban form offers a wide range")
	}
}

func TestAdminDeleteAndThreads(t *testing.T) {
	s := newAdminSite(t)
	th, _ := s.post("b", 0, "com", "thread one")
	s.postFrom("10.9.0.7", "b", th, "first from seven")
	b := s.browser("10.3.0.3")
	b.login("admin", adminPassword)

	post := b.page(fmt.Sprintf("/admin/posts/b/%d", th))
	for _, want := range []string{"thread one", "Delete the thread", "Make sticky", "Lock", "Ban the poster"} {
		if !strings.Contains(post, want) {
			t.Errorf("post page lacks %q:\n%s", want, post)
		}
	}
	if _, msg := b.submit(fmt.Sprintf("/admin/threads/b/%d", th), "set", "sticky", "back", fmt.Sprintf("/admin/posts/b/%d", th)); !strings.Contains(msg, "is sticky") {
		t.Errorf("sticky: %q", msg)
	}
	if _, msg := b.submit(fmt.Sprintf("/admin/threads/b/%d", th), "set", "close"); !strings.Contains(msg, "is locked") {
		t.Errorf("lock: %q", msg)
	}
	if post := b.page(fmt.Sprintf("/admin/posts/b/%d", th)); !strings.Contains(post, "Now: sticky, locked.") || !strings.Contains(post, "Unlock") {
		t.Errorf("thread flags not shown:\n%s", post)
	}
	if code, _ := s.postFrom("10.9.0.8", "b", th, "closed?"); code != http.StatusForbidden {
		t.Errorf("reply to a locked thread: %d", code)
	}
	b.submit(fmt.Sprintf("/admin/threads/b/%d", th), "set", "open")
	if log := b.page("/admin/log"); !strings.Contains(log, fmt.Sprintf(`<td>sticky thread</td><td><a href="/admin/posts/b/%d">/b/%d</a></td>`, th, th)) {
		t.Errorf("the log does not link the thread:\n%s", log)
	}

	// Every post of 10.9.0.7 in the thread.
	s.postFrom("10.9.0.9", "b", th, "someone else")
	b.page("/admin/log") // refresh the token
	post = b.page(fmt.Sprintf("/admin/posts/b/%d", th+1))
	if !strings.Contains(post, "Delete all of 10.9.0.7 in this thread") {
		t.Fatalf("no delete by address:\n%s", post)
	}
	to, msg := b.submit(fmt.Sprintf("/admin/posts/b/%d/delete", th+1), "mode", "ip-thread", "back", fmt.Sprintf("/admin/posts/b/%d", th+1), "confirm", "yes")
	if to != "/admin/" || msg != fmt.Sprintf("Deleted from /b/: No.%d.", th+1) {
		t.Errorf("delete by address: %s %q", to, msg)
	}
	if coms := s.threadCom("b", th); len(coms) != 2 {
		t.Errorf("thread has %d posts after deleting 10.9.0.7's, want 2", len(coms))
	}
	if a := b.do("GET", fmt.Sprintf("/admin/posts/b/%d", th+1), nil); a.code != http.StatusNotFound || !strings.Contains(a.body, "Not found") {
		t.Errorf("deleted post's page: %d", a.code)
	}
	if a := b.do("GET", "/admin/post?board=b&no=%3E%3E"+fmt.Sprint(th), nil); a.header.Get("Location") != fmt.Sprintf("/admin/posts/b/%d", th) {
		t.Errorf("look-up: %q", a.header.Get("Location"))
	}
	if _, msg := b.submit(fmt.Sprintf("/admin/posts/b/%d/delete", th), "mode", "post", "confirm", "yes"); msg != fmt.Sprintf("Deleted thread No.%d of /b/ with its replies.", th) {
		t.Errorf("delete thread: %q", msg)
	}
	// Move a thread to another board: the admin lands on its new page.
	b.submit("/admin/boards", "name", "g", "title", "Technology", "max_threads", "50", "bump_limit", "200",
		"image_limit", "100", "max_file_size", "4194304", "cooldown_thread", "0", "cooldown_reply", "0", "settings", "1")
	mv, _ := s.post("b", 0, "com", "wrong board")
	b.page("/admin/log") // refresh the token
	to, msg = b.submit(fmt.Sprintf("/admin/threads/b/%d", mv), "set", "move", "to", "g")
	if to != "/admin/posts/g/1" || msg != fmt.Sprintf("Thread /b/ No.%d is now /g/ No.1.", mv) {
		t.Errorf("move: %s %q", to, msg)
	}
	if coms := s.threadCom("g", 1); len(coms) != 1 || !strings.Contains(coms[0], "wrong board") {
		t.Errorf("moved thread: %v", coms)
	}
}

func TestAdminBoards(t *testing.T) {
	s := newAdminSite(t)
	b := s.browser("10.3.0.4")
	b.login("admin", adminPassword)
	list := b.page("/admin/boards")
	if !strings.Contains(list, `href="/admin/boards/b"`) || !strings.Contains(list, "Create a board") {
		t.Fatalf("boards:\n%s", list)
	}
	// The create form starts from a new site's /b/: its limits, no title and
	// no file types of its own (empty: the default).
	for _, want := range []string{`name="title" value=""`, `name="max_threads" value="150"`, `name="bump_limit" value="300"`,
		`name="image_limit" value="150"`, `name="max_file_size" value="8388608"`, `name="cooldown_thread" value="30"`,
		`name="cooldown_reply" value="10"`, `name="file_types" value=""`, `name="unique_comments_minutes" value="0"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the create form lacks %s", want)
		}
	}
	to, msg := b.submit("/admin/boards", "back", "/admin/boards", "name", "tech", "title", "Technology", "description", "Computers",
		"max_threads", "50", "bump_limit", "200", "image_limit", "100", "max_file_size", "4194304", "cooldown_thread", "60",
		"cooldown_reply", "5", "file_types", ".jpg .png", "settings", "1", "poster_ids", "1", "unique_comments_minutes", "15",
		"captcha", "threads", "captcha_auto_threads_per_hour", "7", "captcha_auto_posts_per_hour", "0", "captcha_auto_minutes", "45")
	if to != "/admin/boards" || msg != "Created /tech/." {
		t.Fatalf("create: %s %q", to, msg)
	}
	if _, msg := b.submit("/admin/boards", "name", "admin", "title", "x", "settings", "1"); !strings.Contains(msg, "cannot be a board's name") {
		t.Errorf("create /admin/: %q", msg)
	}
	edit := b.page("/admin/boards/tech")
	for _, want := range []string{`value="Technology"`, `value="50"`, `value="4194304"`, `value=".jpg .png"`, `name="poster_ids" value="1" checked`,
		`name="unique_comments_minutes" value="15"`, `<option value="threads" selected>`, `name="captcha_auto_threads_per_hour" value="7"`, `name="captcha_auto_minutes" value="45"`} {
		if !strings.Contains(edit, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	if _, msg := b.submit("/admin/boards/tech", "back", "/admin/boards/tech", "title", "Tech", "description", "", "max_threads", "60",
		"bump_limit", "200", "image_limit", "100", "max_file_size", "4194304", "cooldown_thread", "60", "cooldown_reply", "5",
		"file_types", "", "settings", "1"); msg != "Saved the settings of /tech/." {
		t.Errorf("edit: %q", msg)
	}
	edit = b.page("/admin/boards/tech")
	if !strings.Contains(edit, `value="Tech"`) || !strings.Contains(edit, `value="60"`) || strings.Contains(edit, "checked") {
		t.Errorf("edit not saved:\n%s", edit)
	}
	if _, msg := b.submit("/admin/boards/tech", "max_threads", "lots", "settings", "1"); !strings.Contains(msg, "whole number") {
		t.Errorf("bad number: %q", msg)
	}
	if _, msg := b.submit("/admin/boards/tech/delete", "confirm", "b", "back", "/admin/boards/tech"); !strings.Contains(msg, "type its name") {
		t.Errorf("delete without confirmation: %q", msg)
	}
	if to, msg := b.submit("/admin/boards/tech/delete", "confirm", "tech", "back", "/admin/boards/tech"); to != "/admin/boards" || !strings.HasPrefix(msg, "Deleted /tech/") {
		t.Errorf("delete: %s %q", to, msg)
	}
	if a := b.do("GET", "/admin/boards/tech", nil); a.code != http.StatusNotFound {
		t.Errorf("deleted board's page: %d", a.code)
	}
}

// Staff accounts, and a janitor sees and may do only a janitor's part.
func TestAdminStaffAndRoles(t *testing.T) {
	s := newAdminSite(t)
	th, _ := s.post("b", 0, "com", "a thread")
	s.report("b", th, "meh", "10.8.0.9")
	admin := s.browser("10.3.0.5")
	admin.login("admin", adminPassword)
	if st := admin.page("/admin/staff"); !strings.Contains(st, "<td>admin</td>") || !strings.Contains(st, `<span class="mu">you</span>`) {
		t.Errorf("staff page:\n%s", st)
	}
	if _, msg := admin.submit("/admin/staff", "back", "/admin/staff", "username", "jan", "password", "janitor-password", "role", "janitor"); msg != "Added jan as janitor." {
		t.Fatalf("add staff: %q", msg)
	}
	if _, msg := admin.submit("/admin/staff", "username", "x", "password", "short", "role", "janitor"); !strings.HasPrefix(msg, "error: ") {
		t.Errorf("short password: %q", msg)
	}

	jan := s.browser("10.3.0.6")
	jan.login("jan", "janitor-password")
	dash := jan.page("/admin/")
	if !strings.Contains(dash, `href="/admin/reports"`) || strings.Contains(dash, `href="/admin/bans"`) ||
		strings.Contains(dash, `href="/admin/staff"`) || strings.Contains(dash, `href="/admin/log"`) {
		t.Errorf("janitor's dashboard:\n%s", dash)
	}
	q := jan.page("/admin/reports")
	if !regexp.MustCompile(`Delete (post|thread)`).MatchString(q) || strings.Contains(q, "Ban…") || strings.Contains(q, `class="ip"`) {
		t.Errorf("janitor's report queue:\n%s", q)
	}
	for _, path := range []string{"/admin/bans", "/admin/staff", "/admin/log", "/admin/ban", "/admin/boards", "/admin/boards/b"} {
		a := jan.do("GET", path, nil)
		if a.code != http.StatusForbidden || !regexp.MustCompile(`(A janitor|Your role \(janitor\)) may not do this\.`).MatchString(a.body) {
			t.Errorf("janitor GET %s: %d\n%s", path, a.code, a.body)
		}
	}
	jan.page("/admin/reports")
	a := jan.do("POST", "/admin/bans", url.Values{"csrf": {jan.csrf}, "target": {"10.0.0.1"}, "reason": {"x"}})
	if a.code != http.StatusForbidden || !strings.Contains(a.body, "may not do this") {
		t.Errorf("janitor bans: %d\n%s", a.code, a.body)
	}

	// Without the CSRF token the api refuses a write, and nothing changes.
	a = admin.do("POST", "/admin/staff/jan/delete", url.Values{"back": {"/admin/staff"}})
	if a.code != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
		t.Errorf("delete without CSRF token: %d\n%s", a.code, a.body)
	}
	admin.page("/admin/staff")
	if _, msg := admin.submit("/admin/staff/jan/delete", "back", "/admin/staff", "confirm", "yes"); msg != "Removed jan." {
		t.Errorf("remove staff: %q", msg)
	}
	if a := jan.do("GET", "/admin/", nil); a.code != http.StatusSeeOther {
		t.Errorf("removed janitor still in: %d", a.code)
	}
	if st := admin.page("/admin/staff"); strings.Contains(st, "<td>jan</td>") {
		t.Error("jan still listed")
	}
}

// Nothing of the admin UI is served without a staff API.
func TestAdminOff(t *testing.T) {
	s := newSite(t)
	if a := s.get("/admin/login"); a.code != http.StatusNotFound {
		t.Errorf("/admin/login without a staff API: %d", a.code)
	}
}

// Bugs 6 and 7 of issue 18: a reported opening post's button says it
// deletes the thread; a destructive action asks first, as a page of its
// own (the second step without JavaScript), and does nothing until it is
// confirmed; the reports of one post are one card with their count and
// reasons, dismissed together.
func TestAdminConfirmAndReportCards(t *testing.T) {
	s := newAdminSite(t)
	th, _ := s.post("b", 0, "com", "a reported thread")
	_, r1 := s.post("b", th, "com", "a reported reply")
	for i, why := range []string{"spam", "off topic", "spam again"} {
		s.report("b", th, why, fmt.Sprintf("10.8.1.%d", i+1))
	}
	s.report("b", r1, "rude", "10.8.1.9")
	b := s.browser("10.3.0.9")
	b.login("admin", adminPassword)
	q := b.page("/admin/reports")
	if n := strings.Count(q, `<article class="rep"`); n != 2 {
		t.Errorf("four reports of two posts make %d cards, want 2:\n%s", n, q)
	}
	for _, want := range []string{"3 reports", "“spam”", "“off topic”", "“spam again”", "1 report", "“rude”", "Delete thread", "Delete post", "Dismiss all"} {
		if !strings.Contains(q, want) {
			t.Errorf("the report queue lacks %q:\n%s", want, q)
		}
	}
	// The first step asks, and changes nothing.
	a := b.do("POST", fmt.Sprintf("/admin/posts/b/%d/delete", th), url.Values{"csrf": {b.csrf}, "mode": {"post"}, "back": {"/admin/reports"}})
	if a.code != http.StatusOK || !strings.Contains(a.body, fmt.Sprintf("Delete thread No.%d of /b/ with all its replies?", th)) ||
		!strings.Contains(a.body, `name="confirm" value="yes"`) || !strings.Contains(a.body, `href="/admin/reports"`) {
		t.Fatalf("the first step: %d\n%s", a.code, a.body)
	}
	if coms := s.threadCom("b", th); len(coms) != 2 {
		t.Fatalf("the first step deleted: %d posts left", len(coms))
	}
	// Sent from elsewhere, without the token, it is refused.
	if a := b.do("POST", fmt.Sprintf("/admin/posts/b/%d/delete", th), url.Values{"mode": {"post"}}); a.code != http.StatusForbidden {
		t.Errorf("the first step without the CSRF token: %d", a.code)
	}
	// The card's reports of the reply go with one dismissal.
	m := regexp.MustCompile(`action="/admin/reports/(\d+)/dismiss" method="post">(?:<input[^>]*>)*<input type="hidden" name="also" value="\d+"><input type="hidden" name="also" value="\d+">`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("no dismissal of the three reports together:\n%s", q)
	}
	ids := regexp.MustCompile(`name="also" value="(\d+)"`).FindAllStringSubmatch(q, -1)
	fields := []string{"back", "/admin/reports"}
	for _, id := range ids[:2] {
		fields = append(fields, "also", id[1])
	}
	if _, msg := b.submit("/admin/reports/"+m[1]+"/dismiss", fields...); msg != "Dismissed 3 reports of the post." {
		t.Errorf("dismiss all: %q", msg)
	}
	if q := b.page("/admin/reports"); strings.Count(q, `<article class="rep"`) != 1 || !strings.Contains(q, "“rude”") {
		t.Errorf("after dismissing the thread's reports:\n%s", q)
	}
	// Confirmed, the thread goes, and the answer says it was a thread.
	b.page("/admin/reports")
	if _, msg := b.submit(fmt.Sprintf("/admin/posts/b/%d/delete", th), "mode", "post", "back", "/admin/reports", "confirm", "yes"); msg != fmt.Sprintf("Deleted thread No.%d of /b/ with its replies.", th) {
		t.Errorf("delete the thread: %q", msg)
	}
	if q := b.page("/admin/reports"); !strings.Contains(q, "No open reports") && !strings.Contains(q, "The post is gone") {
		t.Errorf("after the thread went:\n%s", q)
	}
}
