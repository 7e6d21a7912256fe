package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testminio"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/media/s3"
)

// backend is a store to run the service on, and a way to list its keys
// behind the service's back.
type backend struct {
	store maniwani.FileStore
	keys  func(t *testing.T, prefix string) []string
}

var backends = map[string]func(t *testing.T) backend{
	"disk": func(t *testing.T) backend {
		dir := t.TempDir()
		s, err := disk.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return backend{s, func(t *testing.T, prefix string) []string {
			var keys []string
			filepath.WalkDir(filepath.Join(dir, prefix), func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					keys = append(keys, filepath.ToSlash(rel))
				}
				return nil
			})
			return keys
		}}
	},
	"minio": func(t *testing.T) backend {
		b := testminio.New(t)
		s, err := s3.New(context.Background(), s3.Config{
			Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Name,
		})
		if err != nil {
			t.Fatal(err)
		}
		return backend{s, func(t *testing.T, prefix string) []string { return b.Keys(t, prefix) }}
	},
}

// env is a service on a counted store, served by a real HTTP server, with
// names kept by a stand-in for the api.
type env struct {
	backend
	svc   *media.Service
	count *countingStore
	names *fakeNames
	url   string
}

func forEachBackend(t *testing.T, test func(t *testing.T, e *env)) {
	for name, newBackend := range backends {
		t.Run(name, func(t *testing.T) {
			b := newBackend(t)
			count := &countingStore{FileStore: b.store, calls: map[string]int{}}
			names := newFakeNames()
			svc, err := media.New(media.Config{}, media.Deps{Store: count, Names: names})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(svc)
			t.Cleanup(srv.Close)
			test(t, &env{backend: b, svc: svc, count: count, names: names, url: srv.URL})
		})
	}
}

// fakeNames stands in for the api's files table.
type fakeNames struct {
	mu      sync.Mutex
	files   map[string]maniwani.FileRef
	lookups int
	err     error // answered for every lookup when set
}

func newFakeNames() *fakeNames { return &fakeNames{files: map[string]maniwani.FileRef{}} }

func nameOf(board string, tim int64) string { return board + "/" + strconv.FormatInt(tim, 10) }

func (n *fakeNames) FileByName(ctx context.Context, board string, tim int64) (maniwani.FileRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lookups++
	if n.err != nil {
		return maniwani.FileRef{}, n.err
	}
	f, ok := n.files[nameOf(board, tim)]
	if !ok {
		return maniwani.FileRef{}, maniwani.Errorf(maniwani.KindNotFound, "File %d does not exist on /%s/.", tim, board)
	}
	return f, nil
}

func (n *fakeNames) add(f maniwani.FileRef) {
	n.mu.Lock()
	n.files[nameOf(f.Board, f.Tim)] = f
	n.mu.Unlock()
}

func (n *fakeNames) delete(f maniwani.FileRef) {
	n.mu.Lock()
	delete(n.files, nameOf(f.Board, f.Tim))
	n.mu.Unlock()
}

func (n *fakeNames) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookups
}

// countingStore counts the calls made to a store, by method and key.
type countingStore struct {
	maniwani.FileStore
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) add(op, key string) {
	c.mu.Lock()
	c.calls[op+" "+key]++
	c.mu.Unlock()
}

func (c *countingStore) n(op, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op+" "+key]
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	c.add("Put", key)
	return c.FileStore.Put(ctx, key, r, size)
}

func (c *countingStore) Stat(ctx context.Context, key string) (maniwani.BlobInfo, error) {
	c.add("Stat", key)
	return c.FileStore.Stat(ctx, key)
}

func (c *countingStore) Open(ctx context.Context, key string) (maniwani.Blob, error) {
	c.add("Open", key)
	return c.FileStore.Open(ctx, key)
}

func file(t *testing.T, board string, tim int64, ext string, n int) (maniwani.FileRef, []byte) {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	sum := sha256.Sum256(data)
	return maniwani.FileRef{Board: board, Tim: tim, SHA256: hex.EncodeToString(sum[:]), Ext: ext}, data
}

// save does what the api does for a post with a file: the bytes first,
// without a tim, then the name when the post is committed.
func save(t *testing.T, e *env, f maniwani.FileRef, data []byte) {
	t.Helper()
	unnamed := maniwani.FileRef{Board: f.Board, SHA256: f.SHA256, Ext: f.Ext}
	if err := e.svc.Save(context.Background(), unnamed, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Save %+v: %v", f, err)
	}
	e.names.add(f)
}

type response struct {
	*http.Response
	body []byte
}

func do(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, body}
}

func wantHeaders(t *testing.T, r response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", r.Request.Method, r.Request.URL.Path, k, got, v)
		}
	}
}

const immutable = "public, max-age=31536000, immutable"

func TestServe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f, data := file(t, "b", 1700000000123, ".png", 50_000)
		save(t, e, f, data)
		url := e.url + "/media/b/1700000000123.png"
		etag := `"` + f.SHA256 + `"`

		r := do(t, "GET", url)
		if r.StatusCode != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("GET = %d with %d bytes, want 200 with the %d saved", r.StatusCode, len(r.body), len(data))
		}
		wantHeaders(t, r, map[string]string{
			"Content-Type":            "image/png",
			"Content-Length":          "50000",
			"ETag":                    etag,
			"Cache-Control":           immutable,
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "default-src 'none'; sandbox",
			"Accept-Ranges":           "bytes",
		})

		r = do(t, "HEAD", url)
		if r.StatusCode != 200 || len(r.body) != 0 || r.ContentLength != 50_000 {
			t.Fatalf("HEAD = %d, %d bytes, length %d", r.StatusCode, len(r.body), r.ContentLength)
		}
		wantHeaders(t, r, map[string]string{"ETag": etag, "Content-Type": "image/png"})

		r = do(t, "GET", url, "Range", "bytes=0-99")
		if r.StatusCode != 206 || !bytes.Equal(r.body, data[:100]) {
			t.Fatalf("Range 0-99 = %d with %d bytes", r.StatusCode, len(r.body))
		}
		wantHeaders(t, r, map[string]string{"Content-Range": "bytes 0-99/50000", "ETag": etag})

		r = do(t, "GET", url, "Range", "bytes=-10")
		if r.StatusCode != 206 || !bytes.Equal(r.body, data[len(data)-10:]) {
			t.Fatalf("Range -10 = %d with %d bytes", r.StatusCode, len(r.body))
		}

		r = do(t, "GET", url, "If-None-Match", etag)
		if r.StatusCode != 304 || len(r.body) != 0 {
			t.Fatalf("If-None-Match = %d", r.StatusCode)
		}
		wantHeaders(t, r, map[string]string{"ETag": etag, "Cache-Control": immutable})

		r = do(t, "GET", url, "Range", "bytes=100-199", "If-Range", etag)
		if r.StatusCode != 206 || !bytes.Equal(r.body, data[100:200]) {
			t.Fatalf("If-Range matching = %d", r.StatusCode)
		}
		r = do(t, "GET", url, "Range", "bytes=100-199", "If-Range", `"other"`)
		if r.StatusCode != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("If-Range not matching = %d, want 200 with the whole file", r.StatusCode)
		}

		b, err := e.svc.Original(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		b.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Original: %d bytes, %v", len(got), err)
		}

		// Names are cached once resolved: a repeated GET asks no more.
		lookups := e.names.count()
		do(t, "GET", url)
		do(t, "HEAD", e.url+"/media/b/1700000000123s.jpg")
		if n := e.names.count(); n != lookups {
			t.Errorf("%d more name lookups on repeated GETs, want 0", n-lookups)
		}
	})
}

func TestContentTypes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for i, c := range []struct{ ext, ctype string }{
			{".jpg", "image/jpeg"}, {".png", "image/png"}, {".gif", "image/gif"},
			{".webp", "image/webp"}, {".webm", "video/webm"}, {".mp4", "video/mp4"},
			{".bin", "application/octet-stream"},
		} {
			f, data := file(t, "v", int64(i), c.ext, 100)
			save(t, e, f, data)
			r := do(t, "GET", e.url+"/media/v/"+strconv.Itoa(i)+c.ext)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != c.ctype {
				t.Errorf("%s: %d %q, want 200 %q", c.ext, r.StatusCode, r.Header.Get("Content-Type"), c.ctype)
			}
		}
	})
}

func TestDedupAndRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f1, data := file(t, "b", 1, ".webm", 30_000)
		f2 := f1
		f2.Board, f2.Tim = "g", 2
		save(t, e, f1, data)
		save(t, e, f2, data)
		src := "src/" + f1.SHA256[:2] + "/" + f1.SHA256 + ".webm"
		if n := e.count.n("Put", src); n != 1 {
			t.Errorf("bytes put %d times for two names, want 1", n)
		}
		if keys := e.keys(t, "src"); len(keys) != 1 || keys[0] != src {
			t.Errorf("src keys = %q, want [%s]", keys, src)
		}
		if err := e.svc.SaveThumb(ctx, f1, strings.NewReader("jpeg"), 4); err != nil {
			t.Fatal(err)
		}

		// Not the last use: the other name still serves. The removed
		// name was cached; Remove forgets it at once.
		if r := do(t, "GET", e.url+"/media/b/1.webm"); r.StatusCode != 200 {
			t.Fatalf("GET = %d", r.StatusCode)
		}
		e.names.delete(f1)
		if err := e.svc.Remove(ctx, f1, false); err != nil {
			t.Fatal(err)
		}
		if r := do(t, "GET", e.url+"/media/b/1.webm"); r.StatusCode != 404 {
			t.Errorf("removed name = %d, want 404", r.StatusCode)
		}
		if r := do(t, "GET", e.url+"/media/g/2.webm"); r.StatusCode != 200 || !bytes.Equal(r.body, data) {
			t.Errorf("other name after Remove(last=false) = %d", r.StatusCode)
		}
		if ok, err := e.svc.HasThumb(ctx, f2); !ok || err != nil {
			t.Errorf("HasThumb after Remove(last=false) = %v, %v", ok, err)
		}

		// The last use: bytes and thumbnail go.
		if r := do(t, "GET", e.url+"/media/g/2s.jpg"); r.StatusCode != 200 {
			t.Fatalf("thumb = %d", r.StatusCode) // and its name is cached now
		}
		e.names.delete(f2)
		if err := e.svc.Remove(ctx, f2, true); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{src, "thumb/" + f1.SHA256[:2] + "/" + f1.SHA256 + ".jpg"} {
			if _, err := e.store.Stat(ctx, key); maniwani.ErrorKind(err) != maniwani.KindNotFound {
				t.Errorf("Stat(%s) after the last Remove = %v, want KindNotFound", key, err)
			}
		}
		for _, p := range []string{"/media/g/2.webm", "/media/g/2s.jpg"} {
			if r := do(t, "GET", e.url+p); r.StatusCode != 404 || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("GET %s after the last Remove = %d %s, want 404 text", p, r.StatusCode, r.Header.Get("Content-Type"))
			}
		}
		if _, err := e.svc.Original(ctx, f2); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("Original after the last Remove = %v, want KindNotFound", err)
		}
		// Removing again is no error: a retried delete must not fail.
		if err := e.svc.Remove(ctx, f2, true); err != nil {
			t.Errorf("second Remove: %v", err)
		}
	})
}

func TestThumbnail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f, data := file(t, "a", 42, ".gif", 1000)
		save(t, e, f, data)
		url := e.url + "/media/a/42s.jpg"

		if ok, err := e.svc.HasThumb(ctx, f); ok || err != nil {
			t.Fatalf("HasThumb before SaveThumb = %v, %v", ok, err)
		}
		for _, method := range []string{"GET", "HEAD"} {
			r := do(t, method, url)
			if r.StatusCode != 404 {
				t.Fatalf("%s thumb not made = %d, want 404", method, r.StatusCode)
			}
			wantHeaders(t, r, map[string]string{
				"Content-Type":           "image/svg+xml",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
			})
			if method == "GET" && !bytes.HasPrefix(r.body, []byte("<svg")) {
				t.Fatalf("placeholder body = %q", r.body)
			}
		}

		thumb := []byte("\xff\xd8\xff\xe0 a jpeg")
		if err := e.svc.SaveThumb(ctx, f, bytes.NewReader(thumb), int64(len(thumb))); err != nil {
			t.Fatal(err)
		}
		if ok, err := e.svc.HasThumb(ctx, f); !ok || err != nil {
			t.Fatalf("HasThumb after SaveThumb = %v, %v", ok, err)
		}
		r := do(t, "GET", url)
		if r.StatusCode != 200 || !bytes.Equal(r.body, thumb) {
			t.Fatalf("thumb = %d %q", r.StatusCode, r.body)
		}
		wantHeaders(t, r, map[string]string{
			"Content-Type":  "image/jpeg",
			"ETag":          `"` + f.SHA256 + `s"`,
			"Cache-Control": immutable,
		})
		if r := do(t, "GET", url, "If-None-Match", `"`+f.SHA256+`s"`); r.StatusCode != 304 {
			t.Fatalf("thumb If-None-Match = %d, want 304", r.StatusCode)
		}
		// The file's ETag is not the thumbnail's.
		if r := do(t, "GET", url, "If-None-Match", `"`+f.SHA256+`"`); r.StatusCode != 200 {
			t.Fatalf("thumb with the file's ETag = %d, want 200", r.StatusCode)
		}
	})
}

func TestNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f, data := file(t, "b", 123, ".png", 100)
		save(t, e, f, data)
		for _, p := range []string{
			"/media/b/123.jpg",  // wrong ext
			"/media/b/123.PNG",  // ext is lower case
			"/media/b/124.png",  // unknown name
			"/media/c/123.png",  // another board
			"/media/b/0123.png", // not canonical
			"/media/b/12a3.png",
			"/media/b/123",
			"/media/b/123.",
			"/media/b/123s.png",
			"/media/b/123s.jpg/",
			"/media/b/123.png/x",
			"/media/b/.png",
			"/media/B/123.png",
			"/media/b/../b/123.png",
			"/media/b/%2e%2e/123.png",
			"/media/b/..%2f123.png",
			"/media/b//123.png",
			"/media//123.png",
			"/media/b",
			"/media/",
			"/b/123.png",
			"/media/abcdefghijklmnopq/1.png",    // board of 17
			"/media/b/99999999999999999999.png", // tim overflows
			"/media/b/-1.png",
		} {
			r := do(t, "GET", e.url+p)
			if r.StatusCode != 404 {
				t.Errorf("GET %s = %d, want 404", p, r.StatusCode)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: Cache-Control %q, want no-store", p, r.Header.Get("Cache-Control"))
			}
		}
		if r := do(t, "GET", e.url+"/media/b/123.png"); r.StatusCode != 200 {
			t.Fatalf("the saved file = %d", r.StatusCode)
		}
		r := do(t, "POST", e.url+"/media/b/123.png")
		if r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST = %d Allow %q, want 405 GET, HEAD", r.StatusCode, r.Header.Get("Allow"))
		}
	})
}

func TestSaveRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f, data := file(t, "b", 7, ".png", 20_000)
		wrong := f
		wrong.SHA256 = strings.Repeat("0", 64)
		if err := e.svc.Save(ctx, wrong, bytes.NewReader(data), int64(len(data))); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Fatalf("Save with the wrong SHA-256 = %v, want KindInvalid", err)
		}
		if keys := e.keys(t, "src"); len(keys) != 0 {
			t.Fatalf("a refused Save stored %q", keys)
		}
		// Big enough that S3 takes it in parts: the last part fails.
		big, bigData := file(t, "b", 9, ".webm", 17<<20)
		big.SHA256 = strings.Repeat("2", 64)
		if err := e.svc.Save(ctx, big, bytes.NewReader(bigData), int64(len(bigData))); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Fatalf("Save of 17 MiB with the wrong SHA-256 = %v, want KindInvalid", err)
		}
		if keys := e.keys(t, "src"); len(keys) != 0 {
			t.Fatalf("a refused large Save stored %q", keys)
		}
		empty := maniwani.FileRef{Board: "b", Tim: 8, SHA256: strings.Repeat("1", 64), Ext: ".png"}
		if err := e.svc.Save(ctx, empty, bytes.NewReader(nil), 0); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Fatalf("Save of empty bytes with the wrong SHA-256 = %v, want KindInvalid", err)
		}
		for _, bad := range []maniwani.FileRef{
			{Board: "b", Tim: 1, SHA256: strings.ToUpper(f.SHA256), Ext: ".png"},
			{Board: "b", Tim: 1, SHA256: f.SHA256[:63], Ext: ".png"},
			{Board: "b", Tim: 1, SHA256: f.SHA256, Ext: ".PNG"},
			{Board: "b", Tim: 1, SHA256: f.SHA256, Ext: "png"},
			{Board: "b", Tim: 1, SHA256: f.SHA256, Ext: "./png"},
		} {
			if err := e.svc.Save(ctx, bad, bytes.NewReader(data), int64(len(data))); maniwani.ErrorKind(err) != maniwani.KindInvalid {
				t.Errorf("Save %+v = %v, want KindInvalid", bad, err)
			}
		}
		// A good save after the refused ones works, with no name at all
		// (the api saves before the post, and its tim, exist).
		if err := e.svc.Save(ctx, maniwani.FileRef{SHA256: f.SHA256, Ext: f.Ext}, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		// A refused post's bytes are removed without a name too.
		if err := e.svc.Remove(ctx, maniwani.FileRef{SHA256: f.SHA256, Ext: f.Ext}, true); err != nil {
			t.Fatal(err)
		}
		if keys := e.keys(t, "src"); len(keys) != 0 {
			t.Fatalf("src keys after Remove = %q", keys)
		}
	})
}

// TestUnavailable: a store or an api that is down answers 503, never a
// broken 500 or a 404 that a cache would keep.
func TestUnavailable(t *testing.T) {
	f, data := file(t, "b", 1, ".png", 10)
	names := newFakeNames()
	names.add(f)
	down := newFakeNames()
	down.err = errDown
	for _, deps := range []media.Deps{
		{Store: downStore{}, Names: names},
		{Store: downStore{}, Names: down},
	} {
		svc, err := media.New(media.Config{}, deps)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/media/b/1.png", "/media/b/1s.jpg"} {
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
			if w.Code != 503 || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s on a down store = %d %q, want 503 no-store", p, w.Code, w.Header().Get("Cache-Control"))
			}
		}
		if err := svc.Save(context.Background(), f, bytes.NewReader(data), 10); maniwani.ErrorKind(err) != maniwani.KindUnavailable {
			t.Errorf("Save on a down store = %v, want KindUnavailable", err)
		}
	}
	if _, err := media.New(media.Config{}, media.Deps{Store: downStore{}}); err == nil {
		t.Error("New without Names succeeded")
	}
}

// TestNameTTL: a name deleted through another instance (no Remove here) is
// served at most NameTTL longer. It runs on the bubble's clock: the service
// is called in process, no server in between.
func TestNameTTL(t *testing.T) {
	store, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		names := newFakeNames()
		svc, err := media.New(media.Config{NameTTL: time.Minute}, media.Deps{Store: store, Names: names})
		if err != nil {
			t.Fatal(err)
		}
		get := func() int {
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, httptest.NewRequest("GET", "/media/b/5.jpg", nil))
			return w.Code
		}
		f, data := file(t, "b", 5, ".jpg", 100)
		save(t, &env{svc: svc, names: names}, f, data)
		if code := get(); code != 200 {
			t.Fatalf("GET = %d", code)
		}
		names.delete(f)
		time.Sleep(time.Minute)
		if code := get(); code != 200 {
			t.Fatalf("GET within the TTL = %d, want 200 (cached)", code)
		}
		time.Sleep(time.Nanosecond)
		if code := get(); code != 404 {
			t.Fatalf("GET after the TTL = %d, want 404", code)
		}
	})
}

type downStore struct{ maniwani.FileStore }

var errDown = maniwani.Errorf(maniwani.KindUnavailable, "storage is unavailable")

func (downStore) Put(context.Context, string, io.Reader, int64) error { return errDown }
func (downStore) Open(context.Context, string) (maniwani.Blob, error) { return nil, errDown }
func (downStore) Stat(context.Context, string) (maniwani.BlobInfo, error) {
	return maniwani.BlobInfo{}, errDown
}
func (downStore) Delete(context.Context, string) error { return errDown }

// Stat tells the size of stored bytes from the store's Stat, reading none
// of them, on every backend, in process and over HTTP; bytes not stored
// are KindNotFound, a malformed name KindInvalid.
func TestStat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, m := range []struct {
			name string
			maniwani.Media
		}{{"service", e.svc}, {"client", media.NewClient(e.url, "")}} {
			t.Run(m.name, func(t *testing.T) {
				f, data := file(t, "b", 1, ".png", 70_000)
				src := "src/" + f.SHA256[:2] + "/" + f.SHA256 + ".png"
				if _, err := m.Stat(ctx, f); maniwani.ErrorKind(err) != maniwani.KindNotFound {
					t.Fatalf("Stat before Save = %v, want KindNotFound", err)
				}
				before := time.Now().Add(-time.Minute) // server clocks differ a little
				if err := m.Save(ctx, f, bytes.NewReader(data), int64(len(data))); err != nil {
					t.Fatal(err)
				}
				opens := e.count.n("Open", src)
				info, err := m.Stat(ctx, f)
				if err != nil || info.Size != int64(len(data)) {
					t.Fatalf("Stat = %+v, %v; want size %d", info, err, len(data))
				}
				if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
					t.Errorf("Stat's time %v, not about now", info.ModTime)
				}
				if n := e.count.n("Open", src); n != opens || e.count.n("Stat", src) == 0 {
					t.Errorf("Stat opened the bytes %d times, stat them %d times; want none and some",
						n-opens, e.count.n("Stat", src))
				}
				other := f
				other.Ext = ".jpg" // the same bytes under another type are not stored
				if _, err := m.Stat(ctx, other); maniwani.ErrorKind(err) != maniwani.KindNotFound {
					t.Errorf("Stat of another extension = %v, want KindNotFound", err)
				}
				bad := f
				bad.SHA256 = "../" + f.SHA256[3:]
				if _, err := m.Stat(ctx, bad); maniwani.ErrorKind(err) != maniwani.KindInvalid {
					t.Errorf("Stat of a malformed name = %v, want KindInvalid", err)
				}
				if err := m.Remove(ctx, f, true); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Stat(ctx, f); maniwani.ErrorKind(err) != maniwani.KindNotFound {
					t.Errorf("Stat after the last Remove = %v, want KindNotFound", err)
				}
			})
		}
	})
}
