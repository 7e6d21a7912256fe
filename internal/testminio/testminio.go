// Package testminio gives a test a bucket of its own on the test MinIO
// (MANIWANI_TEST_S3_ENDPOINT, or 127.0.0.1:9000 as scripts/minio.sh starts
// it), removed with its objects when the test ends. Without a server the test
// skips, except under CI=true, where a missing server is a failure.
package testminio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Bucket is a fresh, empty bucket on the test server. Its fields are what a
// media/s3 Config needs (this package does not import media/s3, so that its
// own tests may use it); Client is there to look behind a store's back.
type Bucket struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Name      string
	Client    *minio.Client
}

// New creates the test's bucket; it is emptied and removed at cleanup.
func New(t testing.TB) *Bucket {
	t.Helper()
	b := &Bucket{
		Endpoint:  env("MANIWANI_TEST_S3_ENDPOINT", "127.0.0.1:9000"),
		AccessKey: env("MANIWANI_TEST_S3_ACCESS_KEY", "minioadmin"),
		SecretKey: env("MANIWANI_TEST_S3_SECRET_KEY", "minioadmin"),
	}
	client, err := minio.New(b.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""),
	})
	if err != nil {
		t.Fatalf("MANIWANI_TEST_S3_ENDPOINT: %v", err)
	}
	b.Client = client
	buf := make([]byte, 6)
	rand.Read(buf)
	b.Name = "maniwani-test-" + hex.EncodeToString(buf)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := client.BucketExists(ctx, b.Name); err != nil {
		// An answer that is an S3 error (bad credentials) is a server that
		// is there but wrong: fail, do not skip.
		if minio.ToErrorResponse(err).Code != "" {
			t.Fatalf("MinIO at %s refused the test (MANIWANI_TEST_S3_ACCESS_KEY, _SECRET_KEY): %v", b.Endpoint, err)
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("MinIO at %s is required under CI=true (start it with scripts/minio.sh): %v", b.Endpoint, err)
		}
		t.Skipf("no MinIO at %s (run scripts/minio.sh): %v", b.Endpoint, err)
	}
	if err := client.MakeBucket(ctx, b.Name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", b.Name, err)
	}
	t.Cleanup(func() { b.remove(t) })
	return b
}

// remove empties and removes the bucket, if it is still there.
func (b *Bucket) remove(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objects := make(chan minio.ObjectInfo)
	go func() {
		defer close(objects)
		for o := range b.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				if minio.ToErrorResponse(o.Err).Code != minio.NoSuchBucket {
					t.Errorf("list %s: %v", b.Name, o.Err)
				}
				return
			}
			objects <- o
		}
	}()
	for e := range b.Client.RemoveObjects(ctx, b.Name, objects, minio.RemoveObjectsOptions{}) {
		t.Errorf("remove %s/%s: %v", b.Name, e.ObjectName, e.Err)
	}
	if err := b.Client.RemoveBucket(ctx, b.Name); err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchBucket {
		t.Errorf("remove bucket %s: %v", b.Name, err)
	}
}

// Keys lists the keys of the bucket under prefix.
func (b *Bucket) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	for o := range b.Client.ListObjects(context.Background(), b.Name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s/%s: %v", b.Name, prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
