package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/captcha/captchatest"
	"github.com/maniwani/maniwani/markdown"
)

// captchaSite is a site whose boards are as given, with the api's captcha
// answers readable through captchatest.Seeds.
func captchaSite(t *testing.T, kind string, with func(*api.Config, *api.Deps), boards ...maniwani.Board) (*site, *captchatest.Seeds) {
	t.Helper()
	sd := captchatest.NewSeeds(t)
	s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
		c.CaptchaRand = sd
		if with != nil {
			with(c, d)
		}
	}, boards...)
	return s, sd
}

func captchaBoard(name string, mode maniwani.CaptchaMode) maniwani.Board {
	b := maniwani.DefaultBoard()
	b.Name, b.Captcha, b.CooldownThread, b.CooldownReply = name, mode, 0, 0
	return b
}

// visitor is a browser: its address and cookies, and the scheme its
// requests came in by to the proxy in front of the api ("": http).
type visitor struct {
	s       *site
	ip      string
	proto   string
	cookies map[string]*http.Cookie
	onion   bool // comes over Tor, as the trusted proxy's X-Onion says
}

func (s *site) visitor(ip string) *visitor {
	return &visitor{s: s, ip: ip, cookies: map[string]*http.Cookie{}}
}

func (v *visitor) send(req *http.Request) answer {
	v.s.t.Helper()
	req.Header.Set("X-Forwarded-For", v.ip)
	if v.proto != "" {
		req.Header.Set("X-Forwarded-Proto", v.proto)
	}
	if v.onion {
		req.Header.Set("X-Onion", "1")
	}
	for _, c := range v.cookies {
		req.AddCookie(c)
	}
	a := v.s.do(req)
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		v.cookies[c.Name] = c
	}
	return a
}

// challenge asks for the captcha of a post to board in thread (0: a new
// thread): the challenge, or "noop".
func (v *visitor) challenge(board string, thread int64) (string, map[string]any) {
	v.s.t.Helper()
	q := url.Values{"board": {board}}
	if thread != 0 {
		q.Set("thread_id", fmt.Sprint(thread))
	}
	req, _ := http.NewRequest("GET", v.s.url+"/captcha?"+q.Encode(), nil)
	a := v.send(req)
	if a.code != 200 {
		v.s.t.Fatalf("GET /captcha?%s: %d %s", q.Encode(), a.code, a.body)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		v.s.t.Errorf("GET /captcha: Cache-Control %q, want no-store", cc)
	}
	m := a.json(v.s.t)
	return m["challenge"].(string), m
}

// post sends a JSON-answered post of the parts, in their order.
func (v *visitor) post(board string, parts ...part) answer {
	v.s.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		if p.name == "upfile" {
			fw, _ := w.CreateFormFile("upfile", "photo.jpg")
			fw.Write([]byte(p.value))
		} else {
			w.WriteField(p.name, p.value)
		}
	}
	w.Close()
	req, _ := http.NewRequest("POST", v.s.url+"/"+board+"/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	return v.send(req)
}

func threadsOn(t *testing.T, s *site, board string) int {
	t.Helper()
	a := s.get("/" + board + "/threads.json")
	var pages []struct{ Threads []any }
	if err := json.Unmarshal(a.body, &pages); err != nil {
		t.Fatalf("threads.json: %d %s", a.code, a.body)
	}
	n := 0
	for _, p := range pages {
		n += len(p.Threads)
	}
	return n
}

func refusedFor(t *testing.T, what string, a answer, reason string) {
	t.Helper()
	if a.code != 400 {
		t.Errorf("%s: answered %d %s, want 400", what, a.code, a.body)
		return
	}
	if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, reason) {
		t.Errorf("%s: error %q, want one that says %q", what, msg, reason)
	}
}

// A challenge is an image, not its answer; a post that needs one is refused
// without a right, fresh, unused answer for its board, and changes nothing.
func TestCaptchaRefusals(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, sd := captchaSite(t, kind, nil, captchaBoard("cap", maniwani.CaptchaAll), captchaBoard("other", maniwani.CaptchaAll))
		v := s.visitor("10.1.0.1")
		token, ch := v.challenge("cap", 0)
		png, err := base64.StdEncoding.DecodeString(ch["img"].(string))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("img is not a base64 PNG: %v", err)
		}
		if ch["img_width"] != 240.0 || ch["img_height"] != 80.0 || ch["ttl"] != 300.0 || ch["cd"] != 0.0 {
			t.Errorf("challenge %v", ch)
		}
		ans := sd.Answer(t)
		raw, _ := json.Marshal(ch)
		for _, where := range [][]byte{raw, png, []byte(fmt.Sprint(v.cookies))} {
			if bytes.Contains(bytes.ToUpper(where), []byte(ans)) {
				t.Fatalf("the answer %s is in what the client was sent", ans)
			}
		}
		other, _ := v.challenge("other", 0)
		otherAns := sd.Answer(t)
		post := func(parts ...part) answer { return v.post("cap", append([]part{{"com", "hi"}}, parts...)...) }

		refusedFor(t, "no captcha", post(), "needs the captcha")
		refusedFor(t, "a made-up challenge", post(part{"t-challenge", "made-up-challenge"}, part{"t-response", ans}), "not valid")
		forged := []byte(token)
		forged[5] ^= 1
		refusedFor(t, "a changed challenge", post(part{"t-challenge", string(forged)}, part{"t-response", ans}), "not valid")
		refusedFor(t, "another board's challenge", post(part{"t-challenge", other}, part{"t-response", otherAns}), "not valid")
		refusedFor(t, "a wrong answer", post(part{"t-challenge", token}, part{"t-response", "WRONG1"}), "wrong")
		refusedFor(t, "the right answer after a wrong one", post(part{"t-challenge", token}, part{"t-response", ans}), "used already")
		if n := threadsOn(t, s, "cap"); n != 0 {
			t.Fatalf("refused posts made %d threads", n)
		}
		if _, ok := v.cookies[api.BypassCookie]; ok {
			t.Fatal("a refused captcha gave a bypass")
		}

		// A fresh one answered rightly (case and spaces aside) goes through, once.
		token, _ = v.challenge("cap", 0)
		ans = sd.Answer(t)
		if a := post(part{"t-challenge", token}, part{"t-response", " " + strings.ToLower(ans[:3]) + " " + ans[3:]}); a.code != 201 {
			t.Fatalf("the right answer: %d %s", a.code, a.body)
		}
		delete(v.cookies, api.BypassCookie)
		refusedFor(t, "a right answer used again", post(part{"t-challenge", token}, part{"t-response", ans}), "used already")

		token, _ = v.challenge("cap", 0)
		ans = sd.Answer(t)
		s.advance(5*time.Minute + time.Second)
		refusedFor(t, "an expired challenge", post(part{"t-challenge", token}, part{"t-response", ans}), "expired")
		if n := threadsOn(t, s, "cap"); n != 1 {
			t.Fatalf("%d threads, want the one with the right answer", n)
		}

		// Another api instance on the same database knows the challenge
		// was used.
		token, _ = v.challenge("cap", 0)
		ans = sd.Answer(t)
		if a := post(part{"t-challenge", token}, part{"t-response", ans}); a.code != 201 {
			t.Fatalf("the right answer: %d %s", a.code, a.body)
		}
		delete(v.cookies, api.BypassCookie)
		svc2, err := api.New(api.Config{Now: s.clock}, api.Deps{Store: s.store, Renderer: markdown.NewRenderer(markdown.RendererConfig{})})
		if err != nil {
			t.Fatal(err)
		}
		s2 := &site{t: t, store: s.store, svc: svc2}
		srv := httptest.NewServer(svc2.Handler())
		t.Cleanup(srv.Close)
		s2.url = srv.URL
		v2 := s2.visitor("10.1.0.1")
		refusedFor(t, "a used challenge at another instance",
			v2.post("cap", part{"com", "hi"}, part{"t-challenge", token}, part{"t-response", ans}), "used already")
	})
}

// The captcha fields are checked before any work on the file: a post whose
// captcha is wrong is refused for it even with a file that is no image.
func TestCaptchaBeforeTheFile(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, sd := captchaSite(t, kind, func(c *api.Config, d *api.Deps) {
			d.Media = diskMedia(t, d)
		}, captchaBoard("cap", maniwani.CaptchaAll))
		v := s.visitor("10.1.0.2")
		token, _ := v.challenge("cap", 0)
		refusedFor(t, "a wrong answer before a file", v.post("cap", part{"t-challenge", token}, part{"t-response", "WRONG1"},
			part{"upfile", "this is not an image"}), "wrong")
		// The store's cheap refusals come first, leaving the challenge unused.
		token, _ = v.challenge("cap", 0)
		if a := v.post("cap", part{"resto", "99"}, part{"t-challenge", token}, part{"t-response", sd.Answer(t)},
			part{"upfile", "this is not an image"}); a.code != 404 {
			t.Errorf("a reply to no thread: %d %s, want 404", a.code, a.body)
		}
		if a := v.post("cap", part{"t-challenge", token}, part{"t-response", sd.Answer(t)}, part{"com", "op"}); a.code != 201 {
			t.Errorf("the challenge after a refusal that was not its: %d %s", a.code, a.body)
		}
		delete(v.cookies, api.BypassCookie)
		refusedFor(t, "no captcha, a file", v.post("cap", part{"upfile", photo(t, true)}), "needs the captcha")
	})
}

// The modes: off and threads-only replies need none, and say noop; staff
// who are logged in need none anywhere.
func TestCaptchaModes(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, sd := captchaSite(t, kind, nil, captchaBoard("off", maniwani.CaptchaOff),
			captchaBoard("thr", maniwani.CaptchaThreads), captchaBoard("all", maniwani.CaptchaAll))
		v := s.visitor("10.2.0.1")
		if c, _ := v.challenge("off", 0); c != "noop" {
			t.Errorf("off: %q, want noop", c)
		}
		if a := v.post("off", part{"com", "free"}); a.code != 201 {
			t.Errorf("a post on a board with captcha off: %d %s", a.code, a.body)
		}
		tok, _ := v.challenge("thr", 0)
		if tok == "noop" {
			t.Fatal("threads: a new thread needs a captcha")
		}
		op := v.post("thr", part{"com", "op"}, part{"t-challenge", tok}, part{"t-response", sd.Answer(t)})
		if op.code != 201 {
			t.Fatalf("a new thread with its captcha: %d %s", op.code, op.body)
		}
		no := int64(op.json(t)["no"].(float64))
		w := s.visitor("10.2.0.2")
		if c, m := w.challenge("thr", no); c != "noop" || m["ttl"] == nil {
			t.Errorf("threads, a reply: %v, want noop with a ttl", m)
		}
		if a := w.post("thr", part{"resto", fmt.Sprint(no)}, part{"com", "reply"}); a.code != 201 {
			t.Errorf("a reply on a threads board: %d %s", a.code, a.body)
		}
		refusedFor(t, "a new thread on a threads board", w.post("thr", part{"com", "op"}), "needs the captcha")
		if a := s.get("/captcha?board=nosuch"); a.code != 404 {
			t.Errorf("an unknown board: %d", a.code)
		}

		s.addStaff("mod", maniwani.RoleModerator)
		staff := s.visitor("10.2.0.3")
		staff.cookies[api.SessionCookie] = s.loginAs("mod").cookie
		if c, _ := staff.challenge("all", 0); c != "noop" {
			t.Errorf("staff: %q, want noop", c)
		}
		sop := staff.post("all", part{"com", "staff post"})
		if sop.code != 201 {
			t.Fatalf("a staff member's post: %d %s", sop.code, sop.body)
		}
		refusedFor(t, "a reply on an all board", w.post("all", part{"resto", fmt.Sprint(sop.json(t)["no"])}, part{"com", "r"}), "needs the captcha")
		staff.cookies[api.SessionCookie] = &http.Cookie{Name: api.SessionCookie, Value: "forged"}
		refusedFor(t, "a forged session", staff.post("all", part{"com", "x"}), "needs the captcha")
	})
}

// A solved captcha buys BypassPosts posts within BypassLifetime, counted
// once each; a forged bypass buys none.
func TestCaptchaBypass(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, sd := captchaSite(t, kind, func(c *api.Config, _ *api.Deps) { c.BypassPosts, c.BypassLifetime = 3, 30*time.Minute },
			captchaBoard("cap", maniwani.CaptchaAll))
		v := s.visitor("10.3.0.1")
		tok, _ := v.challenge("cap", 0)
		if a := v.post("cap", part{"com", "solved"}, part{"t-challenge", tok}, part{"t-response", sd.Answer(t)}); a.code != 201 {
			t.Fatalf("solved: %d %s", a.code, a.body)
		}
		c := v.cookies[api.BypassCookie]
		if c == nil || !c.HttpOnly || c.MaxAge != 1800 || c.Path != "/" || c.Secure {
			t.Fatalf("bypass cookie %+v", c)
		}
		// Over HTTPS, as the trusted proxy says, it is Secure.
		tls := s.visitor("10.3.0.2")
		tls.proto = "https"
		tok2, _ := tls.challenge("cap", 0)
		if a := tls.post("cap", part{"com", "solved over https"}, part{"t-challenge", tok2}, part{"t-response", sd.Answer(t)}); a.code != 201 {
			t.Fatalf("solved over https: %d %s", a.code, a.body)
		}
		if c := tls.cookies[api.BypassCookie]; c == nil || !c.Secure {
			t.Errorf("bypass cookie over https %+v, want Secure", c)
		}
		if tok, _ := v.challenge("cap", 0); tok != "noop" {
			t.Errorf("with a bypass: %q, want noop", tok)
		}
		for i := range 3 {
			if a := v.post("cap", part{"com", fmt.Sprint("bypassed ", i)}); a.code != 201 {
				t.Fatalf("bypassed post %d: %d %s", i, a.code, a.body)
			}
		}
		refusedFor(t, "a post past the bypass's count", v.post("cap", part{"com", "one more"}), "needs the captcha")
		if tok, _ := v.challenge("cap", 0); tok == "noop" {
			t.Error("a spent bypass still answers noop")
		}

		forged := []byte(c.Value)
		forged[3] ^= 1
		v.cookies[api.BypassCookie] = &http.Cookie{Name: api.BypassCookie, Value: string(forged)}
		refusedFor(t, "a forged bypass", v.post("cap", part{"com", "forged"}), "needs the captcha")

		tok, _ = v.challenge("cap", 0)
		if a := v.post("cap", part{"com", "again"}, part{"t-challenge", tok}, part{"t-response", sd.Answer(t)}); a.code != 201 {
			t.Fatalf("solved again: %d %s", a.code, a.body)
		}
		if a := v.post("cap", part{"com", "within the time"}); a.code != 201 {
			t.Fatalf("a fresh bypass: %d %s", a.code, a.body)
		}
		s.advance(30 * time.Minute)
		refusedFor(t, "a post past the bypass's time", v.post("cap", part{"com", "late"}), "needs the captcha")
	})
}

// Challenges are made from a budget per address.
func TestCaptchaChallengeBudget(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, _ := captchaSite(t, kind, nil, captchaBoard("cap", maniwani.CaptchaAll))
		v := s.visitor("10.4.0.1")
		for range 30 {
			v.challenge("cap", 0)
		}
		a := v.send(mustRequest("GET", s.url+"/captcha?board=cap"))
		if a.code != 429 || a.json(t)["cd"] == nil || a.json(t)["error"] == nil {
			t.Fatalf("the 31st challenge in 10 minutes: %d %s, want 429 with cd", a.code, a.body)
		}
		if tok, _ := s.visitor("10.4.1.1").challenge("cap", 0); tok == "noop" {
			t.Error("another address")
		}
	})
}

func mustRequest(method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// Without JavaScript: the frame shows a challenge inline, may be framed by
// the site alone, and a right answer in it gives the bypass the form's post
// then carries.
func TestCaptchaFrame(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, sd := captchaSite(t, kind, nil, captchaBoard("cap", maniwani.CaptchaAll), captchaBoard("off", maniwani.CaptchaOff))
		v := s.visitor("10.5.0.1")
		a := v.send(mustRequest("GET", s.url+"/captcha/frame?board=cap"))
		if a.code != 200 || !strings.Contains(a.header.Get("Content-Security-Policy"), "frame-ancestors 'self'") ||
			a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("frame: %d, CSP %q, Cache-Control %q", a.code, a.header.Get("Content-Security-Policy"), a.header.Get("Cache-Control"))
		}
		if !bytes.Contains(a.body, []byte(`src="data:image/png;base64,`)) {
			t.Fatalf("the frame has no inline image: %s", a.body)
		}
		tok := regexp.MustCompile(`name="t-challenge" value="([^"]+)"`).FindSubmatch(a.body)
		if tok == nil {
			t.Fatalf("the frame has no challenge: %s", a.body)
		}
		if bytes.Contains(bytes.ToUpper(a.body), []byte(sd.Answer(t))) {
			t.Fatal("the answer is in the frame")
		}
		frame := func(resp string) answer {
			f := url.Values{"board": {"cap"}, "t-challenge": {string(tok[1])}, "t-response": {resp}}
			req, _ := http.NewRequest("POST", s.url+"/captcha/frame", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return v.send(req)
		}
		a = frame("WRONG1")
		if a.code != 200 || !bytes.Contains(a.body, []byte("wrong")) || v.cookies[api.BypassCookie] != nil {
			t.Fatalf("a wrong answer in the frame: %d %s", a.code, a.body)
		}
		// It comes back with a new challenge.
		if tok = regexp.MustCompile(`name="t-challenge" value="([^"]+)"`).FindSubmatch(a.body); tok == nil {
			t.Fatalf("no new challenge after a wrong answer: %s", a.body)
		}
		if a := frame(sd.Answer(t)); a.code != 200 || !bytes.Contains(a.body, []byte("Solved")) || v.cookies[api.BypassCookie] == nil {
			t.Fatalf("the right answer in the frame: %d %s", a.code, a.body)
		}
		if a := v.post("cap", part{"com", "posted without JavaScript"}); a.code != 201 {
			t.Fatalf("the form's post after the frame: %d %s", a.code, a.body)
		}
		if a := s.get("/captcha/frame?board=off"); !bytes.Contains(a.body, []byte("No captcha is needed")) {
			t.Errorf("a board without captcha: %s", a.body)
		}
		if a := s.get("/"); a.header.Get("Content-Security-Policy") != maniwani.ContentSecurityPolicy {
			t.Errorf("another answer's policy: %q", a.header.Get("Content-Security-Policy"))
		}
	})
}
