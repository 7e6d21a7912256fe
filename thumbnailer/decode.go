package thumbnailer

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/webp"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/jpeg"
)

// decoder is one format's pair of decode functions; decode is told the
// header it had.
type decoder struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader, image.Config) (image.Image, error)
}

func decoderFor(ext string) decoder {
	whole := func(dec func(io.Reader) (image.Image, error)) func(io.Reader, image.Config) (image.Image, error) {
		return func(r io.Reader, _ image.Config) (image.Image, error) { return dec(r) }
	}
	switch ext {
	case ".png":
		return decoder{png.DecodeConfig, whole(png.Decode)}
	case ".gif":
		// gif.Decode stops after the first frame: an animation's other
		// frames are never decoded.
		return decoder{gif.DecodeConfig, whole(gif.Decode)}
	case ".webp":
		return decoder{webp.DecodeConfig, decodeWebP}
	default:
		return decoder{jpeg.DecodeConfig, func(r io.Reader, cfg image.Config) (image.Image, error) {
			return jpeg.Decode(r, jpegScale(cfg.Width, cfg.Height))
		}}
	}
}

// jpegScale is the largest of JPEG's decoding scales (1/8, 1/4, 1/2) that
// leaves at least twice the thumbnail's size, as fit's box filter does: the
// scaled decode skips most of the inverse DCT and is the cheapest shrink.
func jpegScale(w, h int) int {
	tw, th := maniwani.ThumbSize(w, h)
	for s := 8; s > 1; s /= 2 {
		if (w+s-1)/s >= 2*tw && (h+s-1)/s >= 2*th {
			return s
		}
	}
	return 1
}

// decodeImage decodes the image file at path of kind ext (lower case) and
// tells its size: the header's, which for a GIF is the logical screen that
// its first frame is drawn on. The header is checked against maxPixels
// before anything big is allocated.
func decodeImage(path, ext string) (image.Image, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("thumbnailer: %w", err)
	}
	defer f.Close()
	d := decoderFor(ext)
	br := bufio.NewReaderSize(f, 64<<10)
	cfg, err := d.config(br)
	if err != nil {
		return nil, 0, 0, invalid(fmt.Sprintf("thumbnailer: not a readable %s image", ext), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, 0, 0, invalid(fmt.Sprintf("thumbnailer: %s image of %dx%d", ext, cfg.Width, cfg.Height), nil)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, 0, 0, &maniwani.Error{Kind: maniwani.KindTooLarge,
			Message: fmt.Sprintf("thumbnailer: %dx%d image is over %d megapixels", cfg.Width, cfg.Height, maxPixels/1_000_000)}
	}
	if ext == ".png" {
		// A big PNG is shrunk while it is inflated, never whole.
		tw, th := maniwani.ThumbSize(cfg.Width, cfg.Height)
		if k := shrinkFactor(cfg.Width, cfg.Height, tw, th); k >= 2 {
			if err := rewind(f, br); err != nil {
				return nil, 0, 0, err
			}
			m, err := decodeSafely(func() (image.Image, error) { return shrinkPNG(br, k) })
			if err == nil {
				return m, cfg.Width, cfg.Height, nil
			}
			if !errors.Is(err, errPNGKind) {
				return nil, 0, 0, invalid("thumbnailer: not a readable .png image", err)
			}
		}
	}
	if err := rewind(f, br); err != nil {
		return nil, 0, 0, err
	}
	m, err := decodeSafely(func() (image.Image, error) { return d.decode(br, cfg) })
	if err != nil {
		return nil, 0, 0, invalid(fmt.Sprintf("thumbnailer: not a readable %s image", ext), err)
	}
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	if ext == ".gif" && m.Bounds() != screen {
		// A frame can cover part of the screen; the rest is transparent
		// until the next frames, which a thumbnail does not show.
		canvas := image.NewNRGBA(screen)
		draw.Draw(canvas, m.Bounds(), m, m.Bounds().Min, draw.Src)
		m = canvas
	}
	return m, cfg.Width, cfg.Height, nil
}

// rewind starts br over at the beginning of f.
func rewind(f *os.File, br *bufio.Reader) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("thumbnailer: %w", err)
	}
	br.Reset(f)
	return nil
}

// decodeSafely runs decode, turning a panic into an error: the decoders
// are fuzzed, but one bad upload must not take the thumbnailer down.
func decodeSafely(decode func() (image.Image, error)) (m image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return decode()
}
