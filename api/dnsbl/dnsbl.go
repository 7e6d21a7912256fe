// Package dnsbl asks DNS blocklists (RFC 5782) whether they list a
// poster's address: an A record in 127.0.0.0/8 for the address's reversed
// octets (IPv4) or nibbles (IPv6) under the list's zone means listed,
// NXDOMAIN means not. Answers are cached per address, and a lookup that
// fails or is slow counts as not listed: a broken list must not stop
// posting.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/maniwani/maniwani/internal/lru"
)

// Defaults for the zero fields of Config.
const (
	// DefaultTimeout bounds one address's lookup, every zone asked at once:
	// it is paid by a post from an address not in the cache.
	DefaultTimeout = time.Second
	// DefaultListedTTL and DefaultClearTTL are how long an answer is kept.
	// Lists add an address within minutes of its abuse and drop it after
	// hours; the resolver in between caches by the records' own TTLs.
	DefaultListedTTL = time.Hour
	DefaultClearTTL  = 15 * time.Minute
	// DefaultFailedTTL is how long a failed lookup counts as not listed
	// before it is tried again, so a list that is down costs one timeout
	// per address a minute, not one per post.
	DefaultFailedTTL = time.Minute
	// DefaultSize bounds the cache: about 100 bytes an address.
	DefaultSize = 10_000
)

// Config is a Checker's settings.
type Config struct {
	// Zones are the lists asked, e.g. "dnsbl.example".
	Zones []string
	// Resolver asks them; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// Timeout, ListedTTL, ClearTTL, FailedTTL and Size: zero is the
	// default of each.
	Timeout                        time.Duration
	ListedTTL, ClearTTL, FailedTTL time.Duration
	Size                           int
	// Now is the clock of the cache; nil: time.Now.
	Now func() time.Time
}

// Checker asks the lists and keeps their answers.
type Checker struct {
	cfg    Config
	res    *net.Resolver
	flight singleflight.Group
	cache  *lru.Cache[entry]
}

// New makes a Checker of cfg's zones.
func New(cfg Config) *Checker {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ListedTTL <= 0 {
		cfg.ListedTTL = DefaultListedTTL
	}
	if cfg.ClearTTL <= 0 {
		cfg.ClearTTL = DefaultClearTTL
	}
	if cfg.FailedTTL <= 0 {
		cfg.FailedTTL = DefaultFailedTTL
	}
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Checker{cfg: cfg, res: cfg.Resolver, cache: lru.New[entry](cfg.Size)}
}

// ParseZones reads a comma-separated list of zones; empty: none.
func ParseZones(v string) ([]string, error) {
	var out []string
	for _, z := range strings.Split(v, ",") {
		z = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z)), ".")
		if z == "" {
			continue
		}
		if !validName(z) {
			return nil, fmt.Errorf("%q is not a DNS zone", z)
		}
		out = append(out, z)
	}
	return out, nil
}

func validName(z string) bool {
	if len(z) > 200 { // room left for an IPv6 address's 64 characters
		return false
	}
	for _, l := range strings.Split(z, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Query is the name asked of zone for a: the address's octets (IPv4) or
// nibbles (IPv6, all 32 of them) in reverse order, then the zone, with the
// final dot that keeps the resolver's search domains off it.
func Query(a netip.Addr, zone string) string {
	a = a.Unmap()
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", o[3], o[2], o[1], o[0])
	} else {
		const hex = "0123456789abcdef"
		o := a.As16()
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[o[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[o[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	b.WriteByte('.')
	return b.String()
}

// Listed tells whether any zone lists ip. An answer for that very address
// (not its /64: lists name single addresses, and one that lists a range
// answers for each address in it) is kept for a while; lookups of one
// address at once share one query per zone. A lookup that failed (no
// answer within the timeout, a server failure, a list's own error code)
// answers false with the error, for the caller to log: it counts as not
// listed. An address that is not public (loopback, private, link-local)
// or not an address at all is not asked about.
func (c *Checker) Listed(ctx context.Context, ip string) (bool, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || len(c.cfg.Zones) == 0 {
		return false, nil
	}
	a = a.Unmap().WithZone("")
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false, nil
	}
	key := a.String()
	if e, ok := c.cache.Get(key, c.cfg.Now()); ok {
		return e.listed, e.err
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		// A caller that missed the cache just before the previous flight
		// filled it comes here after that flight: the answer is in.
		if e, ok := c.cache.Get(key, c.cfg.Now()); ok {
			return e, nil
		}
		// Shared by every caller of this address: none's leaving ends it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		e := c.lookup(lctx, a)
		ttl := c.cfg.ClearTTL
		switch {
		case e.listed:
			ttl = c.cfg.ListedTTL
		case e.err != nil:
			ttl = c.cfg.FailedTTL
		}
		c.cache.Put(key, e, c.cfg.Now().Add(ttl))
		return e, nil
	})
	select {
	case r := <-ch:
		e := r.Val.(entry)
		return e.listed, e.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// lookup asks every zone at once; the first that lists a ends the others.
func (c *Checker) lookup(ctx context.Context, a netip.Addr) entry {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		zone   string
		listed bool
		err    error
	}
	results := make(chan result, len(c.cfg.Zones))
	for _, z := range c.cfg.Zones {
		go func() {
			listed, err := c.ask(ctx, Query(a, z))
			results <- result{z, listed, err}
		}()
	}
	var errs []error
	for range c.cfg.Zones {
		r := <-results
		if r.listed {
			return entry{listed: true}
		}
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.zone, r.err))
		}
	}
	return entry{err: errors.Join(errs...)}
}

// ask looks name up: listed when it has an A record in 127.0.0.0/8.
func (c *Checker) ask(ctx context.Context, name string) (bool, error) {
	addrs, err := c.res.LookupNetIP(ctx, "ip4", name)
	if dnsErr := (*net.DNSError)(nil); errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false, nil // NXDOMAIN (or a name without an A record)
	}
	if err != nil {
		return false, err
	}
	for _, r := range addrs {
		r = r.Unmap()
		if !r.Is4() || r.As4()[0] != 127 {
			continue // not a listing: a resolver that answers every name does this
		}
		if o := r.As4(); o[1] == 255 && o[2] == 255 {
			// 127.255.255.0/24 is how a list (Spamhaus's, for one) says it
			// refused the query, not that it lists the address.
			return false, fmt.Errorf("the list answered %s: it refused the query", r)
		}
		return true, nil
	}
	return false, nil
}

// entry is a cached answer.
type entry struct {
	listed bool
	err    error
}

// Len is the number of answers cached.
func (c *Checker) Len() int {
	return c.cache.Len()
}
