package thumbnailer

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// atOnly hides an image's type, so that shrink's reference is the slow,
// obviously right path: At, converted to RGBA, averaged.
type atOnly struct{ image.Image }

func TestShrinkFactor(t *testing.T) {
	for _, c := range []struct{ w, h, tw, th, k int }{
		{4000, 3000, 250, 187, 8},
		{2309, 1732, 250, 187, 4},
		{999, 999, 250, 250, 1},
		{1000, 1000, 250, 250, 2},
		{200000, 20000, 250, 25, maxShrink},
	} {
		if k := shrinkFactor(c.w, c.h, c.tw, c.th); k != c.k {
			t.Errorf("shrinkFactor(%d, %d, %d, %d) = %d, want %d", c.w, c.h, c.tw, c.th, k, c.k)
		}
	}
}

// The plane box filter must agree with averaging the converted pixels, for
// every subsampling and for factors that do and do not divide the size or
// the chroma blocks.
func TestShrinkYCbCrAllSubsamplings(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, r := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 203, 97), r)
		fillSmooth(rng, m.Y, m.YStride)
		fillSmooth(rng, m.Cb, m.CStride)
		fillSmooth(rng, m.Cr, m.CStride)
		for _, k := range []int{2, 3, 4, 7, 8} {
			got := shrink(m, k)
			want := shrinkRGBA(atOnly{m}, k)
			if got == nil || want == nil {
				t.Fatalf("%v k=%d: nil", r, k)
			}
			if got.Bounds() != want.Bounds() {
				t.Fatalf("%v k=%d: bounds %v, want %v", r, k, got.Bounds(), want.Bounds())
			}
			// Averaging YCbCr then converting differs from converting
			// then averaging only by rounding and clipping.
			if d := meanAbsDiff(t, got, want); d > 1 {
				t.Errorf("%v k=%d: mean difference %.2f from the converted average", r, k, d)
			}
		}
	}
}

// fillSmooth fills a plane with a smooth random pattern: like an image's
// planes, so that averaging in YCbCr and in RGB stay close.
func fillSmooth(rng *rand.Rand, p []uint8, stride int) {
	a, b := rng.IntN(7)+1, rng.IntN(5)+1
	for i := range p {
		x, y := i%stride, i/stride
		p[i] = uint8(64 + (x*a+y*b)%128)
	}
}

// With alpha, hidden pixels must not darken the visible ones, and fully
// transparent blocks stay transparent.
func TestShrinkAlphaWeighted(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 8, 4))
	for y := range 4 {
		for x := range 8 {
			if x%2 == 0 && x < 4 {
				n.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 255})
			} else {
				n.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0})
			}
		}
	}
	got := shrink(n, 4).(*image.NRGBA)
	if c := got.NRGBAAt(0, 0); c.R < 198 || c.G < 98 || c.B < 48 || c.A < 126 || c.A > 129 {
		t.Errorf("half-covered block is %v, want {200 100 50 ~128}", c)
	}
	if c := got.NRGBAAt(1, 0); c.A != 0 {
		t.Errorf("transparent block is %v", c)
	}

	// The same through the alpha plane of a WebP-like NYCbCrA.
	a := image.NewNYCbCrA(image.Rect(0, 0, 8, 4), image.YCbCrSubsampleRatio420)
	for i := range a.Y {
		a.Y[i] = 0
		a.A[i] = 0
		if x := i % a.YStride; x%2 == 0 && x < 4 {
			a.Y[i], a.A[i] = 200, 255
		}
	}
	for i := range a.Cb {
		a.Cb[i], a.Cr[i] = 128, 128
	}
	ga := shrink(a, 4).(*image.NRGBA)
	if c := ga.NRGBAAt(0, 0); c.R < 198 || c.A < 126 || c.A > 129 {
		t.Errorf("NYCbCrA half-covered block is %v, want {200 200 200 ~128}", c)
	}
}

func TestShrinkOtherKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := image.NewGray(image.Rect(0, 0, 61, 33))
	fillSmooth(rng, g.Pix, g.Stride)
	c := image.NewCMYK(image.Rect(0, 0, 61, 33))
	for i := range c.Pix {
		c.Pix[i] = uint8(rng.IntN(256))
	}
	p := image.NewPaletted(image.Rect(0, 0, 61, 33), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}, color.Transparent})
	for i := range p.Pix {
		p.Pix[i] = uint8(rng.IntN(3))
	}
	sub := scene(90, 60).SubImage(image.Rect(10, 5, 80, 55)) // bounds not at 0
	for _, m := range []image.Image{g, c, p, sub} {
		for _, k := range []int{2, 5} {
			got := shrink(m, k)
			want := shrinkRGBA(atOnly{m}, k)
			if d := meanAbsDiff(t, got, want); d > 0.5 {
				t.Errorf("%T k=%d: mean difference %.2f from the At path", m, k, d)
			}
		}
	}
}
