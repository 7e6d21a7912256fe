package maniwani

import "context"

// Invalidation names what a write changed, so caches drop what showed it:
// every page of the site that lists boards or threads, the pages of the
// board, and the pages of the threads given.
type Invalidation struct {
	Board   string
	Threads []int64
	// All says every page may have changed: a board was created, changed
	// its settings or was deleted. Rare, so it simply outdates everything.
	All bool
}

// Invalidator drops cached responses. The api calls it after each commit
// and before it answers the writer, so the writer's next read is fresh.
type Invalidator interface {
	Invalidate(ctx context.Context, inv Invalidation) error
}
