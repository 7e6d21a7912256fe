package thumbnailer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testutil"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/pubsub/memory"
	redisbus "github.com/maniwani/maniwani/pubsub/redis"
	"github.com/maniwani/maniwani/thumbnailer"
)

// site is what outlives a restart: the database and the stored files.
// Each "process" brings its own bus, api and thumbnailer on top of it.
type site struct {
	t     *testing.T
	store *store.Store
	media *media.Service
	posts int
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{URL: "sqlite://" + filepath.Join(dir, "maniwani.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := api.Bootstrap(ctx, st, "test-password", quiet()); err != nil {
		t.Fatal(err)
	}
	files, err := disk.New(filepath.Join(dir, "media"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := media.New(media.Config{}, media.Deps{Store: files, Names: st})
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, store: st, media: m}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// api is the api of one process, on bus.
func (s *site) api(bus maniwani.Bus) *api.Service {
	s.t.Helper()
	a, err := api.New(api.Config{Logger: quiet(), TempDir: s.t.TempDir()}, api.Deps{Store: s.store, Bus: bus, Media: s.media,
		Renderer: markdown.NewRenderer(markdown.RendererConfig{Logger: quiet()})})
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// posted is a thread with a file.
type posted struct {
	no int64
	maniwani.FileRef
}

// post starts a thread with the PNG through the api's handler, from an
// address of its own, and returns its file as stored.
func (s *site) post(a *api.Service, data []byte) posted {
	s.t.Helper()
	s.posts++
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("com", fmt.Sprint("picture ", s.posts))
	fw, _ := w.CreateFormFile("upfile", "picture.png")
	fw.Write(data)
	w.Close()
	req := httptest.NewRequest(http.MethodPost, "/b/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.RemoteAddr = fmt.Sprintf("10.9.%d.%d:4567", s.posts/250, s.posts%250+1)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var v struct{ No int64 }
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &v) != nil || v.No == 0 {
		s.t.Fatalf("post: %d %s", rec.Code, rec.Body)
	}
	f := s.file(v.No)
	return posted{v.No, maniwani.FileRef{Board: "b", Tim: f.Tim, SHA256: f.SHA256, Ext: f.Ext}}
}

// file is the file of thread no's opening post, as the store has it.
func (s *site) file(no int64) *maniwani.File {
	s.t.Helper()
	th, err := s.store.Thread(context.Background(), "b", no)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(th.Posts) == 0 || th.Posts[0].File == nil {
		s.t.Fatalf("thread %d has no file: %+v", no, th)
	}
	return th.Posts[0].File
}

// recorded tells whether the store's thread shows the post's file as
// thumbnailed.
func (s *site) recorded(p posted) bool {
	s.t.Helper()
	return s.file(p.no).Thumbnail
}

func (s *site) hasThumb(p posted) bool {
	s.t.Helper()
	ok, err := s.media.HasThumb(context.Background(), p.FileRef)
	if err != nil {
		s.t.Fatal(err)
	}
	return ok
}

// thumbMade is nil once f's thumbnail is stored.
func (s *site) thumbMade(f posted) error {
	if !s.hasThumb(f) {
		return fmt.Errorf("no thumbnail of post %d yet", f.no)
	}
	return nil
}

// thumbRecorded is nil once the store shows f as thumbnailed.
func (s *site) thumbRecorded(f posted) error {
	if !s.recorded(f) {
		return fmt.Errorf("the store does not show post %d as thumbnailed yet", f.no)
	}
	return nil
}

// noThumbYet checks that posting f made no thumbnail (no thumbnailer runs
// yet, so nothing can make one later either), and that media serves the
// placeholder meanwhile.
func (s *site) noThumbYet(f posted) {
	s.t.Helper()
	if s.hasThumb(f) {
		s.t.Fatal("a thumbnail was made while no thumbnailer ran")
	}
	rec := s.serve(fmt.Sprintf("/media/b/%ds.jpg", f.Tim))
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "image/svg+xml" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		s.t.Fatalf("thumbnail not made yet: %d %q %q, want 404 and the SVG placeholder, no-store",
			rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	}
}

func (s *site) serve(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.media.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// thumbServed checks that the thumbnail of f (a w x h picture) is made,
// served, of the announced size and recorded on the post.
func (s *site) thumbServed(f posted, w, h int) {
	s.t.Helper()
	rec := s.serve(fmt.Sprintf("/media/b/%ds.jpg", f.Tim))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" {
		s.t.Fatalf("thumbnail: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	img, err := jpeg.Decode(rec.Body)
	if err != nil {
		s.t.Fatalf("thumbnail is no JPEG: %v", err)
	}
	tw, th := maniwani.ThumbSize(w, h)
	if b := img.Bounds(); b.Dx() != tw || b.Dy() != th {
		s.t.Fatalf("thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), tw, th)
	}
}

// run runs fn in the background until the test ends or stop is called.
func run(t *testing.T, what string, fn func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s did not stop within 10 s", what)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// startThumbnailer runs a thumbnailer on bus over m.
func startThumbnailer(t *testing.T, bus maniwani.Bus, m maniwani.Media) (stop func()) {
	t.Helper()
	th, err := thumbnailer.New(thumbnailer.Config{Workers: 2, TempDir: t.TempDir(), Logger: quiet()},
		thumbnailer.Deps{Bus: bus, Media: m})
	if err != nil {
		t.Fatal(err)
	}
	return run(t, "thumbnailer", th.Run)
}

// picture is a w x h PNG; seed makes its bytes differ.
func picture(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(seed * 23), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A post made while no thumbnailer runs gets its thumbnail once one starts,
// on either bus.
func TestThumbnailerStartsLate(t *testing.T) {
	buses := map[string]func(t *testing.T) maniwani.Bus{
		"memory": func(t *testing.T) maniwani.Bus {
			b := memory.New(memory.Config{})
			t.Cleanup(func() { b.Close() })
			return b
		},
		"redis": func(t *testing.T) maniwani.Bus { return redisBuses(t)() },
	}
	for _, name := range []string{"memory", "redis"} {
		t.Run(name, func(t *testing.T) {
			s := newSite(t)
			bus := buses[name](t)
			a := s.api(bus)
			f := s.post(a, picture(t, 400, 300, 1))
			s.noThumbYet(f)
			if s.recorded(f) {
				t.Fatal("the store says the thumbnail is made")
			}

			t0 := time.Now()
			startThumbnailer(t, bus, s.media)
			run(t, "api", a.Run)
			testutil.Eventually(t, 5*time.Second, func() error { return s.thumbMade(f) })
			s.thumbServed(f, 400, 300)
			testutil.Eventually(t, 5*time.Second, func() error { return s.thumbRecorded(f) })
			t.Logf("thumbnail made and recorded %v after the thumbnailer started", time.Since(t0).Round(time.Millisecond))
		})
	}
}

// redisBuses returns a maker of buses on the test Redis, all under one key
// prefix of the test's own: each is one process's bus on a shared Redis.
func redisBuses(t *testing.T) func() *redisbus.Bus {
	rdb, prefix := testdb.Redis(t)
	return func() *redisbus.Bus {
		b, err := redisbus.New(redisbus.Config{Prefix: prefix, Logger: quiet()}, rdb)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
}

// The in-process bus forgets its queue when the process stops; the api
// queues the jobs of files without a thumbnail again when it starts.
func TestThumbnailAfterRestartWithAForgetfulBus(t *testing.T) {
	s := newSite(t)
	bus1 := memory.New(memory.Config{})
	a1 := s.api(bus1)
	f := s.post(a1, picture(t, 200, 600, 2))
	s.noThumbYet(f)
	bus1.Close() // the process stops: its queue is gone

	t0 := time.Now()
	bus2 := memory.New(memory.Config{})
	t.Cleanup(func() { bus2.Close() })
	a2 := s.api(bus2)
	run(t, "api", a2.Run)
	startThumbnailer(t, bus2, s.media)
	testutil.Eventually(t, 5*time.Second, func() error { return s.thumbMade(f) })
	s.thumbServed(f, 200, 600)
	testutil.Eventually(t, 5*time.Second, func() error { return s.thumbRecorded(f) })
	t.Logf("thumbnail made and recorded %v after the restart", time.Since(t0).Round(time.Millisecond))
}

// On Redis the jobs outlive the process that queued them: a thumbnailer
// started later, on a bus of its own, does them without the api queuing
// anything again, and the api started later still gets the results.
func TestThumbnailJobsDurableInRedis(t *testing.T) {
	newBus := redisBuses(t)
	s := newSite(t)
	bus1 := newBus()
	f := s.post(s.api(bus1), picture(t, 500, 500, 3))
	s.noThumbYet(f)
	bus1.Close() // the api's process stops

	t0 := time.Now()
	// Only a thumbnailer: nothing queues the job again.
	startThumbnailer(t, newBus(), s.media)
	testutil.Eventually(t, 5*time.Second, func() error { return s.thumbMade(f) })
	s.thumbServed(f, 500, 500)
	if s.recorded(f) {
		t.Fatal("recorded in the store with no api running")
	}
	// The api comes back and reads the result kept for it.
	run(t, "api", s.api(newBus()).Run)
	testutil.Eventually(t, 5*time.Second, func() error { return s.thumbRecorded(f) })
	t.Logf("thumbnail made and recorded %v after the restart", time.Since(t0).Round(time.Millisecond))
}

// countingMedia counts the thumbnails a thumbnailer saves.
type countingMedia struct {
	maniwani.Media
	name  string
	count *saveCount
}

type saveCount struct {
	mu    sync.Mutex
	bySHA map[string]int
	by    map[string]int // by thumbnailer
}

func (c *countingMedia) SaveThumb(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	c.count.mu.Lock()
	c.count.bySHA[f.SHA256]++
	c.count.by[c.name]++
	c.count.mu.Unlock()
	return c.Media.SaveThumb(ctx, f, r, size)
}

// Two thumbnailers (two processes) on one Redis share the jobs as one
// consumer group: each thumbnail is made once.
func TestTwoThumbnailersShareTheJobs(t *testing.T) {
	newBus := redisBuses(t)
	s := newSite(t)
	count := &saveCount{bySHA: map[string]int{}, by: map[string]int{}}
	var stops []func()
	for _, name := range []string{"one", "two"} {
		stops = append(stops, startThumbnailer(t, newBus(), &countingMedia{Media: s.media, name: name, count: count}))
	}
	a := s.api(newBus())
	run(t, "api", a.Run)

	t0 := time.Now()
	const n = 10
	var files []posted
	for i := range n {
		files = append(files, s.post(a, picture(t, 300+i, 200, 10+i)))
	}
	for i, f := range files {
		testutil.Eventually(t, 5*time.Second, func() error { return errors.Join(s.thumbMade(f), s.thumbRecorded(f)) })
		s.thumbServed(f, 300+i, 200)
	}
	t.Logf("%d thumbnails made and recorded in %v", n, time.Since(t0).Round(time.Millisecond))
	for _, stop := range stops { // a job done twice meanwhile is counted by now
		stop()
	}
	count.mu.Lock()
	defer count.mu.Unlock()
	total := 0
	for _, f := range files {
		if c := count.bySHA[f.SHA256]; c != 1 {
			t.Errorf("thumbnail of %s saved %d times", f.SHA256[:12], c)
		}
		total += count.bySHA[f.SHA256]
	}
	if total != n || len(count.bySHA) != n {
		t.Errorf("%d thumbnails saved for %d files (%v)", total, n, count.bySHA)
	}
	t.Logf("thumbnailer one made %d, two made %d", count.by["one"], count.by["two"])
}
