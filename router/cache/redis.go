package cache

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
)

// Redis is the L2 cache shared by routers, and the home of the counters
// that every process follows. A board's keys share the hash tag {board}, so
// on Redis Cluster a board's counters and pages live in one slot.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedis keeps entries under prefix for ttl (an entry is dropped earlier
// when it goes stale, by being overwritten on the next fill).
func NewRedis(c redis.UniversalClient, prefix string, ttl time.Duration) *Redis {
	return &Redis{c: c, prefix: prefix, ttl: ttl}
}

// genKeys are the keys of a scope's counters: the epoch, then its own.
func (r *Redis) genKeys(s Scope) [2]string {
	own := r.prefix + ":site:gen"
	if s.Board != "" {
		own = r.prefix + ":{" + s.Board + "}:gen"
		if s.Thread != 0 {
			own = fmt.Sprintf("%s:{%s}:gen:%d", r.prefix, s.Board, s.Thread)
		}
	}
	return [2]string{r.epochKey(), own}
}

func (r *Redis) entryKey(s Scope, key string) string {
	if s.Board == "" {
		return r.prefix + ":site:page:" + key
	}
	return r.prefix + ":{" + s.Board + "}:page:" + key
}

// epochKey holds the site's epoch. It starts at a random value, made by
// whoever first finds it missing, so a Redis that restarted empty shows a
// new epoch instead of counters that start again from zero under the old
// one (and would give old cached pages their numbers back).
func (r *Redis) epochKey() string { return r.prefix + ":site:epoch" }

// ensureEpoch queues the epoch's creation when it is missing.
func (r *Redis) ensureEpoch(ctx context.Context, pipe redis.Pipeliner) {
	var b [6]byte
	rand.Read(b[:])
	e := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5]) | 1
	pipe.SetNX(ctx, r.epochKey(), e, 0)
}

// Lookup reads the scope's counters and the entry stored under key (nil
// when there is none, it cannot be read, or it is not current). A round
// trip reads the counters and the head of the entry, which holds its own:
// only a current entry is then read whole, in a second one. On a hot
// thread Redis mostly holds the version a write has just outdated, and
// reading that (the page and its gzip form) only to drop it would cost
// Redis and the router more than the round trip a current one costs.
func (r *Redis) Lookup(ctx context.Context, s Scope, key string) (*Entry, Gens, error) {
	keys := r.genKeys(s)
	ek := r.entryKey(s, key)
	pipe := r.c.Pipeline()
	r.ensureEpoch(ctx, pipe)
	cmds := make([]*redis.StringCmd, len(keys)+1)
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	cmds[len(keys)] = pipe.GetRange(ctx, ek, 0, entryHeadMax-1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, Gens{}, err
	}
	var g Gens
	for i := range keys {
		v, err := cmds[i].Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, Gens{}, err
		}
		g[i] = v
	}
	if head, ok := entryGens([]byte(cmds[len(keys)].Val())); !ok || head != g {
		return nil, g, nil
	}
	b, err := r.c.Get(ctx, ek).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, g, nil
	}
	if err != nil {
		return nil, Gens{}, err
	}
	e, err := Unmarshal(b)
	if err != nil || e.Gens != g { // overwritten meanwhile: by a newer one
		return nil, g, nil
	}
	return e, g, nil
}

// Store keeps e under key.
func (r *Redis) Store(ctx context.Context, s Scope, key string, e *Entry) error {
	return r.c.Set(ctx, r.entryKey(s, key), e.Marshal(), r.ttl).Err()
}

// Stored is one entry for StoreAll.
type Stored struct {
	Scope Scope
	Key   string
	Entry *Entry
}

// StoreAll keeps each entry under its key, in one round trip.
func (r *Redis) StoreAll(ctx context.Context, all []Stored) error {
	pipe := r.c.Pipeline()
	for _, s := range all {
		pipe.Set(ctx, r.entryKey(s.Scope, s.Key), s.Entry.Marshal(), r.ttl)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Gens reads a scope's counters.
func (r *Redis) Gens(ctx context.Context, s Scope) (Gens, error) {
	keys := r.genKeys(s)
	pipe := r.c.Pipeline()
	r.ensureEpoch(ctx, pipe)
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Gens{}, err
	}
	var g Gens
	for i := range keys {
		g[i], _ = cmds[i].Uint64()
	}
	return g, nil
}

// Bumped are the counters after an invalidation: the site's, the board's
// and each thread's.
type Bumped struct {
	Site    Gens
	Board   Gens
	Threads []Gens
}

// Bump advances the counters of what a write changed, in one round trip.
func (r *Redis) Bump(ctx context.Context, inv maniwani.Invalidation) (Bumped, error) {
	pipe := r.c.Pipeline()
	r.ensureEpoch(ctx, pipe)
	epochKey := r.epochKey()
	var epoch *redis.IntCmd
	if inv.All {
		epoch = pipe.Incr(ctx, epochKey)
	} else {
		epoch = pipe.IncrBy(ctx, epochKey, 0) // read it in the same round trip
	}
	site := pipe.Incr(ctx, r.genKeys(Scope{})[1])
	var board *redis.IntCmd
	threads := make([]*redis.IntCmd, len(inv.Threads))
	if inv.Board != "" {
		board = pipe.Incr(ctx, r.genKeys(Scope{Board: inv.Board})[1])
		for i, no := range inv.Threads {
			threads[i] = pipe.Incr(ctx, r.genKeys(Scope{Board: inv.Board, Thread: no})[1])
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return Bumped{}, err
	}
	e := uint64(epoch.Val())
	out := Bumped{Site: Gens{e, uint64(site.Val())}}
	if board != nil {
		out.Board = Gens{e, uint64(board.Val())}
	}
	for _, t := range threads {
		out.Threads = append(out.Threads, Gens{e, uint64(t.Val())})
	}
	return out, nil
}
