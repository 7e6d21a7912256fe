// Cache fill: a GET of a cacheable path whose L1 entry is missing or
// outdated, filled from Redis or the owning service, one fill per key.

package router

import (
	"context"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/maniwani/maniwani/router/cache"
)

// serveCached answers a GET or HEAD of a cacheable path whose L1 entry, e,
// is missing or outdated.
func (s *Service) serveCached(ctx *fasthttp.RequestCtx, key []byte, sc cache.Scope, e *cache.Entry) {
	// The version asked for: the counters as this request found them. A
	// fill of an older one (started before the last write) is neither
	// joined nor a reason to answer e: this request waits for a page of
	// at least its own version, so a poster's or a moderator's next read
	// shows what they did, however slow the fill before it is.
	asked := s.deps.Gens.Get(sc)
	flight := flightKey(key, asked)
	if s.updating(flight, e) {
		s.write(ctx, e, stateUpdating)
		return
	}
	state := stateMiss
	s.requestID(ctx)
	fresh, err := s.fill(ctx, flight, asked, string(key), sc)
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

// flightKey names the fill of key's version g: one fill per version,
// which every request that asks for that version shares.
func flightKey(key []byte, g cache.Gens) string {
	b := make([]byte, 0, len(key)+24)
	b = append(b, key...)
	b = append(b, 0)
	b = strconv.AppendUint(b, g[0], 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, g[1], 36)
	return string(b)
}

// atLeast tells whether counters a are b or later: under one epoch.
func atLeast(a, b cache.Gens) bool { return a[0] == b[0] && a[1] >= b[1] }

// updating tells whether the outdated entry e may answer a reader now: a
// fill of the version the reader asks for (flight) is in flight, started
// by another request that waits for it; e is a page (200) made at most
// StaleFor ago; and invalidations are heard (else nothing vouches even for
// how old e is). So no page answered is older than StaleFor, and one
// answered with a fill is at most one fill old: a write that reached
// this router before a fill began is on its page.
func (s *Service) updating(flight string, e *cache.Entry) bool {
	if e == nil || e.Status != fasthttp.StatusOK || s.cfg.StaleFor < 0 || !s.following.Load() {
		return false
	}
	if _, busy := s.filling.Load(flight); !busy {
		return false
	}
	return s.cfg.Now().Sub(e.Made) <= s.cfg.StaleFor
}

// fill makes the entry for key, of at least the version asked (flight
// names it): from Redis when it holds a current one, else from the
// upstream. Concurrent misses of one version share one fill.
func (s *Service) fill(ctx *fasthttp.RequestCtx, flight string, asked cache.Gens, key string, sc cache.Scope) (*cache.Entry, error) {
	v, err, _ := s.flight.Do(flight, func() (any, error) {
		if e, current := s.l1.Get([]byte(key)); e != nil && s.following.Load() && (current || atLeast(e.Gens, asked)) {
			// Filled while this caller waited to fly: by the fill of its
			// version, which it came too late to share, or of a later one.
			return e, nil
		}
		s.filling.Store(flight, struct{}{})
		defer s.filling.Delete(flight)
		made := s.cfg.Now() // before the counters are read: what follows is at least this new
		fctx, cancel := context.WithTimeout(context.Background(), s.cfg.FetchTimeout)
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
	})
	if err != nil {
		return nil, err
	}
	return v.(*cache.Entry), nil
}
