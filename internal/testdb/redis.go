package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisURL is the test Redis: MANIWANI_TEST_REDIS_URL, or the local server.
// The test is skipped when it does not answer, except under CI=true, where a
// missing Redis is a failure.
func RedisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("MANIWANI_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("MANIWANI_TEST_REDIS_URL: %v", err)
	}
	opt.MaxRetries = -1 // one look, not go-redis's retries with backoff
	probe := goredis.NewClient(opt)
	defer probe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := probe.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required under CI=true: %v", url, err)
		}
		t.Skipf("no Redis at %s (run scripts/services.sh): %v", url, err)
	}
	return url
}

// RedisPrefix is a key prefix of the test's own on the Redis at url: every
// key under it is deleted when the test ends.
func RedisPrefix(t testing.TB, url string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "maniwani-test-" + hex.EncodeToString(b)
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up Redis keys %s:*: %v", prefix, err)
		}
		rdb.Close()
	})
	return prefix
}

// Redis connects to the test Redis under a key prefix of the test's own
// (also the connection's client name); the client is closed and the keys
// deleted when the test ends.
func Redis(t testing.TB) (*goredis.Client, string) {
	t.Helper()
	url := RedisURL(t)
	prefix := RedisPrefix(t, url)
	opt, _ := goredis.ParseURL(url)
	opt.ClientName = prefix
	rdb := goredis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb, prefix
}
