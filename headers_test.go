package maniwani_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/maniwani/maniwani"
)

// Guard refuses what a browser says another site's page sent, passes the
// site's own and non-browser clients, and puts the security headers on
// every answer, refusals included.
func TestGuard(t *testing.T) {
	var reached int
	h := maniwani.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	for _, c := range []struct {
		name, method string
		hdr          map[string]string
		want         int
	}{
		{"cross-site form", "POST", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site, Origin only", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"same-site subdomain", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same origin", "POST", map[string]string{"Origin": "http://site.example", "Sec-Fetch-Site": "same-origin"}, 200},
		{"same origin, Origin only", "POST", map[string]string{"Origin": "http://site.example"}, 200},
		{"typed into the address bar", "POST", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"no browser", "POST", nil, 200},
		{"cross-site read", "GET", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 200},
	} {
		reached = 0
		r := httptest.NewRequest(c.method, "http://site.example/b/post", nil)
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want || (reached == 1) != (c.want == 200) {
			t.Errorf("%s: %d (handler reached %d times), want %d", c.name, w.Code, reached, c.want)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Content-Security-Policy") != maniwani.ContentSecurityPolicy ||
			w.Header().Get("Referrer-Policy") == "" {
			t.Errorf("%s: security headers missing: %v", c.name, w.Header())
		}
	}
}
