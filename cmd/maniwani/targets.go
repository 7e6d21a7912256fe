package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/peer"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/live"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/media/s3"
	"github.com/maniwani/maniwani/pubsub/memory"
	natsbus "github.com/maniwani/maniwani/pubsub/nats"
	redisbus "github.com/maniwani/maniwani/pubsub/redis"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
	"github.com/maniwani/maniwani/thumbnailer"
	"github.com/maniwani/maniwani/ui"
)

// A part is what a process is made of: a service (a target, see
// targetNames) or something its services share. openSite makes the parts
// the targets of the process need, each once, each after what it needs.
type part struct {
	// needs are the parts made before this one. A target among them is
	// made only when this process runs it; otherwise its client is used.
	needs []string
	// calls are the targets this one calls: in this process, or at their
	// URL (settings.missing says which are neither). A call is not a need
	// when, in one process, something else answers it: media asks the
	// api's store for names (the api needs media first), and the api
	// renders markdown itself when that service is nowhere.
	calls []string
	make  func(*site) error
}

// parts is every part, with what it needs and calls.
var parts = map[string]part{
	"data":  {make: (*site).makeDataDir},
	"store": {needs: []string{"data"}, make: (*site).openStore},
	"bus":   {make: (*site).openBus},
	"cache": {needs: []string{"bus"}, make: (*site).makeInvalidator},
	"queue": {needs: []string{"bus"}, make: (*site).gaugeQueue},

	"media":       {needs: []string{"data", "store"}, calls: []string{"api"}, make: (*site).makeMedia},
	"markdown":    {needs: []string{"bus"}, make: (*site).makeMarkdown},
	"api":         {needs: []string{"store", "bus", "cache", "queue", "media", "markdown"}, calls: []string{"media"}, make: (*site).makeAPI},
	"ui":          {needs: []string{"api"}, calls: []string{"api"}, make: (*site).makeUI},
	"live":        {needs: []string{"bus", "api"}, calls: []string{"api"}, make: (*site).makeLive},
	"thumbnailer": {needs: []string{"bus", "queue", "media"}, calls: []string{"media"}, make: (*site).makeThumbnailer},
	"router": {needs: []string{"bus", "api", "ui", "media", "live"}, calls: []string{"api", "ui", "media", "live"},
		make: (*site).makeRouter},
}

// service is what every service of a process is to it: Run does the
// service's own work until ctx ends, and returns when that has stopped.
type service interface {
	Run(ctx context.Context) error
}

// running is a service of the process, by target.
type running struct {
	name string
	svc  service
}

// make makes name and, first, what it needs, unless made already.
func (s *site) make(name string, made map[string]bool) error {
	if made[name] {
		return nil
	}
	made[name] = true
	p := parts[name]
	for _, n := range p.needs {
		if slices.Contains(targetNames, n) && !s.cfg.Targets[n] {
			continue // elsewhere: its client
		}
		if err := s.make(n, made); err != nil {
			return err
		}
	}
	return p.make(s)
}

// serve adds h, the HTTP routes of the target name, to the process's:
// each request counted, logged and traced (as a span of the caller's trace).
func (s *site) serve(name string, h http.Handler) {
	if name != "live" { // a live stream's connection is handed over whole (hijacked)
		h = peer.Guard(tracing.Handler(s.cfg.Tracer, name, s.metrics.Instrument(name, s.log, h)), s.cfg.InternalSecret)
	}
	s.handlers[name] = h
}

func (s *site) makeDataDir() error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// openStore opens the api's database, when the api runs here (media, in
// the same process, asks it for names).
func (s *site) openStore() error {
	if !s.cfg.Targets["api"] {
		return nil
	}
	ctx := s.ctx
	var err error
	if s.store, err = store.Open(ctx, store.Config{URL: s.cfg.DatabaseURL, Trace: s.cfg.Tracer != nil}); err != nil {
		return err
	}
	s.close = append(s.close, s.store.Close)
	if err := api.Bootstrap(ctx, s.store, s.cfg.AdminPassword, s.log); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	return nil
}

// openBus opens Redis when it is set, and on it the router's L2 and
// markdown's shared cache; then the bus: on NATS when MANIWANI_BUS_URL is
// set, else on Redis when that is, else in process.
func (s *site) openBus() error {
	s.renders = markdown.NewMemoryCache(0)
	switch {
	case s.cfg.RedisCluster != nil:
		s.rdb = goredis.NewClusterClient(s.cfg.RedisCluster)
	case s.cfg.Redis != nil:
		s.rdb = goredis.NewClient(s.cfg.Redis)
	}
	if s.rdb != nil {
		s.close = append(s.close, s.rdb.Close)
		if s.cfg.Tracer != nil {
			// Commands of traced requests only (not the bus's polling), and
			// never their arguments: keys and values can hold anything.
			if err := redisotel.InstrumentTracing(s.rdb, redisotel.WithTracerProvider(tracing.ChildOnly(s.cfg.Tracer)),
				redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
				return err
			}
		}
		s.l2 = cache.NewRedis(s.rdb, "maniwani", 10*time.Minute)
		s.renders = markdown.Layered{L1: s.renders, L2: markdown.NewRedisCache(s.rdb, markdown.RedisConfig{Prefix: "maniwani"})}
	}
	switch {
	case s.cfg.BusURL != "":
		nc, err := connectNATS(s.cfg.BusURL, s.log)
		if err != nil {
			return fmt.Errorf("MANIWANI_BUS_URL: %w", err)
		}
		s.nc = nc
		s.close = append(s.close, func() error { nc.Close(); return nil })
		nbus, err := natsbus.New(natsbus.Config{Logger: s.log}, nc)
		if err != nil {
			return err
		}
		s.close = append(s.close, nbus.Close)
		s.bus = nbus
	case s.rdb != nil:
		rbus, err := redisbus.New(redisbus.Config{Logger: s.log}, s.rdb)
		if err != nil {
			return err
		}
		s.close = append(s.close, rbus.Close)
		s.bus = rbus
	default:
		mbus := memory.New(memory.Config{})
		s.close = append(s.close, mbus.Close)
		s.bus = mbus
	}
	s.bus = s.metrics.Bus(s.bus)
	return nil
}

// connectNATS connects to NATS and stays connected: a server that is down
// at the start, or goes away, is tried again for as long as the process
// runs (the bus answers "unavailable" meanwhile).
func connectNATS(url string, log *slog.Logger) (*natsgo.Conn, error) {
	return natsgo.Connect(url, natsgo.Name("maniwani"), natsgo.RetryOnFailedConnect(true),
		natsgo.MaxReconnects(-1), natsgo.ReconnectWait(250*time.Millisecond), natsgo.Timeout(time.Second),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) { log.Warn("bus: NATS disconnected", "err", err) }),
		natsgo.ReconnectHandler(func(c *natsgo.Conn) { log.Info("bus: NATS connected", "url", c.ConnectedUrlRedacted()) }))
}

// makeInvalidator makes how the api's writes drop cached pages: this
// process's counters; with Redis everyone's (the shared invalidator then
// repairs, in the background, what Redis missed); with a bus but no Redis,
// every router's own, told over the bus.
func (s *site) makeInvalidator() error {
	switch {
	case s.l2 != nil:
		shared := cache.Shared{Redis: s.l2, Gens: s.gens, Bus: s.bus, Topic: router.CacheTopic, Missed: new(atomic.Bool),
			Logger: s.log}
		s.inv = shared
		s.runs = append(s.runs, running{"cache", shared})
	case s.cfg.sharedBus():
		s.inv = cache.Broadcast{Gens: s.gens, Bus: s.bus, Topic: router.CacheTopic}
	default:
		s.inv = cache.Local{Gens: s.gens}
	}
	return nil
}

func (s *site) gaugeQueue() error {
	s.metrics.Gauge("maniwani_thumbnail_queue_depth", "Thumbnail jobs waiting (counted up to 10,000).",
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			jobs, err := s.bus.Peek(ctx, maniwani.ThumbnailQueue, "", 10000)
			if err != nil {
				return -1
			}
			return float64(len(jobs))
		})
	return nil
}

func (s *site) makeMedia() error {
	var files maniwani.FileStore
	var err error
	if s.cfg.S3 != nil {
		files, err = s3.New(s.ctx, *s.cfg.S3)
	} else {
		files, err = disk.New(filepath.Join(s.cfg.DataDir, "media"))
	}
	if err != nil {
		return fmt.Errorf("file storage: %w", err)
	}
	// In one process the store answers media's name lookups: it is what
	// the api would ask anyway, and the api needs media first.
	var names maniwani.FileNames = s.apiClient
	if s.store != nil {
		names = s.store
	}
	svc, err := media.New(media.Config{Logger: s.log}, media.Deps{Store: files, Names: names})
	if err != nil {
		return err
	}
	s.media = svc
	s.serve("media", svc)
	s.runs = append(s.runs, running{"media", svc})
	return nil
}

// makeMarkdown makes the markdown service: the api's renderer in this
// process, and apart from the others its POST /render for theirs.
func (s *site) makeMarkdown() error {
	md, err := markdown.New(markdown.Config{Logger: s.log}, markdown.Deps{Cache: s.renders})
	if err != nil {
		return err
	}
	s.renderer = md
	if !s.cfg.all() {
		s.serve("markdown", md.Handler())
	}
	s.runs = append(s.runs, running{"markdown", md})
	return nil
}

// makeAPI makes the api, with markdown here, or its client falling back
// on rendering here, or rendering here when markdown is nowhere.
func (s *site) makeAPI() error {
	renderer := s.renderer
	if renderer == nil {
		local := markdown.NewRenderer(markdown.RendererConfig{Cache: s.renders, Logger: s.log})
		renderer = local
		if u := s.cfg.URLs["markdown"]; u != "" {
			c, err := markdown.NewClient(markdown.ClientConfig{URL: u, Logger: s.log,
				HTTPClient: &http.Client{Transport: peer.Transport(s.cfg.InternalSecret, nil)}},
				markdown.ClientDeps{Fallback: local})
			if err != nil {
				return err
			}
			renderer = c
		}
	}
	svc, err := api.New(api.Config{Proxies: s.cfg.Proxies, Logger: s.log, MaxDecodes: s.cfg.Decodes,
		PasswordHashes: s.cfg.Cores, CaptchaRand: s.cfg.captchaRand, DNSBL: s.cfg.DNSBL,
		DNSBLAction: s.cfg.DNSBLAction, OnionHeader: s.cfg.OnionHeader},
		api.Deps{Store: s.store, Renderer: renderer, Invalidator: s.inv, Bus: s.bus, Media: s.mediaOrClient()})
	if err != nil {
		return err
	}
	s.api = svc
	s.serve("api", svc.Handler())
	s.runs = append(s.runs, running{"api", svc})
	return nil
}

// mediaOrClient is the media service when it runs here, else its client
// (one for the process).
func (s *site) mediaOrClient() maniwani.Media {
	if s.media != nil {
		return s.media
	}
	if s.mediaClient == nil {
		s.mediaClient = media.NewClient(s.cfg.URLs["media"], s.cfg.InternalSecret)
	}
	return s.mediaClient
}

// reader is the api when it runs here, else its client.
func (s *site) reader() maniwani.Reader {
	if s.api != nil {
		return s.api
	}
	return s.apiClient
}

// staff is the api when it runs here, else its client.
func (s *site) staff() maniwani.StaffAPI {
	if s.api != nil {
		return s.api
	}
	return s.apiClient
}

func (s *site) makeUI() error {
	pages, err := ui.New(ui.Config{Logger: s.log, PublicURL: s.cfg.PublicURL}, ui.Deps{Reader: s.reader(), Staff: s.staff()})
	if err != nil {
		return err
	}
	s.serve("ui", pages.Handler())
	s.runs = append(s.runs, running{"ui", pages})
	return nil
}

func (s *site) makeLive() error {
	// The api says which boards and threads exist (a stream of one that
	// does not is a 404).
	svc, err := live.New(live.Config{Proxies: s.cfg.Proxies, Logger: s.log, Writers: s.cfg.Cores,
		Coalesce: s.cfg.LiveCoalesce, Tracer: s.cfg.Tracer},
		live.Deps{Bus: s.bus, Reader: s.reader()})
	if err != nil {
		return err
	}
	s.serve("live", svc.Handler())
	s.metrics.Gauge("maniwani_live_clients", "Live streams open on this process.",
		func() float64 { return float64(svc.Clients()) })
	// Its Run ends the streams first on shutdown, telling their clients
	// to reconnect, so the servers' drain does not wait on them.
	s.runs = append(s.runs, running{"live", svc})
	return nil
}

func (s *site) makeThumbnailer() error {
	svc, err := thumbnailer.New(thumbnailer.Config{Logger: s.log, Tracer: s.cfg.Tracer},
		thumbnailer.Deps{Bus: s.bus, Media: s.mediaOrClient()})
	if err != nil {
		return err
	}
	s.runs = append(s.runs, running{"thumbnailer", svc})
	return nil
}

// makeRouter makes the router on the public port, with each service as a
// local upstream when it runs in this process, or as a remote one.
func (s *site) makeRouter() error {
	up := func(name string) (router.Upstream, error) {
		if h := s.handlers[name]; h != nil {
			l := router.NewLocal(h)
			s.close = append(s.close, l.Close)
			return l, nil
		}
		u := s.cfg.URLs[name]
		if u == "" {
			return router.Unset{Name: name}, nil
		}
		return router.NewRemoteURL(u)
	}
	deps := router.Deps{Gens: s.gens, L2: s.l2}
	var err error
	for name, dst := range map[string]*router.Upstream{"api": &deps.API, "ui": &deps.UI, "media": &deps.Media} {
		if *dst, err = up(name); err != nil {
			return err
		}
	}
	if h := s.handlers["live"]; h != nil {
		deps.LiveHandler = h
	} else if deps.Live, err = up("live"); err != nil {
		return err
	}
	if s.cfg.sharedBus() {
		deps.Bus = s.bus // other processes' writes arrive as events
	}
	ln, err := s.listen()
	if err != nil {
		return err
	}
	s.router, err = router.New(router.Config{Listener: ln, Logger: s.log, ObserveCache: s.metrics.Cache, StaleFor: s.cfg.CacheStale,
		Tracer: s.cfg.Tracer, Proxies: s.cfg.Proxies,
		Observe: func(owner string, code int, d time.Duration) { s.metrics.Request("router", owner, code, d) }}, deps)
	return err
}

// listen opens the public port (MANIWANI_ADDR).
func (s *site) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on MANIWANI_ADDR: %w", err)
	}
	s.public = ln
	s.close = append(s.close, func() error {
		ln.Close()
		return nil // closed already when it was served
	})
	return ln, nil
}
