package upload

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"

	"github.com/disintegration/imaging"
)

// maxSegments is the most markers a JPEG may have, restart markers aside.
const maxSegments = 4096

// walkJPEG walks the markers from SOI to EOI, through the entropy-coded data
// of every scan, and notes the metadata segments to cut: APP1 (EXIF, XMP),
// every APPn but JFIF (APP0), ICC profiles (APP2) and Adobe (APP14), which
// change how the pixels look, and comments (COM: any text a camera or an
// editor wrote there).
func walkJPEG(s *scanner) (walked, error) {
	w := walked{orient: 1}
	var soi [2]byte
	if err := s.full(soi[:]); err != nil {
		return w, err
	}
	if soi != [2]byte{0xff, 0xd8} {
		return w, damaged("no SOI")
	}
	var sof, sos, exif bool
	var buf []byte // an APPn's bytes; at most 64 KiB
	segments := 0
	m, err := s.marker()
	for err == nil {
		start := s.off - 2
		// Real JPEGs have tens of segments; a bound keeps the lists of
		// spans small whatever the file.
		if segments++; segments > maxSegments {
			return w, damaged("more than %d segments", maxSegments)
		}
		switch {
		case m == 0xd9: // EOI
			if !sos {
				return w, damaged("EOI before any scan")
			}
			return w, s.end()
		case m == 0x01 || m >= 0xd0 && m <= 0xd7: // TEM, RSTn: no length
			m, err = s.marker()
			continue
		case m == 0x00 || m == 0xd8:
			return w, damaged("marker %#02x at byte %d", m, start)
		}
		var l [2]byte
		if err := s.full(l[:]); err != nil {
			return w, err
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		if n < 2 {
			return w, damaged("segment %#02x of length %d at byte %d", m, n, start)
		}
		switch {
		case m >= 0xe0 && m <= 0xef: // APPn
			if buf == nil {
				buf = make([]byte, 1<<16)
			}
			body := buf[:n-2]
			if err := s.full(body); err != nil {
				return w, err
			}
			switch {
			case m == 0xe0, m == 0xee && bytes.HasPrefix(body, []byte("Adobe")):
			case m == 0xe2 && bytes.HasPrefix(body, []byte("ICC_PROFILE\x00")):
				w.icc = append(w.icc, span{start: start, end: s.off})
			default:
				if m == 0xe1 && !exif && bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
					exif = true
					w.orient = exifOrientation(body[6:])
				}
				w.drop = append(w.drop, span{start: start, end: s.off})
			}
		case m == 0xfe: // COM
			if err := s.skip(int64(n - 2)); err != nil {
				return w, err
			}
			w.drop = append(w.drop, span{start: start, end: s.off})
		case m == 0xda: // SOS: the segment, then entropy-coded data up to the next marker
			if !sof {
				return w, damaged("SOS before SOF")
			}
			if err := s.skip(int64(n - 2)); err != nil {
				return w, err
			}
			sos = true
			m, err = s.entropy()
			continue
		default:
			if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
				sof = true
			}
			if err := s.skip(int64(n - 2)); err != nil {
				return w, err
			}
		}
		m, err = s.marker()
	}
	return w, err
}

// marker reads a marker, past any fill bytes, and returns its code.
func (s *scanner) marker() (byte, error) {
	b, err := s.byte()
	if err != nil {
		return 0, err
	}
	if b != 0xff {
		return 0, damaged("no marker at byte %d", s.off-1)
	}
	for b == 0xff {
		if b, err = s.byte(); err != nil {
			return 0, err
		}
	}
	return b, nil
}

// entropy reads a scan's entropy-coded data, where 0xFF is followed by a
// stuffed zero or a restart marker, and returns the marker that ends it.
func (s *scanner) entropy() (byte, error) {
	for {
		if err := s.through(0xff); err != nil {
			return 0, err
		}
		b, err := s.byte()
		for err == nil && b == 0xff {
			b, err = s.byte()
		}
		if err != nil {
			return 0, err
		}
		if b != 0x00 && (b < 0xd0 || b > 0xd7) {
			return b, nil
		}
	}
}

// exifOrientation reads tag 0x0112 of IFD0 of an EXIF TIFF block; 1 (as
// stored) when absent or unreadable.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := uint64(bo.Uint32(tiff[4:]))
	if ifd+2 > uint64(len(tiff)) {
		return 1
	}
	n := uint64(bo.Uint16(tiff[ifd:]))
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(tiff)) {
			break
		}
		if bo.Uint16(tiff[e:]) == 0x0112 && bo.Uint16(tiff[e+2:]) == 3 {
			if v := int(bo.Uint16(tiff[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// copyWithout copies the size bytes of f to w but the spans cut, each
// replaced by its put or its zeros.
func copyWithout(w io.Writer, f io.ReaderAt, size int64, cut []span) error {
	var at int64
	var zeros []byte
	for _, c := range cut {
		if _, err := io.Copy(w, io.NewSectionReader(f, at, c.start-at)); err != nil {
			return err
		}
		if _, err := w.Write(c.put); err != nil {
			return err
		}
		for n := c.end - c.start; c.zero && n > 0; {
			if zeros == nil {
				zeros = make([]byte, 32<<10)
			}
			k, err := w.Write(zeros[:min(n, int64(len(zeros)))])
			if err != nil {
				return err
			}
			n -= int64(k)
		}
		at = c.end
	}
	_, err := io.Copy(w, io.NewSectionReader(f, at, size-at))
	return err
}

// reorient decodes the JPEG, turns it as its EXIF orientation says, and
// writes it at quality 95 with its ICC profile and no other metadata, so
// that it looks the same everywhere, whether the viewer reads EXIF or not.
// The pixel limit was checked before: the decode is bounded.
func reorient(w io.Writer, f io.ReaderAt, size int64, walk walked) (width, height int, err error) {
	img, err := jpeg.Decode(bufio.NewReader(io.NewSectionReader(f, 0, size)))
	if err != nil {
		return 0, 0, &flaw{whyDamaged, err}
	}
	if out := turnPlanes(img, walk.orient); out != nil {
		return writeJPEG(w, f, walk.icc, out)
	}
	var t *image.NRGBA
	switch walk.orient {
	case 2:
		t = imaging.FlipH(img)
	case 3:
		t = imaging.Rotate180(img)
	case 4:
		t = imaging.FlipV(img)
	case 5:
		t = imaging.Transpose(img)
	case 6:
		t = imaging.Rotate270(img)
	case 7:
		t = imaging.Transverse(img)
	default: // 8
		t = imaging.Rotate90(img)
	}
	// A JPEG is opaque, so its NRGBA pixels are RGBA pixels too, for which
	// the encoder has a fast path. A grey image stays grey, so that its
	// profile, if any, still fits; a CMYK one becomes RGB and loses its
	// CMYK profile.
	var out image.Image = &image.RGBA{Pix: t.Pix, Stride: t.Stride, Rect: t.Rect}
	icc := walk.icc
	switch img.(type) {
	case *image.Gray:
		g := image.NewGray(t.Rect)
		for i := range g.Pix {
			g.Pix[i] = t.Pix[4*i]
		}
		out = g
	case *image.CMYK:
		icc = nil
	}
	return writeJPEG(w, f, icc, out)
}

// writeJPEG writes img at quality 95 with the ICC profile segments icc of
// f after its SOI.
func writeJPEG(w io.Writer, f io.ReaderAt, icc []span, img image.Image) (width, height int, err error) {
	if _, err := w.Write([]byte{0xff, 0xd8}); err != nil {
		return 0, 0, err
	}
	for _, c := range icc {
		if _, err := io.Copy(w, io.NewSectionReader(f, c.start, c.end-c.start)); err != nil {
			return 0, 0, err
		}
	}
	if err := jpeg.Encode(&skipWriter{w: w, n: 2}, img, &jpeg.Options{Quality: 95}); err != nil {
		return 0, 0, err
	}
	return img.Bounds().Dx(), img.Bounds().Dy(), nil
}

// turnPlanes is img turned as orient (2 to 8) says, plane by plane in its
// own colour model: a YCbCr image stays YCbCr and a grey one grey, so the
// turn costs one more copy of the decoded planes (1.5 bytes a pixel for
// 4:2:0) instead of an RGBA image of 4, and the encoder takes it as it is.
// A 36-megapixel photo is turned in about 110 MB rather than 250. It is nil
// for what it cannot turn so (CMYK; a subsampling whose turn has no name).
func turnPlanes(img image.Image, orient int) image.Image {
	swap := orient >= 5
	dims := func(w, h int) (int, int) {
		if swap {
			return h, w
		}
		return w, h
	}
	switch m := img.(type) {
	case *image.Gray:
		if m.Rect.Min != (image.Point{}) {
			return nil
		}
		w, h := m.Rect.Dx(), m.Rect.Dy()
		g := image.NewGray(image.Rectangle{Max: image.Pt(dims(w, h))})
		turnPlane(g.Pix, g.Stride, m.Pix, m.Stride, w, h, orient)
		return g
	case *image.YCbCr:
		if m.Rect.Min != (image.Point{}) {
			return nil
		}
		w, h := m.Rect.Dx(), m.Rect.Dy()
		ratio, cw, ch := m.SubsampleRatio, w, h
		switch ratio {
		case image.YCbCrSubsampleRatio444:
		case image.YCbCrSubsampleRatio420:
			cw, ch = (w+1)/2, (h+1)/2
		case image.YCbCrSubsampleRatio422:
			cw = (w + 1) / 2
			if swap {
				ratio = image.YCbCrSubsampleRatio440
			}
		case image.YCbCrSubsampleRatio440:
			ch = (h + 1) / 2
			if swap {
				ratio = image.YCbCrSubsampleRatio422
			}
		default:
			return nil
		}
		out := image.NewYCbCr(image.Rectangle{Max: image.Pt(dims(w, h))}, ratio)
		turnPlane(out.Y, out.YStride, m.Y, m.YStride, w, h, orient)
		turnPlane(out.Cb, out.CStride, m.Cb, m.CStride, cw, ch, orient)
		turnPlane(out.Cr, out.CStride, m.Cr, m.CStride, cw, ch, orient)
		return out
	}
	return nil
}

// turnPlane writes the w x h plane src, turned as orient says, to dst. The
// source pixel of a row of dst moves by a fixed step, so each row is one
// start and one step.
func turnPlane(dst []byte, dstStride int, src []byte, srcStride int, w, h, orient int) {
	dw, dh := w, h
	if orient >= 5 {
		dw, dh = h, w
	}
	for y := range dh {
		var sx, sy, step int // where row y starts in src, and how it goes on
		switch orient {
		case 2:
			sx, sy, step = w-1, y, -1
		case 3:
			sx, sy, step = w-1, h-1-y, -1
		case 4:
			sx, sy, step = 0, h-1-y, 1
		case 5:
			sx, sy, step = y, 0, srcStride
		case 6:
			sx, sy, step = y, h-1, -srcStride
		case 7:
			sx, sy, step = w-1-y, h-1, -srcStride
		default: // 8
			sx, sy, step = w-1-y, 0, srcStride
		}
		i, row := sy*srcStride+sx, dst[y*dstStride:y*dstStride+dw]
		for x := range row {
			row[x] = src[i]
			i += step
		}
	}
}

// skipWriter drops the first n bytes written: the encoder's SOI, written
// already with the profile after it.
type skipWriter struct {
	w io.Writer
	n int
}

func (s *skipWriter) Write(p []byte) (int, error) {
	k := min(s.n, len(p))
	s.n -= k
	if k == len(p) {
		return len(p), nil
	}
	n, err := s.w.Write(p[k:])
	return n + k, err
}
