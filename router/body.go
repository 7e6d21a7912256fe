package router

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// errBodyTooLarge is what a request's body gives once it has run past the
// router's limit for its route (see Service.limitBody).
var errBodyTooLarge = errors.New("router: request body over the limit")

// bodyLimitKey is the request's user value that holds the most bytes its
// body may have (set by Service.limitBody).
type bodyLimitKey struct{}

// limitedBody is a client's request body that refuses to run past max.
type limitedBody struct {
	r    io.Reader
	left int64
	eof  atomic.Bool // the whole body was read
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed tells an over-long body
	}
	n, err := b.r.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return 0, errBodyTooLarge
	}
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// hasBody tells a request that carries a body: its length, or chunked.
func hasBody(h *fasthttp.RequestHeader) bool {
	cl := h.ContentLength()
	return cl > 0 || cl == -1
}

// forwardBody passes a request that carries a body through a connection of
// its own. Unlike fasthttp's client, which reads the answer only once it has
// sent the whole request, it sends the body and reads the answer at once: a
// service that answers before it has read everything (a refusal: too large,
// banned, in the cooldown) is heard as soon as it answers, the rest of the
// body is not sent, and the client gets that answer while it is still
// sending. The router's connection never holds more than a small buffer.
func (r *Remote) forwardBody(ctx *fasthttp.RequestCtx) {
	up, err := r.dialBody()
	if err != nil {
		unavailable(ctx, err)
		return
	}
	req := &ctx.Request
	var src io.Reader = req.BodyStream()
	if src == nil { // read whole, not streamed
		src = bytes.NewReader(req.Body())
	}
	max, ok := ctx.UserValue(bodyLimitKey{}).(int64)
	if !ok {
		max = math.MaxInt64 - 1
	}
	body := &limitedBody{r: src, left: max}
	chunked := req.Header.ContentLength() == -1
	req.Header.SetConnectionClose() // one request a connection: its end is the body's
	req.Header.Del("Expect")

	var stop atomic.Bool
	sent := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(up, 16<<10)
		_, err := req.Header.WriteTo(bw)
		if err == nil {
			var w io.Writer = bw
			var cw io.WriteCloser
			if chunked {
				cw = httputil.NewChunkedWriter(bw)
				w = cw
			}
			err = copyBody(w, bw, body, &stop)
			if err == nil && cw != nil {
				if err = cw.Close(); err == nil {
					_, err = bw.WriteString("\r\n")
				}
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		sent <- err
	}()

	br := bufio.NewReaderSize(up, 4<<10)
	type head struct{ err error }
	got := make(chan head, 1)
	go func() { got <- head{ctx.Response.Header.Read(br)} }()

	var sendErr error
	select {
	case sendErr = <-sent:
		if clientFault(sendErr) {
			// The client's body broke or ran past the limit: the service
			// must not take what it got as a whole request.
			up.Close()
			<-got
			refuseBody(ctx, sendErr)
			return
		}
		if h := <-got; h.err != nil {
			up.Close()
			unavailable(ctx, h.err)
			return
		}
	case h := <-got:
		if h.err != nil {
			up.Close()
			if sendErr = <-sent; clientFault(sendErr) {
				refuseBody(ctx, sendErr)
			} else {
				unavailable(ctx, h.err)
			}
			return
		}
		// Answered before the body was all sent: stop sending (a send
		// blocked on the client or the service is woken by a deadline), and
		// close the client's connection after the answer, since the rest of
		// its body will not be read.
		stop.Store(true)
		up.SetWriteDeadline(time.Now())
		ctx.Conn().SetReadDeadline(time.Now())
		sendErr = <-sent
	}
	// The service's Connection: close is of up, sent for one request;
	// the client's connection closes only when its body was not all read.
	ctx.Response.Header.ResetConnectionClose()
	if sendErr != nil || !body.eof.Load() {
		closeAfter(ctx)
	}
	cl := ctx.Response.Header.ContentLength()
	var rb io.Reader
	switch {
	case ctx.Response.Header.StatusCode() < 200, ctx.Response.Header.StatusCode() == 204,
		ctx.Response.Header.StatusCode() == 304:
		up.Close()
		return
	case cl >= 0:
		rb = io.LimitReader(br, int64(cl))
	case cl == -1:
		rb = httputil.NewChunkedReader(br)
	default: // until the service closes
		rb, cl = br, -1
	}
	ctx.Response.SetBodyStream(&upstreamBody{Reader: rb, c: up}, cl)
}

// clientFault tells an error of the client's body (broken, or past the
// limit) from one of the service's connection.
func clientFault(err error) bool {
	var cf clientError
	return errors.Is(err, errBodyTooLarge) || errors.As(err, &cf)
}

// clientError is an error reading the client's body.
type clientError struct{ error }

func (e clientError) Unwrap() error { return e.error }

// refuseBody answers a request whose body the router would not pass on.
func refuseBody(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, errBodyTooLarge) {
		errorPage(ctx, fasthttp.StatusRequestEntityTooLarge, "Too large", "The request is too large.")
	} else {
		errorPage(ctx, fasthttp.StatusBadRequest, "Bad request", "The request's body is not well-formed: "+err.Error()+".")
	}
	closeAfter(ctx) // errorPage reset the answer
}

// closeAfter ends the client's connection once the answer is sent, without
// discarding what the client is still sending before it has read the
// answer (see conn.Close).
func closeAfter(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	if c, ok := ctx.Conn().(*conn); ok {
		c.linger.Store(true)
	}
}

// copyBody sends the client's body to the service until it ends, or stop
// is set (a send in progress is ended by a deadline); what is read is sent
// at once (bw flushed), since the service may wait for it before it reads
// on. The client's errors are told apart from the service's.
func copyBody(w io.Writer, bw *bufio.Writer, r io.Reader, stop *atomic.Bool) error {
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if stop.Load() {
				return errStopped
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if werr := bw.Flush(); werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, errBodyTooLarge):
			return err
		case err != nil:
			return clientError{err}
		}
	}
}

var errStopped = errors.New("router: the service answered; the rest of the body is not sent")

// upstreamBody is the answer's body streaming from the service; it closes
// the connection when the answer is done.
type upstreamBody struct {
	io.Reader
	c net.Conn
}

func (b *upstreamBody) Close() error { return b.c.Close() }

// dialBody opens a connection to the service for one request with a body.
func (r *Remote) dialBody() (net.Conn, error) {
	c, err := r.conns.add(func() (net.Conn, error) { return r.dial(r.c.Addr, 5*time.Second) })
	if err != nil {
		return nil, err
	}
	if r.c.IsTLS {
		host, _, _ := net.SplitHostPort(r.c.Addr)
		c = tls.Client(c, &tls.Config{ServerName: host})
	}
	return c, nil
}
