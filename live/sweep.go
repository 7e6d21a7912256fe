// The sweeper: a hub's batches wait in a log, and one sweep after another
// hands each client, as it comes to it, every batch it has not had.

package live

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// A sweep over 10,000 clients takes a while (each write is a system call).
// Fanning each batch out on its own, a batch that came just after a
// fan-out began waited for it to end, then took as long again: the last
// client had it up to two fan-outs late. A sweep instead gives each client
// all that came up to the moment it reaches it, so what comes during a
// sweep goes to the clients it has yet to reach at once, and to the others
// in the next sweep: at most one sweep late, in one write per client per
// sweep whatever came meanwhile.

// logView is the log as it was at a moment: batches numbered from base.
// It never changes; an append or a trim makes a new one.
type logView struct {
	base    uint64
	batches []*batch
}

// end is the number of the batch after the last.
func (v *logView) end() uint64 { return v.base + uint64(len(v.batches)) }

// since is the batches from number next on.
func (v *logView) since(next uint64) []*batch {
	if next < v.base { // the log only drops what every client has had
		next = v.base
	}
	if next >= v.end() {
		return nil
	}
	return v.batches[next-v.base:]
}

// maxLog bounds the batches waiting in a hub's log. When the sweeps fall
// that far behind, run waits, and the bus's own bound takes over (it drops
// the subscription, and the hub resumes from the history).
const maxLog = 64

// publish appends b to the log for the sweeper; it waits while the log is
// full, and fails only when ctx ends first.
func (h *hub) publish(ctx context.Context, b *batch) error {
	for {
		h.mu.Lock()
		v := h.log.Load()
		if len(v.batches) < maxLog {
			// A new array each time: the views out there keep theirs.
			bs := append(v.batches[:len(v.batches):len(v.batches)], b)
			h.log.Store(&logView{base: v.base, batches: bs})
			h.mu.Unlock()
			select {
			case h.more <- struct{}{}:
			default:
			}
			return nil
		}
		h.mu.Unlock()
		select {
		case <-h.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sweeper sweeps while there are batches, until ctx ends.
func (h *hub) sweeper(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.more:
			h.sweep()
		}
	}
}

// sweep gives every client what it has not had of the log, again until a
// sweep finds nothing new, and drops from the log what every client has.
func (h *hub) sweep() {
	h.sweeping.Lock()
	defer h.sweeping.Unlock()
	for {
		end := h.log.Load().end()
		if h.swept >= end {
			return
		}
		// Each client takes the log as it is when its turn comes: at least
		// up to end.
		h.fanOut(func(c *client, w *writeBuf) bool { return c.offer(h.log.Load(), w) })
		h.endSpans(h.log.Load(), end)
		h.trim(end)
		h.swept = end
	}
}

// trim drops the batches before end: every client of the sweep that ended
// has them, and a client that joined since starts after them.
func (h *hub) trim(end uint64) {
	h.mu.Lock()
	v := h.log.Load()
	if end > v.base {
		h.log.Store(&logView{base: end, batches: v.batches[end-v.base:]})
	}
	h.mu.Unlock()
	select {
	case h.room <- struct{}{}:
	default:
	}
}

// endSpans ends the delivery spans of the batches before end, which the
// sweep that ended gave every client. Only the sweeper touches spans.
func (h *hub) endSpans(v *logView, end uint64) {
	bs := v.since(h.swept)
	if n := end - max(h.swept, v.base); uint64(len(bs)) > n {
		bs = bs[:n]
	}
	viewers := -1
	for _, b := range bs {
		for _, sp := range b.spans {
			if viewers < 0 {
				h.mu.Lock()
				viewers = len(h.clients)
				h.mu.Unlock()
			}
			sp.SetAttributes(attribute.Int("maniwani.live.viewers", viewers))
			sp.End()
		}
		b.spans = nil
	}
}
