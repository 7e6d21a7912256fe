// Package disk is a maniwani.FileStore on the local filesystem: one file
// per key under a directory, the key's segments as its path.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/media"
)

// tempPattern names the files a Put writes before it renames them into
// place. Its capitals make it a name no key can have.
const tempPattern = ".Put-*"

// Store keeps blobs as files under a directory.
type Store struct {
	dir string
}

var _ maniwani.FileStore = (*Store)(nil)

// New makes a Store under dir, creating dir when missing.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	return &Store{dir: abs}, nil
}

func (s *Store) path(key string) string { return filepath.Join(s.dir, filepath.FromSlash(key)) }

// Put writes a temporary file beside the target, syncs it and renames it
// over the target, then syncs the directory: readers see the old file or the
// whole new one, and a crash after Put returns cannot lose it.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return maniwani.Errorf(maniwani.KindInvalid, "put %s: size %d unknown", key, size)
	}
	path := s.path(key)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fsError("put", key, err)
	}
	f, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return fsError("put", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size))
	if err != nil {
		return fmt.Errorf("disk: put %s: %w", key, err)
	}
	if n < size {
		return fmt.Errorf("disk: put %s: read %d of %d bytes: %w", key, n, size, io.ErrUnexpectedEOF)
	}
	if err = f.Chmod(0o644); err != nil {
		return fsError("put", key, err)
	}
	if err = f.Sync(); err != nil {
		return fsError("put", key, err)
	}
	if err = f.Close(); err != nil {
		return fsError("put", key, err)
	}
	if err = ctx.Err(); err != nil {
		return fmt.Errorf("disk: put %s: %w", key, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fsError("put", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fsError("put", key, err)
	}
	return nil
}

// Open opens the file of key.
func (s *Store) Open(ctx context.Context, key string) (maniwani.Blob, error) {
	if err := media.CheckKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, fsError("open", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist // a directory made for longer keys is no blob
	}
	if err != nil {
		f.Close()
		return nil, fsError("open", key, err)
	}
	return &blob{File: f, info: maniwani.BlobInfo{Size: fi.Size(), ModTime: fi.ModTime()}}, nil
}

// Stat tells the size and time of the file of key.
func (s *Store) Stat(ctx context.Context, key string) (maniwani.BlobInfo, error) {
	if err := media.CheckKey(key); err != nil {
		return maniwani.BlobInfo{}, err
	}
	fi, err := os.Stat(s.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return maniwani.BlobInfo{}, fsError("stat", key, err)
	}
	return maniwani.BlobInfo{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the file of key. Emptied directories stay: removing them
// would race with a Put creating a file in them.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	path := s.path(key)
	fi, err := os.Lstat(path)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil && !notExist(err) {
		return fsError("delete", key, err)
	}
	return nil
}

type blob struct {
	*os.File
	info maniwani.BlobInfo
}

func (b *blob) Info() maniwani.BlobInfo { return b.info }

// ctxReader stops a Put whose context ends while it copies.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// notExist also counts ENOTDIR: a key below a path that is a file.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func fsError(op, key string, err error) error {
	kind, msg := maniwani.KindInternal, "storage error"
	switch {
	case notExist(err) && op != "put":
		kind, msg = maniwani.KindNotFound, "no such file"
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR), errors.Is(err, fs.ErrExist):
		// A key that is a directory of longer keys, or below a file.
		kind, msg = maniwani.KindConflict, "storage key clashes with another"
	}
	return &maniwani.Error{Kind: kind, Message: msg, Err: fmt.Errorf("disk: %s %s: %w", op, key, err)}
}
