package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
)

// proxyAddr is the address every onion post comes from: the proxy's own,
// as its X-Forwarded-For names it.
const proxyAddr = "10.9.9.9"

// withOnion has the api believe the trusted proxy's X-Onion, and take a
// poster's bypass token from X-Test-Token (a stand-in for the captcha's
// signed cookie).
func withOnion(c *api.Config, d *api.Deps) {
	c.OnionHeader = "X-Onion"
	d.PosterToken = func(r *http.Request) (string, bool) {
		t := r.Header.Get("X-Test-Token")
		return t, t != ""
	}
}

// onion sends a JSON-answered form to path as the proxy forwards onion
// traffic, with token as the poster's bypass token ("": none).
func (s *site) onion(path, token string, fields ...string) answer {
	s.t.Helper()
	ct, body := form(s.t, fields...)
	req, _ := http.NewRequest("POST", s.url+path, body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", proxyAddr)
	req.Header.Set("X-Onion", "1")
	if token != "" {
		req.Header.Set("X-Test-Token", token)
	}
	return s.do(req)
}

func (s *site) mustOnion(board, token string, fields ...string) int64 {
	s.t.Helper()
	a := s.onion("/"+board+"/post", token, fields...)
	if a.code != http.StatusCreated {
		s.t.Fatalf("onion post %v with token %q answered %d: %s", fields, token, a.code, a.body)
	}
	return int64(a.json(s.t)["no"].(float64))
}

// Onion posters are keyed by their bypass token for cooldowns, poster
// IDs, bans (a moderator's and a filter's) and report budgets; never by
// the proxy's address, which they all share.
func TestOnionPosters(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ids := maniwani.DefaultBoard()
		ids.Name, ids.PosterIDs = "pol", true
		s := newSiteWith(t, kind, "127.0.0.1/32", withOnion, maniwani.DefaultBoard(), ids)
		ctx := context.Background()

		wantRefused(t, "an onion post without a token", s.onion("/b/post", "", "com", "hi"), 403,
			"Posting over Tor needs a captcha solved first")
		if a := s.get("/b/catalog.json"); strings.Contains(string(a.body), `"no"`) {
			t.Fatalf("a refused onion post was stored: %s", a.body)
		}

		// Cooldowns: per token; the proxy's address is no one's.
		a1 := s.mustOnion("b", "token-a", "com", "thread of a")
		s.mustOnion("b", "token-b", "com", "thread of b, at once")
		wantRefused(t, "a's second thread at once", s.onion("/b/post", "token-a", "com", "again"), 429, "wait")
		s.mustPost("b", proxyAddr, "com", "the proxy's address posting in the clear")

		p, err := s.store.Post(ctx, "b", a1)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.IP, "onion:") || strings.Contains(p.IP, "token-a") || len(p.IP) > 32 {
			t.Errorf("an onion post keeps %q for its address", p.IP)
		}

		// Poster IDs: one per token in a thread.
		op := s.mustOnion("pol", "token-a", "com", "op")
		s.mustOnion("pol", "token-b", "resto", fmt.Sprint(op), "com", "b")
		s.advance(time.Duration(maniwani.DefaultBoard().CooldownReply) * time.Second)
		s.mustOnion("pol", "token-a", "resto", fmt.Sprint(op), "com", "a again")
		posts := s.thread("pol", op)
		id := func(i int) string { v, _ := posts[i]["id"].(string); return v }
		if id(0) == "" || id(0) != id(2) || id(0) == id(1) {
			t.Errorf("poster IDs a, b, a: %q %q %q", id(0), id(1), id(2))
		}

		// A moderator's ban from a post bans its token, nobody else.
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		ban := mod.must("POST", "/api/admin/bans", map[string]any{"post": map[string]any{"board": "b", "no": a1},
			"reason": "wiping", "duration": "24h"})
		if ban["cidr"] != p.IP {
			t.Errorf("the ban holds %v, want the post's key %s", ban["cidr"], p.IP)
		}
		s.advance(time.Duration(maniwani.DefaultBoard().CooldownThread) * time.Second)
		wantRefused(t, "a banned token", s.onion("/b/post", "token-a", "com", "still here"), 403, "banned")
		s.mustOnion("b", "token-b", "com", "b is not banned")
		s.mustPost("b", proxyAddr, "com", "nor is the proxy's address")
		s.mustPost("b", "10.9.9.10", "com", "nor its neighbour")

		// A filter's ban, likewise.
		mod.must("POST", "/api/admin/filters", map[string]any{"pattern": "wipe wipe", "fields": []string{"com"},
			"action": "ban", "reason": "wiper", "ban_hours": 1})
		wantRefused(t, "a filtered onion post", s.onion("/b/post", "token-c", "com", "wipe wipe"), 403, "banned")
		wantRefused(t, "its token after", s.onion("/b/post", "token-c", "com", "fine"), 403, "banned")
		s.mustOnion("pol", "token-d", "com", "d is not banned by c's filter hit")

		// Report budgets: per token.
		for i := range 5 {
			if a := s.onion("/b/report", "token-e", "no", fmt.Sprint(a1)); a.code != 201 {
				t.Fatalf("report %d: %d %s", i, a.code, a.body)
			}
		}
		wantRefused(t, "a sixth report", s.onion("/b/report", "token-e", "no", fmt.Sprint(a1)), 429, "reports")
		if a := s.onion("/b/report", "token-f", "no", fmt.Sprint(a1)); a.code != 201 {
			t.Errorf("another token's report: %d %s", a.code, a.body)
		}
	})
}

// The onion header counts only from a trusted proxy: anyone else's is
// ignored, and its sender keyed by its address as usual.
func TestOnionHeaderUntrusted(t *testing.T) {
	s := newSiteWith(t, "sqlite", "", withOnion)
	a := s.onion("/b/post", "", "com", "a client's own X-Onion")
	if a.code != http.StatusCreated {
		t.Fatalf("an untrusted X-Onion: %d %s", a.code, a.body)
	}
	p, err := s.store.Post(context.Background(), "b", int64(a.json(t)["no"].(float64)))
	if err != nil || p.IP != "127.0.0.1" {
		t.Errorf("kept address %q %v, want the peer's", p.IP, err)
	}
	// Without an OnionHeader set, a trusted proxy's X-Onion means nothing.
	s = newSite(t, "sqlite", "127.0.0.1/32")
	if a := s.onion("/b/post", "", "com", "no onion header set"); a.code != http.StatusCreated {
		t.Errorf("X-Onion with no OnionHeader: %d %s", a.code, a.body)
	}
}

// An onion poster with no token yet is asked for the captcha whatever the
// board's mode; solving it with a post takes the post, and the bypass it
// gives is who the poster is from then on (the cooldown counts it), never
// the proxy's address (another new onion poster is not in its cooldown).
func TestNewOnionPosterSolvesCaptcha(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		b := captchaBoard("b", maniwani.CaptchaOff)
		b.CooldownReply = 60
		s, sd := captchaSite(t, kind, func(c *api.Config, _ *api.Deps) { c.OnionHeader = "X-Onion" }, b)
		op := s.mustPost("b", "10.7.0.1", "com", "a thread from the clear web")
		v := s.visitor(proxyAddr)
		v.onion = true
		if a := v.post("b", part{"resto", fmt.Sprint(op)}, part{"com", "hi"}); a.code != http.StatusForbidden ||
			!strings.Contains(string(a.body), "needs a captcha") {
			t.Fatalf("a new onion poster without a captcha: %d %s, want 403 asking for it", a.code, a.body)
		}
		token, _ := v.challenge("b", op)
		if token == "noop" {
			t.Fatal("a new onion poster on a board without captcha was told none is needed")
		}
		if a := v.post("b", part{"resto", fmt.Sprint(op)}, part{"com", "first over Tor"},
			part{"t-challenge", token}, part{"t-response", sd.Answer(t)}); a.code != http.StatusCreated {
			t.Fatalf("the captcha solved with the post: %d %s", a.code, a.body)
		}
		if v.cookies[api.BypassCookie] == nil {
			t.Fatal("no bypass cookie after the captcha was solved")
		}
		if tok, _ := v.challenge("b", op); tok != "noop" {
			t.Error("an onion poster with a bypass is asked for the captcha again on a board without one")
		}
		if a := v.post("b", part{"resto", fmt.Sprint(op)}, part{"com", "second, at once"}); a.code != http.StatusTooManyRequests {
			t.Errorf("the same onion poster again within the cooldown: %d %s, want 429", a.code, a.body)
		}
		w := s.visitor(proxyAddr)
		w.onion = true
		token, _ = w.challenge("b", op)
		if a := w.post("b", part{"resto", fmt.Sprint(op)}, part{"com", "another onion poster"},
			part{"t-challenge", token}, part{"t-response", sd.Answer(t)}); a.code != http.StatusCreated {
			t.Errorf("another new onion poster, behind the same proxy: %d %s", a.code, a.body)
		}
	})
}
