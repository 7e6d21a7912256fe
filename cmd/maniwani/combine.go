package main

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/maniwani/maniwani"
)

// combine serves the HTTP services of a process without the router on one
// address, each request to the service that owns it (maniwani.Owner, the
// router's rule).
func combine(h map[string]http.Handler) http.Handler {
	if len(h) == 1 {
		for _, one := range h {
			return one
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := h[maniwani.Owner(r.Method, r.URL.Path)]; s != nil {
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
