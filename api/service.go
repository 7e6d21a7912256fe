// Package api is the service that owns the data and every write: boards,
// threads, posts, bans, reports and staff. It serves the 4chan-compatible
// JSON and takes posts, each in one database transaction.
package api

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maniwani/maniwani/internal/serve"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/captcha"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/markdown"
)

// Config is what the api needs besides its store.
type Config struct {
	// Addr is where Run listens when the api runs as its own process.
	Addr string
	// Proxies says whose X-Forwarded-For to believe.
	Proxies realip.Resolver
	// Renderer makes a post's com: the markdown service, or its client
	// when it runs apart; nil renders with the markdown library here.
	Renderer maniwani.Renderer
	// Invalidator drops cached responses after each write; nil: nothing
	// is cached.
	Invalidator maniwani.Invalidator
	// Bus carries the events of each write and the thumbnail jobs; nil:
	// none are published.
	Bus maniwani.Bus
	// Media stores posts' files; nil: posts with files are refused.
	Media maniwani.Media
	// MaxPixels bounds an image's width x height; 0:
	// maniwani.DefaultMaxPixels.
	MaxPixels int64
	// TempDir holds uploads while they are checked; "": the system's.
	TempDir string
	// MaxDecodes bounds the uploads decoded at once (a JPEG turned by its
	// EXIF orientation is decoded, turned and encoded again: seconds of
	// CPU, about 110 MB at the pixel limit); 0: half of GOMAXPROCS, at
	// least one.
	MaxDecodes int
	// DecodeWait is how long a post waits for a decode slot before it is
	// refused as busy (503, Retry-After); 0: DefaultDecodeWait.
	DecodeWait time.Duration
	// SessionIdle and SessionMax end a staff session unused that long, or
	// that old; zero: DefaultSessionIdle, DefaultSessionMax.
	SessionIdle, SessionMax time.Duration
	// PasswordHashes bounds the staff password hashes (argon2id, 19 MiB
	// each) that run at once; 0: GOMAXPROCS. A login that finds them all
	// busy for a second is answered 503.
	PasswordHashes int
	Logger         *slog.Logger
	// Captcha sizes the challenges; zero values take package captcha's.
	Captcha captcha.Config
	// CaptchaRand is the randomness each challenge (its image and answer)
	// is made from; nil: crypto/rand.Reader. A test gives its own, to know
	// the answers as a person reading the image would.
	CaptchaRand io.Reader
	// CaptchaTTL is how long a challenge is good for; 0: DefaultCaptchaTTL.
	CaptchaTTL time.Duration
	// BypassPosts and BypassLifetime are what a solved captcha buys: that
	// many posts without one, within that time (at most a day); zero:
	// DefaultBypassPosts, DefaultBypassLifetime.
	BypassPosts    int
	BypassLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the api.
type Service struct {
	cfg    Config
	store  *store.Store
	secret []byte
	log    *slog.Logger
	now    func() time.Time
	mux    http.Handler
	// dummyHash is checked against when a login's username is unknown;
	// made at the first login, not at start: argon2id's 19 MiB would be
	// every process's.
	dummyHash func() string
	hashes    hashGate
	// requeue is set when a thumbnail job could not be queued (the bus
	// was down): WatchThumbnails queues the jobs of the files still
	// without a thumbnail again once the bus takes them.
	requeue atomic.Bool
	// decodes bounds the uploads decoded at once.
	decodes *decodeGate
	captcha *captcha.Maker
}

// New makes the api on an open store.
func New(ctx context.Context, cfg Config, st *store.Store) (*Service, error) {
	secret, err := st.Secret(ctx)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, secret: secret, log: cfg.Logger, now: cfg.Now,
		hashes:    newHashGate(cfg.PasswordHashes),
		dummyHash: sync.OnceValue(func() string { return HashPassword("no such staff member") })}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.MaxDecodes <= 0 {
		// Half the machine: the other half keeps serving pages and posts
		// while uploads are decoded.
		s.cfg.MaxDecodes = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if s.cfg.DecodeWait <= 0 {
		s.cfg.DecodeWait = DefaultDecodeWait
	}
	s.decodes = newDecodeGate(s.cfg.MaxDecodes, s.cfg.DecodeWait)
	if s.cfg.SessionIdle <= 0 {
		s.cfg.SessionIdle = DefaultSessionIdle
	}
	if s.cfg.SessionMax <= 0 {
		s.cfg.SessionMax = DefaultSessionMax
	}
	if s.captcha, err = captcha.NewMaker(cfg.Captcha); err != nil {
		return nil, err
	}
	if s.cfg.CaptchaRand == nil {
		s.cfg.CaptchaRand = rand.Reader
	}
	if s.cfg.CaptchaTTL <= 0 {
		s.cfg.CaptchaTTL = DefaultCaptchaTTL
	}
	if s.cfg.BypassPosts <= 0 {
		s.cfg.BypassPosts = DefaultBypassPosts
	}
	if s.cfg.BypassLifetime <= 0 {
		s.cfg.BypassLifetime = DefaultBypassLifetime
	}
	s.cfg.BypassLifetime = min(s.cfg.BypassLifetime, store.MaxWindow) // its posts are a budget
	if s.cfg.Renderer == nil {
		s.cfg.Renderer = markdown.NewRenderer(markdown.RendererConfig{Logger: s.log})
	}
	s.routes()
	return s, nil
}

func (s *Service) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /boards.json", s.handleBoards)
	m.HandleFunc("GET /{board}/{file}", s.handleBoardFile)
	m.HandleFunc("GET /{board}/thread/{file}", s.handleThread)
	m.HandleFunc("POST /{board}/post", s.handlePost)
	m.HandleFunc("POST /{board}/delete", s.handleDelete)
	m.HandleFunc("POST /{board}/report", s.handleReport)
	m.HandleFunc("GET /captcha", s.handleCaptcha)
	m.HandleFunc("GET /captcha/frame", s.handleCaptchaFrame)
	m.HandleFunc("POST /captcha/frame", s.handleCaptchaFrame)
	s.registerAdmin(m)
	s.registerInternal(m)
	s.mux = maniwani.Guard(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, maniwani.Errorf(maniwani.KindForbidden, maniwani.CrossSiteRefusal), nil)
	}))
}

// Handler serves the api's HTTP routes.
func (s *Service) Handler() http.Handler { return s.mux }

// Ready tells whether the api's dependencies answer.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Run serves the api on its own address until ctx ends, then finishes the
// requests in flight.
func (s *Service) Run(ctx context.Context) error {
	srv := &http.Server{Addr: s.cfg.Addr, Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	s.log.Info("api listening", "addr", ln.Addr().String())
	return serve.HTTP(ctx, srv, ln)
}
