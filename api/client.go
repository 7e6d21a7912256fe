package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/peer"
)

// Client is the api as the other services see it when it runs apart: a
// maniwani.Reader for the ui and a maniwani.FileNames for media, over the
// api's internal routes.
type Client struct {
	base string
	http *http.Client
}

var (
	_ maniwani.Reader    = (*Client)(nil)
	_ maniwani.FileNames = (*Client)(nil)
)

// NewClient makes a client of the api at base ("http://api:8081") that
// sends secret, the services' shared one (internal/peer), with each call.
func NewClient(base, secret string) *Client {
	return &Client{base: base, http: &http.Client{Timeout: 10 * time.Second, Transport: peer.Transport(secret, nil)}}
}

// get reads path's JSON into v; an error answer comes back with its kind.
func (c *Client) get(ctx context.Context, path string, v any) error {
	if c.base == "" {
		return maniwani.Errorf(maniwani.KindUnavailable, "The api's address (MANIWANI_API_URL) is not set.")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The api is unavailable.", Err: err}
	}
	defer resp.Body.Close()
	if err := maniwani.ResponseError(resp); err != nil {
		return fmt.Errorf("api: %s: %w", path, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The api is unavailable.", Err: err}
	}
	return json.Unmarshal(body, v)
}

// Boards implements maniwani.Reader.
func (c *Client) Boards(ctx context.Context) ([]maniwani.Board, error) {
	var v []maniwani.Board
	return v, c.get(ctx, "/_internal/boards", &v)
}

// Board implements maniwani.Reader.
func (c *Client) Board(ctx context.Context, name string) (*maniwani.Board, error) {
	var v maniwani.Board
	if err := c.get(ctx, "/_internal/boards/"+url.PathEscape(name), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Threads implements maniwani.Reader.
func (c *Client) Threads(ctx context.Context, board string, offset, limit, last int) ([]maniwani.ThreadView, error) {
	var v []maniwani.ThreadView
	return v, c.get(ctx, fmt.Sprintf("/_internal/threads/%s?offset=%d&limit=%d&last=%d", url.PathEscape(board), offset, limit, last), &v)
}

// Thread implements maniwani.Reader.
func (c *Client) Thread(ctx context.Context, board string, no int64) (*maniwani.ThreadView, error) {
	var v maniwani.ThreadView
	if err := c.get(ctx, fmt.Sprintf("/_internal/threads/%s/%d", url.PathEscape(board), no), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Latest implements maniwani.Reader.
func (c *Client) Latest(ctx context.Context, limit int) ([]maniwani.ThreadView, error) {
	var v []maniwani.ThreadView
	return v, c.get(ctx, fmt.Sprintf("/_internal/latest?limit=%d", limit), &v)
}

// ThreadOf implements maniwani.Reader.
func (c *Client) ThreadOf(ctx context.Context, board string, no int64) (int64, error) {
	var v int64
	return v, c.get(ctx, fmt.Sprintf("/_internal/posts/%s/%d/thread", url.PathEscape(board), no), &v)
}

// MovedTo implements maniwani.Reader.
func (c *Client) MovedTo(ctx context.Context, board string, no int64) (maniwani.MovedPost, error) {
	var v maniwani.MovedPost
	return v, c.get(ctx, fmt.Sprintf("/_internal/posts/%s/%d/moved", url.PathEscape(board), no), &v)
}

// Archive implements maniwani.Reader.
func (c *Client) Archive(ctx context.Context, board string, limit int) ([]maniwani.ThreadView, error) {
	var v []maniwani.ThreadView
	return v, c.get(ctx, fmt.Sprintf("/_internal/archive/%s?limit=%d", url.PathEscape(board), limit), &v)
}

// FileByName implements maniwani.FileNames.
func (c *Client) FileByName(ctx context.Context, board string, tim int64) (maniwani.FileRef, error) {
	var v maniwani.FileRef
	return v, c.get(ctx, fmt.Sprintf("/_internal/files/%s/%d", url.PathEscape(board), tim), &v)
}
