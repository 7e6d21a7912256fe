// Package nats is the bus on NATS JetStream (nats-server 2.9 or later), so
// that the bus hangs on no one broker.
//
// A topic is a stream of its own, "<prefix>_t_<topic>" on the subject
// "<prefix>.t.<topic>", keeping its last HistoryLen messages (MaxMsgs, with
// the oldest discarded). A subscriber is an ephemeral push consumer that
// starts at the first message after its creation; since a topic's stream
// numbers its messages one by one, a subscriber that sees a number skipped
// knows it missed one and ends. A queue is a stream too ("_q_"), read by a
// durable pull consumer per group (the group's name), so that the group's
// consumers share its jobs; the server redelivers a job that was not
// acknowledged within the visibility timeout, and counts the deliveries. A
// job is deleted once every group has acknowledged it.
//
// Message IDs are "<ms>-<seq>": the time the stream was made, then the
// message's number in it. Should a stream be deleted and made again, its
// IDs still come after the old ones, and an old ID is known for one whose
// history is gone.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/maniwani/maniwani"
)

// Config sets the bus's names and limits; zero fields take the defaults.
type Config struct {
	Prefix           string        // starts every stream and subject, so several sites or tests can share a server ("maniwani"); letters, digits, - and _
	HistoryLen       int           // messages kept per topic for Replay (1000)
	Visibility       time.Duration // how long a job may stay unacknowledged before another consumer gets it (30s)
	MaxDeliveries    int           // deliveries of a job before it goes to the dead-letter queue (5)
	SubscriberBuffer int           // messages a subscriber may lag behind before it is dropped (256)
	Replicas         int           // copies of each stream in a NATS cluster (1)
	Logger           *slog.Logger  // where Consume reports the errors it retries (slog.Default())
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "maniwani"
	}
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
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// heartbeat is how often a quiet subscription hears from the server; two
// missed ones end it, as a lost connection does.
const heartbeat = 5 * time.Second

// Headers of a dead letter: its deliveries and why it failed.
const (
	headerAttempts = "Maniwani-Attempts"
	headerError    = "Maniwani-Error"
)

// groupPrefix starts the name of every group's consumer: what is not a
// group (a Replay's or Peek's reader) does not hold jobs back.
const groupPrefix = "g_"

// Bus is the JetStream maniwani.Bus.
type Bus struct {
	cfg    Config
	nc     *natsgo.Conn
	js     jetstream.JetStream
	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	subs   sync.WaitGroup // subscriptions' watchers

	mu      sync.Mutex
	streams map[string]*stream // by stream name
}

// stream is what the bus knows of one of its streams.
type stream struct {
	s       jetstream.Stream
	created uint64 // ms: the first part of its messages' IDs
}

var _ maniwani.Bus = (*Bus)(nil)

// New returns a bus on nc, which must stay connected to a server with
// JetStream. Closing the bus leaves nc open.
func New(cfg Config, nc *natsgo.Conn) (*Bus, error) {
	cfg = cfg.withDefaults()
	for _, c := range cfg.Prefix {
		if !plain(c) {
			return nil, fmt.Errorf("pubsub/nats: prefix %q: only letters, digits, - and _ may name streams", cfg.Prefix)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{
		cfg:     cfg,
		nc:      nc,
		js:      js,
		ctx:     ctx,
		cancel:  cancel,
		streams: map[string]*stream{},
	}, nil
}

func plain(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// token makes a topic or queue name one token of a subject and part of a
// stream's name: letters, digits, - and _ stay, every other byte is ~ and
// two hex digits, so two names never share a stream.
func token(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x80 && plain(rune(c)) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02x", c)
		}
	}
	return b.String()
}

func checkName(what, name string) error {
	if strings.TrimSuffix(name, ".dead") == "" || strings.ContainsAny(name, "{}") {
		return maniwani.Errorf(maniwani.KindInvalid, "Invalid %s name %q.", what, name)
	}
	return nil
}

// kind is "t" for a topic, "q" for a queue.
func (b *Bus) names(kind, name string) (stream, subject string) {
	t := token(name)
	return b.cfg.Prefix + "_" + kind + "_" + t, b.cfg.Prefix + "." + kind + "." + t
}

// check refuses calls on a closed bus or with a done context.
func (b *Bus) check(ctx context.Context) error {
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	return ctx.Err()
}

// unavailable gives the server's failures their kind; a caller's own
// context ending stays what it is.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *maniwani.Error
	if errors.As(err, &e) {
		return err
	}
	return &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The bus is unavailable.", Err: err}
}

// open finds the stream, making it when create is set and it is missing;
// nil, nil when it is missing and create is not set.
func (b *Bus) open(ctx context.Context, kind, name string, create bool) (*stream, error) {
	sn, subj := b.names(kind, name)
	b.mu.Lock()
	st := b.streams[sn]
	b.mu.Unlock()
	if st != nil {
		return st, nil
	}
	s, err := b.js.Stream(ctx, sn)
	if errors.Is(err, jetstream.ErrStreamNotFound) && create {
		cfg := jetstream.StreamConfig{
			Name:      sn,
			Subjects:  []string{subj},
			Storage:   jetstream.FileStorage,
			Replicas:  b.cfg.Replicas,
			Retention: jetstream.LimitsPolicy,
			Discard:   jetstream.DiscardOld,
			MaxMsgs:   -1,
		}
		if kind == "t" {
			cfg.MaxMsgs = int64(b.cfg.HistoryLen)
		}
		s, err = b.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = b.js.Stream(ctx, sn) // made meanwhile by another process
		}
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	st = &stream{s: s, created: uint64(s.CachedInfo().Created.UnixMilli())}
	b.mu.Lock()
	b.streams[sn] = st
	b.mu.Unlock()
	return st, nil
}

// forget drops what the bus knows of a stream that is gone.
func (b *Bus) forget(kind, name string) {
	sn, _ := b.names(kind, name)
	b.mu.Lock()
	delete(b.streams, sn)
	b.mu.Unlock()
}

func (st *stream) id(seq uint64) string {
	return strconv.FormatUint(st.created, 10) + "-" + strconv.FormatUint(seq, 10)
}

// add appends data to a topic's or queue's stream, making it on first use.
func (b *Bus) add(ctx context.Context, kind, name string, msg *natsgo.Msg) (string, error) {
	if err := b.check(ctx); err != nil {
		return "", err
	}
	for range 2 {
		st, err := b.open(ctx, kind, name, true)
		if err != nil {
			return "", err
		}
		ack, err := b.js.PublishMsg(ctx, msg)
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			b.forget(kind, name) // deleted under us: make it again
			continue
		}
		if err != nil {
			return "", unavailable(err)
		}
		return st.id(ack.Sequence), nil
	}
	return "", unavailable(errors.New("the stream of " + name + " keeps disappearing"))
}

// Publish implements maniwani.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	if err := checkName("topic", topic); err != nil {
		return "", err
	}
	_, subj := b.names("t", topic)
	return b.add(ctx, "t", topic, &natsgo.Msg{Subject: subj, Data: data})
}

// Enqueue implements maniwani.Bus.
func (b *Bus) Enqueue(ctx context.Context, queue string, data []byte) (string, error) {
	if err := checkName("queue", queue); err != nil {
		return "", err
	}
	_, subj := b.names("q", queue)
	return b.add(ctx, "q", queue, &natsgo.Msg{Subject: subj, Data: data})
}

// readArgs checks what Replay and Peek are asked for, and the bus.
func (b *Bus) readArgs(ctx context.Context, what, name, afterID string, limit int) error {
	if err := checkName(what, name); err != nil {
		return err
	}
	if limit <= 0 {
		return maniwani.Errorf(maniwani.KindInvalid, "Invalid limit %d.", limit)
	}
	if afterID != "" {
		if _, _, err := maniwani.ParseID(afterID); err != nil {
			return err
		}
	}
	return b.check(ctx)
}

// Replay implements maniwani.Bus.
func (b *Bus) Replay(ctx context.Context, topic, afterID string, limit int) ([]maniwani.Message, error) {
	if err := b.readArgs(ctx, "topic", topic, afterID, limit); err != nil {
		return nil, err
	}
	return b.read(ctx, "t", topic, afterID, limit, true)
}

// Peek implements maniwani.Bus.
func (b *Bus) Peek(ctx context.Context, queue, afterID string, limit int) ([]maniwani.Message, error) {
	if err := b.readArgs(ctx, "queue", queue, afterID, limit); err != nil {
		return nil, err
	}
	return b.read(ctx, "q", queue, afterID, limit, false)
}

// read returns up to limit messages of a stream after afterID. With gone
// set, messages after afterID that are no longer kept are ErrHistoryGone;
// without it they are skipped.
func (b *Bus) read(ctx context.Context, kind, name, afterID string, limit int, gone bool) ([]maniwani.Message, error) {
	st, err := b.open(ctx, kind, name, false)
	if err != nil || st == nil {
		return nil, err
	}
	info, err := st.s.Info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		b.forget(kind, name)
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if uint64(info.Created.UnixMilli()) != st.created {
		b.forget(kind, name) // made again since: read the new one
		return b.read(ctx, kind, name, afterID, limit, gone)
	}
	state := info.State
	start := state.FirstSeq
	if afterID != "" {
		ms, seq, _ := maniwani.ParseID(afterID)
		switch {
		case ms != 0 && ms != st.created:
			// Of another stream of this name: whatever came after it
			// is not the history of this one.
			if gone {
				return nil, maniwani.ErrHistoryGone
			}
		case seq+1 < state.FirstSeq:
			if gone {
				return nil, maniwani.ErrHistoryGone
			}
		default:
			start = seq + 1
		}
	}
	if state.Msgs == 0 || start > state.LastSeq {
		return nil, nil
	}
	c, err := st.s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute, // should the delete below not reach the server
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, unavailable(err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = st.s.DeleteConsumer(dctx, c.CachedInfo().Name)
	}()
	batch, err := c.FetchNoWait(limit)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]maniwani.Message, 0, min(limit, int(state.Msgs)))
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			return nil, unavailable(err)
		}
		seq := meta.Sequence.Stream
		if len(out) == 0 && seq != start && gone {
			return nil, maniwani.ErrHistoryGone // trimmed since Info
		}
		msg := maniwani.Message{ID: st.id(seq), Topic: name, Data: m.Data()}
		if h := m.Headers(); h != nil {
			msg.Attempt, _ = strconv.Atoi(h.Get(headerAttempts))
			msg.Error = h.Get(headerError)
		}
		out = append(out, msg)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, unavailable(err)
	}
	return out, nil
}

// Subscribe implements maniwani.Bus.
func (b *Bus) Subscribe(ctx context.Context, topic string) (maniwani.Subscription, error) {
	if err := checkName("topic", topic); err != nil {
		return nil, err
	}
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	st, err := b.open(ctx, "t", topic, true)
	if err != nil {
		return nil, err
	}
	s := &subscription{ch: make(chan maniwani.Message, b.cfg.SubscriberBuffer), done: make(chan struct{}), topic: topic, st: st}
	// Told of a lost connection before the consumer is made: one lost
	// between the two is then not missed.
	status := b.nc.StatusChanged(natsgo.DISCONNECTED, natsgo.RECONNECTING, natsgo.CLOSED)
	// The consumer starts after the last message at its making: from
	// when it is made on, nothing is missed, and nothing older is sent.
	c, err := st.s.CreatePushConsumer(ctx, jetstream.ConsumerConfig{
		DeliverSubject:    b.nc.NewInbox(),
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		FlowControl:       true,
		IdleHeartbeat:     heartbeat,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	})
	if err != nil {
		b.nc.RemoveStatusListener(status)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			b.forget("t", topic)
		}
		return nil, unavailable(err)
	}
	s.name = c.CachedInfo().Name
	s.next = c.CachedInfo().Delivered.Stream + 1
	cc, err := c.Consume(s.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		s.end(unavailable(err))
	}))
	if err != nil {
		b.nc.RemoveStatusListener(status)
		return nil, unavailable(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	stop := context.AfterFunc(b.ctx, cancel)
	b.subs.Add(1)
	go func() {
		defer b.subs.Done()
		defer stop()
		defer b.nc.RemoveStatusListener(status)
		select {
		case <-sctx.Done():
			switch {
			case b.ctx.Err() != nil && ctx.Err() == nil:
				s.end(maniwani.ErrClosed)
			case ctx.Err() != nil:
				s.end(ctx.Err())
			default:
				s.end(nil) // Close
			}
		case st := <-status:
			s.end(unavailable(fmt.Errorf("connection %s", st)))
		case <-s.done:
		}
		cc.Stop()
		// The server forgets the consumer by itself after a while;
		// deleting it now spares it the work.
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		_ = s.st.s.DeleteConsumer(dctx, s.name)
	}()
	return s, nil
}

type subscription struct {
	ch     chan maniwani.Message
	done   chan struct{} // closed with ch
	topic  string
	st     *stream
	name   string // of the consumer
	cancel context.CancelFunc

	mu   sync.Mutex
	next uint64 // the stream sequence of the message expected next
	over bool
	err  error
}

func (s *subscription) C() <-chan maniwani.Message { return s.ch }

func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *subscription) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}

// end ends the subscription with err, once.
func (s *subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return
	}
	s.over, s.err = true, err
	close(s.ch)
	close(s.done)
}

// receive is the consumer's handler: messages come one at a time, in
// order.
func (s *subscription) receive(m jetstream.Msg) {
	meta, err := m.Metadata()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return
	}
	var fail error
	switch {
	case err != nil:
		fail = unavailable(err)
	case meta.Sequence.Stream != s.next:
		fail = unavailable(fmt.Errorf("message %d came after %d: some were missed", meta.Sequence.Stream, s.next-1))
	}
	if fail == nil {
		select {
		case s.ch <- maniwani.Message{ID: s.st.id(meta.Sequence.Stream), Topic: s.topic, Data: m.Data()}:
			s.next++
			return
		default:
			fail = maniwani.ErrSlowSubscriber
		}
	}
	s.over, s.err = true, fail
	close(s.ch)
	close(s.done)
}

// Consume implements maniwani.Bus.
func (b *Bus) Consume(ctx context.Context, queue, group string, handle maniwani.Handler) error {
	if err := checkName("queue", queue); err != nil {
		return err
	}
	if group == "" {
		return maniwani.Errorf(maniwani.KindInvalid, "A consumer group needs a name.")
	}
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()

	c := &consumer{b: b, queue: queue, group: group}
	var pause time.Duration
	for ctx.Err() == nil {
		if err := c.step(ctx, handle); err != nil && ctx.Err() == nil {
			pause = min(max(2*pause, 100*time.Millisecond), 5*time.Second)
			b.cfg.Logger.Warn("bus: consume", "queue", queue, "group", group, "err", err, "retry_in", pause)
			c.cons = nil // made again: the stream may be gone
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
	}
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	return nil
}

type consumer struct {
	b            *Bus
	queue, group string
	st           *stream
	cons         jetstream.Consumer
	purged       uint64 // the stream holds no job up to this one
}

// join makes the group's consumer, or finds it: from the first job kept,
// so a group that starts late still gets them.
func (c *consumer) join(ctx context.Context) error {
	c.b.forget("q", c.queue)
	st, err := c.b.open(ctx, "q", c.queue, true)
	if err != nil {
		return err
	}
	cons, err := st.s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       groupPrefix + token(c.group),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.b.cfg.Visibility,
		MaxDeliver:    -1, // past MaxDeliveries the job is buried here, not dropped by the server
		MaxAckPending: -1,
	})
	if err != nil {
		return err
	}
	c.st, c.cons = st, cons
	return nil
}

// step handles at most one job, waiting for it until ctx ends. One pull
// request, long-lived, waits for it: the server skips a request whose
// client went away, but nats-server 2.9 can lose a redelivery to a request
// that expires just then (short ones expire often), counting a delivery
// that no one saw.
func (c *consumer) step(ctx context.Context, handle maniwani.Handler) error {
	if c.cons == nil {
		if err := c.join(ctx); err != nil {
			return err
		}
	}
	batch, err := c.cons.Fetch(1, jetstream.FetchContext(ctx))
	if err != nil {
		return err
	}
	for m := range batch.Messages() {
		if ctx.Err() != nil {
			return nil // not handled: it comes back after the visibility timeout
		}
		c.run(ctx, handle, m)
	}
	if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, natsgo.ErrTimeout) {
		return err
	}
	return nil
}

// run handles the job and settles it. Settling does not use ctx: a job
// done as the consumer stops is still done. If settling fails, the job
// comes back after the visibility timeout, which at-least-once allows.
func (c *consumer) run(ctx context.Context, handle maniwani.Handler, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		c.b.cfg.Logger.Warn("bus: job without metadata", "queue", c.queue, "err", err)
		return
	}
	took := time.Now()
	job := maniwani.Message{ID: c.st.id(meta.Sequence.Stream), Topic: c.queue, Data: m.Data(), Attempt: int(meta.NumDelivered)}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var serr error
	if job.Attempt > c.b.cfg.MaxDeliveries {
		// Every delivery so far ran out of time: it goes without another.
		serr = c.bury(sctx, m, job, job.Attempt-1, "not acknowledged within the visibility timeout")
	} else {
		herr := c.handle(ctx, handle, job)
		switch {
		case herr == nil:
			serr = m.DoubleAck(sctx)
			if serr == nil {
				serr = c.release(sctx, meta.Sequence.Stream)
			}
		case ctx.Err() == nil && job.Attempt >= c.b.cfg.MaxDeliveries && time.Since(took) < c.b.cfg.Visibility:
			// Past the visibility timeout the job may be another
			// consumer's already: its next delivery decides.
			serr = c.bury(sctx, m, job, job.Attempt, herr.Error())
		}
	}
	// Any other failure waits, unacknowledged, for the visibility timeout.
	if serr != nil {
		c.b.cfg.Logger.Warn("bus: settle job", "queue", c.queue, "id", job.ID, "err", serr)
	}
}

// handle runs the handler with the job's lease as its deadline. A panic
// fails the job instead of the process, as any other error would.
func (c *consumer) handle(ctx context.Context, h maniwani.Handler, m maniwani.Message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.b.cfg.Visibility)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, m)
}

// bury moves a job to the dead-letter queue and takes it off this one.
func (c *consumer) bury(ctx context.Context, m jetstream.Msg, job maniwani.Message, attempts int, reason string) error {
	dead := maniwani.DeadLetter(c.queue)
	_, subj := c.b.names("q", dead)
	msg := &natsgo.Msg{Subject: subj, Data: job.Data, Header: natsgo.Header{}}
	msg.Header.Set(headerAttempts, strconv.Itoa(attempts))
	msg.Header.Set(headerError, reason)
	if _, err := c.b.add(ctx, "q", dead, msg); err != nil {
		return err
	}
	meta, _ := m.Metadata()
	if err := m.DoubleAck(ctx); err != nil {
		return err
	}
	return c.release(ctx, meta.Sequence.Stream)
}

// release deletes the jobs no group needs any more: job seq once every
// other group has acknowledged it too, and every job below the lowest
// group's floor (those acknowledged out of order, whose last group was
// not the one to acknowledge last).
func (c *consumer) release(ctx context.Context, seq uint64) error {
	floor, others := uint64(1<<63), true
	l := c.st.s.ListConsumers(ctx)
	mine := groupPrefix + token(c.group)
	for info := range l.Info() {
		if !strings.HasPrefix(info.Name, groupPrefix) {
			continue // a reader, not a group
		}
		floor = min(floor, info.AckFloor.Stream)
		if info.Name != mine && info.AckFloor.Stream < seq {
			others = false
		}
	}
	if err := l.Err(); err != nil {
		return err
	}
	if floor == 1<<63 {
		floor = 0
	}
	if floor > c.purged {
		// Purging up to the floor deletes seq too when it is below.
		if err := c.st.s.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
			return err
		}
		c.purged = floor
	}
	if seq > floor && others {
		// Gone already: a purge of another group's took it.
		if err := c.st.s.DeleteMsg(ctx, seq); err != nil && !strings.Contains(err.Error(), "no message found") {
			return err
		}
	}
	return nil
}

// Close implements maniwani.Bus.
func (b *Bus) Close() error {
	b.cancel()
	b.subs.Wait()
	return nil
}
