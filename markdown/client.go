package markdown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// ClientConfig says where the markdown service is.
type ClientConfig struct {
	// URL is the service's, e.g. "http://markdown:8084"; required.
	URL string
	// HTTPClient makes the requests; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds one request to the service before falling back;
	// default 2 s.
	Timeout time.Duration
	Logger  *slog.Logger // nil: slog.Default()
}

// ClientDeps are what a Client falls back on.
type ClientDeps struct {
	// Fallback renders when the service does not (a Renderer here: the
	// same library, so the same output); nil: an unavailable service is
	// an error of kind KindUnavailable.
	Fallback maniwani.Renderer
}

// Client renders through a markdown service elsewhere. When the service
// cannot be reached, or fails, it renders with its fallback and logs a
// warning: posting never waits on markdown.
type Client struct {
	base     string
	http     *http.Client
	timeout  time.Duration
	fallback maniwani.Renderer
	log      *slog.Logger
}

// NewClient makes a client of the service at cfg.URL.
func NewClient(cfg ClientConfig, deps ClientDeps) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("markdown: ClientConfig.URL is required")
	}
	c := &Client{base: strings.TrimSuffix(cfg.URL, "/"), http: cfg.HTTPClient, timeout: cfg.Timeout,
		fallback: deps.Fallback, log: cfg.Logger}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.timeout <= 0 {
		c.timeout = 2 * time.Second
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

var _ maniwani.Renderer = (*Client)(nil)

// Render asks the service to render in. A network error, a timeout, an
// answer of 5xx (or any other answer that is not a render: a 4xx is a bug
// of ours, logged as an error) make it render with Fallback.
func (c *Client) Render(ctx context.Context, in maniwani.RenderInput) (string, error) {
	html, status, err := c.remote(ctx, in)
	if err == nil {
		return html, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err() // the caller gave up; nobody waits for a render
	}
	if c.fallback == nil {
		return "", &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The markdown service is unavailable.", Err: err}
	}
	level := slog.LevelWarn
	if status >= 400 && status < 500 {
		level = slog.LevelError
	}
	c.log.Log(ctx, level, "markdown: service unavailable; rendering locally", "err", err, "status", status)
	return c.fallback.Render(ctx, in)
}

// remote is one request to the service; status is its answer's, 0 without
// one.
func (c *Client) remote(ctx context.Context, in maniwani.RenderInput) (html string, status int, err error) {
	body, err := json.Marshal(toWire(in))
	if err != nil {
		return "", 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/render",
		bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if err := maniwani.ResponseError(resp); err != nil {
		return "", resp.StatusCode, fmt.Errorf("markdown service answered %s: %w", resp.Status, err)
	}
	var out wireOutput
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", resp.StatusCode, fmt.Errorf("markdown service answer: %w", err)
	}
	return out.HTML, resp.StatusCode, nil
}
