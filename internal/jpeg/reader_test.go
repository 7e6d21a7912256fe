package jpeg

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata are the standard library's own JPEG test images
// (every subsampling, progressive, restart markers, grey, CMYK, RGB).
func testFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.jpeg")
	if err != nil || len(files) < 20 {
		t.Fatalf("testdata: %v files, %v", len(files), err)
	}
	return files
}

// At scale 1 the fork must be the standard library, pixel for pixel.
func TestScale1IsStdlib(t *testing.T) {
	for _, f := range testFiles(t) {
		data, _ := os.ReadFile(f)
		want, wantErr := stdjpeg.Decode(bytes.NewReader(data))
		got, err := Decode(bytes.NewReader(data), 1)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: err %v, stdlib %v", f, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if d := meanAbsDiff(want, got); d != 0 || want.Bounds() != got.Bounds() {
			t.Errorf("%s: %T %v differs from stdlib %T %v by %.3f", f, got, got.Bounds(), want, want.Bounds(), d)
		}
	}
}

// At 1/2, 1/4 and 1/8 the result must be the size rounded up, and each of
// its planes must look like the full decode's averaged over blocks of that
// size.
func TestScaledMatchesBoxedStdlib(t *testing.T) {
	for _, f := range testFiles(t) {
		if strings.Contains(f, "truncated") {
			continue
		}
		data, _ := os.ReadFile(f)
		full, err := stdjpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(f, err)
		}
		for _, s := range []int{2, 4, 8} {
			got, err := Decode(bytes.NewReader(data), s)
			if err != nil {
				t.Errorf("%s 1/%d: %v", f, s, err)
				continue
			}
			b := full.Bounds()
			want := image.Rect(0, 0, (b.Dx()+s-1)/s, (b.Dy()+s-1)/s)
			if got.Bounds() != want {
				t.Errorf("%s 1/%d: bounds %v, want %v", f, s, got.Bounds(), want)
				continue
			}
			fp, gp := planes(full), planes(got)
			if len(fp) == 0 || len(fp) != len(gp) {
				// RGB and CMYK come out converted: only roughly alike,
				// as their subsampled channels are averaged over more.
				if d := meanAbsDiff(boxAverage(full, s), got); d > 16 {
					t.Errorf("%s 1/%d: mean difference %.2f from the box-averaged full decode", f, s, d)
				}
				continue
			}
			// DC alone is the block's mean; with more frequencies the
			// centre sample differs from the mean more (cos(uπ/16) for a
			// 2-pixel group), and these q50 frames are sharp.
			limit := map[int]float64{2: 4, 4: 3, 8: 1}[s]
			for i := range fp {
				if d := meanAbsDiff(boxAverage(fp[i], s), gp[i]); d > limit {
					t.Errorf("%s 1/%d plane %d: mean difference %.2f from the box-averaged full decode", f, s, i, d)
				}
			}
		}
	}
}

// planes returns the planes of a Gray or YCbCr image as Gray images.
func planes(m image.Image) []*image.Gray {
	switch m := m.(type) {
	case *image.Gray:
		return []*image.Gray{m}
	case *image.YCbCr:
		cr := m.COffset(m.Rect.Max.X-1, m.Rect.Max.Y-1)
		cw, ch := cr%m.CStride+1, cr/m.CStride+1
		return []*image.Gray{
			{Pix: m.Y, Stride: m.YStride, Rect: m.Rect},
			{Pix: m.Cb, Stride: m.CStride, Rect: image.Rect(0, 0, cw, ch)},
			{Pix: m.Cr, Stride: m.CStride, Rect: image.Rect(0, 0, cw, ch)},
		}
	}
	return nil
}

func TestBadScale(t *testing.T) {
	data, _ := os.ReadFile("testdata/video-001.jpeg")
	if _, err := Decode(bytes.NewReader(data), 3); err == nil {
		t.Fatal("scale 3 accepted")
	}
}

// Damaged files must give errors or images, never a panic, at every scale.
func TestDamagedNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range testFiles(t) {
		data, _ := os.ReadFile(f)
		for i := range 40 {
			bad := bytes.Clone(data)
			if i%4 == 0 {
				bad = bad[:rng.IntN(len(bad))]
			}
			for range 1 + rng.IntN(8) {
				if len(bad) > 0 {
					bad[rng.IntN(len(bad))] = byte(rng.Uint32())
				}
			}
			for _, s := range []int{1, 2, 4, 8} {
				Decode(bytes.NewReader(bad), s)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range testFiles(f) {
		data, _ := os.ReadFile(name)
		f.Add(data, uint8(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, s uint8) {
		scale := 1 << (s % 4)
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1e6 {
			return
		}
		Decode(bytes.NewReader(data), scale)
	})
}

// boxAverage averages m's s x s blocks (smaller at the edges) in RGB.
func boxAverage(m image.Image, s int) *image.RGBA {
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, (b.Dx()+s-1)/s, (b.Dy()+s-1)/s))
	for oy := range out.Rect.Dy() {
		for ox := range out.Rect.Dx() {
			var sum [4]uint32
			n := uint32(0)
			for y := oy * s; y < min(oy*s+s, b.Dy()); y++ {
				for x := ox * s; x < min(ox*s+s, b.Dx()); x++ {
					r, g, bl, a := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
					sum[0] += r >> 8
					sum[1] += g >> 8
					sum[2] += bl >> 8
					sum[3] += a >> 8
					n++
				}
			}
			i := out.PixOffset(ox, oy)
			for c := range 4 {
				out.Pix[i+c] = uint8((sum[c] + n/2) / n)
			}
		}
	}
	return out
}

// meanAbsDiff is the mean absolute difference of a and b over RGB, in
// 8-bit levels, over the pixels both have.
func meanAbsDiff(a, b image.Image) float64 {
	r := a.Bounds().Intersect(b.Bounds())
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			sum += absDiff(r1>>8, r2>>8) + absDiff(g1>>8, g2>>8) + absDiff(b1>>8, b2>>8)
			n += 3
		}
	}
	return sum / n
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}
