package maniwani

import "strings"

// Owner names the service that answers a request: live its streams, media
// its files (and the routes by which the others use it), markdown its
// renders, the ui every page a browser GETs and the admin UI, the api the
// JSON, the staff API, the routes between services, the captcha (its JSON
// and its frame) and every write. The router and a process serving several
// services without it route by it.
func Owner(method, path string) string {
	switch {
	case strings.HasPrefix(path, "/live/"):
		return "live"
	case strings.HasPrefix(path, "/media/"), strings.HasPrefix(path, "/_internal/media/"):
		return "media"
	case path == "/render":
		return "markdown"
	case strings.HasPrefix(path, "/api/"), strings.HasPrefix(path, "/_internal/"), strings.HasSuffix(path, ".json"),
		path == "/captcha", strings.HasPrefix(path, "/captcha/"): // a challenge for each visitor, never cached
		return "api"
	case method == "GET", method == "HEAD", strings.HasPrefix(path, "/admin/"):
		return "ui"
	}
	return "api"
}
