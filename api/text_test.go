package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Text is taken whole once clean, or refused with a reason that tells the
// truth; it is never cut short without a word.
func TestTextRefusedNotCut(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		resto := fmt.Sprint(op)
		post := func(ip string, fields ...string) map[string]any {
			t.Helper()
			no := s.mustPost("b", ip, append([]string{"resto", resto}, fields...)...)
			for _, p := range s.thread("b", op) {
				if p["no"] == float64(no) {
					return p
				}
			}
			t.Fatalf("post %d is not in its thread", no)
			return nil
		}

		// 8,008 characters, most of them control characters: what is
		// left once they go is the whole text, not its first 8,000 bytes.
		controls := strings.Repeat("\x01", 8000)
		if p := post("10.0.1.1", "com", "HEAD"+controls+"TAIL"); p["com"] != "HEADTAIL" {
			t.Errorf("comment of HEAD, 8,000 control characters, TAIL stored as %q", p["com"])
		}
		// As long as allowed, once clean, with CRLF line breaks: taken whole.
		full := strings.Repeat("é\r\n", 1000) // 2,000 characters once CRLF is LF
		if p := post("10.0.1.2", "com", full, "name", strings.Repeat("n", 100)+controls); p["name"] != strings.Repeat("n", 100) {
			t.Errorf("a name of 100 characters and control characters stored as %q", p["name"])
		}

		for _, c := range []struct {
			name   string
			fields []string
			code   int
			reason string
		}{
			{"comment one over", []string{"com", strings.Repeat("x", 2001)}, 400, "The comment is over the limit of 2000 characters."},
			{"a 100,000-character name", []string{"com", "x", "name", strings.Repeat("n", 100000)}, 400, "The name is over the limit of 100 characters."},
			{"subject", []string{"com", "x", "sub", strings.Repeat("s", 101)}, 400, "The subject is over the limit of 100 characters."},
			{"password", []string{"com", "x", "pwd", strings.Repeat("p", 101)}, 400, "The password is over the limit of 100 characters."},
			{"a password of multibyte characters", []string{"com", "x", "pwd", strings.Repeat("ü", 101)}, 400, "The password is over the limit of 100 characters."},
			{"fields of control characters past 64 KB", []string{"com", strings.Repeat("\x01", 4<<20)}, 413,
				"The post's fields besides its file are larger than 64 KB."},
			{"fields past 64 KB in all", []string{"com", "x", "junk", strings.Repeat("j", 40<<10), "more", strings.Repeat("j", 30<<10)}, 413,
				"The post's fields besides its file are larger than 64 KB."},
		} {
			a := s.post("b", "10.0.2.1", append([]string{"resto", resto}, c.fields...)...)
			if a.code != c.code || a.json(t)["error"] != c.reason {
				t.Errorf("%s: answered %d %s, want %d %q", c.name, a.code, a.body, c.code, c.reason)
			}
		}
		if n := len(s.thread("b", op)); n != 3 {
			t.Errorf("the thread has %d posts, want 3: a refused post was stored", n)
		}

		// The same limits hold on a urlencoded form.
		send := func(v url.Values) answer {
			req, _ := http.NewRequest("POST", s.url+"/b/post", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Forwarded-For", "10.0.3.1")
			return s.do(req)
		}
		if a := send(url.Values{"resto": {resto}, "com": {"x"}, "name": {strings.Repeat("n", 101)}}); a.code != 400 ||
			a.json(t)["error"] != "The name is over the limit of 100 characters." {
			t.Errorf("urlencoded long name: %d %s", a.code, a.body)
		}
		if a := send(url.Values{"resto": {resto}, "com": {strings.Repeat("\x01", 70<<10)}}); a.code != 413 {
			t.Errorf("urlencoded fields past 64 KB: %d %s", a.code, a.body)
		}
	})
}

// Names, subjects and tripcode input lose what shows nothing: direction
// overrides and isolates, zero-width spaces and marks, byte order marks.
func TestInvisibleCharactersDropped(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op", "name", "Kim#password", "sub", "plain")
		s.mustPost("b", "10.0.0.2", "resto", fmt.Sprint(op), "com", "x", "name", "\u202eadmin\u200b")
		s.mustPost("b", "10.0.0.3", "resto", fmt.Sprint(op), "com", "x",
			"name", "\u2067K\u200dim\u2069#pass\u200bword\ufeff", "sub", "\u202dsub\u200eject\u200f")
		s.mustPost("b", "10.0.0.4", "resto", fmt.Sprint(op), "com", "\u202ekept in a comment", "name", "👩\u200d👩\u200d👧")
		posts := s.thread("b", op)
		if len(posts) != 4 {
			t.Fatalf("%d posts", len(posts))
		}
		if posts[1]["name"] != "admin" {
			t.Errorf("name %q, want %q", posts[1]["name"], "admin")
		}
		if posts[2]["name"] != "Kim" || posts[2]["trip"] != posts[0]["trip"] || posts[2]["sub"] != "subject" {
			t.Errorf("name %q trip %v sub %q; want Kim, %v (as #password), subject", posts[2]["name"], posts[2]["trip"], posts[2]["sub"], posts[0]["trip"])
		}
		if posts[3]["name"] != "👩\u200d👩\u200d👧" {
			t.Errorf("an emoji sequence in a name lost its joiners: %q", posts[3]["name"])
		}
		if com, _ := posts[3]["com"].(string); !strings.Contains(com, "\u202e") {
			t.Errorf("a comment's text changed: %q", com)
		}
	})
}
