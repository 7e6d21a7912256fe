package upload

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/upload/phash"
)

// scene is a smooth made-up picture with edges, as seed picks it.
func scene(seed uint64, w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 5))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fx, fy, ph := 1+r.Float64()*4, 1+r.Float64()*4, r.Float64()*6
	bx, by := r.IntN(w/2), r.IntN(h/2)
	for y := range h {
		for x := range w {
			u, v := float64(x)/float64(w), float64(y)/float64(h)
			l := 128 + 80*math.Sin(fx*u*6+ph)*math.Cos(fy*v*6) + 40*(u-v)
			if x > bx && x < bx+w/3 && y > by && y < by+h/3 {
				l = 255 - l
			}
			g := uint8(max(0, min(255, l)))
			img.SetNRGBA(x, y, color.NRGBA{g, uint8(255 - int(g)/2), uint8(int(g) / 3), 255})
		}
	}
	return img
}

func encoded(t testing.TB, img image.Image, ext string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch ext {
	case ".png":
		err = png.Encode(&b, img)
	case ".gif":
		err = gif.Encode(&b, img, nil)
	default:
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The hash of a file is its image's hash, whatever the format, and a JPEG
// decoded at a scale hashes within a bit or two of its whole decode.
func TestPerceptualHash(t *testing.T) {
	img := scene(1, 1200, 900)
	whole := phash.Hash(img)
	for _, ext := range []string{".jpg", ".png", ".gif"} {
		h, err := PerceptualHash(bytes.NewReader(encoded(t, img, ext)), ext, 0)
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if d := phash.Distance(h, whole); d > 4 {
			t.Errorf("%s hashes %d bits from the image", ext, d)
		}
	}
	webp, err := os.ReadFile("testdata/tiny.webp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PerceptualHash(bytes.NewReader(webp), ".webp", 0); err != nil {
		t.Errorf("a WebP: %v", err)
	}
	// Decoded at a scale, a JPEG hashes within a few bits of its whole
	// decode (measured: 0 to 2 of 4 bits at 1/2 to 1/8, on these scenes).
	for seed := uint64(1); seed <= 5; seed++ {
		for _, w := range []int{160, 320, 640, 1200} {
			data := encoded(t, imaging.Resize(scene(seed, 1200, 900), w, w*3/4, imaging.Box), ".jpg")
			h, err := PerceptualHash(bytes.NewReader(data), ".jpg", 0)
			if err != nil {
				t.Fatal(err)
			}
			m, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if d := phash.Distance(h, phash.Hash(m)); d > 4 {
				t.Errorf("scene %d at %d px: the scaled decode hashes %d bits from the whole one", seed, w, d)
			}
		}
	}
	for _, c := range []struct{ w, h, scale int }{{2000, 1500, 8}, {640, 480, 4}, {300, 200, 2}, {100, 1000, 1}} {
		if s := jpegHashScale(c.w, c.h); s != c.scale {
			t.Errorf("%dx%d decodes at 1/%d, want 1/%d", c.w, c.h, s, c.scale)
		}
	}
}

// A file that is not what it says, or too big, is refused as Check refuses
// it; a video has no hash.
func TestPerceptualHashRefusals(t *testing.T) {
	jpg := encoded(t, scene(2, 64, 64), ".jpg")
	_, err := PerceptualHash(bytes.NewReader(jpg[:len(jpg)/2]), ".jpg", 0)
	if maniwani.ErrorKind(err) != maniwani.KindInvalid || !strings.Contains(maniwani.ErrorMessage(err), "JPEG") {
		t.Errorf("half a JPEG: %v", err)
	}
	if _, err := PerceptualHash(bytes.NewReader(jpg), ".jpg", 64*63); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("over the pixel limit: %v", err)
	}
	if _, err := PerceptualHash(bytes.NewReader(jpg), ".webm", 0); err == nil || Hashable(".webm") || Hashable(".mp4") {
		t.Errorf("a video hashed: %v", err)
	}
}

// BenchmarkPerceptualHash is what a similar check adds to a post with a
// 2000x1500 JPEG: the scaled decode and the hash, against a whole decode;
// on a smooth picture and on one with grain (more entropy-coded data, the
// part a scaled decode still reads whole).
func BenchmarkPerceptualHash(b *testing.B) {
	smooth := scene(3, 2000, 1500)
	grainy := imaging.Clone(smooth)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range grainy.Pix {
		if i%4 != 3 {
			grainy.Pix[i] = uint8(max(0, min(255, int(grainy.Pix[i])+r.IntN(41)-20)))
		}
	}
	for _, c := range []struct {
		name string
		img  image.Image
	}{{"smooth", smooth}, {"grainy", grainy}} {
		data := encoded(b, c.img, ".jpg")
		b.Run(c.name+"/scaled decode and hash", func(b *testing.B) {
			for b.Loop() {
				if _, err := PerceptualHash(bytes.NewReader(data), ".jpg", 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/1e3, "file-KB")
		})
		b.Run(c.name+"/whole decode and hash", func(b *testing.B) {
			for b.Loop() {
				img, err := jpeg.Decode(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				phash.Hash(img)
			}
		})
	}
}
