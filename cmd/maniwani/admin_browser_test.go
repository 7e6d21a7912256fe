package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin UI as a moderator uses it, in headless Chromium against the
// whole binary: log in, read the report queue, ban a poster from a report
// with the public note on the post, dismiss the other report, and then, as
// the banned poster, get the ban page. Screenshots of the admin pages and
// of the ban page go to MANIWANI_ARTIFACTS (default artifacts/screenshots),
// as admin-*.png and ban-page.png.
func TestAdminBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	chrome := chromiumPath(t)
	site := startProc(t, buildBinary(t), "site", "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32",
		"MANIWANI_ADMIN_PASSWORD=test-password")
	b := newBrowser(t, chrome, site.base)
	dir := artifactsDir(t)

	// A thread, the spammer's reply from 10.9.0.5, and a reply that is fine.
	op := formPost(t, site.base, "10.9.0.4", map[string]string{"sub": "Wristwatches",
		"com": "Post your watches. Mine is a plain steel field watch."}, testPNG(t, 400, 300))
	spam := formPost(t, site.base, "10.9.0.5", map[string]string{"resto": fmt.Sprint(op.No),
		"com": "BUY CHEAP WATCHES at totally-legit.example!!! best prices"}, nil)
	fine := formPost(t, site.base, "10.9.0.6", map[string]string{"resto": fmt.Sprint(op.No),
		"com": "A diver on a rubber strap, nothing fancy."}, nil)
	report(t, site.base, "10.9.1.1", spam.No, "spam")
	report(t, site.base, "10.9.1.2", fine.No, "I don't like divers")
	threadURL := fmt.Sprintf("%s/b/thread/%d", site.base, op.No)

	ctx := b.tab(t, "10.9.2.1", true) // the moderator
	save := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string { t.Helper(); return result(t, ctx, chromedp.Text(chromedp.CSS(sel))) }

	// Logged out, the admin UI is the login form; logged in, the dashboard.
	b.do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(site.base+"/admin/reports"),
		chromedp.WaitVisible(chromedp.CSS("#l-user")))
	if loc := result(t, ctx, chromedp.Location()); !strings.Contains(loc, "/admin/login?next=") {
		t.Errorf("logged out, /admin/reports led to %s", loc)
	}
	b.do(t, ctx, chromedp.SendKeys(chromedp.CSS("#l-user"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#l-pass"), "test-password"),
		chromedp.Click(chromedp.CSS("form[action='/admin/login'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".rep")))
	if loc := result(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin/reports") {
		t.Errorf("after login: %s, want the page asked for", loc)
	}
	b.do(t, ctx, chromedp.Navigate(site.base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".tiles")))
	if got := strings.Join(strings.Fields(text(".tile.hot")), " "); got != "2 open reports" {
		t.Errorf("dashboard shows %q, want 2 open reports", got)
	}
	save("admin-dashboard.png")

	// The queue shows each reported post in place, with its address.
	b.do(t, ctx, chromedp.Navigate(site.base+"/admin/reports"), chromedp.WaitVisible(chromedp.CSS(".rep")))
	if got := text("main"); !strings.Contains(got, "BUY CHEAP WATCHES") || !strings.Contains(got, "10.9.0.5") ||
		!strings.Contains(got, "A diver on a rubber strap") {
		t.Errorf("report queue shows:\n%s", got)
	}
	save("admin-reports.png")

	// Ban from the report: a day, reason spam, the public note.
	banLink := fmt.Sprintf("a[href^='/admin/ban?board=b&no=%d&']", spam.No)
	b.do(t, ctx, chromedp.Click(chromedp.CSS(banLink)), chromedp.WaitVisible(chromedp.CSS("#b-target")))
	if v := result(t, ctx, chromedp.Value(chromedp.CSS("#b-target"))); v != "10.9.0.5" {
		t.Errorf("ban form's address is %q, want the post's 10.9.0.5", v)
	}
	b.do(t, ctx, chromedp.SetValue(chromedp.CSS("#b-len"), "24h"),
		chromedp.SendKeys(chromedp.CSS("#b-reason"), "spam"),
		chromedp.Click(chromedp.CSS("input[name=public]")))
	save("admin-ban-form.png")
	b.do(t, ctx, chromedp.Click(chromedp.CSS("form[action='/admin/bans'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := text(".flash.ok"); !strings.HasPrefix(got, "Banned 10.9.0.5/32 until ") {
		t.Errorf("after the ban: %q", got)
	}
	// The ban dismissed its report; the other one is dismissed by hand.
	if got := text("main"); strings.Contains(got, "BUY CHEAP WATCHES") || !strings.Contains(got, "A diver") {
		t.Errorf("queue after the ban:\n%s", got)
	}
	b.do(t, ctx, chromedp.Click(chromedp.CSS("form[action$='/dismiss'] button")),
		chromedp.WaitVisible(chromedp.CSS("main .empty")))
	if got := text(".flash.ok"); !strings.HasPrefix(got, "Dismissed report #") {
		t.Errorf("after dismissing: %q", got)
	}

	// The post now says so, to everyone.
	b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#p%d", spam.No))))
	if got := text(fmt.Sprintf("#p%d blockquote", spam.No)); !strings.Contains(got, "USER WAS BANNED FOR THIS POST") {
		t.Errorf("the banned post shows %q", got)
	}
	save("admin-banned-post.png")

	for _, pg := range []struct{ name, path, want string }{
		{"admin-bans.png", "/admin/bans", "10.9.0.5/32"},
		{"admin-boards.png", "/admin/boards", "/b/"},
		{"admin-log.png", "/admin/log", "dismiss report"},
	} {
		b.do(t, ctx, chromedp.Navigate(site.base+pg.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if got := text("main"); !strings.Contains(got, pg.want) {
			t.Errorf("%s does not show %q:\n%s", pg.path, pg.want, got)
		}
		if pg.path == "/admin/boards" { // with the form to create one open
			b.do(t, ctx, chromedp.Click(chromedp.CSS("details.nb summary")), chromedp.WaitVisible(chromedp.CSS("#e-name")))
		}
		save(pg.name)
	}
	// At a phone's width nothing is wider than the screen.
	b.do(t, ctx, chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile))
	for _, path := range []string{"/admin/", "/admin/reports", "/admin/bans", "/admin/boards", "/admin/log", "/admin/filters"} {
		b.do(t, ctx, chromedp.Navigate(site.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if w := result(t, ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > 375 {
			t.Errorf("%s at 375 px is %d px wide", path, w)
		}
	}
	save("admin-log-375.png")

	// The banned poster posts with the plain form: the ban page, 403, with
	// the reason and the end.
	resp, err := http.DefaultClient.Do(formRequest(t, site.base+"/b/post", "10.9.0.5",
		url.Values{"resto": {fmt.Sprint(op.No)}, "com": {"why can't I post"}}))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now().Add(24 * time.Hour).UTC()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page), "spam") || !strings.Contains(string(page), "It ends") ||
		!strings.Contains(string(page), end.Format("2006")) {
		t.Errorf("banned poster's post: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	// And in the browser, from the thread's own form without JavaScript.
	poster := b.tab(t, "10.9.0.5", false)
	b.do(t, poster, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(threadURL),
		chromedp.SendKeys(chromedp.CSS("#f-com"), "why can't I post"),
		chromedp.Click(chromedp.CSS("#f button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := result(t, poster, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(got, "You are banned") ||
		!strings.Contains(got, "spam") || !strings.Contains(got, "It ends") {
		t.Errorf("the ban page shows:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "ban-page.png"), result(t, poster, chromedp.FullScreenshot(100)), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := moderateSpam(t, b, ctx, site.base, op.No, dir)
	reviewHeld(t, b, ctx, mod, site.base, op.No, dir)
	t.Logf("screenshots in %s", dir)
}

// moderateSpam walks a moderator through the defences against spam: the
// admin (on the tab adm) adds the moderator's account; the moderator adds
// a filter that refuses a spammer's post, then purges a wiper's posts from
// beside one of them, and a whole range from the dashboard. Screenshots:
// admin-filters.png, admin-purge.png. It returns the moderator's tab.
func moderateSpam(t *testing.T, b *browser, adm context.Context, base string, thread int64, dir string) context.Context {
	t.Helper()
	b.do(t, adm, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/admin/staff"), chromedp.WaitVisible(chromedp.CSS("#s-user")),
		chromedp.SendKeys(chromedp.CSS("#s-user"), "mod"), chromedp.SendKeys(chromedp.CSS("#s-pass"), "moderator-password"),
		chromedp.SetValue(chromedp.CSS("#s-role"), "moderator"),
		chromedp.Click(chromedp.CSS("form[action='/admin/staff'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))

	ctx := b.tab(t, "10.9.3.1", true)
	text := func(sel string) string { t.Helper(); return result(t, ctx, chromedp.Text(chromedp.CSS(sel))) }
	b.do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/admin/login"), chromedp.WaitVisible(chromedp.CSS("#l-user")),
		chromedp.SendKeys(chromedp.CSS("#l-user"), "mod"), chromedp.SendKeys(chromedp.CSS("#l-pass"), "moderator-password"),
		chromedp.Click(chromedp.CSS("form[action='/admin/login'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".tiles")))

	// A filter: the moderator finds the page from the menu.
	b.do(t, ctx, chromedp.Click(chromedp.CSS("nav a[href='/admin/filters']")), chromedp.WaitVisible(chromedp.CSS("#fl-pattern")),
		chromedp.SendKeys(chromedp.CSS("#fl-pattern"), "replica watches"),
		chromedp.SetValue(chromedp.CSS("#fl-action"), "reject"),
		chromedp.SendKeys(chromedp.CSS("#fl-reason"), "watch spam"),
		chromedp.Click(chromedp.CSS("form[action='/admin/filters'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := text(".flash.ok"); got != "Added filter #1." {
		t.Errorf("after adding the filter: %q", got)
	}
	if got := text("main table"); !strings.Contains(got, "replica watches") || !strings.Contains(got, "watch spam") {
		t.Errorf("the filters' table shows:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-filters.png"), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(formRequest(t, base+"/b/post", "10.9.3.9",
		url.Values{"resto": {fmt.Sprint(thread)}, "com": {"Cheap REPLICA Watches here"}}))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "watch spam") || strings.Contains(string(page), "replica watches") {
		t.Errorf("a post the filter matches: %d\n%s", resp.StatusCode, page)
	}

	// A wiper from three addresses of one /24.
	var wipes []posted
	for i := range 3 {
		wipes = append(wipes, formPost(t, base, fmt.Sprintf("10.9.4.%d", i+1), map[string]string{"resto": fmt.Sprint(thread),
			"com": fmt.Sprintf("wipe wipe wipe %d", i)}, nil))
	}
	// Beside one of the posts: its address, on every board.
	b.do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/admin/posts/b/%d", base, wipes[0].No)), chromedp.WaitVisible(chromedp.CSS("form.pg")),
		chromedp.SetValue(chromedp.CSS("form.pg select[name=board]"), ""))
	if err := os.WriteFile(filepath.Join(dir, "admin-purge.png"), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A destructive action asks first, on a page of its own.
	b.do(t, ctx, chromedp.Click(chromedp.CSS("form.pg button")), chromedp.WaitVisible(chromedp.CSS("p.ask")))
	if got := text("p.ask"); got != "Delete every post of 10.9.4.1 on every board?" {
		t.Errorf("the purge asks %q", got)
	}
	b.do(t, ctx, chromedp.Click(chromedp.CSS("input[name=confirm] + button")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := text(".flash.ok"); got != "Purged 10.9.4.1 on every board: 1 post deleted." {
		t.Errorf("after the purge beside the post: %q", got)
	}
	// From the dashboard: the rest of the range. (Loaded afresh: the flash
	// of the page before would satisfy the wait for the next one.)
	b.do(t, ctx, chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#pg-target")),
		chromedp.SendKeys(chromedp.CSS("#pg-target"), "10.9.4.0/24"),
		chromedp.Click(chromedp.CSS("form[action='/admin/purge'] button")), chromedp.WaitVisible(chromedp.CSS("p.ask")),
		chromedp.Click(chromedp.CSS("input[name=confirm] + button")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := text(".flash.ok"); got != "Purged 10.9.4.0/24 on every board: 2 posts deleted." {
		t.Errorf("after the purge of the range: %q", got)
	}
	b.do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/b/thread/%d", base, thread)), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#p%d", thread))))
	if got := text("main"); strings.Contains(got, "wipe wipe wipe") {
		t.Errorf("the thread after the purges:\n%s", got)
	}
	b.do(t, ctx, chromedp.Navigate(base+"/admin/log"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := text("main"); !strings.Contains(got, "10.9.4.0/24 on every board") || !strings.Contains(got, "2 posts deleted") {
		t.Errorf("the log shows:\n%s", got)
	}
	return ctx
}

// reviewHeld walks a moderator (on the tab mod) through a held post: the
// admin (on adm) makes /b/ hold new posters from the board's form; a new
// poster replies from the thread's page and is told the post awaits
// review, which nobody sees; the moderator finds it from the menu and
// approves it, and it is in the thread. Screenshot: admin-held.png.
func reviewHeld(t *testing.T, b *browser, adm, mod context.Context, base string, thread int64, dir string) {
	t.Helper()
	b.do(t, adm, chromedp.Navigate(base+"/admin/boards/b"), chromedp.WaitVisible(chromedp.CSS("input[name=hold_new_posters]")),
		chromedp.Click(chromedp.CSS("input[name=hold_new_posters]")),
		chromedp.Click(chromedp.CSS("form[action='/admin/boards/b'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if on := result(t, adm, chromedp.Evaluate[bool](`document.querySelector("input[name=hold_new_posters]").checked`)); !on {
		t.Fatal("the board's form does not show hold_new_posters on after saving it")
	}

	threadURL := fmt.Sprintf("%s/b/thread/%d", base, thread)
	poster := b.tab(t, "10.9.5.1", true)
	b.do(t, poster, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("#f-com")),
		chromedp.SendKeys(chromedp.CSS("#f-com"), "Hello, first time here: a pilot watch."),
		chromedp.Click(chromedp.CSS("#f button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#f .err")))
	msg := result(t, poster, chromedp.Text(chromedp.CSS("#f .err")))
	var no int64
	if _, err := fmt.Sscanf(msg, "Your post No.%d awaits", &no); err != nil || !strings.Contains(msg, "review") {
		t.Fatalf("a new poster's post says %q", msg)
	}
	b.do(t, poster, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#p%d", thread))))
	if got := result(t, poster, chromedp.Text(chromedp.CSS("main"))); strings.Contains(got, "a pilot watch") {
		t.Errorf("the held post is on the thread's page:\n%s", got)
	}

	text := func(sel string) string { t.Helper(); return result(t, mod, chromedp.Text(chromedp.CSS(sel))) }
	b.do(t, mod, chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".tiles")),
		chromedp.Click(chromedp.CSS("nav a[href='/admin/held']")), chromedp.WaitVisible(chromedp.CSS(".rep")))
	if got := text("main"); !strings.Contains(got, "a pilot watch") || !strings.Contains(got, fmt.Sprintf("a reply to No.%d", thread)) {
		t.Errorf("the held posts' page shows:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-held.png"), result(t, mod, chromedp.FullScreenshot(100)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(t, mod, chromedp.Click(chromedp.CSS(fmt.Sprintf("form[action='/admin/held/b/%d'] button[value='1']", no))),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := text(".flash.ok"); got != fmt.Sprintf("Approved /b/ No.%d: it is published.", no) {
		t.Errorf("after approving: %q", got)
	}
	if got := text("main"); !strings.Contains(got, "No posts wait for review.") {
		t.Errorf("the queue after approving:\n%s", got)
	}
	b.do(t, poster, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#p%d", no))))
	if got := result(t, poster, chromedp.Text(chromedp.CSS(fmt.Sprintf("#p%d blockquote", no)))); !strings.Contains(got, "a pilot watch") {
		t.Errorf("the approved post shows %q", got)
	}
}

// formRequest is a browser's plain form post (urlencoded, wanting HTML)
// from the address ip.
func formRequest(t *testing.T, target, ip string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("X-Forwarded-For", ip)
	return req
}

// report reports post no of /b/ from the address ip, as the thread page's
// form does.
func report(t *testing.T, base, ip string, no int64, reason string) {
	t.Helper()
	req := formRequest(t, base+"/b/report", ip, url.Values{"no": {fmt.Sprint(no)}, "reason": {reason}})
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("report No.%d: %d %s", no, resp.StatusCode, b)
	}
}

// A moderator bans a post's file from the post's page, with near copies
// and its posts deleted, in headless Chromium against the whole binary;
// the file is then refused to a poster, and the moderator lifts the ban
// from the file bans page. Screenshots: admin-fileban-form.png,
// admin-filebans.png.
func TestAdminBrowserFileBan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	chrome := chromiumPath(t)
	site := startProc(t, buildBinary(t), "site", "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32",
		"MANIWANI_ADMIN_PASSWORD=test-password")
	b := newBrowser(t, chrome, site.base)
	dir := artifactsDir(t)
	pic := testPNG(t, 400, 300)
	op := formPost(t, site.base, "10.9.5.1", map[string]string{"sub": "Sunsets", "com": "Post your sunsets."}, pic)
	keep := formPost(t, site.base, "10.9.5.2", map[string]string{"com": "A thread without a picture."}, nil)

	// The admin adds a moderator.
	admin := b.tab(t, "10.9.6.1", true)
	b.do(t, admin, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(site.base+"/admin/staff"),
		chromedp.WaitVisible(chromedp.CSS("#l-user")),
		chromedp.SendKeys(chromedp.CSS("#l-user"), "admin"), chromedp.SendKeys(chromedp.CSS("#l-pass"), "test-password"),
		chromedp.Click(chromedp.CSS("form[action='/admin/login'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#s-user")),
		chromedp.SendKeys(chromedp.CSS("#s-user"), "mod"), chromedp.SendKeys(chromedp.CSS("#s-pass"), "moderator-password"),
		chromedp.SetValue(chromedp.CSS("#s-role"), "moderator"),
		chromedp.Click(chromedp.CSS("form[action='/admin/staff'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))

	ctx := b.tab(t, "10.9.6.2", true) // the moderator
	text := func(sel string) string { t.Helper(); return result(t, ctx, chromedp.Text(chromedp.CSS(sel))) }
	save := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	postPage := fmt.Sprintf("%s/admin/posts/b/%d", site.base, op.No)
	b.do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(postPage),
		chromedp.WaitVisible(chromedp.CSS("#l-user")),
		chromedp.SendKeys(chromedp.CSS("#l-user"), "mod"), chromedp.SendKeys(chromedp.CSS("#l-pass"), "moderator-password"),
		chromedp.Click(chromedp.CSS("form[action='/admin/login'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("details.fb summary")),
		chromedp.Click(chromedp.CSS("details.fb summary")),
		chromedp.WaitVisible(chromedp.CSS("details.fb input[name=reason]")),
		chromedp.SendKeys(chromedp.CSS("details.fb input[name=reason]"), "not on this site"),
		chromedp.Click(chromedp.CSS("details.fb input[name=delete]")))
	if !result(t, ctx, chromedp.Evaluate[bool](`document.querySelector("details.fb input[name=similar]").checked`)) {
		t.Errorf("near copies are not ticked for an image")
	}
	save("admin-fileban-form.png")
	b.do(t, ctx, chromedp.Click(chromedp.CSS("details.fb button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	want := fmt.Sprintf("Banned the file of /b/ No.%d and its near copies; deleted 1 post with it.", op.No)
	if got := text(".flash.ok"); got != want {
		t.Errorf("after the file ban: %q, want %q", got, want)
	}
	if loc := result(t, ctx, chromedp.Location()); !strings.Contains(loc, "/admin/filebans") {
		t.Errorf("after the file ban the moderator is at %s, want the file bans page", loc)
	}
	if got := text("main table"); !strings.Contains(got, "not on this site") || !strings.Contains(got, "yes") {
		t.Errorf("the file bans page shows:\n%s", got)
	}
	save("admin-filebans.png")

	// The thread went; the poster's same picture is refused with the reason.
	if resp, err := http.Get(fmt.Sprintf("%s/b/thread/%d.json", site.base, op.No)); err != nil || resp.StatusCode != 404 {
		t.Errorf("the banned file's thread: %v %v", resp.StatusCode, err)
	}
	refused := func() (int, string) {
		t.Helper()
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("resto", fmt.Sprint(keep.No))
		fw, _ := w.CreateFormFile("upfile", "again.png")
		fw.Write(pic)
		w.Close()
		req, _ := http.NewRequest(http.MethodPost, site.base+"/b/post", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-For", "10.9.5.3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(got)
	}
	if code, got := refused(); code != 403 || !strings.Contains(got, "not on this site") {
		t.Errorf("the banned picture posted again: %d %s", code, got)
	}

	// At a phone's width the page fits; then the ban is lifted.
	b.do(t, ctx, chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if w := result(t, ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > 375 {
		t.Errorf("/admin/filebans at 375 px is %d px wide", w)
	}
	b.do(t, ctx, chromedp.EmulateViewport(1280, 900),
		chromedp.Click(chromedp.CSS("form[action$='/lift'] button")), chromedp.WaitVisible(chromedp.CSS("main .empty")))
	if got := text(".flash.ok"); !strings.HasPrefix(got, "Lifted file ban #") {
		t.Errorf("after lifting: %q", got)
	}
	if code, got := refused(); code != 201 {
		t.Errorf("the picture once the ban is lifted: %d %s", code, got)
	}
}
