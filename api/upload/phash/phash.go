// Package phash computes perceptual hashes of images: 64-bit fingerprints
// that stay close when an image is resized, re-encoded or slightly
// brightened, so that a ban on one file also catches its near copies.
//
// The hash is the DCT pHash: the image's luma averaged down to 32x32, the
// 8x8 lowest frequencies of its DCT, one bit per frequency set when its
// coefficient is above their median. Near copies differ in a few bits;
// unrelated images in about half of them.
package phash

import (
	"image"
	"math"
	"math/bits"
	"slices"
)

// Threshold is the largest Distance at which two hashes are taken for the
// same picture. Measured (phash_test.go): copies resized, re-saved as PNG
// or JPEG q50, cropped by a pixel or brightened 5% are at most 4 bits
// away; the closest of 4950 pairs of unrelated generated photos is 16
// bits apart, and of real screenshots sharing one layout 10. 8 leaves a
// margin on both sides. Distances are even in practice (every hash has 31
// bits set), so 8 and 9 are one threshold.
const Threshold = 8

// Distance is the number of bits in which a and b differ, 0 to 64.
func Distance(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}

// Similar reports whether a and b are within Threshold of each other.
func Similar(a, b uint64) bool {
	return Distance(a, b) <= Threshold
}

const (
	side  = 32 // the downscaled image is side x side
	freqs = 8  // the hash keeps freqs x freqs of its lowest frequencies
)

// Hash is the perceptual hash of img. An image without pixels, or of one
// flat colour, hashes to 0.
func Hash(img image.Image) uint64 {
	if img.Bounds().Empty() {
		return 0
	}
	return fromGrey(shrink(img, side, side))
}

// fromGrey is the hash of the side x side grey image grey.
func fromGrey(grey []float64) uint64 {
	// The 2-D DCT-II, orthonormal, computed only for the freqs lowest
	// frequencies: first along each row, then down each of those columns.
	var cos [freqs][side]float64
	for k := range freqs {
		scale := math.Sqrt(2.0 / side)
		if k == 0 {
			scale = math.Sqrt(1.0 / side)
		}
		for n := range side {
			cos[k][n] = scale * math.Cos(math.Pi*float64((2*n+1)*k)/(2*side))
		}
	}
	var rows [side][freqs]float64
	for y := range side {
		for k := range freqs {
			var s float64
			for x := range side {
				s += cos[k][x] * grey[y*side+x]
			}
			rows[y][k] = s
		}
	}
	var coef [freqs * freqs]float64
	for v := range freqs {
		for u := range freqs {
			var s float64
			for y := range side {
				s += cos[v][y] * rows[y][u]
			}
			coef[v*freqs+u] = s
		}
	}

	// The DC term is the mean brightness: it is left out (its bit stays 0)
	// so that brightening a picture does not move its hash.
	ac := coef[1:]
	if maxAbs(ac) < 1e-6 {
		return 0 // flat: the bits would only be rounding noise
	}
	median := slices.Clone(ac)
	slices.Sort(median)
	m := median[len(median)/2]
	var h uint64
	for i, c := range ac {
		if c > m {
			h |= 1 << (i + 1)
		}
	}
	return h
}

func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}
