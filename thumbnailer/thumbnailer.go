// Package thumbnailer makes the JPEG thumbnails of posts' files: still
// images (JPEG, PNG, WebP), the first frame of a GIF and the first frame of a
// WebM or MP4 video (through ffmpeg), of exactly maniwani.ThumbSize, with
// transparency flattened on the page background.
//
// A big image is never resized whole. A JPEG is decoded at 1/2, 1/4 or 1/8
// of its size (internal/jpeg, the standard decoder with libjpeg's DCT
// scaling), a PNG is box-filtered row by row as it is inflated, and other
// images are box-filtered on their decoded planes; imaging's Lanczos makes
// the last step to the exact size. Each keeps at least twice the
// thumbnail's size for that step, so the result looks like a Lanczos resize
// of the whole image, for a fraction of its time and memory.
package thumbnailer

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/maniwani/maniwani"
)

// Options says how thumbnails look and how videos are read.
type Options struct {
	// Background is what transparency is flattened on, as JPEG has none;
	// nil is white (#FFFFFF), the page background of the default theme. Its
	// own alpha is ignored.
	Background color.Color
	// Quality is the JPEG quality, 1 to 100; 0 is 85.
	Quality int
	// FFmpeg is the ffmpeg binary for videos; "" is "ffmpeg" on PATH.
	FFmpeg string
}

// Thumb is a thumbnail: JPEG bytes of W x H pixels.
type Thumb struct {
	JPEG []byte
	W, H int
}

// maxPixels bounds the images that are decoded at all: a small file can
// declare a huge image (a decompression bomb), and a decoded image costs up
// to 4 bytes a pixel. It is the api's limit of an upload.
const maxPixels = maniwani.DefaultMaxPixels

// defaultQuality keeps a 250 px thumbnail sharp at about 10-20 KB.
const defaultQuality = 85

// Make reads the file at path whose kind is ext (".jpg", ".jpeg", ".png",
// ".gif", ".webp", ".webm", ".mp4") and returns its JPEG thumbnail, of
// exactly maniwani.ThumbSize of the image's (or the first frame's) size.
//
// Errors carry a maniwani kind: KindInvalid for a file that is not what ext
// says (corrupt, truncated, unknown kind), KindTooLarge for an image over 64
// megapixels, KindUnavailable when ffmpeg is missing (errors.Is(err,
// exec.ErrNotFound) holds then); others are internal.
func Make(ctx context.Context, path, ext string, opt Options) (Thumb, error) {
	if err := ctx.Err(); err != nil {
		return Thumb{}, err
	}
	var (
		src  image.Image
		w, h int
		err  error
	)
	switch e := strings.ToLower(ext); e {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp":
		src, w, h, err = decodeImage(path, e)
	case ".webm", ".mp4":
		src, w, h, err = videoFrame(ctx, path, e, opt.FFmpeg)
	default:
		err = &maniwani.Error{Kind: maniwani.KindInvalid, Message: fmt.Sprintf("thumbnailer: no thumbnails for %q files", ext)}
	}
	if err != nil {
		return Thumb{}, err
	}
	tw, th := maniwani.ThumbSize(w, h)
	if tw == 0 {
		return Thumb{}, invalid("thumbnailer: empty image", nil)
	}
	dst := fit(src, tw, th)
	flatten(dst, opt.Background)
	q := opt.Quality
	if q <= 0 || q > 100 {
		q = defaultQuality
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, dst, imaging.JPEG, imaging.JPEGQuality(q)); err != nil {
		return Thumb{}, fmt.Errorf("thumbnailer: encode: %w", err)
	}
	return Thumb{JPEG: buf.Bytes(), W: tw, H: th}, nil
}

// fit returns src resized to exactly tw x th: first shrunk by the largest
// integer factor that leaves at least twice the target, which is cheap and
// throws away most pixels, then Lanczos for the last step, which is what
// makes it sharp without aliasing.
func fit(src image.Image, tw, th int) *image.NRGBA {
	b := src.Bounds()
	if b.Dx() == tw && b.Dy() == th {
		return imaging.Clone(src)
	}
	if k := shrinkFactor(b.Dx(), b.Dy(), tw, th); k >= 2 {
		if small := shrink(src, k); small != nil {
			src = small
		}
	}
	return imaging.Resize(src, tw, th, imaging.Lanczos)
}

// flatten composes m over the opaque background bg (nil: white) in place.
func flatten(m *image.NRGBA, bg color.Color) {
	var br, bgc, bb uint32 = 255, 255, 255
	if bg != nil {
		c := color.NRGBAModel.Convert(bg).(color.NRGBA)
		br, bgc, bb = uint32(c.R), uint32(c.G), uint32(c.B)
	}
	for y := 0; y < m.Rect.Dy(); y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+m.Rect.Dx()*4]
		for i := 0; i < len(row); i += 4 {
			a := uint32(row[i+3])
			if a == 255 {
				continue
			}
			na := 255 - a
			row[i+0] = uint8((uint32(row[i+0])*a + br*na + 127) / 255)
			row[i+1] = uint8((uint32(row[i+1])*a + bgc*na + 127) / 255)
			row[i+2] = uint8((uint32(row[i+2])*a + bb*na + 127) / 255)
			row[i+3] = 255
		}
	}
}

// invalid is a KindInvalid error: the file is not a readable image.
func invalid(msg string, err error) error {
	return &maniwani.Error{Kind: maniwani.KindInvalid, Message: msg, Err: err}
}
