// Tracing, by hand (fasthttp has no OpenTelemetry middleware): every
// request that reaches past the L1 cache is a span, the child of a
// traceparent that a trusted proxy sent and else the root of its trace;
// the span's context goes upstream in the request's traceparent. A cache
// hit never gets here: it costs no span and no allocation.

package router

import (
	"context"
	"strconv"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani/internal/tracing"
)

// headerCarrier reads and writes trace context in a fasthttp request's
// headers.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(k string) string { return string(c.h.Peek(k)) }
func (c headerCarrier) Set(k, v string)     { c.h.Set(k, v) }
func (c headerCarrier) Keys() []string      { return []string{"traceparent", "tracestate"} }

// spanKey is the RequestCtx user value that holds the request's span.
type spanKey struct{}

// startSpan starts the request's span, and makes its trace context the one
// the request carries upstream and its trace ID the request ID of the
// logs. A client's own traceparent is believed only from a trusted proxy
// (Config.Proxies); any other is dropped. Nil when tracing is off.
func (s *Service) startSpan(ctx *fasthttp.RequestCtx) trace.Span {
	h := &ctx.Request.Header
	trusted := s.cfg.Proxies.Trusted(ctx.RemoteAddr().String())
	if s.tracer == nil {
		if !trusted {
			h.Del("traceparent")
			h.Del("tracestate")
		}
		return nil
	}
	parent := context.Background()
	if trusted {
		parent = propagation.TraceContext{}.Extract(parent, headerCarrier{h})
	}
	h.Del("traceparent")
	h.Del("tracestate")
	method := string(ctx.Method())
	sctx, span := s.tracer.Start(parent, "router "+method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("url.path", string(ctx.Path())),
			attribute.String("maniwani.upstream", s.ownerName(ctx))))
	propagation.TraceContext{}.Inject(sctx, headerCarrier{h})
	h.Set("X-Request-Id", span.SpanContext().TraceID().String())
	ctx.SetUserValue(spanKey{}, span)
	return span
}

// endSpan ends the request's span with its answer's status.
func (s *Service) endSpan(ctx *fasthttp.RequestCtx, span trace.Span) {
	code := ctx.Response.StatusCode()
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	if c := ctx.Response.Header.Peek("X-Cache"); c != nil {
		span.SetAttributes(attribute.String("maniwani.cache", string(c)))
	}
	if code >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(code))
	}
	span.End()
}

// withSpan is fctx inside the request's span, when it has one: the
// fill's Redis lookups join its trace.
func withSpan(fctx context.Context, ctx *fasthttp.RequestCtx) context.Context {
	if span, ok := ctx.UserValue(spanKey{}).(trace.Span); ok {
		return trace.ContextWithSpan(fctx, span)
	}
	return fctx
}

// tracer is Config.Tracer's, or nil when tracing is off.
func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tracing.Tracer(tp)
}
