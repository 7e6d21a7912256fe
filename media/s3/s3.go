// Package s3 is a maniwani.FileStore in an S3 bucket (MinIO or any S3),
// through minio-go. S3 gives what the contract asks for by itself: an object
// appears whole when its PUT (or multipart upload) completes, or not at all.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/media"
)

// Config names the server, credentials and bucket of a Store.
type Config struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Bucket    string // created when missing
	Secure    bool   // HTTPS
	Region    string // "" lets the client find it (us-east-1 on MinIO)
}

// Store keeps blobs as objects of one bucket, named by their keys.
type Store struct {
	client *minio.Client
	bucket string
}

var _ maniwani.FileStore = (*Store)(nil)

// New connects to the server of cfg and creates the bucket when it is
// missing; a server that does not answer is a KindUnavailable error.
func New(ctx context.Context, cfg Config) (*Store, error) {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{client: client, bucket: cfg.Bucket}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, s3Error("bucket", cfg.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		code := minio.ToErrorResponse(err).Code
		// Another instance starting beside us may have made it first.
		if err != nil && code != minio.BucketAlreadyOwnedByYou && code != minio.BucketAlreadyExists {
			return nil, s3Error("make bucket", cfg.Bucket, err)
		}
	}
	return s, nil
}

// Put uploads the object in one PUT, or in parts above minio-go's part size;
// a failed upload is aborted, so no part of it is ever seen.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return maniwani.Errorf(maniwani.KindInvalid, "put %s: size %d unknown", key, size)
	}
	// The reader's own failure is the caller's to see, not one of storage
	// (minio-go would report it as a failed request).
	rr := &recordReader{r: r, left: size}
	_, err := s.client.PutObject(ctx, s.bucket, key, rr, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
	})
	switch {
	case rr.err != nil:
		return fmt.Errorf("s3: put %s: %w", key, rr.err)
	case err != nil:
		return s3Error("put", key, err)
	}
	return nil
}

// Open stats the object first, so that a missing key fails here rather than
// at the first Read; the reads that follow ask for the object's ETag, so a
// blob never mixes two versions of an overwritten key.
func (s *Store) Open(ctx context.Context, key string) (maniwani.Blob, error) {
	if err := media.CheckKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error("open", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s3Error("open", key, err)
	}
	return &blob{Object: obj, info: maniwani.BlobInfo{Size: info.Size, ModTime: info.LastModified}}, nil
}

// Stat asks for the object's head.
func (s *Store) Stat(ctx context.Context, key string) (maniwani.BlobInfo, error) {
	if err := media.CheckKey(key); err != nil {
		return maniwani.BlobInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return maniwani.BlobInfo{}, s3Error("stat", key, err)
	}
	return maniwani.BlobInfo{Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete removes the object; S3 answers a missing one with success.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s3Error("delete", key, err)
	}
	return nil
}

type blob struct {
	*minio.Object
	info maniwani.BlobInfo
}

func (b *blob) Info() maniwani.BlobInfo { return b.info }

// recordReader remembers the first failure of the caller's reader, counting
// a reader that ends before size as one.
type recordReader struct {
	r    io.Reader
	left int64
	err  error
}

func (rr *recordReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.left -= int64(n)
	if err == io.EOF && rr.left > 0 {
		err = fmt.Errorf("reader ended %d bytes short: %w", rr.left, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// s3Error gives err its kind: a missing object is not found; a server that
// does not answer, or answers that it cannot now, is unavailable; any other
// answer of the server is a fault of ours (credentials, bucket, policy).
func s3Error(op, key string, err error) error {
	kind, msg := maniwani.KindInternal, "storage error"
	var resp minio.ErrorResponse
	switch {
	case errors.As(err, &resp):
		switch {
		case resp.Code == minio.NoSuchKey:
			kind, msg = maniwani.KindNotFound, "no such file"
		case resp.StatusCode >= 500 || resp.Code == "SlowDown" || resp.Code == "XMinioServerNotInitialized":
			kind, msg = maniwani.KindUnavailable, "storage is unavailable"
		}
	default:
		// Transport failures: refused, reset, timed out, or the context
		// ended while waiting for an answer.
		kind, msg = maniwani.KindUnavailable, "storage is unavailable"
	}
	return &maniwani.Error{Kind: kind, Message: msg, Err: fmt.Errorf("s3: %s %s: %w", op, key, err)}
}
