package router

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// serveHijacked hands the client's connection to an in-process streaming
// service (live): its handler writes straight to the client, with no second
// HTTP connection in between. A stream held open by thousands of viewers
// then costs one goroutine and a small buffer each, not a router connection,
// a pipe and a net/http connection.
func serveHijacked(ctx *fasthttp.RequestCtx, h http.Handler) {
	u, err := url.ParseRequestURI(string(ctx.RequestURI()))
	if err != nil {
		ctx.Error("bad request URI", fasthttp.StatusBadRequest)
		return
	}
	header := http.Header{}
	ctx.Request.Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	remote := ctx.RemoteAddr().String()
	host := string(ctx.Host())
	method := string(ctx.Method())
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		rctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := (&http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: header, Host: host, RemoteAddr: remote, RequestURI: u.RequestURI(), Body: http.NoBody}).WithContext(rctx)
		w := &streamWriter{conn: c, bw: bufio.NewWriterSize(c, 2048), header: http.Header{}}
		h.ServeHTTP(w, r)
		if !w.wrote {
			w.WriteHeader(http.StatusOK)
		}
		w.bw.Flush()
	})
}

// streamWriter is an http.ResponseWriter on a hijacked connection: HTTP/1.1
// with Connection: close, so the body simply runs until the connection ends
// and needs no chunk framing. It supports Flush and SetWriteDeadline
// (http.ResponseController), which stream handlers use.
type streamWriter struct {
	conn   net.Conn
	bw     *bufio.Writer
	header http.Header
	wrote  bool
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	fmt.Fprintf(w.bw, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	w.header.Del("Content-Length")
	w.header.Del("Transfer-Encoding")
	w.header.Set("Connection", "close")
	w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	w.header.Write(w.bw)
	w.bw.WriteString("\r\n")
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.bw.Write(p)
}

// FlushError sends what is buffered (http.ResponseController.Flush).
func (w *streamWriter) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.bw.Flush()
}

// Flush implements http.Flusher.
func (w *streamWriter) Flush() { w.FlushError() }

// SetWriteDeadline implements http.ResponseController's deadline.
func (w *streamWriter) SetWriteDeadline(t time.Time) error { return w.conn.SetWriteDeadline(t) }
