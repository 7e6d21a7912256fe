// Package router is the public edge, on fasthttp. It answers every GET of a
// page or JSON from cache when it can (an in-process L1, then Redis), lets
// exactly one request per key reach the owning service on a miss, and passes
// writes, streams and media through.
package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/pb"
	"github.com/maniwani/maniwani/router/cache"
)

// Config are the router's settings; zero values take the defaults.
type Config struct {
	// Listener is the public port, opened by the caller (who can then say
	// where it is, and fail before anything starts); Run serves it.
	Listener       net.Listener
	L1Bytes        int64         // bound of the in-process cache; default 128 MiB
	MaxRequestBody int           // bytes of a post (files); default 32 MiB
	MaxFormBody    int           // bytes of any other request's body; default 1 MiB
	MaxHeaderBytes int           // bytes; default 8 KiB (also each connection's read buffer)
	ReadTimeout    time.Duration // whole request; default 60 s
	WriteTimeout   time.Duration // each write of an answer to the client; default 60 s
	IdleTimeout    time.Duration // keep-alive; default 120 s
	FetchTimeout   time.Duration // a cache fill from upstream; default 10 s
	Logger         *slog.Logger
	// Observe, when set, is told of every answer: which service owned it
	// ("cache" for one from cache), its status and how long it took.
	Observe func(owner string, code int, d time.Duration)
	// ObserveCache, when set, is told the X-Cache state of every
	// cacheable GET: HIT, MISS or STALE (it must not keep the slice).
	ObserveCache func(state []byte)
}

// Deps are the services and stores the router works with.
type Deps struct {
	API Upstream // JSON, every write, and whatever no other service owns
	UI  Upstream // pages (every GET that is not JSON, /api/ or another's), /static/, /admin/; nil: API
	// Media serves /media/...: posts' files and thumbnails; nil: API.
	Media Upstream
	Live  Upstream // /live/...: the event streams; nil: API
	// LiveHandler is the live service in this process: /live/ requests are
	// handed their client connection (see serveHijacked). It wins over Live.
	LiveHandler http.Handler
	Gens        *cache.Generations // the counters this process follows
	L2          *cache.Redis       // nil: no Redis
	Bus         maniwani.Bus       // where cache invalidations arrive; nil in one process without Redis
}

// Service is the router.
type Service struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	l1     *cache.L1
	flight singleflight.Group
	srv    *fasthttp.Server
	// following is true while the invalidations of other processes are
	// heard (always without a bus): only then can an L1 entry vouch for
	// itself. While the bus is down a write elsewhere goes unheard, so
	// every GET goes to Redis or upstream: slower, never stale.
	following atomic.Bool
}

// debugLogger is fasthttp's Logger on slog, at debug level.
type debugLogger struct{ log *slog.Logger }

func (l debugLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("router: " + fmt.Sprintf(format, args...))
	}
}

// CacheTopic is the bus topic of cache invalidations.
const CacheTopic = "cache"

// New makes a router.
func New(cfg Config, deps Deps) (*Service, error) {
	if cfg.Listener == nil || deps.API == nil || deps.Gens == nil {
		return nil, errors.New("router: Listener, API and Gens are required")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.ReadTimeout, 60*time.Second)
	def(&cfg.WriteTimeout, 60*time.Second)
	def(&cfg.IdleTimeout, 120*time.Second)
	def(&cfg.FetchTimeout, 10*time.Second)
	if cfg.L1Bytes == 0 {
		cfg.L1Bytes = 128 << 20
	}
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = 32 << 20
	}
	if cfg.MaxFormBody == 0 {
		cfg.MaxFormBody = 1 << 20
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = 8 << 10
	}
	s := &Service{cfg: cfg, deps: deps, log: cfg.Logger, l1: cache.NewL1(cfg.L1Bytes)}
	s.following.Store(deps.Bus == nil)
	if s.log == nil {
		s.log = slog.Default()
	}
	s.srv = &fasthttp.Server{
		Handler:     s.Handle,
		Name:        "maniwani",
		ReadTimeout: cfg.ReadTimeout,
		// The write timeout is kept by conn, per write, not per answer:
		// a live stream or a large file may take hours, while a client that
		// stops reading is still cut off.
		WriteTimeout:       0,
		IdleTimeout:        cfg.IdleTimeout,
		MaxRequestBodySize: cfg.MaxRequestBody,
		StreamRequestBody:  true, // posts and uploads go through as they arrive
		// Nor is a multipart body read whole to be parsed here: the service
		// that owns the request reads it, and says what is wrong with it.
		DisablePreParseMultipartForm:  true,
		ExpectHandler:                 s.expect,
		ReadBufferSize:                cfg.MaxHeaderBytes, // bounds the request line and headers
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
		// Its errors are of single connections (a client gone mid-answer, a
		// stream cut at shutdown): in the JSON log, at debug level.
		Logger: debugLogger{s.log},
	}
	return s, nil
}

// Run serves the public port until ctx ends, then drains the requests in
// flight. With a bus it follows the invalidations other processes publish.
func (s *Service) Run(ctx context.Context) error {
	ln := s.cfg.Listener
	if s.deps.Bus != nil {
		// Subscribe before the first request, so no entry is ever filled
		// while invalidations could go unheard; if the bus is down, serve
		// anyway and keep trying.
		sub, err := s.deps.Bus.Subscribe(ctx, CacheTopic) // it lives as long as ctx
		if err != nil {
			s.log.Warn("router: cache invalidations unavailable; retrying", "err", err)
			sub = nil
		}
		s.following.Store(sub != nil)
		go s.follow(ctx, sub)
	}
	s.log.Info("router listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(listener{ln, s.cfg.WriteTimeout}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// A live stream passing through to a live process elsewhere never ends
	// by itself, and the drain below would wait for it to its end: cut
	// them, and their clients reconnect (to another router). In one process
	// the live service ends its own streams.
	if c, ok := s.deps.Live.(interface{ CloseConns() }); ok {
		c.CloseConns()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.srv.ShutdownWithContext(sctx)
}

// follow raises this process's counters as invalidations arrive, starting
// with sub when the caller could subscribe. When the subscription breaks,
// events may have been missed: until it is back the L1 answers nothing by
// itself, and then it is dropped.
func (s *Service) follow(ctx context.Context, sub maniwani.Subscription) {
	for ctx.Err() == nil {
		if sub == nil {
			var err error
			if sub, err = s.deps.Bus.Subscribe(ctx, CacheTopic); err != nil {
				s.log.Warn("router: cache invalidations unavailable; retrying", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			s.resync()
			s.following.Store(true)
		}
		for m := range sub.C() {
			s.apply(m.Data)
		}
		s.following.Store(false)
		if err := sub.Err(); err != nil && ctx.Err() == nil {
			s.log.Warn("router: cache invalidation stream broke; resyncing", "err", err)
		}
		sub.Close()
		sub = nil
	}
}

// resync outdates the whole L1 after the invalidation stream broke: events
// may have been missed, so no entry can vouch for itself any more, and
// writes made here meanwhile may have raised counters Redis never saw.
// Entries come back from Redis, whose counters are the truth.
func (s *Service) resync() {
	s.deps.Gens.Reset()
	s.l1.Clear()
}

// apply raises the counters an invalidation event carries.
func (s *Service) apply(data []byte) {
	var ev pb.Event
	if err := proto.Unmarshal(data, &ev); err != nil {
		s.log.Warn("router: bad cache event", "err", err)
		return
	}
	ci := ev.GetCacheInvalidation()
	if ci == nil {
		return
	}
	s.deps.Gens.Sync(cache.Scope{}, cache.Gens{ci.Epoch, ci.SiteGen})
	if ci.Board == "" {
		return
	}
	s.deps.Gens.Sync(cache.Scope{Board: ci.Board}, cache.Gens{ci.Epoch, ci.BoardGen})
	for i, no := range ci.Threads {
		if i < len(ci.ThreadGens) {
			s.deps.Gens.Sync(cache.Scope{Board: ci.Board, Thread: no}, cache.Gens{ci.Epoch, ci.ThreadGens[i]})
		}
	}
}

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

// serveCached answers a GET or HEAD of a cacheable path whose L1 entry, e,
// is missing or outdated.
func (s *Service) serveCached(ctx *fasthttp.RequestCtx, key []byte, sc cache.Scope, e *cache.Entry) {
	state := stateMiss
	s.requestID(ctx)
	fresh, err := s.fill(ctx, string(key), sc)
	switch {
	case err == nil:
		e = fresh
	case e != nil:
		state = stateStale // the upstream is down: an old page beats none
		s.log.Warn("router: serving stale", "path", string(key), "err", err)
	default:
		unavailable(ctx, err)
		return
	}
	s.write(ctx, e, state)
}

// fill makes the entry for key: from Redis when it holds a current one, else
// from the upstream. Concurrent misses on one key share one fill.
func (s *Service) fill(ctx *fasthttp.RequestCtx, key string, sc cache.Scope) (*cache.Entry, error) {
	v, err, _ := s.flight.Do(key, func() (any, error) {
		if e, current := s.l1.Get([]byte(key)); current && s.following.Load() {
			return e, nil // filled while this caller waited to fly
		}
		fctx, cancel := context.WithTimeout(context.Background(), s.cfg.FetchTimeout)
		defer cancel()
		var gens cache.Gens
		l2 := s.deps.L2
		if l2 != nil {
			e, g, err := l2.Lookup(fctx, sc, key)
			if err != nil {
				s.log.Warn("router: redis lookup failed; going upstream", "err", err)
				l2 = nil
			} else {
				s.deps.Gens.Sync(sc, g)
				gens = g
				if e != nil && e.Gens == g {
					s.l1.Put(key, e, s.deps.Gens, sc)
					return e, nil
				}
			}
		}
		if l2 == nil {
			gens = s.deps.Gens.Get(sc)
		}
		// The counters are read before the upstream is asked: a write that
		// lands meanwhile leaves this entry stale from birth, never current.
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		if err := s.owner(ctx).Fetch(fctx, &ctx.Request, resp); err != nil {
			return nil, err
		}
		e := &cache.Entry{
			Status:       resp.StatusCode(),
			ContentType:  string(resp.Header.ContentType()),
			CacheControl: string(resp.Header.Peek("Cache-Control")),
			ETag:         string(resp.Header.Peek("ETag")),
			LastModified: string(resp.Header.Peek("Last-Modified")),
			Location:     string(resp.Header.Peek("Location")),
			Body:         append([]byte(nil), resp.Body()...),
			Gens:         gens,
		}
		for k, v := range resp.Header.All() {
			if cache.Kept(k) {
				e.Extra = append(e.Extra, [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)})
			}
		}
		if e.Status >= 500 {
			return nil, fmt.Errorf("upstream answered %d", e.Status)
		}
		if e.Status != fasthttp.StatusOK {
			return e, nil // answered, not kept: a 404 must not outlive what it missed
		}
		e.Compress()
		s.l1.Put(key, e, s.deps.Gens, sc)
		if l2 != nil {
			if err := l2.Store(fctx, sc, key, e); err != nil {
				s.log.Warn("router: redis store failed", "err", err)
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cache.Entry), nil
}

// The X-Cache values, and the names of the headers an answer from cache
// sets, in the form fasthttp writes them: set as they are, they skip the
// normalizing that Set does on every call.
var (
	stateHit   = []byte("HIT")
	stateMiss  = []byte("MISS")
	stateStale = []byte("STALE")

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

// writevMin is the smallest body sent beside the header in one writev rather
// than copied behind it into the connection's write buffer.
const writevMin = 2048

// listener hands the server connections that can send a cached body without
// copying it: see conn.
type listener struct {
	net.Listener
	writeTimeout time.Duration
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, writeTimeout: l.writeTimeout}, nil
}

// conn is a client connection. fasthttp writes an answer through a buffer
// in front of it: the header, then the body, copied in and flushed in one
// or more writes. A cached body is large and never changes, so it is handed
// over as a stream (body) instead: when fasthttp copies that stream into its
// buffer, body flushes the header and the next Write sends header and body
// together with one writev, from the cache's own memory.
type conn struct {
	net.Conn
	linger       atomic.Bool   // see Close
	writeTimeout time.Duration // for each write: see Config.WriteTimeout
	pending      []byte        // sent right after the bytes of the next Write
	iov          [2][]byte
	bufs         net.Buffers
	out          body // the stream of the answer being written; one at a time per connection
}

func (c *conn) Write(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	if c.pending == nil {
		return c.Conn.Write(p)
	}
	c.iov = [2][]byte{p, c.pending}
	c.bufs, c.pending = c.iov[:], nil
	n, err := c.bufs.WriteTo(c.Conn) // writev on a TCP connection
	c.iov, c.bufs = [2][]byte{}, nil
	if n >= int64(len(p)) {
		return len(p), err
	}
	return int(n), err
}

// Close closes the connection. After an answer sent while the client was
// still sending its body (a refusal), the connection is first half closed
// and what the client still sends is read and dropped for a moment: a
// socket closed with unread data resets the connection, and the reset can
// destroy the answer before the client reads it. net/http's server does
// the same. The rest is done in the background, so the connection's
// worker is free at once; it ends within lingerTime.
func (c *conn) Close() error {
	if !c.linger.CompareAndSwap(true, false) {
		return c.Conn.Close()
	}
	go func() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
		io.CopyN(io.Discard, c.Conn, lingerBytes)
		c.Conn.Close()
	}()
	return nil
}

// How long and how much of a refused body is read and dropped before its
// connection is closed (see conn.Close): enough for a client that reads
// while it sends to see the answer, little enough that an attacker who
// never stops sending costs the router no more than that.
const (
	lingerTime  = time.Second
	lingerBytes = 1 << 20
)

// body is a cached body as a response body stream; fasthttp reads it with
// WriteTo.
type body struct {
	body []byte
	c    *conn
}

// WriteTo writes the body to w. When w is the buffer in front of the
// connection, which holds the header, the body goes out with the header in one
// writev; any other writer gets a copy.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	data := b.body
	b.body = nil
	if bw, ok := w.(*bufio.Writer); ok && bw.Buffered() > 0 {
		b.c.pending = data
		err := bw.Flush()
		if b.c.pending == nil { // sent by the connection's Write
			if err != nil {
				return 0, err
			}
			return int64(len(data)), nil
		}
		b.c.pending = nil // w is not in front of this connection
		if err != nil {
			return 0, err
		}
	}
	n, err := w.Write(data)
	return int64(n), err
}

// Read makes body an io.Reader; fasthttp prefers WriteTo.
func (b *body) Read(p []byte) (int, error) {
	if len(b.body) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.body)
	b.body = b.body[n:]
	return n, nil
}

// Close drops the body when the answer is done or dropped.
func (b *body) Close() error {
	b.body = nil
	return nil
}
