// Cache fill: a GET of a cacheable path whose L1 entry is missing or
// outdated, filled from Redis or the owning service, one fill at a time per
// key and at most one per version.

package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/maniwani/maniwani/router/cache"
)

// serveCached answers a GET or HEAD of a cacheable path whose L1 entry, e,
// is missing or outdated.
func (s *Service) serveCached(ctx *fasthttp.RequestCtx, key []byte, sc cache.Scope, e *cache.Entry) {
	// The version asked for: the counters as this request found them. It
	// is answered a page of at least that version, or (UPDATING) e while
	// such a page is on its way; never a fill begun before the last write,
	// so a poster's or a moderator's next read shows what they did,
	// however slow the fill before it is.
	f, starts := s.fills.find(string(key), s.deps.Gens.Get(sc))
	if !starts && s.updating(e) {
		s.write(ctx, e, stateUpdating)
		return
	}
	state := stateMiss
	s.requestID(ctx)
	if starts {
		s.fills.run(f, max(s.cfg.StaleFor, 0), func() cache.Gens { return s.deps.Gens.Get(sc) },
			func() (*cache.Entry, error) { return s.fill(ctx, string(key), sc) })
	}
	<-f.done
	switch {
	case f.err == nil:
		e = f.e
	case e != nil:
		state = stateStale // the upstream is down: an old page beats none
		s.log.Warn("router: serving stale", "path", string(key), "err", f.err)
	default:
		unavailable(ctx, f.err)
		return
	}
	s.write(ctx, e, state)
}

// atLeast tells whether counters a are b or later: under one epoch.
func atLeast(a, b cache.Gens) bool { return a[0] == b[0] && a[1] >= b[1] }

// fills are the fills of each key: at most one running, and one waiting
// for it to end. A write that lands while a page is made (on a hot
// thread, several may) needs one more fill, not one each: the readers
// who come after it share the waiting one, which reads the counters when
// it starts and so makes a page of every version asked meanwhile. Each
// fill is run by the request that made it, which waits for it.
type fills struct {
	mu sync.Mutex
	m  map[string]*keyFills
}

type keyFills struct{ running, waiting *flight }

// flight is one fill; done is closed once e and err are set.
type flight struct {
	key   string
	gens  cache.Gens // the version it makes at least; set when it starts
	after *flight    // the running fill it waits for
	done  chan struct{}
	e     *cache.Entry
	err   error
}

// find gives the fill that makes a page of at least version asked of key:
// the running one when it does, else the waiting one, else a new one,
// which the caller starts (starts) with run.
func (fs *fills) find(key string, asked cache.Gens) (f *flight, starts bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[string]*keyFills{}
	}
	k := fs.m[key]
	if k == nil {
		k = &keyFills{}
		fs.m[key] = k
	}
	switch {
	case k.running != nil && atLeast(k.running.gens, asked):
		return k.running, false
	case k.waiting != nil:
		return k.waiting, false
	}
	f = &flight{key: key, gens: asked, done: make(chan struct{}), after: k.running}
	if k.running == nil {
		k.running = f
	} else {
		k.waiting = f
	}
	return f, true
}

// run makes f with fill, once the fill it waits for has ended or has
// taken patience since f was made (a slow reader path: the request that
// waits for f, a moderator's next read, say, waits no longer for it); a
// waiting fill takes its version (gens) as it starts.
func (fs *fills) run(f *flight, patience time.Duration, gens func() cache.Gens, fill func() (*cache.Entry, error)) {
	defer close(f.done)
	if f.after != nil {
		t := time.NewTimer(patience)
		select {
		case <-f.after.done:
		case <-t.C:
		}
		t.Stop()
		fs.mu.Lock()
		k := fs.m[f.key]
		k.running, k.waiting, f.gens = f, nil, gens()
		fs.mu.Unlock()
	}
	defer fs.end(f)
	f.e, f.err = fill()
}

// end forgets f, which has ended: a fill that stopped waiting for it may
// have taken its place.
func (fs *fills) end(f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	k := fs.m[f.key]
	if k == nil { // the fill that stopped waiting for f ended before it
		return
	}
	if k.running == f {
		k.running = nil
	}
	if k.running == nil && k.waiting == nil {
		delete(fs.m, f.key)
	}
}

// updating tells whether the outdated entry e may answer a reader while
// a fill of the version it asks for is on its way, begun by another
// request that waits for it: e is a page (200) made at most StaleFor ago,
// and invalidations are heard (else nothing vouches even for how old e
// is). So no page is answered older than StaleFor, and one answered with
// a fill holds every write that reached this router before the request.
func (s *Service) updating(e *cache.Entry) bool {
	if e == nil || e.Status != fasthttp.StatusOK || s.cfg.StaleFor < 0 || !s.following.Load() {
		return false
	}
	return s.cfg.Now().Sub(e.Made) <= s.cfg.StaleFor
}

// fill makes the entry for key: from Redis when it holds a current one,
// else from the upstream.
func (s *Service) fill(ctx *fasthttp.RequestCtx, key string, sc cache.Scope) (*cache.Entry, error) {
	if e, current := s.l1.Get([]byte(key)); current && s.following.Load() {
		return e, nil // filled while this fill waited for the one before
	}
	made := s.cfg.Now() // before the counters are read: what follows is at least this new
	fctx, cancel := context.WithTimeout(withSpan(context.Background(), ctx), s.cfg.FetchTimeout)
	defer cancel()
	var gens cache.Gens
	l2 := s.deps.L2
	if l2 != nil {
		e, g, err := l2.Lookup(fctx, sc, key)
		if err != nil {
			s.log.Warn("router: redis lookup failed; going upstream", "err", err)
			l2 = nil
		} else {
			s.deps.Gens.Sync(sc, g)
			gens = g
			if e != nil && e.Gens == g {
				e.Made = made
				s.l1.Put(key, e, s.deps.Gens, sc)
				return e, nil
			}
		}
	}
	if l2 == nil {
		gens = s.deps.Gens.Get(sc)
	}
	// The counters are read before the upstream is asked: a write that
	// lands meanwhile leaves this entry stale from birth, never current.
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := s.owner(ctx).Fetch(fctx, &ctx.Request, resp); err != nil {
		return nil, err
	}
	e := &cache.Entry{
		Status:       resp.StatusCode(),
		ContentType:  string(resp.Header.ContentType()),
		CacheControl: string(resp.Header.Peek("Cache-Control")),
		ETag:         string(resp.Header.Peek("ETag")),
		LastModified: string(resp.Header.Peek("Last-Modified")),
		Location:     string(resp.Header.Peek("Location")),
		Body:         append([]byte(nil), resp.Body()...),
		Gens:         gens,
		Made:         made,
	}
	for k, v := range resp.Header.All() {
		if cache.Kept(k) {
			e.Extra = append(e.Extra, [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
	}
	if e.Status >= 500 {
		return nil, fmt.Errorf("upstream answered %d", e.Status)
	}
	if e.Status != fasthttp.StatusOK {
		return e, nil // answered, not kept: a 404 must not outlive what it missed
	}
	e.Compress()
	s.l1.Put(key, e, s.deps.Gens, sc)
	// Redis gets it after the readers have it (l2write.go).
	if l2 != nil && !s.l2w.add(key, sc, e) {
		s.log.Debug("router: too many pages wait for redis; one is not stored", "path", key)
	}
	return e, nil
}
