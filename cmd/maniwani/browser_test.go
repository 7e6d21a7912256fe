package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The pages as people use them, in headless Chromium (Debian's chromium,
// which scripts/chromium.sh installs) driven by chromedp, against the whole
// binary. Each tab is a browser context of its own (its own localStorage)
// and sends an X-Forwarded-For of its own, so each is a poster of its own
// for the cooldowns. Screenshots of the pages at a phone's and a desktop's
// width go to MANIWANI_ARTIFACTS (default artifacts/screenshots).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	chrome := chromiumPath(t)
	t0 := time.Now()
	site := startProc(t, buildBinary(t), "site", "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32",
		"MANIWANI_ADMIN_PASSWORD=test-password")
	b := newBrowser(t, chrome, site.base)
	t.Logf("binary and browser up in %v", time.Since(t0).Round(time.Millisecond))

	// A thread to read: an image, a quote, greentext, a tripcode.
	op := formPost(t, site.base, "10.60.0.1", map[string]string{"sub": "Gradients",
		"com": "A thread with a picture. What do you think of this gradient?\n>made by a small script"}, testPNG(t, 800, 500))
	r1 := formPost(t, site.base, "10.60.0.2", map[string]string{"resto": fmt.Sprint(op.No), "name": "Kot#secret",
		"com": fmt.Sprintf(">>%d\nThe colours shift nicely from the left edge to the right one.", op.No)}, nil)
	r2 := formPost(t, site.base, "10.60.0.3", map[string]string{"resto": fmt.Sprint(op.No),
		"com": fmt.Sprintf(">>%d agreed, and the thumbnail keeps its shape.", r1.No)}, testPNG(t, 300, 600))
	formPost(t, site.base, "10.60.0.4", map[string]string{"com": "Second thread, without a subject. Post your desk setups here."}, nil)
	threadURL := fmt.Sprintf("%s/b/thread/%d", site.base, op.No)

	t.Run("form without JavaScript", func(t *testing.T) {
		ctx := b.tab(t, "10.50.0.1", false)
		b.do(t, ctx, chromedp.Navigate(site.base+"/b/"),
			chromedp.Click(chromedp.CSS(".nt summary")),
			chromedp.SendKeys(chromedp.CSS("#f-sub"), "Made without JavaScript"),
			chromedp.SendKeys(chromedp.CSS("#f-com"), "A thread started with the plain form."),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("body[data-k=thread]")))
		loc := result(t, ctx, chromedp.Location())
		if !regexp.MustCompile(`/b/thread/(\d+)#p(\d+)$`).MatchString(loc) {
			t.Fatalf("landed on %s, want a thread", loc)
		}
		if got := result(t, ctx, chromedp.Text(chromedp.CSS(".op"))); !strings.Contains(got, "Made without JavaScript") ||
			!strings.Contains(got, "A thread started with the plain form.") {
			t.Errorf("the new thread shows %q", got)
		}
		// The script did not run: it hides the password row.
		if hidden := result(t, ctx, chromedp.Evaluate[bool](`document.querySelector('.pw').hidden`)); hidden {
			t.Error("the page ran its script though JavaScript was off")
		}
	})

	t.Run("live reply in another tab", func(t *testing.T) {
		a, c := b.tab(t, "10.61.0.1", true), b.tab(t, "10.61.0.2", true)
		for _, ctx := range []context.Context{a, c} {
			b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		}
		result(t, c, chromedp.Evaluate[int](`window.notReloaded = 1`))
		text := fmt.Sprintf("live reply %d", time.Now().UnixNano())
		// The quick reply: the post's number opens it with the quote.
		b.do(t, a, chromedp.Click(chromedp.CSS(fmt.Sprintf("#p%d .no", r1.No))),
			chromedp.WaitVisible(chromedp.CSS("#f.qr")),
			chromedp.SendKeys(chromedp.CSS("#f-com"), text))
		if got := result(t, a, chromedp.Value(chromedp.CSS("#f-com"))); !strings.HasPrefix(got, fmt.Sprintf(">>%d\n", r1.No)) {
			t.Errorf("the quick reply holds %q, want the quote first", got)
		}
		sent := time.Now()
		b.do(t, a, chromedp.Click(chromedp.CSS("#f button[type=submit]")))
		shows := fmt.Sprintf(`[...document.querySelectorAll('.p blockquote')].some(q => q.textContent.includes(%q))`, text)
		if _, err := chromedp.Run(c, chromedp.Poll[bool](shows, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Fatalf("the reply did not appear in the other tab within 2 s: %v", err)
		}
		t.Logf("the reply appeared in the other tab %v after it was sent", time.Since(sent).Round(time.Millisecond))
		if v := result(t, c, chromedp.Evaluate[bool](`window.notReloaded === 1`)); !v {
			t.Error("the other tab reloaded")
		}
		mine := fmt.Sprintf(`[...document.querySelectorAll('.p.you blockquote')].some(q => q.textContent.includes(%q))`, text)
		if _, err := chromedp.Run(a, chromedp.Poll[bool](mine, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
			t.Errorf("the poster's tab does not mark the reply as theirs: %v", err)
		}
		backlink := fmt.Sprintf(`document.querySelector('#p%d > .bl')?.textContent.split('>>').length > 2`, r1.No)
		if _, err := chromedp.Run(c, chromedp.Poll[bool](backlink, chromedp.WithPollingTimeout(time.Second))); err != nil {
			t.Errorf("the quoted post got no backlink to the live reply: %v", err)
		}
	})

	t.Run("new thread notice and unread count", func(t *testing.T) {
		board, thread := b.tab(t, "10.65.0.1", true), b.tab(t, "10.65.0.2", true)
		b.do(t, board, chromedp.Navigate(site.base+"/b/catalog"), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		b.do(t, thread, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")),
			chromedp.EmulateViewport(1280, 200)) // the next reply lands below the fold: unread
		formPost(t, site.base, "10.65.0.3", map[string]string{"com": "a thread the catalog has not shown yet"}, nil)
		formPost(t, site.base, "10.65.0.4", map[string]string{"resto": fmt.Sprint(op.No), "com": "not seen yet"}, nil)
		notice := `document.querySelector('.ntc')?.textContent.startsWith('1 new thread')`
		if _, err := chromedp.Run(board, chromedp.Poll[bool](notice, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("the catalog shows no notice of the new thread: %v", err)
		}
		if _, err := chromedp.Run(thread, chromedp.Poll[bool](`document.title.startsWith('(1) ')`,
			chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("the title does not count the unread reply (%q): %v", result(t, thread, chromedp.Title()), err)
		}
		b.do(t, thread, chromedp.Evaluate[chromedp.Void](`scrollTo(0, document.body.scrollHeight)`))
		if _, err := chromedp.Run(thread, chromedp.Poll[bool](`!document.title.startsWith('(')`,
			chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("the count stays once the reply is on screen: %v", err)
		}
	})

	t.Run("quick reply of a file over the limit says so", func(t *testing.T) {
		big := filepath.Join(t.TempDir(), "big.png")
		if err := os.WriteFile(big, append(testPNG(t, 64, 64), make([]byte, 9<<20)...), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx := b.tab(t, "10.67.0.1", true)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")),
			chromedp.SendKeys(chromedp.CSS("#f-com"), "a file too large for the board"),
			chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{big}),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")))
		shown := `(e => e && !e.hidden && e.textContent)(document.querySelector('#f .err'))`
		if _, err := chromedp.Run(ctx, chromedp.Poll[string](shown, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("the quick reply shows no error for a 9 MiB file on an 8 MiB board: %v", err)
		}
		msg := result(t, ctx, chromedp.Text(chromedp.CSS("#f .err")))
		if !strings.Contains(msg, "larger than this board's limit of 8 MB") {
			t.Errorf("the quick reply says %q, want that the file is over the board's limit", msg)
		}
		if off := result(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#f button[type=submit]').disabled`)); off {
			t.Error("the submit button stays disabled after the refusal")
		}
	})

	t.Run("reload event", func(t *testing.T) {
		// The pages' event streams, kept where the test can reach them; a
		// reload event is sent on them as the live service sends one.
		const keep = `(() => { const ES = window.EventSource; window.streams = [];
			window.EventSource = class extends ES { constructor(...a) { super(...a); window.streams.push(this); } }; })()`
		reload := `window.streams[0].dispatchEvent(new MessageEvent('reload', {data: '{}'}))`
		board, thread := b.tab(t, "10.66.0.1", true), b.tab(t, "10.66.0.2", true)
		for _, ctx := range []context.Context{board, thread} {
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: keep}); err != nil {
				t.Fatal(err)
			}
		}
		b.do(t, board, chromedp.Navigate(site.base+"/b/"), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")),
			chromedp.Evaluate[chromedp.Void](reload))
		stale := `document.querySelector('.ntc')?.textContent.startsWith('This page is out of date')`
		if _, err := chromedp.Run(board, chromedp.Poll[bool](stale, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("the board page offers no reload after a reload event: %v", err)
		}
		// The thread fetches its JSON once the stream is up, and again on
		// a reload event.
		fetches := fmt.Sprintf(`performance.getEntriesByType('resource').filter(e => e.name.endsWith('/b/thread/%d.json')).length`, op.No)
		b.do(t, thread, chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("body[data-live=on]")))
		if _, err := chromedp.Run(thread, chromedp.Poll[bool](fetches+` === 1`, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Fatalf("the thread did not fetch its JSON once when its stream opened: %v", err)
		}
		b.do(t, thread, chromedp.Evaluate[chromedp.Void](reload))
		if _, err := chromedp.Run(thread, chromedp.Poll[bool](fetches+` === 2`, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("the thread did not fetch its JSON again on a reload event: %v", err)
		}
	})

	t.Run("quote preview on hover", func(t *testing.T) {
		ctx := b.tab(t, "10.62.0.1", true)
		link := fmt.Sprintf("#p%d blockquote a.quotelink", r2.No)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.ScrollIntoView(chromedp.CSS(link)))
		at := result(t, ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(
			`(r => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(%q).getBoundingClientRect())`, link)))
		b.do(t, ctx, chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]))
		shown := `document.querySelector('.pv')?.textContent.includes('The colours shift nicely')`
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
			t.Fatalf("no preview of No.%d on hover: %v", r1.No, err)
		}
	})

	t.Run("expand an image", func(t *testing.T) {
		ctx := b.tab(t, "10.63.0.1", true)
		b.do(t, ctx, chromedp.Navigate(threadURL), chromedp.Click(chromedp.CSS(fmt.Sprintf("#p%d a.fl", op.No))))
		full := fmt.Sprintf(`(i => i && i.complete && i.naturalWidth === 800 && i.getBoundingClientRect().width > 250)(document.querySelector('#p%d a.fl.x img'))`, op.No)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](full, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("the image did not expand in place: %v", err)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		dir := artifactsDir(t)
		ctx := b.tab(t, "10.64.0.1", true)
		// Thumbnails are made beside the posts: wait for them, so the
		// pictures show them rather than the placeholder.
		loaded := `[...document.images].every(i => i.complete) && !document.querySelector('img[data-w]')`
		for _, width := range []int64{375, 1280} {
			opts := []chromedp.EmulateViewportOption{}
			if width < 600 {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do(t, ctx, chromedp.EmulateViewport(width, 900, opts...))
			for _, pg := range []struct{ name, path string }{
				{"home", "/"}, {"board", "/b/"}, {"catalog", "/b/catalog"}, {"thread", fmt.Sprintf("/b/thread/%d", op.No)},
			} {
				b.do(t, ctx, chromedp.Navigate(site.base+pg.path))
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
					t.Errorf("%s at %d px: images not loaded: %v", pg.name, width, err)
				}
				shot := result(t, ctx, chromedp.FullScreenshot(100))
				file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", pg.name, width))
				if err := os.WriteFile(file, shot, 0o644); err != nil {
					t.Fatal(err)
				}
				// Nothing is wider than the screen.
				if w := result(t, ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > width {
					t.Errorf("%s at %d px is %d px wide", pg.name, width, w)
				}
			}
		}
		// And the dark theme, which follows the system's setting.
		ctx = b.tab(t, "10.64.0.2", true)
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
			t.Fatal(err)
		}
		b.do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(threadURL))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("dark thread: images not loaded: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "thread-1280-dark.png"), result(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshots in %s", dir)
	})
}

// chromiumPath finds the browser: skipped without one, except under CI=true.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required under CI=true (scripts/chromium.sh installs it)")
	}
	t.Skip("no chromium on PATH (scripts/chromium.sh installs it)")
	return ""
}

// artifactsDir is where screenshots go: MANIWANI_ARTIFACTS, or
// artifacts/screenshots at the repository's root.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("MANIWANI_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

type browser struct {
	ctx  context.Context // the browser's first tab; others derive from it
	base string
}

func newBrowser(t *testing.T, chrome, base string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{ctx: ctx, base: base}
}

// tab opens a tab in a browser context of its own that sends ip as its
// X-Forwarded-For, with JavaScript on or off.
func (b *browser) tab(t *testing.T, ip string, js bool) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Forwarded-For": ip}}); err != nil {
		t.Fatal(err)
	}
	if !js {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// do runs steps on the tab within 20 s.
func (b *browser) do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

func result[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type posted struct {
	Thread, No int64
}

// formPost posts fields (and a PNG as upfile, when file is not nil) to /b/
// as a client that wants JSON, from the address ip.
func formPost(t *testing.T, base, ip string, fields map[string]string, file []byte) posted {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile("upfile", "gradient.png")
		fw.Write(file)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/b/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p posted
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &p) != nil || p.No == 0 {
		t.Fatalf("post %v: %d %s", fields, resp.StatusCode, b)
	}
	return p
}

// testPNG is a w x h gradient.
func testPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(255 - x*255/w), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
