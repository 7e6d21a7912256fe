package cache

import (
	"container/list"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// L1 is the in-process cache: least recently used entries go first once the
// bytes held pass the bound. It is split in shards so that concurrent hits
// rarely wait on one another.
type L1 struct {
	seed   maphash.Seed
	shards [l1Shards]l1Shard
}

const l1Shards = 16

type l1Shard struct {
	mu    sync.Mutex
	max   int64
	used  int64
	items map[string]*list.Element
	order list.List // front: most recently used
}

type l1Item struct {
	key   string
	entry *Entry
	ctrs  counters
	era   uint64         // of its counters when it was stored
	eras  *atomic.Uint64 // the counters' era now
}

// NewL1 makes a cache that holds about maxBytes.
func NewL1(maxBytes int64) *L1 {
	c := &L1{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].max = maxBytes / l1Shards
		c.shards[i].items = map[string]*list.Element{}
	}
	return c
}

func (c *L1) shard(key []byte) *l1Shard {
	return &c.shards[maphash.Bytes(c.seed, key)%l1Shards]
}

// Get returns the entry stored under key and whether it is current: made
// under the counters its scope has now. A stale entry is still returned, for
// when the upstream is down.
func (c *L1) Get(key []byte) (e *Entry, current bool) {
	s := c.shard(key)
	s.mu.Lock()
	el, ok := s.items[string(key)]
	var it *l1Item
	if ok {
		s.order.MoveToFront(el)
		it = el.Value.(*l1Item)
	}
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	return it.entry, it.ctrs.load() == it.entry.Gens && it.eras.Load() == it.era
}

// Put stores e under key; g gives the live counters of its scope.
func (c *L1) Put(key string, e *Entry, g *Generations, sc Scope) {
	size := e.size() + int64(len(key))
	s := c.shard([]byte(key))
	if size > s.max {
		return
	}
	// The era is read before the counters: a Reset in between leaves the
	// item outdated, never current under zeroed counters.
	era := g.era.Load()
	it := &l1Item{key: key, entry: e, ctrs: g.counters(sc), era: era, eras: &g.era}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		old := el.Value.(*l1Item)
		if old.era == era && newer(old.entry.Gens, e.Gens) {
			// Fills of two versions overlapped and the older ended last:
			// the newer page stays.
			return
		}
		s.used -= old.entry.size() + int64(len(key))
		el.Value = it
		s.order.MoveToFront(el)
	} else {
		s.items[key] = s.order.PushFront(it)
	}
	s.used += size
	for s.used > s.max {
		el := s.order.Back()
		old := el.Value.(*l1Item)
		s.order.Remove(el)
		delete(s.items, old.key)
		s.used -= old.entry.size() + int64(len(old.key))
	}
}

// newer tells whether counters a are past b: both under one epoch (under
// two, neither is known to come after the other).
func newer(a, b Gens) bool { return a[0] == b[0] && a[1] > b[1] }

// Clear drops every entry: for when this process may have missed
// invalidations and can no longer tell which entries are current.
func (c *L1) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.items)
		s.order.Init()
		s.used = 0
		s.mu.Unlock()
	}
}
