package redis_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/pubsub/bustest"
	"github.com/maniwani/maniwani/pubsub/redis"
)

func newBus(t *testing.T, url string) (*redis.Bus, *goredis.Client, string) {
	rdb, prefix := testdb.Redis(t)
	b, err := redis.New(redis.Config{
		Prefix:           prefix,
		HistoryLen:       bustest.HistoryLen,
		Visibility:       bustest.Visibility,
		MaxDeliveries:    bustest.MaxDeliveries,
		SubscriberBuffer: bustest.SubscriberBuffer,
	}, rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rdb, prefix
}

func TestBus(t *testing.T) {
	url := testdb.RedisURL(t)
	bustest.Run(t, func(t *testing.T) maniwani.Bus {
		b, _, _ := newBus(t, url)
		return b
	})
}

// TestKeys checks the key layout: one hash tag per topic or queue, shared
// by a queue's dead letters, all under the prefix.
func TestKeys(t *testing.T) {
	b, rdb, prefix := newBus(t, testdb.RedisURL(t))
	ctx := t.Context()
	if _, err := b.Publish(ctx, "b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, "thumbnail", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, maniwani.DeadLetter("thumbnail"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		prefix + ":topic:{b}":              true,
		prefix + ":queue:{thumbnail}":      true,
		prefix + ":queue:{thumbnail}.dead": true,
	}
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %s", k)
		}
	}
	if _, err := redis.New(redis.Config{Prefix: "a{b}"}, rdb); err == nil {
		t.Error("New accepted a prefix with a brace")
	}
}

// TestConnectionLost checks that a subscription whose connection dies ends
// with KindUnavailable rather than resubscribing past a gap.
func TestConnectionLost(t *testing.T) {
	b, rdb, prefix := newBus(t, testdb.RedisURL(t))
	ctx := t.Context()
	s, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The subscription's connection is the one of our client in Pub/Sub
	// mode; the name keeps other tests' connections out of reach.
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+prefix+" ") && strings.Contains(line, " ssub=1 ") {
			id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
			if err := rdb.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d subscription connections in:\n%s", killed, list)
	}
	select {
	case _, ok := <-s.C():
		if ok {
			t.Fatal("unexpected message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription did not end")
	}
	if maniwani.ErrorKind(s.Err()) != maniwani.KindUnavailable || errors.Is(s.Err(), maniwani.ErrSlowSubscriber) {
		t.Errorf("Err = %v, want KindUnavailable", s.Err())
	}
}
