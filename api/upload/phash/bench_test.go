package phash

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
	"golang.org/x/image/draw"
)

// photoJPEG is a 2000x1500 picture as the JPEG decoder gives it: 4:2:0
// YCbCr planes.
func photoJPEG() *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, 2000, 1500), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range m.Y {
		m.Y[i] = uint8(r.IntN(256))
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
	}
	return m
}

func BenchmarkHash(b *testing.B) {
	b.Run("YCbCr 2000x1500", func(b *testing.B) {
		m := photoJPEG()
		for b.Loop() {
			Hash(m)
		}
	})
	b.Run("NRGBA 2000x1500", func(b *testing.B) {
		m := imaging.Clone(photoJPEG())
		for b.Loop() {
			Hash(m)
		}
	})
}

// BenchmarkDownscale compares shrink with the libraries' resizers on the
// same 2000x1500 JPEG-like image, each to a 32x32 grey (or RGBA) grid.
func BenchmarkDownscale(b *testing.B) {
	m := photoJPEG()
	b.Run("shrink", func(b *testing.B) {
		for b.Loop() {
			shrink(m, side, side)
		}
	})
	b.Run("imaging Box", func(b *testing.B) {
		for b.Loop() {
			imaging.Resize(m, side, side, imaging.Box)
		}
	})
	b.Run("x/image/draw BiLinear", func(b *testing.B) {
		dst := image.NewRGBA(image.Rect(0, 0, side, side))
		for b.Loop() {
			draw.BiLinear.Scale(dst, dst.Rect, m, m.Rect, draw.Src, nil)
		}
	})
	b.Run("x/image/draw BiLinear, luma plane", func(b *testing.B) {
		y := &image.Gray{Pix: m.Y, Stride: m.YStride, Rect: m.Rect}
		dst := image.NewGray(image.Rect(0, 0, side, side))
		for b.Loop() {
			draw.BiLinear.Scale(dst, dst.Rect, y, y.Rect, draw.Src, nil)
		}
	})
	b.Run("x/image/draw ApproxBiLinear", func(b *testing.B) {
		dst := image.NewRGBA(image.Rect(0, 0, side, side))
		for b.Loop() {
			draw.ApproxBiLinear.Scale(dst, dst.Rect, m, m.Rect, draw.Src, nil)
		}
	})
}
