package maniwani

import "context"

// Renderer turns what a poster wrote into the safe HTML of a post's `com`.
// The markdown service implements it; the api calls it once, at post time.
type Renderer interface {
	Render(ctx context.Context, board string, thread int64, body string) (string, error)
}
