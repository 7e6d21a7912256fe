package router

import (
	"bytes"
	"context"
	"net/http"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Upstream is a service the router sends requests to.
type Upstream interface {
	// Fetch makes a GET for the cache: the whole answer, never a 304 or a
	// range, never compressed (the router compresses once, on fill).
	Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error
	// Forward passes a request through and answers it on ctx.
	Forward(ctx *fasthttp.RequestCtx)
}

// Local is a service in this process, reached through its net/http handler.
type Local struct {
	h       http.Handler
	forward fasthttp.RequestHandler
}

// NewLocal wraps a service's handler.
func NewLocal(h http.Handler) *Local {
	return &Local{h: h, forward: fasthttpadaptor.NewFastHTTPHandler(h)}
}

// Forward implements Upstream; the service sees the client's own address.
func (l *Local) Forward(ctx *fasthttp.RequestCtx) { l.forward(ctx) }

// Fetch implements Upstream.
func (l *Local) Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, string(req.URI().RequestURI()), nil)
	if err != nil {
		return err
	}
	r.RemoteAddr = "127.0.0.1:0" // the router itself asks
	r.Host = string(req.Host())
	for _, k := range [...]string{"Accept", "Accept-Language", "X-Request-Id"} {
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
	c *fasthttp.HostClient
}

// NewRemote reaches the service at addr (host:port).
func NewRemote(addr string) *Remote {
	return &Remote{c: &fasthttp.HostClient{Addr: addr, MaxConns: 1024, StreamResponseBody: false,
		DisablePathNormalizing: true}}
}

// Fetch implements Upstream.
func (r *Remote) Fetch(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	out.Header.SetMethod(fasthttp.MethodGet)
	out.SetRequestURIBytes(req.URI().RequestURI())
	out.Header.SetHostBytes(req.Host())
	if v := req.Header.Peek("X-Request-Id"); len(v) > 0 {
		out.Header.SetBytesV("X-Request-Id", v)
	}
	if dl, ok := ctx.Deadline(); ok {
		return r.c.DoDeadline(out, resp, dl)
	}
	return r.c.Do(out, resp)
}

// Forward implements Upstream: it appends the client's address to
// X-Forwarded-For for the service, which trusts the router as a proxy.
func (r *Remote) Forward(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	ip := ctx.RemoteIP().String()
	if prior := req.Header.Peek("X-Forwarded-For"); len(prior) > 0 {
		req.Header.Set("X-Forwarded-For", string(bytes.TrimSpace(prior))+", "+ip)
	} else {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if err := r.c.Do(req, &ctx.Response); err != nil {
		unavailable(ctx, err)
	}
}
