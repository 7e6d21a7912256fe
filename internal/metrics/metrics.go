// Package metrics is what a Maniwani process tells Prometheus: requests by
// route and status with their latency, the router's cache hits and misses,
// the bus's publishes and consumes with their lag, queue depth and live
// streams. Each process has its own registry (no global state), served at
// /metrics on its ops address.
package metrics

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
)

// Metrics is one process's metrics.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	cache     map[string]prometheus.Counter // by X-Cache state, bound once: hits are the hot path
	published *prometheus.CounterVec
	consumed  *prometheus.CounterVec
	lag       *prometheus.HistogramVec
}

// New makes the metrics of a process, with Go's runtime and process ones.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "maniwani_http_requests_total",
		Help: "HTTP requests answered, by service, route and status."}, []string{"service", "route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "maniwani_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by service and route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"service", "route"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "maniwani_cache_requests_total",
		Help: "The router's cacheable GETs by outcome: hit, miss, updating or stale."}, []string{"state"})
	m.cache = map[string]prometheus.Counter{}
	for _, st := range []string{"HIT", "MISS", "UPDATING", "STALE"} {
		m.cache[st] = cache.WithLabelValues(strings.ToLower(st))
	}
	m.published = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "maniwani_bus_published_total",
		Help: "Messages published to topics and jobs enqueued, by kind (topic or queue)."}, []string{"kind"})
	m.consumed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "maniwani_bus_consumed_total",
		Help: "Jobs handled, by queue and result."}, []string{"queue", "result"})
	m.lag = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "maniwani_bus_consume_lag_seconds",
		Help:    "Time from a job's enqueue to the start of its handling, by queue.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"queue"})
	m.reg.MustRegister(m.requests, m.latency, cache, m.published, m.consumed, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gauge registers a value read at each scrape (live streams, queue depth).
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// Request counts one answered request.
func (m *Metrics) Request(service, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(service, route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(service, route).Observe(d.Seconds())
}

// Cache counts one cacheable GET of the router by its X-Cache state.
func (m *Metrics) Cache(state []byte) {
	if c := m.cache[string(state)]; c != nil { // no copy: a map index
		c.Inc()
	}
}

// RequestIDHeader carries a request's ID from the router through every
// service, so one request's lines can be found in every log. With tracing
// on, the router makes it the trace ID, and the logs say the trace ID of
// the request's span.
const RequestIDHeader = "X-Request-Id"

// Instrument wraps a service's handler: each request is counted under its
// route (the ServeMux pattern that took it) and logged with its request ID
// (the router's answers from cache reach no service and are not logged).
func (m *Metrics) Instrument(service string, log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = coarse(r.URL.Path)
		}
		m.Request(service, route, rec.code, d)
		level := slog.LevelInfo
		if rec.code >= 500 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "request", "service", service, "method", r.Method, "route", route,
			"status", rec.code, "ms", float64(d.Microseconds())/1000, "request_id", cmp.Or(tracing.ID(r.Context()), r.Header.Get(RequestIDHeader)))
	})
}

// coarse is a route label for a path no pattern named: its first segment,
// so labels stay few whatever clients ask for.
func coarse(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch first {
	case "media", "live", "static", "admin", "api", "_internal":
		return "/" + first + "/..."
	}
	return "other"
}

type recorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush keeps streams (live) flowing through the wrapper.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (hijack,
// deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Bus wraps a bus to count what goes through it.
func (m *Metrics) Bus(b maniwani.Bus) maniwani.Bus { return &bus{Bus: b, m: m} }

type bus struct {
	maniwani.Bus
	m *Metrics
}

func (b *bus) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	id, err := b.Bus.Publish(ctx, topic, data)
	if err == nil {
		b.m.published.WithLabelValues("topic").Inc()
	}
	return id, err
}

func (b *bus) Enqueue(ctx context.Context, queue string, data []byte) (string, error) {
	id, err := b.Bus.Enqueue(ctx, queue, data)
	if err == nil {
		b.m.published.WithLabelValues("queue").Inc()
	}
	return id, err
}

func (b *bus) Consume(ctx context.Context, queue, group string, handle maniwani.Handler) error {
	return b.Bus.Consume(ctx, queue, group, func(ctx context.Context, msg maniwani.Message) error {
		// IDs are "ms-seq": the time the job was enqueued.
		if ms, _, ok := strings.Cut(msg.ID, "-"); ok {
			if t, err := strconv.ParseInt(ms, 10, 64); err == nil {
				b.m.lag.WithLabelValues(queue).Observe(time.Since(time.UnixMilli(t)).Seconds())
			}
		}
		err := handle(ctx, msg)
		result := "ok"
		if err != nil {
			result = "failed"
		}
		b.m.consumed.WithLabelValues(queue, result).Inc()
		return err
	})
}
