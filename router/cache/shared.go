package cache

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
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
}

// Invalidate implements maniwani.Invalidator.
func (s Shared) Invalidate(ctx context.Context, inv maniwani.Invalidation) error {
	// Whatever happens below, this process's own L1 drops what changed.
	s.Gens.Bump(inv)
	b, err := s.Redis.Bump(ctx, inv)
	if err != nil {
		return err
	}
	s.Gens.Raise(Scope{Board: inv.Board}, b.Board)
	ev := &pb.CacheInvalidation{Board: inv.Board, SiteGen: b.Board[0], BoardGen: b.Board[1]}
	for i, no := range inv.Threads {
		s.Gens.Raise(Scope{Board: inv.Board, Thread: no}, b.Threads[i])
		ev.Threads = append(ev.Threads, no)
		ev.ThreadGens = append(ev.ThreadGens, b.Threads[i][2])
	}
	data, err := proto.Marshal(&pb.Event{Kind: &pb.Event_CacheInvalidation{CacheInvalidation: ev}})
	if err != nil {
		return err
	}
	_, err = s.Bus.Publish(ctx, s.Topic, data)
	return err
}
