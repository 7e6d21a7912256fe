package upload

import (
	"encoding/binary"
	"hash/crc32"
	"image"
)

// walkPNG walks every chunk from IHDR to IEND and checks its CRC, so a cut
// or a changed byte anywhere is seen without inflating the pixels. It notes
// the chunks of metadata to cut: EXIF (eXIf: where a photo was taken, the
// camera), text (tEXt, zTXt, iTXt: author, comments, software) and the
// time of the last change (tIME). None of them changes the pixels.
func walkPNG(s *scanner) (walked, error) {
	var w walked
	var sig [8]byte
	if err := s.full(sig[:]); err != nil {
		return walked{}, err
	}
	if string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return walked{}, damaged("no PNG signature")
	}
	idat := false
	crc := crc32.NewIEEE()
	for i := 0; ; i++ {
		start := s.off
		var hdr [8]byte
		if err := s.full(hdr[:]); err != nil {
			return walked{}, err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:])
		if n > 1<<31-1 || !letters(typ) {
			return walked{}, damaged("bad chunk header at byte %d", start)
		}
		if (i == 0) != (typ == "IHDR") || typ == "IHDR" && n != 13 {
			return walked{}, damaged("chunk %q at byte %d: IHDR must come first, once", typ, start)
		}
		crc.Reset()
		crc.Write(hdr[4:])
		if err := s.feed(int64(n), crc); err != nil {
			return walked{}, err
		}
		var sum [4]byte
		if err := s.full(sum[:]); err != nil {
			return walked{}, err
		}
		if binary.BigEndian.Uint32(sum[:]) != crc.Sum32() {
			return walked{}, damaged("chunk %q at byte %d: CRC mismatch", typ, start)
		}
		switch typ {
		case "IDAT":
			idat = true
		case "IEND":
			if n != 0 || !idat {
				return walked{}, damaged("IEND at byte %d without IDAT before it", start)
			}
			return w, s.end()
		case "IHDR", "PLTE":
		case "eXIf", "tEXt", "zTXt", "iTXt", "tIME":
			w.drop = append(w.drop, span{start: start, end: s.off})
		default:
			// A critical chunk (upper-case first letter) that no decoder knows
			// makes the image unreadable.
			if typ[0] < 'a' {
				return walked{}, damaged("unknown critical chunk %q at byte %d", typ, start)
			}
		}
	}
}

func letters(fourcc string) bool {
	for i := 0; i < len(fourcc); i++ {
		if c := fourcc[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// walkGIF walks the blocks from the screen descriptor to the trailer; every
// frame must lie within the screen, as decoders require.
func walkGIF(s *scanner) (walked, error) {
	var hdr [13]byte
	if err := s.full(hdr[:]); err != nil {
		return walked{}, err
	}
	screen := image.Rect(0, 0, int(binary.LittleEndian.Uint16(hdr[6:])), int(binary.LittleEndian.Uint16(hdr[8:])))
	if hdr[10]&0x80 != 0 {
		if err := s.skip(3 << (hdr[10]&7 + 1)); err != nil {
			return walked{}, err
		}
	}
	frames := 0
	for {
		start := s.off
		b, err := s.byte()
		if err != nil {
			return walked{}, err
		}
		switch b {
		case 0x21: // extension: a label, then sub-blocks
			if _, err := s.byte(); err != nil {
				return walked{}, err
			}
		case 0x2c: // image: a descriptor, a colour table, the LZW code size, sub-blocks
			var d [9]byte
			if err := s.full(d[:]); err != nil {
				return walked{}, err
			}
			x, y := int(binary.LittleEndian.Uint16(d[0:])), int(binary.LittleEndian.Uint16(d[2:]))
			r := image.Rect(x, y, x+int(binary.LittleEndian.Uint16(d[4:])), y+int(binary.LittleEndian.Uint16(d[6:])))
			if !r.In(screen) {
				return walked{}, damaged("frame %v at byte %d outside the screen %v", r, start, screen)
			}
			if d[8]&0x80 != 0 {
				if err := s.skip(3 << (d[8]&7 + 1)); err != nil {
					return walked{}, err
				}
			}
			lzw, err := s.byte()
			if err != nil {
				return walked{}, err
			}
			if lzw < 2 || lzw > 8 {
				return walked{}, damaged("LZW code size %d at byte %d", lzw, start)
			}
			frames++
		case 0x3b: // trailer
			if frames == 0 {
				return walked{}, damaged("no frame")
			}
			return walked{}, s.end()
		default:
			return walked{}, damaged("block %#02x at byte %d", b, start)
		}
		for { // sub-blocks, up to an empty one
			n, err := s.byte()
			if err != nil {
				return walked{}, err
			}
			if n == 0 {
				break
			}
			if err := s.skip(int64(n)); err != nil {
				return walked{}, err
			}
		}
	}
}

// The extended header's (VP8X's) flags of the metadata chunks.
const (
	webpEXIF = 0x08
	webpXMP  = 0x04
)

// walkWebP checks that the RIFF size is the file's and that the chunks tile
// it, the first being an image (VP8, VP8L) or the extended header (VP8X).
// It notes the metadata chunks (EXIF, XMP) to cut, and with them the new
// RIFF size and the extended header's flags without theirs.
func walkWebP(s *scanner) (walked, error) {
	var w walked
	vp8x := int64(-1) // where the extended header's chunk starts
	var flags byte
	var hdr [12]byte
	if err := s.full(hdr[:]); err != nil {
		return walked{}, err
	}
	size := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if size%2 != 0 || size < 4 {
		return walked{}, damaged("RIFF size %d", size)
	}
	end := size + 8
	if end > s.size {
		return walked{}, damaged("RIFF size %d beyond the file's %d bytes", size, s.size)
	}
	pictures := false
	for i := 0; s.off < end; i++ {
		start := s.off
		if end-start < 8 {
			return walked{}, damaged("chunk header cut at byte %d", start)
		}
		var ch [8]byte
		if err := s.full(ch[:]); err != nil {
			return walked{}, err
		}
		fourcc := string(ch[:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		n += n & 1 // chunks are padded to an even length
		if n > end-s.off {
			return walked{}, damaged("chunk %q at byte %d runs past the RIFF end", fourcc, start)
		}
		switch {
		case fourcc == "VP8 " || fourcc == "VP8L" || fourcc == "ANMF":
			pictures = true
		case fourcc == "VP8X" && i == 0:
			if n < 10 {
				return walked{}, damaged("VP8X chunk of %d bytes", n)
			}
			b, err := s.peek(1)
			if err != nil {
				return walked{}, err
			}
			vp8x, flags = start, b[0]
		case i == 0:
			return walked{}, damaged("first chunk %q", fourcc)
		case fourcc == "EXIF" || fourcc == "XMP ":
			w.drop = append(w.drop, span{start: start, end: s.off + n})
		}
		if err := s.skip(n); err != nil {
			return walked{}, err
		}
	}
	if !pictures {
		return walked{}, damaged("no image chunk")
	}
	if len(w.drop) > 0 {
		cut := int64(0)
		for _, d := range w.drop {
			cut += d.end - d.start
		}
		edits := []span{{start: 4, end: 8, put: binary.LittleEndian.AppendUint32(nil, uint32(size-cut))}}
		if vp8x >= 0 {
			edits = append(edits, span{start: vp8x + 8, end: vp8x + 9, put: []byte{flags &^ (webpEXIF | webpXMP)}})
		}
		w.drop = append(edits, w.drop...)
	}
	return w, s.end()
}
