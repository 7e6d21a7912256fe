// Routing: Handle sends each request to the cache, a live stream or the
// service that owns it; with the paths never served, the request ID, and
// the body limits checked before anything is forwarded.

package router

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/router/cache"
)

// observe tells Config.Observe of an answer that did not come from L1.
func (s *Service) observe(ctx *fasthttp.RequestCtx, start time.Time) {
	owner := "cache" // a cacheable GET, filled (or stale)
	if ctx.Response.Header.Peek("X-Cache") == nil {
		owner = s.ownerName(ctx)
	}
	s.cfg.Observe(owner, ctx.Response.StatusCode(), time.Since(start))
}

// Handle routes one request.
func (s *Service) Handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if isInternal(path) {
		notFound(ctx)
		return
	}
	var e *cache.Entry // a stale copy, for when the upstream is down
	if ctx.IsGet() || ctx.IsHead() {
		var current bool
		// Cached pages are named by their path alone: no page reads a query
		// string, and one that anyone can vary (?bust=N) must not make an
		// entry of its own.
		e, current = s.l1.Get(path)
		if current && s.following.Load() {
			// Only the answers of cacheable paths are ever stored, so a current
			// entry answers at once. It is the hot path: counted (in write),
			// not timed.
			s.write(ctx, e, stateHit)
			return
		}
	}
	if s.cfg.Observe != nil {
		defer s.observe(ctx, time.Now())
	}
	// A live stream lasts as long as its viewer stays: no span of its
	// own (live traces its deliveries, in the posts' traces).
	if !bytes.HasPrefix(path, []byte("/live/")) {
		if span := s.startSpan(ctx); span != nil {
			defer s.endSpan(ctx, span)
		}
	}
	if ctx.IsGet() || ctx.IsHead() {
		if sc, ok := cache.ScopeOf(string(path)); ok {
			ctx.URI().SetQueryString("") // filled as it is kept: without one
			s.serveCached(ctx, path, sc, e)
			return
		}
	}
	s.requestID(ctx)
	if s.deps.LiveHandler != nil && bytes.HasPrefix(path, []byte("/live/")) {
		if c, ok := ctx.Conn().(*conn); ok {
			c.writeTimeout = 0 // the stream keeps its own write deadlines
		}
		serveHijacked(ctx, s.deps.LiveHandler)
		return
	}
	if s.limitBody(ctx) {
		s.owner(ctx).Forward(ctx)
	}
}

// limitBody refuses a body that says it is longer than its route takes
// before forwarding any of it, and sets the limit at which one that did not
// say (chunked) is cut off as it streams through. The owning service has
// its own, smaller limits (a board's file size), which the client then
// hears as soon as they are crossed.
func (s *Service) limitBody(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	if !hasBody(h) {
		return true
	}
	max := s.bodyMax(ctx)
	if h.ContentLength() > max {
		refuseBody(ctx, errBodyTooLarge)
		return false
	}
	ctx.SetUserValue(bodyLimitKey{}, int64(max))
	return true
}

// bodyMax is the longest body a request's route takes: a post with files
// may be MaxRequestBody, anything else MaxFormBody.
func (s *Service) bodyMax(ctx *fasthttp.RequestCtx) int {
	if ctx.IsPost() && isPostPath(ctx.Path()) {
		return s.cfg.MaxRequestBody
	}
	return s.cfg.MaxFormBody
}

// expect answers a client that asks before it sends its body (Expect:
// 100-continue): one that says it is longer than its route takes is
// refused there, and never sent.
func (s *Service) expect(ctx *fasthttp.RequestCtx) int {
	if ctx.Request.Header.ContentLength() > s.bodyMax(ctx) {
		refuseBody(ctx, errBodyTooLarge)
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusContinue
}

// isPostPath tells /{board}/post, the one route that takes files.
func isPostPath(path []byte) bool {
	board, tail, ok := bytes.Cut(bytes.TrimPrefix(path, []byte("/")), []byte("/"))
	return ok && len(board) > 0 && string(tail) == "post"
}

// owner is the service that answers a request: live its streams, media its
// files, the ui every page a browser GETs, the api JSON and every write.
func (s *Service) owner(ctx *fasthttp.RequestCtx) Upstream {
	switch s.ownerName(ctx) {
	case "live":
		return s.deps.Live
	case "media":
		return s.deps.Media
	case "ui":
		return s.deps.UI
	}
	return s.deps.API
}

// ownerName is maniwani.Owner of the request, or the api when that
// service is not one the router was given.
func (s *Service) ownerName(ctx *fasthttp.RequestCtx) string {
	owner := maniwani.Owner(string(ctx.Method()), string(ctx.Path()))
	switch {
	case owner == "live" && (s.deps.Live != nil || s.deps.LiveHandler != nil),
		owner == "media" && s.deps.Media != nil, owner == "ui" && s.deps.UI != nil:
		return owner
	}
	return "api"
}

// requestID gives a request that goes upstream an X-Request-Id, unless the
// client sent a plain one (a load balancer's, which follows the request
// through it): every service logs it, so one that is long or holds anything
// but letters, digits and dashes (a forged log line) is replaced.
func (s *Service) requestID(ctx *fasthttp.RequestCtx) {
	if plainID(ctx.Request.Header.Peek("X-Request-Id")) {
		return
	}
	var b [12]byte
	rand.Read(b[:])
	ctx.Request.Header.Set("X-Request-Id", hex.EncodeToString(b[:]))
}

// plainID tells a request ID worth keeping: 1 to 64 letters, digits and
// dashes.
func plainID(id []byte) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isInternal tells the paths that are never served on the public port.
func isInternal(path []byte) bool {
	if bytes.HasPrefix(path, []byte("/_internal/")) { // the services' routes between themselves
		return true
	}
	for _, p := range [...]string{"/metrics", "/healthz", "/readyz"} {
		if bytes.Equal(path, []byte(p)) {
			return true
		}
	}
	return false
}
