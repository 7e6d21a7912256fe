// Command maniwani runs the imageboard: with no settings, every service in
// one process on embedded defaults (SQLite and files under ./data).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/maniwani/maniwani/live"

	"github.com/maniwani/maniwani/internal/serve"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
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
	cfg, err := loadSettings(os.Getenv)
	if err != nil {
		log.Error("bad settings", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "rerender" {
		if err := rerender(ctx, cfg, log); err != nil {
			log.Error("rerender failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, cfg, log); err != nil {
		log.Error("maniwani stopped", "err", err)
		os.Exit(1)
	}
	log.Info("maniwani stopped cleanly")
}

// settings are read from the environment (see README).
type settings struct {
	Addr, OpsAddr, DataDir, DatabaseURL, AdminPassword string
	Proxies                                            realip.Resolver
	Redis                                              *goredis.Options // nil: in-process cache and bus
	S3                                                 *s3.Config       // nil: files on local disk
}

func loadSettings(getenv func(string) string) (settings, error) {
	get := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	s := settings{
		Addr:          get("MANIWANI_ADDR", "127.0.0.1:8080"),
		OpsAddr:       get("MANIWANI_OPS_ADDR", "127.0.0.1:9090"),
		DataDir:       get("MANIWANI_DATA_DIR", "./data"),
		AdminPassword: getenv("MANIWANI_ADMIN_PASSWORD"),
	}
	s.DatabaseURL = get("MANIWANI_DATABASE_URL", "sqlite://"+filepath.Join(s.DataDir, "maniwani.db"))
	var errs []error
	for k, v := range map[string]string{"MANIWANI_ADDR": s.Addr, "MANIWANI_OPS_ADDR": s.OpsAddr} {
		if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not host:port", k, v))
		}
	}
	p, err := realip.Parse(getenv("MANIWANI_TRUSTED_PROXIES"))
	if err != nil {
		errs = append(errs, fmt.Errorf("MANIWANI_TRUSTED_PROXIES: %w", err))
	}
	s.Proxies = p
	if u := getenv("MANIWANI_REDIS_URL"); u != "" {
		opt, err := goredis.ParseURL(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_REDIS_URL: %w", err))
		} else {
			redisTimeouts(opt)
		}
		s.Redis = opt
	}
	if ep := getenv("MANIWANI_S3_ENDPOINT"); ep != "" {
		c := &s3.Config{Endpoint: ep, AccessKey: getenv("MANIWANI_S3_ACCESS_KEY"),
			SecretKey: getenv("MANIWANI_S3_SECRET_KEY"), Bucket: get("MANIWANI_S3_BUCKET", "maniwani")}
		if _, _, err := net.SplitHostPort(ep); err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_S3_ENDPOINT=%q is not host:port", ep))
		}
		if c.AccessKey == "" || c.SecretKey == "" {
			errs = append(errs, errors.New("MANIWANI_S3_ACCESS_KEY and MANIWANI_S3_SECRET_KEY are needed with MANIWANI_S3_ENDPOINT"))
		}
		switch v := getenv("MANIWANI_S3_SECURE"); v {
		case "", "false", "0":
		case "true", "1":
			c.Secure = true
		default:
			errs = append(errs, fmt.Errorf("MANIWANI_S3_SECURE=%q is not true or false", v))
		}
		s.S3 = c
	}
	return s, errors.Join(errs...)
}

// site is what every service of this process shares: the database, the
// bus, the cache's counters and how writes drop cached pages.
type site struct {
	store *store.Store
	bus   maniwani.Bus
	inv   maniwani.Invalidator
	gens  *cache.Generations
	l2    *cache.Redis // nil without Redis
	rdb   *goredis.Client
	files maniwani.FileStore
	media *media.Service
	api   *api.Service
	close []func() error
}

func (s *site) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
}

// ready tells whether the site's dependencies answer.
func (s *site) ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	if s.rdb != nil {
		return s.rdb.Ping(ctx).Err()
	}
	return nil
}

// openSite opens the database (migrating it, and making board b and the
// admin on first start), the bus and the cache, all in this process or
// shared through Redis with every other process of the site.
func openSite(ctx context.Context, cfg settings, log *slog.Logger) (_ *site, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &site{gens: cache.NewGenerations()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.store, err = store.Open(ctx, store.Config{URL: cfg.DatabaseURL}); err != nil {
		return nil, err
	}
	s.close = append(s.close, s.store.Close)
	if err := api.Bootstrap(ctx, s.store, cfg.AdminPassword, log); err != nil {
		return nil, fmt.Errorf("first start: %w", err)
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
		s.inv = cache.Shared{Redis: s.l2, Gens: s.gens, Bus: rbus, Topic: router.CacheTopic}
		renders = markdown.Layered{L1: renders, L2: markdown.NewRedisCache(s.rdb, markdown.RedisConfig{Prefix: "maniwani"})}
	} else {
		mbus := memory.New(memory.Config{})
		s.close = append(s.close, mbus.Close)
		s.bus = mbus
		s.inv = cache.Local{Gens: s.gens}
	}
	if cfg.S3 != nil {
		s.files, err = s3.New(ctx, *cfg.S3)
	} else {
		s.files, err = disk.New(filepath.Join(cfg.DataDir, "media"))
	}
	if err != nil {
		return nil, fmt.Errorf("file storage: %w", err)
	}
	// The store answers media's name lookups: in one process it is what
	// the api would ask anyway, and the api needs media first.
	if s.media, err = media.New(media.Config{Store: s.files, Names: s.store, Logger: log}); err != nil {
		return nil, err
	}
	renderer := markdown.NewRenderer(markdown.RendererConfig{Cache: renders, Logger: log})
	s.api, err = api.New(ctx, api.Config{Proxies: cfg.Proxies, Logger: log, Invalidator: s.inv, Bus: s.bus,
		Renderer: renderer, Media: s.media}, s.store)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// rerender renders every stored post again (after the renderer changed).
// Caches of other processes learn of it through Redis; without Redis, run
// it while Maniwani is stopped.
func rerender(ctx context.Context, cfg settings, log *slog.Logger) error {
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

// run starts the services in this process and serves until ctx ends.
func run(ctx context.Context, cfg settings, log *slog.Logger) error {
	s, err := openSite(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	local := router.NewLocal(s.api.Handler())
	defer local.Close()
	mediaLocal := router.NewLocal(s.media)
	defer mediaLocal.Close()
	pages, err := ui.New(ui.Config{Logger: log}, ui.Deps{Reader: s.api})
	if err != nil {
		return err
	}
	uiLocal := router.NewLocal(pages.Handler())
	defer uiLocal.Close()
	thumbs, err := thumbnailer.New(thumbnailer.Config{Logger: log}, thumbnailer.Deps{Bus: s.bus, Media: s.media})
	if err != nil {
		return err
	}
	// Background work ends with ctx; the bus closes after it (deferred
	// Close above).
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, cancel := context.WithCancel(ctx) // and ends when run returns early
	defer cancel()
	bg.Go(func() {
		if err := thumbs.Run(ctx); err != nil {
			log.Error("thumbnailer stopped", "err", err)
		}
	})
	bg.Go(func() {
		if err := s.api.WatchThumbnails(ctx); err != nil {
			log.Error("thumbnail results no longer followed", "err", err)
		}
	})
	liveSvc, err := live.New(live.Config{Proxies: cfg.Proxies, Logger: log}, live.Deps{Bus: s.bus})
	if err != nil {
		return err
	}
	// Streams end first on shutdown, telling their clients to reconnect, so
	// the router's drain does not wait on them.
	context.AfterFunc(ctx, liveSvc.Shutdown)
	deps := router.Deps{API: local, UI: uiLocal, Media: mediaLocal, LiveHandler: liveSvc.Handler(), Gens: s.gens, L2: s.l2}
	if s.l2 != nil {
		deps.Bus = s.bus // other processes' writes arrive as events
	}
	rt, err := router.New(router.Config{Logger: log}, deps)
	if err != nil {
		return err
	}

	ops := &http.Server{Handler: opsHandler(s.ready), ReadHeaderTimeout: 5 * time.Second}
	pubLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on MANIWANI_ADDR: %w", err)
	}
	opsLn, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		pubLn.Close()
		return fmt.Errorf("listen on MANIWANI_OPS_ADDR: %w", err)
	}
	log.Info("maniwani listening", "public", "http://"+pubLn.Addr().String(), "ops", "http://"+opsLn.Addr().String(),
		"database", store.Redact(cfg.DatabaseURL), "redis", cfg.Redis != nil)

	errc := make(chan error, 2)
	go func() { errc <- rt.Serve(ctx, pubLn) }()
	go func() { errc <- serve.HTTP(ctx, ops, opsLn) }()
	err = <-errc
	if e := <-errc; err == nil {
		err = e
	}
	return err
}

// opsHandler answers /healthz (the process is alive) and /readyz (its
// dependencies answer).
func opsHandler(ready func(context.Context) error) http.Handler {
	m := http.NewServeMux()
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
