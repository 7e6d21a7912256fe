// Cache fill: a GET of a cacheable path whose L1 entry is missing or
// outdated, filled from Redis or the owning service, one fill per key.

package router

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/maniwani/maniwani/router/cache"
)

// serveCached answers a GET or HEAD of a cacheable path whose L1 entry, e,
// is missing or outdated.
func (s *Service) serveCached(ctx *fasthttp.RequestCtx, key []byte, sc cache.Scope, e *cache.Entry) {
	if s.updating(key, e) {
		s.write(ctx, e, stateUpdating)
		return
	}
	state := stateMiss
	s.requestID(ctx)
	fresh, err := s.fill(ctx, string(key), sc)
	switch {
	case err == nil:
		e = fresh
	case e != nil:
		state = stateStale // the upstream is down: an old page beats none
		s.log.Warn("router: serving stale", "path", string(key), "err", err)
	default:
		unavailable(ctx, err)
		return
	}
	s.write(ctx, e, state)
}

// updating tells whether the outdated entry e may answer a reader now: a
// fill of key is in flight (another request waits for it), e is a page
// (200) made at most StaleFor ago, and invalidations are heard (else
// nothing vouches even for how old e is).
func (s *Service) updating(key []byte, e *cache.Entry) bool {
	if e == nil || e.Status != fasthttp.StatusOK || s.cfg.StaleFor < 0 || !s.following.Load() {
		return false
	}
	if _, busy := s.filling.Load(string(key)); !busy {
		return false
	}
	return s.cfg.Now().Sub(e.Made) <= s.cfg.StaleFor
}

// fill makes the entry for key: from Redis when it holds a current one, else
// from the upstream. Concurrent misses on one key share one fill.
func (s *Service) fill(ctx *fasthttp.RequestCtx, key string, sc cache.Scope) (*cache.Entry, error) {
	v, err, _ := s.flight.Do(key, func() (any, error) {
		if e, current := s.l1.Get([]byte(key)); current && s.following.Load() {
			return e, nil // filled while this caller waited to fly
		}
		s.filling.Store(key, struct{}{})
		defer s.filling.Delete(key)
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
		if l2 != nil {
			if err := l2.Store(fctx, sc, key, e); err != nil {
				s.log.Warn("router: redis store failed", "err", err)
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cache.Entry), nil
}
