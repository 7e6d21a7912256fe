package markdown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/serve"
)

// logBuffer is a logger whose lines a test can read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// startService serves a markdown service on a loopback port; stop ends it
// and waits until it no longer listens.
func startService(t *testing.T, cfg Config) (svc *Service, url string, stop func()) {
	t.Helper()
	svc, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { done <- serve.HTTP(ctx, srv, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return svc, "http://" + ln.Addr().String(), stop
}

// newClient is NewClient, falling back on fallback when it is not nil.
func newClient(t *testing.T, cfg ClientConfig, fallback *Renderer) *Client {
	t.Helper()
	var deps ClientDeps
	if fallback != nil {
		deps.Fallback = fallback
	}
	c, err := NewClient(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAndFallback(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	_, url, stop := startService(t, Config{Logger: quiet})
	var logs logBuffer
	client := newClient(t, ClientConfig{URL: url, Logger: logs.logger()}, NewRenderer(RendererConfig{Logger: quiet}))
	local := NewRenderer(RendererConfig{})
	ctx := t.Context()

	want := make([]string, len(renderCases))
	for i, tc := range renderCases {
		want[i], _ = local.Render(ctx, testInput(tc.body))
	}
	// Through the service: the same HTML as rendered in process, Threads
	// and Boards having crossed the wire.
	for i, tc := range renderCases {
		got, err := client.Render(ctx, testInput(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != want[i] {
			t.Errorf("%s: over HTTP %s, in process %s", tc.name, got, want[i])
		}
	}
	if s := logs.String(); s != "" {
		t.Fatalf("fell back while the service was up: %s", s)
	}

	// The service stops: posting still renders, the same, and says so.
	stop()
	for i, tc := range renderCases[:20] {
		got, err := client.Render(ctx, testInput(tc.body))
		if err != nil {
			t.Fatalf("%s, service down: %v", tc.name, err)
		}
		if got != want[i] {
			t.Errorf("%s, service down: %s, want %s", tc.name, got, want[i])
		}
	}
	if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "rendering locally") {
		t.Errorf("no warning logged for the fallback: %q", s)
	}

	// Without a fallback, a service that is down is an error of kind
	// unavailable.
	bare := newClient(t, ClientConfig{URL: url}, nil)
	if _, err := bare.Render(ctx, testInput("x")); maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Errorf("no fallback, service down: %v, want KindUnavailable", err)
	}
}

func TestClientFallsBackOnErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		level   string
	}{
		{"5xx", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "WARN"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "WARN"},
		{"4xx", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "ERROR"},
		{"too slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(300 * time.Millisecond): // past the client's timeout
			}
		}, "WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			defer srv.CloseClientConnections()
			var logs logBuffer
			c := newClient(t, ClientConfig{URL: srv.URL, Timeout: 200 * time.Millisecond, Logger: logs.logger()}, NewRenderer(RendererConfig{}))
			want, _ := NewRenderer(RendererConfig{}).Render(t.Context(), testInput(">>34 ok"))
			got, err := c.Render(t.Context(), testInput(">>34 ok"))
			if err != nil || got != want {
				t.Fatalf("Render = %q, %v; want %q", got, err, want)
			}
			if !strings.Contains(logs.String(), "level="+tc.level) {
				t.Errorf("log %q, want a line of level %s", logs.String(), tc.level)
			}
		})
	}
}

func TestClientCallerGaveUp(t *testing.T) {
	_, url, _ := startService(t, Config{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := newClient(t, ClientConfig{URL: url}, NewRenderer(RendererConfig{}))
	if _, err := c.Render(ctx, testInput("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Render with a cancelled context = %v", err)
	}
}

func TestHandler(t *testing.T) {
	svc, err := New(Config{MaxRequest: 1 << 10, Logger: slog.New(slog.DiscardHandler)}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	h := svc.Handler()
	do := func(method, body string) (int, map[string]string) {
		req := httptest.NewRequest(method, "/render", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var m map[string]string
		json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	code, m := do("POST", `{"board":"b","thread":12,"body":">>34\n>>>/g/56 >>>/g/ <i>","threads":[{"board":"b","no":34,"thread":12},{"board":"g","no":56,"thread":7}],"boards":["g"]}`)
	want := q34 + `<br><a href="/g/thread/7#p56" class="quotelink">&gt;&gt;&gt;/g/56</a> <a href="/g/" class="quotelink">&gt;&gt;&gt;/g/</a> &lt;i&gt;`
	if code != 200 || m["html"] != want {
		t.Fatalf("POST /render = %d %q, want 200 %q", code, m["html"], want)
	}
	// Refusals carry their kind, as every service's do.
	for _, c := range []struct {
		body string
		code int
		kind maniwani.Kind
	}{
		{`{"body": 3}`, 400, maniwani.KindInvalid},
		{`{"body":"` + strings.Repeat("x", 2<<10) + `"}`, http.StatusRequestEntityTooLarge, maniwani.KindTooLarge},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/render", strings.NewReader(c.body)))
		err := maniwani.DecodeError(rec.Code, rec.Header(), rec.Body.Bytes())
		if rec.Code != c.code || rec.Header().Get(maniwani.ErrorKindHeader) != c.kind.String() ||
			!strings.HasPrefix(maniwani.ErrorMessage(err), "The request is not a render request") {
			t.Errorf("%.20s: %d %v %q", c.body, rec.Code, rec.Header(), rec.Body)
		}
	}
	if code, _ := do("GET", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /render: %d", code)
	}
}

// TestTwoServices: two services with their own configs and caches in one
// process do not share anything.
func TestTwoServices(t *testing.T) {
	c1, c2 := NewMemoryCache(0), NewMemoryCache(0)
	s1, _ := New(Config{}, Deps{Cache: c1})
	s2, _ := New(Config{}, Deps{Cache: c2})
	s1.Render(t.Context(), testInput("one"))
	s2.Render(t.Context(), testInput("two"))
	s2.Render(t.Context(), testInput("three"))
	if c1.Len() != 1 || c2.Len() != 2 {
		t.Fatalf("caches hold %d and %d renders, want 1 and 2", c1.Len(), c2.Len())
	}
}

// Run returns when its ctx ends.
func TestRun(t *testing.T) {
	s, _ := New(Config{}, Deps{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
