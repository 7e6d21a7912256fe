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

// Gens are the counters a response depends on: the site's epoch, which
// moves only when a board itself changes (its settings, its existence) and
// so outdates every page, then the scope's own counter, which every write
// to that scope moves. A post outdates its thread, its board's pages and the
// site's, and nothing else: the other threads stay cached.
type Gens [2]uint64

// counters are the live counters of one scope.
type counters [2]*atomic.Uint64

func (c counters) load() Gens { return Gens{c[0].Load(), c[1].Load()} }

// Generations are this process's view of the counters. They only grow; with
// Redis they follow Redis's, which are the truth across processes.
type Generations struct {
	epoch   atomic.Uint64
	era     atomic.Uint64 // moves on Reset: what L1 holds from before is outdated
	home    atomic.Uint64 // the site scope's own counter
	mu      sync.RWMutex
	boards  map[string]*atomic.Uint64
	threads map[Scope]*atomic.Uint64
}

// NewGenerations makes counters that all start at zero.
func NewGenerations() *Generations {
	return &Generations{boards: map[string]*atomic.Uint64{}, threads: map[Scope]*atomic.Uint64{}}
}

// counters returns the counters of a scope, making them on first use.
func (g *Generations) counters(s Scope) counters {
	if s.Board == "" {
		return counters{&g.epoch, &g.home}
	}
	g.mu.RLock()
	var c *atomic.Uint64
	if s.Thread == 0 {
		c = g.boards[s.Board]
	} else {
		c = g.threads[s]
	}
	g.mu.RUnlock()
	if c == nil {
		g.mu.Lock()
		m := g.threads
		key := s
		if s.Thread == 0 {
			if c = g.boards[s.Board]; c == nil {
				c = new(atomic.Uint64)
				g.boards[s.Board] = c
			}
		} else if c = m[key]; c == nil {
			c = new(atomic.Uint64)
			m[key] = c
		}
		g.mu.Unlock()
	}
	return counters{&g.epoch, c}
}

// own finds a scope's own counter without making it: a request for a
// board or thread that never changed here must not grow the maps (anyone can
// ask for /x/thread/123456789).
func (g *Generations) own(s Scope) *atomic.Uint64 {
	if s.Board == "" {
		return &g.home
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if s.Thread == 0 {
		return g.boards[s.Board]
	}
	return g.threads[s]
}

// Get reads a scope's counters; a counter never made reads zero.
func (g *Generations) Get(s Scope) Gens {
	var own uint64
	if c := g.own(s); c != nil {
		own = c.Load()
	}
	return Gens{g.epoch.Load(), own}
}

// Raise moves a scope's counters up to to, never down. A counter that
// stays at zero is not made.
func (g *Generations) Raise(s Scope, to Gens) {
	c := counters{&g.epoch, g.own(s)}
	if c[1] == nil && to[1] > 0 {
		c = g.counters(s)
	}
	for i, c := range c {
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

// Sync follows counters read from Redis: it raises the scope's own counter
// to them, and when Redis's epoch is another one (a board changed itself, or
// Redis restarted and lost its counters) it first resets every counter to
// the new epoch, which outdates whatever was cached. It tells whether it
// reset.
func (g *Generations) Sync(s Scope, to Gens) bool {
	reset := to[0] != g.epoch.Load()
	if reset {
		g.reset(to[0])
	}
	g.Raise(s, to)
	return reset
}

// Reset outdates everything cached here and starts every counter again from
// zero under the current epoch: for when this process may have missed
// changes (its invalidations stream broke) or counted some that Redis has
// not (Redis was down when it wrote).
func (g *Generations) Reset() { g.reset(g.epoch.Load()) }

func (g *Generations) reset(epoch uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.home.Store(0)
	for _, c := range g.boards {
		c.Store(0)
	}
	for _, c := range g.threads {
		c.Store(0)
	}
	g.epoch.Store(epoch)
	g.era.Add(1)
}

// Bump advances the counters a write changed: the site's, the board's and
// each thread's, and the epoch when the board itself changed. It is the
// invalidation of a single process, without Redis.
func (g *Generations) Bump(inv maniwani.Invalidation) {
	if inv.All {
		g.epoch.Add(1)
	}
	g.home.Add(1)
	if inv.Board == "" {
		return
	}
	g.counters(Scope{Board: inv.Board})[1].Add(1)
	for _, no := range inv.Threads {
		g.counters(Scope{Board: inv.Board, Thread: no})[1].Add(1)
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
	// The catalog's sorts and searches are board pages too; a search
	// names its term in the path, as a query string would name no page.
	if c, ok := strings.CutPrefix(rest, "catalog/"); ok {
		switch term, search := strings.CutPrefix(c, "search/"); {
		case search && term != "" && !strings.Contains(term, "/"),
			c == "last", c == "new", c == "replies":
			return Scope{Board: board}, true
		}
		return Scope{}, false
	}
	if strings.Contains(rest, "/") {
		return Scope{}, false
	}
	return Scope{Board: board}, true
}
