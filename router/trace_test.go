package router

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/router/cache"
)

// hitRouter is a router whose upstream answers every GET with a page, and a
// request for path on it, from a client at remote; tp nil: tracing off.
func hitRouter(tb testing.TB, tp trace.TracerProvider, proxies realip.Resolver) *Service {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	page := strings.Repeat(`{"no":1,"com":"a post like the others"},`, 40)
	api := NewLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen-Traceparent", r.Header.Get("traceparent"))
		w.Write([]byte(`{"boards":[` + page + `{}]}`))
	}))
	tb.Cleanup(func() { api.Close() })
	s, err := New(Config{Listener: ln, Tracer: tp, Proxies: proxies}, Deps{API: api, Gens: cache.NewGenerations()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// request is a GET of path from remote, ready to be handled again and again.
func request(path, traceparent string, remote net.Addr) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI(path)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, remote, nil)
	return ctx
}

var client = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

// handle answers ctx afresh, as the server does for each request of a
// connection.
func handle(s *Service, ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	s.Handle(ctx)
}

// A miss is a span, under a trusted proxy's traceparent, whose context
// goes upstream; a hit is no span and no allocation, tracing on or off.
func TestTraceMissNotHit(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	trusted, _ := realip.Parse("127.0.0.1/32")
	s := hitRouter(t, tp, trusted)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := request("/boards.json", parent, client)
	handle(s, ctx)
	if string(ctx.Response.Header.Peek("X-Cache")) != "MISS" {
		t.Fatalf("first GET: X-Cache %q", ctx.Response.Header.Peek("X-Cache"))
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "router GET" || spans[0].Parent().SpanID().String() != "00f067aa0ba902b7" ||
		spans[0].SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("the miss's spans: %v", spans)
	}
	up := string(ctx.Response.Header.Peek("X-Seen-Traceparent"))
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + spans[0].SpanContext().SpanID().String() + "-01"; up != want {
		t.Errorf("upstream got traceparent %q, want the router's span %q", up, want)
	}
	if id := string(ctx.Request.Header.Peek("X-Request-Id")); id != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("request ID %q, want the trace ID", id)
	}
	for _, tracing := range []bool{false, true} {
		s := s
		if !tracing {
			s = hitRouter(t, nil, trusted)
			handle(s, request("/boards.json", "", client))
		}
		hit := request("/boards.json", parent, client)
		allocs := testing.AllocsPerRun(100, func() { handle(s, hit) })
		if string(hit.Response.Header.Peek("X-Cache")) != "HIT" || allocs != 0 {
			t.Errorf("tracing %v: a hit answered %q with %v allocations, want HIT with none",
				tracing, hit.Response.Header.Peek("X-Cache"), allocs)
		}
	}
	if n := len(rec.Ended()) + len(rec.Started()) - 2; n != 0 {
		t.Errorf("the hits made %d spans", n)
	}

	// An untrusted client's traceparent is dropped: a trace of its own.
	s = hitRouter(t, tp, realip.Resolver{})
	ctx = request("/boards.json", parent, client)
	handle(s, ctx)
	last := rec.Ended()[len(rec.Ended())-1]
	if last.Parent().IsValid() || last.SpanContext().TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("an untrusted client's traceparent was believed: %v", last.Parent())
	}
	tp.Shutdown(context.Background())
}

// BenchmarkHit is the cache-hit path with tracing off and on, taken in
// turns in one run (the machine is shared): ns per hit of each and their
// ratio. A hit starts no span, so the ratio is 1 within noise.
func BenchmarkHit(b *testing.B) {
	tp := sdktrace.NewTracerProvider() // records, exports nowhere
	defer tp.Shutdown(context.Background())
	trusted, _ := realip.Parse("127.0.0.1/32")
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	off, on := hitRouter(b, nil, trusted), hitRouter(b, tp, trusted)
	offReq, onReq := request("/boards.json", parent, client), request("/boards.json", parent, client)
	handle(off, offReq)
	handle(on, onReq)
	const round = 1000
	var tOff, tOn time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		n := min(round, b.N-done)
		start := time.Now()
		for range n {
			handle(off, offReq)
		}
		mid := time.Now()
		for range n {
			handle(on, onReq)
		}
		tOff, tOn = tOff+mid.Sub(start), tOn+time.Since(mid)
	}
	b.StopTimer()
	if string(offReq.Response.Header.Peek("X-Cache")) != "HIT" || string(onReq.Response.Header.Peek("X-Cache")) != "HIT" {
		b.Fatal("not hits")
	}
	b.ReportMetric(float64(tOff.Nanoseconds())/float64(b.N), "ns/hit-off")
	b.ReportMetric(float64(tOn.Nanoseconds())/float64(b.N), "ns/hit-on")
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
	b.ReportMetric(0, "ns/op") // each op is two hits: the figures above say it
}
