package tracing

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestExporterSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e, err := newExporter(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/",
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b, x=1", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1500",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}))
	if err != nil || e.url != "http://c:4318/v1/traces" || e.headers.Get("api-key") != "a b" || e.headers.Get("x") != "1" ||
		e.timeout.Milliseconds() != 1500 || !e.gzip {
		t.Errorf("%+v %v", e, err)
	}
	e, err = newExporter(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://d/otlp/traces"}))
	if err != nil || e.url != "https://d/otlp/traces" {
		t.Errorf("the traces endpoint is taken as it is: %+v %v", e, err)
	}
	for _, bad := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem"},
	} {
		if _, err := newExporter(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// Spans reach an OTLP receiver as ExportTraceServiceRequest, gzipped, with
// the headers, after a 503 that passes.
func TestExporterSends(t *testing.T) {
	var tries atomic.Int32
	got := make(chan *coltracepb.ExportTraceServiceRequest, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
			r.Header.Get("Authorization") != "Bearer x" {
			t.Errorf("request %s %v %v", r.URL.Path, r.Header, err)
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(zr)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Error(err)
		}
		got <- &req
	}))
	defer srv.Close()
	e, err := newExporter(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
			"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20x"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, root := tp.Tracer("t").Start(context.Background(), "root", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("t").Start(ctx, "child", trace.WithAttributes(attribute.Int64("n", 7),
		attribute.StringSlice("s", []string{"a", "b"}), attribute.Bool("ok", true)))
	child.SetStatus(codes.Error, "broke")
	child.AddEvent("ev")
	child.End()
	root.End()
	if err := e.ExportSpans(context.Background(), rec.Ended()); err != nil {
		t.Fatal(err)
	}
	req := <-got
	spans := map[string]*tracepb.Span{}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.Name != "t" {
				t.Errorf("scope %q", ss.Scope.Name)
			}
			for _, s := range ss.Spans {
				spans[s.Name] = s
			}
		}
	}
	r, c := spans["root"], spans["child"]
	if r == nil || c == nil || string(c.ParentSpanId) != string(r.SpanId) || string(c.TraceId) != string(r.TraceId) ||
		r.Kind != tracepb.Span_SPAN_KIND_SERVER || c.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR ||
		len(c.Events) != 1 || len(c.Attributes) != 3 || c.Attributes[0].Value.GetIntValue() != 7 ||
		len(c.Attributes[1].Value.GetArrayValue().GetValues()) != 2 || c.EndTimeUnixNano < c.StartTimeUnixNano {
		t.Errorf("spans as received: %v", spans)
	}
	if tries.Load() != 2 {
		t.Errorf("%d tries, want 2 (the 503, then the export)", tries.Load())
	}
	e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), rec.Ended()); err == nil {
		t.Error("exported after Shutdown")
	}
}
