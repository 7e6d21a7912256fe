// Package live is the live service: Server-Sent Events of boards and
// threads, fed from the bus, resumable with Last-Event-ID.
//
// Routes:
//
//	GET /live/{board}       thread, post, delete and update events of a board
//	GET /live/{board}/{no}  post, delete and update events of one thread
//
// Every event carries the bus message ID as its id. Event data is JSON:
//
//	post    maniwani.PostJSON of the post plus "board" (resto is 0 for an OP)
//	thread  the same object, for a new thread's OP (board stream only; the
//	        OP is then also sent as a post event, with the same id)
//	delete  {"board","no"}
//	update  {"board","no","sticky","closed"}, flags as JSON booleans
//	reload  {} the events since Last-Event-ID are no longer kept (or the
//	        service could not resume after losing the bus): refetch, then
//	        keep listening; the stream goes on live
//
// A comment line (": keepalive") comes every Heartbeat.
//
// Fan-out: one bus subscription per board topic per Service (a hub), made
// when the first client of the board comes and closed when the last leaves.
// Each client has a buffer of SendBuffer events; a client whose buffer is
// full (it stopped reading) is dropped, never slowing the others.
//
// Ending: Shutdown, which Run also calls when its ctx ends, sends every
// client "retry: 1000" and ends its stream, so EventSource reconnects (to
// another instance) within a second and resumes with Last-Event-ID.
package live

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/internal/serve"
)

// Config is the live service's settings.
type Config struct {
	Addr       string          // where Run listens
	Heartbeat  time.Duration   // longest quiet time before a comment line (15s)
	MaxPerIP   int             // open streams per client address (8)
	SendBuffer int             // events waiting for one client before it is dropped (256)
	Proxies    realip.Resolver // the proxies whose X-Forwarded-For is believed
	Logger     *slog.Logger    // slog.Default()
}

func (c Config) withDefaults() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.MaxPerIP <= 0 {
		c.MaxPerIP = 8
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Deps is what the live service needs of the others.
type Deps struct {
	Bus maniwani.Bus
}

// Service serves the live streams.
type Service struct {
	cfg  Config
	bus  maniwani.Bus
	log  *slog.Logger
	mux  *http.ServeMux
	ctx  context.Context // ends at Shutdown; the hubs' subscriptions live under it
	stop context.CancelFunc
	quit chan struct{} // closed at Shutdown
	once sync.Once

	mu     sync.Mutex
	closed bool
	hubs   map[string]*hub // by board
	ips    map[string]int  // open streams by client address
}

// writeTimeout bounds one write to a client: a client that does not take
// the bytes in that time is gone.
const writeTimeout = 30 * time.Second

// New makes the service; deps.Bus is required.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("live: Deps.Bus is required")
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, bus: deps.Bus, log: cfg.Logger, ctx: ctx, stop: stop,
		quit: make(chan struct{}), hubs: map[string]*hub{}, ips: map[string]int{},
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /live/{board}", s.handleStream)
	s.mux.HandleFunc("GET /live/{board}/{no}", s.handleStream)
	return s, nil
}

// Handler serves the routes.
func (s *Service) Handler() http.Handler { return s.mux }

// Run listens on cfg.Addr and serves until ctx ends; then it calls Shutdown
// and waits (within 15 s) for the streams to end.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(s.Shutdown)
	return serve.HTTP(ctx, srv, ln)
}

// Shutdown tells every client to reconnect ("retry: 1000", then the end of
// the stream), closes the bus subscriptions, and answers later requests 503.
// It returns at once; the handlers end on their own. Safe to call again.
func (s *Service) Shutdown() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		hubs := make([]*hub, 0, len(s.hubs))
		for _, h := range s.hubs {
			hubs = append(hubs, h)
		}
		s.mu.Unlock()
		close(s.quit)
		s.stop()
		// A client stuck in a write gets a second to take "retry:".
		for _, h := range hubs {
			h.mu.Lock()
			for c := range h.clients {
				c.kick(time.Now().Add(time.Second))
			}
			h.mu.Unlock()
		}
	})
}

var errShutdown = errors.New("live: shutting down")

// stream is what one client asked for.
type stream struct {
	board  string
	thread int64 // 0 for the board stream
}

// frames is what of an item the stream shows.
func (st stream) frames(it *item) []byte {
	if st.thread == 0 {
		return it.boardFrames
	}
	if it.thread == st.thread {
		return it.threadFrames
	}
	return nil
}

func (s *Service) handleStream(w http.ResponseWriter, r *http.Request) {
	st := stream{board: r.PathValue("board")}
	if !maniwani.ValidBoardName(st.board) {
		http.NotFound(w, r)
		return
	}
	if v := r.PathValue("no"); v != "" {
		no, err := strconv.ParseInt(v, 10, 64)
		if err != nil || no < 1 {
			http.NotFound(w, r)
			return
		}
		st.thread = no
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		if _, _, err := maniwani.ParseID(last); err != nil {
			http.Error(w, "Invalid Last-Event-ID.", http.StatusBadRequest)
			return
		}
	}

	ip := s.cfg.Proxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
	if err := s.admit(ip); err != nil {
		if errors.Is(err, errShutdown) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Shutting down.", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Too many live connections from your address.", http.StatusTooManyRequests)
		return
	}
	defer s.leave(ip)

	rc := http.NewResponseController(w)
	c := &client{ch: make(chan *item, s.cfg.SendBuffer), rc: rc}
	// 1. Join the board's hub: from now on nothing is missed.
	h, err := s.join(r.Context(), st.board, c)
	if err != nil {
		if errors.Is(err, errShutdown) || errors.Is(err, maniwani.ErrClosed) {
			w.Header().Set("Retry-After", "1")
		}
		s.log.Warn("live: no subscription", "board", st.board, "err", err)
		http.Error(w, "Live updates are unavailable.", http.StatusServiceUnavailable)
		return
	}
	defer s.part(h, c)

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A first line at once, not only the header: a proxy that streams the
	// body (the router) sends the header along with the first bytes.
	if c.write(w, openFrame) != nil {
		return
	}

	// 2. What the client missed, from the history.
	if last != "" {
		for {
			ms, err := s.bus.Replay(r.Context(), maniwani.BoardTopic(st.board), last, replayPage)
			if errors.Is(err, maniwani.ErrHistoryGone) {
				if c.write(w, reloadFrame) != nil {
					return
				}
				break
			}
			if err != nil {
				s.log.Warn("live: replay failed", "board", st.board, "err", err)
				c.write(w, retryFrame)
				return
			}
			for _, m := range ms {
				last = m.ID
				if f := st.frames(render(s.log, m)); f != nil {
					if c.write(w, f) != nil {
						return
					}
				}
			}
			if len(ms) < replayPage {
				break
			}
		}
	}

	// 3. Live, skipping what the replay sent.
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case it, ok := <-c.ch:
			if !ok {
				if c.reason == endHub {
					c.write(w, retryFrame)
				}
				return
			}
			if it.reload {
				if c.write(w, reloadFrame) != nil {
					return
				}
				continue
			}
			if maniwani.CompareIDs(it.id, last) <= 0 {
				continue
			}
			last = it.id
			if f := st.frames(it); f != nil {
				if c.write(w, f) != nil {
					return
				}
			}
		case <-tick.C:
			if c.write(w, keepaliveFrame) != nil {
				return
			}
		case <-s.quit:
			c.write(w, retryFrame)
			return
		case <-r.Context().Done():
			return
		}
	}
}

const replayPage = 100

var (
	keepaliveFrame = []byte(": keepalive\n\n")
	retryFrame     = []byte("retry: 1000\n\n")
	openFrame      = []byte(": open\n\n")
	reloadFrame    = []byte("event: reload\ndata: {}\n\n")
)

// admit counts a stream of ip, or refuses it.
func (s *Service) admit(ip string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errShutdown
	}
	if s.ips[ip] >= s.cfg.MaxPerIP {
		return errTooMany
	}
	s.ips[ip]++
	return nil
}

var errTooMany = errors.New("live: too many streams")

func (s *Service) leave(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ips[ip]--; s.ips[ip] <= 0 {
		delete(s.ips, ip)
	}
}

// client is one open stream, as its hub sees it.
type client struct {
	ch chan *item // the hub sends; closed when the client is dropped or the hub ends
	rc *http.ResponseController

	// set before ch is closed
	reason int

	mu    sync.Mutex
	limit time.Time // writes fail after it; zero: no limit but writeTimeout
}

const (
	endHub  = 1 // the hub ended: shutdown, or the bus closed
	endSlow = 2 // the client's buffer was full
)

// write sends frames (none: only flushes what was written) and flushes.
func (c *client) write(w http.ResponseWriter, frames []byte) error {
	c.mu.Lock()
	d := time.Now().Add(writeTimeout)
	if !c.limit.IsZero() && c.limit.Before(d) {
		d = c.limit
	}
	if !d.After(time.Now()) {
		c.mu.Unlock()
		return errKicked
	}
	_ = c.rc.SetWriteDeadline(d)
	c.mu.Unlock()
	if len(frames) > 0 {
		if _, err := w.Write(frames); err != nil {
			return err
		}
	}
	return c.rc.Flush()
}

var errKicked = errors.New("live: client dropped")

// kick makes the client's writes fail from deadline on, so a handler stuck
// writing to a client that stopped reading lets go. A deadline still ahead
// (Shutdown) lets one last "retry:" through.
func (c *client) kick(deadline time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit.IsZero() || deadline.Before(c.limit) {
		c.limit = deadline
	}
	_ = c.rc.SetWriteDeadline(c.limit)
}

// Clients counts the streams open on this instance.
func (s *Service) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hubs {
		n += h.refs
	}
	return n
}
