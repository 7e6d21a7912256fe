// The client connection: the per-write timeout, the linger after a
// refused body, and a cached body sent beside its header in one writev.

package router

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// writevMin is the smallest body sent beside the header in one writev rather
// than copied behind it into the connection's write buffer.
const writevMin = 2048

// listener hands the server connections that can send a cached body without
// copying it: see conn. It keeps them in fresh until they send a byte.
type listener struct {
	net.Listener
	writeTimeout time.Duration
	fresh        *freshConns
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cn := &conn{Conn: c, writeTimeout: l.writeTimeout, fresh: l.fresh}
	l.fresh.add(cn)
	return cn, nil
}

// freshConns are the connections that have not sent a byte yet: a client
// opens them ahead of need and keeps them idle. fasthttp's shutdown closes
// a connection idle between two requests, but counts one that waits for
// its first as busy, and then waits for it to its read timeout; Run closes
// these itself.
type freshConns struct {
	mu sync.Mutex
	m  map[*conn]struct{}
}

func newFreshConns() *freshConns { return &freshConns{m: map[*conn]struct{}{}} }

func (f *freshConns) add(c *conn) {
	f.mu.Lock()
	f.m[c] = struct{}{}
	f.mu.Unlock()
}

func (f *freshConns) remove(c *conn) {
	f.mu.Lock()
	delete(f.m, c)
	f.mu.Unlock()
}

// closeAll closes the connections that have still sent nothing.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.m {
		c.Conn.Close()
		delete(f.m, c)
	}
}

// conn is a client connection. fasthttp writes an answer through a buffer
// in front of it: the header, then the body, copied in and flushed in one
// or more writes. A cached body is large and never changes, so it is handed
// over as a stream (body) instead: when fasthttp copies that stream into its
// buffer, body flushes the header and the next Write sends header and body
// together with one writev, from the cache's own memory.
type conn struct {
	net.Conn
	linger       atomic.Bool   // see Close
	writeTimeout time.Duration // for each write: see Config.WriteTimeout
	pending      []byte        // sent right after the bytes of the next Write
	iov          [2][]byte
	bufs         net.Buffers
	out          body // the stream of the answer being written; one at a time per connection
	fresh        *freshConns
	used         bool // it has sent a byte: no longer in fresh
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.used { // reads of a connection are never concurrent
		c.used = true
		c.fresh.remove(c)
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	if c.pending == nil {
		return c.Conn.Write(p)
	}
	c.iov = [2][]byte{p, c.pending}
	c.bufs, c.pending = c.iov[:], nil
	n, err := c.bufs.WriteTo(c.Conn) // writev on a TCP connection
	c.iov, c.bufs = [2][]byte{}, nil
	if n >= int64(len(p)) {
		return len(p), err
	}
	return int(n), err
}

// Close closes the connection. After an answer sent while the client was
// still sending its body (a refusal), the connection is first half closed
// and what the client still sends is read and dropped for a moment: a
// socket closed with unread data resets the connection, and the reset can
// destroy the answer before the client reads it. net/http's server does
// the same. The rest is done in the background, so the connection's
// worker is free at once; it ends within lingerTime.
func (c *conn) Close() error {
	c.fresh.remove(c)
	if !c.linger.CompareAndSwap(true, false) {
		return c.Conn.Close()
	}
	go func() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
		io.CopyN(io.Discard, c.Conn, lingerBytes)
		c.Conn.Close()
	}()
	return nil
}

// How long and how much of a refused body is read and dropped before its
// connection is closed (see conn.Close): enough for a client that reads
// while it sends to see the answer, little enough that an attacker who
// never stops sending costs the router no more than that.
const (
	lingerTime  = time.Second
	lingerBytes = 1 << 20
)

// body is a cached body as a response body stream; fasthttp reads it with
// WriteTo.
type body struct {
	body []byte
	c    *conn
}

// WriteTo writes the body to w. When w is the buffer in front of the
// connection, which holds the header, the body goes out with the header in one
// writev; any other writer gets a copy.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	data := b.body
	b.body = nil
	if bw, ok := w.(*bufio.Writer); ok && bw.Buffered() > 0 {
		b.c.pending = data
		err := bw.Flush()
		if b.c.pending == nil { // sent by the connection's Write
			if err != nil {
				return 0, err
			}
			return int64(len(data)), nil
		}
		b.c.pending = nil // w is not in front of this connection
		if err != nil {
			return 0, err
		}
	}
	n, err := w.Write(data)
	return int64(n), err
}

// Read makes body an io.Reader; fasthttp prefers WriteTo.
func (b *body) Read(p []byte) (int, error) {
	if len(b.body) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.body)
	b.body = b.body[n:]
	return n, nil
}

// Close drops the body when the answer is done or dropped.
func (b *body) Close() error {
	b.body = nil
	return nil
}
