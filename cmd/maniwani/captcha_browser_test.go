package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/maniwani/maniwani/api/captcha/captchatest"
	"github.com/maniwani/maniwani/internal/testutil"
)

// A board whose every post needs the captcha, posted on through its pages:
// with JavaScript the form fetches a challenge and shows it, and the bypass
// a solved one gives spares the next post; without, the form's frame takes
// the answer and the plain form's post then goes through.
func TestBrowserCaptcha(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	chrome := chromiumPath(t)
	sd := captchatest.NewSeeds(t)
	addr := freeAddr(t)
	env := map[string]string{"MANIWANI_ADDR": addr, "MANIWANI_OPS_ADDR": freeAddr(t), "MANIWANI_DATA_DIR": t.TempDir(),
		"MANIWANI_ADMIN_PASSWORD": "test-password", "MANIWANI_TRUSTED_PROXIES": "127.0.0.1/32"}
	cfg, err := loadSettings(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.captchaRand = sd
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	waitUp(t, base)
	staffPatch(t, base, "b", `{"captcha":"all","cooldown_thread":0,"cooldown_reply":0}`)
	b := newBrowser(t, chrome, base)

	t.Run("with JavaScript", func(t *testing.T) {
		tab := b.tab(t, "10.70.0.1", true)
		b.do(t, tab, chromedp.Navigate(base+"/b/"),
			chromedp.Click(chromedp.CSS(".nt summary")),
			chromedp.SendKeys(chromedp.CSS("#f-com"), "A thread behind a captcha."),
			chromedp.WaitVisible(chromedp.CSS("#f .cap img")))
		// Without the answer the post is not sent.
		b.do(t, tab, chromedp.Click(chromedp.CSS("#f button[type=submit]")))
		if loc := result(t, tab, chromedp.Location()); strings.Contains(loc, "/thread/") {
			t.Fatalf("posted without the captcha: %s", loc)
		}
		b.do(t, tab, chromedp.SendKeys(chromedp.CSS("#f-cap"), strings.ToLower(sd.Answer(t))),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("body[data-k=thread]")))
		if got := result(t, tab, chromedp.Text(chromedp.CSS(".op"))); !strings.Contains(got, "A thread behind a captcha.") {
			t.Fatalf("the new thread shows %q", got)
		}
		// The bypass spares the reply: the form asks for none.
		b.do(t, tab, chromedp.SendKeys(chromedp.CSS("#f-com"), "A reply, with the bypass."),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`.p:not(.op)`)))
		if hidden := result(t, tab, chromedp.Evaluate[bool](`document.querySelector('#f .cap').hidden`)); !hidden {
			t.Error("the form shows a captcha to a poster with a bypass")
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		tab := b.tab(t, "10.70.0.2", false)
		b.do(t, tab, chromedp.Navigate(base+"/b/"),
			chromedp.Click(chromedp.CSS(".nt summary")))
		frame := func() chromedp.QueryOption {
			return chromedp.FromNode(result(t, tab, chromedp.Nodes(chromedp.CSS("iframe.capf")))[0])
		}
		b.do(t, tab, chromedp.WaitVisible(chromedp.CSS("img"), frame()))
		b.do(t, tab, chromedp.SendKeys(chromedp.CSS("input[name=t-response]"), sd.Answer(t), frame()),
			chromedp.Click(chromedp.CSS("button"), frame()))
		// The frame's answer is a page of its own, loaded in its place: the
		// frame is looked up afresh each time, as a node of the page it
		// replaces is gone from the document.
		testutil.Eventually(t, 5*time.Second, func() error {
			c, cancel := context.WithTimeout(tab, time.Second)
			defer cancel()
			nodes, err := chromedp.Run(c, chromedp.Nodes(chromedp.CSS("iframe.capf")))
			if err != nil || len(nodes) == 0 {
				return fmt.Errorf("no frame: %v", err)
			}
			text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("body"), chromedp.FromNode(nodes[0])))
			if err != nil { // the frame's page is being replaced
				return err
			}
			if !strings.Contains(text, "Solved") {
				return fmt.Errorf("the frame says %q", text)
			}
			return nil
		})
		b.do(t, tab, chromedp.SendKeys(chromedp.CSS("#f-com"), "A thread without JavaScript, behind a captcha."),
			chromedp.Click(chromedp.CSS("#f button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("body[data-k=thread]")))
		if got := result(t, tab, chromedp.Text(chromedp.CSS(".op"))); !strings.Contains(got, "without JavaScript, behind a captcha") {
			t.Fatalf("the new thread shows %q", got)
		}
	})
}

func waitUp(t *testing.T, base string) {
	t.Helper()
	for range 200 {
		if resp, err := http.Get(base + "/boards.json"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", base)
}

// staffPatch logs in as the admin and sends a board's PATCH.
func staffPatch(t *testing.T, base, board, body string) {
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
	req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/admin/boards/%s", base, board), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.CSRF)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	a, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	a.Body.Close()
	if a.StatusCode != 200 {
		t.Fatalf("PATCH %s: %d", body, a.StatusCode)
	}
}
