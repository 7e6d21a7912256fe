package upload

import (
	"bufio"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/upload/phash"
	"github.com/maniwani/maniwani/internal/jpeg"
)

// Hashable tells whether PerceptualHash takes files of the extension ext:
// the still images, not video.
func Hashable(ext string) bool { return imageFormat(ext) != nil }

func imageFormat(ext string) *format {
	switch ext {
	case ".jpg":
		return formatJPEG()
	case ".png":
		return formatPNG()
	case ".gif":
		return formatGIF()
	case ".webp":
		return formatWebP()
	}
	return nil
}

// hashSide is the least width and height a JPEG is decoded at for its
// hash: twice phash's 32x32 grid, so that each cell still averages pixels.
const hashSide = 64

// PerceptualHash is the perceptual hash (phash.Hash) of the image r, of
// type ext (one of Hashable's): an upload as Finish left it, or a stored
// file. A JPEG is decoded at the smallest of 1/8, 1/4 or 1/2 of its size
// that keeps hashSide pixels a side: at 1/8 each 8x8 block is its mean,
// the box filter phash applies anyway, for a fraction of a whole decode.
// A GIF is its first frame. The header is held to maxPixels (0:
// maniwani.DefaultMaxPixels) before any pixel is decoded; the caller
// bounds the decodes that run at once (the api's decode gate). An image
// that does not decode is refused as Check refuses a damaged file.
func PerceptualHash(r io.ReadSeeker, ext string, maxPixels int64) (uint64, error) {
	ft := imageFormat(ext)
	if ft == nil {
		return 0, fmt.Errorf("upload: no perceptual hash for %s files", ext)
	}
	if maxPixels <= 0 {
		maxPixels = maniwani.DefaultMaxPixels
	}
	br := bufio.NewReaderSize(r, 64<<10)
	cfg, err := ft.config(br)
	if err != nil {
		return 0, ft.refuse(configFlaw(err))
	}
	if err := checkPixels(ft, cfg.Width, cfg.Height, maxPixels); err != nil {
		return 0, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	br.Reset(r)
	var img image.Image
	switch ext {
	case ".png":
		img, err = png.Decode(br)
	case ".gif":
		img, err = gif.Decode(br) // the first frame only
	case ".webp":
		img, err = webp.Decode(br)
	default:
		img, err = jpeg.Decode(br, jpegHashScale(cfg.Width, cfg.Height))
	}
	if err != nil {
		return 0, ft.refuse(configFlaw(err))
	}
	return phash.Hash(img), nil
}

// jpegHashScale is the largest decoding scale that leaves w x h at least
// hashSide pixels a side.
func jpegHashScale(w, h int) int {
	for s := 8; s > 1; s /= 2 {
		if (w+s-1)/s >= hashSide && (h+s-1)/s >= hashSide {
			return s
		}
	}
	return 1
}
