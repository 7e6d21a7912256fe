package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/markdown"
)

// invalidations records what the api drops from the cache.
type invalidations struct {
	mu  sync.Mutex
	got []maniwani.Invalidation
}

func (r *invalidations) Invalidate(_ context.Context, inv maniwani.Invalidation) error {
	r.mu.Lock()
	r.got = append(r.got, inv)
	r.mu.Unlock()
	return nil
}

// take returns the boards invalidated since the last take, as "b", or
// "b+" when the invalidation named threads or all as well.
func (r *invalidations) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, inv := range r.got {
		if len(inv.Threads) > 0 || inv.All {
			inv.Board += "+"
		}
		out = append(out, inv.Board)
	}
	r.got = nil
	return out
}

// boardMode is boards.json's captcha for board.
func boardMode(t *testing.T, s *site, board string) string {
	t.Helper()
	var v struct {
		Boards []struct{ Board, Captcha string }
	}
	if err := json.Unmarshal(s.get("/boards.json").body, &v); err != nil {
		t.Fatal(err)
	}
	for _, b := range v.Boards {
		if b.Board == board {
			return b.Captcha
		}
	}
	t.Fatalf("no board %s in boards.json", board)
	return ""
}

// A flood of new threads raises the board to threads, one of posts to all,
// for the board's captcha_auto_minutes; then the mode falls back by itself.
// The cache is told both times.
func TestCaptchaEscalation(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		inv := &invalidations{}
		flood := captchaBoard("flood", maniwani.CaptchaOff)
		flood.CaptchaAutoThreads, flood.CaptchaAutoMinutes = 3, 30
		busy := captchaBoard("busy", maniwani.CaptchaOff)
		busy.CaptchaAutoPosts = 3
		s, sd := captchaSite(t, kind, func(_ *api.Config, d *api.Deps) { d.Invalidator = inv }, flood, busy)
		for i := range 3 {
			s.visitor(fmt.Sprint("10.6.0.", i+1)).post("flood", part{"com", "thread"})
			s.advance(time.Minute)
		}
		if n := threadsOn(t, s, "flood"); n != 3 {
			t.Fatalf("%d threads, want 3 before the threshold", n)
		}
		inv.take()
		if m := boardMode(t, s, "flood"); m != "off" {
			t.Fatalf("boards.json before the flood: %q", m)
		}
		v := s.visitor("10.6.1.1")
		refusedFor(t, "the 4th thread in an hour", v.post("flood", part{"com", "thread"}), "needs the captcha")
		if got := inv.take(); !slices.Contains(got, "flood") {
			t.Errorf("raising the mode invalidated %v, want the board (and so boards.json)", got)
		}
		if m := boardMode(t, s, "flood"); m != "threads" {
			t.Errorf("boards.json after the flood: %q, want threads", m)
		}
		if tok, _ := v.challenge("flood", 0); tok == "noop" {
			t.Error("a raised board answers noop for a new thread")
		}
		if tok, _ := v.challenge("flood", 1); tok != "noop" {
			t.Error("a raised board (threads) asks a reply for a captcha")
		}
		if a := v.post("flood", part{"resto", "1"}, part{"com", "a reply goes"}); a.code != 201 {
			t.Errorf("a reply under threads: %d %s", a.code, a.body)
		}
		tok, _ := v.challenge("flood", 0)
		if a := v.post("flood", part{"com", "solved"}, part{"t-challenge", tok}, part{"t-response", sd.Answer(t)}); a.code != 201 {
			t.Errorf("a thread with its captcha under a raised mode: %d %s", a.code, a.body)
		}
		s.addStaff("adm", maniwani.RoleAdmin)
		settings := s.loginAs("adm").must("GET", "/api/admin/boards", nil)["boards"].([]any)
		for _, b := range settings {
			if b := b.(map[string]any); b["name"] == "flood" && (b["captcha"] != "off" || b["captcha_in_force"] != "threads" ||
				b["captcha_auto_threads_per_hour"] != 3.0 || b["captcha_auto_minutes"] != 30.0) {
				t.Errorf("the staff API's settings: %v", b)
			}
		}

		// The cooling period ends: the mode in force falls back. The
		// watcher drops boards.json (TestCaptchaLowered); here, read fresh,
		// it shows the fall at once, and once the flood's threads are
		// older than an hour a thread needs no captcha.
		s.advance(30 * time.Minute)
		if m := boardMode(t, s, "flood"); m != "off" {
			t.Errorf("boards.json after the cooling period: %q, want off", m)
		}
		s.advance(time.Hour)
		if a := s.visitor("10.6.2.1").post("flood", part{"com", "calm again"}); a.code != 201 {
			t.Errorf("a thread after the flood: %d %s", a.code, a.body)
		}

		// Posts: an opening post and two replies, then every post needs one.
		op := s.visitor("10.6.3.1").post("busy", part{"com", "op"})
		no := fmt.Sprint(op.json(t)["no"])
		for i := range 2 {
			if a := s.visitor(fmt.Sprint("10.6.3.", i+2)).post("busy", part{"resto", no}, part{"com", "reply"}); a.code != 201 {
				t.Fatalf("reply %d: %d %s", i, a.code, a.body)
			}
		}
		refusedFor(t, "the 4th post in an hour", s.visitor("10.6.3.9").post("busy", part{"resto", no}, part{"com", "reply"}), "needs the captcha")
		if m := boardMode(t, s, "busy"); m != "all" {
			t.Errorf("boards.json after a flood of posts: %q, want all", m)
		}
	})
}

// Staff set the mode and thresholds through the board's PATCH, which checks
// them.
func TestCaptchaSettings(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("adm", maniwani.RoleAdmin)
	c := s.loginAs("adm")
	got := c.must("PATCH", "/api/admin/boards/b", map[string]any{"captcha": "threads", "captcha_auto_threads_per_hour": 5,
		"captcha_auto_posts_per_hour": 100, "captcha_auto_minutes": 90})
	if got["captcha"] != "threads" || got["captcha_auto_threads_per_hour"] != 5.0 || got["captcha_auto_posts_per_hour"] != 100.0 ||
		got["captcha_auto_minutes"] != 90.0 || got["captcha_in_force"] != "threads" {
		t.Errorf("PATCH answered %v", got)
	}
	if m := boardMode(t, s, "b"); m != "threads" {
		t.Errorf("boards.json: %q", m)
	}
	for _, bad := range []map[string]any{{"captcha": "some"}, {"captcha_auto_posts_per_hour": -1},
		{"captcha_auto_threads_per_hour": 10001}, {"captcha_auto_minutes": 0}} {
		if a := c.call("PATCH", "/api/admin/boards/b", bad, false); a.code != 400 {
			t.Errorf("PATCH %v: %d %s, want 400", bad, a.code, a.body)
		}
	}
}

// The watcher lowers a raised mode once its time is up, and drops the cached
// boards.json then: a cached page learns of the fall though no one posts.
func TestCaptchaLowered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := store.Open(ctx, store.Config{URL: testdb.URL(t, "sqlite")})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, name := range []string{"b", "c"} {
			b := maniwani.DefaultBoard()
			b.Name = name
			if err := st.CreateBoard(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		inv := &invalidations{}
		svc, err := api.New(api.Config{}, api.Deps{Store: st, Invalidator: inv, Renderer: markdown.NewRenderer(markdown.RendererConfig{})})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := st.RaiseCaptcha(ctx, "b", maniwani.CaptchaAll, start, start.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RaiseCaptcha(ctx, "c", maniwani.CaptchaThreads, start, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { svc.WatchCaptcha(ctx); close(done) }()

		time.Sleep(10*time.Minute - time.Second)
		synctest.Wait()
		if got := inv.take(); len(got) != 0 {
			t.Fatalf("before its time: %v", got)
		}
		time.Sleep(time.Minute) // the watcher looks every 30 s
		synctest.Wait()
		if got := inv.take(); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("after its time: invalidated %v, want b's", got)
		}
		b, err := st.Board(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if m := b.CaptchaAt(time.Now()); m != maniwani.CaptchaOff || b.CaptchaRaised != "" {
			t.Errorf("b after its time: in force %q, raised %q", m, b.CaptchaRaised)
		}
		if c, _ := st.Board(ctx, "c"); c.CaptchaAt(time.Now()) != maniwani.CaptchaThreads {
			t.Errorf("c, raised for an hour, is %q", c.CaptchaAt(time.Now()))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := inv.take(); !slices.Equal(got, []string{"c"}) {
			t.Fatalf("after c's time: invalidated %v, want c's alone", got)
		}
		cancel()
		<-done
	})
}
