package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testutil"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps every span it is
// sent, with its service's name.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	service string
	*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		service := attr(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				o.spans = append(o.spans, receivedSpan{service, sp})
			}
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ = proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(b)
}

// all is every span received so far.
func (o *otlpReceiver) all() []receivedSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]receivedSpan(nil), o.spans...)
}

// attr is the value of attribute k, as text; "" when absent.
func attr(kvs []*commonpb.KeyValue, k string) string {
	for _, kv := range kvs {
		if kv.Key == k {
			return anyValue(kv.Value)
		}
	}
	return ""
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	}
	return v.String()
}

// One post with a file, made with a traceparent from a trusted proxy while
// a viewer watches the board, is one trace: the router's span under the
// proxy's, the api's under it, and under that the post's SQL, its markdown,
// its file, the event live delivers and the job the thumbnailer does. Its
// spans name the board and the post, never the poster's address, and the
// log's request ID is the trace ID.
func TestPostTrace(t *testing.T) {
	recv := &otlpReceiver{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	bin := buildBinary(t)
	p := startProc(t, bin, "all", "OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_TRACES_SAMPLER=parentbased_always_on", "OTEL_SERVICE_NAME=",
		"MANIWANI_TRUSTED_PROXIES=127.0.0.1/32", "MANIWANI_ADMIN_PASSWORD=trace-test-password")

	// A viewer of the board, so that live delivers the post.
	watch, err := http.NewRequest(http.MethodGet, p.base+"/live/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := (&http.Client{}).Do(watch)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("live stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	got := make(chan string, 1)
	go func() {
		var seen bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := stream.Body.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "event: thread") || err != nil {
				got <- seen.String()
				return
			}
		}
	}()

	const poster = "203.0.113.77"
	traceID, parentID := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("com", "a traced post")
	fw, _ := w.CreateFormFile("upfile", "gradient.png")
	fw.Write(gradientPNG(t, 320, 200, 1))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/b/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", poster)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := splitClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("post: %d %s", resp.StatusCode, answer)
	}
	var made struct{ No int64 }
	if err := json.Unmarshal(answer, &made); err != nil || made.No == 0 {
		t.Fatalf("post answer %s: %v", answer, err)
	}
	select {
	case s := <-got:
		if !strings.Contains(s, "event: thread") {
			t.Fatalf("live stream ended before the post: %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("live did not deliver the post")
	}

	no := fmt.Sprint(made.No)
	want := []string{"router POST", "api POST /{board}/post", "api.CreatePost", "markdown.Render", "media.Save",
		"publish board.b", "live.deliver post", "enqueue " + maniwani.ThumbnailQueue, "thumbnailer.job", "media.SaveThumb"}
	var byName map[string]receivedSpan
	var ours []receivedSpan
	testutil.Eventually(t, 20*time.Second, func() error {
		byName, ours = map[string]receivedSpan{}, nil
		for _, sp := range recv.all() {
			if hex.EncodeToString(sp.TraceId) == traceID {
				ours = append(ours, sp)
				if _, dup := byName[sp.Name]; !dup {
					byName[sp.Name] = sp
				}
			}
		}
		for _, n := range want {
			if _, ok := byName[n]; !ok {
				return fmt.Errorf("no span %q in the trace (of %d)", n, len(ours))
			}
		}
		return nil
	})

	defer func() {
		if t.Failed() {
			for _, sp := range ours {
				t.Logf("span %q %x, parent %x", sp.Name, sp.SpanId, sp.ParentSpanId)
			}
		}
	}()
	parentOf := func(child, parent string) {
		t.Helper()
		c, p := byName[child], byName[parent]
		if !bytes.Equal(c.ParentSpanId, p.SpanId) {
			t.Errorf("the parent of %q is %x, not %q (%x)", child, c.ParentSpanId, parent, p.SpanId)
		}
	}
	if got := hex.EncodeToString(byName["router POST"].ParentSpanId); got != parentID {
		t.Errorf("the router's span's parent is %s, not the proxy's %s", got, parentID)
	}
	parentOf("api POST /{board}/post", "router POST")
	for _, c := range []string{"api.CreatePost", "markdown.Render", "media.Save", "publish board.b", "enqueue " + maniwani.ThumbnailQueue} {
		parentOf(c, "api POST /{board}/post")
	}
	parentOf("live.deliver post", "publish board.b")
	parentOf("thumbnailer.job", "enqueue "+maniwani.ThumbnailQueue)
	parentOf("media.SaveThumb", "thumbnailer.job")
	sql := 0
	for _, sp := range ours {
		if bytes.Equal(sp.ParentSpanId, byName["api.CreatePost"].SpanId) && attr(sp.Attributes, "db.query.text") != "" {
			sql++
		}
	}
	if sql == 0 {
		t.Errorf("no SQL span under api.CreatePost")
	}
	for _, n := range []string{"api POST /{board}/post", "api.CreatePost", "live.deliver post", "thumbnailer.job"} {
		if b, got := attr(byName[n].Attributes, "maniwani.board"), attr(byName[n].Attributes, "maniwani.post.no"); b != "b" || got != no {
			t.Errorf("%q: board %q, post %q; want b, %s", n, b, got, no)
		}
	}
	for _, sp := range recv.all() {
		if sp.service != "maniwani" {
			t.Errorf("span %q of service %q, want maniwani", sp.Name, sp.service)
		}
		for _, kv := range sp.Attributes {
			if v := anyValue(kv.Value); strings.Contains(v, poster) {
				t.Errorf("span %q has the poster's address in %s=%q", sp.Name, kv.Key, v)
			}
		}
	}
	if !strings.Contains(p.logs(), `"request_id":"`+traceID+`"`) {
		t.Errorf("no log line has the trace ID as its request ID:\n%s", p.logs())
	}
}
