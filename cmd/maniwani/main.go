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
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	natsgo "github.com/nats-io/nats.go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/metrics"
	"github.com/maniwani/maniwani/internal/serve"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/router"
	"github.com/maniwani/maniwani/router/cache"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	flags := flag.NewFlagSet("maniwani", flag.ExitOnError)
	target := flags.String("target", "", "the services to run: all (default), or a comma list of "+
		"router, api, ui, markdown, thumbnailer, media, live")
	showVersion := flags.Bool("version", false, "print the version and commit, and exit")
	flags.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println(versionLine())
		return
	}
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
	tp, err := tracing.New(ctx, cfg.serviceName(), os.Getenv)
	if err != nil {
		log.Error("bad tracing settings", "err", err)
		os.Exit(2)
	}
	if tp != nil {
		cfg.Tracer = tp
		log.Info("tracing on", "service", cfg.serviceName())
	}
	code := command(ctx, cfg, args, log)
	if tp != nil { // what is left goes out before the process ends
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn("traces not all sent", "err", err)
		}
		cancel()
	}
	os.Exit(code)
}

// command runs the command args name (none: the site) and returns the
// process's exit code.
func command(ctx context.Context, cfg settings, args []string, log *slog.Logger) int {
	if len(args) > 0 && args[0] == "rerender" {
		if err := rerender(ctx, cfg, log); err != nil {
			log.Error("rerender failed", "err", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 {
		log.Error("unknown command", "args", args)
		return 2
	}
	if err := run(ctx, cfg, log); err != nil {
		log.Error("maniwani stopped", "err", err)
		return 1
	}
	log.Info("maniwani stopped cleanly")
	return 0
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
	ctx         context.Context // of the start: what opening the parts may wait on
	cfg         settings
	log         *slog.Logger
	store       *store.Store // nil unless the api runs here
	bus         maniwani.Bus
	inv         maniwani.Invalidator
	gens        *cache.Generations
	l2          *cache.Redis            // nil without Redis
	rdb         goredis.UniversalClient // nil without Redis
	nc          *natsgo.Conn            // nil unless NATS carries the bus
	renders     markdown.Cache
	renderer    maniwani.Renderer // the markdown service, when it runs here
	apiClient   *api.Client       // what calls the api when it is not here
	media       *media.Service    // nil unless media runs here
	mediaClient maniwani.Media    // what calls media when it is not here, once needed
	api         *api.Service      // nil unless the api runs here
	router      *router.Service   // nil unless the router runs here
	public      net.Listener      // the public port, once opened
	// The HTTP services of this process, by target.
	handlers map[string]http.Handler
	// The services of this process, in the order they were made.
	runs    []running
	metrics *metrics.Metrics
	close   []func() error
}

func (s *site) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
}

// ready tells whether the site's dependencies answer.
func (s *site) ready(ctx context.Context) error {
	if s.api != nil {
		if err := s.api.Ready(ctx); err != nil {
			return err
		}
	}
	if s.nc != nil && !s.nc.IsConnected() {
		return fmt.Errorf("NATS: %s", s.nc.Status())
	}
	if s.rdb != nil {
		return s.rdb.Ping(ctx).Err()
	}
	return nil
}

// openSite makes the parts this process's targets need (parts), each
// with the others as local services or as clients of the processes that
// run them.
func openSite(ctx context.Context, cfg settings, log *slog.Logger) (_ *site, err error) {
	s := &site{ctx: ctx, cfg: cfg, log: log, gens: cache.NewGenerations(), handlers: map[string]http.Handler{},
		metrics: metrics.New(), apiClient: api.NewClient(cfg.URLs["api"], cfg.InternalSecret)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	for _, m := range cfg.missing() {
		log.Warn(m)
	}
	made := map[string]bool{}
	for _, t := range targetNames {
		if cfg.Targets[t] {
			if err := s.make(t, made); err != nil {
				return nil, err
			}
		}
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

// clusterTimeouts are redisTimeouts for a Redis Cluster.
func clusterTimeouts(opt *goredis.ClusterOptions) {
	one := goredis.Options{DialTimeout: opt.DialTimeout, ReadTimeout: opt.ReadTimeout, WriteTimeout: opt.WriteTimeout,
		PoolTimeout: opt.PoolTimeout, DialerRetries: opt.DialerRetries, MaxRetries: opt.MaxRetries}
	redisTimeouts(&one)
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = one.DialTimeout, one.ReadTimeout, one.WriteTimeout
	opt.PoolTimeout, opt.DialerRetries, opt.MaxRetries = one.PoolTimeout, one.DialerRetries, one.MaxRetries
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
	// The services' work ends with ctx, and before the bus closes
	// (deferred Close above); run returning early ends it too.
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, r := range s.runs {
		bg.Go(func() {
			if err := r.svc.Run(ctx); err != nil {
				log.Error(r.name+" stopped", "err", err)
			}
		})
	}

	var public func() error
	if s.router != nil {
		public = func() error { return s.router.Run(ctx) }
	} else if len(s.handlers) > 0 {
		srv := &http.Server{Handler: combine(s.handlers), ReadHeaderTimeout: 10 * time.Second}
		public = func() error { return serve.HTTP(ctx, srv, s.public) }
	}

	ops := &http.Server{Handler: opsHandler(s.ready, s.metrics.Handler()), ReadHeaderTimeout: 5 * time.Second}
	opsLn, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("listen on MANIWANI_OPS_ADDR: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- serve.HTTP(ctx, ops, opsLn) }()
	started := 1
	attrs := []any{"ops", "http://" + opsLn.Addr().String(), "targets", targetList(cfg), "redis", cfg.redis(), "nats", cfg.BusURL != ""}
	if s.store != nil {
		attrs = append(attrs, "database", store.Redact(cfg.DatabaseURL))
	}
	if public != nil {
		if s.public == nil {
			if _, err := s.listen(); err != nil {
				cancel()
				<-errc
				return err
			}
		}
		attrs = append(attrs, "public", "http://"+s.public.Addr().String())
		go func() { errc <- public() }()
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
