// The hub: one bus subscription per board, shared by the board's clients on
// this Service; it resumes after a broken subscription and fans each batch
// out to its clients.

package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
)

// hub is the one bus subscription of a board's topic, shared by every client
// of the board (its board stream and its thread streams) on this Service.
//
// It follows bus.go's resume recipe for itself: when its subscription ends
// with an error (a slow subscriber, a lost Redis connection) it subscribes
// again, replays the history after the last ID it delivered, and skips what
// it already delivered, so its clients miss nothing; when that history is
// gone they get a reload item.
type hub struct {
	s      *Service
	board  string
	topic  string
	cancel context.CancelFunc
	ready  chan struct{} // closed once the first Subscribe returned
	err    error         // its error, set before ready closes

	refs int // clients that joined and did not part, under s.mu

	mu      sync.Mutex
	clients []*client // each at its idx
	ended   bool      // the subscription is over
	shut    bool      // Shutdown: no more clients
	taken   string    // the ID of the last message taken from the bus

	// The batches not yet with every client: appended under mu, read
	// without it (a view never changes).
	log  atomic.Pointer[logView]
	more chan struct{} // a batch was appended: the sweeper has work
	room chan struct{} // the log was trimmed: run may append again

	send sync.Mutex  // one fan-out at a time
	snap []*client   // the clients of the fan-out under way, under send
	bufs []*writeBuf // the fan-out's writers' scratch, under send

	sweeping sync.Mutex // one sweep at a time
	swept    uint64     // every client has the batches before it, under sweeping

	// owned by the run goroutine
	last  string // the ID of the last message delivered
	floor string // replay from here when nothing was delivered yet
}

// join adds c to the board's hub, making the hub (and its subscription)
// when it is the first client. When join returns, c gets every message
// published from then on.
func (s *Service) join(ctx context.Context, board string, c *client) (*hub, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errShutdown
	}
	h := s.hubs[board]
	first := h == nil
	if first {
		hctx, cancel := context.WithCancel(s.ctx)
		h = &hub{s: s, board: board, topic: maniwani.BoardTopic(board), cancel: cancel,
			ready: make(chan struct{}), more: make(chan struct{}, 1), room: make(chan struct{}, 1)}
		h.log.Store(&logView{})
		s.hubs[board] = h
		go h.start(hctx)
	}
	h.refs++
	s.mu.Unlock()

	select {
	case <-h.ready:
	case <-ctx.Done():
		s.release(h)
		return nil, ctx.Err()
	}
	if h.err != nil {
		s.release(h)
		return nil, h.err
	}
	h.mu.Lock()
	err := error(nil)
	switch {
	case h.shut:
		err = errShutdown
	case h.ended:
		err = maniwani.ErrClosed
	default:
		c.idx = len(h.clients)
		c.next = h.log.Load().end()
		c.joined = h.taken
		h.clients = append(h.clients, c)
	}
	h.mu.Unlock()
	if err != nil {
		s.release(h)
		return nil, err
	}
	return h, nil
}

// part takes c off its hub; the last client out closes the hub.
func (s *Service) part(h *hub, c *client) {
	c.end(endGone)
	h.mu.Lock()
	h.remove(c)
	h.mu.Unlock()
	s.release(h)
}

// remove takes c off the list, under h.mu.
func (h *hub) remove(c *client) {
	i := c.idx
	if i < 0 || i >= len(h.clients) || h.clients[i] != c {
		return
	}
	n := len(h.clients) - 1
	h.clients[i] = h.clients[n]
	h.clients[i].idx = i
	h.clients[n] = nil
	h.clients = h.clients[:n]
	c.idx = -1
}

// release drops a reference to h; the last one closes it.
func (s *Service) release(h *hub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.refs--; h.refs == 0 {
		if s.hubs[h.board] == h {
			delete(s.hubs, h.board)
		}
		h.cancel()
	}
}

// start subscribes, then runs the hub until its ctx ends or the bus closes.
func (h *hub) start(ctx context.Context) {
	h.floor = fmt.Sprintf("%d-0", time.Now().Add(-time.Second).UnixMilli())
	sub, err := h.s.bus.Subscribe(ctx, h.topic)
	h.err = err
	close(h.ready)
	if err != nil {
		h.end()
		return
	}
	go h.beat(ctx)
	go h.sweeper(ctx)
	h.run(ctx, sub)
}

// maxBatch bounds the messages that go out together: those that came
// within the coalescing window and while the previous fan-out was being
// written. It bounds a write, too: a client's queue holds at most
// SendBuffer of them.
const maxBatch = 64

// run delivers the subscription's messages, re-subscribing when it breaks.
func (h *hub) run(ctx context.Context, sub maniwani.Subscription) {
	defer h.end()
	batch := make([]maniwani.Message, 0, maxBatch)
	var window *time.Timer
	if h.s.cfg.Coalesce > 0 {
		window = time.NewTimer(h.s.cfg.Coalesce)
		window.Stop()
		defer window.Stop()
	}
	for {
		m, ok := <-sub.C()
		if ok {
			h.took(m)
			batch, ok = h.gather(sub, window, append(batch[:0], m))
			h.deliver(ctx, batch)
			clear(batch)
			if ok {
				continue
			}
		}
		err := sub.Err()
		if ctx.Err() != nil || errors.Is(err, maniwani.ErrClosed) {
			return
		}
		h.s.log.Warn("live: subscription lost, resuming", "topic", h.topic, "err", err)
		if sub = h.resume(ctx); sub == nil {
			return
		}
	}
}

// gather adds to batch (its first message just taken) what comes within
// the window (nil: none), then what else waits, up to maxBatch: all of it
// goes out in one write per client. Each write costs about the same
// whatever it carries, so a hot thread's events cost one write per window,
// not one each. It answers false when the subscription ended.
func (h *hub) gather(sub maniwani.Subscription, window *time.Timer, batch []maniwani.Message) ([]maniwani.Message, bool) {
	if window != nil {
		window.Reset(h.s.cfg.Coalesce)
		for len(batch) < maxBatch {
			select {
			case m, ok := <-sub.C():
				if !ok {
					window.Stop()
					return batch, false
				}
				h.took(m)
				batch = append(batch, m)
				continue
			case <-window.C:
			}
			break
		}
		window.Stop()
	}
	for len(batch) < maxBatch {
		select {
		case m, ok := <-sub.C():
			if !ok {
				return batch, false
			}
			h.took(m)
			batch = append(batch, m)
		default:
			return batch, true
		}
	}
	return batch, true
}

// resume subscribes again and delivers what the history kept since the last
// delivered message; it retries until ctx ends or the bus closes (nil).
func (h *hub) resume(ctx context.Context) maniwani.Subscription {
	wait := 50 * time.Millisecond
	for {
		sub, err := h.s.bus.Subscribe(ctx, h.topic)
		if err == nil {
			err = h.catchUp(ctx)
			if err == nil {
				return sub
			}
			sub.Close()
		}
		if ctx.Err() != nil || errors.Is(err, maniwani.ErrClosed) {
			return nil
		}
		h.s.log.Warn("live: resuming failed", "topic", h.topic, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (h *hub) catchUp(ctx context.Context) error {
	after := h.last
	if after == "" {
		after = h.floor
	}
	for {
		ms, err := h.s.bus.Replay(ctx, h.topic, after, replayPage)
		if len(ms) > 0 {
			h.took(ms[len(ms)-1])
		}
		if errors.Is(err, maniwani.ErrHistoryGone) {
			return h.publish(ctx, newBatch([]*item{{reload: true, boardFrames: reloadFrame, threadFrames: reloadFrame}}))
		}
		if err != nil {
			return err
		}
		if err := h.deliver(ctx, ms); err != nil {
			return err
		}
		if len(ms) > 0 {
			after = ms[len(ms)-1].ID
		}
		if len(ms) < replayPage {
			return nil
		}
	}
}

// took notes m as taken from the bus: a client that joins from now on
// gets only what comes after it (join).
func (h *hub) took(m maniwani.Message) {
	h.mu.Lock()
	h.taken = m.ID
	h.mu.Unlock()
}

// deliver hands ms to the sweeper, but those delivered already; it fails
// only when ctx ends first.
func (h *hub) deliver(ctx context.Context, ms []maniwani.Message) error {
	items := make([]*item, 0, len(ms))
	for _, m := range ms {
		if h.last != "" && maniwani.CompareIDs(m.ID, h.last) <= 0 {
			continue
		}
		h.last = m.ID
		items = append(items, render(h.s.log, m))
	}
	if len(items) == 0 {
		return nil
	}
	b := newBatch(items)
	b.spans = h.s.deliverySpans(items)
	return h.publish(ctx, b)
}

// deliverySpans starts, for each item that came with a trace, the span of
// its delivery, as a child of the span that published it: a post's trace
// ends with live handing it to its viewers. Nil with tracing off.
func (s *Service) deliverySpans(items []*item) []trace.Span {
	if s.cfg.Tracer == nil {
		return nil
	}
	var spans []trace.Span
	for _, it := range items {
		if it.trace == nil {
			continue
		}
		ctx := tracing.FromMessage(context.Background(), it.trace)
		_, sp := s.tracer.Start(ctx, "live.deliver "+it.kind, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(tracing.Board.String(it.board), tracing.PostNo.Int64(it.no),
				attribute.String("maniwani.live.event", it.id)))
		spans = append(spans, sp)
	}
	return spans
}

// beat sends every client a comment line every Heartbeat: one ticker for the
// hub, not one per client. A client with writes waiting gets none; its
// stream is not quiet.
func (h *hub) beat(ctx context.Context) {
	t := time.NewTicker(h.s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.fanOut(func(c *client, w *writeBuf) bool { c.beat(w); return false })
		}
	}
}

// perWriter is the fewest clients worth another writer goroutine.
const perWriter = 512

// fanOut runs f for every client, on up to cfg.Writers goroutines, each
// with its scratch; the clients for which f answers true fell behind: they
// are taken off.
func (h *hub) fanOut(f func(*client, *writeBuf) bool) {
	h.send.Lock()
	defer h.send.Unlock()
	h.mu.Lock()
	h.snap = append(h.snap[:0], h.clients...)
	h.mu.Unlock()
	cs := h.snap
	defer clear(cs)

	var dropped []*client
	n := min(h.s.cfg.Writers, len(cs)/perWriter)
	for len(h.bufs) < max(n, 1) {
		h.bufs = append(h.bufs, &writeBuf{})
	}
	if n <= 1 {
		for _, c := range cs {
			if f(c, h.bufs[0]) {
				dropped = append(dropped, c)
			}
		}
	} else {
		var wg sync.WaitGroup
		var mu sync.Mutex
		size := (len(cs) + n - 1) / n
		for i, w := 0, 0; i < len(cs); i, w = i+size, w+1 {
			part, buf := cs[i:min(i+size, len(cs))], h.bufs[w]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range part {
					if f(c, buf) {
						mu.Lock()
						dropped = append(dropped, c)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	if len(dropped) == 0 {
		return
	}
	h.mu.Lock()
	for _, c := range dropped {
		h.remove(c)
	}
	h.mu.Unlock()
	for range dropped {
		h.s.log.Info("live: dropped a client that fell behind", "board", h.board)
	}
}

// end ends every client, with "retry:" after what the log still holds:
// the hub is done.
func (h *hub) end() {
	h.sweep()
	h.s.mu.Lock()
	if h.s.hubs[h.board] == h {
		delete(h.s.hubs, h.board)
	}
	h.s.mu.Unlock()
	h.mu.Lock()
	h.ended = true
	cs := h.clients
	h.clients = nil
	for _, c := range cs {
		c.idx = -1
	}
	h.mu.Unlock()
	deadline := time.Now().Add(time.Second)
	for _, c := range cs {
		c.closeWith(deadline)
	}
	h.cancel()
}
