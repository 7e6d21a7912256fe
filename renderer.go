package maniwani

import "context"

// Ref names a post a body quotes.
type Ref struct {
	Board string
	No    int64
}

// RenderInput is a body and what its rendering depends on.
type RenderInput struct {
	Board  string // the board the post is on
	Thread int64  // its thread; 0 when it starts one
	Body   string
	// Threads holds the thread of each quoted post that exists; a quote
	// not in it is a dead link.
	Threads map[Ref]int64
	// Boards holds the boards that exist, for >>>/x/ links (a missing
	// board: dead link).
	Boards map[string]bool
}

// Renderer turns what a poster wrote into the safe HTML of a post's `com`.
// The markdown service implements it (markdown.Renderer in process,
// markdown.Client apart); the api calls it once, at post time, and stores
// the result.
type Renderer interface {
	Render(ctx context.Context, in RenderInput) (string, error)
}
