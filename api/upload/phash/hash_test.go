package phash

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/disintegration/imaging"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b uint64
		want int
	}{{0, 0, 0}, {0, 1, 1}, {0b1010, 0b0110, 2}, {0, ^uint64(0), 64}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%b, %b) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// Every decoded type a picture can come in hashes alike: the luma of the
// YCbCr planes and of RGB pixels differ only by rounding.
func TestHashTypes(t *testing.T) {
	rgba := photo(1, 320, 240)
	ycbcr := viaJPEG(rgba, 95).(*image.YCbCr)
	want := Hash(ycbcr)
	gray := image.NewGray(rgba.Rect)
	draw.Draw(gray, gray.Rect, ycbcr, image.Point{}, draw.Src)
	paletted := image.NewPaletted(rgba.Rect, grays())
	draw.Draw(paletted, paletted.Rect, gray, image.Point{}, draw.Src)
	rgba64 := image.NewRGBA64(rgba.Rect) // read through At
	draw.Draw(rgba64, rgba64.Rect, ycbcr, image.Point{}, draw.Src)
	nycbcra := &image.NYCbCrA{YCbCr: *ycbcr, A: make([]uint8, 320*240), AStride: 320}
	for i := range nycbcra.A {
		nycbcra.A[i] = 255
	}
	for name, m := range map[string]image.Image{
		"NRGBA":    imaging.Clone(ycbcr),
		"RGBA":     &image.RGBA{Pix: imaging.Clone(ycbcr).Pix, Stride: 4 * 320, Rect: rgba.Rect}, // opaque: the same bytes
		"Gray":     gray,
		"Paletted": paletted,
		"RGBA64":   rgba64,
		"NYCbCrA":  nycbcra,
	} {
		if d := Distance(want, Hash(m)); d > 2 {
			t.Errorf("%s: %d bits from the YCbCr hash", name, d)
		}
	}
}

func grays() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{uint8(i)}
	}
	return p
}

// A part of a bigger image (Bounds().Min not at the origin) hashes as the
// same pixels on their own.
func TestHashSubImage(t *testing.T) {
	big := viaJPEG(photo(2, 400, 300), 90).(*image.YCbCr)
	part := big.SubImage(image.Rect(37, 21, 337, 261))
	alone := viaPNG(part)
	if d := Distance(Hash(part), Hash(alone)); d > 2 {
		t.Errorf("a sub-image is %d bits from its copy", d)
	}
	rgba := imaging.Clone(big)
	if d := Distance(Hash(rgba.SubImage(image.Rect(37, 21, 337, 261))), Hash(alone)); d > 2 {
		t.Errorf("an NRGBA sub-image is %d bits from its copy", d)
	}
}

func TestHashEdgeCases(t *testing.T) {
	if h := Hash(image.NewRGBA(image.Rectangle{})); h != 0 {
		t.Errorf("empty image: %x, want 0", h)
	}
	flat := image.NewGray(image.Rect(0, 0, 100, 80))
	for i := range flat.Pix {
		flat.Pix[i] = 137
	}
	if h := Hash(flat); h != 0 {
		t.Errorf("flat image: %x, want 0", h)
	}
	// Smaller than the 32x32 grid: each cell still has a pixel.
	tiny := imaging.Resize(photo(3, 320, 240), 7, 5, imaging.Box)
	if h := Hash(tiny); h == 0 {
		t.Error("a 7x5 picture hashed to 0")
	}
	// One pixel wide and very tall.
	if h := Hash(imaging.Resize(photo(4, 320, 240), 1, 300, imaging.Box)); h == 0 {
		t.Error("a 1x300 picture hashed to 0")
	}
}
