package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
)

type entered struct {
	release func()
	err     error
	at      time.Duration // since the test began, on the bubble's clock
}

// enterAsync tries the gate for poster in a goroutine of its own.
func enterAsync(ctx context.Context, g *decodeGate, poster string, t0 time.Time) <-chan entered {
	ch := make(chan entered, 1)
	go func() {
		release, err := g.enter(ctx, poster)
		ch <- entered{release, err, time.Since(t0)}
	}()
	return ch
}

func wantBusy(t *testing.T, e entered) {
	t.Helper()
	if maniwani.ErrorKind(e.err) != maniwani.KindUnavailable {
		t.Fatalf("want busy (unavailable), got %v", e.err)
	}
	w := httptest.NewRecorder()
	setRetryAfter(w, e.err)
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
}

// A post that finds every slot taken waits for one, a moment at most.
func TestDecodeGateWaitsBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, t0 := context.Background(), time.Now()
		g := newDecodeGate(2, time.Second)
		a, _ := g.enter(ctx, "a")
		b, _ := g.enter(ctx, "b")
		c := enterAsync(ctx, g, "c", t0)
		time.Sleep(time.Second / 2)
		synctest.Wait()
		if len(c) != 0 {
			t.Fatal("entered with every slot taken")
		}
		a()
		synctest.Wait()
		e := <-c
		if e.err != nil || e.at != time.Second/2 {
			t.Fatalf("entered at %v with %v; want at 500ms, when a slot came free", e.at, e.err)
		}
		// No slot comes free within the wait: refused as busy, then.
		d := enterAsync(ctx, g, "d", t0)
		e = <-d
		wantBusy(t, e)
		if e.at != time.Second/2+time.Second {
			t.Errorf("refused at %v, want 1.5s: after the wait", e.at)
		}
		b()
		e.release, _ = g.enter(ctx, "d") // a refusal leaves nothing taken
		e.release()
	})
}

// No more posts wait than there are slots: the next is refused at once.
func TestDecodeGateQueueBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, t0 := context.Background(), time.Now()
		g := newDecodeGate(1, time.Second)
		a, _ := g.enter(ctx, "a")
		waiter := enterAsync(ctx, g, "b", t0)
		synctest.Wait()
		e := <-enterAsync(ctx, g, "c", t0)
		wantBusy(t, e)
		if e.at != 0 {
			t.Errorf("refused after %v, want at once", e.at)
		}
		a()
		if e := <-waiter; e.err != nil {
			t.Fatal(e.err)
		} else {
			e.release()
		}
	})
}

// One poster has one decode at a time; a post given up while waiting
// frees its place.
func TestDecodeGateOnePerPoster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, t0 := context.Background(), time.Now()
		g := newDecodeGate(4, time.Second)
		a, _ := g.enter(ctx, "a")
		e := <-enterAsync(ctx, g, "a", t0)
		if maniwani.ErrorKind(e.err) != maniwani.KindTooMany || e.at != 0 {
			t.Fatalf("a second decode of one poster: %v after %v, want too many at once", e.err, e.at)
		}
		a()
		a, err := g.enter(ctx, "a")
		if err != nil {
			t.Fatalf("after the first is done: %v", err)
		}
		a()

		g = newDecodeGate(1, time.Minute)
		b, _ := g.enter(ctx, "b")
		cctx, cancel := context.WithCancel(ctx)
		c := enterAsync(cctx, g, "c", t0)
		synctest.Wait()
		cancel()
		if e := <-c; !errors.Is(e.err, context.Canceled) {
			t.Fatalf("given up while waiting: %v", e.err)
		}
		b()
		c2, err := g.enter(ctx, "c")
		if err != nil {
			t.Fatalf("the poster that gave up, again: %v", err)
		}
		c2()
	})
}
