package main

import (
	"net/http"

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
