package main

import (
	"bufio"
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
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testminio"
	"github.com/maniwani/maniwani/internal/testutil"
)

// TestApart runs every service as an OS process of its own, as
// docker-compose.yml does, on a real PostgreSQL database, a MinIO bucket and
// a private redis-server: api, ui, media, markdown, thumbnailer, two live
// instances and the router in front. It goes through a post's whole life
// (a thread with an image, read as HTML and JSON, on a live stream, its
// thumbnail, deleted by a moderator), then breaks one piece at a time and
// holds the site to the architecture's promise: "A post that got a success
// reply is never lost, and is visible on every router within a moment. If
// Redis, the thumbnailer, markdown or live is down, reads and posting keep
// working in a degraded way, and queued work is done when they return."
func TestApart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs nine processes")
	}
	t0 := time.Now()
	s := newApartSite(t)
	t.Logf("set up in %v (PostgreSQL database, MinIO bucket, redis-server, build, %d processes)",
		time.Since(t0).Round(time.Millisecond), len(s.procs))

	steps := []struct {
		name string
		f    func(*testing.T, *apartSite)
	}{
		{"internal-routes-need-the-secret", apartInternalSecret},
		{"post-read-live-thumbnail-delete", apartLifecycle},
		{"admin-ui-over-the-staff-client", apartAdminUI},
		{"thumbnailer-stopped", apartThumbnailerDown},
		{"markdown-stopped", apartMarkdownDown},
		{"redis-stopped", apartRedisDown},
		{"api-killed-under-posts", apartAPIKilled},
		{"live-instance-killed", apartLiveKilled},
		{"router-stopped-under-streams", apartRouterStops},
	}
	for _, st := range steps {
		t1 := time.Now()
		ok := t.Run(st.name, func(t *testing.T) { st.f(t, s) })
		t.Logf("%s: %v in %v", st.name, map[bool]string{true: "ok", false: "FAILED"}[ok], time.Since(t1).Round(time.Millisecond))
		if !ok {
			// The site may be left broken; the next faults would only
			// repeat this failure.
			break
		}
	}
	t.Logf("TestApart took %v", time.Since(t0).Round(time.Millisecond))
}

// apartSite is the running site: the processes by name, Redis, and a
// source of poster addresses.
type apartSite struct {
	redis  *privateRedis
	procs  map[string]*apartProc
	router *apartProc
	bucket *testminio.Bucket
	poster atomic.Int64
}

func newApartSite(t *testing.T) *apartSite {
	t.Helper()
	s := &apartSite{procs: map[string]*apartProc{}}
	// What must be there fails (under CI=true) before the build is paid.
	dbURL := testdb.Postgres(t)
	s.bucket = testminio.New(t)
	s.redis = newPrivateRedis(t)
	bin := buildBinary(t)

	names := []string{"api", "ui", "media", "markdown", "thumbnailer", "live1", "live2", "router"}
	for _, n := range names {
		s.procs[n] = &apartProc{t: t, bin: bin, name: n, addr: freeAddr(t), ops: freeAddr(t), data: t.TempDir()}
	}
	url := func(n string) string { return "http://" + s.procs[n].addr }
	redisURL := "MANIWANI_REDIS_URL=redis://" + s.redis.addr + "/0"
	proxies := "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32"
	s3 := []string{"MANIWANI_S3_ENDPOINT=" + s.bucket.Endpoint, "MANIWANI_S3_ACCESS_KEY=" + s.bucket.AccessKey,
		"MANIWANI_S3_SECRET_KEY=" + s.bucket.SecretKey, "MANIWANI_S3_BUCKET=" + s.bucket.Name, "MANIWANI_S3_SECURE=false"}
	// As docker-compose.yml wires them.
	env := map[string][]string{
		"api": append([]string{"-target=api", redisURL, proxies, "MANIWANI_DATABASE_URL=" + dbURL,
			"MANIWANI_ADMIN_PASSWORD=" + apartPassword, "MANIWANI_MEDIA_URL=" + url("media"),
			"MANIWANI_MARKDOWN_URL=" + url("markdown")}, s3...),
		"ui":          {"-target=ui", proxies, "MANIWANI_API_URL=" + url("api")},
		"media":       append([]string{"-target=media", proxies, "MANIWANI_API_URL=" + url("api")}, s3...),
		"markdown":    {"-target=markdown", redisURL, proxies},
		"thumbnailer": {"-target=thumbnailer", redisURL, proxies, "MANIWANI_MEDIA_URL=" + url("media")},
		"live1":       {"-target=live", redisURL, proxies, "MANIWANI_API_URL=" + url("api")},
		"live2":       {"-target=live", redisURL, proxies, "MANIWANI_API_URL=" + url("api")},
		"router": {"-target=router", redisURL, proxies, "MANIWANI_API_URL=" + url("api"),
			"MANIWANI_UI_URL=" + url("ui"), "MANIWANI_MEDIA_URL=" + url("media"),
			"MANIWANI_LIVE_URL=" + url("live1")},
	}
	for n, e := range env {
		p := s.procs[n]
		p.args, p.env = e[:1], append(e[1:], "MANIWANI_INTERNAL_SECRET="+apartSecret)
	}
	s.router = s.procs["router"]
	t.Cleanup(func() {
		// live first: its streams end, and so do the router's copies of
		// them, which would hold the router's shutdown.
		for _, n := range []string{"live1", "live2", "router", "ui", "thumbnailer", "markdown", "media", "api"} {
			s.procs[n].shutdown()
		}
	})

	// The api first: it makes board b and the admin on the empty database.
	if err := s.procs["api"].start(); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(names))
	for _, n := range names[1:] {
		go func() {
			err := s.procs[n].start()
			if err != nil && strings.Contains(err.Error(), "exited before it listened") {
				// Once seen on a loaded machine: an exit 1 with nothing in
				// the log. Said, and tried once more; a real fault fails again.
				t.Logf("%v\ntrying %s once more", err, n)
				s.procs[n].stop(syscall.SIGKILL) // it has exited: this only forgets it
				err = s.procs[n].start()
			}
			errs <- err
		}()
	}
	for range names[1:] {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return s
}

const (
	apartPassword = "apart-test-password"
	apartSecret   = "apart-test-internal-secret"
)

// ip is a poster address not used before: no cooldown applies.
func (s *apartSite) ip() string {
	n := s.poster.Add(1)
	return fmt.Sprintf("10.90.%d.%d", n/250, n%250+1)
}

// apartProc is one maniwani process that can be stopped and started again
// on the same addresses with the same settings.
type apartProc struct {
	t               *testing.T
	bin, name       string
	addr, ops, data string
	args, env       []string

	mu            sync.Mutex
	log           bytes.Buffer  // every run's stderr, one after the other
	cmd           *exec.Cmd     // nil while stopped
	exited        chan struct{} // closed when cmd has exited
	exitErr       error         // how the last run ended (nil: exit status 0)
	starts        int
	listening     chan struct{} // closed at the run's "maniwani listening"
	listeningOnce sync.Once
	partial       []byte // the line being written
}

func (p *apartProc) base() string { return "http://" + p.addr }

// Write takes the process's stderr, line by line.
func (p *apartProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Write(b)
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(p.partial[:i], []byte("maniwani listening")) {
			l := p.listening
			p.listeningOnce.Do(func() { close(l) })
		}
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

func (p *apartProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// start runs the process and waits until it listens.
func (p *apartProc) start() error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: started twice", p.name)
	}
	p.starts++
	fmt.Fprintf(&p.log, "=== start #%d of %s at %s\n", p.starts, p.name, time.Now().Format("15:04:05.000"))
	p.listening = make(chan struct{})
	p.listeningOnce = sync.Once{}
	p.partial = nil
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), append([]string{"MANIWANI_ADDR=" + p.addr, "MANIWANI_OPS_ADDR=" + p.ops,
		"MANIWANI_DATA_DIR=" + p.data}, p.env...)...)
	cmd.Stderr = p
	cmd.Stdout = p
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: %v", p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	listening := p.listening
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		fmt.Fprintf(&p.log, "=== %s exited at %s: %v\n", p.name, time.Now().Format("15:04:05.000"), err)
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	select {
	case <-listening:
		return nil
	case <-exited:
		return fmt.Errorf("%s exited before it listened:\n%s", p.name, p.logs())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no 'maniwani listening' line in 30 s:\n%s", p.name, p.logs())
	}
}

// stop sends sig and waits until the process has exited.
func (p *apartProc) stop(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s still running 20 s after %v", p.name, sig)
	}
}

// restart starts a stopped process again, failing the test if it cannot.
func (p *apartProc) restart(t *testing.T) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

// shutdown stops the process at the end of the test, and shows its log if
// the test failed.
func (p *apartProc) shutdown() {
	if err := p.stop(syscall.SIGTERM); err != nil {
		p.t.Error(err)
	}
	if p.t.Failed() {
		p.t.Logf("log of %s:\n%s", p.name, p.logs())
	}
}

// apartClient never follows redirects and never asks for gzip.
var apartClient = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// apartAnswer is a response, read whole.
type apartAnswer struct {
	code   int
	header http.Header
	body   []byte
	took   time.Duration
}

func (a apartAnswer) String() string {
	b := a.body
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return fmt.Sprintf("%d (X-Cache %q, %v) %s", a.code, a.header.Get("X-Cache"), a.took.Round(time.Millisecond), b)
}

func apartDo(req *http.Request) (apartAnswer, error) {
	t0 := time.Now()
	resp, err := apartClient.Do(req)
	if err != nil {
		return apartAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apartAnswer{}, err
	}
	return apartAnswer{resp.StatusCode, resp.Header, b, time.Since(t0)}, nil
}

// get GETs base+path.
func apartGet(t *testing.T, base, path string) apartAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	a, err := apartDo(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	return a
}

// apartPostJSON is the answer to a post.
type apartPostJSON struct {
	Board      string
	Thread, No int64
	Error      string
}

// sendPost posts com (and file as upfile, when not nil) to /b/post through
// base as a client that wants JSON, from ip. It fails only on a
// transport error.
func sendPost(base string, resto int64, com string, file []byte, ip string) (apartAnswer, apartPostJSON, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if resto != 0 {
		w.WriteField("resto", fmt.Sprint(resto))
	}
	w.WriteField("com", com)
	if file != nil {
		fw, _ := w.CreateFormFile("upfile", "picture.png")
		fw.Write(file)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/b/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	a, err := apartDo(req)
	if err != nil {
		return a, apartPostJSON{}, err
	}
	var v apartPostJSON
	json.Unmarshal(a.body, &v)
	return a, v, nil
}

// mustPost posts through the router and wants a 201.
func (s *apartSite) mustPost(t *testing.T, resto int64, com string, file []byte) apartPostJSON {
	t.Helper()
	a, v, err := sendPost(s.router.base(), resto, com, file, s.ip())
	if err != nil {
		t.Fatalf("post %q: %v", com, err)
	}
	if a.code != http.StatusCreated || v.Board != "b" || v.No == 0 || (resto != 0 && v.Thread != resto) {
		t.Fatalf("post %q: %s", com, a)
	}
	return v
}

// apartPost is a post of the thread JSON.
type apartPost struct {
	No       int64
	Resto    int64
	Com      string
	Tim      int64
	Ext      string
	Filename string
	W, H     int
	TnW      int `json:"tn_w"`
	TnH      int `json:"tn_h"`
}

// thread reads a thread's JSON from base (the router, or a service's own
// address), wanting a 200.
func apartThread(t *testing.T, base string, no int64) ([]apartPost, apartAnswer) {
	t.Helper()
	a := apartGet(t, base, fmt.Sprintf("/b/thread/%d.json", no))
	var v struct{ Posts []apartPost }
	if a.code != http.StatusOK || json.Unmarshal(a.body, &v) != nil || len(v.Posts) == 0 || v.Posts[0].No != no {
		t.Fatalf("thread %d from %s: %s", no, base, a)
	}
	return v.Posts, a
}

func postNumbers(posts []apartPost) map[int64]bool {
	m := map[int64]bool{}
	for _, p := range posts {
		m[p.No] = true
	}
	return m
}

// apartPNG is a w x h picture whose bytes differ with seed.
func apartPNG(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(seed), 255})
		}
	}
	m.SetNRGBA(0, 0, color.NRGBA{uint8(seed >> 8), uint8(seed >> 16), 7, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// thumb GETs a post's thumbnail through the router: the JPEG when it is
// made, nil while it is not (the 404 placeholder).
func (s *apartSite) thumb(t *testing.T, p apartPost) image.Image {
	t.Helper()
	path := fmt.Sprintf("/media/b/%ds.jpg", p.Tim)
	a := apartGet(t, s.router.base(), path)
	switch a.code {
	case http.StatusNotFound:
		return nil
	case http.StatusOK:
	default:
		t.Fatalf("GET %s: %s", path, a)
	}
	if ct := a.header.Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	img, err := jpeg.Decode(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("GET %s: not a JPEG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != p.TnW || b.Dy() != p.TnH {
		t.Fatalf("GET %s: %dx%d, the JSON says %dx%d", path, b.Dx(), b.Dy(), p.TnW, p.TnH)
	}
	return img
}

// waitThumb polls the thumbnail until it is made, at most within.
func (s *apartSite) waitThumb(t *testing.T, p apartPost, within time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	testutil.Eventually(t, within, func() error {
		if s.thumb(t, p) == nil {
			return fmt.Errorf("no thumbnail of No. %d (tim %d)", p.No, p.Tim)
		}
		return nil
	})
	return time.Since(t0)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Event, ID, Data string
}

// sseNo is the "no" of an event's data.
func (e sseEvent) no() int64 {
	var v struct{ No int64 }
	json.Unmarshal([]byte(e.Data), &v)
	return v.No
}

// sseOpen opens a stream at url (from ip, resuming after lastID when it is
// not empty) and returns once the server answered: from then on it gets
// every event. Events come on the channel, which is closed when the stream
// ends; the error then says why.
func sseOpen(ctx context.Context, url, ip, lastID string) (<-chan sseEvent, func() error, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Forwarded-For", ip)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := sseHTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, nil, fmt.Errorf("GET %s: %d %s %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	ch := make(chan sseEvent, 1024)
	var mu sync.Mutex
	var end error
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || ev.Data != "" {
					if ev.Event == "" {
						ev.Event = "message"
					}
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "event":
					ev.Event = v
				case "id":
					ev.ID = v
				case "data":
					if ev.Data != "" {
						ev.Data += "\n"
					}
					ev.Data += v
				}
			}
		}
		mu.Lock()
		end = sc.Err()
		if end == nil {
			end = io.EOF
		}
		mu.Unlock()
	}()
	return ch, func() error { mu.Lock(); defer mu.Unlock(); return end }, nil
}

var sseHTTP = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// sseWait reads events from ch until one satisfies ok, at most within.
func sseWait(t *testing.T, what string, ch <-chan sseEvent, within time.Duration, ok func(sseEvent) bool) sseEvent {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("%s: the stream ended; it sent %v", what, seen)
			}
			if ok(ev) {
				return ev
			}
			seen = append(seen, ev.Event+" "+ev.Data)
		case <-timer.C:
			t.Fatalf("%s: not in %v; the stream sent %v", what, within, seen)
		}
	}
}

// 1. A post's whole life, every service up.
func apartLifecycle(t *testing.T, s *apartSite) {
	r := s.router.base()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	board, _, err := sseOpen(ctx, r+"/live/b", s.ip(), "")
	if err != nil {
		t.Fatal(err)
	}
	// live asks the api, over HTTP, whether a stream's board exists.
	if _, _, err := sseOpen(ctx, r+"/live/nosuchboard", s.ip(), ""); err == nil || !strings.Contains(err.Error(), ": 404 ") {
		t.Errorf("a stream of a board that does not exist: %v, want a 404", err)
	}

	img := apartPNG(t, 400, 300, 1)
	v := s.mustPost(t, 0, "An image\n>and greentext", img)
	if v.Thread != v.No {
		t.Fatalf("a new thread answered %+v", v)
	}
	no := v.No

	// Read through the router as JSON, then again from cache.
	posts, a := apartThread(t, r, no)
	op := posts[0]
	tw, th := maniwani.ThumbSize(400, 300)
	if op.Tim <= 0 || op.Ext != ".png" || op.W != 400 || op.H != 300 || op.TnW != tw || op.TnH != th ||
		!strings.Contains(op.Com, `<span class="quote">&gt;and greentext</span>`) {
		t.Errorf("thread JSON: %+v", op)
	}
	if a.header.Get("X-Cache") != "MISS" {
		t.Errorf("thread JSON, first read: X-Cache %q", a.header.Get("X-Cache"))
	}
	s.cachedTwice(t, fmt.Sprintf("/b/thread/%d.json", no))
	// As HTML.
	page := fmt.Sprintf("/b/thread/%d", no)
	h := s.cachedTwice(t, page)
	if !strings.HasPrefix(h.header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(h.body, fmt.Appendf(nil, `id="p%d"`, no)) || !bytes.Contains(h.body, []byte("An image")) {
		t.Errorf("GET %s: %s", page, h)
	}
	for _, p := range []string{"/", "/b/", "/b/catalog", "/boards.json", "/b/catalog.json", "/b/1.json"} {
		if a := apartGet(t, r, p); a.code != http.StatusOK {
			t.Errorf("GET %s: %s", p, a)
		}
	}

	// On the board's live stream.
	ev := sseWait(t, "the new thread on /live/b", board, 5*time.Second, func(e sseEvent) bool {
		return e.Event == "thread" && e.no() == no
	})
	if ev.ID == "" || !strings.Contains(ev.Data, `"tim":`) {
		t.Errorf("thread event: %+v", ev)
	}

	// The file and its thumbnail.
	f := apartGet(t, r, fmt.Sprintf("/media/b/%d.png", op.Tim))
	if f.code != http.StatusOK || !bytes.Equal(f.body, img) {
		t.Errorf("GET the file: %d, %d bytes (posted %d)", f.code, len(f.body), len(img))
	}
	took := s.waitThumb(t, op, 10*time.Second)
	t.Logf("thumbnail served %v after the first look", took.Round(time.Millisecond))

	// Deleted by a moderator, through the router.
	thread, _, err := sseOpen(ctx, fmt.Sprintf("%s/live/b/%d", r, no), s.ip(), "")
	if err != nil {
		t.Fatal(err)
	}
	mod := s.login(t)
	del := mod.do(t, http.MethodDelete, fmt.Sprintf("/api/admin/posts/b/%d", no))
	if del.code/100 != 2 {
		t.Fatalf("DELETE as a moderator: %s", del)
	}
	for _, p := range []string{fmt.Sprintf("/b/thread/%d.json", no), page} {
		if a := apartGet(t, r, p); a.code != http.StatusNotFound {
			t.Errorf("GET %s after the delete: %s", p, a)
		}
	}
	for name, ch := range map[string]<-chan sseEvent{"/live/b": board, fmt.Sprintf("/live/b/%d", no): thread} {
		sseWait(t, "the delete on "+name, ch, 5*time.Second, func(e sseEvent) bool {
			return e.Event == "delete" && e.no() == no && strings.Contains(e.Data, `"board":"b"`)
		})
	}
}

// cachedTwice GETs path through the router until a GET right after another
// is a HIT (a write in between, such as a thumbnail being recorded, makes
// it a MISS again), at most for 3 s, and returns the HIT.
func (s *apartSite) cachedTwice(t *testing.T, path string) apartAnswer {
	t.Helper()
	var hit apartAnswer
	testutil.Eventually(t, 3*time.Second, func() error {
		a := apartGet(t, s.router.base(), path)
		b := apartGet(t, s.router.base(), path)
		if a.code == http.StatusOK && b.code == http.StatusOK && b.header.Get("X-Cache") == "HIT" {
			hit = b
			return nil
		}
		return fmt.Errorf("GET %s twice: %s, then %s", path, a, b)
	})
	return hit
}

// apartStaff is a moderator's session.
type apartStaff struct {
	base, cookie, csrf, ip string
}

// login logs in as admin through the router.
func (s *apartSite) login(t *testing.T) *apartStaff {
	t.Helper()
	ip := s.ip()
	req, _ := http.NewRequest(http.MethodPost, s.router.base()+"/api/admin/login",
		strings.NewReader(`{"username":"admin","password":"`+apartPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	a, err := apartDo(req)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		CSRF string `json:"csrf_token"`
	}
	if a.code != http.StatusOK || json.Unmarshal(a.body, &v) != nil || v.CSRF == "" {
		t.Fatalf("login: %s", a)
	}
	st := &apartStaff{base: s.router.base(), csrf: v.CSRF, ip: ip}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "mw_session" {
			st.cookie = c.Name + "=" + c.Value
		}
	}
	if st.cookie == "" {
		t.Fatalf("login set no session cookie: %v", a.header)
	}
	return st
}

func (st *apartStaff) do(t *testing.T, method, path string) apartAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, st.base+path, nil)
	req.Header.Set("Cookie", st.cookie)
	req.Header.Set("X-CSRF-Token", st.csrf)
	req.Header.Set("X-Forwarded-For", st.ip)
	a, err := apartDo(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// The admin UI, in the ui process, works the staff API of the api process
// through its client: the form's login sets the session's and the
// device's cookies, a page reads the session, a form's action changes the
// thread, and the log says who did it from where the page was.
func apartAdminUI(t *testing.T, s *apartSite) {
	r := s.router.base()
	ip := s.ip()
	cookies := map[string]string{}
	send := func(method, path string, form url.Values) apartAnswer {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, r+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Forwarded-For", ip)
		for k, v := range cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		a, err := apartDo(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		for _, c := range (&http.Response{Header: a.header}).Cookies() {
			if c.MaxAge < 0 {
				delete(cookies, c.Name)
			} else {
				cookies[c.Name] = c.Value
			}
		}
		return a
	}
	a := send(http.MethodPost, "/admin/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	if a.code != http.StatusUnauthorized || !strings.Contains(string(a.body), "Wrong username or password.") {
		t.Fatalf("a wrong password through the form: %s", a)
	}
	a = send(http.MethodPost, "/admin/login", url.Values{"username": {"admin"}, "password": {apartPassword}, "next": {"/admin/"}})
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/admin/" ||
		cookies[maniwani.StaffSessionCookie] == "" || cookies[maniwani.StaffDeviceCookie] == "" {
		t.Fatalf("login through the form: %s, cookies %v", a, cookies)
	}
	dash := send(http.MethodGet, "/admin/", nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(dash.body)
	if dash.code != http.StatusOK || m == nil || !strings.Contains(string(dash.body), "admin") {
		t.Fatalf("the dashboard: %s", dash)
	}
	csrf := string(m[1])
	th := s.mustPost(t, 0, "a thread for the admin UI", nil)
	path := fmt.Sprintf("/admin/threads/b/%d", th.No)
	if a := send(http.MethodPost, path, url.Values{"set": {"sticky"}}); a.code != http.StatusForbidden ||
		!strings.Contains(string(a.body), "CSRF") {
		t.Errorf("sticky without the CSRF token: %s", a)
	}
	a = send(http.MethodPost, path, url.Values{"set": {"sticky"}, "csrf": {csrf}, "back": {"/admin/"}})
	if loc := a.header.Get("Location"); a.code != http.StatusSeeOther || !strings.Contains(loc, "done=") {
		t.Fatalf("sticky: %s, to %q", a, loc)
	}
	if a := apartGet(t, r, fmt.Sprintf("/b/thread/%d.json", th.No)); !strings.Contains(string(a.body), `"sticky":1`) {
		t.Errorf("the thread after sticky: %s", a)
	}
	if log := send(http.MethodGet, "/admin/log", nil); log.code != http.StatusOK || !strings.Contains(string(log.body), "sticky thread") {
		t.Errorf("the log: %s", log)
	}
	a = send(http.MethodPost, "/admin/logout", url.Values{"csrf": {csrf}})
	if a.code != http.StatusSeeOther || cookies[maniwani.StaffSessionCookie] != "" {
		t.Errorf("logout: %s, cookies %v", a, cookies)
	}
	if a := send(http.MethodGet, "/admin/", nil); a.code != http.StatusSeeOther ||
		!strings.HasPrefix(a.header.Get("Location"), "/admin/login") {
		t.Errorf("the dashboard after logout: %s", a)
	}
}

// 2. The thumbnailer stopped: posts with images are taken, and their
// thumbnails are made within 5 s of its restart.
func apartThumbnailerDown(t *testing.T, s *apartSite) {
	th := s.procs["thumbnailer"]
	if err := th.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			th.start()
		}
	}()
	r := s.router.base()
	v := s.mustPost(t, 0, "posted while the thumbnailer is stopped", apartPNG(t, 600, 200, 2))
	var files []apartPost
	op := func(thread, no int64) apartPost {
		posts, _ := apartThread(t, r, thread)
		for _, p := range posts {
			if p.No == no {
				return p
			}
		}
		t.Fatalf("No. %d is not in its thread", no)
		return apartPost{}
	}
	files = append(files, op(v.No, v.No))
	w := s.mustPost(t, v.No, "a reply with a picture", apartPNG(t, 120, 90, 3))
	files = append(files, op(v.No, w.No))
	time.Sleep(500 * time.Millisecond) // long enough for a thumbnailer that was there to make them
	for _, f := range files {
		if s.thumb(t, f) != nil {
			t.Fatalf("No. %d has a thumbnail while the thumbnailer is stopped", f.No)
		}
	}
	t0 := time.Now()
	th.restart(t)
	stopped = false
	for _, f := range files {
		s.waitThumb(t, f, 5*time.Second-time.Since(t0))
	}
	t.Logf("both thumbnails served %v after the thumbnailer was started again", time.Since(t0).Round(time.Millisecond))
}

// 3. Markdown stopped: posting works, rendered in the api's process.
func apartMarkdownDown(t *testing.T, s *apartSite) {
	md := s.procs["markdown"]
	if err := md.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			md.start()
		}
	}()
	r := s.router.base()
	t0 := time.Now()
	v := s.mustPost(t, 0, ">greentext without markdown\n**bold** and >>1", nil)
	took := time.Since(t0)
	w := s.mustPost(t, v.No, ">a reply too", nil)
	posts, _ := apartThread(t, r, v.No)
	if len(posts) != 2 || !strings.Contains(posts[0].Com, `<span class="quote">&gt;greentext without markdown</span>`) ||
		!strings.Contains(posts[1].Com, `<span class="quote">&gt;a reply too</span>`) || posts[1].No != w.No {
		t.Errorf("thread posted without the markdown service: %+v", posts)
	}
	t.Logf("a post without the markdown service answered in %v", took.Round(time.Millisecond))
	md.restart(t)
	stopped = false
	x := s.mustPost(t, v.No, ">markdown is back", nil)
	if posts, _ := apartThread(t, r, v.No); len(posts) != 3 || posts[2].No != x.No ||
		!strings.Contains(posts[2].Com, `<span class="quote">&gt;markdown is back</span>`) {
		t.Errorf("after markdown came back: %+v", posts)
	}
}

// 4. Redis stopped: pages and posting work, uncached; once it is back
// (empty), caching resumes and writes show at once.
func apartRedisDown(t *testing.T, s *apartSite) {
	r := s.router.base()
	v := s.mustPost(t, 0, "before Redis stops", nil)
	thread := fmt.Sprintf("/b/thread/%d.json", v.No)
	paths := []string{"/", "/b/", "/b/catalog", "/b/catalog.json", "/boards.json", thread, fmt.Sprintf("/b/thread/%d", v.No)}
	for _, p := range paths {
		apartGet(t, r, p)
		if a := apartGet(t, r, p); a.code != http.StatusOK || a.header.Get("X-Cache") != "HIT" {
			t.Fatalf("GET %s twice with Redis up: %s", p, a)
		}
	}

	s.redis.stop()
	t0 := time.Now()
	stopped := true
	defer func() {
		if stopped {
			s.redis.start()
		}
	}()
	var slowest time.Duration
	for _, p := range paths {
		a := apartGet(t, r, p)
		if a.code != http.StatusOK {
			t.Errorf("GET %s with Redis stopped: %s", p, a)
		}
		slowest = max(slowest, a.took)
	}
	var replies []int64
	for i := range 3 {
		t1 := time.Now()
		var file []byte
		if i == 0 { // its thumbnail job cannot be queued now
			file = apartPNG(t, 320, 320, 4)
		}
		w := s.mustPost(t, v.No, fmt.Sprintf("reply %d while Redis is stopped", i), file)
		slowest = max(slowest, time.Since(t1))
		replies = append(replies, w.No)
		// Visible through the router within a moment, Redis or not.
		testutil.Eventually(t, time.Until(t1.Add(2*time.Second)), func() error {
			if posts, a := apartThread(t, r, v.No); !postNumbers(posts)[w.No] {
				return fmt.Errorf("reply No. %d (answered 201 with Redis stopped) is not in its thread through the router: %s", w.No, a)
			}
			return nil
		})
	}
	for _, p := range paths {
		if a := apartGet(t, r, p); a.code != http.StatusOK {
			t.Errorf("GET %s with Redis stopped, after posts: %s", p, a)
		}
	}
	t.Logf("Redis stopped for %v: every GET and post answered, the slowest in %v", time.Since(t0).Round(time.Millisecond), slowest.Round(time.Millisecond))

	s.redis.start()
	stopped = false
	t1 := time.Now()
	// Caching resumes: a GET after a MISS is a HIT, from Redis's counters.
	for _, p := range paths {
		testutil.Eventually(t, time.Until(t1.Add(10*time.Second)), func() error {
			a := apartGet(t, r, p)
			b := apartGet(t, r, p)
			if a.code == http.StatusOK && b.code == http.StatusOK && b.header.Get("X-Cache") == "HIT" {
				return nil
			}
			return fmt.Errorf("GET %s twice after Redis is back: %s, then %s", p, a, b)
		})
	}
	t.Logf("caching resumed %v after Redis came back", time.Since(t1).Round(time.Millisecond))
	// The thumbnail of the picture posted while Redis was stopped is made
	// now that it is back.
	posts, _ := apartThread(t, r, v.No)
	for _, p := range posts {
		if p.No == replies[0] {
			s.waitThumb(t, p, 10*time.Second)
			t.Logf("the thumbnail of the picture posted while Redis was stopped served %v after Redis came back", time.Since(t1).Round(time.Millisecond))
		}
	}
	// The api records the thumbnail (and drops the thread's pages) a moment
	// after media serves it; the page shows a placeholder (data-w) until
	// then. Past that, nothing but the replies below changes the thread.
	page := fmt.Sprintf("/b/thread/%d", v.No)
	testutil.Eventually(t, time.Until(t1.Add(10*time.Second)), func() error {
		if strings.Contains(string(apartGet(t, r, page).body), "data-w=") {
			return errors.New("the thread page still waits for a thumbnail after Redis came back")
		}
		return nil
	})
	// A write after is visible through the router at once (within the
	// Pub/Sub delay), with the page cached before it.
	var worst time.Duration
	for i := range 3 {
		w := s.mustPost(t, v.No, fmt.Sprintf("reply %d after Redis is back", i), nil)
		answered := time.Now()
		testutil.Eventually(t, time.Until(answered.Add(time.Second)), func() error {
			posts, a := apartThread(t, r, v.No)
			if !postNumbers(posts)[w.No] {
				return fmt.Errorf("reply No. %d, posted after Redis came back, is not in its thread: %s", w.No, a)
			}
			for _, no := range replies {
				if !postNumbers(posts)[no] {
					t.Errorf("reply No. %d, posted while Redis was stopped, is missing", no)
				}
			}
			return nil
		})
		worst = max(worst, time.Since(answered))
		// Cached again: a read that came before the write's invalidation
		// event reached this router is outdated by it, so allow a moment.
		testutil.Eventually(t, time.Until(answered.Add(time.Second)), func() error {
			if c := apartGet(t, r, thread).header.Get("X-Cache"); c != "HIT" {
				return fmt.Errorf("thread read again after reply %d: X-Cache %q, want HIT", i, c)
			}
			return nil
		})
	}
	t.Logf("replies posted after Redis came back were in the cached thread within %v", worst.Round(time.Microsecond))
}

// 5. The api killed (SIGKILL) under a stream of posts: every post answered
// 201 is in the database afterwards.
func apartAPIKilled(t *testing.T, s *apartSite) {
	r := s.router.base()
	api := s.procs["api"]
	v := s.mustPost(t, 0, "a thread under load", nil)

	var mu sync.Mutex
	var answered []int64
	var failed, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a, pj, err := sendPost(r, v.No, fmt.Sprintf("load %d/%d", w, i), nil, s.ip())
				switch {
				case err != nil:
					failed.Add(1)
				case a.code == http.StatusCreated && pj.No > 0:
					mu.Lock()
					answered = append(answered, pj.No)
					mu.Unlock()
				default:
					other.Add(1) // 502 while the api is down
				}
				if err != nil || a.code != http.StatusCreated {
					time.Sleep(10 * time.Millisecond) // a poster's pause before it tries again
				}
			}
		})
	}
	stopPosters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopPosters()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(answered) }
	answeredAtLeast := func(n int) func() error {
		return func() error {
			if got := count(); got < n {
				return fmt.Errorf("%d posts answered, want %d", got, n)
			}
			return nil
		}
	}
	testutil.Eventually(t, 10*time.Second, answeredAtLeast(40))
	before := count()
	if err := api.stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The posters keep trying against the dead api: it comes back once a
	// few of their posts have been refused.
	refused := failed.Load() + other.Load()
	testutil.Eventually(t, 10*time.Second, func() error {
		if n := failed.Load() + other.Load() - refused; n < 4 {
			return fmt.Errorf("%d posts refused by the dead api, want 4", n)
		}
		return nil
	})
	t0 := time.Now()
	api.restart(t)
	t.Logf("api started again in %v", time.Since(t0).Round(time.Millisecond))
	// Let the stream go on against the new api a little, then stop it.
	testutil.Eventually(t, 10*time.Second, answeredAtLeast(before+20)) // after the api's restart
	stopPosters()
	total := count()

	// The database, read by the new api process itself, then through the
	// router.
	for _, base := range []string{api.base(), r} {
		posts, _ := apartThread(t, base, v.No)
		have := postNumbers(posts)
		var lost []int64
		mu.Lock()
		for _, no := range answered {
			if !have[no] {
				lost = append(lost, no)
			}
		}
		mu.Unlock()
		if len(lost) > 0 {
			t.Errorf("from %s: %d of the %d posts answered 201 are not in the thread: %v", base, len(lost), total, lost)
		}
	}
	t.Logf("%d posts answered 201 (%d before the SIGKILL), %d refused while the api was down, %d transport errors; all of them in the thread",
		total, before, other.Load(), failed.Load())
}

// 6. One of two live instances killed (SIGKILL) during a burst of posts:
// its clients resume on the other with Last-Event-ID and get every event
// once, in order, as the other's own clients do.
func apartLiveKilled(t *testing.T, s *apartSite) {
	live1, live2 := s.procs["live1"], s.procs["live2"]
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	v := s.mustPost(t, 0, "a thread watched live", nil)
	streams := []string{fmt.Sprintf("/live/b/%d", v.No), "/live/b"}

	// A client that moves to live2 when its stream on live1 ends.
	type client struct {
		name      string
		mu        sync.Mutex
		events    []sseEvent
		resumes   int
		resumedAt string
		before    int // events got before it resumed
		err       error
	}
	record := func(c *client, ch <-chan sseEvent) string {
		var last string
		for ev := range ch {
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
			if ev.ID != "" {
				last = ev.ID
			}
		}
		return last
	}
	var clients []*client
	var wg sync.WaitGroup
	for _, path := range streams {
		for _, first := range []*apartProc{live1, live2} {
			c := &client{name: first.name + path}
			ip := s.ip()
			ch, _, err := sseOpen(ctx, first.base()+path, ip, "")
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
			wg.Go(func() {
				last := record(c, ch)
				if first != live1 || ctx.Err() != nil {
					return
				}
				// Its instance died: resume on the other, as EventSource
				// does, from the last ID it got.
				c.mu.Lock()
				c.resumes++
				c.resumedAt = last
				c.before = len(c.events)
				c.mu.Unlock()
				ch, _, err := sseOpen(ctx, live2.base()+path, ip, last)
				if err != nil {
					c.mu.Lock()
					c.err = err
					c.mu.Unlock()
					return
				}
				record(c, ch)
			})
		}
	}
	defer func() { cancel(); wg.Wait() }()

	const burst = 40
	var posted []int64 // read once the poster is done
	var sent atomic.Int64
	postErr := make(chan error, 1)
	killAt := make(chan struct{})
	go func() {
		defer close(postErr)
		for i := range burst {
			a, pj, err := sendPost(s.router.base(), v.No, fmt.Sprintf("live %d", i), nil, s.ip())
			if err != nil || a.code != http.StatusCreated {
				postErr <- fmt.Errorf("reply %d: %v %s", i, err, a)
				return
			}
			posted = append(posted, pj.No)
			sent.Add(1)
			if i == burst/3 {
				close(killAt)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	select {
	case <-killAt:
	case err := <-postErr:
		t.Fatal(err)
	}
	// A third of the burst is answered; the kill waits until live1's
	// clients have had some of it too (delivery trails the answers).
	testutil.Eventually(t, 5*time.Second, func() error {
		for _, c := range clients {
			c.mu.Lock()
			had := !strings.HasPrefix(c.name, live1.name+"/") || slices.ContainsFunc(c.events, func(ev sseEvent) bool { return ev.Event == "post" })
			c.mu.Unlock()
			if !had {
				return fmt.Errorf("%s got no post event of the burst", c.name)
			}
		}
		return nil
	})
	if err := live1.stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := sent.Load()
	if err := <-postErr; err != nil {
		t.Fatal(err)
	}

	// Every client gets the burst's post events; live2's own clients are
	// the reference.
	posts := func(c *client) []sseEvent {
		c.mu.Lock()
		defer c.mu.Unlock()
		var out []sseEvent
		for _, ev := range c.events {
			if ev.Event == "post" && slices.Contains(posted, ev.no()) {
				out = append(out, ev)
			}
		}
		return out
	}
	// Then one more post: anything repeated would come before it.
	last := s.mustPost(t, v.No, "after the burst", nil)
	testutil.Eventually(t, 10*time.Second, func() error {
		var behind []string
		for _, c := range clients {
			c.mu.Lock()
			had := slices.ContainsFunc(c.events, func(ev sseEvent) bool { return ev.Event == "post" && ev.no() == last.No })
			c.mu.Unlock()
			if n := len(posts(c)); n < burst || !had {
				behind = append(behind, fmt.Sprintf("%s: %d of the %d post events, the last one %v (resumed %d times after %q, %v)",
					c.name, n, burst, had, c.resumes, c.resumedAt, c.err))
			}
		}
		if len(behind) > 0 {
			return errors.New(strings.Join(behind, "\n"))
		}
		return nil
	})
	ids := func(c *client) []string {
		c.mu.Lock()
		defer c.mu.Unlock()
		var out []string
		for _, ev := range c.events {
			out = append(out, ev.Event+" "+ev.ID)
		}
		return out
	}
	for i, path := range streams {
		moved, stayed := clients[2*i], clients[2*i+1]
		if moved.resumes != 1 || moved.err != nil {
			t.Errorf("%s: resumed %d times (%v); want once, on live2", moved.name, moved.resumes, moved.err)
		}
		// The kill fell inside the burst: some of its events came from
		// live1, the rest after the resume.
		if got := len(posts(moved)); moved.before == 0 || moved.before >= len(moved.events) {
			t.Errorf("%s: %d of its %d events (%d post events of the burst) came before the resume; the kill missed the burst",
				moved.name, moved.before, len(moved.events), got)
		}
		// Every event the one saw the other saw, once, in the same order.
		if a, b := ids(moved), ids(stayed); !slices.Equal(a, b) {
			t.Errorf("%s: the client moved from live1 to live2 got\n%v\nthe one on live2 throughout got\n%v", path, a, b)
		}
		var nos []int64
		for _, ev := range posts(moved) {
			nos = append(nos, ev.no())
		}
		if !slices.Equal(nos, posted) {
			t.Errorf("%s: post events %v, posted %v", path, nos, posted)
		}
		t.Logf("%s: the client on live1 resumed on live2 after event %s (its %d-th) and got all %d post events once, in order, as live2's own",
			path, moved.resumedAt, moved.before, len(nos))
	}
	t.Logf("live1 killed after about %d of %d replies", killed, burst)

	// live1 back: the router's streams work again.
	live1.restart(t)
	ch, _, err := sseOpen(ctx, s.router.base()+streams[0], s.ip(), "")
	if err != nil {
		t.Fatal(err)
	}
	w := s.mustPost(t, v.No, "after live1 is back", nil)
	sseWait(t, "a post through the router's live after live1 came back", ch, 5*time.Second, func(e sseEvent) bool {
		return e.Event == "post" && e.no() == w.No
	})
}

// A router told to stop while live streams pass through it to a live
// process that goes on cuts them and exits at once with status 0, instead
// of waiting out its drain for streams that never end.
func apartRouterStops(t *testing.T, s *apartSite) {
	r := s.procs["router"]
	v := s.mustPost(t, 0, "a thread watched through the router", nil)
	var streams []<-chan sseEvent
	for _, path := range []string{fmt.Sprintf("/live/b/%d", v.No), "/live/b"} {
		ch, _, err := sseOpen(t.Context(), r.base()+path, s.ip(), "")
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, ch)
	}
	start := time.Now()
	if err := r.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	r.mu.Lock()
	exitErr := r.exitErr
	r.mu.Unlock()
	if exitErr != nil || took > 5*time.Second {
		t.Errorf("the router stopped in %v with %v; want exit status 0 within 5 s", took.Round(time.Millisecond), exitErr)
	}
	for i, ch := range streams {
		select {
		case <-drained(ch):
		case <-time.After(2 * time.Second):
			t.Errorf("stream %d still open 2 s after the router exited", i)
		}
	}
	t.Logf("router stopped in %v with %d streams open", took.Round(time.Millisecond), len(streams))
	r.restart(t)
}

// drained is closed once ch is.
func drained(ch <-chan sseEvent) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range ch {
		}
		close(done)
	}()
	return done
}

// apartInternalSecret: on its own port, a service's internal routes answer
// only a caller with the services' secret (every call between them in the
// steps after this one carries it); public routes answer anyone.
func apartInternalSecret(t *testing.T, s *apartSite) {
	for _, c := range []struct {
		proc, method, path string
		public             bool
	}{
		{"api", "GET", "/_internal/boards", false},
		{"api", "GET", "/_internal/latest?limit=1", false},
		{"media", "GET", "/_internal/media/src/" + strings.Repeat("a", 64) + ".png", false},
		{"markdown", "POST", "/render", false},
		{"api", "GET", "/boards.json", true},
	} {
		for _, secret := range []string{"", "wrong-secret-of-the-same-size", apartSecret} {
			req, _ := http.NewRequest(c.method, s.procs[c.proc].base()+c.path, strings.NewReader(`{"body":"x"}`))
			if secret != "" {
				req.Header.Set("X-Maniwani-Internal-Secret", secret)
			}
			a, err := apartDo(req)
			if err != nil {
				t.Fatal(err)
			}
			// The guard's refusal is a bare 404: no JSON (the api's), no
			// error kind (media's).
			refused := a.code == http.StatusNotFound && !bytes.Contains(a.body, []byte("{")) && a.header.Get(maniwani.ErrorKindHeader) == ""
			if want := !c.public && secret != apartSecret; refused != want {
				t.Errorf("%s %s %s with secret %q: %d %.80q, want refused=%v", c.method, c.proc, c.path, secret, a.code, a.body, want)
			}
		}
	}
}
