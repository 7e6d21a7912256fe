package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/upload"
	"github.com/maniwani/maniwani/internal/realip"
)

const (
	// DefaultDecodeWait is how long a post waits for a decode slot when
	// Config.DecodeWait names no other time: a short wait, not a queue.
	DefaultDecodeWait = 2 * time.Second
	// decodeRetry is the Retry-After of a post refused for want of a slot:
	// about what the largest decode takes.
	decodeRetry = 5 * time.Second
)

// decodeGate bounds the decodes running at once in this process (the
// costly step of an upload: seconds of CPU and hundreds of MB for the
// largest images) and the posts waiting for one: a post that finds every
// slot taken waits a moment, as many posts as there are slots at most,
// and is refused as busy after that. One poster has one decode at a time.
type decodeGate struct {
	slots   *semaphore.Weighted
	size    int64
	wait    time.Duration
	waiting atomic.Int64
	mu      sync.Mutex
	posters map[string]bool // whose decode runs or waits, by address key (realip.Key)
}

func newDecodeGate(size int, wait time.Duration) *decodeGate {
	return &decodeGate{slots: semaphore.NewWeighted(int64(size)), size: int64(size), wait: wait,
		posters: map[string]bool{}}
}

// enter takes a slot for poster's decode, or refuses: at once when poster
// has one already or too many posts wait, after the wait when no slot came
// free. The caller calls release when the decode is done.
func (g *decodeGate) enter(ctx context.Context, poster string) (release func(), err error) {
	g.mu.Lock()
	if g.posters[poster] {
		g.mu.Unlock()
		return nil, maniwani.Errorf(maniwani.KindTooMany, "Your previous post is still being processed; wait for it before you post again.")
	}
	g.posters[poster] = true
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		delete(g.posters, poster)
		g.mu.Unlock()
	}
	if !g.slots.TryAcquire(1) {
		if g.waiting.Add(1) > g.size {
			g.waiting.Add(-1)
			leave()
			return nil, errBusy()
		}
		wctx, cancel := context.WithTimeout(ctx, g.wait)
		err := g.slots.Acquire(wctx, 1)
		cancel()
		g.waiting.Add(-1)
		if err != nil {
			leave()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errBusy()
		}
	}
	return func() {
		g.slots.Release(1)
		leave()
	}, nil
}

func errBusy() error {
	return &maniwani.RetryLater{After: decodeRetry, Err: maniwani.Errorf(maniwani.KindUnavailable,
		"The server is busy with other images; try again in a few seconds.")}
}

// setRetryAfter writes the Retry-After header of err, if it has one.
func setRetryAfter(w http.ResponseWriter, err error) {
	if d := maniwani.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// finishFile does the upload's costly step, if it has one, within the
// decode gate, and refuses a banned file: by its SHA-256 before any decode
// (after Finish, for a JPEG that Finish writes anew), and, when there are
// similar bans and the file is an image, by its perceptual hash, whose
// decode takes a slot of the gate and runs at low priority as Finish's
// does. A post with no similar ban to check decodes nothing more.
func (s *Service) finishFile(ctx context.Context, ip string, c *upload.Checked) (*upload.File, error) {
	if sha := c.SHA256(); sha != "" {
		if err := s.checkFileBan(ctx, sha); err != nil {
			return nil, err
		}
	}
	var similar *similarList
	if upload.Hashable(c.Ext()) {
		l, err := s.similarBans(ctx)
		if err != nil {
			return nil, err
		}
		if len(l.bans) > 0 {
			similar = l
		}
	}
	decodes := c.Decodes()
	if !decodes && similar == nil {
		return c.Finish()
	}
	release, err := s.decodes.enter(ctx, realip.Key(ip))
	if err != nil {
		return nil, err
	}
	defer release()
	var f *upload.File
	if decodes {
		runLow(func() { f, err = c.Finish() })
		if err == nil {
			err = s.checkFileBan(ctx, f.SHA256)
		}
	} else {
		f, err = c.Finish()
	}
	if err == nil && similar != nil {
		var h uint64
		runLow(func() { h, err = s.hashFile(f) })
		if b := similar.match(h); err == nil && b != nil {
			err = fileBanned(b.reason)
		}
	}
	if err != nil {
		f.Remove()
		return nil, err
	}
	return f, nil
}
