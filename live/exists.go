package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/maniwani/maniwani"
)

// known tells whether the board or thread of a stream exists, from the
// Reader, keeping each answer a while: a burst of viewers of one thread
// (all reconnecting after a restart, say) costs one query, asked once
// however many wait for it. A yes is kept longer than a no: a thread just
// created must not stay unknown for its first viewer, the poster, whose
// browser opens its stream as soon as the page loads (and retries after an
// error).
type known struct {
	read       maniwani.Reader
	log        *slog.Logger
	existsFor  time.Duration
	missingFor time.Duration
	max        int // answers kept at most; a flood of made-up names cannot grow it past that

	mu      sync.Mutex
	answers map[stream]*answer
}

// answer is what the Reader said of one stream, or, until done closes,
// that it is being asked.
type answer struct {
	done   chan struct{}
	exists bool
	err    error // not a "not found": the Reader could not say
	until  time.Time
}

// lookupTimeout bounds one question to the Reader: a stream waits no
// longer than that to be opened or refused.
const lookupTimeout = 3 * time.Second

func newKnown(read maniwani.Reader, log *slog.Logger, existsFor, missingFor time.Duration, max int) *known {
	return &known{read: read, log: log, existsFor: existsFor, missingFor: missingFor, max: max,
		answers: map[stream]*answer{}}
}

// exists tells whether st's board (and thread) exists. An error is the
// Reader's failure, or ctx's end while waiting.
func (k *known) exists(ctx context.Context, st stream) (bool, error) {
	k.mu.Lock()
	a := k.answers[st]
	if a != nil {
		select {
		case <-a.done:
			if time.Now().After(a.until) {
				a = nil // stale: ask again
			}
		default: // being asked: wait for that answer
		}
	}
	ask := a == nil
	if ask {
		k.makeRoom()
		a = &answer{done: make(chan struct{})}
		k.answers[st] = a
	}
	k.mu.Unlock()

	if ask {
		// Not the request's ctx: others may wait for this answer after
		// this client has gone, and it may go before the answer comes.
		go func() {
			qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
			defer cancel()
			a.exists, a.err = k.ask(qctx, st)
			keep := k.existsFor
			if !a.exists || a.err != nil {
				keep = k.missingFor
			}
			if a.err != nil { // once per answer, not per stream
				k.log.Warn("live: could not tell whether a board or thread exists; its streams open",
					"board", st.board, "thread", st.thread, "err", a.err)
			}
			a.until = time.Now().Add(keep)
			close(a.done)
		}()
	}
	select {
	case <-a.done:
		return a.exists, a.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// ask puts the question to the Reader: a board stream needs the board, a
// thread stream a post of that number that opens its thread.
func (k *known) ask(ctx context.Context, st stream) (bool, error) {
	var err error
	if st.thread == 0 {
		_, err = k.read.Board(ctx, st.board)
	} else {
		var thread int64
		thread, err = k.read.ThreadOf(ctx, st.board, st.thread)
		if err == nil && thread != st.thread {
			return false, nil // a reply's number
		}
	}
	if maniwani.ErrorKind(err) == maniwani.KindNotFound {
		return false, nil
	}
	return err == nil, err
}

// makeRoom drops stale answers when the map is full, and then, if it is
// still full, every finished one; under k.mu.
func (k *known) makeRoom() {
	if len(k.answers) < k.max {
		return
	}
	now := time.Now()
	for _, all := range []bool{false, true} {
		for st, a := range k.answers {
			select {
			case <-a.done:
				if all || now.After(a.until) {
					delete(k.answers, st)
				}
			default:
			}
		}
		if len(k.answers) < k.max {
			return
		}
	}
}
