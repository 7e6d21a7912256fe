// Package lru is a bounded cache whose entries each expire: at most Max
// of them, the least recently used going first to make room. It is safe
// for concurrent use.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache holds values of type V by key.
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: the most recently used; values are *item[V]
	items map[string]*list.Element
}

type item[V any] struct {
	key     string
	val     V
	expires time.Time
}

// New makes a cache of at most max entries.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// Get is the value kept under key, if there is one and it has not
// expired at now; an expired one goes.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	it := el.Value.(*item[V])
	if !now.Before(it.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return it.val, true
}

// Put keeps val under key until expires, in place of what was there.
func (c *Cache[V]) Put(key string, val V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		it := el.Value.(*item[V])
		it.val, it.expires = val, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&item[V]{key, val, expires})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*item[V]).key)
	}
}

// Remove drops key's entry, if any.
func (c *Cache[V]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

// Len is the number of entries kept, expired ones not yet dropped among
// them.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
