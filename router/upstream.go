package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Upstream is a service the router sends requests to.
type Upstream interface {
	// Fetch makes a GET for the cache: the whole answer, never a 304 or a
	// range, never compressed (the router compresses once, on fill).
	Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error
	// Forward passes a request through and answers it on ctx.
	Forward(ctx *fasthttp.RequestCtx)
}

// Unset is an upstream whose address is not set: every request to it is
// answered 502, as if it were down, and the rest of the site works.
type Unset struct{ Name string }

// Fetch implements Upstream.
func (u Unset) Fetch(context.Context, *fasthttp.Request, *fasthttp.Response) error {
	return fmt.Errorf("router: the address of %s is not set", u.Name)
}

// Forward implements Upstream.
func (u Unset) Forward(ctx *fasthttp.RequestCtx) { unavailable(ctx, u.Fetch(ctx, nil, nil)) }

// Local is a service in this process. Cache fills call its handler
// directly; requests passed through (posts, streams, media) go to it over an
// in-memory connection, as HTTP, so their bodies stream both ways and are
// never held whole, as with a service in another process.
type Local struct {
	h      http.Handler
	ln     *pipeListener
	srv    *http.Server
	remote *Remote
}

// clientAddrHeader carries the client's address from the router to a local
// service. Only the in-memory server believes it (a client's own is
// dropped), so the service sees the peer as if it had accepted the
// connection itself, and applies its trusted proxies to that.
const clientAddrHeader = "X-Maniwani-Client-Addr"

// NewLocal wraps a service's handler; Close stops it.
func NewLocal(h http.Handler) *Local {
	l := &Local{h: h, ln: newPipeListener()}
	l.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(clientAddrHeader); a != "" {
			r.RemoteAddr = a
			r.Header.Del(clientAddrHeader)
		}
		h.ServeHTTP(w, r)
	})}
	go l.srv.Serve(l.ln)
	l.remote = newRemote("local", func(string, time.Duration) (net.Conn, error) { return l.ln.Dial() })
	return l
}

// Close stops the in-memory server.
func (l *Local) Close() error {
	err := l.srv.Close()
	l.ln.Close()
	return err
}

// Forward implements Upstream.
func (l *Local) Forward(ctx *fasthttp.RequestCtx) {
	ctx.Request.Header.Set(clientAddrHeader, ctx.RemoteAddr().String())
	l.remote.forward(ctx)
}

// Fetch implements Upstream.
func (l *Local) Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, string(req.URI().RequestURI()), nil)
	if err != nil {
		return err
	}
	r.RemoteAddr = "127.0.0.1:0" // the router itself asks
	r.Host = string(req.Host())
	for _, k := range [...]string{"Accept", "Accept-Language", "X-Request-Id", "traceparent", "tracestate"} {
		if v := req.Header.Peek(k); len(v) > 0 {
			r.Header.Set(k, string(v))
		}
	}
	w := &recorder{resp: resp}
	l.h.ServeHTTP(w, r)
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// recorder is an http.ResponseWriter that fills a fasthttp.Response.
type recorder struct {
	resp   *fasthttp.Response
	header http.Header
	wrote  bool
}

func (w *recorder) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *recorder) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.resp.SetStatusCode(code)
	for k, vs := range w.header {
		for _, v := range vs {
			w.resp.Header.Add(k, v)
		}
	}
	if ct := w.header.Get("Content-Type"); ct != "" {
		w.resp.Header.SetContentType(ct)
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wrote {
		if w.Header().Get("Content-Type") == "" {
			w.header.Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	w.resp.AppendBody(b)
	return len(b), nil
}

// Remote is a service in another process, reached over HTTP.
type Remote struct {
	c     *fasthttp.HostClient
	dial  fasthttp.DialFuncWithTimeout // the service's address, as c dials it
	conns connSet
}

// NewRemote reaches the service at addr (host:port).
func NewRemote(addr string) *Remote {
	return newRemote(addr, func(addr string, timeout time.Duration) (net.Conn, error) {
		if timeout <= 0 {
			return fasthttp.Dial(addr) // with fasthttp's default timeout
		}
		return fasthttp.DialTimeout(addr, timeout)
	})
}

func newRemote(addr string, dial fasthttp.DialFuncWithTimeout) *Remote {
	r := &Remote{dial: dial}
	r.c = newHostClient(addr, func(addr string, timeout time.Duration) (net.Conn, error) {
		return r.conns.add(func() (net.Conn, error) { return dial(addr, timeout) })
	})
	return r
}

// CloseConns closes every connection to the service, which ends the answers
// passing through them (a live stream never ends by itself), and refuses
// new ones: requests after it are answered 502.
func (r *Remote) CloseConns() { r.conns.closeAll() }

// NewRemoteURL makes the upstream at base, an http:// or https:// URL of a
// host and port (a service's MANIWANI_*_URL).
func NewRemoteURL(base string) (*Remote, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("router: %q is not a service's base URL", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	r := NewRemote(host)
	r.c.IsTLS = u.Scheme == "https"
	return r, nil
}

func newHostClient(addr string, dial fasthttp.DialFuncWithTimeout) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		// A live stream holds its connection for as long as it lasts, so the
		// pool must not cap the streams; the router's own limits bound it.
		Addr: addr, DialTimeout: dial, MaxConns: 1 << 20,
		// A response passed through streams to the client as it comes (a
		// live stream, a large file) instead of being read whole first.
		StreamResponseBody:     true,
		DisablePathNormalizing: true,
		// The client's own headers pass as they are.
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
	}
}

// Fetch implements Upstream.
func (r *Remote) Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	out.Header.SetMethod(fasthttp.MethodGet)
	out.SetRequestURIBytes(req.URI().RequestURI())
	out.Header.SetHostBytes(req.Host())
	for _, k := range [...]string{"X-Request-Id", "traceparent", "tracestate"} {
		if v := req.Header.Peek(k); len(v) > 0 {
			out.Header.SetBytesV(k, v)
		}
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	if err := r.c.DoDeadline(out, resp, dl); err != nil {
		return err
	}
	resp.Body() // the cache keeps the body: read the stream whole (fills are pages, not files)
	return nil
}

// Forward implements Upstream: it appends the client's address to
// X-Forwarded-For for the service, which trusts the router as a proxy.
func (r *Remote) Forward(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	req.Header.Del(clientAddrHeader) // only the router speaks it, and only to a local service
	ip := ctx.RemoteIP().String()
	if prior := req.Header.Peek("X-Forwarded-For"); len(prior) > 0 {
		req.Header.Set("X-Forwarded-For", string(bytes.TrimSpace(prior))+", "+ip)
	} else {
		req.Header.Set("X-Forwarded-For", ip)
	}
	r.forward(ctx)
}

// forward passes the request through, its body streaming to the service as
// the client sends it and the answer streaming back as the service writes
// it; the server closes the answer's stream (and frees the connection to
// the service) once it is sent.
func (r *Remote) forward(ctx *fasthttp.RequestCtx) {
	ctx.Request.Header.Del("Connection")
	// The router has answered the client's "Expect: 100-continue" itself;
	// passed on, the service's own 100 would be read as its answer.
	ctx.Request.Header.Del("Expect")
	if hasBody(&ctx.Request.Header) {
		r.forwardBody(ctx)
		return
	}
	if err := r.c.Do(&ctx.Request, &ctx.Response); err != nil {
		unavailable(ctx, err)
	}
}

// connSet is a client's open connections, so that they can all be closed at
// once: fasthttp's client can close its idle ones only, and a connection
// carrying a stream is never idle.
type connSet struct {
	mu     sync.Mutex
	open   map[*setConn]struct{}
	closed bool
}

var errConnsClosed = errors.New("router: connections to this service are closed (shutting down)")

func (s *connSet) add(dial func() (net.Conn, error)) (net.Conn, error) {
	if s.isClosed() {
		return nil, errConnsClosed
	}
	c, err := dial()
	if err != nil {
		return nil, err
	}
	sc := &setConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // closed while dialling
		c.Close()
		return nil, errConnsClosed
	}
	if s.open == nil {
		s.open = map[*setConn]struct{}{}
	}
	s.open[sc] = struct{}{}
	return sc, nil
}

func (s *connSet) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
}

// setConn leaves its set when it closes.
type setConn struct {
	net.Conn
	set *connSet
}

func (c *setConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.open, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}
