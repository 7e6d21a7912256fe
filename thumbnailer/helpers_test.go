package thumbnailer

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/maniwani/maniwani"
)

// needTool returns the path of a tool the test needs: ffmpeg, or
// ImageMagick's convert. Without it the test skips, except under CI=true,
// where that is a failure (scripts/tools.sh installs both).
func needTool(t *testing.T, name string) string {
	t.Helper()
	var path string
	if name == "convert" {
		path = imageMagick()
	} else if p, err := exec.LookPath(name); err == nil {
		path = p
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (scripts/tools.sh installs it)", name)
		}
		t.Skipf("no %s here (scripts/tools.sh installs it)", name)
	}
	return path
}

// imageMagick finds ImageMagick's convert: a "convert" first on PATH may be
// something else, so it must say it is ImageMagick.
func imageMagick() string {
	for _, c := range []string{"convert", "/usr/bin/convert", "convert-im6.q16", "magick"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		args := []string{"-version"}
		if filepath.Base(p) == "magick" {
			args = []string{"convert", "-version"}
		}
		out, err := exec.Command(p, args...).Output()
		if err == nil && bytes.Contains(out, []byte("ImageMagick")) {
			return p
		}
	}
	return ""
}

// runTool runs a command, failing the test with its output when it fails.
func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// scene draws w x h pixels of something like a picture: smooth colour
// gradients, two hard-edged discs and fine stripes, so that both the low
// and the high frequencies, in luma and in chroma, are there to get wrong.
func scene(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 100*math.Sin(6*fx+2*fy)
			g := 128 + 100*math.Cos(5*fy-3*fx)
			b := 255 * fx * fy
			if dx, dy := fx-0.3, fy-0.4; dx*dx+dy*dy < 0.04 {
				r, g, b = 230, 30, 40
			}
			if dx, dy := fx-0.7, fy-0.6; dx*dx+dy*dy < 0.02 {
				r, g, b = 20, 60, 220
			}
			if (x/9)%2 == 0 && fy > 0.85 {
				r, g, b = 250, 250, 30
			}
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(r), uint8(g), uint8(b), 255
		}
	}
	return m
}

// writeFile encodes m into dir/name by its extension (.jpg, .png) and
// returns the path.
func writeFile(t *testing.T, dir, name string, m image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch filepath.Ext(name) {
	case ".jpg":
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90})
	case ".png":
		err = png.Encode(&buf, m)
	default:
		t.Fatalf("writeFile: %s", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustMake makes the thumbnail of path and checks what every thumbnail
// must be: a JPEG of exactly maniwani.ThumbSize(srcW, srcH).
func mustMake(t *testing.T, path string, srcW, srcH int, opt Options) image.Image {
	t.Helper()
	th, err := Make(context.Background(), path, filepath.Ext(path), opt)
	if err != nil {
		t.Fatalf("Make(%s): %v", filepath.Base(path), err)
	}
	tw, thh := maniwani.ThumbSize(srcW, srcH)
	if th.W != tw || th.H != thh {
		t.Fatalf("%s: %dx%d thumbnail of %dx%d, ThumbSize says %dx%d", filepath.Base(path), th.W, th.H, srcW, srcH, tw, thh)
	}
	m, err := jpeg.Decode(bytes.NewReader(th.JPEG))
	if err != nil {
		t.Fatalf("%s: the thumbnail is not a JPEG: %v", filepath.Base(path), err)
	}
	if b := m.Bounds(); b.Dx() != tw || b.Dy() != thh {
		t.Fatalf("%s: the JPEG is %v, Thumb says %dx%d", filepath.Base(path), b, tw, thh)
	}
	return m
}

// reference is the plain way to the thumbnail: decode whole with the
// standard library, imaging.Resize with Lanczos, flatten on white, and
// through JPEG at the same quality, so that a comparison sees the paths
// and not the JPEG encoder's loss.
func reference(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	tw, th := maniwani.ThumbSize(m.Bounds().Dx(), m.Bounds().Dy())
	out := imaging.Resize(m, tw, th, imaging.Lanczos)
	flatten(out, nil)
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, out, imaging.JPEG, imaging.JPEGQuality(defaultQuality)); err != nil {
		t.Fatal(err)
	}
	j, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// meanAbsDiff is the mean absolute difference of a and b over RGB, in
// 8-bit levels.
func meanAbsDiff(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes differ: %v, %v", a.Bounds(), b.Bounds())
	}
	var sum, n float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			sum += math.Abs(float64(r1>>8)-float64(r2>>8)) + math.Abs(float64(g1>>8)-float64(g2>>8)) + math.Abs(float64(b1>>8)-float64(b2>>8))
			n += 3
		}
	}
	return sum / n
}

// near tells whether the pixel of m at (x, y) is within tol of c in each
// of R, G and B.
func near(m image.Image, x, y int, c color.NRGBA, tol int) bool {
	r, g, b, _ := m.At(m.Bounds().Min.X+x, m.Bounds().Min.Y+y).RGBA()
	d := func(v uint32, w uint8) bool { return math.Abs(float64(v>>8)-float64(w)) <= float64(tol) }
	return d(r, c.R) && d(g, c.G) && d(b, c.B)
}

func colorAt(m image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(m.At(m.Bounds().Min.X+x, m.Bounds().Min.Y+y)).(color.NRGBA)
}

// copyTrunc writes the first n bytes of src to dst.
func copyTrunc(t *testing.T, src, dst string, n int) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(n)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
