package upload

import (
	"image"
	"math/rand/v2"
	"testing"
)

// turnedFrom gives, for orientation o, the stored pixel shown at (x, y) of
// a display dw x dh (the EXIF spec's words, as in TestEXIFOrientation).
func turnedFrom(o, x, y, dw, dh int) (int, int) {
	switch o {
	case 2:
		return dw - 1 - x, y
	case 3:
		return dw - 1 - x, dh - 1 - y
	case 4:
		return x, dh - 1 - y
	case 5:
		return y, x
	case 6:
		return y, dw - 1 - x
	case 7:
		return dh - 1 - y, dw - 1 - x
	}
	return dh - 1 - y, x
}

// Every plane of a grey or YCbCr image is turned pixel for pixel, for each
// orientation, subsampling, and odd and even sizes, on images whose planes
// are wider than they are (as the JPEG decoder makes them).
func TestTurnPlanes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	fill := func(b []byte) {
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
	}
	for _, size := range []image.Point{{16, 8}, {7, 5}, {1, 9}, {33, 2}} {
		// Padded as the decoder pads to whole blocks, then cut to size.
		padded := image.Rect(0, 0, size.X+16, size.Y+16)
		g := image.NewGray(padded)
		fill(g.Pix)
		ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
			image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440}
		srcs := []image.Image{g.SubImage(image.Rectangle{Max: size})}
		for _, r := range ratios {
			m := image.NewYCbCr(padded, r)
			fill(m.Y)
			fill(m.Cb)
			fill(m.Cr)
			srcs = append(srcs, m.SubImage(image.Rectangle{Max: size}))
		}
		for _, src := range srcs {
			for o := 2; o <= 8; o++ {
				out := turnPlanes(src, o)
				if out == nil {
					t.Fatalf("%T %v orientation %d: not turned", src, size, o)
				}
				dw, dh := size.X, size.Y
				if o >= 5 {
					dw, dh = size.Y, size.X
				}
				if b := out.Bounds(); b != image.Rect(0, 0, dw, dh) {
					t.Fatalf("%T %v orientation %d: %v, want %dx%d", src, size, o, b, dw, dh)
				}
				for y := range dh {
					for x := range dw {
						sx, sy := turnedFrom(o, x, y, dw, dh)
						switch s := src.(type) {
						case *image.Gray:
							if got, want := out.(*image.Gray).GrayAt(x, y), s.GrayAt(sx, sy); got != want {
								t.Fatalf("grey %v orientation %d at (%d,%d): %v, want %v", size, o, x, y, got, want)
							}
						case *image.YCbCr:
							d := out.(*image.YCbCr)
							if got, want := d.Y[d.YOffset(x, y)], s.Y[s.YOffset(sx, sy)]; got != want {
								t.Fatalf("%v %v orientation %d at (%d,%d): Y %d, want %d", s.SubsampleRatio, size, o, x, y, got, want)
							}
							// A chroma sample covers a block of pixels: where the
							// blocks line up (even sizes, or no subsampling that
							// way), it is the source pixel's own.
							if size.X%2 == 0 && size.Y%2 == 0 {
								if got, want := d.Cb[d.COffset(x, y)], s.Cb[s.COffset(sx, sy)]; got != want {
									t.Fatalf("%v %v orientation %d at (%d,%d): Cb %d, want %d", s.SubsampleRatio, size, o, x, y, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
	if turnPlanes(image.NewCMYK(image.Rect(0, 0, 4, 4)), 6) != nil {
		t.Error("a CMYK image was turned by planes")
	}
	if turnPlanes(image.NewYCbCr(image.Rect(0, 0, 8, 8), image.YCbCrSubsampleRatio411), 6) != nil {
		t.Error("a 4:1:1 image was turned a quarter, which has no subsampling to be")
	}
}
