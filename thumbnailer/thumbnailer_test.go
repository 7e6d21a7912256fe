package thumbnailer

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
)

func TestSizesAreThumbSize(t *testing.T) {
	dir := t.TempDir()
	sizes := []struct{ w, h int }{
		{1000, 600}, {600, 1000}, {800, 800}, // landscape, portrait, square
		{100, 80}, {250, 250}, {251, 100}, {250, 1}, // small or at the limit
		{3000, 7}, {9, 2000}, {4001, 3001}, // extreme and odd
	}
	for _, s := range sizes {
		m := scene(s.w, s.h)
		for _, ext := range []string{".jpg", ".png"} {
			path := writeFile(t, dir, strconv.Itoa(s.w)+"x"+strconv.Itoa(s.h)+ext, m)
			mustMake(t, path, s.w, s.h, Options{})
		}
	}
}

// The fast paths (JPEG decoded at 1/2, 1/4 or 1/8; planes box-filtered;
// PNG shrunk while inflated) must look like the plain decode + Lanczos.
func TestFastPathsMatchPlainResize(t *testing.T) {
	dir := t.TempDir()
	gray := func(m image.Image) image.Image {
		g := image.NewGray(m.Bounds())
		for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
			for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
				g.Set(x, y, m.At(x, y))
			}
		}
		return g
	}
	cases := []struct {
		name string
		m    image.Image
	}{
		{"420-scale8.jpg", scene(4000, 3000)}, // 1/8: DC only
		{"420-scale4.jpg", scene(2000, 1500)}, // 1/4
		{"420-scale2.jpg", scene(1100, 800)},  // 1/2
		{"420-scale1.jpg", scene(900, 600)},   // whole, then the box filter
		{"gray-scale8.jpg", gray(scene(4000, 3000))},
		{"gray-scale1.jpg", gray(scene(900, 700))},
		{"rgb.png", scene(2000, 2000)},
		{"gray.png", gray(scene(1200, 900))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, c.name, c.m)
			b := c.m.Bounds()
			got := mustMake(t, path, b.Dx(), b.Dy(), Options{})
			if d := meanAbsDiff(t, got, reference(t, path)); d > 2.5 {
				t.Errorf("mean difference %.2f from decode + imaging.Resize", d)
			}
		})
	}
}

// Every JPEG subsampling, progressive, grey and CMYK, as ImageMagick
// writes them.
func TestJPEGKinds(t *testing.T) {
	convert := needTool(t, "convert")
	dir := t.TempDir()
	src := writeFile(t, dir, "src.png", scene(1100, 800))
	kinds := map[string][]string{
		"444.jpg":  {"-sampling-factor", "1x1"},
		"422.jpg":  {"-sampling-factor", "2x1"},
		"440.jpg":  {"-sampling-factor", "1x2"},
		"411.jpg":  {"-sampling-factor", "4x1"},
		"420p.jpg": {"-sampling-factor", "2x2", "-interlace", "JPEG"},
		"gray.jpg": {"-colorspace", "Gray"},
		"cmyk.jpg": {"-colorspace", "CMYK"},
	}
	for name, args := range kinds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, name)
			runTool(t, convert, append(append([]string{src, "-quality", "90"}, args...), path)...)
			for _, size := range []string{"", "2100x1100!", "4000x2000!"} { // 1/2, 1/4, 1/8
				p := path
				w, h := 1100, 800
				if size != "" {
					p = strings.TrimSuffix(path, ".jpg") + "-" + strings.TrimSuffix(size, "!") + ".jpg"
					runTool(t, convert, append(append([]string{src, "-resize", size, "-quality", "90"}, args...), p)...)
					w, h = parseSize(size)
				}
				got := mustMake(t, p, w, h, Options{})
				// 4:1:1 keeps a quarter of the chroma across; decoded at
				// 1/2 to 1/8, that is less than the thumbnail's width.
				limit := 2.5
				if name == "411.jpg" {
					limit = 4
				}
				if d := meanAbsDiff(t, got, reference(t, p)); d > limit {
					t.Errorf("%s: mean difference %.2f from decode + imaging.Resize", filepath.Base(p), d)
				}
			}
		})
	}
}

func parseSize(s string) (int, int) {
	a, b, _ := strings.Cut(strings.TrimSuffix(s, "!"), "x")
	w, _ := strconv.Atoi(a)
	h, _ := strconv.Atoi(b)
	return w, h
}

// An animated GIF's thumbnail is its first frame, on its logical screen.
func TestGIFFirstFrame(t *testing.T) {
	dir := t.TempDir()
	pal := color.Palette{color.NRGBA{220, 20, 20, 255}, color.NRGBA{20, 20, 220, 255}, color.NRGBA{0, 0, 0, 0}}
	frame := func(r image.Rectangle, idx uint8) *image.Paletted {
		p := image.NewPaletted(r, pal)
		for i := range p.Pix {
			p.Pix[i] = idx
		}
		return p
	}
	write := func(name string, g *gif.GIF) string {
		var buf bytes.Buffer
		if err := gif.EncodeAll(&buf, g); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		os.WriteFile(path, buf.Bytes(), 0o644)
		return path
	}
	red := color.NRGBA{220, 20, 20, 255}

	// Red, then blue: the thumbnail is red.
	path := write("anim.gif", &gif.GIF{
		Image: []*image.Paletted{frame(image.Rect(0, 0, 500, 400), 0), frame(image.Rect(0, 0, 500, 400), 1)},
		Delay: []int{10, 10},
	})
	m := mustMake(t, path, 500, 400, Options{})
	if c := colorAt(m, 125, 100); !near(m, 125, 100, red, 12) {
		t.Errorf("thumbnail is %v at its centre, want the first frame's red", c)
	}

	// A first frame on the left half of its screen, the second filling it:
	// the thumbnail is the screen's size, red on the left and the
	// background (white) on the right.
	path = write("partial.gif", &gif.GIF{
		Image:  []*image.Paletted{frame(image.Rect(0, 0, 300, 400), 0), frame(image.Rect(0, 0, 600, 400), 1)},
		Delay:  []int{10, 10},
		Config: image.Config{Width: 600, Height: 400, ColorModel: pal},
	})
	m = mustMake(t, path, 600, 400, Options{})
	if !near(m, 40, 80, red, 12) || !near(m, 210, 80, color.NRGBA{255, 255, 255, 255}, 6) {
		t.Errorf("partial first frame: left %v, right %v; want red and white", colorAt(m, 40, 80), colorAt(m, 210, 80))
	}
}

// Transparency is flattened on the background: white unless told.
func TestTransparencyFlattened(t *testing.T) {
	dir := t.TempDir()
	green := color.NRGBA{30, 160, 60, 255}
	for _, size := range []image.Point{{200, 100}, {1200, 600}} { // as it is; shrunk
		m := image.NewNRGBA(image.Rect(0, 0, size.X, size.Y))
		for y := range size.Y {
			for x := size.X / 2; x < size.X; x++ {
				m.SetNRGBA(x, y, green)
			}
		}
		path := writeFile(t, dir, "alpha-"+strconv.Itoa(size.X)+".png", m)
		tw, th := maniwani.ThumbSize(size.X, size.Y)
		got := mustMake(t, path, size.X, size.Y, Options{})
		if !near(got, tw/8, th/2, color.NRGBA{255, 255, 255, 255}, 4) || !near(got, tw*7/8, th/2, green, 8) {
			t.Errorf("%v on white: %v left, %v right", size, colorAt(got, tw/8, th/2), colorAt(got, tw*7/8, th/2))
		}
		page := color.NRGBA{238, 242, 255, 255}
		got = mustMake(t, path, size.X, size.Y, Options{Background: page})
		if !near(got, tw/8, th/2, page, 4) {
			t.Errorf("%v on %v: %v", size, page, colorAt(got, tw/8, th/2))
		}
	}
}

// Half-transparent pixels mix with the background.
func TestHalfTransparent(t *testing.T) {
	dir := t.TempDir()
	m := image.NewNRGBA(image.Rect(0, 0, 800, 800))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 0, 0, 0, 128
	}
	path := writeFile(t, dir, "half.png", m)
	got := mustMake(t, path, 800, 800, Options{})
	if !near(got, 125, 125, color.NRGBA{127, 127, 127, 255}, 4) {
		t.Errorf("50%% black on white is %v, want mid grey", colorAt(got, 125, 125))
	}
}

func TestWebP(t *testing.T) {
	convert := needTool(t, "convert")
	dir := t.TempDir()
	src := scene(1200, 800) // shrunk by 2 before the last step
	// The right half transparent, for the kinds that keep alpha.
	for y := range 800 {
		for x := 600; x < 1200; x++ {
			src.Pix[src.PixOffset(x, y)+3] = 0
		}
	}
	png := writeFile(t, dir, "src.png", src)
	for name, args := range map[string][]string{
		"lossy.webp":      {"-alpha", "off", "-quality", "90"},
		"lossy-a.webp":    {"-quality", "90"},
		"lossless-a.webp": {"-define", "webp:lossless=true"},
	} {
		path := filepath.Join(dir, name)
		runTool(t, convert, append(append([]string{png}, args...), path)...)
		got := mustMake(t, path, 1200, 800, Options{})
		if d := meanAbsDiff(t, got, reference(t, path)); d > 2.5 {
			t.Errorf("%s: mean difference %.2f from decode + imaging.Resize", name, d)
		}
		if name != "lossy.webp" && !near(got, 240, 80, color.NRGBA{255, 255, 255, 255}, 6) {
			t.Errorf("%s: %v at the transparent right, want white", name, colorAt(got, 240, 80))
		}
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	jpg := writeFile(t, dir, "big.jpg", scene(2000, 1500))
	png := writeFile(t, dir, "big.png", scene(1200, 900))
	small := writeFile(t, dir, "small.jpg", scene(200, 100))
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, bytes.Repeat([]byte("not an image "), 100), 0o644)
	fi, _ := os.Stat(jpg)
	fp, _ := os.Stat(png)
	cases := []struct{ name, path, ext string }{
		{"truncated jpeg", trunc(t, jpg, int(fi.Size())/2), ".jpg"},
		{"truncated jpeg header", trunc(t, jpg, 100), ".jpg"},
		{"truncated small jpeg", trunc(t, small, 2000), ".jpg"},
		{"truncated png", trunc(t, png, int(fp.Size())/2), ".png"},
		{"truncated png header", trunc(t, png, 30), ".png"},
		{"png named jpg", png, ".jpg"},
		{"garbage gif", garbage, ".gif"},
		{"garbage webp", garbage, ".webp"},
		{"garbage png", garbage, ".png"},
		{"empty", trunc(t, jpg, 0), ".jpg"},
	}
	for _, c := range cases {
		_, err := Make(context.Background(), c.path, c.ext, Options{})
		if err == nil {
			t.Errorf("%s: no error", c.name)
		} else if maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("%s: %v is not KindInvalid", c.name, err)
		}
	}
	if _, err := Make(context.Background(), jpg, ".bmp", Options{}); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf(".bmp: %v, want KindInvalid", err)
	}
	if _, err := Make(context.Background(), filepath.Join(dir, "missing.jpg"), ".jpg", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Make(ctx, jpg, ".jpg", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// An image whose header claims more than maxPixels is refused before it is
// decoded.
func TestTooLarge(t *testing.T) {
	dir := t.TempDir()
	// A 1x1 JPEG whose SOF says 20000x20000: only the header is read.
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), nil)
	data := buf.Bytes()
	i := bytes.Index(data, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	data[i+5], data[i+6], data[i+7], data[i+8] = 20000>>8, 20000&0xff, 20000>>8, 20000&0xff
	path := filepath.Join(dir, "bomb.jpg")
	os.WriteFile(path, data, 0o644)
	if _, err := Make(context.Background(), path, ".jpg", Options{}); maniwani.ErrorKind(err) != maniwani.KindTooLarge {
		t.Errorf("20000x20000: %v, want KindTooLarge", err)
	}
}

func trunc(t *testing.T, src string, n int) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "cut-"+strconv.Itoa(n)+filepath.Ext(src))
	copyTrunc(t, src, dst, n)
	return dst
}

func TestQuality(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "q.png", scene(1000, 800))
	lo, err := Make(context.Background(), path, ".png", Options{Quality: 20})
	if err != nil {
		t.Fatal(err)
	}
	hi, err := Make(context.Background(), path, ".png", Options{Quality: 98})
	if err != nil {
		t.Fatal(err)
	}
	def, err := Make(context.Background(), path, ".png", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !(len(lo.JPEG) < len(def.JPEG) && len(def.JPEG) < len(hi.JPEG)) {
		t.Errorf("sizes at quality 20, default, 98: %d, %d, %d", len(lo.JPEG), len(def.JPEG), len(hi.JPEG))
	}
}
