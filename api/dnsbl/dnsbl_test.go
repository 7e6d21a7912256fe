package dnsbl_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani/api/dnsbl"
	"github.com/maniwani/maniwani/internal/dnstest"
)

func TestQuery(t *testing.T) {
	// RFC 5782's own examples, section 2.1 and 2.4.
	cases := map[string]string{
		"192.0.2.99":                "99.2.0.192.bl.example.",
		"::ffff:1.2.3.4":            "4.3.2.1.bl.example.",
		"2001:db8:1:2:3:4:567:89ab": "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example.",
	}
	for ip, want := range cases {
		if got := dnsbl.Query(netip.MustParseAddr(ip), "bl.example"); got != want {
			t.Errorf("Query(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestParseZones(t *testing.T) {
	z, err := dnsbl.ParseZones(" dnsbl.example, Tor.DNSBL.example. ,")
	if err != nil || len(z) != 2 || z[0] != "dnsbl.example" || z[1] != "tor.dnsbl.example" {
		t.Errorf("ParseZones = %v, %v", z, err)
	}
	for _, bad := range []string{"a..b", "-a.example", "a b.example", "a/b"} {
		if _, err := dnsbl.ParseZones(bad); err == nil {
			t.Errorf("ParseZones(%q) took it", bad)
		}
	}
	if z, err := dnsbl.ParseZones(""); err != nil || len(z) != 0 {
		t.Errorf("ParseZones(\"\") = %v, %v", z, err)
	}
}

// clock is a test's clock, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestListed(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("7.2.0.192.one.example", netip.MustParseAddr("127.0.0.2"))
	srv.Set("8.2.0.192.two.example", netip.MustParseAddr("127.0.0.4"))
	srv.Set("9.2.0.192.one.example", netip.MustParseAddr("192.0.2.1"))        // not in 127/8: no listing
	srv.Set("10.2.0.192.one.example", netip.MustParseAddr("127.255.255.254")) // the list refused
	v6 := "2001:db8::1"
	srv.Set(dnsbl.Query(netip.MustParseAddr(v6), "two.example"), netip.MustParseAddr("127.0.0.3"))
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := dnsbl.New(dnsbl.Config{Zones: []string{"one.example", "two.example"}, Resolver: srv.Resolver(), Now: clk.Now})
	ctx := context.Background()
	for ip, want := range map[string]bool{"192.0.2.7": true, "192.0.2.8": true, "192.0.2.1": false,
		"192.0.2.9": false, v6: true, "2001:db8::2": false, "::ffff:192.0.2.7": true} {
		listed, err := c.Listed(ctx, ip)
		if err != nil || listed != want {
			t.Errorf("Listed(%s) = %v, %v; want %v", ip, listed, err, want)
		}
	}
	if listed, err := c.Listed(ctx, "192.0.2.10"); listed || err == nil {
		t.Errorf("a list's refusal code: %v, %v; want not listed, with an error", listed, err)
	}
	// Addresses that are nobody's to list are not asked about.
	for _, ip := range []string{"127.0.0.2", "10.1.2.3", "fe80::1", "fd00::1", "not an address"} {
		if listed, err := c.Listed(ctx, ip); listed || err != nil {
			t.Errorf("Listed(%s) = %v, %v", ip, listed, err)
		}
	}
	if n := srv.Asked("2.0.0.127.one.example") + srv.Asked("3.2.1.10.one.example"); n != 0 {
		t.Errorf("%d questions about unlisted kinds of address", n)
	}

	// Answers, listed or not, come from the cache until they are old.
	before := srv.Asked("7.2.0.192.one.example") + srv.Asked("1.2.0.192.one.example")
	c.Listed(ctx, "192.0.2.7")
	c.Listed(ctx, "192.0.2.1")
	if after := srv.Asked("7.2.0.192.one.example") + srv.Asked("1.2.0.192.one.example"); after != before {
		t.Errorf("cached answers were asked again: %d questions, then %d", before, after)
	}
	clk.advance(dnsbl.DefaultClearTTL)
	c.Listed(ctx, "192.0.2.7") // listed: still kept
	c.Listed(ctx, "192.0.2.1") // not listed: asked again
	if got := srv.Asked("7.2.0.192.one.example"); got != 1 {
		t.Errorf("a listed address was asked %d times within its TTL", got)
	}
	if got := srv.Asked("1.2.0.192.one.example"); got != 2 {
		t.Errorf("an address not listed was asked %d times over its TTL", got)
	}
	srv.Set("1.2.0.192.one.example", netip.MustParseAddr("127.0.0.2"))
	clk.advance(dnsbl.DefaultClearTTL)
	if listed, _ := c.Listed(ctx, "192.0.2.1"); !listed {
		t.Errorf("a newly listed address is not listed once its answer is old")
	}
}

func TestCacheBounded(t *testing.T) {
	srv := dnstest.Start(t)
	c := dnsbl.New(dnsbl.Config{Zones: []string{"bl.example"}, Resolver: srv.Resolver(), Size: 3})
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1", "192.0.2.4"} {
		c.Listed(context.Background(), ip)
	}
	if c.Len() != 3 {
		t.Errorf("%d answers cached, want 3", c.Len())
	}
	// 192.0.2.2 was the least recently used: it went; 192.0.2.1 stayed.
	c.Listed(context.Background(), "192.0.2.1")
	c.Listed(context.Background(), "192.0.2.2")
	if a, b := srv.Asked("1.2.0.192.bl.example"), srv.Asked("2.2.0.192.bl.example"); a != 1 || b != 2 {
		t.Errorf("questions: %d for the one used again, %d for the one pushed out; want 1, 2", a, b)
	}
}

func TestFailsOpen(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Fail("1.2.0.192.bad.example")
	srv.Set("1.2.0.192.good.example", netip.MustParseAddr("127.0.0.2"))
	c := dnsbl.New(dnsbl.Config{Zones: []string{"bad.example"}, Resolver: srv.Resolver()})
	if listed, err := c.Listed(context.Background(), "192.0.2.1"); listed || err == nil {
		t.Errorf("SERVFAIL: %v, %v; want not listed, with an error", listed, err)
	}
	// One list failing does not hide another's listing.
	c = dnsbl.New(dnsbl.Config{Zones: []string{"bad.example", "good.example"}, Resolver: srv.Resolver()})
	if listed, err := c.Listed(context.Background(), "192.0.2.1"); !listed || err != nil {
		t.Errorf("one list of two failing: %v, %v; want listed", listed, err)
	}

	// A list that never answers costs the timeout, once: the failure is
	// kept for a while.
	srv.Hold()
	c = dnsbl.New(dnsbl.Config{Zones: []string{"slow.example"}, Resolver: srv.Resolver(), Timeout: 50 * time.Millisecond})
	start := time.Now()
	if listed, err := c.Listed(context.Background(), "192.0.2.1"); listed || err == nil {
		t.Errorf("timeout: %v, %v; want not listed, with an error", listed, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a lookup took %s past its timeout", d)
	}
	if listed, err := c.Listed(context.Background(), "192.0.2.1"); listed || err == nil {
		t.Errorf("kept failure: %v, %v", listed, err)
	}
	if n := srv.Asked("1.2.0.192.slow.example"); n == 0 || n > 2 {
		// Go's resolver may send its question twice within the timeout.
		t.Errorf("%d questions for one failed lookup kept", n)
	}
}

func TestSharedLookup(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("1.2.0.192.bl.example", netip.MustParseAddr("127.0.0.2"))
	srv.Hold()
	c := dnsbl.New(dnsbl.Config{Zones: []string{"bl.example"}, Resolver: srv.Resolver(), Timeout: time.Minute})
	const n = 20
	var wg sync.WaitGroup
	results := make(chan bool, n)
	for range n {
		wg.Go(func() {
			listed, _ := c.Listed(context.Background(), "192.0.2.1")
			results <- listed
		})
	}
	<-srv.Arrived()
	srv.Release()
	wg.Wait()
	close(results)
	for listed := range results {
		if !listed {
			t.Errorf("a lookup sharing the query answered not listed")
		}
	}
	if got := srv.Asked("1.2.0.192.bl.example"); got != 1 {
		t.Errorf("%d lookups at once sent %d questions, want 1", n, got)
	}

	// A caller that leaves does not end the lookup the others wait on.
	srv.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := c.Listed(ctx, "192.0.2.2")
		left <- err
	}()
	<-srv.Arrived()
	waiting := make(chan bool, 1)
	go func() {
		listed, err := c.Listed(context.Background(), "192.0.2.2")
		waiting <- listed || err != nil
	}()
	cancel()
	if err := <-left; err == nil {
		t.Errorf("a caller that left got an answer")
	}
	srv.Release()
	if <-waiting {
		t.Errorf("the caller that stayed got a failure or a listing")
	}
}
