package phash

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/disintegration/imaging"
)

// A variant is one way a poster might change a banned picture to slip it past
// the ban; must says the ban has to catch it.
type variant struct {
	name string
	must bool
	make func(image.Image) image.Image
}

var copies = []variant{
	{"resize 90% + JPEG q70", true, func(m image.Image) image.Image {
		b := m.Bounds()
		return viaJPEG(imaging.Resize(m, b.Dx()*9/10, b.Dy()*9/10, imaging.Lanczos), 70)
	}},
	{"PNG", true, viaPNG},
	{"JPEG q50", true, func(m image.Image) image.Image { return viaJPEG(m, 50) }},
	{"crop 1 px each side + JPEG q90", true, func(m image.Image) image.Image {
		return viaJPEG(imaging.Crop(m, m.Bounds().Inset(1)), 90)
	}},
	{"brightness +5% + JPEG q90", true, func(m image.Image) image.Image {
		return viaJPEG(imaging.AdjustBrightness(m, 5), 90)
	}},
	// Told, not required: harder changes, to show where the hash gives up.
	{"resize 50% + JPEG q70", false, func(m image.Image) image.Image {
		b := m.Bounds()
		return viaJPEG(imaging.Resize(m, b.Dx()/2, b.Dy()/2, imaging.Lanczos), 70)
	}},
	{"crop 5% each side + JPEG q90", false, func(m image.Image) image.Image {
		b := m.Bounds()
		return viaJPEG(imaging.Crop(m, image.Rect(b.Dx()/20, b.Dy()/20, b.Dx()-b.Dx()/20, b.Dy()-b.Dy()/20)), 90)
	}},
	{"brightness +10% + JPEG q90", false, func(m image.Image) image.Image {
		return viaJPEG(imaging.AdjustBrightness(m, 10), 90)
	}},
	{"contrast +20% + JPEG q90", false, func(m image.Image) image.Image {
		return viaJPEG(imaging.AdjustContrast(m, 20), 90)
	}},
}

func viaJPEG(m image.Image, quality int) image.Image {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: quality}); err != nil {
		panic(err)
	}
	out, err := jpeg.Decode(&b)
	if err != nil {
		panic(err)
	}
	return out
}

// viaPNG saves m as an RGB PNG, as an editor would after decoding it; not
// compressed, since only the pixels matter here.
func viaPNG(m image.Image) image.Image {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, imaging.Clone(m)); err != nil {
		panic(err)
	}
	out, err := png.Decode(&b)
	if err != nil {
		panic(err)
	}
	return out
}

// dHash is the cheaper difference hash, kept here only to be measured
// against Hash: luma averaged down to 9x8, one bit per pair of
// neighbours in a row, set when the left one is darker.
func dHash(img image.Image) uint64 {
	g := shrink(img, 9, 8)
	var h uint64
	for y := range 8 {
		for x := range 8 {
			if g[y*9+x] < g[y*9+x+1] {
				h |= 1 << (y*8 + x)
			}
		}
	}
	return h
}

// figures are the distances a hash gives over the test pictures.
type figures struct {
	near      [][]int // per copy, per picture
	unrelated []int   // every pair of different pictures
}

func measure(hash func(image.Image) uint64, originals []image.Image, copied [][]image.Image) figures {
	hs := make([]uint64, len(originals))
	for i, m := range originals {
		hs[i] = hash(m)
	}
	f := figures{near: make([][]int, len(copies))}
	for c := range copies {
		for i := range originals {
			f.near[c] = append(f.near[c], Distance(hs[i], hash(copied[i][c])))
		}
	}
	for i := range hs {
		for j := i + 1; j < len(hs); j++ {
			f.unrelated = append(f.unrelated, Distance(hs[i], hs[j]))
		}
	}
	return f
}

// report words f for a threshold: each copy's farthest distance and how
// many are caught, the closest unrelated pair and how many are caught.
func (f figures) report(name string, threshold int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, threshold %d:\n", name, threshold)
	for c, ds := range f.near {
		fmt.Fprintf(&b, "  %-32s max %2d  caught %3d/%d\n", copies[c].name, maxOf(ds), within(ds, threshold), len(ds))
	}
	fmt.Fprintf(&b, "  %-32s min %2d  caught %3d/%d\n", "unrelated pairs", minOf(f.unrelated), within(f.unrelated, threshold), len(f.unrelated))
	fmt.Fprintf(&b, "  unrelated distances 0..32: %v\n", histogram(f.unrelated, 33))
	return b.String()
}

func histogram(ds []int, n int) []int {
	h := make([]int, n)
	for _, d := range ds {
		if d < n {
			h[d]++
		}
	}
	return h
}

func within(ds []int, threshold int) int {
	n := 0
	for _, d := range ds {
		if d <= threshold {
			n++
		}
	}
	return n
}

func maxOf(ds []int) int {
	m := 0
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func minOf(ds []int) int {
	m := 64
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

// pictures are n made-up photos as posted (saved as JPEG at quality 90)
// and, for each, its copies.
func pictures(n, w, h int) (originals []image.Image, copied [][]image.Image) {
	originals = make([]image.Image, n)
	copied = make([][]image.Image, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				m := viaJPEG(photo(uint64(i), w, h), 90)
				originals[i] = m
				for _, c := range copies {
					copied[i] = append(copied[i], c.make(m))
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return originals, copied
}

// TestThreshold is the measure of the file ban's "similar": every required
// copy of each of 100 pictures is within Threshold of its original, and
// every pair of different pictures beyond it. Run with -v for the figures,
// dHash's beside them.
func TestThreshold(t *testing.T) {
	originals, copied := pictures(100, 320, 240)
	p := measure(Hash, originals, copied)
	t.Log(p.report("pHash", Threshold))
	d := measure(dHash, originals, copied)
	t.Log(d.report("dHash (for comparison)", Threshold))

	for c, ds := range p.near {
		if copies[c].must && maxOf(ds) > Threshold {
			t.Errorf("%s: a copy is %d bits away, past the threshold %d", copies[c].name, maxOf(ds), Threshold)
		}
	}
	if m := minOf(p.unrelated); m <= Threshold {
		t.Errorf("two unrelated pictures are %d bits apart, within the threshold %d", m, Threshold)
	}
}
