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
//	reload  {} the events since Last-Event-ID are no longer kept, or are
//	        more than MaxReplay (or the service could not resume after
//	        losing the bus): refetch, then keep listening; the stream goes
//	        on live
//
// A stream of a board or thread that does not exist is a 404 (the Reader
// says, its answers kept a while). Streams are counted per client by
// realip.Key: an IPv6 /64 is one client.
//
// A comment line (": keepalive") comes every Heartbeat.
//
// Fan-out: one bus subscription per board topic per Service (a hub), made
// when the first client of the board comes and closed when the last leaves.
// The hub renders each event once and gathers what comes within Coalesce
// of it into a batch; it writes its clients itself, sweep after sweep, a
// few goroutines (Writers) sharing the list: each client, when its turn
// comes, gets every batch it has not had in one write (so an event is at
// most one sweep late, however many came meanwhile), with writes that
// never wait: what a client's socket does not take at once waits in the
// client's queue of at most SendBuffer batches, which a goroutine of its
// own then writes out; a client whose queue is full (it stopped reading) is dropped, never
// slowing the others. The heartbeat is the hub's too, one ticker for all.
//
// Connections: when the ResponseWriter hands its connection over
// (http.Hijacker: net/http's HTTP/1.x, and the router's in one process)
// the stream is written by the hub straight to the socket, chunked (HTTP/1.1,
// each batch one chunk, framed once for all the clients) with Connection:
// close; each client then costs one parked goroutine, which reads the
// connection to see it close. Otherwise (HTTP/2, HEAD) the handler writes
// what the hub queues for it.
//
// Ending: Shutdown, which Run calls when its ctx ends, sends every
// client "retry: 1000" and ends its stream, so EventSource reconnects (to
// another instance) within a second and resumes with Last-Event-ID.
package live

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/internal/tracing"
)

// Config is the live service's settings.
type Config struct {
	Heartbeat  time.Duration   // longest quiet time before a comment line (15s)
	MaxPerIP   int             // open streams per client (realip.Key: an IPv4 address, an IPv6 /64) (8)
	MaxReplay  int             // events replayed after Last-Event-ID at most; older: reload (100)
	ExistsFor  time.Duration   // how long "this board or thread exists" is kept (1 min)
	MissingFor time.Duration   // how long "no such board or thread" is kept (1 s)
	SendBuffer int             // batches waiting for one client before it is dropped (256)
	Writers    int             // goroutines that write an event to a board's clients (GOMAXPROCS)
	Coalesce   time.Duration   // how long a board's events are gathered, from the first, to go out in one write per client (DefaultCoalesce); negative: none, a write takes only what waits
	Proxies    realip.Resolver // the proxies whose X-Forwarded-For is believed
	Logger     *slog.Logger    // slog.Default()
	// Tracer, when set, traces each delivery of an event that came with
	// a trace context, in that trace; nil: off.
	Tracer trace.TracerProvider
}

func (c Config) withDefaults() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.MaxPerIP <= 0 {
		c.MaxPerIP = 8
	}
	if c.MaxReplay <= 0 {
		c.MaxReplay = 100
	}
	if c.ExistsFor <= 0 {
		c.ExistsFor = time.Minute
	}
	if c.MissingFor <= 0 {
		c.MissingFor = time.Second
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.Coalesce == 0 {
		c.Coalesce = DefaultCoalesce
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultCoalesce is Config.Coalesce's default. With bench/live (10,000
// streams, 50 posts/s) it cut the server's CPU in most runs beside a run
// without (0.73-0.95x, a few above 1) for at most 5 ms more per event; its
// effect on the latency was within that machine's noise.
const DefaultCoalesce = 5 * time.Millisecond

// Deps is what the live service needs of the others.
type Deps struct {
	Bus maniwani.Bus
	// Reader tells which boards and threads exist: the api in one
	// process, its client apart.
	Reader maniwani.Reader
}

// maxKnown bounds the answers of the Reader kept.
const maxKnown = 10000

// Service serves the live streams.
type Service struct {
	cfg     Config
	bus     maniwani.Bus
	known   *known
	log     *slog.Logger
	tracer  trace.Tracer // of cfg.Tracer
	mux     *http.ServeMux
	ctx     context.Context // ends at Shutdown; the hubs' subscriptions live under it
	stop    context.CancelFunc
	once    sync.Once
	streams sync.WaitGroup // admitted streams: Run waits for those on connections taken over, which net/http no longer tracks

	mu     sync.Mutex
	closed bool
	hubs   map[string]*hub // by board
	ips    map[string]int  // open streams by client (realip.Key)
}

// writeTimeout bounds one write to a client: a client that does not take
// the bytes in that time is gone.
const writeTimeout = 30 * time.Second

// New makes the service; deps.Bus and deps.Reader are required.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("live: Deps.Bus is required")
	}
	if deps.Reader == nil {
		return nil, errors.New("live: Deps.Reader is required")
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, bus: deps.Bus, log: cfg.Logger, ctx: ctx, stop: stop,
		hubs: map[string]*hub{}, ips: map[string]int{},
		known:  newKnown(deps.Reader, cfg.Logger, cfg.ExistsFor, cfg.MissingFor, maxKnown),
		tracer: tracing.Tracer(cfg.Tracer),
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /live/{board}", s.handleStream)
	s.mux.HandleFunc("GET /live/{board}/{no}", s.handleStream)
	return s, nil
}

// Handler serves the routes.
func (s *Service) Handler() http.Handler { return s.mux }

// Run waits for ctx to end; then it calls Shutdown, so the streams end
// before the servers drain (which would wait on them), and waits (within
// 15 s) for them to end. Handler serves the streams meanwhile.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.Shutdown()
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return nil
}

// Shutdown tells every client to reconnect ("retry: 1000", then the end of
// the stream), closes the bus subscriptions, and answers later requests 503.
// It returns at once; the streams end on their own, within a second. Safe
// to call again.
func (s *Service) Shutdown() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		hubs := make([]*hub, 0, len(s.hubs))
		for _, h := range s.hubs {
			hubs = append(hubs, h)
		}
		s.mu.Unlock()
		// A client that does not take "retry:" at once gets a second.
		deadline := time.Now().Add(time.Second)
		for _, h := range hubs {
			h.mu.Lock()
			h.shut = true
			cs := append([]*client(nil), h.clients...)
			h.mu.Unlock()
			for _, c := range cs {
				c.closeWith(deadline)
			}
		}
		s.stop()
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
	if st.thread == 0 || it.reload {
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

	ip := realip.Key(s.cfg.Proxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For")))
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

	// After the cap, which costs nothing; before the hub, which would
	// subscribe to a board that is not there.
	switch ok, err := s.known.exists(r.Context(), st); {
	case r.Context().Err() != nil:
		return
	case err != nil:
		// Live updates do not hang on the api: the stream opens (known
		// logged why).
	case !ok:
		if st.thread == 0 {
			http.Error(w, "No such board.", http.StatusNotFound)
		} else {
			http.Error(w, "No such thread.", http.StatusNotFound)
		}
		return
	}

	// 1. Join the board's hub: from now on nothing is missed. Until the
	// client goes live the hub only queues for it.
	c := &client{s: s, st: st, idx: -1, replaying: true}
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
	if conn := takeConn(w, r); conn != nil {
		defer conn.Close()
		s.serveConn(r.Context(), c, conn, hd, r.ProtoAtLeast(1, 1), last)
		return
	}
	c.setWriter(w)
	w.WriteHeader(http.StatusOK)
	s.serveWriter(r.Context(), c, last)
}

// takeConn takes the connection over from w, or answers nil (the stream is
// then written through w).
func takeConn(w http.ResponseWriter, r *http.Request) net.Conn {
	if r.ProtoMajor != 1 || r.Method != http.MethodGet {
		return nil
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	// The request's deadlines may still be on it; the client's own are set
	// as it goes.
	_ = conn.SetDeadline(time.Time{})
	return conn
}

// responseHead is the answer's status line and header: chunked for an
// HTTP/1.1 client, else the body runs until the connection closes.
func responseHead(h http.Header, chunked bool) []byte {
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	if chunked {
		h.Set("Transfer-Encoding", "chunked")
	}
	h.Set("Connection", "close")
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// serveConn runs a stream on a connection of its own: the handler writes the
// head and the replay, then the hub writes, and the handler waits for the
// connection to close (or for the client to be ended, which makes its read
// fail).
func (s *Service) serveConn(ctx context.Context, c *client, conn net.Conn, hd http.Header, chunked bool, last string) {
	c.setConn(conn, chunked)
	defer func() {
		c.end(endGone)    // the hub writes no more ...
		c.flushers.Wait() // ... nor does a flush goroutine, whose write the end cut short
	}()
	// The head goes with the first comment: a proxy that streams the body
	// sends the header along with its first bytes.
	if c.writeRaw(append(responseHead(hd, chunked), c.wire(openFrame)...)) != nil {
		return
	}
	last, ok := s.replay(ctx, c, last)
	if !ok {
		return
	}
	if c.goLive(last) {
		c.flush()
	}
	var buf [16]byte
	for {
		// The client sends nothing more; a read ends when it goes away.
		if _, err := conn.Read(buf[:]); err != nil {
			break
		}
	}
}

// serveWriter runs a stream through w: the handler writes what the hub
// queues for the client.
func (s *Service) serveWriter(ctx context.Context, c *client, last string) {
	if c.writeNow(openFrame) != nil {
		return
	}
	last, ok := s.replay(ctx, c, last)
	if !ok {
		return
	}
	c.goLive(last)
	var frames [][]byte
	for {
		select {
		case <-c.wake:
		case <-ctx.Done():
			c.end(endGone)
			return
		}
		for {
			c.mu.Lock()
			if c.reason != 0 {
				c.mu.Unlock()
				return
			}
			if len(c.queue) == 0 {
				if c.closing {
					c.endLocked(endHub)
					c.mu.Unlock()
					return
				}
				c.mu.Unlock()
				break
			}
			frames = c.takeLocked(frames[:0])
			d := c.deadlineLocked()
			_ = c.rc.SetWriteDeadline(d)
			c.mu.Unlock()
			err := errKicked
			if d.After(time.Now()) {
				err = nil
				for _, f := range frames {
					if _, err = c.w.Write(f); err != nil {
						break
					}
				}
				if err == nil {
					err = c.rc.Flush()
				}
			}
			clear(frames)
			if err != nil {
				c.end(endGone)
				return
			}
		}
	}
}

// replay writes what the client missed after last, from the history, at
// most cfg.MaxReplay events of the board: a client further behind (an old
// or made-up Last-Event-ID such as 0-0) is told to reload instead, which
// costs it one fetch of the page and the service no more than that many
// events. It answers the last ID it wrote, and false when the stream has
// to end.
func (s *Service) replay(ctx context.Context, c *client, last string) (string, bool) {
	if last == "" {
		return "", true
	}
	ms, err := s.bus.Replay(ctx, maniwani.BoardTopic(c.st.board), last, s.cfg.MaxReplay+1)
	if errors.Is(err, maniwani.ErrHistoryGone) || len(ms) > s.cfg.MaxReplay {
		return last, c.writeNow(reloadFrame) == nil
	}
	if err != nil {
		s.log.Warn("live: replay failed", "board", c.st.board, "err", err)
		_ = c.writeRaw(c.retry())
		return last, false
	}
	var page []byte
	for _, m := range ms {
		last = m.ID
		page = append(page, c.st.frames(render(s.log, m))...)
	}
	if len(page) > 0 && c.writeNow(page) != nil {
		return last, false
	}
	return last, true
}

// replayPage is how many events the hub reads at a time when it catches up.
const replayPage = 100

var (
	keepaliveFrame = []byte(": keepalive\n\n")
	retryFrame     = []byte("retry: 1000\n\n")
	openFrame      = []byte(": open\n\n")
	reloadFrame    = []byte("event: reload\ndata: {}\n\n")

	// As chunks; the last "retry:" ends the body, too.
	keepaliveChunk = chunk(keepaliveFrame)
	retryChunkEnd  = append(chunk(retryFrame), "0\r\n\r\n"...)
)

// chunk is p as one chunk of a chunked body; nil for nothing.
func chunk(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	b := make([]byte, 0, len(p)+16)
	b = strconv.AppendInt(b, int64(len(p)), 16)
	b = append(b, "\r\n"...)
	b = append(b, p...)
	return append(b, "\r\n"...)
}

// admit counts a stream of the client ip (a realip.Key), or refuses it.
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
	s.streams.Add(1) // under s.mu, before closed: never after Run's Wait began
	return nil
}

var errTooMany = errors.New("live: too many streams")

func (s *Service) leave(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ips[ip]--; s.ips[ip] <= 0 {
		delete(s.ips, ip)
	}
	s.streams.Done()
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
