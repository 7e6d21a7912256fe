package jpeg

import "math"

// zigOf maps the natural order to the zig-zag order: the inverse of unzig,
// to find a coefficient's quantizer.
var zigOf = func() (z [blockSize]int) {
	for i, n := range unzig {
		z[n] = i
	}
	return z
}()

// scaledCos holds, for an s-point output (s = 2 or 4), a(u, j) = C(u)/2 *
// cos((2j+1)uπ/2s) with C(0) = 1/√2 and C(u) = 1 otherwise, at [u*s+j]:
// the 8-point inverse DCT's basis sampled at the centres of s x s groups
// of pixels, with the 8-point scaling, so that the block's low frequencies
// give the image seen through a filter that drops the rest.
var scaledCos = [5][]float32{2: scaledTable(2), 4: scaledTable(4)}

func scaledTable(s int) []float32 {
	t := make([]float32, s*s)
	for u := range s {
		cu := 1.0
		if u == 0 {
			cu = 1 / math.Sqrt2
		}
		for j := range s {
			t[u*s+j] = float32(cu / 2 * math.Cos(float64((2*j+1)*u)*math.Pi/float64(2*s)))
		}
	}
	return t
}

// idctScaled dequantizes the s x s lowest frequencies of b (natural order;
// qt in zig-zag order), applies the s-point inverse DCT to them and writes
// the s x s pixels, level-shifted and clipped, to dst.
func idctScaled(b *block, qt *block, s int, dst []byte, stride int) {
	a := scaledCos[s]
	var f, tmp [16]float32
	for v := range s {
		for u := range s {
			n := v*8 + u
			f[v*s+u] = float32(b[n] * qt[zigOf[n]])
		}
	}
	// Rows (horizontal frequencies), then columns.
	for v := range s {
		for j := range s {
			var sum float32
			for u := range s {
				sum += f[v*s+u] * a[u*s+j]
			}
			tmp[v*s+j] = sum
		}
	}
	for i := range s {
		row := dst[i*stride : i*stride+s]
		for j := range s {
			sum := float32(128.5)
			for v := range s {
				sum += a[v*s+i] * tmp[v*s+j]
			}
			row[j] = uint8(max(0, min(255, sum)))
		}
	}
}

// block16 is a block kept between the scans of a progressive JPEG. Valid
// data fits; corrupt data that overflows gives wrong pixels, not a fault.
type block16 [blockSize]int16

func (b *block16) block() (out block) {
	for i, v := range b {
		out[i] = int32(v)
	}
	return out
}

func (b *block16) set(in *block) {
	for i, v := range in {
		b[i] = int16(v)
	}
}
