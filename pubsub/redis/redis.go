// Package redis is the bus on Redis 7 or later, standalone or Cluster.
//
// A topic is a stream (its bounded history, trimmed with MAXLEN ~) and a
// sharded Pub/Sub channel (the fan-out; SPUBLISH is why Redis 7); a Lua
// script appends and publishes in one step, with the stream ID in the
// published payload. A queue is a stream read through consumer groups; jobs
// whose lease ran out are taken over with XAUTOCLAIM, and a job is deleted
// once every group is done with it. Keys are "<prefix>:topic:{<topic>}" and
// "<prefix>:queue:{<queue>}" (".dead" after the brace for a dead-letter
// queue): the hash tag keeps what one script touches in one Cluster slot.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
)

// Config sets the bus's names and limits; zero fields take the defaults.
type Config struct {
	Prefix           string        // starts every key, so several sites or tests can share a Redis ("maniwani")
	HistoryLen       int           // messages kept at least per topic for Replay (1000)
	Visibility       time.Duration // how long a job may stay unacknowledged before another consumer gets it (30s)
	MaxDeliveries    int           // deliveries of a job before it goes to the dead-letter queue (5)
	SubscriberBuffer int           // messages a subscriber may lag behind before it is dropped (256)
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// healthCheck is how long a quiet subscription waits before it pings, and
// then for the answer, to notice a connection that died without a word.
const healthCheck = 15 * time.Second

// Bus is the Redis maniwani.Bus.
type Bus struct {
	cfg    Config
	rdb    goredis.UniversalClient
	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	subs   sync.WaitGroup // subscription readers

	block     time.Duration // a consumer's wait for new jobs between looks for abandoned ones
	name      string        // of this bus, to name its consumers
	consumers atomic.Int64
}

var _ maniwani.Bus = (*Bus)(nil)

// New returns a bus on rdb. Closing the bus leaves rdb open.
func New(cfg Config, rdb goredis.UniversalClient) (*Bus, error) {
	cfg = cfg.withDefaults()
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("pubsub/redis: prefix %q has a brace: it would break the keys' hash tags", cfg.Prefix)
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{
		cfg:    cfg,
		rdb:    rdb,
		ctx:    ctx,
		cancel: cancel,
		block:  min(max(cfg.Visibility/4, 10*time.Millisecond), time.Second),
		name:   fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(4)),
	}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (b *Bus) topicKey(topic string) string { return b.cfg.Prefix + ":topic:{" + topic + "}" }
func (b *Bus) channel(topic string) string  { return b.topicKey(topic) + ":live" }

// queueKey tags a dead-letter queue with the name of the queue it serves,
// so a job and its grave share a slot.
func (b *Bus) queueKey(queue string) string {
	base := queue
	for strings.HasSuffix(base, ".dead") {
		base = strings.TrimSuffix(base, ".dead")
	}
	return b.cfg.Prefix + ":queue:{" + base + "}" + queue[len(base):]
}

func checkName(what, name string) error {
	if strings.TrimSuffix(name, ".dead") == "" || strings.ContainsAny(name, "{}") {
		return maniwani.Errorf(maniwani.KindInvalid, "Invalid %s name %q.", what, name)
	}
	return nil
}

// after turns the afterID of Replay and Peek into Redis's canonical form.
func after(afterID string) (string, error) {
	if afterID == "" {
		return "", nil
	}
	ms, seq, err := maniwani.ParseID(afterID)
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10), nil
}

// check refuses calls on a closed bus or with a done context.
func (b *Bus) check(ctx context.Context) error {
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	return ctx.Err()
}

// unavailable gives Redis's failures their kind; a caller's own context
// ending stays what it is.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The bus is unavailable.", Err: err}
}

// Publish implements maniwani.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	if err := checkName("topic", topic); err != nil {
		return "", err
	}
	if err := b.check(ctx); err != nil {
		return "", err
	}
	id, err := publishScript.Run(ctx, b.rdb, []string{b.topicKey(topic)},
		b.cfg.HistoryLen, data, b.channel(topic)).Text()
	return id, unavailable(err)
}

// readArgs checks what Replay and Peek are asked for, and the bus.
func (b *Bus) readArgs(ctx context.Context, what, name, afterID string, limit int) (string, error) {
	if err := checkName(what, name); err != nil {
		return "", err
	}
	if limit <= 0 {
		return "", maniwani.Errorf(maniwani.KindInvalid, "Invalid limit %d.", limit)
	}
	afterID, err := after(afterID)
	if err != nil {
		return "", err
	}
	return afterID, b.check(ctx)
}

// Replay implements maniwani.Bus.
func (b *Bus) Replay(ctx context.Context, topic, afterID string, limit int) ([]maniwani.Message, error) {
	afterID, err := b.readArgs(ctx, "topic", topic, afterID, limit)
	if err != nil {
		return nil, err
	}
	res, err := replayScript.Run(ctx, b.rdb, []string{b.topicKey(topic)}, afterID, limit).Slice()
	if err != nil {
		if strings.HasPrefix(err.Error(), "HISTORYGONE") {
			return nil, maniwani.ErrHistoryGone
		}
		return nil, unavailable(err)
	}
	return entries(topic, res)
}

// entries reads XRANGE's reply.
func entries(topic string, res []any) ([]maniwani.Message, error) {
	out := make([]maniwani.Message, 0, len(res))
	for _, r := range res {
		e, ok := r.([]any)
		if !ok || len(e) != 2 {
			return nil, unavailable(fmt.Errorf("unexpected stream entry %#v", r))
		}
		m, err := entry(topic, e[0], e[1])
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// entry reads one stream entry: its ID and its fields, d the data, and for
// a dead letter a its attempts and e its error.
func entry(topic string, id, fields any) (maniwani.Message, error) {
	m := maniwani.Message{Topic: topic}
	m.ID, _ = id.(string)
	kv, _ := fields.([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		switch k {
		case "d":
			m.Data = []byte(v)
		case "a":
			m.Attempt, _ = strconv.Atoi(v)
		case "e":
			m.Error = v
		}
	}
	if m.ID == "" {
		return m, unavailable(fmt.Errorf("unexpected stream entry %#v", id))
	}
	return m, nil
}

// Subscribe implements maniwani.Bus.
func (b *Bus) Subscribe(ctx context.Context, topic string) (maniwani.Subscription, error) {
	if err := checkName("topic", topic); err != nil {
		return nil, err
	}
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	ps := b.rdb.SSubscribe(ctx, b.channel(topic))
	// SSubscribe only sends the command; the confirmation says the
	// subscription is active, which Subscribe promises on return.
	msg, err := ps.Receive(ctx)
	if err == nil {
		if _, ok := msg.(*goredis.Subscription); !ok {
			err = fmt.Errorf("unexpected reply to SSUBSCRIBE: %v", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, unavailable(err)
	}

	sctx, cancel := context.WithCancelCause(ctx)
	s := &subscription{
		ch:     make(chan maniwani.Message, b.cfg.SubscriberBuffer),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	stop := context.AfterFunc(b.ctx, func() { cancel(maniwani.ErrClosed) })
	b.subs.Add(1)
	go func() {
		defer b.subs.Done()
		defer stop()
		s.read(sctx, ps, topic)
	}()
	return s, nil
}

// errUnsubscribed is the cause of a subscription closed by its owner.
var errUnsubscribed = errors.New("unsubscribed")

type subscription struct {
	ch     chan maniwani.Message
	done   chan struct{} // closed after ch
	cancel context.CancelCauseFunc

	mu  sync.Mutex
	err error
}

func (s *subscription) C() <-chan maniwani.Message { return s.ch }

func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *subscription) Close() error {
	s.cancel(errUnsubscribed)
	<-s.done
	return nil
}

// read moves messages from Redis to the channel until the subscription
// ends. Any failure ends it: go-redis would reconnect and resubscribe by
// itself, silently skipping what was published meanwhile, and a gap is what
// a subscription must never have.
func (s *subscription) read(ctx context.Context, ps *goredis.PubSub, topic string) {
	err := s.receive(ctx, ps, topic)
	if ctx.Err() != nil {
		err = context.Cause(ctx)
		if err == errUnsubscribed {
			err = nil
		}
	}
	_ = ps.Close()
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.ch)
	close(s.done)
}

func (s *subscription) receive(ctx context.Context, ps *goredis.PubSub, topic string) error {
	// go-redis does not interrupt a blocked read when ctx ends; closing does.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthCheck)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged && ctx.Err() == nil {
				pinged = true
				if err = ps.Ping(ctx); err == nil {
					continue
				}
			}
			return unavailable(err)
		}
		pinged = false
		switch msg := msg.(type) {
		case *goredis.Message:
			id, data, ok := strings.Cut(msg.Payload, "\n")
			if !ok {
				return unavailable(fmt.Errorf("unexpected payload on %s", msg.Channel))
			}
			select {
			case s.ch <- maniwani.Message{ID: id, Topic: topic, Data: []byte(data)}:
			default:
				return maniwani.ErrSlowSubscriber
			}
		case *goredis.Subscription:
			// The server dropped us, as when Cluster moves the slot.
			if msg.Kind != "ssubscribe" {
				return unavailable(fmt.Errorf("%s from %s", msg.Kind, msg.Channel))
			}
		}
	}
}

// Enqueue implements maniwani.Bus.
func (b *Bus) Enqueue(ctx context.Context, queue string, data []byte) (string, error) {
	if err := checkName("queue", queue); err != nil {
		return "", err
	}
	if err := b.check(ctx); err != nil {
		return "", err
	}
	id, err := b.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: b.queueKey(queue), Values: []any{"d", data}}).Result()
	return id, unavailable(err)
}

// Peek implements maniwani.Bus.
func (b *Bus) Peek(ctx context.Context, queue, afterID string, limit int) ([]maniwani.Message, error) {
	afterID, err := b.readArgs(ctx, "queue", queue, afterID, limit)
	if err != nil {
		return nil, err
	}
	start := "-"
	if afterID != "" {
		start = "(" + afterID
	}
	res, err := b.rdb.XRangeN(ctx, b.queueKey(queue), start, "+", int64(limit)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]maniwani.Message, 0, len(res))
	for _, e := range res {
		m := maniwani.Message{ID: e.ID, Topic: queue}
		d, _ := e.Values["d"].(string)
		m.Data = []byte(d)
		if a, ok := e.Values["a"].(string); ok {
			m.Attempt, _ = strconv.Atoi(a)
		}
		m.Error, _ = e.Values["e"].(string)
		out = append(out, m)
	}
	return out, nil
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

	c := &consumer{
		b:      b,
		queue:  queue,
		key:    b.queueKey(queue),
		dead:   b.queueKey(maniwani.DeadLetter(queue)),
		group:  group,
		name:   b.name + "-" + strconv.FormatInt(b.consumers.Add(1), 10),
		cursor: "0-0",
	}
	var pause time.Duration
	for ctx.Err() == nil {
		if err := c.step(ctx, handle); err != nil && ctx.Err() == nil {
			pause = min(max(2*pause, 100*time.Millisecond), 5*time.Second)
			b.cfg.Logger.Warn("bus: consume", "queue", queue, "group", group, "err", err, "retry_in", pause)
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
	}
	c.leave()
	if b.ctx.Err() != nil {
		return maniwani.ErrClosed
	}
	return nil
}

type consumer struct {
	b                             *Bus
	queue, key, dead, group, name string
	cursor                        string // where XAUTOCLAIM goes on
	joined                        bool   // the group is known to exist
}

// step handles at most one job: first one whose lease ran out, else a new
// one, waiting up to b.block for it.
func (c *consumer) step(ctx context.Context, handle maniwani.Handler) error {
	if !c.joined {
		// From 0: a group that starts late still gets the jobs kept.
		err := c.b.rdb.XGroupCreateMkStream(ctx, c.key, c.group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return err
		}
		c.joined = true
	}
	m, err := c.claim(ctx)
	if err == nil && m == nil {
		m, err = c.read(ctx)
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			c.joined = false // the stream was deleted under us
		}
		return err
	}
	if m != nil {
		c.run(ctx, handle, *m)
	}
	return nil
}

func (c *consumer) claim(ctx context.Context) (*maniwani.Message, error) {
	// COUNT 1 scans a few pending jobs per call: go on until one is taken
	// or the scan is round.
	for range 100 {
		res, err := claimScript.Run(ctx, c.b.rdb, []string{c.key, c.dead},
			c.group, c.name, c.b.cfg.Visibility.Milliseconds(), c.cursor, c.b.cfg.MaxDeliveries).Slice()
		if err != nil {
			return nil, err
		}
		c.cursor, _ = res[0].(string)
		if len(res) > 1 {
			e, _ := res[1].([]any)
			if len(e) != 3 {
				return nil, fmt.Errorf("unexpected claim %#v", res[1])
			}
			m, err := entry(c.queue, e[0], e[1])
			if err != nil {
				return nil, err
			}
			n, _ := e[2].(int64)
			m.Attempt = int(n)
			return &m, nil
		}
		if c.cursor == "0-0" || c.cursor == "" {
			c.cursor = "0-0"
			return nil, nil
		}
	}
	return nil, nil
}

func (c *consumer) read(ctx context.Context) (*maniwani.Message, error) {
	res, err := c.b.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group:    c.group,
		Consumer: c.name,
		Streams:  []string{c.key, ">"},
		Count:    1,
		Block:    c.b.block,
	}).Result()
	if err == goredis.Nil || ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, s := range res {
		for _, e := range s.Messages {
			d, _ := e.Values["d"].(string)
			return &maniwani.Message{ID: e.ID, Topic: c.queue, Data: []byte(d), Attempt: 1}, nil
		}
	}
	return nil, nil
}

// run handles the job and settles it. Settling does not use ctx: a job
// done as the consumer stops is still done. If settling fails, the job
// comes back after the visibility timeout, which at-least-once allows.
func (c *consumer) run(ctx context.Context, handle maniwani.Handler, m maniwani.Message) {
	err := c.handle(ctx, handle, m)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var serr error
	switch {
	case err == nil:
		serr = ackScript.Run(sctx, c.b.rdb, []string{c.key}, c.group, m.ID).Err()
	case ctx.Err() == nil && m.Attempt >= c.b.cfg.MaxDeliveries:
		serr = failScript.Run(sctx, c.b.rdb, []string{c.key, c.dead},
			c.group, c.name, m.ID, m.Attempt, err.Error()).Err()
	}
	// Any other failure waits, leased, until the visibility timeout.
	if serr != nil {
		c.b.cfg.Logger.Warn("bus: settle job", "queue", c.queue, "id", m.ID, "err", serr)
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

func (c *consumer) leave() {
	if !c.joined {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = leaveScript.Run(ctx, c.b.rdb, []string{c.key}, c.group, c.name).Err()
}

// Close implements maniwani.Bus.
func (b *Bus) Close() error {
	b.cancel()
	b.subs.Wait()
	return nil
}
