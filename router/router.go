// The service: its settings and dependencies, New and Run, and the
// following of the cache invalidations other processes publish.

package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
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
	// StaleFor is how long after it was made an outdated page may still be
	// answered (X-Cache: UPDATING) to the readers that come while another
	// request makes it again; the request that starts the fill waits for
	// it, so a writer's next read is fresh (fill.go). It is also the
	// longest such a fill waits for one begun before the last write.
	// 0: DefaultStaleFor; negative: never.
	StaleFor time.Duration
	// Now is the clock; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, when set, is told of every answer: which service owned it
	// ("cache" for one from cache), its status and how long it took.
	Observe func(owner string, code int, d time.Duration)
	// ObserveCache, when set, is told the X-Cache state of every
	// cacheable GET: HIT, MISS, UPDATING or STALE (it must not keep the
	// slice).
	ObserveCache func(state []byte)
	// Tracer, when set, traces every request that is not a cache hit
	// (trace.go); nil: off.
	Tracer trace.TracerProvider
	// Proxies are the peers whose traceparent is believed; a request from
	// anyone else starts a trace of its own.
	Proxies realip.Resolver
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
	Bus         maniwani.Bus       // where cache invalidations arrive; nil in one process without a shared bus
}

// Service is the router.
type Service struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	tracer trace.Tracer // nil: tracing is off
	l1     *cache.L1
	// fills are the fills in flight: the readers that come meanwhile may
	// take the outdated entry (serveCached).
	fills fills
	srv   *fasthttp.Server
	l2w   *l2Writes // filled pages on their way to L2
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

// DefaultStaleFor is Config.StaleFor's default: a hot thread's readers
// see its page at most this much (and one fill) behind, and wait for no
// fill; a post's own poster, and the live stream, see it at once.
const DefaultStaleFor = 250 * time.Millisecond

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
	def(&cfg.StaleFor, DefaultStaleFor)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
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
	s := &Service{cfg: cfg, deps: deps, log: cfg.Logger, l1: cache.NewL1(cfg.L1Bytes), l2w: newL2Writes(), tracer: newTracer(cfg.Tracer)}
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
	if s.deps.L2 != nil {
		go s.storeL2(ctx)
		// What the last fills made goes to Redis before Run returns: a
		// router that restarts, or another, then fills from there.
		defer s.flushL2(context.Background())
	}
	s.log.Info("router listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	fresh := newFreshConns()
	go func() { errc <- s.srv.Serve(listener{ln, s.cfg.WriteTimeout, fresh}) }()
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
	// Connections that never sent a request are closed as the server
	// stops taking new ones (see freshConns), and again while it drains,
	// for those accepted meanwhile.
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			fresh.closeAll()
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()
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
	if ci.Bump { // a site without Redis: see cache.Broadcast
		s.deps.Gens.Bump(maniwani.Invalidation{All: ci.All, Board: ci.Board, Threads: ci.Threads})
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
