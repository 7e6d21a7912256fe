package main

import (
	"context"
	"fmt"
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
}
