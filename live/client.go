// A client: one open stream as its hub sees it, its queue, and the writes
// to its connection or ResponseWriter.

package live

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/maniwani/maniwani"
)

// client is one open stream, as its hub sees it. Its connection is written
// by one goroutine at a time: the hub while nothing waits in the queue (and
// the client is live and not busy), the goroutine that writes the queue
// out otherwise.
type client struct {
	s    *Service
	st   stream
	idx  int    // in hub.clients, under hub.mu; -1: not there
	next uint64 // the number of the first batch of the hub's log it has not had: set by join, then under mu

	// Either a connection of its own: the hub writes it through raw when
	// the socket is there (a write that never waits), a flush goroutine
	// writes what waits in the queue, and the handler reads it ...
	conn     net.Conn
	chunked  bool // its body is chunked (HTTP/1.1): each write is one chunk
	raw      syscall.RawConn
	rawFn    func(fd uintptr) bool // c.rawWrite, made once
	wbufs    [][]byte              // rawWrite's bytes, in order
	wi, wn   int                   // how many of them it wrote: wbufs[:wi], and wn bytes of wbufs[wi]
	wiov     *writeBuf             // the scratch of the writer that called it
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
	joined    string    // the last ID the hub had taken when the client joined: it gets none up to it
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
	// What the hub took before the client joined, still in a batch it
	// gathers, is not the client's: it came before the stream opened.
	if c.joined != "" && (last == "" || maniwani.CompareIDs(c.joined, last) > 0) {
		last = c.joined
	}
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

// writeBuf is one writer goroutine's scratch for the writes it makes.
type writeBuf struct {
	frames [][]byte
	iov    []iovec
}

// one is p as the only write of w.frames.
func (w *writeBuf) one(p []byte) [][]byte {
	w.frames = append(w.frames[:0], p)
	return w.frames
}

// offer hands the client what of the log v it has not had, in one write.
// It answers true when the client fell behind: it is ended then, and its
// hub drops it.
func (c *client) offer(v *logView, w *writeBuf) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	bs := v.since(c.next)
	if len(bs) == 0 {
		return false
	}
	c.next = v.end()
	if c.reason != 0 || c.closing {
		return false
	}
	if c.replaying {
		for _, b := range bs {
			for _, it := range b.items {
				if f := c.st.frames(it); f != nil {
					if !c.queueLocked(entry{id: it.id, frames: c.wire(f)}) {
						return true
					}
				}
			}
		}
		return false
	}
	fs := w.frames[:0]
	for _, b := range bs {
		var f []byte
		if c.after != "" {
			f = c.afterLocked(b)
		} else {
			f = b.frames(c.st, c.chunked)
		}
		if len(f) > 0 {
			fs = append(fs, f)
		}
	}
	w.frames = fs
	defer clear(fs)
	if len(fs) == 0 {
		return false
	}
	return !c.sendLocked(fs, w)
}

// afterLocked is what of b came after the replay: the subscription may lag
// behind the history the replay read (Redis). Once the hub brings an event
// after it, all that follows is too.
func (c *client) afterLocked(b *batch) []byte {
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
		return b.frames(c.st, c.chunked) // the same bytes, shared
	}
	if len(f) == 0 {
		return nil
	}
	return c.wire(f)
}

// beat sends a comment line, unless writes wait: then the stream is busy.
func (c *client) beat(w *writeBuf) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != 0 || c.closing || c.replaying || c.busy || len(c.queue) > 0 {
		return
	}
	if c.chunked {
		c.sendLocked(w.one(keepaliveChunk), w)
	} else {
		c.sendLocked(w.one(keepaliveFrame), w)
	}
	clear(w.frames)
}

// sendLocked writes fs, in order, or what of them the socket does not take
// at once queues; false: the queue was full and the client is ended.
func (c *client) sendLocked(fs [][]byte, w *writeBuf) bool {
	if c.busy || len(c.queue) > 0 || c.raw == nil {
		for _, f := range fs {
			if !c.queueLocked(entry{frames: f}) {
				return false
			}
		}
		c.startLocked()
		return true
	}
	i, n, err := c.tryWrite(fs, w)
	if err != nil {
		c.endLocked(endGone)
		return true
	}
	if i < len(fs) {
		c.queue = append(c.queue, entry{frames: fs[i][n:]})
		for _, f := range fs[i+1:] {
			if !c.queueLocked(entry{frames: f}) {
				return false
			}
		}
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

// tryWrite writes what of fs the socket takes now, without waiting, in
// one system call when it takes it all: fs[:i] and n bytes of fs[i]. Under
// c.mu, with c.raw set; w is the caller's scratch (nil: fs is one write).
func (c *client) tryWrite(fs [][]byte, w *writeBuf) (i, n int, err error) {
	c.wbufs, c.wi, c.wn, c.wiov, c.werr = fs, 0, 0, w, nil
	err = c.raw.Write(c.rawFn)
	i, n = c.wi, c.wn
	if err == nil {
		err = c.werr
	}
	c.wbufs, c.wiov, c.werr = nil, nil, nil
	return i, n, err
}

// rawWrite is tryWrite's call on the socket.
func (c *client) rawWrite(fd uintptr) bool {
	for c.wi < len(c.wbufs) {
		var n int
		var err error
		if rest := c.wbufs[c.wi:]; len(rest) == 1 || c.wiov == nil {
			n, err = sockWrite(fd, rest[0][c.wn:])
		} else {
			n, err = sockWritev(fd, rest, c.wn, &c.wiov.iov)
		}
		for left := n; left > 0; {
			if k := len(c.wbufs[c.wi]) - c.wn; left >= k {
				left -= k
				c.wi++
				c.wn = 0
			} else {
				c.wn += left
				left = 0
			}
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
	i, n, err := c.tryWrite([][]byte{retry}, nil)
	if err != nil || i == 1 {
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
