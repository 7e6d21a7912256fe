package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/api/upload"
	"github.com/maniwani/maniwani/internal/testminio"
	"github.com/maniwani/maniwani/internal/testutil"
)

// Posts with files, end to end through the whole binary, once with files on
// local disk and once in a MinIO bucket: every accepted type is stored
// byte for byte and served with its thumbnail; the same bytes are stored
// once; every refused file is refused with a reason, stores nothing and
// leaves no temporary file; EXIF is cut; a deleted post's file is gone.
func TestFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ffmpeg := haveFFmpeg(t)
	t0 := time.Now()
	bin := buildBinary(t)
	t.Logf("built in %v", time.Since(t0).Round(time.Millisecond))

	t.Run("disk", func(t *testing.T) {
		s := newFilesSite(t, bin, 81, "MANIWANI_S3_ENDPOINT=")
		root := filepath.Join(s.data, "media")
		s.keys = func(t *testing.T, prefix string) []string { return diskKeys(t, root, prefix) }
		filesSuite(t, s, ffmpeg)
	})
	t.Run("minio", func(t *testing.T) {
		b := testminio.New(t)
		s := newFilesSite(t, bin, 82, "MANIWANI_S3_ENDPOINT="+b.Endpoint, "MANIWANI_S3_ACCESS_KEY="+b.AccessKey,
			"MANIWANI_S3_SECRET_KEY="+b.SecretKey, "MANIWANI_S3_BUCKET="+b.Name, "MANIWANI_S3_SECURE=false")
		s.keys = func(t *testing.T, prefix string) []string { return b.Keys(t, prefix) }
		filesSuite(t, s, ffmpeg)
	})
}

// haveFFmpeg tells whether the thumbnailer can read videos: ffmpeg on PATH.
// Under CI=true it must be there.
func haveFFmpeg(t *testing.T) bool {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ffmpeg is required under CI=true (scripts/tools.sh installs it): %v", err)
		}
		return false
	}
	return true
}

// filesSite is a running binary, its data directory and TMPDIR, and a look
// into its file storage behind its back.
type filesSite struct {
	p         *proc
	data, tmp string
	// keys lists the storage keys under prefix ("src/", "thumb/"),
	// temporary objects included.
	keys   func(t *testing.T, prefix string) []string
	net    int // second octet of the posters' addresses
	poster int
	client *http.Client
}

// newFilesSite prepares a database with board b (as a first start makes it)
// and board v, which takes JPEG only, then starts the binary on it with a
// TMPDIR of its own and env.
func newFilesSite(t *testing.T, bin string, net int, env ...string) *filesSite {
	t.Helper()
	s := &filesSite{data: t.TempDir(), tmp: t.TempDir(), net: net,
		client: &http.Client{
			Transport:     &http.Transport{DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       30 * time.Second,
		}}
	t.Cleanup(s.client.CloseIdleConnections)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: "sqlite://" + filepath.Join(s.data, "maniwani.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Bootstrap(ctx, st, "test-password", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	err = st.CreateBoard(ctx, maniwani.Board{Name: "v", Title: "JPEG only", MaxThreads: 20, BumpLimit: 50,
		ImageLimit: 50, MaxFileSize: 1 << 20, FileTypes: []string{".jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	env = append([]string{"MANIWANI_DATA_DIR=" + s.data, "TMPDIR=" + s.tmp, "MANIWANI_DATABASE_URL=",
		"MANIWANI_REDIS_URL=", "MANIWANI_TRUSTED_PROXIES=127.0.0.1/32", "MANIWANI_ADMIN_PASSWORD=test-password"}, env...)
	s.p = startProc(t, bin, "maniwani", env...)
	return s
}

// ip is a poster's address not used before on this site: no cooldown.
func (s *filesSite) ip() string {
	s.poster++
	return fmt.Sprintf("10.%d.%d.%d", s.net, s.poster/250, s.poster%250+1)
}

// filesAnswer is a response, read whole.
type filesAnswer struct {
	code   int
	header http.Header
	body   []byte
}

func (s *filesSite) do(t *testing.T, req *http.Request) filesAnswer {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return filesAnswer{resp.StatusCode, resp.Header, b}
}

func (s *filesSite) get(t *testing.T, path string, header ...string) filesAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.p.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(t, req)
}

// send posts a multipart form (fields, and data as upfile named name when
// data is not nil) to /{board}/post as a client that wants JSON, from a
// new address.
func (s *filesSite) send(t *testing.T, board string, fields map[string]string, name string, data []byte) filesAnswer {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if data != nil {
		fw, err := w.CreateFormFile("upfile", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	req, err := http.NewRequest(http.MethodPost, s.p.base+"/"+board+"/post", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", s.ip())
	return s.do(t, req)
}

// postFile starts a thread on board with the file and returns its number.
func (s *filesSite) postFile(t *testing.T, board string, fields map[string]string, name string, data []byte) int64 {
	t.Helper()
	a := s.send(t, board, fields, name, data)
	var v struct {
		Board      string
		Thread, No int64
	}
	if a.code != http.StatusCreated || json.Unmarshal(a.body, &v) != nil || v.Board != board || v.No == 0 || v.Thread != v.No {
		t.Fatalf("post of %s to /%s/: %d %s", name, board, a.code, a.body)
	}
	return v.No
}

// filePost is a post's file fields in the thread JSON.
type filePost struct {
	No       int64
	Tim      int64
	Filename string
	Ext      string
	Fsize    int64
	MD5      string
	W, H     int
	TnW      int `json:"tn_w"`
	TnH      int `json:"tn_h"`
}

// op reads the opening post of a thread from its JSON.
func (s *filesSite) op(t *testing.T, board string, no int64) filePost {
	t.Helper()
	a := s.get(t, fmt.Sprintf("/%s/thread/%d.json", board, no))
	var v struct{ Posts []filePost }
	if a.code != http.StatusOK || json.Unmarshal(a.body, &v) != nil || len(v.Posts) == 0 {
		t.Fatalf("thread /%s/%d: %d %s", board, no, a.code, a.body)
	}
	return v.Posts[0]
}

// threads lists the thread numbers of the board's catalog.
func (s *filesSite) threads(t *testing.T, board string) []int64 {
	t.Helper()
	a := s.get(t, "/"+board+"/catalog.json")
	var c catalogJSON
	if a.code != http.StatusOK || json.Unmarshal(a.body, &c) != nil {
		t.Fatalf("catalog of /%s/: %d %s", board, a.code, a.body)
	}
	var out []int64
	for _, pg := range c {
		for _, th := range pg.Threads {
			out = append(out, th.No)
		}
	}
	slices.Sort(out)
	return out
}

// srcOf lists the stored originals of the bytes sha.
func (s *filesSite) srcOf(t *testing.T, sha string) []string {
	t.Helper()
	return s.keys(t, "src/"+sha[:2]+"/"+sha)
}

// tmpEmpty fails the test when the process left anything in its TMPDIR.
func (s *filesSite) tmpEmpty(t *testing.T, when string) {
	t.Helper()
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s: TMPDIR holds %v", when, names)
	}
}

// waitThumb polls the thumbnail of f until it is made, at most 10 s after
// since; meanwhile it must be the placeholder, never cached. It returns the
// decoded thumbnail.
func (s *filesSite) waitThumb(t *testing.T, board string, f filePost, since time.Time) image.Image {
	t.Helper()
	path := fmt.Sprintf("/media/%s/%ds.jpg", board, f.Tim)
	var img image.Image
	testutil.Eventually(t, time.Until(since.Add(10*time.Second)), func() error {
		a := s.get(t, path)
		switch a.code {
		case http.StatusOK:
			if ct := a.header.Get("Content-Type"); ct != "image/jpeg" {
				t.Fatalf("GET %s: Content-Type %q", path, ct)
			}
			if !strings.Contains(a.header.Get("Cache-Control"), "immutable") {
				t.Errorf("GET %s: Cache-Control %q, want immutable", path, a.header.Get("Cache-Control"))
			}
			var err error
			img, err = jpeg.Decode(bytes.NewReader(a.body))
			if err != nil {
				t.Fatalf("GET %s: not a JPEG: %v", path, err)
			}
			if b := img.Bounds(); b.Dx() != f.TnW || b.Dy() != f.TnH {
				t.Fatalf("thumbnail of %s%s is %dx%d, the JSON says tn_w x tn_h = %dx%d", f.Filename, f.Ext, b.Dx(), b.Dy(), f.TnW, f.TnH)
			}
			return nil
		case http.StatusNotFound:
			if ct, cc := a.header.Get("Content-Type"), a.header.Get("Cache-Control"); ct != "image/svg+xml" || cc != "no-store" {
				t.Fatalf("GET %s before the thumbnail is made: 404 with Content-Type %q, Cache-Control %q; want the SVG placeholder, no-store", path, ct, cc)
			}
			return fmt.Errorf("no thumbnail of %s%s (%s) 10 s after its post (the log follows)", f.Filename, f.Ext, path)
		}
		t.Fatalf("GET %s: %d %s", path, a.code, a.body)
		return nil
	})
	return img
}

// storedForm is what upload.Receive stores of data.
func storedForm(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := upload.Receive(bytes.NewReader(data), "f", t.TempDir(), upload.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Remove()
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkServed checks the JSON of the post of data and serves its file.
func (s *filesSite) checkServed(t *testing.T, board string, f filePost, data []byte, name, ext, ctype string, w, h int) {
	t.Helper()
	sum := md5.Sum(data)
	tnW, tnH := maniwani.ThumbSize(w, h)
	if f.Tim <= 0 || f.Ext != ext || f.Fsize != int64(len(data)) || f.MD5 != base64.StdEncoding.EncodeToString(sum[:]) ||
		f.W != w || f.H != h || f.TnW != tnW || f.TnH != tnH || f.Filename != name {
		t.Errorf("thread JSON has %+v; want ext %s, fsize %d, md5 %s, %dx%d, thumbnail %dx%d, filename %q",
			f, ext, len(data), base64.StdEncoding.EncodeToString(sum[:]), w, h, tnW, tnH, name)
	}
	path := fmt.Sprintf("/media/%s/%d%s", board, f.Tim, ext)
	a := s.get(t, path)
	if a.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, a.code, a.body)
	}
	if !bytes.Equal(a.body, data) {
		t.Errorf("GET %s: %d bytes that differ from the %d posted", path, len(a.body), len(data))
	}
	if got := a.header.Get("Content-Type"); got != ctype {
		t.Errorf("GET %s: Content-Type %q, want %q", path, got, ctype)
	}
	if got := a.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("GET %s: X-Content-Type-Options %q", path, got)
	}
	if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=") {
		t.Errorf("GET %s: Cache-Control %q, want a long immutable one", path, cc)
	}
	etag := a.header.Get("ETag")
	if etag == "" {
		t.Errorf("GET %s: no ETag", path)
	} else if c := s.get(t, path, "If-None-Match", etag); c.code != http.StatusNotModified {
		t.Errorf("GET %s with If-None-Match %s: %d", path, etag, c.code)
	}
	r := s.get(t, path, "Range", "bytes=0-99")
	n := min(100, len(data))
	if r.code != http.StatusPartialContent || !bytes.Equal(r.body, data[:n]) ||
		r.header.Get("Content-Range") != fmt.Sprintf("bytes 0-%d/%d", n-1, len(data)) {
		t.Errorf("GET %s, Range bytes=0-99: %d, Content-Range %q, %d bytes", path, r.code, r.header.Get("Content-Range"), len(r.body))
	}
}

// filesSuite is what every storage passes; without ffmpeg (allowed only
// outside CI) videos are posted and served but not thumbnailed.
func filesSuite(t *testing.T, s *filesSite, ffmpeg bool) {
	t0 := time.Now()
	readFixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "api", "upload", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plainJPEG := gradientJPEG(t, 600, 400, 1)

	t.Run("each type", func(t *testing.T) {
		cases := []struct {
			kind, name string
			data       []byte
			ext, ctype string
			w, h       int
		}{
			{"JPEG", "photo.jpg", plainJPEG, ".jpg", "image/jpeg", 600, 400},
			{"PNG", "drawing.png", gradientPNG(t, 300, 500, 1), ".png", "image/png", 300, 500},
			{"GIF", "dance.gif", twoFrameGIF(t, 120, 80), ".gif", "image/gif", 120, 80},
			{"WebP", "leaf.webp", readFixture("tiny.webp"), ".webp", "image/webp", 40, 30},
			{"WebM", "clip.webm", readFixture("tiny.webm"), ".webm", "video/webm", 64, 48},
			{"MP4", "clip.mp4", readFixture("tiny.mp4"), ".mp4", "video/mp4", 64, 48},
		}
		type made struct {
			board string
			f     filePost
			at    time.Time
		}
		var posted []made
		for _, c := range cases {
			at := time.Now()
			no := s.postFile(t, "b", map[string]string{"com": c.kind + " file"}, c.name, c.data)
			f := s.op(t, "b", no)
			// The file as the api stores it: the fixture videos' metadata
			// (ffmpeg's tags) is zeroed, the images here have none.
			s.checkServed(t, "b", f, storedForm(t, c.data), strings.TrimSuffix(c.name, c.ext), c.ext, c.ctype, c.w, c.h)
			// The same name with another type's extension is no file.
			other := ".png"
			if c.ext == ".png" {
				other = ".jpg"
			}
			if a := s.get(t, fmt.Sprintf("/media/b/%d%s", f.Tim, other)); a.code != http.StatusNotFound {
				t.Errorf("the %s file served as %s: %d", c.kind, other, a.code)
			}
			posted = append(posted, made{"b", f, at})
		}
		// A board that takes JPEG only takes a JPEG.
		at := time.Now()
		onlyJPEG := gradientJPEG(t, 200, 260, 2)
		no := s.postFile(t, "v", map[string]string{"com": "on /v/"}, "only.jpg", onlyJPEG)
		f := s.op(t, "v", no)
		s.checkServed(t, "v", f, onlyJPEG, "only", ".jpg", "image/jpeg", 200, 260)
		posted = append(posted, made{"v", f, at})
		for _, m := range posted {
			if (m.f.Ext == ".webm" || m.f.Ext == ".mp4") && !ffmpeg {
				t.Logf("no ffmpeg: the thumbnail of the %s file is not checked", m.f.Ext)
				continue
			}
			s.waitThumb(t, m.board, m.f, m.at)
		}
		t.Logf("%d files posted, served and thumbnailed in %v", len(posted), time.Since(at).Round(time.Millisecond))
	})

	// The same bytes twice: two posts, one stored object; deleting one post
	// keeps the bytes for the other, deleting the last drops them and their
	// thumbnail at once.
	t.Run("dedup and self-delete", func(t *testing.T) {
		data := gradientPNG(t, 320, 200, 2)
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		before := len(s.keys(t, "src/"))
		at := time.Now()
		a := s.postFile(t, "b", map[string]string{"com": "first", "pwd": "secret-a"}, "twice.png", data)
		fa := s.op(t, "b", a)
		s.checkServed(t, "b", fa, data, "twice", ".png", "image/png", 320, 200)
		// The second post comes once the first's thumbnail is made: a
		// thumbnail job still running when the last post of its bytes is
		// deleted may store the thumbnail again after the deletion, which
		// is not what this test is about.
		s.waitThumb(t, "b", fa, at)
		at = time.Now()
		b := s.postFile(t, "b", map[string]string{"com": "second", "pwd": "secret-b"}, "again.png", data)
		fb := s.op(t, "b", b)
		if fa.Tim == fb.Tim {
			t.Fatalf("two posts share the name %d", fa.Tim)
		}
		s.checkServed(t, "b", fb, data, "again", ".png", "image/png", 320, 200)
		s.waitThumb(t, "b", fb, at)
		if keys := s.srcOf(t, sha); len(keys) != 1 {
			t.Errorf("the bytes posted twice are stored as %v, want one object", keys)
		}
		if after := len(s.keys(t, "src/")); after != before+1 {
			t.Errorf("%d originals stored before the two posts, %d after; want one more", before, after)
		}
		thumbKey := "thumb/" + sha[:2] + "/" + sha + ".jpg"
		if keys := s.keys(t, thumbKey); len(keys) != 1 {
			t.Errorf("thumbnails of the bytes: %v", keys)
		}

		del := func(no int64, pwd string) filesAnswer {
			req, _ := http.NewRequest(http.MethodPost, s.p.base+"/b/delete",
				strings.NewReader(url.Values{"no": {fmt.Sprint(no)}, "pwd": {pwd}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Forwarded-For", s.ip())
			return s.do(t, req)
		}
		fileA, fileB := fmt.Sprintf("/media/b/%d.png", fa.Tim), fmt.Sprintf("/media/b/%d.png", fb.Tim)
		if r := del(a, "wrong"); r.code != http.StatusForbidden {
			t.Errorf("delete with a wrong password: %d %s", r.code, r.body)
		}
		if r := s.get(t, fileA); r.code != http.StatusOK {
			t.Errorf("GET %s after a refused delete: %d", fileA, r.code)
		}
		if r := del(a, "secret-a"); r.code != http.StatusOK {
			t.Fatalf("delete No.%d: %d %s", a, r.code, r.body)
		}
		if r := s.get(t, fileA); r.code != http.StatusNotFound {
			t.Errorf("GET %s right after its post was deleted: %d", fileA, r.code)
		}
		if r := s.get(t, fmt.Sprintf("/media/b/%ds.jpg", fa.Tim)); r.code != http.StatusNotFound {
			t.Errorf("thumbnail of a deleted post: %d", r.code)
		}
		if r := s.get(t, fileB); r.code != http.StatusOK || !bytes.Equal(r.body, data) {
			t.Errorf("GET %s, whose bytes another deleted post shared: %d", fileB, r.code)
		}
		if keys := s.srcOf(t, sha); len(keys) != 1 {
			t.Errorf("bytes still used by No.%d are stored as %v", b, keys)
		}
		if r := del(b, "secret-b"); r.code != http.StatusOK {
			t.Fatalf("delete No.%d: %d %s", b, r.code, r.body)
		}
		if r := s.get(t, fileB); r.code != http.StatusNotFound {
			t.Errorf("GET %s right after the last post using it was deleted: %d", fileB, r.code)
		}
		if keys := s.srcOf(t, sha); len(keys) != 0 {
			t.Errorf("bytes no post uses are still stored: %v", keys)
		}
		if keys := s.keys(t, thumbKey); len(keys) != 0 {
			t.Errorf("the thumbnail of bytes no post uses is still stored: %v", keys)
		}
		for _, no := range []int64{a, b} {
			if slices.Contains(s.threads(t, "b"), no) {
				t.Errorf("deleted thread %d still in the catalog", no)
			}
		}
	})

	t.Run("EXIF cut", func(t *testing.T) {
		const model = "ManiwaniCam 9000 serial 4242"
		plain := gradientJPEG(t, 400, 300, 3)
		withExif := insertExif(plain, model)
		at := time.Now()
		no := s.postFile(t, "b", map[string]string{"com": "with EXIF"}, "camera.jpg", withExif)
		f := s.op(t, "b", no)
		// What is stored is the same JPEG without its APP1 segment, and the
		// JSON describes those bytes.
		s.checkServed(t, "b", f, plain, "camera", ".jpg", "image/jpeg", 400, 300)
		a := s.get(t, fmt.Sprintf("/media/b/%d.jpg", f.Tim))
		if bytes.Contains(a.body, []byte("Exif\x00\x00")) || bytes.Contains(a.body, []byte(model)) {
			t.Error("the served JPEG still holds its EXIF")
		}
		if _, err := jpeg.Decode(bytes.NewReader(a.body)); err != nil {
			t.Errorf("the served JPEG does not decode: %v", err)
		}
		s.waitThumb(t, "b", f, at)
	})

	t.Run("refusals", func(t *testing.T) {
		var boards struct {
			Boards []struct {
				Board       string
				MaxFilesize int64 `json:"max_filesize"`
			}
		}
		if a := s.get(t, "/boards.json"); a.code != http.StatusOK || json.Unmarshal(a.body, &boards) != nil {
			t.Fatalf("boards.json: %d %s", a.code, a.body)
		}
		var maxSize int64
		for _, b := range boards.Boards {
			if b.Board == "b" {
				maxSize = b.MaxFilesize
			}
		}
		if maxSize <= 0 {
			t.Fatalf("no max_filesize of /b/ in boards.json: %+v", boards)
		}
		bomb := bombPNG(t, 20000, 20000)
		if len(bomb) > 16<<10 {
			t.Fatalf("the 20000x20000 PNG is %d bytes, not a few KB", len(bomb))
		}
		// Just over the limit, and the start of a PNG.
		tooBig := make([]byte, maxSize+1)
		copy(tooBig, gradientPNG(t, 16, 16, 3))

		cases := []struct {
			what, board, name string
			data              []byte
			code              int
			keyword           string
		}{
			{"a 20000x20000 PNG of a few KB", "b", "bomb.png", bomb, 400, "megapixels"},
			{"a text file named .png", "b", "notes.png", []byte("Dear diary,\nthis is not a picture at all.\n"), 400, "type"},
			{"a truncated JPEG", "b", "cut.jpg", plainJPEG[:len(plainJPEG)/2], 400, "cut short"},
			{fmt.Sprintf("a file of %d bytes, over /b/'s %d", len(tooBig), maxSize), "b", "huge.png", tooBig, 413, "limit"},
			{"a PNG on a board that takes JPEG only", "v", "wrong.png", gradientPNG(t, 64, 64, 4), 400, "PNG"},
		}
		s.tmpEmpty(t, "before the refusals")
		for _, c := range cases {
			t.Run(c.what, func(t *testing.T) {
				src, threads := s.keys(t, "src/"), s.threads(t, c.board)
				a := s.send(t, c.board, map[string]string{"com": "should not appear"}, c.name, c.data)
				var v struct{ Error string }
				if a.code != c.code || json.Unmarshal(a.body, &v) != nil || v.Error == "" {
					t.Fatalf("answer %d %s; want %d and {\"error\": ...}", a.code, a.body, c.code)
				}
				if !strings.Contains(v.Error, c.keyword) {
					t.Errorf("error %q does not say %q", v.Error, c.keyword)
				}
				t.Logf("%d %q", a.code, v.Error)
				if got := s.keys(t, "src/"); !slices.Equal(got, src) {
					t.Errorf("storage held %v, now %v", src, got)
				}
				if got := s.threads(t, c.board); !slices.Equal(got, threads) {
					t.Errorf("catalog of /%s/ had threads %v, now %v", c.board, threads, got)
				}
				s.tmpEmpty(t, "after the refusal")
			})
		}
	})

	s.tmpEmpty(t, "at the end")
	for line := range strings.Lines(s.p.logs()) {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("the process logged an error: %s", line)
		}
	}
	t.Logf("suite ran in %v", time.Since(t0).Round(time.Millisecond))
}

// diskKeys lists the keys under prefix of a disk store rooted at root
// (temporary files of a Put included).
func diskKeys(t *testing.T, root, prefix string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// gradientPNG is a w x h picture; seed makes its bytes differ.
func gradientPNG(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, gradient(w, h, seed)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gradientJPEG is a w x h picture as a JPEG of the standard encoder, which
// writes no metadata.
func gradientJPEG(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(w, h, seed), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gradient(w, h, seed int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(seed * 37), 255})
		}
	}
	return m
}

// twoFrameGIF is an animated GIF: a red frame, then a blue one.
func twoFrameGIF(t *testing.T, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{255, 255, 255, 255}}
	anim := &gif.GIF{LoopCount: 0}
	for i := range 2 {
		m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := range h {
			for x := range w {
				c := uint8(i)
				if (x/10+y/10)%2 == 0 {
					c = 2
				}
				m.SetColorIndex(x, y, c)
			}
		}
		anim.Image = append(anim.Image, m)
		anim.Delay = append(anim.Delay, 20)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombPNG is a PNG whose IHDR claims w x h greyscale pixels, with a tiny
// IDAT: a few KB that would decode to w*h bytes.
func bombPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	pngChunk(&out, "IHDR", ihdr)
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	zw.Write(make([]byte, 4<<20)) // the first rows, all zero
	zw.Close()
	pngChunk(&out, "IDAT", idat.Bytes())
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

func pngChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}

// insertExif puts an APP1 Exif segment right after the JPEG's SOI: IFD0
// with the camera's model and orientation 1 (as stored).
func insertExif(jpg []byte, model string) []byte {
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	put := func(vs ...any) {
		for _, v := range vs {
			binary.Write(&tiff, le, v)
		}
	}
	put(uint32(8)) // IFD0 right after the header
	value := append([]byte(model), 0)
	const entries = 2
	put(uint16(entries))
	// Model (0x0110), ASCII, its text after the IFD.
	put(uint16(0x0110), uint16(2), uint32(len(value)), uint32(8+2+entries*12+4))
	// Orientation (0x0112), SHORT, 1.
	put(uint16(0x0112), uint16(3), uint32(1), uint16(1), uint16(0))
	put(uint32(0)) // no IFD1
	tiff.Write(value)
	body := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, byte((len(body) + 2) >> 8), byte(len(body) + 2)}
	out := append([]byte{0xff, 0xd8}, seg...)
	out = append(out, body...)
	return append(out, jpg[2:]...)
}
