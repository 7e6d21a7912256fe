package media

import (
	"container/list"
	"sync"
	"time"
)

// nameCache is a bounded LRU of resolved names: "{board}/{tim}" -> the
// file's "{sha}{ext}". A name never changes which bytes it serves, so only
// positives go in and a hit needs no question to the api until its entry
// is ttl old; the ttl bounds how long another instance, whose Remove did
// not reach this one, serves the name of a deleted post.
type nameCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List // front: most recently used; values are *nameEntry
	items map[string]*list.Element
}

type nameEntry struct {
	key, val string
	expires  time.Time
}

func newNameCache(max int, ttl time.Duration) *nameCache {
	return &nameCache{max: max, ttl: ttl, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *nameCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return "", false
	}
	ent := e.Value.(*nameEntry)
	if time.Now().After(ent.expires) {
		c.order.Remove(e)
		delete(c.items, key)
		return "", false
	}
	c.order.MoveToFront(e)
	return ent.val, true
}

func (c *nameCache) add(key, val string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := time.Now().Add(c.ttl)
	if e, ok := c.items[key]; ok {
		ent := e.Value.(*nameEntry)
		ent.val, ent.expires = val, expires
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&nameEntry{key, val, expires})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*nameEntry).key)
	}
}

func (c *nameCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
		delete(c.items, key)
	}
}
