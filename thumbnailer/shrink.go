package thumbnailer

import (
	"image"
	"image/color"
	"runtime"
	"sync"
)

// maxShrink caps the box filter's factor so that its sums fit in uint32
// (255*255 per pixel times maxShrink squared); only very long strips of
// pixels would want more.
const maxShrink = 64

// shrinkFactor is the largest integer k with w/k and h/k still at least
// twice tw x th: the box filter's output is then fine enough for the final
// Lanczos step not to show its blockiness.
func shrinkFactor(w, h, tw, th int) int {
	return min(w/(2*tw), h/(2*th), maxShrink)
}

// shrink averages each k x k block of m into one pixel (the blocks at the
// right and bottom edges may be smaller). It returns nil for an image it
// does not know, which is then resized whole.
func shrink(m image.Image, k int) image.Image {
	switch m := m.(type) {
	case *image.YCbCr:
		if m.Rect.Min == (image.Point{}) {
			return shrinkYCbCr(m, nil, 0, k)
		}
	case *image.NYCbCrA:
		if m.Rect.Min == (image.Point{}) {
			return shrinkYCbCr(&m.YCbCr, m.A, m.AStride, k)
		}
	case *image.Gray:
		return shrinkGray(m, k)
	case *image.RGBA, *image.NRGBA, *image.Paletted, *image.CMYK:
		return shrinkRGBA(m, k)
	}
	return nil
}

// subsampling is how many luma samples share one chroma sample across and
// down.
func subsampling(r image.YCbCrSubsampleRatio) (sx, sy int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// shrinkYCbCr box-filters the planes of a JPEG or WebP as they were
// decoded, each at its own resolution, and converts only the small result
// to RGB. alpha (with its stride) is nil for an opaque image; otherwise luma
// is weighted by it so that hidden pixels do not darken the edges.
func shrinkYCbCr(m *image.YCbCr, alpha []uint8, aStride, k int) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := ceilDiv(w, k), ceilDiv(h, k)
	sx, sy := subsampling(m.SubsampleRatio)
	dst := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	cols, rows := coverage(ow, k, sx, w), coverage(oh, k, sy, h)
	parallelRows(oh, func(lo, hi int) {
		ys, as := make([]uint32, ow), make([]uint32, ow)
		cbs, crs := make([]uint32, ow), make([]uint32, ow)
		for oy := lo; oy < hi; oy++ {
			clear(ys)
			clear(as)
			clear(cbs)
			clear(crs)
			y0, y1 := oy*k, min(oy*k+k, h)
			for y := y0; y < y1; y++ {
				row := m.Y[y*m.YStride : y*m.YStride+w]
				if alpha == nil {
					for ox := range ow {
						var s uint32
						for _, v := range row[ox*k : min(ox*k+k, w)] {
							s += uint32(v)
						}
						ys[ox] += s
					}
					continue
				}
				arow := alpha[y*aStride : y*aStride+w]
				for ox := range ow {
					var s, sa uint32
					x0, x1 := ox*k, min(ox*k+k, w)
					for i, v := range row[x0:x1] {
						a := uint32(arow[x0+i])
						s += uint32(v) * a
						sa += a
					}
					ys[ox] += s
					as[ox] += sa
				}
			}
			// Each chroma sample counts as often as the block has luma
			// pixels that share it.
			r := rows[oy]
			for i, wy := range r.weights {
				cb := m.Cb[(r.first+i)*m.CStride:]
				cr := m.Cr[(r.first+i)*m.CStride:]
				for ox, c := range cols {
					var sb, sr uint32
					for j, wx := range c.weights {
						sb += wx * uint32(cb[c.first+j])
						sr += wx * uint32(cr[c.first+j])
					}
					cbs[ox] += wy * sb
					crs[ox] += wy * sr
				}
			}
			out := dst.Pix[oy*dst.Stride:]
			for ox := range ow {
				n := uint32((min(ox*k+k, w) - ox*k) * (y1 - y0))
				var yv, a uint32
				if alpha == nil {
					yv, a = (ys[ox]+n/2)/n, 255
				} else if as[ox] > 0 {
					yv, a = (ys[ox]+as[ox]/2)/as[ox], (as[ox]+n/2)/n
				}
				r, g, b := color.YCbCrToRGB(uint8(yv), uint8((cbs[ox]+n/2)/n), uint8((crs[ox]+n/2)/n))
				p := out[ox*4 : ox*4+4 : ox*4+4]
				p[0], p[1], p[2], p[3] = r, g, b, uint8(a)
			}
		}
	})
	return dst
}

// span is the chroma samples under one output column (or row) of the box
// filter: from first on, each shared by weights[i] luma columns (rows) of
// its block.
type span struct {
	first   int
	weights []uint32
}

// coverage returns the spans of n outputs of k luma samples each, over
// full luma samples of which each s share a chroma sample.
func coverage(n, k, s, full int) []span {
	spans := make([]span, n)
	for o := range spans {
		x0, x1 := o*k, min(o*k+k, full)
		first, last := x0/s, (x1-1)/s
		ws := make([]uint32, last-first+1)
		for i := range ws {
			c := first + i
			ws[i] = uint32(min(x1, c*s+s) - max(x0, c*s))
		}
		spans[o] = span{first, ws}
	}
	return spans
}

// shrinkGray is shrinkYCbCr for a grey image: one plane.
func shrinkGray(m *image.Gray, k int) *image.Gray {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := ceilDiv(w, k), ceilDiv(h, k)
	dst := image.NewGray(image.Rect(0, 0, ow, oh))
	parallelRows(oh, func(lo, hi int) {
		sums := make([]uint32, ow)
		for oy := lo; oy < hi; oy++ {
			clear(sums)
			y0, y1 := oy*k, min(oy*k+k, h)
			for y := y0; y < y1; y++ {
				row := m.Pix[y*m.Stride : y*m.Stride+w]
				for ox := range ow {
					var s uint32
					for _, v := range row[ox*k : min(ox*k+k, w)] {
						s += uint32(v)
					}
					sums[ox] += s
				}
			}
			out := dst.Pix[oy*dst.Stride : oy*dst.Stride+ow]
			for ox := range ow {
				n := uint32((min(ox*k+k, w) - ox*k) * (y1 - y0))
				out[ox] = uint8((sums[ox] + n/2) / n)
			}
		}
	})
	return dst
}

// shrinkRGBA box-filters an RGBA-like image in premultiplied form, so that
// transparent pixels add nothing to a block's colour.
func shrinkRGBA(m image.Image, k int) *image.NRGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := ceilDiv(w, k), ceilDiv(h, k)
	dst := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	read := premultipliedRows(m)
	parallelRows(oh, func(lo, hi int) {
		sums := make([]uint32, ow*4)
		buf := make([]uint8, w*4)
		for oy := lo; oy < hi; oy++ {
			clear(sums)
			y0, y1 := oy*k, min(oy*k+k, h)
			for y := y0; y < y1; y++ {
				addBlocks(sums, read(y, buf), k)
			}
			putAverages(dst.Pix[oy*dst.Stride:], sums, k, w, y1-y0)
		}
	})
	return dst
}

// addBlocks adds each run of k pixels of row (premultiplied RGBA, the last
// run maybe shorter) to its four sums.
func addBlocks(sums []uint32, row []uint8, k int) {
	for ox := 0; ox*4 < len(sums); ox++ {
		var r, g, b, a uint32
		px := row[ox*k*4 : min(ox*k+k, len(row)/4)*4]
		for i := 0; i+3 < len(px); i += 4 {
			r += uint32(px[i])
			g += uint32(px[i+1])
			b += uint32(px[i+2])
			a += uint32(px[i+3])
		}
		s := sums[ox*4 : ox*4+4 : ox*4+4]
		s[0] += r
		s[1] += g
		s[2] += b
		s[3] += a
	}
}

// putAverages writes to out, as NRGBA, the averages of the premultiplied
// sums that addBlocks made from rows rows of a w-pixel-wide image.
func putAverages(out []uint8, sums []uint32, k, w, rows int) {
	for ox := 0; ox*4 < len(sums); ox++ {
		n := uint32((min(ox*k+k, w) - ox*k) * rows)
		s := sums[ox*4 : ox*4+4 : ox*4+4]
		p := out[ox*4 : ox*4+4 : ox*4+4]
		if s[3] == 0 {
			p[0], p[1], p[2], p[3] = 0, 0, 0, 0
			continue
		}
		p[0] = uint8(min(255, (s[0]*255+s[3]/2)/s[3]))
		p[1] = uint8(min(255, (s[1]*255+s[3]/2)/s[3]))
		p[2] = uint8(min(255, (s[2]*255+s[3]/2)/s[3]))
		p[3] = uint8((s[3] + n/2) / n)
	}
}

// premultipliedRows returns a reader of m's rows (y counted from the top of
// m's bounds) as premultiplied 8-bit RGBA, using buf (4 bytes a pixel) when
// it has to convert.
func premultipliedRows(m image.Image) func(y int, buf []uint8) []uint8 {
	b := m.Bounds()
	w := b.Dx()
	switch m := m.(type) {
	case *image.RGBA:
		return func(y int, _ []uint8) []uint8 {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			return m.Pix[i : i+w*4]
		}
	case *image.NRGBA:
		return func(y int, buf []uint8) []uint8 {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[i : i+w*4]
			for j := 0; j+3 < len(src); j += 4 {
				a := uint32(src[j+3])
				buf[j] = uint8((uint32(src[j])*a + 127) / 255)
				buf[j+1] = uint8((uint32(src[j+1])*a + 127) / 255)
				buf[j+2] = uint8((uint32(src[j+2])*a + 127) / 255)
				buf[j+3] = uint8(a)
			}
			return buf
		}
	case *image.Paletted:
		var pal [256][4]uint8
		for i, c := range m.Palette {
			r, g, b, a := c.RGBA()
			pal[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
		}
		return func(y int, buf []uint8) []uint8 {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			for x, ci := range m.Pix[i : i+w] {
				copy(buf[x*4:x*4+4], pal[ci][:])
			}
			return buf
		}
	case *image.CMYK:
		return func(y int, buf []uint8) []uint8 {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[i : i+w*4]
			for j := 0; j+3 < len(src); j += 4 {
				buf[j], buf[j+1], buf[j+2] = color.CMYKToRGB(src[j], src[j+1], src[j+2], src[j+3])
				buf[j+3] = 255
			}
			return buf
		}
	}
	return func(y int, buf []uint8) []uint8 {
		for x := range w {
			r, g, bl, a := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			buf[x*4], buf[x*4+1], buf[x*4+2], buf[x*4+3] = uint8(r>>8), uint8(g>>8), uint8(bl>>8), uint8(a>>8)
		}
		return buf
	}
}

// parallelRows runs fn on bands of the rows [0, n), one band per core: the
// work is memory-bound and even, so more goroutines would only contend.
func parallelRows(n int, fn func(lo, hi int)) {
	procs := min(runtime.GOMAXPROCS(0), n)
	if procs <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range procs {
		lo, hi := n*i/procs, n*(i+1)/procs
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
