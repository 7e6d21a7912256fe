package markdown

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/maniwani/maniwani"
)

// Config are the markdown service's settings; zero values take defaults.
type Config struct {
	// CacheBytes bounds the in-process cache used when Deps.Cache is nil;
	// default 32 MiB.
	CacheBytes int64
	// MaxRequest bounds a request's bytes; default 1 MiB.
	MaxRequest int64
	Logger     *slog.Logger
}

// Deps are what the service works with.
type Deps struct {
	// Cache keeps renders; nil: an in-process LRU of Config.CacheBytes.
	// With Redis: Layered{L1: NewMemoryCache(n), L2: NewRedisCache(...)}.
	Cache Cache
}

// Service is the markdown service. In one process the api calls Render
// directly; apart, it calls Handler's POST /render through a Client.
type Service struct {
	cfg      Config
	log      *slog.Logger
	cache    Cache
	renderer *Renderer
	mux      *http.ServeMux
}

// New makes the markdown service.
func New(cfg Config, deps Deps) (*Service, error) {
	if cfg.MaxRequest <= 0 {
		cfg.MaxRequest = 1 << 20
	}
	s := &Service{cfg: cfg, log: cfg.Logger, cache: deps.Cache}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.cache == nil {
		s.cache = NewMemoryCache(cfg.CacheBytes)
	}
	s.renderer = NewRenderer(RendererConfig{Cache: s.cache, Logger: s.log})
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /render", s.handleRender)
	return s, nil
}

var _ maniwani.Renderer = (*Service)(nil)

// Render renders in, through the service's cache.
func (s *Service) Render(ctx context.Context, in maniwani.RenderInput) (string, error) {
	return s.renderer.Render(ctx, in)
}

// Handler serves POST /render. The request is JSON:
//
//	{"board": "b", "thread": 12, "body": ">>34\n>text",
//	 "threads": [{"board": "b", "no": 34, "thread": 12}],
//	 "boards": ["b", "g"]}
//
// threads lists the quoted posts that exist with their threads, boards the
// boards that exist (RenderInput.Threads and .Boards). The answer is
// {"html": "..."}; a request that is not such JSON gets 400 and
// {"error": "..."}.
func (s *Service) Handler() http.Handler { return s.mux }

// wireRef is a RenderInput.Threads entry on the wire.
type wireRef struct {
	Board  string `json:"board"`
	No     int64  `json:"no"`
	Thread int64  `json:"thread"`
}

// wireInput is a RenderInput on the wire.
type wireInput struct {
	Board   string    `json:"board"`
	Thread  int64     `json:"thread"`
	Body    string    `json:"body"`
	Threads []wireRef `json:"threads,omitempty"`
	Boards  []string  `json:"boards,omitempty"`
}

type wireOutput struct {
	HTML string `json:"html"`
}

func toWire(in maniwani.RenderInput) wireInput {
	w := wireInput{Board: in.Board, Thread: in.Thread, Body: in.Body}
	for ref, t := range in.Threads {
		w.Threads = append(w.Threads, wireRef{Board: ref.Board, No: ref.No, Thread: t})
	}
	for b, ok := range in.Boards {
		if ok {
			w.Boards = append(w.Boards, b)
		}
	}
	return w
}

func fromWire(w wireInput) maniwani.RenderInput {
	in := maniwani.RenderInput{Board: w.Board, Thread: w.Thread, Body: w.Body}
	if len(w.Threads) > 0 {
		in.Threads = make(map[maniwani.Ref]int64, len(w.Threads))
		for _, r := range w.Threads {
			in.Threads[maniwani.Ref{Board: r.Board, No: r.No}] = r.Thread
		}
	}
	if len(w.Boards) > 0 {
		in.Boards = make(map[string]bool, len(w.Boards))
		for _, b := range w.Boards {
			in.Boards[b] = true
		}
	}
	return in
}

func (s *Service) handleRender(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxRequest)
	var in wireInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		kind := maniwani.KindInvalid
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			kind = maniwani.KindTooLarge
		}
		maniwani.WriteError(w, maniwani.Errorf(kind, "The request is not a render request: %v", err), nil)
		return
	}
	html, err := s.renderer.Render(r.Context(), fromWire(in))
	if err != nil {
		s.log.Error("markdown: render failed", "err", err)
		maniwani.WriteError(w, &maniwani.Error{Kind: maniwani.KindInternal, Err: err}, nil) // not the poster's doing
		return
	}
	writeJSON(w, http.StatusOK, wireOutput{HTML: html})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Run returns when ctx ends: the service does nothing in the background
// (renders are made by Render and Handler as they are asked for).
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
