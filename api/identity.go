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
	if s.deps.PosterToken != nil {
		if t, ok := s.deps.PosterToken(r); ok && t != "" {
			return s.onionKey(t), nil
		}
	}
	return "", errOnionNeedsCaptcha()
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
