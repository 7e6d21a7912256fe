// Package ui is the web pages: server-rendered HTML that works without
// JavaScript, and the small script that makes it live. It reads the boards
// through a maniwani.Reader only (the api in one process, its client apart),
// and answers every page with an ETag, so the router caches it like the JSON.
//
// Routes:
//
//	GET /                      home: the boards and the latest threads
//	GET /{board}               redirect to /{board}/
//	GET /{board}/              index, page 1 (/{board}/1 redirects here)
//	GET /{board}/{page}        index page 2 and on
//	GET /{board}/catalog       every live thread as a card
//	GET /{board}/thread/{no}   a thread
//	GET /static/{file}         the embedded assets, by content-hashed name
//	/admin/...                 the moderators' admin UI (admin.go), when Deps.Staff is set
//
// Anything else is the 404 page.
package ui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
)

// Config is the ui's settings.
type Config struct {
	Logger *slog.Logger
	// PublicURL is the site's address (https://example.org) that the feeds'
	// links start with; "": they are paths. Never the request's Host: a
	// feed is cached, and one visitor's Host would be every reader's.
	PublicURL string
}

// Deps is what the ui reads from.
type Deps struct {
	Reader maniwani.Reader
	// Staff is the staff API that the admin UI is made of: the api in
	// one process, its client apart. nil: no admin UI.
	Staff maniwani.StaffAPI
}

// Service renders the pages.
type Service struct {
	cfg    Config
	log    *slog.Logger
	read   maniwani.Reader
	staff  maniwani.StaffAPI
	assets *assets
	tpl    *template.Template
	mux    http.Handler
	frags  *lru.Cache[threadFrags] // the thread pages' posts' markup, by thread (frags.go)
}

// New makes the ui; deps.Reader is required.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Reader == nil {
		return nil, errors.New("ui: Deps.Reader is required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, read: deps.Reader, staff: deps.Staff, frags: newFragCache()}
	if s.log == nil {
		s.log = slog.Default()
	}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, fmt.Errorf("ui: assets: %w", err)
	}
	if s.tpl, err = parseTemplates(s.assets); err != nil {
		return nil, fmt.Errorf("ui: templates: %w", err)
	}
	s.routes()
	return s, nil
}

func (s *Service) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleHome)
	m.HandleFunc("GET /static/{file}", s.assets.serve)
	// Browsers ask for it whatever the page says.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.assets.byName["icon.svg"].url, http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /{board}", s.handleBoardRedirect)
	m.HandleFunc("GET /{board}/{$}", s.handleIndex)
	m.HandleFunc("GET /{board}/{page}", s.handleIndex) // and /{board}/catalog
	m.HandleFunc("GET /{board}/thread/{no}", s.handleThread)
	m.HandleFunc("GET /{board}/catalog/{sort}", s.handleCatalog)
	m.HandleFunc("GET /{board}/catalog/search/{q}", s.handleCatalog)
	m.HandleFunc("GET /{board}/catalog/find", s.handleCatalogFind)
	if s.staff != nil {
		s.adminRoutes(m)
	}
	// Everything else.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		boards, _ := s.read.Boards(r.Context()) // for the top bar; none is fine
		s.fail(w, r, boards, maniwani.Errorf(maniwani.KindNotFound, "There is no page at %s.", r.URL.Path))
	})
	s.mux = maniwani.Guard(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, maniwani.Errorf(maniwani.KindForbidden, maniwani.CrossSiteRefusal))
	}))
}

// Handler serves the routes.
func (s *Service) Handler() http.Handler { return s.mux }

// Run returns when ctx ends: the ui does nothing in the background (pages
// are served by Handler).
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
