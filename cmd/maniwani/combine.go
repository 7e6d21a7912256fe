package main

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// combine serves the HTTP services of a process without the router on one
// address, each request to the service that owns it, by the router's rules:
// live its streams, media its files, markdown its renders, the ui the pages,
// the api JSON and every write.
func combine(h map[string]http.Handler) http.Handler {
	if len(h) == 1 {
		for _, one := range h {
			return one
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		owner := "api"
		switch {
		case strings.HasPrefix(p, "/live/"):
			owner = "live"
		case strings.HasPrefix(p, "/media/"), strings.HasPrefix(p, "/_internal/media/"):
			owner = "media"
		case p == "/render":
			owner = "markdown"
		case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/_internal/"), strings.HasSuffix(p, ".json"):
		case r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(p, "/admin/"):
			owner = "ui"
		}
		if s := h[owner]; s != nil {
			s.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
}

// reverseProxy passes requests to the service at base (the staff API for a
// ui apart from the api).
func reverseProxy(base string) http.Handler {
	u, err := url.Parse(base)
	if err != nil || base == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"The api's address (MANIWANI_API_URL) is not set."}`)
		})
	}
	return httputil.NewSingleHostReverseProxy(u)
}
