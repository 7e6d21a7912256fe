// Command maniwani runs the imageboard: with no settings, every service in
// one process on embedded defaults (SQLite and files under ./data); with
// -target, any subset of them, finding the others through the settings of
// README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/metrics"
	"github.com/maniwani/maniwani/internal/peer"
	"github.com/maniwani/maniwani/internal/serve"
	"github.com/maniwani/maniwani/live"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/media/s3"
	"github.com/maniwani/maniwani/pubsub/memory"
	redisbus "github.com/maniwani/maniwani/pubsub/redis"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
	"github.com/maniwani/maniwani/thumbnailer"
	"github.com/maniwani/maniwani/ui"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	flags := flag.NewFlagSet("maniwani", flag.ExitOnError)
	target := flags.String("target", "", "the services to run: all (default), or a comma list of "+
		"router, api, ui, markdown, thumbnailer, media, live")
	flags.Parse(os.Args[1:])
	args := flags.Args()
	if len(args) == 2 && args[0] == "healthcheck" {
		os.Exit(healthcheck(args[1]))
	}
	if len(args) == 2 && args[0] == "secret" { // for docker-compose.yml: see makeSecret
		if err := makeSecret(args[1]); err != nil {
			log.Error("secret", "err", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := loadSettings(os.Getenv, *target)
	if err != nil {
		log.Error("bad settings", "err", err)
		os.Exit(2)
	}
	cfg.Cores, cfg.Decodes = reserveDecodes(cfg.Targets["api"])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "rerender" {
		if err := rerender(ctx, cfg, log); err != nil {
			log.Error("rerender failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if len(args) > 0 {
		log.Error("unknown command", "args", args)
		os.Exit(2)
	}
	if err := run(ctx, cfg, log); err != nil {
		log.Error("maniwani stopped", "err", err)
		os.Exit(1)
	}
	log.Info("maniwani stopped cleanly")
}

// reserveDecodes sizes the process's CPU-bound pools. Uploads are decoded
// on threads of their own at the lowest CPU priority (api.Config.MaxDecodes),
// and each holds a P while it runs; so when the api runs here the process
// gets one P more for each decode, and pages and posts keep every core's P
// while the kernel gives the decodes what is left. The pools that should
// match the cores (password hashes, live writers) are given cores, not the
// raised GOMAXPROCS. Setting GOMAXPROCS stops the runtime following a
// changed CPU limit, so a container's limit is the one it started with.
func reserveDecodes(api bool) (cores, decodes int) {
	cores = runtime.GOMAXPROCS(0)
	if !api {
		return cores, 0
	}
	decodes = max(1, cores/2)
	runtime.GOMAXPROCS(cores + decodes)
	return cores, decodes
}

// healthcheck answers 0 when GET url answers 200 within 2 s: a container's
// health check, for images without curl.
func healthcheck(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, url, "answered", resp.Status)
		return 1
	}
	return 0
}

// site is what the services of this process share: the database (when the
// api runs here), the bus, the cache's counters and how writes drop cached
// pages, and the services themselves.
type site struct {
	cfg   settings
	log   *slog.Logger
	store *store.Store // nil unless the api runs here
	bus   maniwani.Bus
	inv   maniwani.Invalidator
	gens  *cache.Generations
	l2    *cache.Redis // nil without Redis
	rdb   *goredis.Client
	media maniwani.Media // the service here, or its client
	api   *api.Service   // nil unless the api runs here
	// The HTTP services of this process, by target.
	handlers map[string]http.Handler
	mediaSvc *media.Service
	liveSvc  *live.Service
	thumbs   *thumbnailer.Service
	metrics  *metrics.Metrics
	close    []func() error
}

func (s *site) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
}

// ready tells whether the site's dependencies answer.
func (s *site) ready(ctx context.Context) error {
	if s.store != nil {
		if err := s.store.Ping(ctx); err != nil {
			return err
		}
	}
	if s.rdb != nil {
		return s.rdb.Ping(ctx).Err()
	}
	return nil
}

// openSite makes the services this process runs, each with the others as
// local services or as clients of the processes that run them.
func openSite(ctx context.Context, cfg settings, log *slog.Logger) (_ *site, err error) {
	s := &site{cfg: cfg, log: log, gens: cache.NewGenerations(), handlers: map[string]http.Handler{},
		metrics: metrics.New()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	on := cfg.Targets
	if on["api"] || on["media"] {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if on["api"] {
		if s.store, err = store.Open(ctx, store.Config{URL: cfg.DatabaseURL}); err != nil {
			return nil, err
		}
		s.close = append(s.close, s.store.Close)
		if err := api.Bootstrap(ctx, s.store, cfg.AdminPassword, log); err != nil {
			return nil, fmt.Errorf("first start: %w", err)
		}
	}
	renders := markdown.Cache(markdown.NewMemoryCache(0))
	if cfg.Redis != nil {
		s.rdb = goredis.NewClient(cfg.Redis)
		s.close = append(s.close, s.rdb.Close)
		rbus, err := redisbus.New(redisbus.Config{Logger: log}, s.rdb)
		if err != nil {
			return nil, err
		}
		s.close = append(s.close, rbus.Close)
		s.bus = rbus
		s.l2 = cache.NewRedis(s.rdb, "maniwani", 10*time.Minute)
		renders = markdown.Layered{L1: renders, L2: markdown.NewRedisCache(s.rdb, markdown.RedisConfig{Prefix: "maniwani"})}
	} else {
		mbus := memory.New(memory.Config{})
		s.close = append(s.close, mbus.Close)
		s.bus = mbus
	}

	for _, m := range cfg.missing() {
		log.Warn(m)
	}
	s.bus = s.metrics.Bus(s.bus)
	if s.l2 == nil {
		s.inv = cache.Local{Gens: s.gens}
	} else {
		s.inv = cache.Shared{Redis: s.l2, Gens: s.gens, Bus: s.bus, Topic: router.CacheTopic, Missed: new(atomic.Bool)}
	}
	apiClient := api.NewClient(cfg.URLs["api"], cfg.InternalSecret) // used only when the api is not here

	if on["media"] {
		var files maniwani.FileStore
		if cfg.S3 != nil {
			files, err = s3.New(ctx, *cfg.S3)
		} else {
			files, err = disk.New(filepath.Join(cfg.DataDir, "media"))
		}
		if err != nil {
			return nil, fmt.Errorf("file storage: %w", err)
		}
		// In one process the store answers media's name lookups: it is
		// what the api would ask anyway, and the api needs media first.
		var names maniwani.FileNames = apiClient
		if s.store != nil {
			names = s.store
		}
		if s.mediaSvc, err = media.New(media.Config{Store: files, Names: names, Logger: log}); err != nil {
			return nil, err
		}
		s.media = s.mediaSvc
		s.handlers["media"] = s.mediaSvc
	} else {
		s.media = media.NewClient(cfg.URLs["media"], cfg.InternalSecret)
	}

	if on["markdown"] && !cfg.all() {
		md, err := markdown.New(markdown.Config{Logger: log}, markdown.Deps{Cache: renders})
		if err != nil {
			return nil, err
		}
		s.handlers["markdown"] = md.Handler()
	}
	if on["api"] {
		var renderer maniwani.Renderer = markdown.NewRenderer(markdown.RendererConfig{Cache: renders, Logger: log})
		if u := cfg.URLs["markdown"]; u != "" && !on["markdown"] {
			renderer = &markdown.Client{BaseURL: u, Fallback: renderer.(*markdown.Renderer), Logger: log,
				HTTPClient: &http.Client{Transport: peer.Transport(cfg.InternalSecret, nil)}}
		}
		s.api, err = api.New(ctx, api.Config{Proxies: cfg.Proxies, Logger: log, Invalidator: s.inv, Bus: s.bus,
			MaxDecodes: cfg.Decodes, PasswordHashes: cfg.Cores, Renderer: renderer, Media: s.media,
			CaptchaRand: cfg.captchaRand}, s.store)
		if err != nil {
			return nil, err
		}
		s.handlers["api"] = s.api.Handler()
	}
	if on["ui"] {
		deps := ui.Deps{}
		if s.api != nil {
			deps.Reader, deps.StaffAPI = s.api, s.api.Handler()
		} else {
			deps.Reader, deps.StaffAPI = apiClient, reverseProxy(cfg.URLs["api"])
		}
		pages, err := ui.New(ui.Config{Logger: log}, deps)
		if err != nil {
			return nil, err
		}
		s.handlers["ui"] = pages.Handler()
	}
	if on["live"] {
		// The api says which boards and threads exist (a stream of one that
		// does not is a 404).
		var reader maniwani.Reader = apiClient
		if s.api != nil {
			reader = s.api
		}
		if s.liveSvc, err = live.New(live.Config{Proxies: cfg.Proxies, Logger: log, Writers: cfg.Cores},
			live.Deps{Bus: s.bus, Reader: reader}); err != nil {
			return nil, err
		}
		s.handlers["live"] = s.liveSvc.Handler()
	}
	if on["thumbnailer"] {
		if s.thumbs, err = thumbnailer.New(thumbnailer.Config{Logger: log}, thumbnailer.Deps{Bus: s.bus, Media: s.media}); err != nil {
			return nil, err
		}
	}
	for name, h := range s.handlers {
		if name != "live" { // a live stream's connection is handed over whole (hijacked)
			s.handlers[name] = peer.Guard(s.metrics.Instrument(name, log, h), cfg.InternalSecret)
		}
	}
	if s.liveSvc != nil {
		s.metrics.Gauge("maniwani_live_clients", "Live streams open on this process.",
			func() float64 { return float64(s.liveSvc.Clients()) })
	}
	if on["api"] || on["thumbnailer"] {
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
	}
	return s, nil
}

// rerender renders every stored post again (after the renderer changed).
// Caches of other processes learn of it through Redis; without Redis, run
// it while Maniwani is stopped.
func rerender(ctx context.Context, cfg settings, log *slog.Logger) error {
	cfg.Targets = map[string]bool{"api": true, "markdown": true}
	s, err := openSite(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	seen, changed, err := s.api.Rerender(ctx)
	log.Info("rerender", "posts", seen, "changed", changed)
	return err
}

// redisTimeouts makes a Redis that is down cost a post or a page a fraction
// of a second, not go-redis's default of seconds of dial retries: the site
// keeps working without it, slower. Values the URL sets are kept.
func redisTimeouts(opt *goredis.Options) {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&opt.DialTimeout, 250*time.Millisecond)
	set(&opt.ReadTimeout, 500*time.Millisecond)
	set(&opt.WriteTimeout, 500*time.Millisecond)
	set(&opt.PoolTimeout, time.Second)
	if opt.DialerRetries <= 0 {
		opt.DialerRetries = 1
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	opt.ContextTimeoutEnabled = true
}

// run starts the services of this process and serves until ctx ends: the
// router on the public address when it runs here (the other services of
// the process behind it, in process), else the services' own routes on
// MANIWANI_ADDR.
func run(ctx context.Context, cfg settings, log *slog.Logger) error {
	s, err := openSite(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	// Background work ends with ctx, and before the bus closes (deferred
	// Close above); run returning early ends it too.
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.thumbs != nil {
		bg.Go(func() {
			if err := s.thumbs.Run(ctx); err != nil {
				log.Error("thumbnailer stopped", "err", err)
			}
		})
	}
	if s.api != nil && s.media != nil {
		bg.Go(func() {
			if err := s.api.WatchThumbnails(ctx); err != nil && ctx.Err() == nil {
				log.Error("thumbnail results no longer followed", "err", err)
			}
		})
	}
	if s.api != nil {
		bg.Go(func() { s.api.WatchCaptcha(ctx) })
	}
	if shared, ok := s.inv.(cache.Shared); ok && s.api != nil {
		bg.Go(func() { repairCache(ctx, shared, log) })
	}
	if s.liveSvc != nil {
		// Streams end first on shutdown, telling their clients to
		// reconnect, so the drain does not wait on them.
		context.AfterFunc(ctx, s.liveSvc.Shutdown)
	}

	var public func(net.Listener) error
	if cfg.Targets["router"] {
		rt, err := s.router()
		if err != nil {
			return err
		}
		public = func(ln net.Listener) error { return rt.Serve(ctx, ln) }
	} else if len(s.handlers) > 0 {
		srv := &http.Server{Handler: combine(s.handlers), ReadHeaderTimeout: 10 * time.Second}
		public = func(ln net.Listener) error { return serve.HTTP(ctx, srv, ln) }
	}

	ops := &http.Server{Handler: opsHandler(s.ready, s.metrics.Handler()), ReadHeaderTimeout: 5 * time.Second}
	opsLn, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("listen on MANIWANI_OPS_ADDR: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- serve.HTTP(ctx, ops, opsLn) }()
	started := 1
	attrs := []any{"ops", "http://" + opsLn.Addr().String(), "targets", targetList(cfg), "redis", cfg.Redis != nil}
	if s.store != nil {
		attrs = append(attrs, "database", store.Redact(cfg.DatabaseURL))
	}
	if public != nil {
		pubLn, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			cancel()
			<-errc
			return fmt.Errorf("listen on MANIWANI_ADDR: %w", err)
		}
		attrs = append(attrs, "public", "http://"+pubLn.Addr().String())
		go func() { errc <- public(pubLn) }()
		started++
	}
	log.Info("maniwani listening", attrs...)
	// What starting took (migrations, templates, the first admin's hash)
	// is garbage now; hand it back rather than hold it until the runtime's
	// scavenger gets to it minutes later.
	startup := time.AfterFunc(time.Second, debug.FreeOSMemory)
	defer startup.Stop()
	for range started {
		if e := <-errc; err == nil {
			err = e
		}
		cancel() // one server stopping stops the process
	}
	return err
}

// repairCache retries, each second, the invalidation of everything after
// writes whose invalidations Redis missed.
func repairCache(ctx context.Context, c cache.Shared, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.Missed.Load() {
				if err := c.Repair(ctx); err == nil {
					log.Info("cache: Redis is back; everything cached before is dropped")
				}
			}
		}
	}
}

func targetList(cfg settings) []string {
	if cfg.all() {
		return []string{"all"}
	}
	var out []string
	for _, t := range targetNames {
		if cfg.Targets[t] {
			out = append(out, t)
		}
	}
	return out
}

// router makes the router with each service as a local upstream when it
// runs in this process, or as a remote one.
func (s *site) router() (*router.Service, error) {
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
			return nil, err
		}
	}
	if s.liveSvc != nil {
		deps.LiveHandler = s.liveSvc.Handler()
	} else if deps.Live, err = up("live"); err != nil {
		return nil, err
	}
	if s.l2 != nil {
		deps.Bus = s.bus // other processes' writes arrive as events
	}
	return router.New(router.Config{Logger: s.log, ObserveCache: s.metrics.Cache,
		Observe: func(owner string, code int, d time.Duration) { s.metrics.Request("router", owner, code, d) }}, deps)
}

// opsHandler answers /healthz (the process is alive), /readyz (its
// dependencies answer) and /metrics.
func opsHandler(ready func(context.Context) error, metrics http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /metrics", metrics)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return m
}
