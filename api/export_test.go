package api

import (
	"context"

	"github.com/maniwani/maniwani"
)

// AdminRoute is a route of the staff API, for tests that walk them all.
type AdminRoute struct {
	Method, Path string
	Perm         maniwani.Permission
}

// AdminRoutes lists the staff API's routes but login.
func AdminRoutes() []AdminRoute {
	var out []AdminRoute
	for _, r := range (&Service{}).adminRoutes() {
		out = append(out, AdminRoute{r.Method, r.Path, r.Perm})
	}
	return out
}

// HashGate is a gate of n password hashers, as logins pass through.
func HashGate(n int) func(ctx context.Context, fn func()) error { return newHashGate(n).do }

// HoldHashers keeps every password hasher of s busy until release.
func HoldHashers(s *Service) (release func()) {
	s.hashes.sem.Acquire(context.Background(), s.hashes.n)
	return func() { s.hashes.sem.Release(s.hashes.n) }
}

// HoldDecodes takes every decode slot of s, as decodes under way would, so
// that a post that comes to its decode is refused as busy; release gives
// them back.
func HoldDecodes(s *Service) (release func()) {
	n := int64(s.cfg.MaxDecodes)
	s.decodes.slots.Acquire(context.Background(), n)
	return func() { s.decodes.slots.Release(n) }
}

// BlocklistCaptcha is the captcha's question of the blocklists: does a
// post from ip need the captcha because its address is listed?
func BlocklistCaptcha(s *Service, ctx context.Context, ip string) bool {
	return s.blocklistCaptcha(ctx, ip)
}
