// Package stafftest is the contract every maniwani.StaffAPI passes (the api
// in one process, its HTTP client apart): one suite, run from each
// backend's tests.
package stafftest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
)

// Site is a new site behind a StaffAPI, as the suite drives it.
type Site struct {
	Staff maniwani.StaffAPI
	// AdminPassword is the password of the account "admin", an admin.
	AdminPassword string
	// Proxy is a peer (host:port) the api trusts as a proxy: it believes
	// the X-Forwarded-For and X-Forwarded-Proto of a call from it.
	Proxy string
	// Post posts com on board from ip (in thread, or 0 for a new thread)
	// and gives its number, published or held for review.
	Post func(t *testing.T, board string, thread int64, ip, com string) int64
	// Report reports a post.
	Report func(t *testing.T, board string, no int64, reason string)
}

// Run runs the contract against the sites newSite makes: each subtest gets
// a new one with board b and the admin account only.
func Run(t *testing.T, newSite func(t *testing.T) Site) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Site)
	}{
		{"LoginAndSession", testLogin},
		{"SecureCookies", testSecure},
		{"LoginLimitsByAddress", testLoginLimits},
		{"DeviceCookie", testDevice},
		{"CSRFAndRoles", testGuards},
		{"Boards", testBoards},
		{"PostsAndThreads", testPosts},
		{"Bans", testBans},
		{"Reports", testReports},
		{"StaffAndLog", testStaff},
		{"Filters", testFilters},
		{"Purge", testPurge},
		{"FileBans", testFileBans},
		{"HeldPosts", testHeld},
		{"Logout", testLogout},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newSite(t)) })
	}
}

// browser is a browser behind the trusted proxy at the address ip.
func (s Site) browser(ip string) maniwani.StaffCall {
	return maniwani.StaffCall{RemoteAddr: s.Proxy, ForwardedFor: []string{ip}}
}

// login logs in as user from call, which then carries the session.
func (s Site) login(t *testing.T, call *maniwani.StaffCall, user, password string) *maniwani.StaffSession {
	t.Helper()
	sess, cookies, err := s.Staff.Login(context.Background(), *call, maniwani.StaffLogin{Username: user, Password: password})
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	c := cookie(cookies, maniwani.StaffSessionCookie)
	if c == nil {
		t.Fatalf("login as %s set no session cookie: %v", user, cookies)
	}
	call.Session, call.CSRFToken = c.Value, sess.CSRFToken
	return sess
}

func (s Site) admin(t *testing.T) maniwani.StaffCall {
	t.Helper()
	call := s.browser("10.20.0.1")
	s.login(t, &call, "admin", s.AdminPassword)
	return call
}

func cookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantKind(t *testing.T, what string, err error, kind maniwani.Kind) {
	t.Helper()
	if maniwani.ErrorKind(err) != kind {
		t.Errorf("%s: %v (%s), want %s", what, err, maniwani.ErrorKind(err), kind)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testLogin(t *testing.T, s Site) {
	ctx := context.Background()
	call := s.browser("10.20.1.1")
	_, cookies, err := s.Staff.Login(ctx, call, maniwani.StaffLogin{Username: "admin", Password: "wrong"})
	wantKind(t, "wrong password", err, maniwani.KindUnauthorized)
	if maniwani.ErrorMessage(err) != "Wrong username or password." || len(cookies) != 0 {
		t.Errorf("wrong password: %q, cookies %v", maniwani.ErrorMessage(err), cookies)
	}
	_, err = s.Staff.Session(ctx, call)
	wantKind(t, "session without a cookie", err, maniwani.KindUnauthorized)

	sess, cookies, err := s.Staff.Login(ctx, call, maniwani.StaffLogin{Username: "admin", Password: s.AdminPassword})
	must(t, "login", err)
	if sess.Username != "admin" || sess.Role != maniwani.RoleAdmin || sess.CSRFToken == "" ||
		!slices.Equal(sess.Permissions, maniwani.RoleAdmin.Permissions()) {
		t.Errorf("session %+v", sess)
	}
	sc, dc := cookie(cookies, maniwani.StaffSessionCookie), cookie(cookies, maniwani.StaffDeviceCookie)
	if len(cookies) != 2 || sc == nil || dc == nil {
		t.Fatalf("cookies %v, want the session's and the device's", cookies)
	}
	if sc.Value == "" || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.MaxAge <= 0 || sc.Secure {
		t.Errorf("session cookie %+v", sc)
	}
	if dc.Value == "" || !dc.HttpOnly || dc.SameSite != http.SameSiteStrictMode || dc.Path != "/" || dc.MaxAge <= 0 || dc.Secure {
		t.Errorf("device cookie %+v", dc)
	}
	call.Session = sc.Value
	again, err := s.Staff.Session(ctx, call)
	must(t, "session", err)
	if again.Username != "admin" || again.CSRFToken != sess.CSRFToken {
		t.Errorf("session %+v, want %+v", again, sess)
	}
	call.Session = "forged"
	_, err = s.Staff.Session(ctx, call)
	wantKind(t, "a forged session", err, maniwani.KindUnauthorized)
}

// The cookies are Secure when the browser's request came over TLS, or
// through a trusted proxy that says it did.
func testSecure(t *testing.T, s Site) {
	for _, c := range []struct {
		name   string
		call   maniwani.StaffCall
		secure bool
	}{
		{"plain", s.browser("10.20.2.1"), false},
		{"trusted proxy over https", maniwani.StaffCall{RemoteAddr: s.Proxy, ForwardedFor: []string{"10.20.2.2"}, ForwardedProto: "https"}, true},
		{"tls", maniwani.StaffCall{RemoteAddr: "10.20.2.3:4000", TLS: true}, true},
		{"untrusted peer, plain", maniwani.StaffCall{RemoteAddr: "10.20.2.4:4000"}, false},
	} {
		call := c.call
		_, cookies, err := s.Staff.Login(context.Background(), call, maniwani.StaffLogin{Username: "admin", Password: s.AdminPassword})
		must(t, c.name, err)
		for _, name := range []string{maniwani.StaffSessionCookie, maniwani.StaffDeviceCookie} {
			if ck := cookie(cookies, name); ck == nil || ck.Secure != c.secure {
				t.Errorf("%s: cookie %s %v, want Secure=%v", c.name, name, ck, c.secure)
			}
		}
		call.Session = cookie(cookies, maniwani.StaffSessionCookie).Value
		sess, err := s.Staff.Session(context.Background(), call)
		must(t, c.name+": session", err)
		call.CSRFToken = sess.CSRFToken
		out, err := s.Staff.Logout(context.Background(), call)
		must(t, c.name+": logout", err)
		if ck := cookie(out, maniwani.StaffSessionCookie); ck == nil || ck.MaxAge >= 0 || ck.Secure != c.secure {
			t.Errorf("%s: logout's cookie %v, want it dropped, Secure=%v", c.name, ck, c.secure)
		}
	}
}

// Failed logins are counted by the client's address, as the api finds it:
// behind the trusted proxy, X-Forwarded-For; from any other peer, the
// peer. A spent budget says when to try again.
func testLoginLimits(t *testing.T, s Site) {
	ctx := context.Background()
	fail := func(call maniwani.StaffCall, i int) error {
		_, _, err := s.Staff.Login(ctx, call, maniwani.StaffLogin{Username: fmt.Sprintf("nobody%d", i), Password: "wrong"})
		return err
	}
	i := 0
	for ; ; i++ {
		err := fail(s.browser("10.20.3.1"), i)
		if maniwani.ErrorKind(err) == maniwani.KindTooMany {
			if maniwani.RetryAfter(err) <= 0 {
				t.Errorf("a spent budget does not say when to try again: %v", err)
			}
			break
		}
		wantKind(t, "a wrong login", err, maniwani.KindUnauthorized)
		if i > 50 {
			t.Fatal("no limit on failed logins from one address")
		}
	}
	i++
	wantKind(t, "another address", fail(s.browser("10.20.3.2"), i), maniwani.KindUnauthorized)
	// An untrusted peer's X-Forwarded-For is not believed: it is counted
	// as itself.
	spoof := maniwani.StaffCall{RemoteAddr: "10.20.3.1:5555", ForwardedFor: []string{"10.20.3.3"}}
	wantKind(t, "the spent address, forwarding for another", fail(spoof, i+1), maniwani.KindTooMany)
}

// The account's own browser, which sends its device cookie, logs in while
// strangers' wrong passwords have spent the account's budget.
func testDevice(t *testing.T, s Site) {
	ctx := context.Background()
	own := s.browser("10.20.4.1")
	_, cookies, err := s.Staff.Login(ctx, own, maniwani.StaffLogin{Username: "admin", Password: s.AdminPassword})
	must(t, "login", err)
	own.Devices = []string{cookie(cookies, maniwani.StaffDeviceCookie).Value}
	for i := 0; ; i++ {
		_, _, err := s.Staff.Login(ctx, s.browser(fmt.Sprintf("10.20.5.%d", i+1)), maniwani.StaffLogin{Username: "admin", Password: "wrong"})
		if maniwani.ErrorKind(err) == maniwani.KindTooMany {
			break
		}
		wantKind(t, "a stranger's wrong password", err, maniwani.KindUnauthorized)
		if i > 50 {
			t.Fatal("no limit on an account's failed logins")
		}
	}
	_, _, err = s.Staff.Login(ctx, s.browser("10.20.6.1"), maniwani.StaffLogin{Username: "admin", Password: s.AdminPassword})
	wantKind(t, "a stranger with the right password", err, maniwani.KindTooMany)
	_, cookies, err = s.Staff.Login(ctx, own, maniwani.StaffLogin{Username: "admin", Password: s.AdminPassword})
	must(t, "the admin's own browser", err)
	if c := cookie(cookies, maniwani.StaffDeviceCookie); c == nil || c.Value == own.Devices[0] {
		t.Errorf("device cookie not renewed: %v", c)
	}
}

// A state change needs the CSRF token; each role does what it may only;
// a refused call changes nothing.
func testGuards(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	no := s.Post(t, "b", 0, "10.20.7.1", "a thread")
	title := "Tech"
	noToken := admin
	noToken.CSRFToken = ""
	_, err := s.Staff.CreateBoard(ctx, noToken, maniwani.BoardPatch{Name: new("g"), Title: &title})
	wantKind(t, "a board without the CSRF token", err, maniwani.KindForbidden)
	noToken.CSRFToken = "wrong"
	wantKind(t, "a deletion with a wrong CSRF token", s.Staff.DeleteBoard(ctx, noToken, "b"), maniwani.KindForbidden)
	bs, err := s.Staff.ListBoards(ctx, noToken) // reads need no token
	must(t, "boards", err)
	if len(bs) != 1 || bs[0].Name != "b" {
		t.Fatalf("boards %+v", bs)
	}
	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "jan", Password: "jan-password-long", Role: maniwani.RoleJanitor})
	must(t, "janitor", err)
	jan := s.browser("10.20.7.2")
	s.login(t, &jan, "jan", "jan-password-long")
	_, err = s.Staff.ListBans(ctx, jan)
	wantKind(t, "a janitor's bans", err, maniwani.KindForbidden)
	_, err = s.Staff.ReadLog(ctx, jan, 0)
	wantKind(t, "a janitor's log", err, maniwani.KindForbidden)
	_, err = s.Staff.UpdateThread(ctx, jan, "b", no, maniwani.ThreadPatch{Sticky: new(true)})
	wantKind(t, "a janitor's sticky", err, maniwani.KindForbidden)
	_, err = s.Staff.DeletePost(ctx, jan, "b", no, maniwani.PostDeletion{ByIP: "board"})
	wantKind(t, "a janitor's deletion by address", err, maniwani.KindForbidden)
	p, err := s.Staff.ReadPost(ctx, jan, "b", no)
	must(t, "a janitor's post", err)
	if p.IP != "" || p.Com == "" {
		t.Errorf("a janitor sees %+v", p)
	}
	p, err = s.Staff.ReadPost(ctx, admin, "b", no)
	must(t, "an admin's post", err)
	if p.IP != "10.20.7.1" || p.No != no || p.Thread != no {
		t.Errorf("an admin sees %+v", p)
	}
	_, err = s.Staff.ListReports(ctx, jan)
	must(t, "a janitor's reports", err)
	if p, err := s.Staff.ReadPost(ctx, admin, "b", no); err != nil || p.No != no {
		t.Errorf("the post after the refusals: %+v %v", p, err)
	}
}

func testBoards(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	title, types := "Technology", []string{}
	_, err := s.Staff.CreateBoard(ctx, admin, maniwani.BoardPatch{Name: new("admin"), Title: &title})
	wantKind(t, "a board named as a route", err, maniwani.KindInvalid)
	b, err := s.Staff.CreateBoard(ctx, admin, maniwani.BoardPatch{Name: new("g"), Title: &title, MaxThreads: new(20)})
	must(t, "create", err)
	def := maniwani.DefaultBoard()
	if b.Name != "g" || b.Title != title || b.MaxThreads != 20 || b.BumpLimit != def.BumpLimit ||
		!slices.Equal(b.FileTypes, maniwani.DefaultFileTypes) {
		t.Errorf("created %+v", b)
	}
	_, err = s.Staff.CreateBoard(ctx, admin, maniwani.BoardPatch{Name: new("g"), Title: &title})
	wantKind(t, "a board that exists", err, maniwani.KindConflict)
	b, err = s.Staff.UpdateBoard(ctx, admin, "g", maniwani.BoardPatch{PosterIDs: new(true), FileTypes: &[]string{"png", ".webm"}})
	must(t, "update", err)
	if !b.PosterIDs || b.Title != title || !slices.Equal(b.FileTypes, []string{".png", ".webm"}) {
		t.Errorf("updated %+v", b)
	}
	b, err = s.Staff.UpdateBoard(ctx, admin, "g", maniwani.BoardPatch{FileTypes: &types})
	must(t, "default types", err)
	if !slices.Equal(b.FileTypes, maniwani.DefaultFileTypes) {
		t.Errorf("no types: %v", b.FileTypes)
	}
	_, err = s.Staff.UpdateBoard(ctx, admin, "g", maniwani.BoardPatch{Name: new("h")})
	wantKind(t, "a rename", err, maniwani.KindInvalid)
	_, err = s.Staff.UpdateBoard(ctx, admin, "nope", maniwani.BoardPatch{PosterIDs: new(true)})
	wantKind(t, "a board that is not there", err, maniwani.KindNotFound)
	bs, err := s.Staff.ListBoards(ctx, admin)
	must(t, "list", err)
	if len(bs) != 2 || bs[0].Name != "b" || bs[1].Name != "g" || !bs[1].PosterIDs {
		t.Errorf("boards %+v", bs)
	}
	must(t, "delete", s.Staff.DeleteBoard(ctx, admin, "g"))
	wantKind(t, "delete again", s.Staff.DeleteBoard(ctx, admin, "g"), maniwani.KindNotFound)
}

func testPosts(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	op := s.Post(t, "b", 0, "10.20.8.1", "a thread")
	reply := s.Post(t, "b", op, "10.20.8.2", "a reply")
	th, err := s.Staff.UpdateThread(ctx, admin, "b", op, maniwani.ThreadPatch{Sticky: new(true), Closed: new(true)})
	must(t, "sticky and close", err)
	if *th != (maniwani.StaffThread{Board: "b", No: op, Sticky: true, Closed: true}) {
		t.Errorf("thread %+v", th)
	}
	_, err = s.Staff.UpdateThread(ctx, admin, "b", op, maniwani.ThreadPatch{})
	wantKind(t, "an empty patch", err, maniwani.KindInvalid)
	_, err = s.Staff.UpdateThread(ctx, admin, "b", 999, maniwani.ThreadPatch{Closed: new(false)})
	wantKind(t, "a thread that is not there", err, maniwani.KindNotFound)
	_, err = s.Staff.ReadPost(ctx, admin, "b", 0)
	wantKind(t, "post 0", err, maniwani.KindNotFound)
	_, err = s.Staff.DeletePost(ctx, admin, "b", reply, maniwani.PostDeletion{ByIP: "site"})
	wantKind(t, "by_ip site", err, maniwani.KindInvalid)
	d, err := s.Staff.DeletePost(ctx, admin, "b", reply, maniwani.PostDeletion{Reason: "off topic"})
	must(t, "delete", err)
	if !slices.Equal(d.Deleted, []int64{reply}) || d.File {
		t.Errorf("deleted %+v", d)
	}
	_, err = s.Staff.ReadPost(ctx, admin, "b", reply)
	wantKind(t, "a deleted post", err, maniwani.KindNotFound)

	title := "Elsewhere"
	_, err = s.Staff.CreateBoard(ctx, admin, maniwani.BoardPatch{Name: new("e"), Title: &title})
	must(t, "board e", err)
	moved, err := s.Staff.UpdateThread(ctx, admin, "b", op, maniwani.ThreadPatch{Board: new("e")})
	must(t, "move", err)
	if moved.Board != "e" || moved.No < 1 || !moved.Sticky {
		t.Errorf("moved %+v", moved)
	}
	if p, err := s.Staff.ReadPost(ctx, admin, "e", moved.No); err != nil || p.Com == "" {
		t.Errorf("the moved thread: %+v %v", p, err)
	}
	d, err = s.Staff.DeletePost(ctx, admin, "e", moved.No, maniwani.PostDeletion{ByIP: "board"})
	must(t, "delete by address", err)
	if !slices.Equal(d.Deleted, []int64{moved.No}) {
		t.Errorf("deleted by address %+v", d)
	}
}

func testBans(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	no := s.Post(t, "b", 0, "10.20.9.1", "buy watches")
	_, err := s.Staff.CreateBan(ctx, admin, maniwani.BanRequest{IP: "10.20.9.9"})
	wantKind(t, "a ban without a reason", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateBan(ctx, admin, maniwani.BanRequest{CIDR: "10.0.0.0/8", Reason: "wide"})
	wantKind(t, "a wide ban unconfirmed", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateBan(ctx, admin, maniwani.BanRequest{Reason: "whom?"})
	wantKind(t, "a ban of no one", err, maniwani.KindInvalid)
	b, err := s.Staff.CreateBan(ctx, admin, maniwani.BanRequest{Reason: "spam", Duration: "72h", Board: "b",
		Post: &maniwani.PostRef{Board: "b", No: no}, Public: true})
	must(t, "ban the post's address", err)
	if b.ID < 1 || b.CIDR != "10.20.9.1/32" || b.Board != "b" || b.Staff != "admin" || b.Reason != "spam" ||
		b.Expires.Sub(b.Created.Time).Hours() != 72 {
		t.Errorf("ban %+v", b)
	}
	wide, err := s.Staff.CreateBan(ctx, admin, maniwani.BanRequest{CIDR: "10.0.0.0/8", Reason: "wide", ConfirmWide: true})
	must(t, "a wide ban confirmed", err)
	if !wide.Expires.IsZero() {
		t.Errorf("a ban without an end ends: %+v", wide)
	}
	bans, err := s.Staff.ListBans(ctx, admin)
	must(t, "list", err)
	if len(bans) != 2 {
		t.Errorf("bans %+v", bans)
	}
	must(t, "lift", s.Staff.LiftBan(ctx, admin, b.ID))
	wantKind(t, "lift again", s.Staff.LiftBan(ctx, admin, b.ID), maniwani.KindNotFound)
	wantKind(t, "lift ban 0", s.Staff.LiftBan(ctx, admin, 0), maniwani.KindNotFound)
}

func testReports(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	no := s.Post(t, "b", 0, "10.20.10.1", "spam")
	s.Report(t, "b", no, "spam")
	rs, err := s.Staff.ListReports(ctx, admin)
	must(t, "reports", err)
	if len(rs) != 1 || rs[0].No != no || rs[0].Reason != "spam" || rs[0].Post == nil || rs[0].Post.IP != "10.20.10.1" {
		t.Fatalf("reports %+v", rs)
	}
	must(t, "dismiss", s.Staff.DismissReport(ctx, admin, rs[0].ID))
	wantKind(t, "dismiss again", s.Staff.DismissReport(ctx, admin, rs[0].ID), maniwani.KindNotFound)
	if rs, err := s.Staff.ListReports(ctx, admin); err != nil || len(rs) != 0 {
		t.Errorf("reports after: %+v %v", rs, err)
	}
}

func testStaff(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	_, err := s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "mod", Password: "short", Role: maniwani.RoleModerator})
	wantKind(t, "a short password", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "mod", Password: "mod-password-long", Role: "king"})
	wantKind(t, "no such role", err, maniwani.KindInvalid)
	m, err := s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "mod", Password: "mod-password-long", Role: maniwani.RoleModerator})
	must(t, "create", err)
	if m.Username != "mod" || m.Role != maniwani.RoleModerator || m.Created.IsZero() {
		t.Errorf("created %+v", m)
	}
	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "mod", Password: "mod-password-long", Role: maniwani.RoleModerator})
	wantKind(t, "a name taken", err, maniwani.KindConflict)
	list, err := s.Staff.ListStaff(ctx, admin)
	must(t, "list", err)
	if len(list) != 2 {
		t.Errorf("staff %+v", list)
	}
	wantKind(t, "delete oneself", s.Staff.DeleteStaff(ctx, admin, "admin"), maniwani.KindConflict)
	must(t, "delete", s.Staff.DeleteStaff(ctx, admin, "mod"))
	wantKind(t, "delete again", s.Staff.DeleteStaff(ctx, admin, "mod"), maniwani.KindNotFound)

	log, err := s.Staff.ReadLog(ctx, admin, 0)
	must(t, "log", err)
	if len(log) != 2 || log[0].Action != "delete staff" || log[0].Target != "mod" || log[0].Staff != "admin" ||
		log[1].Action != "create staff" || log[1].Time.IsZero() {
		t.Errorf("log %+v", log)
	}
	if log, err := s.Staff.ReadLog(ctx, admin, 1); err != nil || len(log) != 1 {
		t.Errorf("log of 1: %+v %v", log, err)
	}
	_, err = s.Staff.ReadLog(ctx, admin, 1001)
	wantKind(t, "a log too long", err, maniwani.KindInvalid)
}

func testFilters(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	_, err := s.Staff.CreateFilter(ctx, admin, maniwani.FilterRequest{Pattern: "watches", Action: maniwani.ActionReject})
	wantKind(t, "a filter on no field", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFilter(ctx, admin, maniwani.FilterRequest{Pattern: "watches", Fields: []maniwani.FilterField{maniwani.FieldCom},
		Action: maniwani.ActionBan, Reason: "spam"})
	wantKind(t, "a ban filter without its hours", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFilter(ctx, admin, maniwani.FilterRequest{Pattern: "a*", Regex: true,
		Fields: []maniwani.FilterField{maniwani.FieldCom}, Action: maniwani.ActionReject})
	wantKind(t, "a regex matching empty text", err, maniwani.KindInvalid)
	f, err := s.Staff.CreateFilter(ctx, admin, maniwani.FilterRequest{Board: "b", Pattern: "cheap watches",
		Fields: []maniwani.FilterField{maniwani.FieldCom, maniwani.FieldSubject, maniwani.FieldCom},
		Action: maniwani.ActionBan, Reason: "spam", BanHours: 24})
	must(t, "create", err)
	if f.ID < 1 || f.Board != "b" || f.Pattern != "cheap watches" || f.Regex || f.Action != maniwani.ActionBan ||
		f.BanHours != 24 || f.Reason != "spam" || f.Staff != "admin" || f.Created.IsZero() ||
		!slices.Equal(f.Fields, []maniwani.FilterField{maniwani.FieldCom, maniwani.FieldSubject}) {
		t.Errorf("created %+v", f)
	}
	r, err := s.Staff.CreateFilter(ctx, admin, maniwani.FilterRequest{Pattern: `b[a@]d`, Regex: true,
		Fields: []maniwani.FilterField{maniwani.FieldName}, Action: maniwani.ActionReplace, Replacement: "good"})
	must(t, "a replace filter", err)
	if r.Board != "" || !r.Regex || r.Replacement != "good" || r.BanHours != 0 {
		t.Errorf("created %+v", r)
	}
	fs, err := s.Staff.ListFilters(ctx, admin)
	must(t, "list", err)
	if len(fs) != 2 {
		t.Errorf("filters %+v", fs)
	}
	must(t, "delete", s.Staff.DeleteFilter(ctx, admin, f.ID))
	wantKind(t, "delete again", s.Staff.DeleteFilter(ctx, admin, f.ID), maniwani.KindNotFound)
	wantKind(t, "delete filter 0", s.Staff.DeleteFilter(ctx, admin, 0), maniwani.KindNotFound)
	if fs, err := s.Staff.ListFilters(ctx, admin); err != nil || len(fs) != 1 || fs[0].ID != r.ID {
		t.Errorf("filters after: %+v %v", fs, err)
	}
	log, err := s.Staff.ReadLog(ctx, admin, 1)
	must(t, "log", err)
	if len(log) != 1 || log[0].Action != "delete filter" || log[0].Staff != "admin" {
		t.Errorf("log %+v", log)
	}

	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "jan", Password: "jan-password-long", Role: maniwani.RoleJanitor})
	must(t, "janitor", err)
	jan := s.browser("10.20.11.9")
	s.login(t, &jan, "jan", "jan-password-long")
	_, err = s.Staff.ListFilters(ctx, jan)
	wantKind(t, "a janitor's filters", err, maniwani.KindForbidden)
	wantKind(t, "a janitor's deletion of a filter", s.Staff.DeleteFilter(ctx, jan, r.ID), maniwani.KindForbidden)
	noToken := admin
	noToken.CSRFToken = ""
	_, err = s.Staff.CreateFilter(ctx, noToken, maniwani.FilterRequest{Pattern: "x", Fields: []maniwani.FilterField{maniwani.FieldCom},
		Action: maniwani.ActionReject})
	wantKind(t, "a filter without the CSRF token", err, maniwani.KindForbidden)
}

func testPurge(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	op := s.Post(t, "b", 0, "10.20.12.1", "a thread")
	reply := s.Post(t, "b", op, "10.20.12.2", "a reply")
	again := s.Post(t, "b", 0, "10.20.12.2", "another thread")
	_, err := s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{})
	wantKind(t, "a purge of no one", err, maniwani.KindInvalid)
	_, err = s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{IP: "10.20.12.2", CIDR: "10.20.12.0/24"})
	wantKind(t, "ip and cidr", err, maniwani.KindInvalid)
	_, err = s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{CIDR: "10.0.0.0/8"})
	wantKind(t, "a wide purge unconfirmed", err, maniwani.KindInvalid)
	_, err = s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{IP: "10.20.12.2", Since: "yesterday"})
	wantKind(t, "since not a time", err, maniwani.KindInvalid)
	p, err := s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{IP: "10.20.12.2", Board: "b"})
	must(t, "purge", err)
	if p.Deleted != 2 {
		t.Errorf("purged %+v, want 2", p)
	}
	for _, no := range []int64{reply, again} {
		_, err := s.Staff.ReadPost(ctx, admin, "b", no)
		wantKind(t, fmt.Sprintf("purged post %d", no), err, maniwani.KindNotFound)
	}
	if _, err := s.Staff.ReadPost(ctx, admin, "b", op); err != nil {
		t.Errorf("another address's post: %v", err)
	}
	p, err = s.Staff.Purge(ctx, admin, maniwani.PurgeRequest{CIDR: "10.0.0.0/8", ConfirmWide: true, Since: "2000-01-01T00:00:00Z"})
	must(t, "a wide purge confirmed", err)
	if p.Deleted != 1 {
		t.Errorf("purged %+v, want 1", p)
	}
	log, err := s.Staff.ReadLog(ctx, admin, 1)
	must(t, "log", err)
	if len(log) != 1 || log[0].Action != "purge" || log[0].Target != "10.0.0.0/8 on every board since 2000-01-01T00:00:00Z" {
		t.Errorf("log %+v", log)
	}

	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "jan", Password: "jan-password-long", Role: maniwani.RoleJanitor})
	must(t, "janitor", err)
	jan := s.browser("10.20.12.9")
	s.login(t, &jan, "jan", "jan-password-long")
	_, err = s.Staff.Purge(ctx, jan, maniwani.PurgeRequest{IP: "10.20.12.1"})
	wantKind(t, "a janitor's purge", err, maniwani.KindForbidden)
}

// File bans by SHA-256 (a file no post has) and their refusals; the
// suite's posts have no files, so banning a post's file is the api's own
// tests' part.
func testFileBans(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	no := s.Post(t, "b", 0, "10.20.13.1", "no file here")
	_, err := s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: sha})
	wantKind(t, "a file ban without a reason", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: "beef", Reason: "spam"})
	wantKind(t, "a short sha256", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: sha, Board: "b", No: no, Reason: "spam"})
	wantKind(t, "sha256 and a post", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{Board: "b", No: no, Reason: "spam"})
	wantKind(t, "a post without a file", err, maniwani.KindInvalid)
	_, err = s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: sha, Similar: true, Reason: "spam"})
	wantKind(t, "near copies of a file no post has", err, maniwani.KindInvalid)
	b, err := s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: strings.ToUpper(sha), Delete: true, Reason: "spam"})
	must(t, "ban", err)
	if b.ID < 1 || b.SHA256 != sha || b.Similar || b.PHash != "" || b.Reason != "spam" || b.Staff != "admin" ||
		b.Created.IsZero() || b.Deleted == nil || *b.Deleted != 0 {
		t.Errorf("ban %+v", b)
	}
	_, err = s.Staff.CreateFileBan(ctx, admin, maniwani.FileBanRequest{SHA256: sha, Reason: "again"})
	wantKind(t, "a banned file again", err, maniwani.KindConflict)
	bans, err := s.Staff.ListFileBans(ctx, admin)
	must(t, "list", err)
	if len(bans) != 1 || bans[0].ID != b.ID || bans[0].Deleted != nil {
		t.Errorf("file bans %+v", bans)
	}

	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "jan", Password: "jan-password-long", Role: maniwani.RoleJanitor})
	must(t, "janitor", err)
	jan := s.browser("10.20.13.9")
	s.login(t, &jan, "jan", "jan-password-long")
	_, err = s.Staff.ListFileBans(ctx, jan)
	wantKind(t, "a janitor's file bans", err, maniwani.KindForbidden)
	wantKind(t, "a janitor's lift", s.Staff.LiftFileBan(ctx, jan, b.ID), maniwani.KindForbidden)

	must(t, "lift", s.Staff.LiftFileBan(ctx, admin, b.ID))
	wantKind(t, "lift again", s.Staff.LiftFileBan(ctx, admin, b.ID), maniwani.KindNotFound)
	wantKind(t, "lift file ban 0", s.Staff.LiftFileBan(ctx, admin, 0), maniwani.KindNotFound)
	log, err := s.Staff.ReadLog(ctx, admin, 3)
	must(t, "log", err)
	if len(log) != 3 || log[0].Action != "lift file ban" || log[2].Action != "ban file, delete its posts" || log[2].Target != sha {
		t.Errorf("log %+v", log)
	}
}

func testLogout(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	noToken := admin
	noToken.CSRFToken = ""
	_, err := s.Staff.Logout(ctx, noToken)
	wantKind(t, "logout without the CSRF token", err, maniwani.KindForbidden)
	cookies, err := s.Staff.Logout(ctx, admin)
	must(t, "logout", err)
	if c := cookie(cookies, maniwani.StaffSessionCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout's cookie %v, want the session's dropped", cookies)
	}
	_, err = s.Staff.Session(ctx, admin)
	wantKind(t, "the session after logout", err, maniwani.KindUnauthorized)
	_, err = s.Staff.Logout(ctx, admin)
	wantKind(t, "logout again", err, maniwani.KindUnauthorized)
}

// Held posts: once a board holds new posters, a new address's post waits
// for review, oldest first; approved it is published in its thread,
// rejected it is gone; a janitor may do neither.
func testHeld(t *testing.T, s Site) {
	ctx := context.Background()
	admin := s.admin(t)
	op := s.Post(t, "b", 0, "10.20.14.1", "a thread before the hold")
	_, err := s.Staff.UpdateBoard(ctx, admin, "b", maniwani.BoardPatch{HoldNewPosters: new(true)})
	must(t, "hold new posters", err)
	first := s.Post(t, "b", op, "10.20.14.2", "held first")
	second := s.Post(t, "b", op, "10.20.14.3", "held second")
	held, err := s.Staff.ListHeld(ctx, admin)
	must(t, "held posts", err)
	if len(held) != 2 || held[0].No != first || held[1].No != second {
		t.Fatalf("held %+v, want No.%d then No.%d", held, first, second)
	}
	done, err := s.Staff.DecideHeld(ctx, admin, "b", first, true)
	must(t, "approve", err)
	if !done.Approved || done.No != first || done.Thread != op {
		t.Errorf("approved %+v", done)
	}
	done, err = s.Staff.DecideHeld(ctx, admin, "b", second, false)
	must(t, "reject", err)
	if done.Approved || done.No != second {
		t.Errorf("rejected %+v", done)
	}
	if held, err := s.Staff.ListHeld(ctx, admin); err != nil || len(held) != 0 {
		t.Errorf("held after the decisions: %+v %v", held, err)
	}
	_, err = s.Staff.ReadPost(ctx, admin, "b", second)
	wantKind(t, "a rejected post", err, maniwani.KindNotFound)
	if _, err := s.Staff.ReadPost(ctx, admin, "b", first); err != nil {
		t.Errorf("an approved post: %v", err)
	}

	_, err = s.Staff.CreateStaff(ctx, admin, maniwani.NewStaffMember{Username: "jan", Password: "jan-password-long", Role: maniwani.RoleJanitor})
	must(t, "janitor", err)
	jan := s.browser("10.20.14.9")
	s.login(t, &jan, "jan", "jan-password-long")
	_, err = s.Staff.ListHeld(ctx, jan)
	wantKind(t, "a janitor's list of held posts", err, maniwani.KindForbidden)
}
