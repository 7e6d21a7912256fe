// Package realip finds the address of the client behind trusted proxies.
package realip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Resolver believes X-Forwarded-For only from peers in its trusted ranges.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs or addresses (a bare address is
// a single-host range). An empty list trusts no one.
func Parse(list string) (Resolver, error) {
	var r Resolver
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return Resolver{}, fmt.Errorf("trusted proxy %q is not an address or CIDR", f)
			}
			f = a.Unmap().String() + fmt.Sprintf("/%d", a.Unmap().BitLen())
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return Resolver{}, fmt.Errorf("trusted proxy %q is not an address or CIDR", f)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the client's address: the peer's, or, when the peer is a trusted
// proxy, the rightmost address of X-Forwarded-For that is not a trusted proxy
// (everything left of it could have been written by the client). forwarded
// holds the X-Forwarded-For header values in order.
func (r Resolver) ClientIP(remoteAddr string, forwarded []string) string {
	peer, ok := parseHostPort(remoteAddr)
	if !ok {
		return remoteAddr
	}
	if !r.isTrusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, h := range forwarded {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop at the last address we could believe
		}
		client = a.Unmap().WithZone("") // a zone names a local interface, not a client
		if !r.isTrusted(client) {
			break
		}
	}
	return client.String()
}

func parseHostPort(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Key is what every per-address limit counts by: an IPv4 address itself,
// and for IPv6 its /64, which is what one subscriber is given (a poster
// has the whole /64 to pick addresses from). Anything else (an onion
// poster's key, OnionKey) is kept as it is.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// Trusted tells whether the peer at remoteAddr is a trusted proxy, whose
// other forwarding headers (X-Forwarded-Proto) can be believed too.
func (r Resolver) Trusted(remoteAddr string) bool {
	peer, ok := parseHostPort(remoteAddr)
	return ok && r.isTrusted(peer)
}

// OnionPrefix starts the key that stands for a poster's address when the
// poster has none of its own: Tor onion traffic, which reaches the site
// from the proxy's address. It is not an address, and sorts after every
// address key the store compares (hex digits), so no range matches it.
const OnionPrefix = "onion:"

// IsOnion tells whether key is an onion poster's, not an address.
func IsOnion(key string) bool { return strings.HasPrefix(key, OnionPrefix) }
