package peer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// With a secret, an internal route answers only a caller that sends it,
// through Transport; the public routes answer anyone. Without one, all
// pass (the one-process site, where nothing internal is on a port).
func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(Guard(ok, "s3cret"))
	defer srv.Close()
	open := httptest.NewServer(Guard(ok, ""))
	defer open.Close()
	with := &http.Client{Transport: Transport("s3cret", nil)}
	wrong := &http.Client{Transport: Transport("guess", nil)}
	for _, c := range []struct {
		c    *http.Client
		base string
		path string
		want int
	}{
		{http.DefaultClient, srv.URL, "/_internal/boards", 404},
		{wrong, srv.URL, "/_internal/media/src/ab", 404},
		{http.DefaultClient, srv.URL, "/render", 404},
		{with, srv.URL, "/_internal/boards", 200},
		{with, srv.URL, "/render", 200},
		{http.DefaultClient, srv.URL, "/b/thread/1.json", 200},
		{http.DefaultClient, open.URL, "/_internal/boards", 200},
	} {
		resp, err := c.c.Get(c.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (%s): %d, want %d", c.path, c.base, resp.StatusCode, c.want)
		}
	}
}
