package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
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
	clients []*client // each at its idx
	ended   bool      // the subscription is over
	shut    bool      // Shutdown: no more clients

	send sync.Mutex // one fan-out at a time
	snap []*client  // the clients of the fan-out under way, under send

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
			ready: make(chan struct{})}
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
	h.run(ctx, sub)
}

// maxBatch bounds the messages that go out together: those that came while
// the previous fan-out was being written.
const maxBatch = 64

// run delivers the subscription's messages, re-subscribing when it breaks.
func (h *hub) run(ctx context.Context, sub maniwani.Subscription) {
	defer h.end()
	batch := make([]maniwani.Message, 0, maxBatch)
	for {
		m, ok := <-sub.C()
		if ok {
			// What else has come meanwhile goes with it, in one write.
			batch = append(batch[:0], m)
		more:
			for len(batch) < maxBatch {
				select {
				case m, ok = <-sub.C():
					if !ok {
						break more
					}
					batch = append(batch, m)
				default:
					break more
				}
			}
			h.deliver(batch)
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
			h.broadcast(newBatch([]*item{{reload: true, boardFrames: reloadFrame, threadFrames: reloadFrame}}))
			return nil
		}
		if err != nil {
			return err
		}
		h.deliver(ms)
		if len(ms) > 0 {
			after = ms[len(ms)-1].ID
		}
		if len(ms) < replayPage {
			return nil
		}
	}
}

// deliver sends ms to every client, but those delivered already.
func (h *hub) deliver(ms []maniwani.Message) {
	items := make([]*item, 0, len(ms))
	for _, m := range ms {
		if h.last != "" && maniwani.CompareIDs(m.ID, h.last) <= 0 {
			continue
		}
		h.last = m.ID
		items = append(items, render(h.s.log, m))
	}
	if len(items) > 0 {
		h.broadcast(newBatch(items))
	}
}

// broadcast gives b to every client; a client that fell behind is dropped.
func (h *hub) broadcast(b *batch) {
	h.fanOut(func(c *client) bool { return c.offer(b) })
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
			h.fanOut(func(c *client) bool { c.beat(); return false })
		}
	}
}

// perWriter is the fewest clients worth another writer goroutine.
const perWriter = 512

// fanOut runs f for every client, on up to cfg.Writers goroutines; the
// clients for which f answers true fell behind: they are taken off.
func (h *hub) fanOut(f func(*client) bool) {
	h.send.Lock()
	defer h.send.Unlock()
	h.mu.Lock()
	h.snap = append(h.snap[:0], h.clients...)
	h.mu.Unlock()
	cs := h.snap
	defer clear(cs)

	var dropped []*client
	n := min(h.s.cfg.Writers, len(cs)/perWriter)
	if n <= 1 {
		for _, c := range cs {
			if f(c) {
				dropped = append(dropped, c)
			}
		}
	} else {
		var wg sync.WaitGroup
		var mu sync.Mutex
		size := (len(cs) + n - 1) / n
		for i := 0; i < len(cs); i += size {
			part := cs[i:min(i+size, len(cs))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range part {
					if f(c) {
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

// end ends every client, with "retry:": the hub is done.
func (h *hub) end() {
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

// batch is what one fan-out sends: items, and what of them each stream
// shows, joined into one write, as it is and as a chunk: made once for all
// the clients.
type batch struct {
	items          []*item
	plain, chunked frameSet
}

// frameSet is a batch's bytes for each stream.
type frameSet struct {
	board  []byte           // the board stream's
	thread map[int64][]byte // the streams of the threads the items are about
	other  []byte           // any other thread's stream (reloads)
}

func newBatch(items []*item) *batch {
	join := func(st stream) []byte {
		if len(items) == 1 {
			return st.frames(items[0])
		}
		var out []byte
		for _, it := range items {
			out = append(out, st.frames(it)...)
		}
		return out
	}
	b := &batch{items: items}
	b.plain = frameSet{board: join(stream{}), other: join(stream{thread: -1}), thread: map[int64][]byte{}}
	b.chunked = frameSet{board: chunk(b.plain.board), other: chunk(b.plain.other), thread: map[int64][]byte{}}
	for _, it := range items {
		if _, ok := b.plain.thread[it.thread]; it.thread > 0 && !ok {
			f := join(stream{thread: it.thread})
			b.plain.thread[it.thread], b.chunked.thread[it.thread] = f, chunk(f)
		}
	}
	return b
}

// frames is what the stream shows of the batch, chunked or not; nil:
// nothing.
func (b *batch) frames(st stream, chunked bool) []byte {
	fs := &b.plain
	if chunked {
		fs = &b.chunked
	}
	f := fs.board
	if st.thread != 0 {
		var ok bool
		if f, ok = fs.thread[st.thread]; !ok {
			f = fs.other
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// client is one open stream, as its hub sees it. Its connection is written
// by one goroutine at a time: the hub while nothing waits in the queue (and
// the client is live and not busy), the goroutine that writes the queue
// out otherwise.
type client struct {
	s   *Service
	st  stream
	idx int // in hub.clients, under hub.mu; -1: not there

	// Either a connection of its own: the hub writes it through raw when
	// the socket is there (a write that never waits), a flush goroutine
	// writes what waits in the queue, and the handler reads it ...
	conn     net.Conn
	chunked  bool // its body is chunked (HTTP/1.1): each write is one chunk
	raw      syscall.RawConn
	rawFn    func(fd uintptr) bool // c.rawWrite, made once
	wbuf     []byte                // rawWrite's bytes
	wn       int                   // how many of them it wrote
	werr     error                 // its error
	flushers sync.WaitGroup        // the flush goroutine: the handler waits for it, as the connection is not its own once the handler returns
	// ... or a ResponseWriter, which only its handler writes (woken by wake).
	w    http.ResponseWriter
	rc   *http.ResponseController
	wake chan struct{}

	mu        sync.Mutex
	queue     []entry   // waiting to be written, oldest first
	replaying bool      // the handler writes the replay; the hub only queues
	after     string    // the replay's last ID: the hub may still bring what it wrote
	busy      bool      // a goroutine writes the queue out; the hub only queues
	closing   bool      // end once the queue ("retry:" last) is written
	reason    int       // why it ended; 0 while open
	limit     time.Time // writes fail after it; zero: no limit but writeTimeout
}

// entry is a write waiting in a client's queue.
type entry struct {
	id     string // the event's, while the client replays; else ""
	frames []byte
}

const (
	endHub  = 1 // the hub ended, or Shutdown: "retry:" went out
	endSlow = 2 // the client's queue was full
	endGone = 3 // the connection failed or closed, or the handler returned
)

var errKicked = errors.New("live: client dropped")

// setConn makes c a client on a connection of its own.
func (c *client) setConn(conn net.Conn, chunked bool) {
	var raw syscall.RawConn
	if sc, ok := conn.(syscall.Conn); ok && socketWrites {
		raw, _ = sc.SyscallConn()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn, c.raw, c.chunked = conn, raw, chunked
	if raw != nil {
		c.rawFn = c.rawWrite
	}
	c.deadlinesLocked()
}

// setWriter makes c a client written through w.
func (c *client) setWriter(w http.ResponseWriter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w, c.rc, c.wake = w, http.NewResponseController(w), make(chan struct{}, 1)
	c.deadlinesLocked()
}

// deadlinesLocked puts the client's state on its connection: a kicked or
// ended client's writes (and, once ended, its handler's read) fail.
func (c *client) deadlinesLocked() {
	past := time.Unix(1, 0)
	switch {
	case c.conn != nil && c.reason != 0:
		_ = c.conn.SetWriteDeadline(past)
		_ = c.conn.SetReadDeadline(past)
	case c.conn != nil && !c.limit.IsZero():
		_ = c.conn.SetWriteDeadline(c.limit)
	case c.rc != nil && c.reason != 0:
		_ = c.rc.SetWriteDeadline(past)
	case c.rc != nil && !c.limit.IsZero():
		_ = c.rc.SetWriteDeadline(c.limit)
	}
	if c.wake != nil && (c.reason != 0 || c.closing) {
		c.signal()
	}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deadlineLocked is when a write that starts now must be done.
func (c *client) deadlineLocked() time.Time {
	d := time.Now().Add(writeTimeout)
	if !c.limit.IsZero() && c.limit.Before(d) {
		d = c.limit
	}
	return d
}

// wire is p as the client's connection carries it: a chunk, or as it is.
func (c *client) wire(p []byte) []byte {
	if c.chunked {
		return chunk(p)
	}
	return p
}

// retry is what ends the stream: "retry:", and the end of a chunked body.
func (c *client) retry() []byte {
	if c.chunked {
		return retryChunkEnd
	}
	return retryFrame
}

// writeNow writes p (frames) and waits until it is written: the handler's
// writes before the client is live (the hub only queues then).
func (c *client) writeNow(p []byte) error { return c.writeRaw(c.wire(p)) }

// writeRaw is writeNow of bytes as they go on the connection.
func (c *client) writeRaw(p []byte) error {
	c.mu.Lock()
	d := c.deadlineLocked()
	if c.reason != 0 || !d.After(time.Now()) {
		c.mu.Unlock()
		return errKicked
	}
	if c.conn != nil {
		_ = c.conn.SetWriteDeadline(d)
		c.mu.Unlock()
		_, err := c.conn.Write(p)
		return err
	}
	_ = c.rc.SetWriteDeadline(d)
	c.mu.Unlock()
	if _, err := c.w.Write(p); err != nil {
		return err
	}
	return c.rc.Flush()
}

// goLive ends the replay: the queue keeps what came after last, and from
// now on the hub writes. It answers true when the caller (on a connection
// of its own) has to write the queue out with flush.
func (c *client) goLive(last string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last != "" {
		q := c.queue[:0]
		for _, e := range c.queue {
			if e.id == "" || maniwani.CompareIDs(e.id, last) > 0 {
				q = append(q, e)
			}
		}
		clear(c.queue[len(q):])
		c.queue = q
	}
	for i := range c.queue {
		c.queue[i].id = ""
	}
	c.replaying = false
	c.after = last
	if c.reason != 0 || (len(c.queue) == 0 && !c.closing) {
		return false
	}
	if c.wake != nil {
		c.signal()
		return false
	}
	c.busy = true
	return true
}

// offer hands the client what a fan-out sends. It answers true when the
// client fell behind: it is ended then, and its hub drops it.
func (c *client) offer(b *batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != 0 || c.closing {
		return false
	}
	if c.replaying {
		for _, it := range b.items {
			if f := c.st.frames(it); f != nil {
				if !c.queueLocked(entry{id: it.id, frames: c.wire(f)}) {
					return true
				}
			}
		}
		return false
	}
	if c.after != "" {
		return !c.sendAfterLocked(b)
	}
	f := b.frames(c.st, c.chunked)
	if f == nil {
		return false
	}
	return !c.sendLocked(f)
}

// sendAfterLocked sends what of b came after the replay: the subscription
// may lag behind the history the replay read (Redis). Once the hub brings
// an event after it, all that follows is too.
func (c *client) sendAfterLocked(b *batch) bool {
	var f []byte
	all := true
	for _, it := range b.items {
		if !it.reload {
			if maniwani.CompareIDs(it.id, c.after) <= 0 {
				all = false
				continue
			}
			c.after = ""
		}
		f = append(f, c.st.frames(it)...)
	}
	if all {
		f = b.frames(c.st, c.chunked) // the same bytes, shared
	} else {
		f = c.wire(f)
	}
	if len(f) == 0 {
		return true
	}
	return c.sendLocked(f)
}

// beat sends a comment line, unless writes wait: then the stream is busy.
func (c *client) beat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != 0 || c.closing || c.replaying || c.busy || len(c.queue) > 0 {
		return
	}
	if c.chunked {
		c.sendLocked(keepaliveChunk)
	} else {
		c.sendLocked(keepaliveFrame)
	}
}

// sendLocked writes f, or what of f the socket does not take at once
// queues; false: the queue was full and the client is ended.
func (c *client) sendLocked(f []byte) bool {
	if c.busy || len(c.queue) > 0 || c.raw == nil {
		if !c.queueLocked(entry{frames: f}) {
			return false
		}
		c.startLocked()
		return true
	}
	n, err := c.tryWrite(f)
	if err != nil {
		c.endLocked(endGone)
		return true
	}
	if n < len(f) {
		c.queue = append(c.queue, entry{frames: f[n:]})
		c.startLocked()
	}
	return true
}

// queueLocked appends e, or ends a client whose queue is full (false).
func (c *client) queueLocked(e entry) bool {
	if len(c.queue) >= c.s.cfg.SendBuffer {
		c.endLocked(endSlow)
		return false
	}
	c.queue = append(c.queue, e)
	return true
}

// startLocked has the queue written out: by the handler, through a
// ResponseWriter; by a goroutine of its own, on a connection.
func (c *client) startLocked() {
	if c.wake != nil {
		c.signal()
		return
	}
	if !c.busy && !c.replaying {
		c.busy = true
		c.flushers.Add(1)
		go func() {
			defer c.flushers.Done()
			c.flush()
		}()
	}
}

// tryWrite writes what of p the socket takes now, without waiting; under
// c.mu, with c.raw set.
func (c *client) tryWrite(p []byte) (int, error) {
	c.wbuf, c.wn, c.werr = p, 0, nil
	err := c.raw.Write(c.rawFn)
	n := c.wn
	if err == nil {
		err = c.werr
	}
	c.wbuf, c.werr = nil, nil
	return n, err
}

// rawWrite is tryWrite's call on the socket.
func (c *client) rawWrite(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		n, err := sockWrite(fd, c.wbuf[c.wn:])
		if n > 0 {
			c.wn += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			c.werr = err
			return true
		case n <= 0:
			return true
		}
	}
	return true
}

// flush writes the queue out, waiting as long as it takes (within the
// write deadline), on a connection of the client's own; it runs while
// c.busy, then the hub writes again.
func (c *client) flush() {
	var bufs net.Buffers
	for {
		c.mu.Lock()
		if c.reason != 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.busy = false
			if c.closing {
				c.endLocked(endHub)
			}
			c.mu.Unlock()
			return
		}
		bufs = c.takeLocked(bufs[:0])
		d := c.deadlineLocked()
		if !d.After(time.Now()) {
			c.endLocked(endGone)
			c.mu.Unlock()
			return
		}
		_ = c.conn.SetWriteDeadline(d)
		c.mu.Unlock()
		if _, err := bufs.WriteTo(c.conn); err != nil {
			c.end(endGone)
			return
		}
	}
}

// takeLocked empties the queue into dst, its writes in order.
func (c *client) takeLocked(dst [][]byte) [][]byte {
	for _, e := range c.queue {
		dst = append(dst, e.frames)
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	return dst
}

// closeWith ends the client after a "retry:", which it has until deadline
// to take.
func (c *client) closeWith(deadline time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != 0 || c.closing {
		return
	}
	c.closing = true
	if c.limit.IsZero() || deadline.Before(c.limit) {
		c.limit = deadline
	}
	c.deadlinesLocked()
	retry := c.retry()
	if c.replaying || c.busy || len(c.queue) > 0 || c.raw == nil {
		c.queue = append(c.queue, entry{frames: retry})
		c.startLocked()
		return
	}
	n, err := c.tryWrite(retry)
	if err != nil || n == len(retry) {
		c.endLocked(endHub)
		return
	}
	c.queue = append(c.queue, entry{frames: retry[n:]})
	c.startLocked()
}

// end ends the client, unless it ended already.
func (c *client) end(reason int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked(reason)
}

// endLocked marks the client ended: its writes fail from now on, and so
// does its handler's read of the connection, which lets the handler return.
func (c *client) endLocked(reason int) {
	if c.reason != 0 {
		return
	}
	c.reason = reason
	clear(c.queue)
	c.queue = nil
	c.deadlinesLocked()
}
