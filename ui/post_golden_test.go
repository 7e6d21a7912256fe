package ui

import (
	"context"
	"encoding/json"
	goflag "flag" // ui has a func flag of its own
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/maniwani/maniwani"
)

var update = goflag.Bool("update", false, "rewrite testdata/posts from ui/post.go's markup")

// goldenThread is a thread whose posts cover what a post's markup varies
// by: subject, tripcode, poster ID, the OP's flags, a file whose thumbnail
// is being made (what a live post has), a spoiler, a file without a size,
// a size in MB that is a tie at one decimal, characters to escape, quotes,
// several files.
// No post quotes another of the thread: backlinks are the page's, not the
// post's (the script adds them as replies arrive).
func goldenThread() (*maniwani.ThreadView, []string) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v := &maniwani.ThreadView{Thread: maniwani.Thread{Board: "b", No: 100, Sticky: true, Closed: true, Replies: 3, Images: 3}}
	v.Posts = []maniwani.Post{
		{Board: "b", No: 100, Time: t0, Name: "Kot", Trip: "!Ep8pui8Vw2", PosterID: "a1b2c3d4", Subject: "Cats & <dogs>",
			Com: `<span class="quote">&gt;greentext &amp; &#34;quotes&#34;</span><br>&lt;b&gt;not bold&lt;/b&gt;`,
			File: &maniwani.File{Tim: 1795341600123, Filename: "gradient", Ext: ".png", Size: 1310720, MD5: "4hyYqaEDeo+ryfSzflpznQ==",
				Width: 800, Height: 500, ThumbW: 250, ThumbH: 156}},
		{Board: "b", No: 101, Resto: 100, Time: t0.Add(time.Minute), Name: "Anonymous", PosterID: "zz-9_Q.w",
			Com:  `<a href="/b/thread/7#p8" class="quotelink">&gt;&gt;8</a><br>spoilered, ünïcode`,
			File: &maniwani.File{Tim: 1795341660456, Filename: "clip", Ext: ".webm", Size: 34567, Width: 1280, Height: 720, ThumbW: 250, ThumbH: 141, Spoiler: true}},
		{Board: "b", No: 102, Resto: 100, Time: t0.Add(2 * time.Minute), Name: `<b>"Bob" & 'Al'</b>`, Trip: "!!secure+/=",
			Com: `a plain reply &lt;script&gt;`},
		{Board: "b", No: 103, Resto: 100, Time: t0.Add(3 * time.Minute), Name: "Anonymous",
			Com:  "unsized",
			File: &maniwani.File{Tim: 1795341780789, Filename: `we"ird <name>`, Ext: ".mp4", Size: 512}},
		{Board: "b", No: 104, Resto: 100, Time: t0.Add(4 * time.Minute), Name: "Anonymous",
			Com:  "no thumbnail size",
			File: &maniwani.File{Tim: 1795341840000, Filename: "tall", Ext: ".jpg", Size: 5 << 20, Width: 901, Height: 1200}},
		{Board: "b", No: 105, Resto: 100, Time: t0.Add(5 * time.Minute), Name: "Anonymous",
			Com:  "three files",
			File: &maniwani.File{Tim: 1795341900000, Filename: "one", Ext: ".png", Size: 2048, Width: 300, Height: 200, ThumbW: 250, ThumbH: 167},
			Extra: []maniwani.File{{Tim: 1795341900001, Filename: "two", Ext: ".gif", Size: 100, Width: 20, Height: 10, ThumbW: 20, ThumbH: 10},
				{Tim: 1795341900002, Filename: "a very long file name, ünïcode & <all>, that goes on", Ext: ".webm", Size: 4096, Width: 640, Height: 480, ThumbW: 250, ThumbH: 188, Spoiler: true}}},
	}
	return v, []string{"op", "spoiler", "escapes", "unsized", "fit", "files"}
}

// The markup of a post is written twice: by ui/post.go into the pages and
// by app.js (postHTML) for the posts that arrive on the live stream or are
// fetched as JSON for a preview. Both must write the same bytes, those of
// testdata/posts (go test -run TestPostMarkup -update rewrites them from
// the Go side). The script runs in headless Chromium, the browser the
// project's browser tests drive, loaded by a page of this service as
// every page loads it, and is given each post as the thread JSON has it
// (maniwani.NewPostJSON, with the OP's flags as the api adds them).
func TestPostMarkup(t *testing.T) {
	s := testService(t)
	v, names := goldenThread()
	tv := s.newThreadView(v)
	posts := make([]*maniwani.PostJSON, len(v.Posts))
	for i := range v.Posts {
		posts[i] = maniwani.NewPostJSON(&v.Posts[i])
	}
	posts[0].Sticky, posts[0].Closed = 1, 1

	golden := make([]string, len(names))
	for i, name := range names {
		path := filepath.Join("testdata", "posts", name+".html")
		got := string(postHTML(tv.Posts[i]))
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -run TestPostMarkup -update writes it)", err)
		}
		golden[i] = string(want)
		if got != golden[i] {
			t.Errorf("ui/post.go writes post %q as\n%s\nnot as %s:\n%s", name, got, path, want)
		}
	}

	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ctx := newTab(t)
	arg, err := json.Marshal(posts)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`(() => { const { ph, sp } = document.querySelector('script[data-ph]').dataset;
			return %s.map(p => postHTML(p, 'b', ph, sp)); })()`, arg)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("app.js rendered %d posts, want %d", len(got), len(names))
	}
	for i, name := range names {
		if got[i] != golden[i] {
			t.Errorf("app.js writes post %q as\n%s\nnot as testdata/posts/%s.html:\n%s", name, got[i], name, golden[i])
		}
	}
}

// newTab starts headless Chromium for the test and returns its tab, with
// 30 s for what the test does there. Without chromium the test is skipped,
// except under CI=true, where it fails.
func newTab(t *testing.T) context.Context {
	t.Helper()
	var chrome string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chrome = p
			break
		}
	}
	if chrome == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required under CI=true (scripts/chromium.sh installs it)")
		}
		t.Skip("no chromium on PATH (scripts/chromium.sh installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return ctx
}
