package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/internal/dnstest"
	"github.com/maniwani/maniwani/internal/testdb"
)

// logBuffer collects a service's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func TestBlocklistRefuses(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Set("7.2.0.192.bl.example", netip.MustParseAddr("127.0.0.2"))
	dns.Set("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.tor.example", netip.MustParseAddr("127.0.0.3"))
	dns.Fail("9.2.0.192.bl.example")
	dns.Fail("10.2.0.192.bl.example")
	logs := &logBuffer{}
	s := newSiteWith(t, testdb.Kinds[0], "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
		c.DNSBL = []string{"bl.example", "tor.example"}
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		d.Resolver = dns.Resolver()
	})
	for _, ip := range []string{"192.0.2.7", "2001:db8::1"} {
		a := s.post("b", ip, "com", "hello")
		wantRefused(t, ip, a, 403, "listed in a blocklist")
		if msg := a.json(t)["error"].(string); strings.Contains(msg, "example") {
			t.Errorf("the refusal names the list: %s", msg)
		}
	}
	// Refused before the file is looked at: this api takes no files, and
	// a post with one would be refused for that.
	a := s.postNamedFile("b", "192.0.2.7", "a.png", "not an image", []string{"com", "x"}, nil)
	wantRefused(t, "a listed post with a file", a, 403, "listed in a blocklist")

	s.mustPost("b", "192.0.2.8", "com", "not listed")
	s.mustPost("b", "2001:db8::2", "com", "not listed either")
	// A list that fails lets the post through, and says so once.
	s.mustPost("b", "192.0.2.9", "com", "the list is down")
	s.advance(time.Minute)
	s.mustPost("b", "192.0.2.10", "com", "still down")
	if n := logs.count("DNS blocklist lookups failed"); n != 1 {
		t.Errorf("%d warnings for two failed lookups a minute apart, want 1", n)
	}
	s.advance(time.Hour)
	s.mustPost("b", "192.0.2.9", "com", "down an hour later")
	if n := logs.count("DNS blocklist lookups failed"); n != 2 {
		t.Errorf("%d warnings after an hour more of failures, want 2", n)
	}
	if n := dns.Asked("7.2.0.192.bl.example"); n != 1 {
		t.Errorf("a listed address was asked about %d times in two posts, want once", n)
	}
}

// In captcha mode a listed address is asked for the captcha on a board
// that needs none, and posts once it has solved it; others are not asked.
func TestBlocklistCaptchaMode(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Set("7.2.0.192.bl.example", netip.MustParseAddr("127.0.0.2"))
	s, seeds := captchaSite(t, testdb.Kinds[0], func(c *api.Config, d *api.Deps) {
		c.DNSBL, c.DNSBLAction = []string{"bl.example"}, api.DNSBLCaptcha
		d.Resolver = dns.Resolver()
	}, captchaBoard("b", maniwani.CaptchaOff))
	ctx := context.Background()
	if !api.BlocklistCaptcha(s.svc, ctx, "192.0.2.7") || api.BlocklistCaptcha(s.svc, ctx, "192.0.2.8") {
		t.Errorf("the captcha is asked for by the wrong addresses")
	}
	clear := s.visitor("192.0.2.8")
	if c, _ := clear.challenge("b", 0); c != "noop" {
		t.Errorf("an address no list names is given challenge %q", c)
	}
	if a := clear.post("b", part{"com", "not listed"}); a.code != 201 {
		t.Errorf("a post from an address no list names: %d %s", a.code, a.body)
	}

	listed := s.visitor("192.0.2.7")
	wantRefused(t, "a listed address without the captcha", listed.post("b", part{"com", "listed"}), 400, "captcha")
	c, _ := listed.challenge("b", 0)
	if c == "noop" {
		t.Fatalf("a listed address is not asked for the captcha")
	}
	if a := listed.post("b", part{"com", "solved"}, part{"t-challenge", c}, part{"t-response", seeds.Answer(t)}); a.code != 201 {
		t.Errorf("a listed address with the captcha solved: %d %s", a.code, a.body)
	}
}
