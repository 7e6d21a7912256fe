package thumbnailer

import (
	"encoding/binary"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// animatedWebP is an animated WebP of canvas w x h whose frames are the
// image chunks given, each at its offset.
func animatedWebP(w, h int, frames ...webpFrame) []byte {
	u24 := func(b []byte, v int) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16)) }
	chunk := func(fourcc string, body []byte) []byte {
		c := binary.LittleEndian.AppendUint32([]byte(fourcc), uint32(len(body)))
		c = append(c, body...)
		if len(body)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := u24(u24([]byte{webpAnimation | 0x10, 0, 0, 0}, w-1), h-1)
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, chunk("ANIM", []byte{255, 255, 255, 0, 0, 0})...)
	for _, f := range frames {
		anmf := u24(u24(u24(u24(u24(nil, f.x/2), f.y/2), f.w-1), f.h-1), 100)
		anmf = append(append(anmf, 0), f.data...)
		body = append(body, chunk("ANMF", anmf)...)
	}
	return append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}

type webpFrame struct {
	x, y, w, h int
	data       []byte // the frame's chunks: ALPH perhaps, then VP8 or VP8L
}

// The thumbnail of an animated WebP is its first frame, where it lies on
// the canvas; what it leaves uncovered is transparent, so white.
func TestAnimatedWebP(t *testing.T) {
	fixture := func(name string) []byte { // 40x30 green: VP8, VP8L, VP8X+ALPH+VP8 at half alpha
		b, err := os.ReadFile(filepath.Join("..", "api", "upload", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lossy, lossless, alpha := fixture("tiny.webp")[12:], fixture("tiny-lossless.webp")[12:], fixture("tiny-alpha.webp")[12+18:]
	dir := t.TempDir()
	green := color.NRGBA{0, 128, 0, 255}
	cases := []struct {
		name     string
		w, h     int
		frames   []webpFrame
		at       [2]int
		want     color.NRGBA
		blank    [2]int // a point the first frame leaves uncovered; -1: none
		wantSize [2]int
	}{
		{"whole canvas", 40, 30, []webpFrame{{0, 0, 40, 30, lossy}, {0, 0, 40, 30, lossless}}, [2]int{20, 15}, green, [2]int{-1, -1}, [2]int{40, 30}},
		{"lossless first", 40, 30, []webpFrame{{0, 0, 40, 30, lossless}, {0, 0, 40, 30, lossy}}, [2]int{20, 15}, green, [2]int{-1, -1}, [2]int{40, 30}},
		{"offset with alpha", 60, 50, []webpFrame{{10, 20, 40, 30, alpha}, {0, 0, 40, 30, lossy}}, [2]int{30, 35},
			color.NRGBA{127, 191, 127, 255}, [2]int{5, 5}, [2]int{60, 50}},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name+".webp")
		if err := os.WriteFile(path, animatedWebP(c.w, c.h, c.frames...), 0o644); err != nil {
			t.Fatal(err)
		}
		got := mustMake(t, path, c.wantSize[0], c.wantSize[1], Options{})
		if !near(got, c.at[0], c.at[1], c.want, 20) { // lossy green is (14, 128, 15)
			t.Errorf("%s: %v at %v, want %v", c.name, colorAt(got, c.at[0], c.at[1]), c.at, c.want)
		}
		if c.blank[0] >= 0 && !near(got, c.blank[0], c.blank[1], color.NRGBA{255, 255, 255, 255}, 4) {
			t.Errorf("%s: %v at %v, outside the first frame, want white", c.name, colorAt(got, c.blank[0], c.blank[1]), c.blank)
		}
	}

	// A frame bigger than its canvas is refused, not decoded.
	path := filepath.Join(dir, "big-frame.webp")
	os.WriteFile(path, animatedWebP(20, 10, webpFrame{0, 0, 40, 30, lossy}), 0o644)
	if _, err := Make(t.Context(), path, ".webp", Options{}); err == nil {
		t.Error("a 40x30 frame on a 20x10 canvas was taken")
	}
}

// firstWebPFrame never panics, whatever the bytes, and a frame it finds is
// a RIFF of the right size.
func FuzzFirstWebPFrame(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "api", "upload", "testdata", "tiny-alpha.webp"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(animatedWebP(60, 50, webpFrame{10, 20, 40, 30, b[12+18:]}))
	f.Add(animatedWebP(40, 30, webpFrame{0, 0, 40, 30, b[12+18:]}, webpFrame{0, 0, 2, 2, []byte("VP8L")}))
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, _, _, err := firstWebPFrame(data)
		if err == nil && (len(frame) < 12 || int(binary.LittleEndian.Uint32(frame[4:]))+8 != len(frame)) {
			t.Errorf("frame of %d bytes with RIFF size %d", len(frame), binary.LittleEndian.Uint32(frame[4:]))
		}
	})
}
