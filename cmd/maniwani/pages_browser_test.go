package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The pages' bugs of issue 18 as a reader meets them, in headless
// Chromium against the whole binary, with and without JavaScript; each
// subtest failed before its fix. Screenshots go to MANIWANI_ARTIFACTS
// (pages-*.png).
func TestPagesBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	chrome := chromiumPath(t)
	site := startProc(t, buildBinary(t), "site", "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32",
		"MANIWANI_ADMIN_PASSWORD=test-password")
	b := newBrowser(t, chrome, site.base)
	dir := artifactsDir(t)
	shot := func(t *testing.T, ctx context.Context, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "pages-"+name+".png"), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loaded := `[...document.images].every(i => i.complete) && !document.querySelector('img[data-w]')`
	waitImages := func(t *testing.T, ctx context.Context) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("images not loaded: %v", err)
		}
	}

	op := formPost(t, site.base, "10.70.0.1", map[string]string{"sub": "Layout", "com": "A thread of replies with files."}, testPNG(t, 400, 300))
	other := formPost(t, site.base, "10.70.0.2", map[string]string{"com": "Another thread."}, nil)
	long := "The text of a reply with a file runs beside its thumbnail and wraps at the width of the page, " +
		"not at the width of one word: greentext and quotes keep their words whole."
	withFile := formPost(t, site.base, "10.70.0.3", map[string]string{"resto": fmt.Sprint(op.No),
		"com": fmt.Sprintf(">>%d\n>greentext stays whole\n%s", op.No, long)}, testPNG(t, 300, 200))
	// Short lines: the box is as wide as them and the thumbnail.
	short := formPost(t, site.base, "10.70.0.5", map[string]string{"resto": fmt.Sprint(op.No),
		"com": fmt.Sprintf(">>%d\n>greentext\nnice", op.No)}, testPNG(t, 500, 200))
	cross := formPost(t, site.base, "10.70.0.4", map[string]string{"resto": fmt.Sprint(op.No),
		"com": fmt.Sprintf(">>%d is this thread's opening post; >>%d is another thread's, and so is >>>/b/%d", op.No, other.No, other.No)}, nil)
	threadURL := fmt.Sprintf("%s/b/thread/%d", site.base, op.No)

	// Bug 1: a reply with a file kept the width of its box (about 320 px)
	// and wrapped its text beside the thumbnail, mid-word.
	t.Run("a reply with a file is as wide as its text", func(t *testing.T) {
		ctx := b.tab(t, "10.71.0.1", true)
		for _, width := range []int64{1280, 375} {
			b.do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(site.base+"/b/"))
			waitImages(t, ctx)
			shot(t, ctx, fmt.Sprintf("index-file-%d", width))
			b.do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(threadURL))
			waitImages(t, ctx)
			// Each word of the text is on one line: no word is split.
			for _, no := range []int64{withFile.No, short.No} {
				js := fmt.Sprintf(`(() => {
				const q = document.querySelector('#p%d blockquote'), r = document.createRange();
				const words = [];
				const walk = n => { for (const c of n.childNodes) c.nodeType === 3 ? words.push(...[...c.textContent.matchAll(/\S+/g)].map(m => [c, m.index, m[0].length])) : walk(c); };
				walk(q);
				return words.filter(([n, i, l]) => { r.setStart(n, i); r.setEnd(n, i + l); return r.getClientRects().length > 1; }).length;
			})()`, no)
				if split := result(t, ctx, chromedp.Evaluate[int](js)); split > 0 {
					t.Errorf("at %d px, %d words of reply No.%d are split over lines", width, split, no)
				}
			}
			if width > 1000 {
				w := result(t, ctx, chromedp.Evaluate[float64](fmt.Sprintf(`document.querySelector('#p%d').getBoundingClientRect().width`, withFile.No)))
				if w < 700 {
					t.Errorf("at %d px the reply with a file is %.0f px wide, want its text's width", width, w)
				}
			}
			shot(t, ctx, fmt.Sprintf("reply-file-%d", width))
		}

	})

	// Bug 2: (OP) was shown on every quote of an opening post; it means
	// this thread's. A quote of another thread gets an arrow.
	t.Run("(OP) only on this thread's opening post", func(t *testing.T) {
		ctx := b.tab(t, "10.72.0.1", true)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		marks := result(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
			`[...document.querySelectorAll('#p%d blockquote a.quotelink')].map(a => a.textContent + getComputedStyle(a, '::after').content)`, cross.No)))
		want := []string{fmt.Sprintf(`>>%d" (OP)"`, op.No), fmt.Sprintf(`>>%d" →"`, other.No), fmt.Sprintf(`>>>/b/%d" →"`, other.No)}
		if strings.Join(marks, "|") != strings.Join(want, "|") {
			t.Errorf("the quotes are marked %q, want %q", marks, want)
		}
	})

	// Bug 3: a moved thread's old address answered 404, and quotes of
	// its posts said they were gone.
	t.Run("a moved thread's address and quotes lead to it", func(t *testing.T) {
		staffCall(t, site.base, "POST", "/api/admin/boards", `{"name":"mvd","title":"Moved here"}`)
		moving := formPost(t, site.base, "10.73.0.1", map[string]string{"com": "a thread that moves to /mvd/"}, nil)
		reply := formPost(t, site.base, "10.73.0.2", map[string]string{"resto": fmt.Sprint(moving.No), "com": "its reply"}, nil)
		quoting := formPost(t, site.base, "10.73.0.3", map[string]string{"resto": fmt.Sprint(other.No),
			"com": fmt.Sprintf(">>%d look at this", reply.No)}, nil)
		staffCall(t, site.base, "PATCH", fmt.Sprintf("/api/admin/threads/b/%d", moving.No), `{"board":"mvd"}`)
		ctx := b.tab(t, "10.73.1.1", true)
		b.do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/b/thread/%d", site.base, moving.No)), chromedp.WaitVisible(chromedp.CSS("body[data-k=thread]")))
		if loc := result(t, ctx, chromedp.Location()); !strings.Contains(loc, "/mvd/thread/1") {
			t.Errorf("the old address led to %s, want /mvd/thread/1", loc)
		}
		b.do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/b/thread/%d", site.base, other.No)), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		link := fmt.Sprintf("#p%d blockquote a.quotelink", quoting.No)
		at := result(t, ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(
			`(r => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(%q).getBoundingClientRect())`, link)))
		b.do(t, ctx, chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]))
		shown := `document.querySelector('.pv')?.textContent.includes('its reply')`
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
			pv := result(t, ctx, chromedp.Evaluate[string](`document.querySelector('.pv')?.textContent || ''`))
			t.Errorf("the quote of the moved reply previews %q, not the reply: %v", pv, err)
		}
	})

	// Bug 4: "Go back" on the no-JavaScript refusal page lost the text.
	t.Run("a refused form post gives the form back", func(t *testing.T) {
		ctx := b.tab(t, "10.74.0.1", false)
		text := "A careful comment, too long by one. " + strings.Repeat("y", 2000)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.SetValue(chromedp.CSS("#f-com"), text),
			chromedp.SetValue(chromedp.CSS("#f-name"), "Kot"),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".rf textarea[name=com]")))
		got := result(t, ctx, chromedp.Value(chromedp.CSS("textarea[name=com]")))
		if !strings.HasPrefix(got, "A careful comment, too long by one.") || len(got) != 2000 {
			t.Errorf("the refusal gives back %d characters %.40q, want the first 2000 of the text", len(got), got)
		}
		if name := result(t, ctx, chromedp.Value(chromedp.CSS("input[name=name]"))); name != "Kot" {
			t.Errorf("the name given back is %q", name)
		}
		reason := result(t, ctx, chromedp.Evaluate[string](`document.querySelector('textarea[name=com]').closest('.fr').nextElementSibling?.textContent || ''`))
		if !strings.Contains(reason, "over the limit of 2000 characters") {
			t.Errorf("beside the comment: %q, want the reason", reason)
		}
		if n := result(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/"], nav a[href="/b/"]').length`)); n < 2 {
			t.Error("the refusal page has no site navigation")
		}
		shot(t, ctx, "refusal")
		// Sent again, shortened, it is posted.
		b.do(t, ctx, chromedp.SetValue(chromedp.CSS("textarea[name=com]"), "A careful comment, shortened."),
			chromedp.Click(chromedp.CSS("form.pf button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("body[data-k=thread]")))
		if got := result(t, ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(got, "A careful comment, shortened.") {
			t.Error("the form given back did not post")
		}
		if loc := result(t, ctx, chromedp.Location()); !strings.Contains(loc, fmt.Sprintf("/b/thread/%d#p", op.No)) {
			t.Errorf("the form given back posted to %s, not as a reply to the thread", loc)
		}
	})

	// Bug 5: reporting or deleting without JavaScript said nothing and
	// landed on the board's index.
	t.Run("report and delete without JavaScript confirm it", func(t *testing.T) {
		mine := formPost(t, site.base, "10.75.0.1", map[string]string{"resto": fmt.Sprint(op.No), "com": "to delete", "pwd": "secret"}, nil)
		ctx := b.tab(t, "10.75.0.2", false)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.Click(chromedp.CSS(".dr summary")),
			chromedp.SetValue(chromedp.CSS("#r-no"), fmt.Sprint(withFile.No)), chromedp.SetValue(chromedp.CSS("#r-why"), "spam"),
			chromedp.Click(chromedp.CSS(`form[action$="/report"] button`)), chromedp.WaitVisible(chromedp.CSS("#n-reported")))
		if loc := result(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, fmt.Sprintf("/b/thread/%d#n-reported", op.No)) {
			t.Errorf("after a report: %s", loc)
		}
		shot(t, ctx, "reported")
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.Click(chromedp.CSS(".dr summary")),
			chromedp.SetValue(chromedp.CSS("#d-no"), fmt.Sprint(mine.No)), chromedp.SetValue(chromedp.CSS("#d-pwd"), "secret"),
			chromedp.Click(chromedp.CSS(`form[action$="/delete"] button`)), chromedp.WaitVisible(chromedp.CSS("#n-deleted")))
		if loc := result(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, fmt.Sprintf("/b/thread/%d#n-deleted", op.No)) {
			t.Errorf("after a delete: %s", loc)
		}
		if n := result(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#p%d').length`, mine.No))); n != 0 {
			t.Error("the deleted post is still on the page")
		}
		// Neither notice shows on the page itself.
		b.do(t, ctx, chromedp.Navigate(threadURL))
		if v := result(t, ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('.note')].some(n => n.offsetParent)`)); v {
			t.Error("a notice shows on the plain page")
		}
	})

	// Several files: a board of max_files 3 shows a post's files side by
	// side, on its page and when the post arrives live.
	t.Run("several files a post", func(t *testing.T) {
		staffCall(t, site.base, "POST", "/api/admin/boards", `{"name":"mf","title":"Files","max_files":3}`)
		first := postFiles(t, site.base, "mf", "10.76.0.1", 0, "three files", testPNG(t, 300, 200), testPNG(t, 200, 300), testPNG(t, 100, 100))
		ctx := b.tab(t, "10.76.1.1", true)
		b.do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/mf/thread/%d", site.base, first)), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		if n := result(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#p%d .fx a.fl img').length`, first))); n != 3 {
			t.Errorf("the page shows %d files of the post, want 3", n)
		}
		if v := result(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#f-file').multiple`)); !v {
			t.Error("the form's file field does not take several files")
		}
		reply := postFiles(t, site.base, "mf", "10.76.0.2", first, "two more", testPNG(t, 120, 80), testPNG(t, 80, 120))
		live := fmt.Sprintf(`document.querySelectorAll('#p%d .fx a.fl img').length === 2`, reply)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](live, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
			t.Errorf("the live reply does not show its two files: %v", err)
		}
		waitImages(t, ctx)
		shot(t, ctx, "files-1280")
		b.do(t, ctx, chromedp.EmulateViewport(375, 900))
		shot(t, ctx, "files-375")
	})

	// Bug 9, the smaller things: times without JavaScript say their zone,
	// and with it a click switches relative and exact times, remembered;
	// the browser's /favicon.ico is the site's icon; a code block in a
	// reply has a box of its own; the ban page names the board, the ban's
	// number and how to appeal.
	t.Run("times, icon, code and the ban page", func(t *testing.T) {
		plain := b.tab(t, "10.78.0.1", false)
		b.do(t, plain, chromedp.Navigate(threadURL))
		if after := result(t, plain, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.ph time'), '::after').content`)); after != `" UTC"` {
			t.Errorf("a time without JavaScript is followed by %s, want the zone", after)
		}
		ctx := b.tab(t, "10.78.0.2", true)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body.tz")))
		rel := result(t, ctx, chromedp.Text(chromedp.CSS(".op .ph time")))
		b.do(t, ctx, chromedp.Click(chromedp.CSS(".op .ph time")))
		exact := result(t, ctx, chromedp.Text(chromedp.CSS(".op .ph time")))
		b.do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("body.tz")))
		again := result(t, ctx, chromedp.Text(chromedp.CSS(".op .ph time")))
		if rel == exact || again != exact || !strings.ContainsAny(exact, "0123456789") {
			t.Errorf("times: %q, clicked %q, reloaded %q; want relative, then exact, kept", rel, exact, again)
		}
		resp, err := http.Get(site.base + "/favicon.ico")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("/favicon.ico: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		code := formPost(t, site.base, "10.78.0.3", map[string]string{"resto": fmt.Sprint(op.No), "com": "[code]int main() {\n    return 0;\n}[/code]"}, nil)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#p%d pre", code.No))))
		bg := result(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
			`[getComputedStyle(document.querySelector('#p%d pre')).backgroundColor, getComputedStyle(document.querySelector('#p%d')).backgroundColor]`, code.No, code.No)))
		if bg[0] == bg[1] {
			t.Errorf("the code block's background is the reply's (%s)", bg[0])
		}
		staffCall(t, site.base, "POST", "/api/admin/bans", `{"ip":"10.78.0.9","reason":"flooding","board":"b"}`)
		banned := b.tab(t, "10.78.0.9", false)
		b.do(t, banned, chromedp.Navigate(threadURL), chromedp.SetValue(chromedp.CSS("#f-com"), "am I banned?"),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("main.errp")))
		page := result(t, banned, chromedp.Text(chromedp.CSS("main")))
		for _, want := range []string{"banned from posting on /b/", "flooding", "ban No.", "to appeal"} {
			if !strings.Contains(page, want) {
				t.Errorf("the ban page lacks %q: %s", want, page)
			}
		}
		shot(t, banned, "ban")
	})

	// Item 13: the thread's stats, in the thread (counted up live) and the
	// catalog.
	t.Run("thread stats", func(t *testing.T) {
		ctx := b.tab(t, "10.79.0.1", true)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		stat := func(s string) string {
			return result(t, ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`#stats b[data-s=%q]`, s))))
		}
		r0, i0 := stat("r"), stat("i")
		if got := result(t, ctx, chromedp.Text(chromedp.CSS("#stats"))); !strings.Contains(got, "Posters:") || !strings.Contains(got, "Page 1") {
			t.Errorf("the stats: %q", got)
		}
		formPost(t, site.base, "10.79.0.2", map[string]string{"resto": fmt.Sprint(op.No), "com": "counted live"}, testPNG(t, 40, 40))
		want := fmt.Sprintf(`document.querySelector('#stats b[data-s=r]').textContent === '%d' && document.querySelector('#stats b[data-s=i]').textContent === '%d'`,
			atoi(t, r0)+1, atoi(t, i0)+1)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](want, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
			t.Errorf("the stats did not count the live reply (from %s replies, %s files): %v", r0, i0, err)
		}
		b.do(t, ctx, chromedp.Navigate(site.base+"/b/catalog"))
		if got := result(t, ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`.c:has(a[href="/b/thread/%d"]) .cm`, op.No)))); !strings.Contains(got, "P:") || !strings.Contains(got, "Page 1") {
			t.Errorf("the catalog card's stats: %q", got)
		}
	})

	// Item 12: the catalog's orders and its search, without JavaScript,
	// each a cached page of its own.
	t.Run("catalog sort and search without JavaScript", func(t *testing.T) {
		busy := formPost(t, site.base, "10.80.0.1", map[string]string{"sub": "Zebras", "com": "Striped horses of the savanna."}, nil)
		for i := range 3 {
			formPost(t, site.base, fmt.Sprintf("10.80.1.%d", i+1), map[string]string{"resto": fmt.Sprint(busy.No), "com": "more", "email": "sage"}, nil)
		}
		newest := formPost(t, site.base, "10.80.0.2", map[string]string{"com": "The newest thread, quiet."}, nil)
		ctx := b.tab(t, "10.80.0.3", false)
		first := func() int64 {
			href := result(t, ctx, chromedp.Evaluate[string](`document.querySelector('.cat .c a.ct').getAttribute('href')`))
			var no int64
			fmt.Sscanf(href[strings.LastIndex(href, "/")+1:], "%d", &no)
			return no
		}
		b.do(t, ctx, chromedp.Navigate(site.base+"/b/catalog"), chromedp.Click(chromedp.CSS(`.so a[href="/b/catalog/replies"]`)),
			chromedp.WaitVisible(chromedp.CSS(`.so a[aria-current][href="/b/catalog/replies"]`)))
		if no := first(); no != op.No && no != busy.No {
			t.Errorf("by reply count the first thread is No.%d", no)
		}
		b.do(t, ctx, chromedp.Click(chromedp.CSS(`.so a[href="/b/catalog/new"]`)), chromedp.WaitVisible(chromedp.CSS(`.so a[aria-current][href="/b/catalog/new"]`)))
		if no := first(); no != newest.No {
			t.Errorf("by creation the first thread is No.%d, want No.%d", no, newest.No)
		}
		// The page searched for holds the term in its field's own value.
		b.do(t, ctx, chromedp.SetValue(chromedp.CSS(".cs input[name=q]"), "  STRIPED  Horses "), chromedp.Click(chromedp.CSS(".cs button")),
			chromedp.WaitVisible(chromedp.CSS(`.cs input[value="striped horses"]`)))
		if loc := result(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/b/catalog/search/striped%20horses") {
			t.Errorf("the search landed on %s", loc)
		}
		if n := result(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.cat .c').length`)); n != 1 || first() != busy.No {
			t.Errorf("the search found %d threads, want the zebras' alone", n)
		}
		shot(t, ctx, "catalog-search")
		for i := range 2 {
			resp, err := http.Get(site.base + "/b/catalog/search/striped%20horses")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c := resp.Header.Get("X-Cache"); i == 1 && c != "HIT" {
				t.Errorf("the search's page asked again: X-Cache %q, want HIT", c)
			}
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// staffCall logs in as the admin and sends one staff API call, which must succeed.
func staffCall(t *testing.T, base, method, path, body string) {
	t.Helper()
	resp, err := http.Post(base+"/api/admin/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"test-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.CSRF)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	a, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(a.Body)
	a.Body.Close()
	if a.StatusCode >= 300 {
		t.Fatalf("%s %s %s: %d %s", method, path, body, a.StatusCode, out)
	}
}

// postFiles posts a comment and files to a board as a JSON client and
// returns the post's number.
func postFiles(t *testing.T, base, board, ip string, resto int64, com string, files ...[]byte) int64 {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("resto", fmt.Sprint(resto))
	w.WriteField("com", com)
	for i, f := range files {
		fw, _ := w.CreateFormFile("upfile", fmt.Sprintf("file%d.png", i))
		fw.Write(f)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/"+board+"/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var p posted
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &p) != nil {
		t.Fatalf("post of %d files: %d %s", len(files), resp.StatusCode, out)
	}
	return p.No
}
