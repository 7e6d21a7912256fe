package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
)

// staffClient is a logged-in staff member: a session cookie and its token.
type staffClient struct {
	s      *site
	cookie *http.Cookie
	csrf   string
}

func (s *site) addStaff(name string, role maniwani.Role) {
	s.t.Helper()
	err := s.store.CreateStaff(context.Background(), maniwani.Staff{Username: name,
		PasswordHash: api.HashPassword(name + "-password"), Role: role, Created: s.clock()})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) login(name, password, ip string) answer {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": password})
	req, _ := http.NewRequest("POST", s.url+"/api/admin/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return s.do(req)
}

func (s *site) loginAs(name string) *staffClient {
	s.t.Helper()
	a := s.login(name, name+"-password", "10.0.0.1")
	if a.code != 200 {
		s.t.Fatalf("login %s: %d %s", name, a.code, a.body)
	}
	c := &staffClient{s: s, csrf: a.json(s.t)["csrf_token"].(string)}
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == api.SessionCookie {
			c.cookie = ck
		}
	}
	if c.cookie == nil || !c.cookie.HttpOnly || c.cookie.SameSite != http.SameSiteLaxMode || c.cookie.Value == "" {
		s.t.Fatalf("session cookie %+v", c.cookie)
	}
	return c
}

// call sends a staff API request with the session and, unless noCSRF, its
// token; v is sent as JSON when not nil.
func (c *staffClient) call(method, path string, v any, noCSRF bool) answer {
	c.s.t.Helper()
	var body bytes.Buffer
	if v != nil {
		json.NewEncoder(&body).Encode(v)
	}
	req, _ := http.NewRequest(method, c.s.url+path, &body)
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if !noCSRF {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.s.do(req)
}

func (c *staffClient) must(method, path string, v any) map[string]any {
	c.s.t.Helper()
	a := c.call(method, path, v, false)
	if a.code/100 != 2 {
		c.s.t.Fatalf("%s %s: %d %s", method, path, a.code, a.body)
	}
	if len(a.body) == 0 {
		return nil
	}
	return a.json(c.s.t)
}

// concrete fills a route's wildcards with values that exist.
func concrete(path string, no int64) string {
	r := strings.NewReplacer("{board}", "b", "{no}", fmt.Sprint(no), "{id}", "1", "{username}", "nobody")
	return r.Replace(path)
}

// Every staff route: 401 without a session, 403 for a role without its
// permission, 403 for a state-changing request without the CSRF token, and
// none of them changes anything then.
func TestStaffRoutesGuarded(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("jan", maniwani.RoleJanitor)
	s.addStaff("mod", maniwani.RoleModerator)
	s.addStaff("adm", maniwani.RoleAdmin)
	no := s.mustPost("b", "10.1.0.1", "com", "a thread")
	anon := &staffClient{s: s}
	clients := map[maniwani.Role]*staffClient{maniwani.RoleJanitor: s.loginAs("jan"),
		maniwani.RoleModerator: s.loginAs("mod"), maniwani.RoleAdmin: s.loginAs("adm")}
	forged := &staffClient{s: s, cookie: &http.Cookie{Name: api.SessionCookie, Value: "forged"}}
	routes := api.AdminRoutes()
	if len(routes) < 18 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		path := concrete(rt.Path, no)
		for _, c := range []*staffClient{anon, forged} {
			if a := c.call(rt.Method, path, map[string]any{}, false); a.code != http.StatusUnauthorized {
				t.Errorf("%s %s without a valid session: %d %s", rt.Method, path, a.code, a.body)
			}
		}
		for role, c := range clients {
			if rt.Perm != "" && !role.Can(rt.Perm) {
				if a := c.call(rt.Method, path, map[string]any{}, false); a.code != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", rt.Method, path, role, a.code)
				}
			}
		}
		if rt.Method != "GET" {
			if a := clients[maniwani.RoleAdmin].call(rt.Method, path, map[string]any{}, true); a.code != http.StatusForbidden ||
				!strings.Contains(string(a.body), "CSRF") {
				t.Errorf("%s %s without CSRF token: %d %s", rt.Method, path, a.code, a.body)
			}
		}
	}
	// An unknown route under /api/admin is 401 too, not a map of what exists.
	if a := anon.call("GET", "/api/admin/nothing", nil, false); a.code != http.StatusUnauthorized {
		t.Errorf("unknown staff route without session: %d", a.code)
	}
	// Nothing above changed anything.
	if ps := s.thread("b", no); len(ps) != 1 {
		t.Fatalf("thread changed: %v", ps)
	}
	if bs := clients[maniwani.RoleAdmin].must("GET", "/api/admin/boards", nil)["boards"].([]any); len(bs) != 1 {
		t.Fatalf("boards changed: %v", bs)
	}
}

func TestSessionsExpireAndLogout(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("mod", maniwani.RoleModerator)
	c := s.loginAs("mod")
	c.must("GET", "/api/admin/session", nil)
	// Idle: 2 hours without a request ends it.
	s.advance(api.DefaultSessionIdle + time.Minute)
	if a := c.call("GET", "/api/admin/session", nil, false); a.code != 401 {
		t.Fatalf("idle session: %d", a.code)
	}
	// In use, it still ends at its absolute limit.
	c = s.loginAs("mod")
	for elapsed := time.Duration(0); elapsed < api.DefaultSessionMax-time.Hour; elapsed += time.Hour {
		s.advance(time.Hour)
		c.must("GET", "/api/admin/session", nil)
	}
	s.advance(2 * time.Hour)
	if a := c.call("GET", "/api/admin/session", nil, false); a.code != 401 {
		t.Fatalf("session past its absolute limit: %d", a.code)
	}
	// Logout ends the session on the server: the cookie kept is worthless.
	c = s.loginAs("mod")
	c.must("POST", "/api/admin/logout", nil)
	if a := c.call("GET", "/api/admin/session", nil, false); a.code != 401 {
		t.Fatalf("after logout: %d", a.code)
	}
}

func TestLoginRateLimits(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("mod", maniwani.RoleModerator)
	s.addStaff("other", maniwani.RoleJanitor)
	for i := range 5 {
		if a := s.login("mod", "wrong", fmt.Sprintf("10.2.0.%d", i+1)); a.code != 401 {
			t.Fatalf("wrong password #%d: %d", i, a.code)
		}
	}
	// The account is locked for a while, from every address, even with the
	// right password; the others are not.
	if a := s.login("mod", "mod-password", "10.2.1.1"); a.code != 429 {
		t.Fatalf("sixth try: %d %s", a.code, a.body)
	}
	if a := s.login("other", "other-password", "10.2.1.1"); a.code != 200 {
		t.Fatalf("another account: %d", a.code)
	}
	// One address trying many accounts is stopped too.
	for i := range 10 {
		s.login(fmt.Sprintf("guess%d", i), "x", "10.3.0.1")
	}
	if a := s.login("other", "other-password", "10.3.0.1"); a.code != 429 {
		t.Fatalf("address after 10 failures: %d", a.code)
	}
	// The window passes.
	s.advance(16 * time.Minute)
	if a := s.login("mod", "mod-password", "10.2.1.1"); a.code != 200 {
		t.Fatalf("after the window: %d %s", a.code, a.body)
	}
	// Unknown names answer as wrong passwords do.
	if a := s.login("nobody", "x", "10.4.0.1"); a.code != 401 || !strings.Contains(string(a.body), "Wrong username or password") {
		t.Fatalf("unknown name: %d %s", a.code, a.body)
	}
}

func TestModerationActions(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("adm", maniwani.RoleAdmin)
		s.addStaff("jan", maniwani.RoleJanitor)
		adm, jan := s.loginAs("adm"), s.loginAs("jan")

		// Boards: create with defaults, edit, refuse bad settings.
		b := adm.must("POST", "/api/admin/boards", map[string]any{"name": "g", "title": "Technology", "cooldown_reply": 0})
		if b["bump_limit"].(float64) != 300 || b["cooldown_reply"].(float64) != 0 {
			t.Fatalf("created %v", b)
		}
		adm.must("PATCH", "/api/admin/boards/g", map[string]any{"description": "Tech talk", "poster_ids": true,
			"file_types": []string{"jpg", ".png"}})
		if a := adm.call("PATCH", "/api/admin/boards/g", map[string]any{"max_threads": 0}, false); a.code != 400 {
			t.Fatalf("bad setting: %d", a.code)
		}
		if a := adm.call("POST", "/api/admin/boards", map[string]any{"name": "admin", "title": "x"}, false); a.code != 400 {
			t.Fatalf("reserved name: %d", a.code)
		}
		if a := adm.call("POST", "/api/admin/boards", map[string]any{"name": "g", "title": "again"}, false); a.code != 409 {
			t.Fatalf("duplicate board: %d", a.code)
		}
		if bj := s.get("/boards.json"); !strings.Contains(string(bj.body), `"Tech talk"`) {
			t.Fatalf("boards.json: %s", bj.body)
		}

		// Threads: sticky and close.
		op := s.mustPost("g", "10.5.0.1", "com", "first")
		r1 := s.mustPost("g", "10.5.0.2", "resto", fmt.Sprint(op), "com", "spam one")
		s.mustPost("g", "10.5.0.2", "resto", fmt.Sprint(op), "com", "spam two")
		keep := s.mustPost("g", "10.5.0.3", "resto", fmt.Sprint(op), "com", "fine")
		adm.must("PATCH", fmt.Sprintf("/api/admin/threads/g/%d", op), map[string]any{"sticky": true, "closed": true})
		ps := s.thread("g", op)
		if ps[0]["sticky"] != 1.0 || ps[0]["closed"] != 1.0 {
			t.Fatalf("flags: %v", ps[0])
		}
		if a := s.post("g", "10.5.0.9", "resto", fmt.Sprint(op), "com", "late"); a.code != 403 {
			t.Fatalf("reply to a closed thread: %d", a.code)
		}
		if a := jan.call("PATCH", fmt.Sprintf("/api/admin/threads/g/%d", op), map[string]any{"closed": false}, false); a.code != 403 {
			t.Fatalf("janitor closing: %d", a.code)
		}

		// Reports: a janitor sees the post (without its address) and dismisses.
		if a := s.sendForm("/g/report", "10.6.0.1", "no", fmt.Sprint(r1), "reason", "spam"); a.code/100 != 2 && a.code != 303 {
			t.Fatalf("report: %d %s", a.code, a.body)
		}
		reps := jan.must("GET", "/api/admin/reports", nil)["reports"].([]any)
		rep := reps[0].(map[string]any)
		if rep["post"] == nil {
			t.Fatalf("report without its post: %v", rep)
		}
		post := rep["post"].(map[string]any)
		if len(reps) != 1 || post["com"] != "spam one" || post["ip"] != nil {
			t.Fatalf("reports as janitor: %v", reps)
		}
		if p := adm.must("GET", fmt.Sprintf("/api/admin/posts/g/%d", r1), nil); p["ip"] != "10.5.0.2" {
			t.Fatalf("post as admin: %v", p)
		}
		jan.must("DELETE", fmt.Sprintf("/api/admin/reports/%d", int(rep["id"].(float64))), nil)
		if reps := jan.must("GET", "/api/admin/reports", nil)["reports"].([]any); len(reps) != 0 {
			t.Fatalf("after dismiss: %v", reps)
		}

		// Ban from the post, with the public note; then delete the address's
		// posts in the thread (a janitor may not).
		ban := adm.must("POST", "/api/admin/bans", map[string]any{"post": map[string]any{"board": "g", "no": r1},
			"reason": "spamming", "duration": "24h", "public": true})
		if ban["cidr"] != "10.5.0.2/32" || ban["expires"] == nil {
			t.Fatalf("ban %v", ban)
		}
		if ps := s.thread("g", op); !strings.Contains(ps[1]["com"].(string), "USER WAS BANNED FOR THIS POST") {
			t.Fatalf("no ban note: %v", ps[1])
		}
		a := s.post("g", "10.5.0.2", "com", "new thread")
		if a.code != 403 || !strings.Contains(string(a.body), "spamming") {
			t.Fatalf("banned poster: %d %s", a.code, a.body)
		}
		if a := jan.call("DELETE", fmt.Sprintf("/api/admin/posts/g/%d?by_ip=thread", r1), nil, false); a.code != 403 {
			t.Fatalf("janitor deleting by address: %d", a.code)
		}
		del := adm.must("DELETE", fmt.Sprintf("/api/admin/posts/g/%d?by_ip=thread", r1), nil)
		if n := len(del["deleted"].([]any)); n != 2 {
			t.Fatalf("deleted %v", del)
		}
		if ps := s.thread("g", op); len(ps) != 2 || int64(ps[1]["no"].(float64)) != keep || ps[0]["replies"] != 1.0 {
			t.Fatalf("thread after deleting by address: %v", ps)
		}
		// A janitor deletes one post; the OP takes its thread.
		jan.must("DELETE", fmt.Sprintf("/api/admin/posts/g/%d", op), nil)
		if a := s.get(fmt.Sprintf("/g/thread/%d.json", op)); a.code != 404 {
			t.Fatalf("deleted thread: %d", a.code)
		}

		// A ban from an IPv6 poster's post bans its /64: the poster holds
		// all of it.
		v6post := s.post("g", "2001:db8:7:7::1", "com", "from a /64")
		if v6post.code != 201 {
			t.Fatalf("v6 post: %d %s", v6post.code, v6post.body)
		}
		v6no := int64(v6post.json(t)["no"].(float64))
		byPost := adm.must("POST", "/api/admin/bans", map[string]any{"post": map[string]any{"board": "g", "no": v6no},
			"reason": "v6 spam", "duration": "1h"})
		if byPost["cidr"] != "2001:db8:7:7::/64" {
			t.Fatalf("ban from a v6 post: %v", byPost)
		}
		if a := s.post("g", "2001:db8:7:7:ffff::2", "com", "neighbour"); a.code != 403 {
			t.Fatalf("another address of the banned /64: %d", a.code)
		}
		adm.must("DELETE", fmt.Sprintf("/api/admin/bans/%d", int(byPost["id"].(float64))), nil)

		// Bans: IPv6 ranges, lifting, expiry.
		v6 := adm.must("POST", "/api/admin/bans", map[string]any{"cidr": "2001:db8::/32", "reason": "range"})
		if v6["expires"] != nil {
			t.Fatalf("permanent ban: %v", v6)
		}
		if a := s.post("g", "2001:db8:1::5", "com", "x"); a.code != 403 {
			t.Fatalf("address in a banned v6 range: %d", a.code)
		}
		if a := s.post("g", "2001:db9::5", "com", "outside the range"); a.code != 201 {
			t.Fatalf("address outside the range: %d %s", a.code, a.body)
		}
		adm.must("DELETE", fmt.Sprintf("/api/admin/bans/%d", int(v6["id"].(float64))), nil)
		if a := s.post("g", "2001:db8:1::6", "com", "lifted"); a.code != 201 {
			t.Fatalf("after lifting: %d %s", a.code, a.body)
		}
		s.advance(25 * time.Hour) // the 24 h ban is over (and so is the session)
		if a := s.post("g", "10.5.0.2", "com", "back"); a.code != 201 {
			t.Fatalf("after the ban ended: %d %s", a.code, a.body)
		}
		adm = s.loginAs("adm")
		for _, bad := range []map[string]any{{"ip": "10.0.0.1"}, {"ip": "nonsense", "reason": "x"},
			{"ip": "10.0.0.1", "reason": "x", "expires": "2001-01-01T00:00:00Z"}, {"ip": "10.0.0.1", "reason": "x", "duration": "-1h"}} {
			if a := adm.call("POST", "/api/admin/bans", bad, false); a.code != 400 {
				t.Errorf("bad ban %v: %d %s", bad, a.code, a.body)
			}
		}

		// Staff: an admin adds and removes accounts; not their own.
		adm.must("POST", "/api/admin/staff", map[string]any{"username": "newmod", "password": "a long enough password", "role": "moderator"})
		if a := adm.call("POST", "/api/admin/staff", map[string]any{"username": "x", "password": "short", "role": "admin"}, false); a.code != 400 {
			t.Fatalf("short password: %d", a.code)
		}
		if a := s.login("newmod", "a long enough password", "10.7.0.1"); a.code != 200 {
			t.Fatalf("new account login: %d", a.code)
		}
		adm.must("DELETE", "/api/admin/staff/newmod", nil)
		if a := adm.call("DELETE", "/api/admin/staff/adm", nil, false); a.code != 409 {
			t.Fatalf("deleting oneself: %d", a.code)
		}

		// The log says who did what.
		log := adm.must("GET", "/api/admin/log", nil)["log"].([]any)
		var actions []string
		for _, e := range log {
			m := e.(map[string]any)
			actions = append(actions, m["staff"].(string)+": "+m["action"].(string)+" "+m["target"].(string))
		}
		all := strings.Join(actions, "\n")
		for _, want := range []string{"adm: create board /g/", "adm: edit board /g/", "adm: sticky, close thread /g/",
			"jan: dismiss report", "adm: ban 10.5.0.2/32", "adm: delete posts of an address in a thread",
			"jan: delete post /g/", "adm: lift ban 2001:db8::/32", "adm: create staff newmod", "adm: delete staff newmod"} {
			if !strings.Contains(all, want) {
				t.Errorf("log lacks %q:\n%s", want, all)
			}
		}

		// Deleting a board takes everything on it.
		adm.must("DELETE", "/api/admin/boards/g", nil)
		if a := s.get("/g/catalog.json"); a.code != 404 {
			t.Fatalf("deleted board: %d", a.code)
		}
	})
}

// A ban wider than an IPv4 /16 or an IPv6 /32 needs an admin, who must
// confirm the width; a refused one stores nothing.
func TestWideBans(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("adm", maniwani.RoleAdmin)
		s.addStaff("mod", maniwani.RoleModerator)
		adm, mod := s.loginAs("adm"), s.loginAs("mod")
		ban := func(c *staffClient, cidr string, confirm bool) answer {
			in := map[string]any{"cidr": cidr, "reason": "range"}
			if confirm {
				in["confirm_wide"] = true
			}
			return c.call("POST", "/api/admin/bans", in, false)
		}
		for _, cidr := range []string{"10.0.0.0/15", "0.0.0.0/0", "2001:db8::/31", "::/0",
			"::ffff:10.0.0.0/104", // an IPv4 /8, written as IPv6
			"::/64",               // holds every IPv4 address
		} {
			for _, confirm := range []bool{false, true} {
				if a := ban(mod, cidr, confirm); a.code != http.StatusForbidden || !strings.Contains(string(a.body), "only an admin") {
					t.Errorf("a moderator's ban of %s (confirm_wide %v): %d %s, want 403", cidr, confirm, a.code, a.body)
				}
			}
			if a := ban(adm, cidr, false); a.code != http.StatusBadRequest || !strings.Contains(string(a.body), `confirm_wide`) {
				t.Errorf("an admin's ban of %s without confirm_wide: %d %s, want 400 saying so", cidr, a.code, a.body)
			}
		}
		if bans := adm.must("GET", "/api/admin/bans", nil)["bans"].([]any); len(bans) != 0 {
			t.Fatalf("refused bans were stored: %v", bans)
		}
		for _, cidr := range []string{"10.1.0.0/16", "2001:db8::/32", "::ffff:10.2.0.0/112", "::/97"} {
			if a := ban(mod, cidr, false); a.code != http.StatusCreated {
				t.Errorf("a moderator's ban of %s: %d %s, want 201", cidr, a.code, a.body)
			}
		}
		if a := ban(adm, "10.0.0.0/8", true); a.code != http.StatusCreated || a.json(t)["cidr"] != "10.0.0.0/8" {
			t.Fatalf("an admin's confirmed ban of 10.0.0.0/8: %d %s", a.code, a.body)
		}
		if a := s.post("b", "10.200.0.1", "com", "x"); a.code != http.StatusForbidden {
			t.Fatalf("a poster in the confirmed range: %d, want 403", a.code)
		}
	})
}

// No public answer ever carries a poster's address.
func TestNoAddressInPublicAnswers(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	ip := "10.99.88.77"
	op := s.mustPost("b", ip, "com", "hello", "name", "x##secret")
	s.advance(time.Minute) // past the cooldown
	s.mustPost("b", ip, "resto", fmt.Sprint(op), "com", ">>"+fmt.Sprint(op))
	for _, path := range []string{"/boards.json", "/b/catalog.json", "/b/threads.json", "/b/1.json",
		fmt.Sprintf("/b/thread/%d.json", op), "/b/archive.json"} {
		a := s.get(path)
		if a.code != 200 || bytes.Contains(a.body, []byte(ip)) || bytes.Contains(a.body, []byte("10.99")) {
			t.Errorf("%s: %d, address in %s", path, a.code, a.body)
		}
	}
}

// Moving a thread: its posts take the destination's next numbers, quotes
// between them follow, files keep being served under new names, and the
// old thread is gone.
func TestMoveThread(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		if err := s.store.CreateBoard(context.Background(), maniwani.Board{Name: "g", Title: "Technology",
			MaxThreads: 10, BumpLimit: 300, ImageLimit: 150, MaxFileSize: 1 << 20}); err != nil {
			t.Fatal(err)
		}
		s.mustPost("g", "10.1.0.9", "com", "a thread of g's own") // g's No.1
		op := s.mustPost("b", "10.1.0.1", "com", "to be moved")
		other := s.mustPost("b", "10.1.0.5", "com", "stays") // b's No.2
		r1 := s.mustPost("b", "10.1.0.2", "resto", fmt.Sprint(op), "com", ">>"+fmt.Sprint(op)+" first reply")
		s.mustPost("b", "10.1.0.3", "resto", fmt.Sprint(op), "com", ">>"+fmt.Sprint(r1)+"\n>>"+fmt.Sprint(other))
		s.sendForm("/b/report", "10.1.0.4", "no", fmt.Sprint(r1), "reason", "off topic")

		moved := mod.must("PATCH", fmt.Sprintf("/api/admin/threads/b/%d", op), map[string]any{"board": "g"})
		newOP := int64(moved["no"].(float64))
		if moved["board"] != "g" || newOP != 2 {
			t.Fatalf("moved: %v", moved)
		}
		// The old address leads to the new one.
		if a := s.get(fmt.Sprintf("/b/thread/%d.json", op)); a.code != 301 || a.header.Get("Location") != "/g/thread/2.json" {
			t.Fatalf("old thread: %d %q", a.code, a.header.Get("Location"))
		}
		ps := s.thread("g", newOP)
		if len(ps) != 3 || ps[1]["no"] != 3.0 || ps[2]["no"] != 4.0 || ps[0]["replies"] != 2.0 {
			t.Fatalf("moved thread: %v", ps)
		}
		// In-thread quotes point at the new numbers; the one to /b/ stays as it was.
		if c := ps[1]["com"].(string); !strings.Contains(c, `href="/g/thread/2#p2"`) {
			t.Errorf("first reply's quote: %s", c)
		}
		c := ps[2]["com"].(string)
		if !strings.Contains(c, `href="/g/thread/2#p3"`) || !strings.Contains(c, `&gt;&gt;3`) ||
			!strings.Contains(c, fmt.Sprintf(`href="/b/thread/%d#p%d"`, other, other)) || !strings.Contains(c, fmt.Sprintf("&gt;&gt;&gt;/b/%d", other)) {
			t.Errorf("second reply's quotes: %s", c)
		}
		// The body says the same, so a rerender makes the same links.
		v, err := s.store.Thread(context.Background(), "g", newOP)
		if err != nil || v.Posts[2].Body != fmt.Sprintf(">>3\n>>>/b/%d", other) {
			t.Errorf("second reply's body: %q %v", v.Posts[2].Body, err)
		}
		// /b/ goes on numbering where it was; the report follows the post.
		if n := s.mustPost("b", "10.1.0.6", "com", "after"); n != 5 {
			t.Errorf("next number on /b/: %d", n)
		}
		reps := mod.must("GET", "/api/admin/reports", nil)["reports"].([]any)
		if len(reps) != 1 || reps[0].(map[string]any)["board"] != "g" || reps[0].(map[string]any)["no"] != 3.0 {
			t.Errorf("report after the move: %v", reps)
		}
		log := mod.must("GET", "/api/admin/log", nil)["log"].([]any)
		if e := log[0].(map[string]any); e["action"] != "move thread" || e["target"] != fmt.Sprintf("/b/%d -> /g/2", op) {
			t.Errorf("log: %v", e)
		}
		if a := mod.call("PATCH", "/api/admin/threads/g/2", map[string]any{"board": "nope"}, false); a.code != 404 {
			t.Errorf("move to no board: %d", a.code)
		}
	})
}

// A body past its limit is an error of kind too_large where it is read:
// 413, the kind on the wire, and the public shape of a refusal.
func TestBodyTooLarge(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("adm", maniwani.RoleAdmin)
	no := s.mustPost("b", "10.1.0.1", "com", "a thread")
	adm := s.loginAs("adm")
	staff := adm.call("PATCH", "/api/admin/boards/b", map[string]any{"description": strings.Repeat("x", 70<<10)}, false)
	body := fmt.Sprintf("--xyz\r\nContent-Disposition: form-data; name=\"no\"\r\n\r\n%d\r\n"+
		"--xyz\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\n%s\r\n--xyz--\r\n", no, strings.Repeat("x", 20<<10))
	form, _ := http.NewRequest("POST", s.url+"/b/report", strings.NewReader(body))
	form.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	form.Header.Set("Accept", "application/json")
	form.Header.Set("X-Forwarded-For", "10.1.0.2")
	report := s.do(form)
	for _, c := range []struct {
		name string
		a    answer
		msg  string
	}{
		{"a staff request", staff, "The request is too large."},
		{"a report", report, "The post is too large."},
	} {
		if c.a.code != http.StatusRequestEntityTooLarge || c.a.header.Get(maniwani.ErrorKindHeader) != "too_large" ||
			string(c.a.body) != fmt.Sprintf(`{"error":%q}`+"\n", c.msg) {
			t.Errorf("%s too large: %d %s %q", c.name, c.a.code, c.a.header.Get(maniwani.ErrorKindHeader), c.a.body)
		}
	}
}

// A moved thread's posts quoted from other threads keep their quotes: they
// are rewritten to the posts' new places, so they link and preview as
// before; and a thread moved twice answers at its first address with a
// redirect to where it is now.
func TestMovedThreadQuotesAndAddresses(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		for _, name := range []string{"g", "k"} {
			if err := s.store.CreateBoard(context.Background(), maniwani.Board{Name: name, Title: name,
				MaxThreads: 10, BumpLimit: 300, ImageLimit: 150, MaxFileSize: 1 << 20}); err != nil {
				t.Fatal(err)
			}
		}
		op := s.mustPost("b", "10.2.0.1", "com", "to be moved")
		r1 := s.mustPost("b", "10.2.0.2", "resto", fmt.Sprint(op), "com", "a reply")
		other := s.mustPost("b", "10.2.0.3", "com", "stays")
		q := s.mustPost("b", "10.2.0.4", "resto", fmt.Sprint(other), "com", fmt.Sprintf(">>%d and >>%d", r1, op))
		mod.must("PATCH", fmt.Sprintf("/api/admin/threads/b/%d", op), map[string]any{"board": "g"})
		ps := s.thread("b", other)
		if len(ps) != 2 || ps[1]["no"] != float64(q) {
			t.Fatalf("the other thread: %v", ps)
		}
		c := ps[1]["com"].(string)
		if !strings.Contains(c, `href="/g/thread/1#p2"`) || !strings.Contains(c, "&gt;&gt;&gt;/g/2") ||
			!strings.Contains(c, `href="/g/thread/1#p1"`) || strings.Contains(c, "deadlink") {
			t.Errorf("the quotes of the moved posts from another thread: %s", c)
		}
		mod.must("PATCH", "/api/admin/threads/g/1", map[string]any{"board": "k"})
		for path, want := range map[string]string{fmt.Sprintf("/b/thread/%d.json", op): "/k/thread/1.json",
			"/g/thread/1.json": "/k/thread/1.json"} {
			if a := s.get(path); a.code != 301 || a.header.Get("Location") != want {
				t.Errorf("%s: %d %q, want 301 to %s", path, a.code, a.header.Get("Location"), want)
			}
		}
		// A reply's old number is not a thread file.
		if a := s.get(fmt.Sprintf("/b/thread/%d.json", r1)); a.code != 404 {
			t.Errorf("a moved reply's number as a thread: %d", a.code)
		}
		if c := s.thread("b", other)[1]["com"].(string); !strings.Contains(c, `href="/k/thread/1#p2"`) {
			t.Errorf("the quotes after the second move: %s", c)
		}
	})
}
