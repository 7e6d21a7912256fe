package api

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/dnsbl"
)

// What an address listed in a DNS blocklist gets (Config.DNSBLAction).
const (
	// DNSBLRefuse refuses its posts.
	DNSBLRefuse = "refuse"
	// DNSBLCaptcha asks it to solve the captcha at every post.
	DNSBLCaptcha = "captcha"
)

// blocklistWarnEvery spaces the warnings that the lists do not answer: a
// list that is down would otherwise log at every post.
const blocklistWarnEvery = 5 * time.Minute

// blocklist is the api's DNS blocklist check: nil when no list is set.
type blocklist struct {
	check  *dnsbl.Checker
	action string
	mu     sync.Mutex
	warned time.Time // the last warning; zero: none yet
	failed int       // lookups failed since then
}

func newBlocklist(cfg Config, res *net.Resolver, now func() time.Time) *blocklist {
	if len(cfg.DNSBL) == 0 {
		return nil
	}
	action := cfg.DNSBLAction
	if action == "" {
		action = DNSBLRefuse
	}
	return &blocklist{action: action,
		check: dnsbl.New(dnsbl.Config{Zones: cfg.DNSBL, Resolver: res, Now: now})}
}

// listed tells whether a blocklist lists ip. A lookup that fails counts as
// not listed: the post goes on, and the failure is logged, once in
// blocklistWarnEvery with the count of those since.
func (s *Service) listed(ctx context.Context, ip string) bool {
	if s.blocklist == nil {
		return false
	}
	listed, err := s.blocklist.check.Listed(ctx, ip)
	if err != nil && ctx.Err() == nil {
		s.blocklistFailed(err)
	}
	return listed
}

func (s *Service) blocklistFailed(err error) {
	b := s.blocklist
	now := s.now()
	b.mu.Lock()
	b.failed++
	if !b.warned.IsZero() && now.Sub(b.warned) < blocklistWarnEvery {
		b.mu.Unlock()
		return
	}
	failed := b.failed
	b.warned, b.failed = now, 0
	b.mu.Unlock()
	s.log.Warn("DNS blocklist lookups failed; posts from those addresses are let through",
		"failed_since_last_warning", failed, "err", err)
}

// checkBlocklist refuses a post from a listed address when the lists'
// action is to refuse; in DNSBLCaptcha it lets it on, and the captcha's
// check asks blocklistCaptcha. It runs before the post's body is read. An
// onion poster's key (posterKey) is no address: no list is asked.
func (s *Service) checkBlocklist(ctx context.Context, ip string) error {
	if s.blocklist == nil || s.blocklist.action != DNSBLRefuse || !s.listed(ctx, ip) {
		return nil
	}
	s.log.Info("post refused: address in a DNS blocklist", "ip", ip)
	return maniwani.Errorf(maniwani.KindForbidden,
		"Your address is listed in a blocklist of abused addresses; posts from it are refused.")
}

// blocklistCaptcha tells whether this post needs the captcha because its
// address is listed (DNSBLCaptcha), whatever the board's captcha mode. The
// answer is cached: asking it for GET /captcha and again for the post
// costs one lookup.
func (s *Service) blocklistCaptcha(ctx context.Context, ip string) bool {
	return s.blocklist != nil && s.blocklist.action == DNSBLCaptcha && s.listed(ctx, ip)
}
