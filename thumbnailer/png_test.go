package thumbnailer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/maniwani/maniwani"
)

// pngKinds are images that image/png encodes as each colour type that
// shrinkPNG streams, and one it leaves to image/png.
func pngKinds() map[string]image.Image {
	rgb := scene(301, 203)
	nrgba := scene(301, 203)
	for i := 3; i < len(nrgba.Pix); i += 4 {
		nrgba.Pix[i] = uint8(i / 4 % 256) // every alpha, on every colour
	}
	gray := image.NewGray(rgb.Bounds())
	for i := range gray.Pix {
		gray.Pix[i] = rgb.Pix[i*4+1]
	}
	pal := image.NewPaletted(rgb.Bounds(), color.Palette{
		color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}, color.NRGBA{0, 0, 0, 0}, color.NRGBA{10, 200, 30, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 7 % 4)
	}
	// Two and sixteen colours: 1 and 4 bits a pixel.
	pal1 := image.NewPaletted(rgb.Bounds(), color.Palette{color.Black, color.NRGBA{250, 240, 10, 255}})
	var p16 color.Palette
	for i := range 16 {
		p16 = append(p16, color.NRGBA{uint8(i * 16), uint8(255 - i*16), 90, 255})
	}
	pal4 := image.NewPaletted(rgb.Bounds(), p16)
	for i := range pal1.Pix {
		pal1.Pix[i] = uint8(i % 301 / 5 % 2)
		pal4.Pix[i] = uint8((i%301 + i/301) % 16)
	}
	deep := image.NewNRGBA64(rgb.Bounds())
	for y := range 203 {
		for x := range 301 {
			deep.Set(x, y, nrgba.At(x, y))
		}
	}
	return map[string]image.Image{"rgb": rgb, "rgba": nrgba, "gray": gray, "palette+tRNS": pal,
		"palette-1bit": pal1, "palette-4bit": pal4, "16-bit": deep}
}

// Streaming must give what shrinking the whole decoded image gives.
func TestShrinkPNGMatchesWholeDecode(t *testing.T) {
	for name, m := range pngKinds() {
		var buf bytes.Buffer
		if err := png.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{2, 3, 8} {
			got, err := shrinkPNG(bytes.NewReader(buf.Bytes()), k)
			if name == "16-bit" {
				if !errors.Is(err, errPNGKind) {
					t.Errorf("16-bit: %v, want errPNGKind", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s k=%d: %v", name, k, err)
			}
			whole, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			want := shrinkRGBA(atOnly{whole}, k)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("%s k=%d: bounds %v, want %v", name, k, got.Bounds(), want.Bounds())
			}
			// Alike up to rounding, which at a low alpha is big in
			// the unpremultiplied colour: compare premultiplied.
			for i := 0; i < len(got.Pix); i += 4 {
				g, w := got.Pix[i:i+4], want.Pix[i:i+4]
				for c := range 3 {
					if d := int(g[c])*int(g[3]) - int(w[c])*int(w[3]); d < -2*255 || d > 2*255 {
						t.Fatalf("%s k=%d: pixel %d is %v, want %v", name, k, i/4, g, w)
					}
				}
				if d := int(g[3]) - int(w[3]); d < -1 || d > 1 {
					t.Fatalf("%s k=%d: pixel %d is %v, want %v", name, k, i/4, g, w)
				}
			}
		}
	}
}

// Kinds that only ImageMagick writes: grey with alpha (streamed),
// interlaced and colour-keyed (decoded whole).
func TestPNGKindsImageMagick(t *testing.T) {
	convert := needTool(t, "convert")
	dir := t.TempDir()
	src := scene(1000, 700)
	for i := 3; i < len(src.Pix); i += 4 {
		if (i/4)%1000 > 600 {
			src.Pix[i] = 0
		}
	}
	path := writeFile(t, dir, "src.png", src)
	for name, args := range map[string][]string{
		"ga.png":         {"-colorspace", "Gray", "-define", "png:color-type=4"},
		"interlaced.png": {"-interlace", "PNG"},
		"rgb-16.png":     {"-alpha", "off", "-depth", "16"},
		"gray-4bit.png":  {"-alpha", "off", "-colorspace", "Gray", "-depth", "4", "-define", "png:bit-depth=4", "-define", "png:color-type=0"},
	} {
		out := filepath.Join(dir, name)
		runTool(t, convert, append(append([]string{path}, args...), out)...)
		got := mustMake(t, out, 1000, 700, Options{})
		if d := meanAbsDiff(t, got, reference(t, out)); d > 2.5 {
			t.Errorf("%s: mean difference %.2f from decode + imaging.Resize", name, d)
		}
	}
}

// chunks splits a PNG into its chunks' types and data.
func chunks(t testing.TB, data []byte) (types []string, datas [][]byte) {
	data = data[8:]
	for len(data) >= 12 {
		n := binary.BigEndian.Uint32(data)
		types = append(types, string(data[4:8]))
		datas = append(datas, bytes.Clone(data[8:8+n]))
		data = data[12+n:]
	}
	return types, datas
}

// assemble makes a PNG of chunks, with right CRCs.
func assemble(types []string, datas [][]byte) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	for i, typ := range types {
		out = binary.BigEndian.AppendUint32(out, uint32(len(datas[i])))
		start := len(out)
		out = append(out, typ...)
		out = append(out, datas[i]...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	return out
}

// Damage past the CRCs (in the compressed data, the filters, the header)
// gives errors, never a panic or a hang; it runs without decodeSafely's
// recover, so a panic fails the test.
func TestShrinkPNGDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range pngKinds() {
		var buf bytes.Buffer
		png.Encode(&buf, m)
		types, datas := chunks(t, buf.Bytes())
		for range 60 {
			ds := make([][]byte, len(datas))
			for i := range datas {
				ds[i] = bytes.Clone(datas[i])
			}
			ts := append([]string(nil), types...)
			i := rng.IntN(len(ds))
			switch rng.IntN(4) {
			case 0: // flip bytes
				for range 1 + rng.IntN(4) {
					if len(ds[i]) > 0 {
						ds[i][rng.IntN(len(ds[i]))] ^= byte(1 + rng.IntN(255))
					}
				}
			case 1: // cut a chunk short
				ds[i] = ds[i][:rng.IntN(len(ds[i])+1)]
			case 2: // drop a chunk
				ts, ds = append(ts[:i:i], ts[i+1:]...), append(ds[:i:i], ds[i+1:]...)
			case 3: // claim another size
				binary.BigEndian.PutUint32(ds[0][rng.IntN(2)*4:], uint32(rng.IntN(1000)))
			}
			shrinkPNG(bytes.NewReader(assemble(ts, ds)), 1+rng.IntN(4))
		}
	}
}

// A PNG that is cut short in its pixels is an error through Make too.
func TestShrinkPNGTruncatedIDAT(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, scene(1200, 900))
	types, datas := chunks(t, buf.Bytes())
	for i, typ := range types {
		if typ == "IDAT" {
			datas[i] = datas[i][:len(datas[i])/3]
		}
	}
	path := filepath.Join(t.TempDir(), "short.png")
	os.WriteFile(path, assemble(types, datas), 0o644)
	if _, err := Make(context.Background(), path, ".png", Options{}); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("short IDAT: %v, want KindInvalid", err)
	}
}

func FuzzShrinkPNG(f *testing.F) {
	for _, m := range pngKinds() {
		var buf bytes.Buffer
		png.Encode(&buf, m)
		f.Add(buf.Bytes(), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<22 {
			return
		}
		shrinkPNG(bytes.NewReader(data), 1+int(k%16))
	})
}
