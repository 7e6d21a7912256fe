// Package memory is the in-process bus: what runs when no Redis is
// configured, with the semantics of pubsub/redis (pubsub/bustest holds both
// to them). Nothing survives the process.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maniwani/maniwani"
)

// Config sets the bus's limits; zero fields take the defaults.
type Config struct {
	HistoryLen       int           // messages kept per topic for Replay (1000)
	Visibility       time.Duration // how long a job may stay unacknowledged before another consumer gets it (30s)
	MaxDeliveries    int           // deliveries of a job before it goes to the dead-letter queue (5)
	SubscriberBuffer int           // messages a subscriber may lag behind before it is dropped (256)
}

func (c Config) withDefaults() Config {
	if c.HistoryLen <= 0 {
		c.HistoryLen = 1000
	}
	if c.Visibility <= 0 {
		c.Visibility = 30 * time.Second
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 5
	}
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 256
	}
	return c
}

// Bus is the in-process maniwani.Bus. One mutex guards everything: fan-out
// under it is what keeps each topic in order for every subscriber.
type Bus struct {
	cfg    Config
	ctx    context.Context // ends on Close
	cancel context.CancelFunc

	mu        sync.Mutex
	topics    map[string]*topic
	queues    map[string]*queue
	consumers int // to name them
}

var _ maniwani.Bus = (*Bus)(nil)

// New returns an empty bus.
func New(cfg Config) *Bus {
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{
		cfg:    cfg.withDefaults(),
		ctx:    ctx,
		cancel: cancel,
		topics: make(map[string]*topic),
		queues: make(map[string]*queue),
	}
}

// id is a message ID, made as Redis makes stream IDs so both backends' IDs
// look and compare alike.
type id struct{ ms, seq uint64 }

func (a id) less(b id) bool { return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq }
func (a id) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}
func (a id) next(now time.Time) id {
	if ms := uint64(now.UnixMilli()); ms > a.ms {
		return id{ms, 0}
	}
	return id{a.ms, a.seq + 1}
}

// parseAfter reads the afterID of Replay and Peek; "" is before everything.
func parseAfter(s string) (id, error) {
	if s == "" {
		return id{}, nil
	}
	ms, seq, err := maniwani.ParseID(s)
	return id{ms, seq}, err
}

// checkName refuses the names pubsub/redis refuses, so that what works here
// works there.
func checkName(what, name string) error {
	if strings.TrimSuffix(name, ".dead") == "" || strings.ContainsAny(name, "{}") {
		return maniwani.Errorf(maniwani.KindInvalid, "Invalid %s name %q.", what, name)
	}
	return nil
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return maniwani.Errorf(maniwani.KindInvalid, "Invalid limit %d.", limit)
	}
	return nil
}

type topic struct {
	last    id
	trimmed id       // the newest ID dropped from the history
	history []record // oldest first
	subs    map[*subscription]struct{}
}

type record struct {
	id  id
	msg maniwani.Message
}

// after returns the records of rs after a, at most limit; rs is sorted.
func after(rs []record, a id, limit int) []maniwani.Message {
	i := sort.Search(len(rs), func(i int) bool { return a.less(rs[i].id) })
	rs = rs[i:min(len(rs), i+limit)]
	out := make([]maniwani.Message, len(rs))
	for i, r := range rs {
		out[i] = r.msg
	}
	return out
}

func (b *Bus) topic(name string) *topic {
	t := b.topics[name]
	if t == nil {
		t = &topic{subs: make(map[*subscription]struct{})}
		b.topics[name] = t
	}
	return t
}

// Publish implements maniwani.Bus.
func (b *Bus) Publish(ctx context.Context, name string, data []byte) (string, error) {
	if err := checkName("topic", name); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return "", maniwani.ErrClosed
	}
	t := b.topic(name)
	t.last = t.last.next(time.Now())
	m := maniwani.Message{ID: t.last.String(), Topic: name, Data: bytes.Clone(data)}
	t.history = append(t.history, record{t.last, m})
	if n := len(t.history) - b.cfg.HistoryLen; n > 0 {
		t.trimmed = t.history[n-1].id
		t.history = t.history[n:]
	}
	for s := range t.subs {
		select {
		case s.ch <- m:
		default:
			s.end(maniwani.ErrSlowSubscriber)
		}
	}
	return m.ID, nil
}

// Subscribe implements maniwani.Bus.
func (b *Bus) Subscribe(ctx context.Context, name string) (maniwani.Subscription, error) {
	if err := checkName("topic", name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return nil, maniwani.ErrClosed
	}
	s := &subscription{b: b, t: b.topic(name), ch: make(chan maniwani.Message, b.cfg.SubscriberBuffer)}
	s.t.subs[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		s.end(ctx.Err())
	})
	return s, nil
}

type subscription struct {
	b    *Bus
	t    *topic
	ch   chan maniwani.Message
	stop func() bool

	// under b.mu
	ended bool
	err   error
}

func (s *subscription) C() <-chan maniwani.Message { return s.ch }

func (s *subscription) Err() error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.err
}

func (s *subscription) Close() error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.end(nil)
	return nil
}

// end ends the subscription, with b.mu held: no Publish can be sending.
func (s *subscription) end(err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	delete(s.t.subs, s)
	close(s.ch)
	s.stop()
}

// readArgs checks what Replay and Peek are asked for.
func (b *Bus) readArgs(ctx context.Context, what, name, afterID string, limit int) (id, error) {
	if err := checkName(what, name); err != nil {
		return id{}, err
	}
	if err := checkLimit(limit); err != nil {
		return id{}, err
	}
	a, err := parseAfter(afterID)
	if err != nil {
		return id{}, err
	}
	return a, ctx.Err()
}

// Replay implements maniwani.Bus.
func (b *Bus) Replay(ctx context.Context, name, afterID string, limit int) ([]maniwani.Message, error) {
	a, err := b.readArgs(ctx, "topic", name, afterID, limit)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return nil, maniwani.ErrClosed
	}
	t := b.topics[name]
	if t == nil {
		return nil, nil
	}
	if afterID != "" && a.less(t.trimmed) {
		return nil, maniwani.ErrHistoryGone
	}
	return after(t.history, a, limit), nil
}

type queue struct {
	name    string
	last    id
	entries []record // oldest first; a job stays until every group is done with it
	groups  map[string]*group
	wake    chan struct{} // closed and replaced when a job arrives
}

type group struct {
	last    id // the newest job handed out
	pending map[id]*lease
}

// lease is a job handed to a consumer and not yet acknowledged.
type lease struct {
	consumer string
	since    time.Time
	attempts int
}

func (b *Bus) queue(name string) *queue {
	q := b.queues[name]
	if q == nil {
		q = &queue{name: name, groups: make(map[string]*group), wake: make(chan struct{})}
		b.queues[name] = q
	}
	return q
}

func (q *queue) add(m maniwani.Message, now time.Time) string {
	q.last = q.last.next(now)
	m.ID, m.Topic = q.last.String(), q.name
	q.entries = append(q.entries, record{q.last, m})
	close(q.wake)
	q.wake = make(chan struct{})
	return m.ID
}

func (q *queue) find(i id) (int, bool) {
	n := sort.Search(len(q.entries), func(n int) bool { return !q.entries[n].id.less(i) })
	return n, n < len(q.entries) && q.entries[n].id == i
}

// release drops job i once no group is done with it.
func (q *queue) release(i id) {
	for _, g := range q.groups {
		if _, ok := g.pending[i]; ok || g.last.less(i) {
			return
		}
	}
	if n, ok := q.find(i); ok {
		q.entries = append(q.entries[:n], q.entries[n+1:]...)
	}
}

// Enqueue implements maniwani.Bus.
func (b *Bus) Enqueue(ctx context.Context, name string, data []byte) (string, error) {
	if err := checkName("queue", name); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return "", maniwani.ErrClosed
	}
	return b.queue(name).add(maniwani.Message{Data: bytes.Clone(data)}, time.Now()), nil
}

// Peek implements maniwani.Bus.
func (b *Bus) Peek(ctx context.Context, name, afterID string, limit int) ([]maniwani.Message, error) {
	a, err := b.readArgs(ctx, "queue", name, afterID, limit)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return nil, maniwani.ErrClosed
	}
	q := b.queues[name]
	if q == nil {
		return nil, nil
	}
	return after(q.entries, a, limit), nil
}

// Consume implements maniwani.Bus.
func (b *Bus) Consume(ctx context.Context, name, groupName string, handle maniwani.Handler) error {
	if err := checkName("queue", name); err != nil {
		return err
	}
	if groupName == "" {
		return maniwani.Errorf(maniwani.KindInvalid, "A consumer group needs a name.")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()

	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		return maniwani.ErrClosed
	}
	b.consumers++
	me := "consumer-" + strconv.Itoa(b.consumers)
	q := b.queue(name)
	g := q.groups[groupName]
	if g == nil {
		// A new group starts at the oldest job still kept, as XGROUP
		// CREATE ... 0 does.
		g = &group{pending: make(map[id]*lease)}
		q.groups[groupName] = g
	}
	b.mu.Unlock()

	for ctx.Err() == nil {
		b.mu.Lock()
		m, i, wait := b.take(q, g, me)
		wake := q.wake
		b.mu.Unlock()
		if m == nil {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		err := b.handle(ctx, handle, *m)
		b.mu.Lock()
		switch {
		case err == nil:
			delete(g.pending, i)
			q.release(i)
		case ctx.Err() == nil && m.Attempt >= b.cfg.MaxDeliveries:
			// Only if it is still ours: past the visibility timeout another
			// consumer may hold it now, and the decision is theirs.
			if l := g.pending[i]; l != nil && l.consumer == me {
				b.bury(q, g, i, l.attempts, err.Error())
			}
		}
		// Any other failure waits, leased, until the visibility timeout.
		b.mu.Unlock()
	}
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	return nil
}

// take leases the consumer a job: first one whose lease ran out (it has
// waited longest), else the group's next new one. With none, it says how
// long until a lease runs out.
func (b *Bus) take(q *queue, g *group, me string) (*maniwani.Message, id, time.Duration) {
	now := time.Now()
	vis := b.cfg.Visibility
	for {
		var oldest id
		var expired *lease
		for i, l := range g.pending {
			if now.Sub(l.since) >= vis && (expired == nil || i.less(oldest)) {
				oldest, expired = i, l
			}
		}
		if expired == nil {
			break
		}
		n, ok := q.find(oldest)
		if !ok {
			delete(g.pending, oldest)
			continue
		}
		if expired.attempts >= b.cfg.MaxDeliveries {
			b.bury(q, g, oldest, expired.attempts, "not acknowledged within the visibility timeout")
			continue
		}
		expired.consumer, expired.since = me, now
		expired.attempts++
		m := q.entries[n].msg
		m.Attempt = expired.attempts
		return &m, oldest, 0
	}

	n := sort.Search(len(q.entries), func(n int) bool { return g.last.less(q.entries[n].id) })
	if n == len(q.entries) {
		return nil, id{}, untilExpiry(g, now, vis)
	}
	r := q.entries[n]
	g.last = r.id
	g.pending[r.id] = &lease{consumer: me, since: now, attempts: 1}
	m := r.msg
	m.Attempt = 1
	return &m, r.id, 0
}

// untilExpiry is how long until the first of the group's leases runs out.
func untilExpiry(g *group, now time.Time, vis time.Duration) time.Duration {
	w := vis
	for _, l := range g.pending {
		w = min(w, max(0, vis-now.Sub(l.since)))
	}
	return w
}

// bury moves job i of the group to the dead-letter queue.
func (b *Bus) bury(q *queue, g *group, i id, attempts int, reason string) {
	if n, ok := q.find(i); ok {
		m := q.entries[n].msg
		m.Attempt, m.Error = attempts, reason
		b.queue(maniwani.DeadLetter(q.name)).add(m, time.Now())
	}
	delete(g.pending, i)
	q.release(i)
}

// handle runs the handler with the job's lease as its deadline. A panic
// fails the job instead of the process, as any other error would.
func (b *Bus) handle(ctx context.Context, h maniwani.Handler, m maniwani.Message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Visibility)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, m)
}

// Close implements maniwani.Bus.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancel()
	for _, t := range b.topics {
		for s := range t.subs {
			s.end(maniwani.ErrClosed)
		}
	}
	return nil
}
