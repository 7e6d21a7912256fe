// Package cache is the router's response cache: an in-process L1 bounded in
// bytes, an optional L2 in Redis, and the generation counters that say
// whether a cached response is still current.
//
// Every response depends on one scope: the site (home, boards.json), a
// board (its index pages, catalog, archive), or a thread. Each scope has a
// counter that a write raises after it commits; a response is stored with the
// counters it was made under, and is current while they have not moved. So
// invalidating a board is one increment, and a response whose making raced a
// write is stored already stale instead of outliving the write.
package cache

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/maniwani/maniwani"
)

// Scope is what a response depends on: the site (Board ""), a board
// (Thread 0), or a thread.
type Scope struct {
	Board  string
	Thread int64
}

// Gens are the counters of a scope's site, board and thread, in that order.
type Gens [3]uint64

// counters are the live counters of one scope.
type counters [3]*atomic.Uint64

func (c counters) load() Gens {
	var g Gens
	for i, p := range c {
		if p != nil {
			g[i] = p.Load()
		}
	}
	return g
}

// Generations are this process's view of the counters. They only grow; with
// Redis they follow Redis's, which are the truth across processes.
type Generations struct {
	site    atomic.Uint64
	mu      sync.RWMutex
	boards  map[string]*atomic.Uint64
	threads map[threadKey]*atomic.Uint64
}

type threadKey struct {
	board string
	no    int64
}

// NewGenerations makes counters that all start at zero.
func NewGenerations() *Generations {
	return &Generations{boards: map[string]*atomic.Uint64{}, threads: map[threadKey]*atomic.Uint64{}}
}

// counters returns the counters of a scope, making them on first use.
func (g *Generations) counters(s Scope) counters {
	c := counters{&g.site}
	if s.Board == "" {
		return c
	}
	tk := threadKey{s.Board, s.Thread}
	g.mu.RLock()
	b, t := g.boards[s.Board], g.threads[tk]
	g.mu.RUnlock()
	if b == nil || (s.Thread != 0 && t == nil) {
		g.mu.Lock()
		if b = g.boards[s.Board]; b == nil {
			b = new(atomic.Uint64)
			g.boards[s.Board] = b
		}
		if s.Thread != 0 {
			if t = g.threads[tk]; t == nil {
				t = new(atomic.Uint64)
				g.threads[tk] = t
			}
		}
		g.mu.Unlock()
	}
	c[1] = b
	if s.Thread != 0 {
		c[2] = t
	}
	return c
}

// Get reads a scope's counters.
func (g *Generations) Get(s Scope) Gens { return g.counters(s).load() }

// Raise moves a scope's counters up to to, never down.
func (g *Generations) Raise(s Scope, to Gens) {
	for i, c := range g.counters(s) {
		if c == nil {
			continue
		}
		for {
			cur := c.Load()
			if to[i] <= cur || c.CompareAndSwap(cur, to[i]) {
				break
			}
		}
	}
}

// Bump advances the counters a write changed: the site's, the board's and
// each thread's. It is the invalidation of a single process, without Redis.
func (g *Generations) Bump(inv maniwani.Invalidation) {
	g.site.Add(1)
	if inv.Board == "" {
		return
	}
	g.counters(Scope{Board: inv.Board})[1].Add(1)
	for _, no := range inv.Threads {
		g.counters(Scope{Board: inv.Board, Thread: no})[2].Add(1)
	}
}

// Local is the Invalidator of a single process: it bumps its counters.
type Local struct{ Gens *Generations }

// Invalidate implements maniwani.Invalidator.
func (l Local) Invalidate(_ context.Context, inv maniwani.Invalidation) error {
	l.Gens.Bump(inv)
	return nil
}

// ScopeOf tells what the response at a public path depends on, and whether
// it is cacheable at all: /, /boards.json -> the site; /{board}/... -> the
// board; /{board}/thread/{no}[.json] -> the thread. Paths under the
// routes' own words are never cached.
func ScopeOf(path string) (Scope, bool) {
	if path == "/" || path == "/boards.json" {
		return Scope{}, true
	}
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return Scope{}, false
	}
	board, rest, _ := strings.Cut(rest, "/")
	if !maniwani.ValidBoardName(board) {
		return Scope{}, false
	}
	if t, ok := strings.CutPrefix(rest, "thread/"); ok {
		no, err := strconv.ParseInt(strings.TrimSuffix(t, ".json"), 10, 64)
		if err != nil || no <= 0 {
			return Scope{}, false
		}
		return Scope{Board: board, Thread: no}, true
	}
	if strings.Contains(rest, "/") {
		return Scope{}, false
	}
	return Scope{Board: board}, true
}
