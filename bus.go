package maniwani

import (
	"cmp"
	"context"
	"strconv"
	"strings"
)

// Bus carries events and jobs between the services. pubsub/redis and
// pubsub/memory implement it; pubsub/bustest is the contract both pass.
//
// Topics are for events: every subscriber gets every message, and a bounded
// history of each topic can be replayed. Queues are for jobs: each job is
// handled by one consumer of a group, at least once.
//
// Message IDs have the form of Redis stream IDs, "ms-seq": they grow along a
// topic or a queue, so "already seen" is CompareIDs(id, last) <= 0. Topic
// and queue names are not empty and hold no braces (Redis Cluster hash
// tags); a bad one is a KindInvalid error.
//
// Resuming a topic without a gap or a repeat (live's Last-Event-ID):
//
//	sub, err := bus.Subscribe(ctx, topic) // 1. from now on, nothing is missed
//	last := lastEventID
//	for {                                 // 2. what came before, from history
//		ms, err := bus.Replay(ctx, topic, last, 100)
//		if errors.Is(err, ErrHistoryGone) { /* tell the client to reload */ }
//		for _, m := range ms { send(m); last = m.ID }
//		if len(ms) < 100 { break }
//	}
//	for m := range sub.C() {              // 3. live, skipping what replay sent
//		if CompareIDs(m.ID, last) <= 0 { continue }
//		send(m); last = m.ID
//	}
//
// Subscribing first means a message published meanwhile is in both the
// history and the subscription, never in neither; the ID comparison drops
// the second copy.
type Bus interface {
	// Publish appends data to the topic's history and sends it to every
	// subscriber of the topic, as one step: a subscriber never sees a
	// message that replay cannot find, or the reverse. It returns the ID.
	Publish(ctx context.Context, topic string, data []byte) (id string, err error)

	// Subscribe returns once the subscription is active: it then gets every
	// message published to the topic afterwards, in order, and none from
	// before. It ends when ctx is done, when it is closed, when the bus
	// closes, or when it can no longer promise that order without a gap (a
	// subscriber too slow to drain its buffer, a lost connection): then the
	// channel closes and Err tells why, and the subscriber resumes as above.
	Subscribe(ctx context.Context, topic string) (Subscription, error)

	// Replay returns up to limit messages of the topic's history published
	// after afterID, oldest first; afterID "" starts at the oldest kept. The
	// history keeps at least the last HistoryLen messages of each topic (as
	// configured); when messages after afterID are no longer kept it returns
	// ErrHistoryGone. A malformed afterID is a KindInvalid error.
	Replay(ctx context.Context, topic, afterID string, limit int) ([]Message, error)

	// Enqueue adds a job to the queue and returns its ID. The job is kept
	// until every consumer group of the queue is done with it; a group that
	// starts later gets the jobs that are still there.
	Enqueue(ctx context.Context, queue string, data []byte) (id string, err error)

	// Consume handles the queue's jobs, one at a time, as one consumer of
	// group, until ctx is done (it returns nil) or the bus closes (it
	// returns ErrClosed); call it from several goroutines or processes to
	// share the work. Errors of the backend are retried, not returned.
	//
	// handle returning nil acknowledges the job. A job whose handler fails,
	// or is not acknowledged within the visibility timeout (a crash, a
	// hang), goes to another consumer of the group once it has been idle
	// that long; handle's ctx ends at that timeout. A panic in handle is a
	// failure like any other. After MaxDeliveries
	// deliveries without success the job moves to the queue named
	// DeadLetter(queue), which can be peeked and consumed like any other.
	Consume(ctx context.Context, queue, group string, handle Handler) error

	// Peek returns up to limit jobs of the queue after afterID ("" for the
	// oldest), without taking them: to inspect a dead-letter queue, say.
	// It shows the jobs still kept: those some group has not finished.
	Peek(ctx context.Context, queue, afterID string, limit int) ([]Message, error)

	// Close ends every subscription and stops every consumer from taking
	// new jobs; a running handler sees its ctx end. Later calls return
	// ErrClosed. It does not close a client the bus was given.
	Close() error
}

// Message is one event of a topic or one job of a queue. Data is shared with
// other receivers of the message: read it, do not change it.
type Message struct {
	ID    string // "ms-seq", see Bus
	Topic string // the topic or queue it is on
	Data  []byte

	// Attempt is the delivery a job is on: 1 the first time. In a
	// dead-letter queue, the deliveries it had.
	Attempt int
	// Error is, in a dead-letter queue, why the job ended there.
	Error string
}

// Handler handles one job; see Bus.Consume.
type Handler func(ctx context.Context, m Message) error

// Subscription is a live subscription to a topic; see Bus.Subscribe.
type Subscription interface {
	// C delivers the messages; it is closed when the subscription ends.
	C() <-chan Message
	// Err tells, once C is closed, why: nil after Close, the context's
	// error, ErrClosed, ErrSlowSubscriber, or a KindUnavailable error.
	Err() error
	// Close ends the subscription; it is safe to call more than once.
	Close() error
}

// The errors of a bus that callers act on; compare with errors.Is.
var (
	// ErrHistoryGone: the messages after the ID asked for were dropped
	// from the history; a live client has to reload instead of resuming.
	ErrHistoryGone = &Error{Kind: KindNotFound, Message: "The events since then are no longer kept."}
	// ErrSlowSubscriber: the subscriber did not keep up and was dropped.
	ErrSlowSubscriber = &Error{Kind: KindUnavailable, Message: "The subscriber fell behind."}
	// ErrClosed: the bus was closed.
	ErrClosed = &Error{Kind: KindUnavailable, Message: "The bus is closed."}
)

// DeadLetter is the name of the queue where the jobs of queue that failed
// too often go.
func DeadLetter(queue string) string { return queue + ".dead" }

// ParseID splits a message ID into its milliseconds and sequence number. An
// ID is whatever a client sends back (Last-Event-ID), so a malformed one is
// a KindInvalid error.
func ParseID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if ok {
		ms, err = strconv.ParseUint(a, 10, 64)
		if err == nil {
			seq, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, Errorf(KindInvalid, "Invalid event ID %q.", id)
	}
	return ms, seq, nil
}

// CompareIDs orders two message IDs: -1 if a comes before b, 0 if they are
// the same, +1 if after. "" and malformed IDs come before every valid one.
func CompareIDs(a, b string) int {
	am, as, aerr := ParseID(a)
	bm, bs, berr := ParseID(b)
	switch {
	case aerr != nil && berr != nil:
		return 0
	case aerr != nil:
		return -1
	case berr != nil:
		return 1
	}
	return cmp.Or(cmp.Compare(am, bm), cmp.Compare(as, bs))
}

// BoardTopic is the topic of a board's events (posts, deletions, thread
// changes), in the order they were committed.
func BoardTopic(board string) string { return "board." + board }
