package thumbnailer

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"image"
	"io"
)

// errPNGKind says that a PNG is not one shrinkPNG streams; image/png
// decodes it whole instead.
var errPNGKind = errors.New("not a plain 8-bit PNG")

// pngHeader is what shrinkPNG needs of a PNG's chunks before its pixels.
type pngHeader struct {
	w, h      int
	depth     int // bits per sample: 8, or 1, 2, 4 for grey and palette
	colorType byte
	palette   [256][4]uint8 // premultiplied RGBA
}

// pngChannels are the bytes per pixel of each 8-bit colour type.
func pngChannels(colorType byte) int {
	switch colorType {
	case 0: // grey
		return 1
	case 2: // RGB
		return 3
	case 3: // palette
		return 1
	case 4: // grey and alpha
		return 2
	case 6: // RGBA
		return 4
	}
	return 0
}

// shrinkPNG decodes the PNG in r straight into its k x k box average (as
// shrink would make of the whole image) without ever holding the whole
// image: one goroutine inflates, which is most of a PNG's cost, while this
// one unfilters and averages the rows it handed over, so the two cores
// share the work and memory stays at a few rows. Non-interlaced PNGs of 8
// bits a sample (or fewer, for grey and palette) without a colour key are
// streamed; for others (16 bits, interlaced, colour key: rare in uploads)
// it returns errPNGKind before reading any pixel.
func shrinkPNG(r io.Reader, k int) (*image.NRGBA, error) {
	hdr, idat, err := readPNGHeader(r)
	if err != nil {
		return nil, err
	}
	zr, err := zlib.NewReader(idat)
	if err != nil {
		return nil, err
	}
	defer zr.Close()

	w, h := hdr.w, hdr.h
	bits := pngChannels(hdr.colorType) * hdr.depth
	bpp := max(1, bits/8)      // what the filters step by
	rowLen := 1 + (w*bits+7)/8 // the filter byte, then the pixels
	ow, oh := ceilDiv(w, k), ceilDiv(h, k)
	dst := image.NewNRGBA(image.Rect(0, 0, ow, oh))

	// Bands of k rows, one per output row, go from the inflater to here
	// and back to be reused: three in flight bound the memory.
	type band struct {
		buf []byte
		err error
	}
	free, full := make(chan []byte, 3), make(chan band, 3)
	for range 3 {
		free <- make([]byte, k*rowLen)
	}
	// Returning stops the inflater and waits for it: it reads zr and r,
	// which are closed, and read again (decodeImage's fallback), after.
	done, stopped := make(chan struct{}), make(chan struct{})
	defer func() {
		close(done)
		<-stopped
	}()
	go func() {
		defer close(stopped)
		defer close(full)
		for oy := range oh {
			var buf []byte
			select {
			case buf = <-free:
			case <-done:
				return
			}
			n := min(k, h-oy*k) * rowLen
			_, err := io.ReadFull(zr, buf[:n])
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			select {
			case full <- band{buf[:n], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	prev, cur := make([]byte, rowLen-1), make([]byte, rowLen-1)
	rgba := make([]byte, w*4)
	sums := make([]uint32, ow*4)
	for oy := range oh {
		b, ok := <-full
		if !ok {
			return nil, errors.New("png: pixel data stopped")
		}
		if b.err != nil {
			return nil, fmt.Errorf("png: pixel data: %w", b.err)
		}
		clear(sums)
		rows := len(b.buf) / rowLen
		for i := range rows {
			row := b.buf[i*rowLen : (i+1)*rowLen]
			copy(cur, row[1:])
			if err := unfilter(row[0], cur, prev, bpp); err != nil {
				return nil, err
			}
			hdr.toPremultiplied(rgba, cur)
			addBlocks(sums, rgba, k)
			prev, cur = cur, prev
		}
		putAverages(dst.Pix[oy*dst.Stride:], sums, k, w, rows)
		free <- b.buf[:cap(b.buf)]
	}
	return dst, nil
}

// toPremultiplied converts a row of pixels of h's colour type to
// premultiplied RGBA.
func (h *pngHeader) toPremultiplied(dst, src []byte) {
	if h.depth < 8 {
		// Grey or palette, packed from the high bits: 1, 2 or 4 bits each.
		per, mask := 8/h.depth, byte(1<<h.depth-1)
		scale := 255 / mask // grey levels to 0-255
		for x := range len(dst) / 4 {
			v := src[x/per] >> (8 - h.depth*(x%per+1)) & mask
			if h.colorType == 3 {
				copy(dst[x*4:x*4+4], h.palette[v][:])
			} else {
				g := v * scale
				dst[x*4], dst[x*4+1], dst[x*4+2], dst[x*4+3] = g, g, g, 255
			}
		}
		return
	}
	switch h.colorType {
	case 0:
		for i, g := range src {
			dst[i*4], dst[i*4+1], dst[i*4+2], dst[i*4+3] = g, g, g, 255
		}
	case 2:
		for i := 0; i*3+2 < len(src); i++ {
			dst[i*4], dst[i*4+1], dst[i*4+2], dst[i*4+3] = src[i*3], src[i*3+1], src[i*3+2], 255
		}
	case 3:
		for i, c := range src {
			copy(dst[i*4:i*4+4], h.palette[c][:])
		}
	case 4:
		for i := 0; i*2+1 < len(src); i++ {
			a := uint32(src[i*2+1])
			g := uint8((uint32(src[i*2])*a + 127) / 255)
			dst[i*4], dst[i*4+1], dst[i*4+2], dst[i*4+3] = g, g, g, uint8(a)
		}
	case 6:
		for i := 0; i+3 < len(src); i += 4 {
			a := uint32(src[i+3])
			dst[i] = uint8((uint32(src[i])*a + 127) / 255)
			dst[i+1] = uint8((uint32(src[i+1])*a + 127) / 255)
			dst[i+2] = uint8((uint32(src[i+2])*a + 127) / 255)
			dst[i+3] = uint8(a)
		}
	}
}

// unfilter undoes a row's PNG filter in place, given the previous row
// (zeros for the first).
func unfilter(filter byte, cur, prev []byte, bpp int) error {
	switch filter {
	case 0:
	case 1: // sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range bpp {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			a, b, c := int(cur[i-bpp]), int(prev[i]), int(prev[i-bpp])
			pa, pb, pc := b-c, a-c, a+b-2*c
			pa, pb, pc = max(pa, -pa), max(pb, -pb), max(pc, -pc)
			switch {
			case pa <= pb && pa <= pc:
				cur[i] += uint8(a)
			case pb <= pc:
				cur[i] += uint8(b)
			default:
				cur[i] += uint8(c)
			}
		}
	default:
		return fmt.Errorf("png: bad filter type %d", filter)
	}
	return nil
}

// readPNGHeader reads a PNG's chunks up to its first IDAT and returns the
// header and a reader of the IDAT chunks' data, CRCs checked.
func readPNGHeader(r io.Reader) (*pngHeader, io.Reader, error) {
	var sig [8]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil {
		return nil, nil, err
	}
	if string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return nil, nil, errors.New("png: not a PNG")
	}
	hdr := &pngHeader{}
	for i := range hdr.palette {
		hdr.palette[i] = [4]uint8{0, 0, 0, 255}
	}
	var paletteLen int
	for first := true; ; first = false {
		typ, data, err := readChunk(r)
		if err != nil {
			return nil, nil, err
		}
		if first != (typ == "IHDR") {
			return nil, nil, errors.New("png: IHDR is not first")
		}
		switch typ {
		case "IHDR":
			if len(data) != 13 {
				return nil, nil, errors.New("png: bad IHDR")
			}
			hdr.w = int(binary.BigEndian.Uint32(data[0:4]))
			hdr.h = int(binary.BigEndian.Uint32(data[4:8]))
			depth, ct, interlace := data[8], data[9], data[12]
			packed := (ct == 0 || ct == 3) && (depth == 1 || depth == 2 || depth == 4)
			if (depth != 8 && !packed) || interlace != 0 || pngChannels(ct) == 0 {
				return nil, nil, errPNGKind
			}
			hdr.depth = int(depth)
			if hdr.w <= 0 || hdr.h <= 0 || int64(hdr.w)*int64(hdr.h) > maxPixels {
				return nil, nil, errPNGKind // image/png says what is wrong
			}
			hdr.colorType = ct
		case "PLTE":
			if len(data)%3 != 0 || len(data) > 256*3 {
				return nil, nil, errors.New("png: bad PLTE")
			}
			paletteLen = len(data) / 3
			for i := range paletteLen {
				hdr.palette[i] = [4]uint8{data[3*i], data[3*i+1], data[3*i+2], 255}
			}
		case "tRNS":
			if hdr.colorType != 3 {
				return nil, nil, errPNGKind // a colour key: rare, left to image/png
			}
			for i, a := range data[:min(len(data), paletteLen)] {
				p := &hdr.palette[i]
				for c := range 3 {
					p[c] = uint8((uint32(p[c])*uint32(a) + 127) / 255)
				}
				p[3] = a
			}
		case "IDAT":
			if hdr.colorType == 3 && paletteLen == 0 {
				return nil, nil, errors.New("png: no PLTE")
			}
			return hdr, &idatReader{r: r, first: data}, nil
		case "IEND":
			return nil, nil, errors.New("png: no IDAT")
		}
	}
}

// maxHeaderChunk bounds the chunks before the pixels that are read whole;
// IDAT chunks are streamed whatever their size.
const maxHeaderChunk = 1 << 20

// readChunk reads one chunk before the pixels. An IDAT chunk is returned
// with its length as 4 bytes and its CRC unchecked, for idatReader.
func readChunk(r io.Reader) (string, []byte, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return "", nil, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	typ := string(head[4:8])
	if typ == "IDAT" {
		return typ, head[:], nil
	}
	if n > maxHeaderChunk {
		return "", nil, fmt.Errorf("png: %q chunk of %d bytes", typ, n)
	}
	buf := make([]byte, n+4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", nil, err
	}
	crc := crc32.NewIEEE()
	crc.Write(head[4:8])
	crc.Write(buf[:n])
	if crc.Sum32() != binary.BigEndian.Uint32(buf[n:]) {
		return "", nil, fmt.Errorf("png: bad CRC in %q", typ)
	}
	return typ, buf[:n], nil
}

// idatReader reads the data of consecutive IDAT chunks, checking each
// chunk's CRC at its end.
type idatReader struct {
	r     io.Reader
	first []byte // the first IDAT's length and type, already read
	left  uint32
	crc   hash.Hash32
	err   error
}

func (z *idatReader) Read(p []byte) (int, error) {
	for z.left == 0 && z.err == nil {
		z.err = z.next()
	}
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.r.Read(p[:min(uint32(len(p)), z.left)])
	z.crc.Write(p[:n])
	z.left -= uint32(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next checks the CRC of the chunk just read and starts the next, which
// must be an IDAT: the pixel data is over (io.EOF) at any other chunk.
func (z *idatReader) next() error {
	var head [8]byte
	if z.first != nil {
		copy(head[:], z.first)
		z.first = nil
	} else {
		var tail [4]byte
		if _, err := io.ReadFull(z.r, tail[:]); err != nil {
			return io.ErrUnexpectedEOF
		}
		if z.crc.Sum32() != binary.BigEndian.Uint32(tail[:]) {
			return errors.New("png: bad CRC in IDAT")
		}
		if _, err := io.ReadFull(z.r, head[:]); err != nil {
			return io.ErrUnexpectedEOF
		}
	}
	if !bytes.Equal(head[4:8], []byte("IDAT")) {
		return io.EOF
	}
	z.left = binary.BigEndian.Uint32(head[:4])
	z.crc = crc32.NewIEEE()
	z.crc.Write(head[4:8])
	return nil
}
