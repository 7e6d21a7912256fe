package markdown

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// Client renders through a markdown service elsewhere. When the service
// cannot be reached, or fails, it renders with Fallback (the same library,
// so the same output) and logs a warning: posting never waits on markdown.
type Client struct {
	// BaseURL is the service's, e.g. "http://markdown:8084".
	BaseURL string
	// HTTPClient makes the requests; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds one request to the service before falling back;
	// default 2 s.
	Timeout time.Duration
	// Fallback renders when the service does not; nil: an unavailable
	// service is an error of kind KindUnavailable.
	Fallback *Renderer
	Logger   *slog.Logger
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
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if c.Fallback == nil {
		return "", &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The markdown service is unavailable.", Err: err}
	}
	level := slog.LevelWarn
	if status >= 400 && status < 500 {
		level = slog.LevelError
	}
	log.Log(ctx, level, "markdown: service unavailable; rendering locally", "err", err, "status", status)
	return c.Fallback.Render(ctx, in)
}

// remote is one request to the service; status is its answer's, 0 without
// one.
func (c *Client) remote(ctx context.Context, in maniwani.RenderInput) (html string, status int, err error) {
	body, err := json.Marshal(toWire(in))
	if err != nil {
		return "", 0, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+"/render",
		bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
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
