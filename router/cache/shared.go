package cache

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// Shared is the Invalidator of a site with Redis: it advances the counters
// in Redis, which every router reads on a miss, raises this process's own at
// once, and publishes the new values so every other router raises its own.
type Shared struct {
	Redis *Redis
	Gens  *Generations
	Bus   maniwani.Bus
	Topic string
	// Missed, when set, remembers a write whose invalidation did not
	// reach Redis: Redis may come back with its data (and its entries
	// that the write made stale, still current by its counters), so
	// Repair then moves the epoch.
	Missed *atomic.Bool
	Logger *slog.Logger // nil: slog.Default()
}

// Run calls Repair each second until ctx ends: the invalidator's own work
// in the process whose writes it invalidates.
func (s Shared) Run(ctx context.Context) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if s.Missed != nil && s.Missed.Load() {
				if err := s.Repair(ctx); err == nil {
					log.Info("cache: Redis is back; everything cached before is dropped")
				}
			}
		}
	}
}

// Repair invalidates everything once Redis answers again after a write
// whose invalidation it missed; call it now and then (it does nothing
// otherwise).
func (s Shared) Repair(ctx context.Context) error {
	if s.Missed == nil || !s.Missed.Load() {
		return nil
	}
	return s.Invalidate(ctx, maniwani.Invalidation{All: true})
}

// Invalidate implements maniwani.Invalidator.
func (s Shared) Invalidate(ctx context.Context, inv maniwani.Invalidation) error {
	if s.Missed != nil && s.Missed.Load() {
		inv.All = true // what was missed is not known: everything goes
	}
	b, err := s.Redis.Bump(ctx, inv)
	if err != nil {
		// Redis is out of reach: at least this process's own L1 drops what
		// changed. Only here: bumping on success too would leave the local
		// counters ahead of Redis's for good after one failure.
		s.Gens.Bump(inv)
		if s.Missed != nil {
			s.Missed.Store(true)
		}
		return err
	}
	if inv.All && s.Missed != nil {
		s.Missed.Store(false)
	}
	s.Gens.Sync(Scope{}, b.Site)
	ev := &pb.CacheInvalidation{Epoch: b.Site[0], SiteGen: b.Site[1], Board: inv.Board}
	if inv.Board != "" {
		s.Gens.Sync(Scope{Board: inv.Board}, b.Board)
		ev.BoardGen = b.Board[1]
	}
	for i, no := range inv.Threads {
		s.Gens.Sync(Scope{Board: inv.Board, Thread: no}, b.Threads[i])
		ev.Threads = append(ev.Threads, no)
		ev.ThreadGens = append(ev.ThreadGens, b.Threads[i][1])
	}
	data, err := proto.Marshal(&pb.Event{Kind: &pb.Event_CacheInvalidation{CacheInvalidation: ev},
		Trace: tracing.Message(ctx)})
	if err != nil {
		return err
	}
	_, err = s.Bus.Publish(ctx, s.Topic, data)
	return err
}

// Broadcast is the Invalidator of a site whose processes share a bus but
// no Redis: there are no shared counters, so it advances this process's
// own at once and tells every router to advance its own (Bump events).
// Each router's counters then only grow with the writes it heard of, which
// is all an L1 needs; a router whose subscription broke drops its L1.
type Broadcast struct {
	Gens  *Generations
	Bus   maniwani.Bus
	Topic string
}

// Invalidate implements maniwani.Invalidator.
func (b Broadcast) Invalidate(ctx context.Context, inv maniwani.Invalidation) error {
	b.Gens.Bump(inv)
	data, err := proto.Marshal(&pb.Event{Kind: &pb.Event_CacheInvalidation{CacheInvalidation: &pb.CacheInvalidation{
		Bump: true, All: inv.All, Board: inv.Board, Threads: inv.Threads}}})
	if err != nil {
		return err
	}
	_, err = b.Bus.Publish(ctx, b.Topic, data)
	return err
}
