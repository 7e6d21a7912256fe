package ui

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// fakeThread makes a thread of n posts as a busy board has them: comments
// of 200 to 400 characters of text that gzip compresses worse than English
// (random letters), greentext, quotes of earlier posts, and a file on every
// third post, some spoilered, some with their thumbnail not made yet.
func fakeThread(n int) *maniwani.ThreadView {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	word := func() string {
		b := make([]byte, 2+r.IntN(8))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	text := func(min, max int) string {
		var sb strings.Builder
		want := min + r.IntN(max-min)
		for sb.Len() < want {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(word())
		}
		return sb.String()
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v := &maniwani.ThreadView{Thread: maniwani.Thread{Board: "b", No: 1000, Replies: n - 1, Modified: t0}}
	for i := 0; i < n; i++ {
		no := int64(1000 + i)
		var com, body strings.Builder
		if i > 0 && r.IntN(2) == 0 {
			q := 1000 + int64(r.IntN(i))
			fmt.Fprintf(&com, `<a href="/b/thread/1000#p%d" class="quotelink">&gt;&gt;%d</a><br>`, q, q)
			fmt.Fprintf(&body, ">>%d\n", q)
		}
		if r.IntN(3) == 0 {
			g := text(20, 60)
			fmt.Fprintf(&com, `<span class="quote">&gt;%s</span><br>`, g)
			body.WriteString(">" + g + "\n")
		}
		t := text(180, 340)
		com.WriteString(html.EscapeString(t))
		body.WriteString(t)
		p := maniwani.Post{Board: "b", No: no, Time: t0.Add(time.Duration(i) * time.Minute), Name: "Anonymous",
			Body: body.String(), Com: com.String()}
		if i > 0 {
			p.Resto = 1000
		}
		if i == 0 {
			p.Subject = "A thread of " + fmt.Sprint(n) + " posts"
		}
		if r.IntN(5) == 0 {
			p.Trip = "!Ep8pui8Vw2"
		}
		if i%3 == 0 {
			p.File = &maniwani.File{Tim: 1795000000000 + int64(i)*1377, Filename: word() + "_" + word(), Ext: ".jpg",
				Size: int64(20000 + r.IntN(3000000)), MD5: "rL0Y20zC+Fzt72VPzMSk2A==", Width: 1200, Height: 900,
				ThumbW: 250, ThumbH: 188, Thumbnail: i%9 != 3, Spoiler: i%12 == 6}
		}
		v.Posts = append(v.Posts, p)
	}
	return v
}

func testService(t testing.TB) *Service {
	s, err := New(Config{}, Deps{Reader: nopReader{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func renderThread(t testing.TB, s *Service, v *maniwani.ThreadView) []byte {
	b := boardB()
	var buf bytes.Buffer
	if err := s.tpl.ExecuteTemplate(&buf, "thread", s.threadPage([]maniwani.Board{b}, &b, v)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func boardB() maniwani.Board {
	return maniwani.Board{Name: "b", Title: "Random", Description: "The stories and information posted here are artistic works of fiction and falsehood.",
		MaxThreads: 150, BumpLimit: 300, ImageLimit: 150, MaxFileSize: 8 << 20, CooldownThread: 30, CooldownReply: 10}
}

func gzipSize(t testing.TB, b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression) // as the router's gzip
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

// The weight targets of the issue: a 50-post thread page is at most 30 KB
// of gzipped HTML, and all the JavaScript together at most 30 KB gzipped.
func TestPageWeight(t *testing.T) {
	s := testService(t)
	page := renderThread(t, s, fakeThread(50))
	gz := gzipSize(t, page)
	t.Logf("50-post thread page: %d bytes of HTML, %d gzipped", len(page), gz)
	if gz > 30<<10 {
		t.Errorf("a 50-post thread page is %d bytes gzipped; the target is 30 KB", gz)
	}
	var js []byte
	for name, a := range s.assets.byName {
		if strings.HasSuffix(name, ".js") {
			js = append(js, a.body...)
		}
	}
	gz = gzipSize(t, js)
	t.Logf("JavaScript: %d bytes, %d gzipped", len(js), gz)
	if len(js) == 0 || gz > 30<<10 {
		t.Errorf("the JavaScript is %d bytes gzipped; the target is at most 30 KB", gz)
	}
}

// Rendering a 300-post thread page, uncached, from its ThreadView: the view
// (files, backlinks) and the template. Target: under 5 ms.
func BenchmarkThreadPage300(b *testing.B) {
	s := testService(b)
	v := fakeThread(300)
	bd := boardB()
	boards := []maniwani.Board{bd}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := s.tpl.ExecuteTemplate(&buf, "thread", s.threadPage(boards, &bd, v)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// Files: the thumbnail links to the file; one not made yet is our
// placeholder that the script swaps; a spoiler shows the spoiler image.
func TestFiles(t *testing.T) {
	s := testService(t)
	v := fakeThread(13)
	page := string(renderThread(t, s, v))
	f := v.Posts[0].File
	link := fmt.Sprintf(`<a href="/media/b/%d.jpg" class="fl" target="_blank"><img src="/media/b/%ds.jpg" width="250" height="188"`, f.Tim, f.Tim)
	if !strings.Contains(page, link) {
		t.Errorf("no thumbnail linking to the file %s in:\n%s", link, post(page, v.Posts[0].No))
	}
	if !strings.Contains(page, fmt.Sprintf(`%s%s</a> (%s, 1200×900)`, f.Filename, f.Ext, humanSize(f.Size))) {
		t.Errorf("no file info in %s", post(page, v.Posts[0].No))
	}
	waiting := post(page, v.Posts[3].No) // i%9 == 3: no thumbnail yet
	if !regexp.MustCompile(`<img src="/static/thumb\.[0-9a-f]+\.svg" width="250" height="188" alt="Thumbnail" loading="lazy" data-w="/media/b/\d+s\.jpg">`).MatchString(waiting) {
		t.Errorf("a file without its thumbnail is not the placeholder: %s", waiting)
	}
	spoiler := post(page, v.Posts[6].No)
	if !regexp.MustCompile(`<img src="/static/spoiler\.[0-9a-f]+\.svg" width="100" height="100" alt="Spoiler"`).MatchString(spoiler) {
		t.Errorf("a spoilered file is not the spoiler image: %s", spoiler)
	}
	if strings.Contains(page, "/media/b/0") {
		t.Error("a post without a file links a file")
	}
}

// post is the markup of post no in page.
func post(page string, no int64) string {
	i := strings.Index(page, fmt.Sprintf(`id="p%d"`, no))
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i+1:], `" id="p`)
	if j < 0 {
		return page[i:]
	}
	return page[i : i+1+j]
}

func TestBacklinks(t *testing.T) {
	s := testService(t)
	v := fakeThread(3)
	v.Posts[1].Com = `<a href="/b/thread/1000#p1000" class="quotelink">&gt;&gt;1000</a> and <a href="/b/thread/1000#p1000" class="quotelink">&gt;&gt;1000</a>`
	v.Posts[2].Com = `<a href="/b/thread/1000#p1000" class="quotelink">&gt;&gt;1000</a><a href="/b/thread/1000#p1001" class="quotelink">&gt;&gt;1001</a>` +
		`<a href="/b/thread/77#p1001" class="quotelink">&gt;&gt;1001</a><a href="/g/thread/1000#p1001" class="quotelink">&gt;&gt;&gt;/g/1001</a>`
	page := string(renderThread(t, s, v))
	want := map[int64]string{
		1000: `<div class="bl"><a href="/b/thread/1000#p1001" class="quotelink">&gt;&gt;1001</a> <a href="/b/thread/1000#p1002" class="quotelink">&gt;&gt;1002</a> </div>`,
		1001: `<div class="bl"><a href="/b/thread/1000#p1002" class="quotelink">&gt;&gt;1002</a> </div>`,
	}
	for no, bl := range want {
		if got := post(page, no); !strings.Contains(got, bl) {
			t.Errorf("post %d: want backlinks %s in\n%s", no, bl, got)
		}
	}
	if strings.Contains(post(page, 1002), `class="bl"`) {
		t.Error("post 1002 has backlinks though nobody quotes it")
	}
}

func TestHumanSizeAndFit(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KB", 1536: "2 KB", 3 << 20: "3.0 MB", 1258291: "1.2 MB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
	for _, c := range [][4]int{{1000, 500, 250, 125}, {500, 1000, 125, 250}, {100, 50, 100, 50}, {0, 0, 100, 100}} {
		if w, h := fit(c[0], c[1], 250); w != c[2] || h != c[3] {
			t.Errorf("fit(%d, %d) = %d x %d, want %d x %d", c[0], c[1], w, h, c[2], c[3])
		}
	}
	if got := excerpt("a  b\nc", 10); got != "a b c" {
		t.Errorf("excerpt joins lines: %q", got)
	}
	if got := excerpt(strings.Repeat("word ", 100), 30); len([]rune(got)) > 31 || !strings.HasSuffix(got, "…") {
		t.Errorf("excerpt cuts: %q", got)
	}
}

// The gzipped assets are what a browser unzips to the plain ones.
func TestAssetsGzip(t *testing.T) {
	s := testService(t)
	for name, a := range s.assets.byName {
		if a.gzip == nil {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(a.gzip))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		if !bytes.Equal(b, a.body) {
			t.Errorf("%s: gzip differs", name)
		}
	}
}

// nopReader reads nothing; the tests here render views directly.
type nopReader struct{}

func (nopReader) Boards(context.Context) ([]maniwani.Board, error) { return nil, nil }
func (nopReader) Board(context.Context, string) (*maniwani.Board, error) {
	return nil, maniwani.Errorf(maniwani.KindNotFound, "no board")
}
func (nopReader) Threads(context.Context, string, int, int, int) ([]maniwani.ThreadView, error) {
	return nil, nil
}
func (nopReader) Thread(context.Context, string, int64) (*maniwani.ThreadView, error) {
	return nil, maniwani.Errorf(maniwani.KindNotFound, "no thread")
}
func (nopReader) Latest(context.Context, int) ([]maniwani.ThreadView, error) { return nil, nil }
func (nopReader) ThreadOf(context.Context, string, int64) (int64, error) {
	return 0, maniwani.Errorf(maniwani.KindNotFound, "none")
}
func (nopReader) MovedTo(context.Context, string, int64) (maniwani.MovedPost, error) {
	return maniwani.MovedPost{}, maniwani.Errorf(maniwani.KindNotFound, "none")
}
func (nopReader) Archive(context.Context, string, int) ([]maniwani.ThreadView, error) {
	return nil, nil
}

// Bug 8 of issue 18: a thread at its bump or image limit says so, and
// past its image limit its form offers no file; a thread below both says
// neither and offers the board's types. Bug 9: the file field's accept
// names the board's own types.
func TestThreadLimits(t *testing.T) {
	s := testService(t)
	b := boardB()
	b.BumpLimit, b.ImageLimit, b.FileTypes = 3, 2, []string{".png", ".webm"}
	for _, c := range []struct {
		replies, images int
		bump, image     bool
	}{{1, 1, false, false}, {3, 1, true, false}, {1, 2, false, true}, {5, 4, true, true}} {
		v := fakeThread(1)
		v.Replies, v.Images = c.replies, c.images
		var buf bytes.Buffer
		if err := s.tpl.ExecuteTemplate(&buf, "thread", s.threadPage([]maniwani.Board{b}, &b, v)); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		if got := strings.Contains(page, `id="bumplimit"`) && strings.Contains(page, "bump limit (3 replies)"); got != c.bump {
			t.Errorf("%d replies: bump limit notice %v, want %v", c.replies, got, c.bump)
		}
		if got := strings.Contains(page, `id="imagelimit"`) && strings.Contains(page, "image limit (2 files)"); got != c.image {
			t.Errorf("%d images: image limit notice %v, want %v", c.images, got, c.image)
		}
		if got := strings.Contains(page, `name="upfile"`); got == c.image {
			t.Errorf("%d images of 2: file field offered %v", c.images, got)
		}
		if !c.image && !strings.Contains(page, `accept="image/png,.png,video/webm,.webm"`) {
			t.Errorf("the file field does not accept the board's types:\n%s", page)
		}
	}
}
