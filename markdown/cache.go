package markdown

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cache keeps renders by Key. A render never changes for its key (Version
// is part of it), so an entry is never stale: entries only go to make room,
// or when their TTL ends.
type Cache interface {
	// Get returns the render kept under key, and whether there is one.
	Get(ctx context.Context, key string) (html string, ok bool, err error)
	// Set keeps html under key.
	Set(ctx context.Context, key, html string) error
}

// MemoryCache is an in-process LRU cache bounded by the bytes of its keys
// and values. It is safe for concurrent use.
type MemoryCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memEntry struct {
	key, html string
}

// entryOverhead is what an entry costs beyond its key and value: the list
// element, the map slot, the entry.
const entryOverhead = 128

// NewMemoryCache makes a cache that keeps at most maxBytes; 0 or less
// means 32 MiB.
func NewMemoryCache(maxBytes int64) *MemoryCache {
	if maxBytes <= 0 {
		maxBytes = 32 << 20
	}
	return &MemoryCache{max: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

func (e *memEntry) size() int64 { return int64(len(e.key) + len(e.html) + entryOverhead) }

func (c *MemoryCache) Get(_ context.Context, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return "", false, nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*memEntry).html, true, nil
}

func (c *MemoryCache) Set(_ context.Context, key, html string) error {
	e := &memEntry{key: key, html: html}
	if e.size() > c.max {
		return nil // it would push out everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		old := el.Value.(*memEntry)
		c.size += e.size() - old.size()
		el.Value = e
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(e)
		c.size += e.size()
	}
	for c.size > c.max {
		el := c.order.Back()
		old := el.Value.(*memEntry)
		c.order.Remove(el)
		delete(c.items, old.key)
		c.size -= old.size()
	}
	return nil
}

// Len is the number of renders kept.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// RedisCache keeps renders in Redis, shared by every markdown process, each
// for a TTL. Keys are Prefix + ":md:" + Key.
type RedisCache struct {
	c   redis.UniversalClient
	cfg RedisConfig
}

// RedisConfig are a RedisCache's settings; zero values take defaults.
type RedisConfig struct {
	Prefix string
	// TTL is how long a render is kept; default 7 days.
	TTL time.Duration
	// Timeout bounds each Get and Set, dial retries included, so that a
	// Redis that is down slows no render by more; default 100 ms.
	Timeout time.Duration
}

// NewRedisCache keeps renders in c.
func NewRedisCache(c redis.UniversalClient, cfg RedisConfig) *RedisCache {
	if cfg.TTL <= 0 {
		cfg.TTL = 7 * 24 * time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	return &RedisCache{c: c, cfg: cfg}
}

func (r *RedisCache) key(k string) string { return r.cfg.Prefix + ":md:" + k }

func (r *RedisCache) Get(ctx context.Context, key string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	v, err := r.c.Get(ctx, r.key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

func (r *RedisCache) Set(ctx context.Context, key, html string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	return r.c.Set(ctx, r.key(key), html, r.cfg.TTL).Err()
}

// Ping tells whether Redis answers.
func (r *RedisCache) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// Layered is a cache in front of another: an in-process L1 before a shared
// L2 (Redis, say). A hit in L2 fills L1; a write goes to both. When L2
// fails, L1 still answers and the error is returned for the log.
type Layered struct {
	L1, L2 Cache
}

func (l Layered) Get(ctx context.Context, key string) (string, bool, error) {
	if html, ok, err := l.L1.Get(ctx, key); err == nil && ok {
		return html, true, nil
	}
	html, ok, err := l.L2.Get(ctx, key)
	if err != nil || !ok {
		return "", false, err
	}
	return html, true, l.L1.Set(ctx, key, html)
}

func (l Layered) Set(ctx context.Context, key, html string) error {
	return errors.Join(l.L1.Set(ctx, key, html), l.L2.Set(ctx, key, html))
}

// Ping tells whether L2 answers, when it can tell.
func (l Layered) Ping(ctx context.Context) error {
	if p, ok := l.L2.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}
