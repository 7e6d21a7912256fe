// Package tracing sends OpenTelemetry traces over OTLP/HTTP, set up only by
// the standard OTEL_* variables and off when they name no endpoint, and
// carries W3C trace context across the calls between the services and
// inside the bus's messages.
//
// Off, nothing of the SDK runs: New returns a nil provider, and every
// helper here takes nil for "off" and then costs a nil check.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/maniwani/maniwani/pubsub/pb"
)

// Scope names the tracers of Maniwani's own spans.
const Scope = "github.com/maniwani/maniwani"

// Attribute keys of Maniwani's spans. A poster's address is never one.
const (
	Board  = attribute.Key("maniwani.board")
	PostNo = attribute.Key("maniwani.post.no")
	Thread = attribute.Key("maniwani.thread")
)

// w3c is the one format of trace context Maniwani reads and writes.
type w3c = propagation.TraceContext

// Enabled tells whether the variables getenv reads turn tracing on: an
// OTLP endpoint is set, and neither the SDK nor the exporter is switched
// off.
func Enabled(getenv func(string) string) bool {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return false
	}
	return !strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") && getenv("OTEL_TRACES_EXPORTER") != "none"
}

// New makes the process's tracer provider, exporting in batches over
// OTLP/HTTP as the OTEL_* variables say (the exporter's endpoint, headers,
// timeout and compression read here, see exporter; the sampler, batch
// delays and resource attributes by the SDK itself), with service the
// service.name unless OTEL_SERVICE_NAME says otherwise. It returns nil
// when tracing is off (Enabled). Shut it down to send what is left.
func New(ctx context.Context, service string, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := getenv(k); v != "" && v != "http/protobuf" {
			return nil, fmt.Errorf("%s=%q: only http/protobuf is supported", k, v)
		}
	}
	if v := getenv("OTEL_TRACES_EXPORTER"); v != "" && v != "otlp" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", v)
	}
	exp, err := newExporter(getenv)
	if err != nil {
		return nil, err
	}
	// Later sources win: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
	// over the target's name.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Tracer is the tracer of Maniwani's spans from tp; nil tp: a no-op one.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return noop.NewTracerProvider().Tracer(Scope)
	}
	return tp.Tracer(Scope)
}

// Start starts a span named name as a child of ctx's, from the provider
// that made ctx's span: code that runs inside a traced request needs no
// provider of its own. Outside a trace (and with tracing off) nothing is
// started and ctx is returned as it is.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// Inject puts ctx's trace context into h: the headers of a call to another
// service, whose spans are then children of the caller's.
func Inject(ctx context.Context, h http.Header) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		w3c{}.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// Message is ctx's trace context for a bus message; nil when ctx is in no
// trace.
func Message(ctx context.Context) *pb.TraceContext {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	w3c{}.Inject(ctx, c)
	return &pb.TraceContext{Traceparent: c["traceparent"], Tracestate: c["tracestate"]}
}

// FromMessage is ctx carrying the trace context a message brought, as the
// remote parent of its consumer's spans.
func FromMessage(ctx context.Context, tc *pb.TraceContext) context.Context {
	if tc.GetTraceparent() == "" {
		return ctx
	}
	return w3c{}.Extract(ctx, propagation.MapCarrier{"traceparent": tc.Traceparent, "tracestate": tc.Tracestate})
}

// ID is the trace ID of ctx's span, in hex, or "" outside a trace: the
// request ID of the logs when tracing is on.
func ID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// ChildOnly is tp restricted to spans inside a trace: a client library's
// instrumentation (Redis, SQL) made on it records the commands of traced
// requests, and not the bus's polling loops as traces of their own.
func ChildOnly(tp trace.TracerProvider) trace.TracerProvider {
	return childOnly{tp: tp}
}

type childOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (c childOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{t: c.tp.Tracer(name, opts...)}
}

type childTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (t childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if parent := trace.SpanFromContext(ctx); !parent.IsRecording() {
		return ctx, parent
	}
	return t.t.Start(ctx, name, opts...)
}
