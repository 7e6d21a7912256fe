package upload

import (
	"encoding/binary"
	"errors"
	"math"
)

// box is an ISO-BMFF box: its type and where it ends; its body starts where
// readBox leaves the scanner.
type box struct {
	typ string
	end int64
}

// readBox reads the header of a box that must end by end.
func readBox(s *scanner, end int64) (box, error) {
	start := s.off
	if end-start < 8 {
		return box{}, damaged("box header cut at byte %d", start)
	}
	var hdr [8]byte
	if err := s.full(hdr[:]); err != nil {
		return box{}, err
	}
	typ := string(hdr[4:])
	for i := 0; i < 4; i++ {
		if typ[i] < 0x20 || typ[i] > 0x7e {
			return box{}, damaged("box type %q at byte %d", typ, start)
		}
	}
	var size uint64
	switch n := binary.BigEndian.Uint32(hdr[:]); n {
	case 0: // to the end
		size = uint64(end - start)
	case 1: // a 64-bit size follows
		var big [8]byte
		if err := s.full(big[:]); err != nil {
			return box{}, err
		}
		if size = binary.BigEndian.Uint64(big[:]); size < 16 {
			return box{}, damaged("box %q at byte %d of size %d", typ, start, size)
		}
	default:
		if size = uint64(n); size < 8 {
			return box{}, damaged("box %q at byte %d of size %d", typ, start, size)
		}
	}
	if size > uint64(end-start) {
		return box{}, damaged("box %q at byte %d of size %d runs past its end (%d)", typ, start, size, end)
	}
	return box{typ, start + int64(size)}, nil
}

// walkMP4 checks that the top-level boxes tile the file exactly, ftyp first,
// with one moov and some mdat, and reads the size of the first video track.
func walkMP4(s *scanner) (walked, error) {
	var w walked
	var moov, mdat, video bool
	for i := 0; s.off < s.size; i++ {
		b, err := readBox(s, s.size)
		if err != nil {
			return w, err
		}
		switch {
		case i == 0 && b.typ != "ftyp":
			return w, damaged("first box %q", b.typ)
		case b.typ == "moov":
			if moov {
				return w, damaged("a second moov")
			}
			moov = true
			if w.w, w.h, video, err = walkMoov(s, b.end); err != nil {
				return w, err
			}
		case b.typ == "mdat":
			mdat = true
		}
		if err := s.seek(b.end); err != nil {
			return w, err
		}
	}
	switch {
	case !moov || !mdat:
		return w, damaged("moov %t, mdat %t", moov, mdat)
	case !video:
		return w, &flaw{whyNoVideo, errors.New("no trak with a vide handler")}
	}
	return w, nil
}

// walkMoov finds the first video trak in moov.
func walkMoov(s *scanner, end int64) (w, h int, video bool, err error) {
	for s.off < end {
		b, err := readBox(s, end)
		if err != nil {
			return 0, 0, false, err
		}
		if b.typ == "trak" && !video {
			if w, h, video, err = walkTrak(s, b.end); err != nil {
				return 0, 0, false, err
			}
		}
		if err := s.seek(b.end); err != nil {
			return 0, 0, false, err
		}
	}
	return w, h, video, nil
}

// walkTrak reads a track's size from tkhd (16.16 fixed point, turned by its
// matrix when it is a quarter turn, as phones record) and whether its
// handler (mdia/hdlr) is video.
func walkTrak(s *scanner, end int64) (w, h int, video bool, err error) {
	for s.off < end {
		b, err := readBox(s, end)
		if err != nil {
			return 0, 0, false, err
		}
		switch b.typ {
		case "tkhd":
			var p [96]byte
			n := min(int64(len(p)), b.end-s.off)
			if err := s.full(p[:n]); err != nil {
				return 0, 0, false, err
			}
			at := int64(76) // the width after version 0's 32-bit times
			if p[0] == 1 {
				at = 88
			}
			if n < at+8 {
				return 0, 0, false, damaged("tkhd of %d bytes", n)
			}
			fixed := func(o int64) int { return int(math.Round(float64(binary.BigEndian.Uint32(p[o:])) / 65536)) }
			w, h = fixed(at), fixed(at+4)
			m := at - 36 // the matrix: a b u c d v x y w
			a, bb := int32(binary.BigEndian.Uint32(p[m:])), int32(binary.BigEndian.Uint32(p[m+4:]))
			c, d := int32(binary.BigEndian.Uint32(p[m+12:])), int32(binary.BigEndian.Uint32(p[m+16:]))
			if a == 0 && d == 0 && bb != 0 && c != 0 {
				w, h = h, w
			}
		case "mdia":
			for s.off < b.end {
				c, err := readBox(s, b.end)
				if err != nil {
					return 0, 0, false, err
				}
				if c.typ == "hdlr" {
					var p [12]byte // version and flags, pre_defined, handler_type
					if c.end-s.off < int64(len(p)) {
						return 0, 0, false, damaged("hdlr of %d bytes", c.end-s.off)
					}
					if err := s.full(p[:]); err != nil {
						return 0, 0, false, err
					}
					video = string(p[8:]) == "vide"
				}
				if err := s.seek(c.end); err != nil {
					return 0, 0, false, err
				}
			}
		}
		if err := s.seek(b.end); err != nil {
			return 0, 0, false, err
		}
	}
	return w, h, video, nil
}
