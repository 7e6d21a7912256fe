// Answers written by the router itself: a page from a cache entry
// (with 304s and gzip), and its error pages.

package router

import (
	"bytes"
	"fmt"
	"html"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/router/cache"
)

// The X-Cache values, and the names of the headers an answer from cache
// sets, in the form fasthttp writes them: set as they are, they skip the
// normalizing that Set does on every call.
var (
	stateHit   = []byte("HIT")
	stateMiss  = []byte("MISS")
	stateStale = []byte("STALE")
	// stateUpdating: an outdated page, answered while it is made again
	// (Config.StaleFor).
	stateUpdating = []byte("UPDATING")

	headerXCache       = []byte("X-Cache")
	headerCacheControl = []byte("Cache-Control")
	headerETag         = []byte("Etag")
	headerLastModified = []byte("Last-Modified")
	headerVary         = []byte("Vary")
	valueVary          = []byte("Accept-Encoding")
	valueGzip          = []byte("gzip")
)

// write answers from an entry: 304 when the client's copy is current, the
// gzip form to clients that take it.
func (s *Service) write(ctx *fasthttp.RequestCtx, e *cache.Entry, state []byte) {
	if s.cfg.ObserveCache != nil {
		s.cfg.ObserveCache(state)
	}
	h := &ctx.Response.Header
	h.SetCanonical(headerXCache, state)
	if e.ContentType != "" {
		h.SetContentType(e.ContentType)
	}
	if e.CacheControl != "" {
		h.SetCanonical(headerCacheControl, []byte(e.CacheControl))
	}
	if e.ETag != "" {
		h.SetCanonical(headerETag, []byte(e.ETag))
	}
	if e.LastModified != "" {
		h.SetCanonical(headerLastModified, []byte(e.LastModified))
	}
	if e.Gzip != nil {
		h.SetCanonical(headerVary, valueVary)
	}
	if e.Location != "" {
		h.Set("Location", e.Location)
	}
	for _, x := range e.Extra {
		h.SetCanonical(x[0], x[1])
	}
	if e.Status == fasthttp.StatusOK && notModified(&ctx.Request.Header, e) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetStatusCode(e.Status)
	body := e.Body
	if e.Gzip != nil && ctx.Request.Header.HasAcceptEncodingBytes(valueGzip) {
		h.SetContentEncodingBytes(valueGzip)
		body = e.Gzip
	}
	// The entry is never changed once made, so the answer can share it.
	if ctx.IsHead() {
		ctx.Response.SetBodyRaw(body)
		ctx.Response.SkipBody = true
		h.SetContentLength(len(body))
		return
	}
	if c, ok := ctx.Conn().(*conn); ok && len(body) >= writevMin {
		c.out.body, c.out.c = body, c
		ctx.Response.SetBodyStream(&c.out, len(body))
		return
	}
	ctx.Response.SetBodyRaw(body)
}

// notModified applies If-None-Match, or else If-Modified-Since.
func notModified(h *fasthttp.RequestHeader, e *cache.Entry) bool {
	if inm := h.Peek("If-None-Match"); len(inm) > 0 {
		if e.ETag == "" {
			return false
		}
		for _, t := range strings.Split(string(inm), ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == strings.TrimPrefix(e.ETag, "W/") {
				return true
			}
		}
		return false
	}
	if ims := h.Peek("If-Modified-Since"); len(ims) > 0 && e.LastModified != "" {
		since, err1 := fasthttp.ParseHTTPDate(ims)
		mod, err2 := fasthttp.ParseHTTPDate([]byte(e.LastModified))
		return err1 == nil && err2 == nil && !mod.After(since)
	}
	return false
}

func notFound(ctx *fasthttp.RequestCtx) {
	errorPage(ctx, fasthttp.StatusNotFound, "Not found", "There is nothing at this address.")
}

// unavailable answers when the service that owns a page cannot be reached.
func unavailable(ctx *fasthttp.RequestCtx, err error) {
	errorPage(ctx, fasthttp.StatusBadGateway, "Temporarily unavailable",
		"This page cannot be shown right now because a part of the site is not answering. Try again in a moment.")
}

func errorPage(ctx *fasthttp.RequestCtx, code int, title, text string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Content-Security-Policy", maniwani.ContentSecurityPolicy)
	if bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("application/json")) || bytes.HasSuffix(ctx.Path(), []byte(".json")) ||
		bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("application/json")) || bytes.HasPrefix(ctx.Path(), []byte("/api/")) {
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"error":%q}`, text)
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	fmt.Fprintf(ctx, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>%s - Maniwani</title></head><body><main><h1>%s</h1><p>%s</p><p><a href="/">Home</a></p></main></body></html>`,
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
