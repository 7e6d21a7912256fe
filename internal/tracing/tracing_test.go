package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		if got := Enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: %v, want %v", c.env, got, c.want)
		}
	}
	tp, err := New(context.Background(), "api", func(string) string { return "" })
	if tp != nil || err != nil {
		t.Errorf("off: %v %v", tp, err)
	}
	_, err = New(context.Background(), "api", func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}[k]
	})
	if err == nil {
		t.Error("grpc accepted")
	}
}

// The trace context goes through a bus message and an internal call, and
// the helpers start spans only inside a trace.
func TestCarried(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	if ctx, span := Start(context.Background(), "x"); span.IsRecording() || ctx != context.Background() {
		t.Error("Start outside a trace started a span")
	}
	if _, span := ChildOnly(tp).Tracer("redis").Start(context.Background(), "GET"); span.IsRecording() {
		t.Error("ChildOnly started a root span")
	}
	if Message(context.Background()) != nil || ID(context.Background()) != "" {
		t.Error("a trace context outside a trace")
	}
	ctx, root := Tracer(tp).Start(context.Background(), "root")
	_, child := ChildOnly(tp).Tracer("redis").Start(ctx, "GET")
	child.End()
	m := Message(ctx)
	got := FromMessage(context.Background(), m)
	if ID(got) != root.SpanContext().TraceID().String() || ID(got) != ID(ctx) {
		t.Errorf("through a message: %q, want %q", ID(got), ID(ctx))
	}
	var seen string
	srv := httptest.NewServer(Handler(tp, "api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ID(r.Context())
	})))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := (&http.Client{Transport: Transport(http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root.End()
	if seen != ID(ctx) {
		t.Errorf("the service called saw trace %q, want %q", seen, ID(ctx))
	}
	names := map[string]string{}
	for _, s := range rec.Ended() {
		names[s.Name()] = s.Parent().SpanID().String()
	}
	if names["GET"] != root.SpanContext().SpanID().String() || names["api GET"] != root.SpanContext().SpanID().String() {
		t.Errorf("spans and parents: %v", names)
	}
}
