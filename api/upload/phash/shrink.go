package phash

import (
	"image"
	"image/color"
)

// shrink is img's luma (0 to 255) averaged down to w x h cells, row by
// row. Each cell is the mean of the block of pixels it covers, the filter
// that lets no detail finer than a cell alias into it; an image narrower
// or shorter than the grid gives each cell at least one pixel.
//
// It reads the planes of the common decoded types directly (the luma
// plane of a JPEG or WebP needs no conversion at all): a 2000x1500 JPEG
// costs one pass over its luma bytes.
func shrink(img image.Image, w, h int) []float64 {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	cols := spans(iw, w)
	out := make([]float64, w*h)
	sums := make([]uint64, w)
	row := rowReader(img)
	for oy := range h {
		y0, y1 := span(ih, h, oy)
		clear(sums)
		for y := y0; y < y1; y++ {
			luma := row(b.Min.Y + y)
			for ox := range w {
				var s uint32 // a run is one row: at most 2^24 pixels of 255
				for _, v := range luma[cols[ox]:cols[ox+w]] {
					s += uint32(v)
				}
				sums[ox] += uint64(s)
			}
		}
		for ox := range w {
			n := (cols[ox+w] - cols[ox]) * (y1 - y0)
			out[oy*w+ox] = float64(sums[ox]) / float64(n)
		}
	}
	return out
}

// span is the range of the n source pixels that cell i of k covers.
func span(n, k, i int) (lo, hi int) {
	lo = i * n / k
	hi = max((i+1)*n/k, lo+1)
	return lo, hi
}

// spans is the ranges of all k cells: starts at [0,k), ends at [k,2k).
func spans(n, k int) []int {
	s := make([]int, 2*k)
	for i := range k {
		s[i], s[k+i] = span(n, k, i)
	}
	return s
}

// rowReader is a function giving the luma of one row of img, x from
// Bounds().Min.X on. The slice it answers is valid until its next call.
func rowReader(img image.Image) func(y int) []uint8 {
	b := img.Bounds()
	w := b.Dx()
	buf := make([]uint8, w)
	switch m := img.(type) {
	case *image.YCbCr:
		return func(y int) []uint8 {
			i := m.YOffset(b.Min.X, y)
			return m.Y[i : i+w]
		}
	case *image.NYCbCrA:
		return func(y int) []uint8 {
			i := m.YOffset(b.Min.X, y)
			for x := range w {
				buf[x] = uint8(uint32(m.Y[i+x]) * uint32(m.A[m.AOffset(b.Min.X+x, y)]) / 255)
			}
			return buf
		}
	case *image.Gray:
		return func(y int) []uint8 {
			i := m.PixOffset(b.Min.X, y)
			return m.Pix[i : i+w]
		}
	case *image.RGBA:
		// Premultiplied: a transparent pixel is black, as color.GrayModel
		// makes it.
		return func(y int) []uint8 {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				buf[x] = luma(p[4*x], p[4*x+1], p[4*x+2])
			}
			return buf
		}
	case *image.NRGBA:
		return func(y int) []uint8 {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				a := uint32(p[4*x+3])
				buf[x] = uint8(uint32(luma(p[4*x], p[4*x+1], p[4*x+2])) * a / 255)
			}
			return buf
		}
	case *image.Paletted:
		var pal [256]uint8
		for i, c := range m.Palette {
			pal[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		return func(y int) []uint8 {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				buf[x] = pal[p[x]]
			}
			return buf
		}
	}
	return func(y int) []uint8 {
		for x := range w {
			buf[x] = color.GrayModel.Convert(img.At(b.Min.X+x, y)).(color.Gray).Y
		}
		return buf
	}
}

// luma is color.GrayModel's weighting of 8-bit r, g, b, which is JPEG's:
// a picture hashes the same from its YCbCr planes as from its RGB pixels.
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}
