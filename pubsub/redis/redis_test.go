package redis_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testserver"
	"github.com/maniwani/maniwani/pubsub/bustest"
	"github.com/maniwani/maniwani/pubsub/redis"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

func newBus(t *testing.T, url string) (*redis.Bus, *goredis.Client, string) {
	rdb, prefix := testdb.Redis(t)
	return onClient(t, rdb, prefix), rdb, prefix
}

// onClient is a bus with the suite's settings on rdb, under prefix.
func onClient(t *testing.T, rdb goredis.UniversalClient, prefix string) *redis.Bus {
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
	return b
}

func TestBus(t *testing.T) {
	url := testdb.RedisURL(t)
	bustest.Run(t, func(t *testing.T) maniwani.Bus {
		b, _, _ := newBus(t, url)
		return b
	})
}

// TestBusCluster runs the contract on a three-master Redis Cluster: each
// script's keys share a slot, and go-redis sends each to its master.
func TestBusCluster(t *testing.T) {
	testserver.RedisCluster(t)
	bustest.Run(t, func(t *testing.T) maniwani.Bus {
		rdb, prefix := testserver.ClusterClient(t)
		return onClient(t, rdb, prefix)
	})
}

// TestClusterSlots: on a cluster a topic's history and its channel, and a
// queue and its dead letters, each share a slot, and different boards
// spread over the masters.
func TestClusterSlots(t *testing.T) {
	rdb, prefix := testserver.ClusterClient(t)
	b := onClient(t, rdb, prefix)
	ctx := t.Context()
	slot := func(key string) int64 {
		s, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	masters := map[string]bool{}
	for _, board := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		topic := maniwani.BoardTopic(board)
		if _, err := b.Publish(ctx, topic, []byte("x")); err != nil {
			t.Fatal(err)
		}
		key := prefix + ":topic:{" + topic + "}"
		if slot(key) != slot(key+":live") {
			t.Errorf("%s and its channel are in different slots", key)
		}
		n, err := rdb.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[n.Options().Addr] = true
	}
	if len(masters) < 2 {
		t.Errorf("eight boards' topics all on %v", masters)
	}
	if _, err := b.Enqueue(ctx, maniwani.DeadLetter("thumbnail"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	keys, err := testserver.Keys(ctx, rdb, prefix+":queue:*")
	if err != nil || len(keys) != 1 || slot(keys[0]) != slot(prefix+":queue:{thumbnail}") {
		t.Errorf("dead letters %v (%v) not in the queue's slot", keys, err)
	}
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
