// Package storetest is the contract every maniwani.FileStore passes: each
// backend's test calls Run with a function that makes an empty store.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// Run runs the contract on stores made by newStore, one fresh store per
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) maniwani.FileStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s maniwani.FileStore)
	}{
		{"PutOpen", testPutOpen},
		{"Empty", testEmpty},
		{"Overwrite", testOverwrite},
		{"Stat", testStat},
		{"Seek", testSeek},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"FailedPut", testFailedPut},
		{"ShortPut", testShortPut},
		{"CanceledPut", testCanceledPut},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

func testPutOpen(t *testing.T, s maniwani.FileStore) {
	data := gen(1, 100_000)
	put(t, s, "src/ab/abcdef.png", data)
	if got := read(t, s, "src/ab/abcdef.png"); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, not the %d put", len(got), len(data))
	}
	// Keys are distinct blobs, including ones that share a prefix.
	put(t, s, "src/ab/abcdef.pn", []byte("other"))
	if got := read(t, s, "src/ab/abcdef.png"); !bytes.Equal(got, data) {
		t.Fatal("a key sharing a prefix changed the blob")
	}
}

func testEmpty(t *testing.T, s maniwani.FileStore) {
	put(t, s, "empty", nil)
	if got := read(t, s, "empty"); len(got) != 0 {
		t.Fatalf("read %d bytes of an empty blob", len(got))
	}
	if info := stat(t, s, "empty"); info.Size != 0 {
		t.Fatalf("size %d, want 0", info.Size)
	}
}

func testOverwrite(t *testing.T, s maniwani.FileStore) {
	put(t, s, "a/b", gen(1, 5000))
	put(t, s, "a/b", []byte("short"))
	if got := read(t, s, "a/b"); string(got) != "short" {
		t.Fatalf("read %q after overwrite, want %q", got[:min(len(got), 20)], "short")
	}
	if info := stat(t, s, "a/b"); info.Size != 5 {
		t.Fatalf("size %d after overwrite, want 5", info.Size)
	}
}

func testStat(t *testing.T, s maniwani.FileStore) {
	before := time.Now().Add(-time.Minute) // server clocks differ a little
	put(t, s, "x/1", gen(2, 1234))
	put(t, s, "x/2", gen(3, 1))
	for key, size := range map[string]int64{"x/1": 1234, "x/2": 1} {
		info := stat(t, s, key)
		if info.Size != size {
			t.Errorf("Stat(%s).Size = %d, want %d", key, info.Size, size)
		}
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("Stat(%s).ModTime = %v, not about now", key, info.ModTime)
		}
		b, err := s.Open(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Info(); got.Size != size || !got.ModTime.Equal(info.ModTime) {
			t.Errorf("Open(%s).Info() = %+v, Stat says %+v", key, got, info)
		}
		b.Close()
	}
}

// testSeek reads ranges as http.ServeContent does: the size by seeking to
// the end, then a seek to each range's start.
func testSeek(t *testing.T, s maniwani.FileStore) {
	data := gen(4, 300_000)
	put(t, s, "seek", data)
	b, err := s.Open(context.Background(), "seek")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, err := b.Seek(0, io.SeekEnd); err != nil || n != int64(len(data)) {
		t.Fatalf("Seek(0, End) = %d, %v; want %d", n, err, len(data))
	}
	for _, r := range []struct{ off, n int64 }{{0, 100}, {1000, 5000}, {299_990, 10}, {150_000, 100_000}, {7, 1}} {
		if n, err := b.Seek(r.off, io.SeekStart); err != nil || n != r.off {
			t.Fatalf("Seek(%d) = %d, %v", r.off, n, err)
		}
		got := make([]byte, r.n)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("read %d at %d: %v", r.n, r.off, err)
		}
		if !bytes.Equal(got, data[r.off:r.off+r.n]) {
			t.Fatalf("bytes %d-%d differ", r.off, r.off+r.n-1)
		}
	}
	if _, err := b.Seek(-5, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(b); err != nil || !bytes.Equal(rest, data[len(data)-5:]) {
		t.Fatalf("tail after Seek(-5, End) = %v, %v", rest, err)
	}
}

func testMissing(t *testing.T, s maniwani.FileStore) {
	ctx := context.Background()
	put(t, s, "dir/there", []byte("x"))
	for _, key := range []string{"nothing", "dir/nothing", "dir", "dir/there/below"} {
		if _, err := s.Open(ctx, key); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("Open(%q) = %v, want KindNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("Stat(%q) = %v, want KindNotFound", key, err)
		}
	}
}

func testDelete(t *testing.T, s maniwani.FileStore) {
	ctx := context.Background()
	put(t, s, "d/1", []byte("one"))
	put(t, s, "d/2", []byte("two"))
	for range 2 { // the second time it is missing: still no error
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, err := s.Stat(ctx, "d/1"); maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("Stat after Delete = %v, want KindNotFound", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if got := read(t, s, "d/2"); string(got) != "two" {
		t.Fatalf("Delete touched another key: %q", got)
	}
	put(t, s, "d/1", []byte("again"))
	if got := read(t, s, "d/1"); string(got) != "again" {
		t.Fatalf("put after delete: %q", got)
	}
}

func testInvalidKeys(t *testing.T, s maniwani.FileStore) {
	ctx := context.Background()
	for _, key := range []string{
		"", "/", "/a", "a/", "a//b", "..", "../a", "a/../b", "a/..", ".", "a/./b",
		"A", "a/B", "a b", "a\\b", "a\x00b", "é", "a?b", "a%2fb", "a:b",
	} {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("Put(%q) = %v, want KindInvalid", key, err)
		}
		if _, err := s.Open(ctx, key); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("Open(%q) = %v, want KindInvalid", key, err)
		}
		if _, err := s.Stat(ctx, key); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("Stat(%q) = %v, want KindInvalid", key, err)
		}
		if err := s.Delete(ctx, key); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("Delete(%q) = %v, want KindInvalid", key, err)
		}
	}
	if err := s.Put(ctx, "a", strings.NewReader("x"), -1); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("Put with size -1 = %v, want KindInvalid", err)
	}
	// Every character a key may have.
	put(t, s, "abcdefghijklmnopqrstuvwxyz/0123456789/._-/.hidden", []byte("ok"))
}

var errBroken = maniwani.Errorf(maniwani.KindTooLarge, "the reader broke")

// testFailedPut puts from readers that fail midway, small and large (S3
// uploads those in parts): nothing appears, and an old blob stays whole.
func testFailedPut(t *testing.T, s maniwani.FileStore) {
	ctx := context.Background()
	for _, size := range []int64{10_000, 20 << 20} {
		key := fmt.Sprintf("fail/%d", size)
		r := &failReader{r: &genReader{seed: 5, n: size}, after: size * 4 / 5}
		err := s.Put(ctx, key, r, size)
		if err == nil {
			t.Fatalf("Put of %d bytes from a broken reader succeeded", size)
		}
		// The reader's error comes back as itself, kind and all.
		if !errors.Is(err, errBroken) {
			t.Errorf("Put from a broken reader = %v, want it to wrap the reader's error", err)
		}
		if _, err := s.Stat(ctx, key); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Fatalf("after a failed Put, Stat = %v, want KindNotFound", err)
		}

		old := gen(6, 3000)
		put(t, s, key, old)
		r = &failReader{r: &genReader{seed: 7, n: size}, after: size / 2}
		if err := s.Put(ctx, key, r, size); err == nil {
			t.Fatal("overwriting Put from a broken reader succeeded")
		}
		if got := read(t, s, key); !bytes.Equal(got, old) {
			t.Fatalf("a failed Put changed the old blob (%d bytes, want %d)", len(got), len(old))
		}
	}
}

// testShortPut puts from a reader that ends before size.
func testShortPut(t *testing.T, s maniwani.FileStore) {
	ctx := context.Background()
	if err := s.Put(ctx, "short", bytes.NewReader(gen(8, 999)), 1000); err == nil {
		t.Fatal("Put of 999 bytes announced as 1000 succeeded")
	}
	if _, err := s.Stat(ctx, "short"); maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("after a short Put, Stat = %v, want KindNotFound", err)
	}
}

func testCanceledPut(t *testing.T, s maniwani.FileStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "canceled", bytes.NewReader(gen(9, 1000)), 1000); err == nil {
		t.Fatal("Put with a canceled context succeeded")
	}
	if _, err := s.Stat(context.Background(), "canceled"); maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("after a canceled Put, Stat = %v, want KindNotFound", err)
	}
}

// testConcurrentPuts races Puts of different contents to one key: the key
// ends holding one of them, whole.
func testConcurrentPuts(t *testing.T, s maniwani.FileStore) {
	const writers, size = 8, 256 << 10
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte('a' + i)}, size)
			if err := s.Put(context.Background(), "race", bytes.NewReader(data), size); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := read(t, s, "race")
	if len(got) != size {
		t.Fatalf("race left %d bytes, want %d", len(got), size)
	}
	if c := got[0]; c < 'a' || c >= 'a'+writers || bytes.Count(got, got[:1]) != size {
		t.Fatal("race left a blob mixing writers' bytes")
	}
}

// testLarge streams 20 MB from a generator and compares hashes, so the
// test holds the bytes nowhere.
func testLarge(t *testing.T, s maniwani.FileStore) {
	const size = 20 << 20
	ctx := context.Background()
	want := sha256.New()
	if err := s.Put(ctx, "large", io.TeeReader(&genReader{seed: 10, n: size}, want), size); err != nil {
		t.Fatal(err)
	}
	b, err := s.Open(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Info().Size != size {
		t.Fatalf("size %d, want %d", b.Info().Size, size)
	}
	got := sha256.New()
	if n, err := io.Copy(got, b); err != nil || n != size {
		t.Fatalf("read %d bytes, %v; want %d", n, err, size)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("large blob read back differs")
	}
	// A range near the end, as a resumed download asks.
	off := int64(size - 70_000)
	if _, err := b.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 50_000)
	if _, err := io.ReadFull(b, part); err != nil {
		t.Fatal(err)
	}
	wantPart := make([]byte, len(part))
	genAt(10, off, wantPart)
	if !bytes.Equal(part, wantPart) {
		t.Fatal("range of the large blob differs")
	}
}

func put(t *testing.T, s maniwani.FileStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func read(t *testing.T, s maniwani.FileStore, key string) []byte {
	t.Helper()
	b, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if int64(len(data)) != b.Info().Size {
		t.Fatalf("read %d bytes of %s, Info says %d", len(data), key, b.Info().Size)
	}
	return data
}

func stat(t *testing.T, s maniwani.FileStore, key string) maniwani.BlobInfo {
	t.Helper()
	info, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat(%s): %v", key, err)
	}
	return info
}

func gen(seed uint64, n int) []byte {
	b := make([]byte, n)
	genAt(seed, 0, b)
	return b
}

// genAt fills p with the bytes at off of the stream of seed: cheap, and
// computable at any offset, so a range can be checked without the rest.
func genAt(seed uint64, off int64, p []byte) {
	for i := range p {
		x := (uint64(off)+uint64(i))*0x9e3779b97f4a7c15 + seed*0xbf58476d1ce4e5b9
		p[i] = byte(x >> 56)
	}
}

// genReader streams n bytes of the stream of seed.
type genReader struct {
	seed uint64
	off  int64
	n    int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	genAt(g.seed, g.off, p)
	g.off += int64(len(p))
	return len(p), nil
}

// failReader passes after bytes of r, then fails.
type failReader struct {
	r     io.Reader
	after int64
}

func (f *failReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errBroken
	}
	n, err := f.r.Read(p[:min(int64(len(p)), f.after)])
	f.after -= int64(n)
	return n, err
}
