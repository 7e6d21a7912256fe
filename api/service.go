// Package api is the service that owns the data and every write: boards,
// threads, posts, bans, reports and staff. It serves the 4chan-compatible
// JSON and takes posts, each in one database transaction.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/captcha"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/lru"
	"github.com/maniwani/maniwani/internal/realip"
)

// Config is the api's settings.
type Config struct {
	// Proxies says whose X-Forwarded-For to believe.
	Proxies realip.Resolver
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
	// FilterTTL is how long the filters read from the store are used
	// before they are read again (another instance may have changed
	// them); 0: DefaultFilterTTL.
	FilterTTL time.Duration
	// DNSBL are the DNS blocklists' zones asked about each poster's
	// address before a post is read; none: no list is asked.
	DNSBL []string
	// DNSBLAction is what a listed address gets: DNSBLRefuse (""), or
	// DNSBLCaptcha.
	DNSBLAction string
	// OnionHeader names the header a trusted proxy sets (non-empty) on
	// Tor onion traffic: those posters are keyed by their bypass token,
	// never by the proxy's address (identity.go); "": none is.
	OnionHeader string
	Logger      *slog.Logger
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
	// MaxHeld bounds the posts held for review on one board (a board
	// that holds new posters); past it new posters are refused. 0:
	// store.DefaultMaxHeld.
	MaxHeld int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Deps are what the api works with.
type Deps struct {
	// Store holds the data; required.
	Store *store.Store
	// Renderer makes a post's com: the markdown service, or its client
	// when it runs apart; required.
	Renderer maniwani.Renderer
	// Invalidator drops cached responses after each write; nil: nothing
	// is cached.
	Invalidator maniwani.Invalidator
	// Bus carries the events of each write and the thumbnail jobs; nil:
	// none are published.
	Bus maniwani.Bus
	// Media stores posts' files; nil: posts with files are refused.
	Media maniwani.Media
	// Resolver asks the DNS blocklists; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// PosterToken is the poster's bypass token (its captcha solved), when
	// r carries a valid one: what onion posters are keyed by. nil: none
	// does.
	PosterToken func(r *http.Request) (string, bool)
}

// Service is the api.
type Service struct {
	cfg    Config
	deps   Deps
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
	// was down): watchThumbnails queues the jobs of the files still
	// without a thumbnail again once the bus takes them.
	requeue atomic.Bool
	// decodes bounds the uploads decoded at once.
	decodes *decodeGate
	// similar is the file bans that catch near copies, as last read.
	similar similarCache
	// filterCache holds the compiled filters (filters.go).
	filterCache filterCache
	// captcha makes the challenges, once the first is asked for: its
	// fonts (about 700 KB of the binary) are then read and kept, which
	// a site that never asks for one does not pay for.
	captcha func() (*captcha.Maker, error)
	// blocklist is the DNS blocklist check (blocklist.go); nil: off.
	blocklist *blocklist
	// jsonFrags keeps the thread files' replies' objects (json_frags.go).
	jsonFrags *lru.Cache[jsonFrags]
}

// secretWait bounds New's read of the site's secret.
const secretWait = 30 * time.Second

// New makes the api on an open store. It reads the site's secret from the
// store (made at the first start, shared by every instance).
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Renderer == nil {
		return nil, errors.New("api: Deps.Store and Deps.Renderer are required")
	}
	if a := cfg.DNSBLAction; a != "" && a != DNSBLRefuse && a != DNSBLCaptcha {
		return nil, fmt.Errorf("api: DNSBLAction %q is neither %q nor %q", a, DNSBLRefuse, DNSBLCaptcha)
	}
	ctx, cancel := context.WithTimeout(context.Background(), secretWait)
	defer cancel()
	secret, err := deps.Store.Secret(ctx)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, deps: deps, store: deps.Store, secret: secret, log: cfg.Logger, now: cfg.Now,
		hashes: newHashGate(cfg.PasswordHashes), jsonFrags: newJSONCache(),
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
	s.blocklist = newBlocklist(s.cfg, deps.Resolver, s.now)
	s.decodes = newDecodeGate(s.cfg.MaxDecodes, s.cfg.DecodeWait)
	if s.cfg.FilterTTL <= 0 {
		s.cfg.FilterTTL = DefaultFilterTTL
	}
	if s.cfg.SessionIdle <= 0 {
		s.cfg.SessionIdle = DefaultSessionIdle
	}
	if s.cfg.SessionMax <= 0 {
		s.cfg.SessionMax = DefaultSessionMax
	}
	s.captcha = sync.OnceValues(func() (*captcha.Maker, error) { return captcha.NewMaker(cfg.Captcha) })
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

// Run does the api's own work until ctx ends: it records the thumbnailer's
// results (watchThumbnails) and lowers the captcha modes floods raised
// (WatchCaptcha). It returns when both have stopped; an error only when
// the results could no longer be followed before ctx ended (logged then,
// returned once the rest has stopped).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.WatchCaptcha(ctx) })
	err := s.watchThumbnails(ctx)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("api: thumbnail results no longer followed: %w", err)
		s.log.Error(err.Error())
	} else {
		err = nil
	}
	wg.Wait()
	return err
}
