// Package router is the public edge, on fasthttp. It answers every GET of a
// page or JSON from cache when it can (an in-process L1, then Redis), lets
// exactly one request per key reach the owning service on a miss, and passes
// writes, streams and media through.
package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"strings"
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
	Addr           string
	L1Bytes        int64         // bound of the in-process cache; default 128 MiB
	MaxRequestBody int           // bytes; default 32 MiB
	MaxHeaderBytes int           // bytes; default 16 KiB
	ReadTimeout    time.Duration // whole request; default 60 s
	WriteTimeout   time.Duration // whole answer; default 60 s
	IdleTimeout    time.Duration // keep-alive; default 120 s
	FetchTimeout   time.Duration // a cache fill from upstream; default 10 s
	Logger         *slog.Logger
}

// Deps are the services and stores the router works with.
type Deps struct {
	API  Upstream           // JSON and every write
	Gens *cache.Generations // the counters this process follows
	L2   *cache.Redis       // nil: no Redis
	Bus  maniwani.Bus       // where cache invalidations arrive; nil in one process without Redis
}

// Service is the router.
type Service struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	l1     *cache.L1
	flight singleflight.Group
	srv    *fasthttp.Server
}

// CacheTopic is the bus topic of cache invalidations.
const CacheTopic = "cache"

// New makes a router.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.API == nil || deps.Gens == nil {
		return nil, errors.New("router: API and Gens are required")
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
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = 16 << 10
	}
	s := &Service{cfg: cfg, deps: deps, log: cfg.Logger, l1: cache.NewL1(cfg.L1Bytes)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.srv = &fasthttp.Server{
		Handler:                       s.Handle,
		Name:                          "maniwani",
		ReadTimeout:                   cfg.ReadTimeout,
		WriteTimeout:                  cfg.WriteTimeout,
		IdleTimeout:                   cfg.IdleTimeout,
		MaxRequestBodySize:            cfg.MaxRequestBody,
		ReadBufferSize:                cfg.MaxHeaderBytes, // bounds the request line and headers
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
	}
	return s, nil
}

// Run serves the public port until ctx ends, then drains the requests in
// flight. With a bus it follows the invalidations other processes publish.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("router: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener of the caller's.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("router listening", "addr", ln.Addr().String())
	if s.deps.Bus != nil {
		go s.follow(ctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.srv.ShutdownWithContext(sctx)
}

// follow raises this process's counters as invalidations arrive. When the
// subscription breaks, events may have been missed: the counters are read
// again from Redis before trusting the L1 again.
func (s *Service) follow(ctx context.Context) {
	for ctx.Err() == nil {
		sub, err := s.deps.Bus.Subscribe(ctx, CacheTopic)
		if err != nil {
			s.log.Warn("router: cache invalidations unavailable; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		s.resync(ctx)
		for m := range sub.C() {
			s.apply(m.Data)
		}
		if err := sub.Err(); err != nil && ctx.Err() == nil {
			s.log.Warn("router: cache invalidation stream broke; resyncing", "err", err)
		}
		sub.Close()
	}
}

// resync makes every L1 entry prove itself again: it bumps the local site
// counter past anything it may have missed, which outdates them all.
func (s *Service) resync(ctx context.Context) {
	if s.deps.L2 == nil {
		return
	}
	g, err := s.deps.L2.Gens(ctx, cache.Scope{})
	if err != nil {
		return
	}
	cur := s.deps.Gens.Get(cache.Scope{})
	if g[0] > cur[0] {
		s.deps.Gens.Raise(cache.Scope{}, g)
	}
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
	board := cache.Gens{ci.SiteGen, ci.BoardGen}
	s.deps.Gens.Raise(cache.Scope{Board: ci.Board}, board)
	for i, no := range ci.Threads {
		if i < len(ci.ThreadGens) {
			g := board
			g[2] = ci.ThreadGens[i]
			s.deps.Gens.Raise(cache.Scope{Board: ci.Board, Thread: no}, g)
		}
	}
}

// Handle routes one request.
func (s *Service) Handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if isInternal(path) {
		notFound(ctx)
		return
	}
	if ctx.IsGet() || ctx.IsHead() {
		if sc, ok := cache.ScopeOf(string(path)); ok {
			s.serveCached(ctx, sc)
			return
		}
	}
	s.deps.API.Forward(ctx)
}

// isInternal tells the paths that are never served on the public port.
func isInternal(path []byte) bool {
	for _, p := range [...]string{"/metrics", "/healthz", "/readyz"} {
		if bytes.Equal(path, []byte(p)) {
			return true
		}
	}
	return false
}

func (s *Service) serveCached(ctx *fasthttp.RequestCtx, sc cache.Scope) {
	key := ctx.URI().RequestURI()
	e, current := s.l1.Get(key)
	state := "HIT"
	if !current {
		fresh, err := s.fill(ctx, string(key), sc)
		switch {
		case err == nil:
			e, state = fresh, "MISS"
		case e != nil:
			state = "STALE" // the upstream is down: an old page beats none
			s.log.Warn("router: serving stale", "path", string(key), "err", err)
		default:
			unavailable(ctx, err)
			return
		}
	}
	s.write(ctx, e, state)
}

// fill makes the entry for key: from Redis when it holds a current one, else
// from the upstream. Concurrent misses on one key share one fill.
func (s *Service) fill(ctx *fasthttp.RequestCtx, key string, sc cache.Scope) (*cache.Entry, error) {
	v, err, _ := s.flight.Do(key, func() (any, error) {
		if e, current := s.l1.Get([]byte(key)); current {
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
				s.deps.Gens.Raise(sc, g)
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
		if err := s.deps.API.Fetch(fctx, &ctx.Request, resp); err != nil {
			return nil, err
		}
		e := &cache.Entry{
			Status:       resp.StatusCode(),
			ContentType:  string(resp.Header.ContentType()),
			CacheControl: string(resp.Header.Peek("Cache-Control")),
			ETag:         string(resp.Header.Peek("ETag")),
			LastModified: string(resp.Header.Peek("Last-Modified")),
			Body:         append([]byte(nil), resp.Body()...),
			Gens:         gens,
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

// write answers from an entry: 304 when the client's copy is current, the
// gzip form to clients that take it.
func (s *Service) write(ctx *fasthttp.RequestCtx, e *cache.Entry, state string) {
	h := &ctx.Response.Header
	h.Set("X-Cache", state)
	if e.ContentType != "" {
		h.SetContentType(e.ContentType)
	}
	if e.CacheControl != "" {
		h.Set("Cache-Control", e.CacheControl)
	}
	if e.ETag != "" {
		h.Set("ETag", e.ETag)
	}
	if e.LastModified != "" {
		h.Set("Last-Modified", e.LastModified)
	}
	if e.Gzip != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	if e.Status == fasthttp.StatusOK && notModified(&ctx.Request.Header, e) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetStatusCode(e.Status)
	body := e.Body
	if e.Gzip != nil && ctx.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		body = e.Gzip
	}
	// The entry is never changed once made, so the answer can share it.
	ctx.Response.SetBodyRaw(body)
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		h.SetContentLength(len(body))
	}
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
	if bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("application/json")) || bytes.HasSuffix(ctx.Path(), []byte(".json")) {
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"error":%q}`, text)
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	fmt.Fprintf(ctx, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>%s - Maniwani</title></head><body><main><h1>%s</h1><p>%s</p><p><a href="/">Home</a></p></main></body></html>`,
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
