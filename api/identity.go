package api

import (
	"net/http"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
)

// posterKey is who sent r, for every per-poster rule: the ban check,
// cooldowns (store.NewPost.IP, which the store counts by realip.Key), the
// poster's IDs, the decode gate, a filter's ban, the report and delete
// budgets. It is the client's address, except for a request a trusted
// proxy marks as Tor onion traffic (Config.OnionHeader): that comes from
// the proxy's own address, which every onion poster shares, so it is
// keyed by the poster's bypass token (onionKey), and refused without one.
func (s *Service) posterKey(r *http.Request) (string, error) {
	if !s.overOnion(r) {
		return s.cfg.Proxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For")), nil
	}
	if t, ok := s.posterToken(r); ok {
		return s.onionKey(t), nil
	}
	return "", errOnionNeedsCaptcha()
}

// posterToken is the request's poster token: Deps.PosterToken's, or the id
// of its bypass (a solved captcha's).
func (s *Service) posterToken(r *http.Request) (string, bool) {
	if s.deps.PosterToken != nil {
		t, ok := s.deps.PosterToken(r)
		return t, ok && t != ""
	}
	return s.bypassToken(r)
}

// newOnionPoster tells whether r is an onion poster's with no token yet:
// its post is taken only with a captcha solved with it, whose bypass then
// names the poster (posterKey), whatever the board's captcha mode.
func (s *Service) newOnionPoster(r *http.Request) bool {
	if !s.overOnion(r) {
		return false
	}
	_, ok := s.posterToken(r)
	return !ok
}

// overOnion tells whether r came over Tor: the onion header is set, by a
// trusted proxy (a client's own is not believed; the proxy must set or
// clear it on every request).
func (s *Service) overOnion(r *http.Request) bool {
	return s.cfg.OnionHeader != "" && r.Header.Get(s.cfg.OnionHeader) != "" && s.cfg.Proxies.Trusted(r.RemoteAddr)
}

// onionKey is an onion poster's key made from its bypass token: keyed
// with the site's secret, so what posts keep and moderators see cannot be
// posted with, and short enough for a ban's range (store.CreateBan).
func (s *Service) onionKey(token string) string {
	return realip.OnionPrefix + s.keyed("onion", token, "hex")[:24]
}

func errOnionNeedsCaptcha() error {
	return maniwani.Errorf(maniwani.KindForbidden, "Posting over Tor needs a captcha solved first.")
}
