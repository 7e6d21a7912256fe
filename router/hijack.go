package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// serveHijacked hands the client's connection to an in-process streaming
// service (live): its handler writes straight to the client, with no second
// HTTP connection in between. A stream held open by thousands of viewers
// then costs one goroutine and a small buffer each, not a router connection,
// a pipe and a net/http connection. A handler may also take the connection
// over entirely (http.Hijacker, as live does): it then writes the answer's
// head itself, and may write to the socket without waiting (syscall.Conn).
func serveHijacked(ctx *fasthttp.RequestCtx, h http.Handler) {
	u, err := url.ParseRequestURI(string(ctx.RequestURI()))
	if err != nil {
		ctx.Error("bad request URI", fasthttp.StatusBadRequest)
		return
	}
	header := http.Header{}
	for k, v := range ctx.Request.Header.All() {
		header.Add(string(k), string(v))
	}
	remote := ctx.RemoteAddr().String()
	host := string(ctx.Host())
	method := string(ctx.Method())
	proto, minor := "HTTP/1.1", 1
	if !ctx.Request.Header.IsHTTP11() {
		proto, minor = "HTTP/1.0", 0 // a handler must not answer it chunked
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		rctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := (&http.Request{Method: method, URL: u, Proto: proto, ProtoMajor: 1, ProtoMinor: minor,
			Header: header, Host: host, RemoteAddr: remote, RequestURI: u.RequestURI(), Body: http.NoBody}).WithContext(rctx)
		w := &streamWriter{conn: c, header: http.Header{}}
		h.ServeHTTP(w, r)
		if w.hijacked {
			return // fasthttp closes the connection
		}
		if !w.wrote {
			w.WriteHeader(http.StatusOK)
		}
		w.bw.Flush()
	})
}

// streamWriter is an http.ResponseWriter on a hijacked connection: HTTP/1.1
// with Connection: close, so the body simply runs until the connection ends
// and needs no chunk framing. It supports Flush and SetWriteDeadline
// (http.ResponseController), which stream handlers use, and Hijack.
type streamWriter struct {
	conn     net.Conn
	bw       *bufio.Writer // made at the first write: a handler that hijacks needs none
	header   http.Header
	wrote    bool
	hijacked bool
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	if w.wrote || w.hijacked {
		return
	}
	w.wrote = true
	w.bw = bufio.NewWriterSize(w.conn, 2048)
	fmt.Fprintf(w.bw, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	w.header.Del("Content-Length")
	w.header.Del("Transfer-Encoding")
	w.header.Set("Connection", "close")
	w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	w.header.Write(w.bw)
	w.bw.WriteString("\r\n")
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.bw.Write(p)
}

// FlushError sends what is buffered (http.ResponseController.Flush).
func (w *streamWriter) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.bw.Flush()
}

// Flush implements http.Flusher.
func (w *streamWriter) Flush() { w.FlushError() }

// SetWriteDeadline implements http.ResponseController's deadline.
func (w *streamWriter) SetWriteDeadline(t time.Time) error { return w.conn.SetWriteDeadline(t) }

// Hijack implements http.Hijacker: the handler gets the connection, before
// anything of the answer was written. The connection's Close is fasthttp's
// (it closes it once the handler returns); it is a syscall.Conn when a TCP
// connection is under it.
func (w *streamWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.wrote {
		return nil, nil, errors.New("router: the answer has begun")
	}
	w.hijacked = true
	var c net.Conn = handedConn{Conn: w.conn}
	if sc := socketOf(w.conn); sc != nil {
		c = socketConn{handedConn{Conn: w.conn}, sc}
	}
	return c, bufio.NewReadWriter(bufio.NewReaderSize(c, 16), bufio.NewWriterSize(c, 16)), nil
}

// handedConn is a hijacked connection as a handler gets it: reads first
// take what fasthttp read ahead, writes go through the router's connection.
type handedConn struct{ net.Conn }

// socketConn is a handedConn with a TCP socket under it.
type socketConn struct {
	handedConn
	sc syscall.Conn
}

// SyscallConn is the socket's: the bytes written to it bypass fasthttp and
// the router's conn, which hold none once the connection was hijacked
// (fasthttp flushed its writer; conn.pending is only set within a write).
func (c socketConn) SyscallConn() (syscall.RawConn, error) { return c.sc.SyscallConn() }

// socketOf is the socket under fasthttp's hijacked connection and the
// router's conn, or nil (a TLS connection, a pipe).
func socketOf(c net.Conn) syscall.Conn {
	for range 4 {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case *conn:
			c = x.Conn
		case interface{ UnsafeConn() net.Conn }: // fasthttp's hijackConn
			c = x.UnsafeConn()
		default:
			return nil
		}
	}
	return nil
}
