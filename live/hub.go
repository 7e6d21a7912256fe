package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/maniwani/maniwani"
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
	clients map[*client]struct{}
	ended   bool

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
			ready: make(chan struct{}), clients: map[*client]struct{}{}}
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
	ended := h.ended
	if !ended {
		h.clients[c] = struct{}{}
	}
	h.mu.Unlock()
	if ended {
		s.release(h)
		return nil, maniwani.ErrClosed
	}
	return h, nil
}

// part takes c off its hub; the last client out closes the hub.
func (s *Service) part(h *hub, c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	s.release(h)
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
	h.run(ctx, sub)
}

// run delivers the subscription's messages, re-subscribing when it breaks.
func (h *hub) run(ctx context.Context, sub maniwani.Subscription) {
	defer h.end()
	for {
		for m := range sub.C() {
			h.deliver(m)
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
		if errors.Is(err, maniwani.ErrHistoryGone) {
			h.broadcast(&item{reload: true})
			return nil
		}
		if err != nil {
			return err
		}
		for _, m := range ms {
			h.deliver(m)
			after = m.ID
		}
		if len(ms) < replayPage {
			return nil
		}
	}
}

// deliver sends m to every client, unless it was delivered already.
func (h *hub) deliver(m maniwani.Message) {
	if h.last != "" && maniwani.CompareIDs(m.ID, h.last) <= 0 {
		return
	}
	h.last = m.ID
	h.broadcast(render(h.s.log, m))
}

// broadcast queues it for every client; a client with a full buffer is
// dropped.
func (h *hub) broadcast(it *item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.ch <- it:
		default:
			delete(h.clients, c)
			c.reason = endSlow
			close(c.ch)
			c.kick(time.Now())
			h.s.log.Info("live: dropped a client that fell behind", "board", h.board)
		}
	}
}

// end closes every client's channel: the hub is done.
func (h *hub) end() {
	h.s.mu.Lock()
	if h.s.hubs[h.board] == h {
		delete(h.s.hubs, h.board)
	}
	h.s.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	for c := range h.clients {
		delete(h.clients, c)
		c.reason = endHub
		close(c.ch)
	}
}
