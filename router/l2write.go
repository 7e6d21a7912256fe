// Pages go to Redis after their readers are answered: a fill's readers,
// and the poster waiting on the same CPU, do not wait on a write of a page
// and its gzip form (hundreds of KB for a long thread) to Redis.

package router

import (
	"context"
	"sync"

	"github.com/maniwani/maniwani/router/cache"
)

// l2WritesMax bounds the pages waiting for Redis: past it a new one is
// dropped (Redis is a cache; another fill stores it again).
const l2WritesMax = 1024

// l2Writes are the filled pages not yet in Redis: the newest of each key,
// as a page filled again before its last version was stored needs only
// the new one.
type l2Writes struct {
	mu      sync.Mutex
	pending map[string]cache.Stored
	wake    chan struct{} // one token: there is something to store
	// flushing is held while a batch is stored, so two batches never race
	// and an older version of a page cannot land after a newer one.
	flushing sync.Mutex
}

func newL2Writes() *l2Writes {
	return &l2Writes{pending: map[string]cache.Stored{}, wake: make(chan struct{}, 1)}
}

// add queues e, stored under key, for Redis; false when too many wait.
func (w *l2Writes) add(key string, sc cache.Scope, e *cache.Entry) bool {
	w.mu.Lock()
	if _, ok := w.pending[key]; !ok && len(w.pending) >= l2WritesMax {
		w.mu.Unlock()
		return false
	}
	w.pending[key] = cache.Stored{Scope: sc, Key: key, Entry: e}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// take empties the queue.
func (w *l2Writes) take() []cache.Stored {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]cache.Stored, 0, len(w.pending))
	for _, s := range w.pending {
		out = append(out, s)
	}
	clear(w.pending)
	return out
}

// storeL2 stores queued pages until ctx ends.
func (s *Service) storeL2(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.l2w.wake:
			s.flushL2(context.WithoutCancel(ctx))
		}
	}
}

// flushL2 stores what is queued, in one round trip, but for the pages
// already outdated here: a write landed while they were made, Redis's
// counters are past theirs, and no router would take them.
func (s *Service) flushL2(ctx context.Context) {
	w := s.l2w
	w.flushing.Lock()
	defer w.flushing.Unlock()
	batch := w.take()
	keep := batch[:0]
	for _, b := range batch {
		if b.Entry.Gens == s.deps.Gens.Get(b.Scope) {
			keep = append(keep, b)
		}
	}
	if len(keep) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	if err := s.deps.L2.StoreAll(ctx, keep); err != nil {
		s.log.Warn("router: redis store failed", "pages", len(keep), "err", err)
	}
}
