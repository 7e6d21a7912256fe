// Package bustest is the contract every maniwani.Bus backend passes: one
// suite, run from each backend's tests.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testutil"
)

// The configuration newBus must give each bus, so that the suite can reach
// the limits in a few seconds.
const (
	HistoryLen       = 100
	Visibility       = 200 * time.Millisecond
	MaxDeliveries    = 3
	SubscriberBuffer = 128
)

// wait bounds every wait of the suite: long enough for a slow CI machine,
// short enough that a hang fails instead of stalling.
const wait = 10 * time.Second

// Run runs the contract against the buses newBus returns: each subtest gets
// a new, empty bus, configured with the constants above, that newBus closes
// and cleans up when the subtest ends.
func Run(t *testing.T, newBus func(t *testing.T) maniwani.Bus) {
	run(t, newBus, func(t *testing.T, f func(*testing.T)) { f(t) })
}

// RunInBubble runs the contract as Run does, each subtest (newBus too) in a
// testing/synctest bubble: for a backend wholly in this process, whose
// leases and visibility timeouts then run on the bubble's clock, so the
// waits for what must not happen cost nothing.
func RunInBubble(t *testing.T, newBus func(t *testing.T) maniwani.Bus) {
	run(t, newBus, synctest.Test)
}

func run(t *testing.T, newBus func(t *testing.T) maniwani.Bus, in func(*testing.T, func(*testing.T))) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, maniwani.Bus)
	}{
		{"FanOut", testFanOut},
		{"BinaryData", testBinaryData},
		{"NothingBeforeSubscribe", testNothingBeforeSubscribe},
		{"SubscriptionEnds", testSubscriptionEnds},
		{"SlowSubscriber", testSlowSubscriber},
		{"Replay", testReplay},
		{"HistoryGone", testHistoryGone},
		{"ResumeNoGapNoRepeat", testResume},
		{"QueueOnceAcrossConsumers", testOnceAcrossConsumers},
		{"QueueAck", testAck},
		{"QueueHungConsumer", testHungConsumer},
		{"QueueCancelledConsumer", testCancelledConsumer},
		{"QueueDeadLetter", testDeadLetter},
		{"QueueDeadLetterAbandoned", testDeadLetterAbandoned},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in(t, func(t *testing.T) { tc.test(t, newBus(t)) })
		})
	}
}

func publish(t *testing.T, b maniwani.Bus, topic string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := b.Publish(t.Context(), topic, []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if i > 0 && maniwani.CompareIDs(ids[i-1], id) >= 0 {
			t.Fatalf("ID %s after %s", id, ids[i-1])
		}
		ids[i] = id
	}
	return ids
}

func subscribe(t *testing.T, b maniwani.Bus, topic string) maniwani.Subscription {
	t.Helper()
	s, err := b.Subscribe(t.Context(), topic)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func receive(t *testing.T, s maniwani.Subscription) maniwani.Message {
	t.Helper()
	select {
	case m, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		return m
	case <-time.After(wait):
		t.Fatal("no message")
	}
	panic("unreachable")
}

// ended waits for s to end and returns Err.
func ended(t *testing.T, s maniwani.Subscription) error {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return s.Err()
			}
		case <-deadline:
			t.Fatal("subscription did not end")
		}
	}
}

func testFanOut(t *testing.T, b maniwani.Bus) {
	subs := []maniwani.Subscription{subscribe(t, b, "fan"), subscribe(t, b, "fan"), subscribe(t, b, "fan")}
	ids := publish(t, b, "fan", 50)
	for n, s := range subs {
		for i, id := range ids {
			m := receive(t, s)
			if m.ID != id || string(m.Data) != strconv.Itoa(i) || m.Topic != "fan" {
				t.Fatalf("subscriber %d, message %d: got %s %q on %q, want %s %q", n, i, m.ID, m.Data, m.Topic, id, strconv.Itoa(i))
			}
		}
	}
}

// testBinaryData: protobuf is bytes, newlines and zeros included.
func testBinaryData(t *testing.T, b maniwani.Bus) {
	ctx := t.Context()
	data := make([]byte, 512)
	for i := range data {
		data[i] = byte(i)
	}
	s := subscribe(t, b, "t")
	id, err := b.Publish(ctx, "t", data)
	if err != nil {
		t.Fatal(err)
	}
	if m := receive(t, s); m.ID != id || !bytes.Equal(m.Data, data) {
		t.Errorf("subscriber got %s %x", m.ID, m.Data)
	}
	if ms, err := b.Replay(ctx, "t", "", 10); err != nil || len(ms) != 1 || !bytes.Equal(ms[0].Data, data) {
		t.Errorf("Replay: %v, %v", ms, err)
	}
	enqueue(t, b, "q", string(data))
	if ms := peek(t, b, "q"); len(ms) != 1 || !bytes.Equal(ms[0].Data, data) {
		t.Errorf("Peek: %v", ms)
	}
	got := make(chan []byte, 1)
	consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		got <- m.Data
		return nil
	})
	select {
	case d := <-got:
		if !bytes.Equal(d, data) {
			t.Errorf("Consume got %x", d)
		}
	case <-time.After(wait):
		t.Fatal("no job")
	}
}

func testNothingBeforeSubscribe(t *testing.T, b maniwani.Bus) {
	publish(t, b, "t", 3)
	s := subscribe(t, b, "t")
	publish(t, b, "other", 2)
	ids := publish(t, b, "t", 3)
	// One more on t: anything s should not have had would come before it.
	for _, id := range append(ids, publish(t, b, "t", 1)...) {
		if m := receive(t, s); m.ID != id {
			t.Fatalf("got %s %q, want %s", m.ID, m.Data, id)
		}
	}
}

func testSubscriptionEnds(t *testing.T, b maniwani.Bus) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := ended(t, s); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: Err = %v, want context.Canceled", err)
	}

	s = subscribe(t, b, "t")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ended(t, s); err != nil {
		t.Errorf("after Close: Err = %v, want nil", err)
	}
	s.Close() // twice is fine
	if _, err := b.Publish(t.Context(), "t", nil); err != nil {
		t.Errorf("Publish after the subscribers left: %v", err)
	}

	if _, err := b.Subscribe(t.Context(), "a{b}"); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("Subscribe to a{b}: %v, want KindInvalid", err)
	}
}

func testSlowSubscriber(t *testing.T, b maniwani.Bus) {
	s := subscribe(t, b, "t")
	publish(t, b, "t", 2*SubscriberBuffer)
	time.Sleep(200 * time.Millisecond) // let a backend's reader catch up with the publisher
	n := 0
	for range s.C() {
		n++
	}
	if !errors.Is(s.Err(), maniwani.ErrSlowSubscriber) {
		t.Errorf("Err = %v, want ErrSlowSubscriber", s.Err())
	}
	if n > SubscriberBuffer {
		t.Errorf("got %d messages through a buffer of %d", n, SubscriberBuffer)
	}
}

func ids(ms []maniwani.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func same(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func testReplay(t *testing.T, b maniwani.Bus) {
	ctx := t.Context()
	if ms, err := b.Replay(ctx, "t", "", 10); err != nil || len(ms) != 0 {
		t.Fatalf("Replay of an unknown topic: %v, %v", ms, err)
	}
	want := publish(t, b, "t", 10)
	publish(t, b, "other", 3)

	for _, tc := range []struct {
		after string
		limit int
		want  []string
	}{
		{"", 100, want},
		{want[3], 100, want[4:]},
		{want[3], 2, want[4:6]},
		{want[9], 100, nil},
		{"0-0", 100, want},
	} {
		ms, err := b.Replay(ctx, "t", tc.after, tc.limit)
		if err != nil {
			t.Fatalf("Replay(%q, %d): %v", tc.after, tc.limit, err)
		}
		if !same(ids(ms), tc.want) {
			t.Errorf("Replay(%q, %d) = %v, want %v", tc.after, tc.limit, ids(ms), tc.want)
		}
		for _, m := range ms {
			if m.Topic != "t" || string(m.Data) != strconv.Itoa(indexOf(want, m.ID)) {
				t.Errorf("message %s: %q on %q", m.ID, m.Data, m.Topic)
			}
		}
	}

	for _, bad := range []string{"x", "1", "1-", "-1", "1-x", "+1-0", "1-0 "} {
		if _, err := b.Replay(ctx, "t", bad, 10); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("Replay after %q: %v, want KindInvalid", bad, err)
		}
	}
	if _, err := b.Replay(ctx, "t", "", 0); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("Replay with limit 0: %v, want KindInvalid", err)
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func testHistoryGone(t *testing.T, b maniwani.Bus) {
	ctx := t.Context()
	// Past 3x the length, even Redis's approximate trimming has dropped
	// the first ones.
	all := publish(t, b, "t", 3*HistoryLen+50)
	_, err := b.Replay(ctx, "t", all[0], 10)
	if !errors.Is(err, maniwani.ErrHistoryGone) || maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("Replay after the first: %v, want ErrHistoryGone", err)
	}

	// The last HistoryLen are always kept.
	from := len(all) - HistoryLen
	ms, err := b.Replay(ctx, "t", all[from], 1000)
	if err != nil {
		t.Fatalf("Replay within the history: %v", err)
	}
	if !same(ids(ms), all[from+1:]) {
		t.Errorf("Replay within the history: %d messages, want %d", len(ms), len(all)-from-1)
	}
	ms, err = b.Replay(ctx, "t", "", 1000)
	if err != nil || len(ms) < HistoryLen || ms[len(ms)-1].ID != all[len(all)-1] {
		t.Fatalf("Replay from the oldest kept: %d messages, %v", len(ms), err)
	}

	// At the edge: after the newest message dropped is everything kept;
	// after the one before it, one message is missing.
	oldest := indexOf(all, ms[0].ID)
	if oldest < 2 {
		t.Fatalf("oldest kept is message %d", oldest)
	}
	edge, err := b.Replay(ctx, "t", all[oldest-1], 1000)
	if err != nil || !same(ids(edge), ids(ms)) {
		t.Errorf("Replay after the newest dropped: %d messages, %v; want %d", len(edge), err, len(ms))
	}
	if _, err := b.Replay(ctx, "t", all[oldest-2], 1000); !errors.Is(err, maniwani.ErrHistoryGone) {
		t.Errorf("Replay after the second newest dropped: %v, want ErrHistoryGone", err)
	}
}

// testResume does what live does for a client with a Last-Event-ID while
// messages keep coming: subscribe, replay, drop what both gave.
func testResume(t *testing.T, b maniwani.Bus) {
	ctx := t.Context()
	const total, seen, page = 200, 50, 7
	final := strconv.Itoa(total - 1)
	published := make(chan string, total)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(published)
		for i := range total {
			id, err := b.Publish(ctx, "t", []byte(strconv.Itoa(i)))
			if err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
			published <- id
			time.Sleep(time.Millisecond) // a steady stream, going on while the client resumes
		}
	}()
	var want []string
	for len(want) < seen {
		want = append(want, <-published)
	}
	const from = seen / 2
	last := want[from-1] // what the client saw last: replay has work to do

	s := subscribe(t, b, "t")
	// A message that reaches s is in the history too: once one has, the
	// replay below gives it as well, so the dedupe has work to do.
	var early []maniwani.Message
	select {
	case m, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		early = append(early, m)
	case <-finished: // the publisher was quicker than this test
	}
	var got []maniwani.Message
	for {
		ms, err := b.Replay(ctx, "t", last, page)
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		got = append(got, ms...)
		if len(ms) > 0 {
			last = ms[len(ms)-1].ID
		}
		if len(ms) < page {
			break
		}
	}
	replayed, dropped := len(got), 0
	for len(got) == 0 || string(got[len(got)-1].Data) != final {
		var m maniwani.Message
		if len(early) > 0 {
			m, early = early[0], early[1:]
		} else {
			m = receive(t, s)
		}
		if maniwani.CompareIDs(m.ID, last) <= 0 {
			dropped++
			continue
		}
		got = append(got, m)
		last = m.ID
	}
	for id := range published {
		want = append(want, id)
	}
	if !same(ids(got), want[from:]) {
		t.Fatalf("got %d messages, want %d:\n got %v\nwant %v", len(got), total-from, ids(got), want[from:])
	}
	if replayed < seen-from {
		t.Errorf("only %d from replay, want %d at least", replayed, seen-from)
	}
	t.Logf("%d from replay, %d live, %d dropped as already replayed", replayed, len(got)-replayed, dropped)
}

// consume runs Consume in the background until the test ends or the
// returned stop is called, and fails the test if Consume fails.
func consume(t *testing.T, b maniwani.Bus, queue, group string, h maniwani.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.Consume(ctx, queue, group, h); err != nil && !errors.Is(err, maniwani.ErrClosed) {
			t.Errorf("Consume: %v", err)
		}
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			t.Errorf("Consume did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func enqueue(t *testing.T, b maniwani.Bus, queue string, data ...string) {
	t.Helper()
	for _, d := range data {
		if _, err := b.Enqueue(t.Context(), queue, []byte(d)); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
}

func peek(t *testing.T, b maniwani.Bus, queue string) []maniwani.Message {
	t.Helper()
	ms, err := b.Peek(t.Context(), queue, "", 1000)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return ms
}

// queued is nil once queue holds want jobs.
func queued(t *testing.T, b maniwani.Bus, queue string, want int) error {
	if n := len(peek(t, b, queue)); n != want {
		return fmt.Errorf("%d jobs in %s, want %d", n, queue, want)
	}
	return nil
}

// tally counts handled jobs by their data.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *tally) add(m maniwani.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[string(m.Data)]++
}

func (c *tally) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func testOnceAcrossConsumers(t *testing.T, b maniwani.Bus) {
	const n = 40
	var jobs []string
	for i := range n {
		jobs = append(jobs, fmt.Sprint("job", i))
	}
	enqueue(t, b, "jobs", jobs[:n/2]...) // some wait for the consumers,
	var c tally
	for range 3 {
		consume(t, b, "jobs", "workers", func(ctx context.Context, m maniwani.Message) error {
			c.add(m)
			time.Sleep(5 * time.Millisecond)
			return nil
		})
	}
	enqueue(t, b, "jobs", jobs[n/2:]...) // some arrive while they wait
	testutil.Eventually(t, wait, func() error {
		if got := len(c.get()); got != n {
			return fmt.Errorf("%d of %d jobs handled", got, n)
		}
		return nil
	})
	time.Sleep(2 * Visibility) // for redeliveries that should not come (free in a bubble)
	for _, j := range jobs {
		if got := c.get()[j]; got != 1 {
			t.Errorf("%s handled %d times", j, got)
		}
	}
	if ms := peek(t, b, "jobs"); len(ms) != 0 {
		t.Errorf("%d jobs left in the queue", len(ms))
	}
}

func testAck(t *testing.T, b maniwani.Bus) {
	enqueue(t, b, "q", "a")
	var c tally
	var attempts []int
	var mu sync.Mutex
	consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		c.add(m)
		mu.Lock()
		attempts = append(attempts, m.Attempt)
		mu.Unlock()
		if m.ID == "" || m.Topic != "q" {
			t.Errorf("job %+v", m)
		}
		return nil
	})
	testutil.Eventually(t, wait, func() error {
		if c.get()["a"] == 0 {
			return errors.New("the job is not handled")
		}
		return nil
	})
	time.Sleep(2*Visibility + 100*time.Millisecond) // for a redelivery that should not come
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 1 || attempts[0] != 1 {
		t.Errorf("deliveries %v, want one, attempt 1", attempts)
	}
	if ms := peek(t, b, "q"); len(ms) != 0 {
		t.Errorf("acknowledged job still queued: %v", ids(ms))
	}
	if ms := peek(t, b, maniwani.DeadLetter("q")); len(ms) != 0 {
		t.Errorf("acknowledged job in the dead-letter queue")
	}
}

// takeOver checks that a job held by a consumer that stopped answering goes
// to another consumer of the group once its lease runs out.
func takeOver(t *testing.T, b maniwani.Bus, took time.Time) {
	got := make(chan maniwani.Message, 1)
	consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		got <- m
		return nil
	})
	select {
	case m := <-got:
		if d := time.Since(took); d < Visibility-20*time.Millisecond {
			t.Errorf("taken over after %v, before the visibility timeout", d)
		}
		if string(m.Data) != "job" || m.Attempt != 2 {
			t.Errorf("got %q attempt %d, want \"job\" attempt 2", m.Data, m.Attempt)
		}
	case <-time.After(wait):
		t.Fatal("the job never came back")
	}
	testutil.Eventually(t, wait, func() error { return queued(t, b, "q", 0) }) // acknowledged
}

func testHungConsumer(t *testing.T, b maniwani.Bus) {
	enqueue(t, b, "q", "job")
	took := make(chan time.Time, 1)
	release := make(chan struct{})
	defer close(release)
	consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		took <- time.Now()
		<-release // hangs, ignoring ctx
		return nil
	})
	takeOver(t, b, <-took)
}

func testCancelledConsumer(t *testing.T, b maniwani.Bus) {
	enqueue(t, b, "q", "job")
	took := make(chan time.Time, 1)
	var stop func()
	entered := make(chan struct{})
	stop = consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		took <- time.Now()
		close(entered)
		<-ctx.Done() // the consumer stops before finishing
		return ctx.Err()
	})
	<-entered
	stop()
	takeOver(t, b, <-took)
}

func testDeadLetter(t *testing.T, b maniwani.Bus) {
	enqueue(t, b, "q", "bad", "good")
	var c tally
	consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
		c.add(m)
		if string(m.Data) == "bad" {
			return fmt.Errorf("boom %d", m.Attempt)
		}
		return nil
	})
	testutil.Eventually(t, wait, func() error { return queued(t, b, maniwani.DeadLetter("q"), 1) })
	time.Sleep(2 * Visibility) // for deliveries that should not come
	if got := c.get(); got["bad"] != MaxDeliveries || got["good"] != 1 {
		t.Errorf("handled %v, want bad %d times, good once", got, MaxDeliveries)
	}
	dead := peek(t, b, maniwani.DeadLetter("q"))
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	d := dead[0]
	want := fmt.Sprint("boom ", MaxDeliveries)
	if string(d.Data) != "bad" || d.Attempt != MaxDeliveries || !strings.Contains(d.Error, want) || d.Topic != "q.dead" {
		t.Errorf("dead letter %+v, want bad, attempt %d, error %q", d, MaxDeliveries, want)
	}
	if ms := peek(t, b, "q"); len(ms) != 0 {
		t.Errorf("%d jobs left in the queue", len(ms))
	}

	// A dead-letter queue is a queue: consuming it drains it.
	got := make(chan maniwani.Message, 1)
	consume(t, b, maniwani.DeadLetter("q"), "redrive", func(ctx context.Context, m maniwani.Message) error {
		got <- m
		return nil
	})
	select {
	case m := <-got:
		if string(m.Data) != "bad" {
			t.Errorf("redrive got %q", m.Data)
		}
	case <-time.After(wait):
		t.Fatal("nothing consumed from the dead-letter queue")
	}
	testutil.Eventually(t, wait, func() error { return queued(t, b, maniwani.DeadLetter("q"), 0) }) // drained
}

// testDeadLetterAbandoned: a job whose every consumer hangs goes to the
// dead-letter queue after MaxDeliveries, without another delivery.
func testDeadLetterAbandoned(t *testing.T, b maniwani.Bus) {
	enqueue(t, b, "q", "poison")
	var c tally
	release := make(chan struct{})
	defer close(release)
	for range MaxDeliveries + 1 {
		consume(t, b, "q", "g", func(ctx context.Context, m maniwani.Message) error {
			c.add(m)
			<-release
			return nil
		})
	}
	testutil.Eventually(t, wait, func() error { return queued(t, b, maniwani.DeadLetter("q"), 1) })
	dead := peek(t, b, maniwani.DeadLetter("q"))
	if n := c.get()["poison"]; n != MaxDeliveries {
		t.Errorf("delivered %d times, want %d", n, MaxDeliveries)
	}
	if d := dead[0]; string(d.Data) != "poison" || d.Attempt != MaxDeliveries || d.Error == "" {
		t.Errorf("dead letter %+v", d)
	}
}

func testClose(t *testing.T, b maniwani.Bus) {
	ctx := t.Context()
	s := subscribe(t, b, "t")
	consumed := make(chan error, 1)
	enqueue(t, b, "q", "job")
	handled := make(chan struct{}, 1)
	go func() {
		consumed <- b.Consume(ctx, "q", "g", func(context.Context, maniwani.Message) error {
			handled <- struct{}{}
			return nil
		})
	}()
	select { // Consume is under way
	case <-handled:
	case <-time.After(wait):
		t.Fatal("Consume took no job")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := ended(t, s); !errors.Is(err, maniwani.ErrClosed) {
		t.Errorf("subscription Err = %v, want ErrClosed", err)
	}
	select {
	case err := <-consumed:
		if !errors.Is(err, maniwani.ErrClosed) {
			t.Errorf("Consume = %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Error("Consume did not return")
	}

	closed := func(what string, err error) {
		if !errors.Is(err, maniwani.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	_, err := b.Publish(ctx, "t", nil)
	closed("Publish", err)
	_, err = b.Subscribe(ctx, "t")
	closed("Subscribe", err)
	_, err = b.Replay(ctx, "t", "", 10)
	closed("Replay", err)
	_, err = b.Enqueue(ctx, "q", nil)
	closed("Enqueue", err)
	_, err = b.Peek(ctx, "q", "", 10)
	closed("Peek", err)
	closed("Consume", b.Consume(ctx, "q", "g", func(context.Context, maniwani.Message) error { return nil }))
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
