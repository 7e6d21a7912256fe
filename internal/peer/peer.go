// Package peer keeps the services' calls between themselves to themselves:
// apart, their internal routes are on ports that anyone who reaches the
// host's network may find, so each call carries a secret they share.
package peer

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/maniwani/maniwani/internal/tracing"
)

// Header carries the secret on every internal call.
const Header = "X-Maniwani-Internal-Secret"

// Internal tells the routes that only the services call: the api's and
// media's /_internal/..., and markdown's /render.
func Internal(path string) bool {
	return strings.HasPrefix(path, "/_internal/") || path == "/render"
}

// Guard refuses, when secret is set, an internal route called without it,
// as if the route did not exist; the other routes pass.
func Guard(h http.Handler, secret string) http.Handler {
	if secret == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Internal(r.URL.Path) && subtle.ConstantTimeCompare([]byte(r.Header.Get(Header)), []byte(secret)) != 1 {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Transport sends the secret with every request it makes through next
// (http.DefaultTransport when nil), and the caller's trace context, so
// the service called continues the caller's trace.
func Transport(secret string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	next = tracing.Transport(next)
	if secret == "" {
		return next
	}
	return roundTripper{secret, next}
}

type roundTripper struct {
	secret string
	next   http.RoundTripper
}

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set(Header, t.secret)
	return t.next.RoundTrip(r)
}
