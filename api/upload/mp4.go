package upload

import (
	"encoding/binary"
	"errors"
	"math"
)

// box is an ISO-BMFF box: its type, where it starts, where its body starts
// (where readBox leaves the scanner) and where it ends.
type box struct {
	typ              string
	start, body, end int64
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
	return box{typ: typ, start: start, body: s.off, end: start + int64(size)}, nil
}

// xmpUUID is the extended type of a uuid box holding XMP.
const xmpUUID = "\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac"

// metadata tells whether b, whose body the scanner is at, is metadata that
// no player needs: user data (udta: names, dates, where it was filmed as
// phones write it), meta (Apple's keys, the location among them) and XMP.
func metadata(s *scanner, b box) bool {
	switch b.typ {
	case "udta", "meta":
		return true
	case "uuid":
		if b.end-b.body < int64(len(xmpUUID)) {
			return false
		}
		p, err := s.peek(len(xmpUUID))
		return err == nil && string(p) == xmpUUID
	}
	return false
}

// blank makes the metadata box b a free box of zeros, which players skip.
// Nothing moves: a file's media is found by offsets into it (stco), which
// cutting bytes before mdat would break.
func (w *walked) blank(b box) {
	w.drop = append(w.drop, span{start: b.start + 4, end: b.start + 8, put: []byte("free")},
		span{start: b.body, end: b.end, zero: true})
}

// walkMP4 checks that the top-level boxes tile the file exactly, ftyp first,
// with one moov and some mdat, and reads the size of the first video track.
// It notes the metadata boxes, at the top, in moov and in its tracks, to
// blank.
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
			if video, err = walkMoov(s, b.end, &w); err != nil {
				return w, err
			}
		case b.typ == "mdat":
			mdat = true
		case metadata(s, b):
			w.blank(b)
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

// walkMoov walks moov's boxes and tracks; the first video track's size is
// the file's.
func walkMoov(s *scanner, end int64, wk *walked) (video bool, err error) {
	for s.off < end {
		b, err := readBox(s, end)
		if err != nil {
			return false, err
		}
		switch {
		case b.typ == "trak":
			w, h, v, err := walkTrak(s, b.end, wk)
			if err != nil {
				return false, err
			}
			if v && !video {
				wk.w, wk.h, video = w, h, true
			}
		case metadata(s, b):
			wk.blank(b)
		}
		if err := s.seek(b.end); err != nil {
			return false, err
		}
	}
	return video, nil
}

// walkTrak reads a track's size from tkhd (16.16 fixed point, turned by its
// matrix when it is a quarter turn, as phones record) and whether its
// handler (mdia/hdlr) is video.
func walkTrak(s *scanner, end int64, wk *walked) (w, h int, video bool, err error) {
	for s.off < end {
		b, err := readBox(s, end)
		if err != nil {
			return 0, 0, false, err
		}
		if metadata(s, b) {
			wk.blank(b)
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
