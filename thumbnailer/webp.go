package thumbnailer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"

	"golang.org/x/image/webp"
)

// decodeWebP decodes a WebP image; of an animation (which x/image/webp
// does not read) the first frame, drawn where it lies on the canvas of
// canvas's size.
func decodeWebP(r io.Reader, canvas image.Config) (image.Image, error) {
	// The header says whether it is an animation; a still image streams
	// into the decoder as before, only an animation is read whole.
	var hdr [webpHeaderLen]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if !isAnimatedWebP(hdr[:n]) {
		return webp.Decode(io.MultiReader(bytes.NewReader(hdr[:n]), r))
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	frame, x, y, err := firstWebPFrame(append(hdr[:], rest...))
	if err != nil {
		return nil, err
	}
	// The frame's own header, not the canvas checked before, tells what
	// decoding it allocates: no bigger than the canvas.
	fc, err := webp.DecodeConfig(bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	if fc.Width > canvas.Width || fc.Height > canvas.Height {
		return nil, fmt.Errorf("thumbnailer: WebP frame of %dx%d on a canvas of %dx%d", fc.Width, fc.Height, canvas.Width, canvas.Height)
	}
	m, err := webp.Decode(bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	c := image.NewNRGBA(image.Rect(0, 0, canvas.Width, canvas.Height))
	draw.Draw(c, m.Bounds().Add(image.Pt(x, y)), m, m.Bounds().Min, draw.Src)
	return c, nil
}

// WebP's extended header flag of an animation, and the length of the
// header up to the byte that holds it.
const (
	webpAnimation = 0x02
	webpHeaderLen = 21
)

// isAnimatedWebP tells whether a WebP's first bytes are those of an
// animation: VP8X first, with its animation flag.
func isAnimatedWebP(hdr []byte) bool {
	return len(hdr) >= webpHeaderLen && string(hdr[:4]) == "RIFF" && string(hdr[8:16]) == "WEBPVP8X" &&
		hdr[20]&webpAnimation != 0
}

// firstWebPFrame finds, in an animated WebP (VP8X with its animation flag,
// then ANMF frames), the first frame and makes it a WebP of its own: its
// image chunk alone, or with its alpha chunk behind a VP8X header of the
// frame's size. It tells where the frame lies on the canvas.
func firstWebPFrame(b []byte) (frame []byte, x, y int, err error) {
	bad := errors.New("thumbnailer: bad animated WebP")
	if !isAnimatedWebP(b) {
		return nil, 0, 0, bad
	}
	chunks := b[12:]
	for len(chunks) >= 8 {
		fourcc, n := string(chunks[:4]), int(binary.LittleEndian.Uint32(chunks[4:]))
		if n < 0 || n > len(chunks)-8 {
			return nil, 0, 0, bad
		}
		body := chunks[8 : 8+n]
		chunks = chunks[min(len(chunks), 8+n+n&1):]
		if fourcc != "ANMF" {
			continue
		}
		// X/2, Y/2, width-1, height-1 and duration (24 bits each), flags,
		// then the frame's chunks: ALPH perhaps, and VP8 or VP8L.
		if len(body) < 16+8 {
			return nil, 0, 0, bad
		}
		u24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
		x, y = 2*u24(body[0:]), 2*u24(body[3:])
		w, h := u24(body[6:])+1, u24(body[9:])+1
		data := body[16:]
		if string(data[:4]) == "ALPH" {
			hdr := binary.LittleEndian.AppendUint32([]byte("VP8X"), 10)
			hdr = append(hdr, 0x10, 0, 0, 0) // alpha
			hdr = append(hdr, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
			data = append(hdr, data...)
		}
		frame = binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(data)))
		frame = append(append(frame, "WEBP"...), data...)
		return frame, x, y, nil
	}
	return nil, 0, 0, bad
}
