package realip

import "testing"

func TestClientIP(t *testing.T) {
	r, err := Parse("127.0.0.1/32, 10.9.0.0/16, ::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "192.0.2.7:5555", nil, "192.0.2.7"},
		{"untrusted peer's header is ignored", "192.0.2.7:5555", []string{"10.0.0.1"}, "192.0.2.7"},
		{"trusted peer", "127.0.0.1:1", []string{"10.0.0.1"}, "10.0.0.1"},
		{"trusted peer without header", "127.0.0.1:1", nil, "127.0.0.1"},
		{"rightmost untrusted wins over a spoofed left", "127.0.0.1:1", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "127.0.0.1:1", []string{"203.0.113.9, 10.9.1.1", "10.9.2.2"}, "203.0.113.9"},
		{"all trusted: the leftmost", "127.0.0.1:1", []string{"10.9.1.1, 10.9.2.2"}, "10.9.1.1"},
		{"garbage stops the walk", "127.0.0.1:1", []string{"203.0.113.9, junk, 10.9.2.2"}, "10.9.2.2"},
		{"ipv6 peer", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"ipv6 untrusted", "[2001:db8::5]:80", []string{"10.0.0.1"}, "2001:db8::5"},
		{"mapped ipv4", "[::ffff:127.0.0.1]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forwarded zone is dropped", "127.0.0.1:1", []string{"2001:db8::7%eth0"}, "2001:db8::7"},
		{"a peer's zone is dropped", "[fe80::1%lo]:80", nil, "fe80::1"},
	}
	for _, c := range cases {
		if got := r.ClientIP(c.remote, c.xff); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	none, _ := Parse("")
	if got := none.ClientIP("127.0.0.1:1", []string{"10.0.0.1"}); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: got %s", got)
	}
	for _, bad := range []string{"nonsense", "10.0.0.0/99", "1.2.3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:7:9::1":         "2001:db8:7:9::/64",
		"2001:db8:7:9:ffff:1:2:3": "2001:db8:7:9::/64",
		"2001:db8:7:9::1%a":       "2001:db8:7:9::/64",
		"2001:db8:7:a::1":         "2001:db8:7:a::/64",
		"::1":                     "::/64",
		"not an address":          "not an address",
	} {
		if got := Key(ip); got != want {
			t.Errorf("Key(%q) = %q, want %q", ip, got, want)
		}
	}
}
