package disk_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/media/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) maniwani.FileStore {
		s, err := disk.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestNoTempFilesLeft checks that failed Puts clean up after themselves and
// that a blob is a plain file at its key's path.
func TestNoTempFilesLeft(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "a/b/c", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/b/d", strings.NewReader("shor"), 5); err == nil {
		t.Fatal("short Put succeeded")
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if len(files) != 1 || files[0] != "a/b/c" {
		t.Fatalf("files under the store: %q, want [a/b/c]", files)
	}
	data, err := os.ReadFile(filepath.Join(dir, "a", "b", "c"))
	if err != nil || !bytes.Equal(data, []byte("hello")) {
		t.Fatalf("file a/b/c = %q, %v", data, err)
	}
}

// TestKeyClash: on disk a key cannot be both a blob and a directory of
// longer keys (S3 has no such limit; media's key layout never asks it).
func TestKeyClash(t *testing.T) {
	s, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "x/y", strings.NewReader("1"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "x", strings.NewReader("2"), 1); maniwani.ErrorKind(err) != maniwani.KindConflict {
		t.Errorf("Put over a directory = %v, want KindConflict", err)
	}
	if err := s.Put(ctx, "x/y/z", strings.NewReader("3"), 1); maniwani.ErrorKind(err) != maniwani.KindConflict {
		t.Errorf("Put below a file = %v, want KindConflict", err)
	}
	if err := s.Delete(ctx, "x"); err != nil {
		t.Errorf("Delete of a directory key = %v, want nil (no blob there)", err)
	}
}
