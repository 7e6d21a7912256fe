package upload

import (
	"bytes"
	"errors"
	"math/bits"
	"strings"
)

// EBML element IDs, with their length markers, as the Matroska spec writes them.
const (
	idEBML        = 0x1a45dfa3
	idDocType     = 0x4282
	idSegment     = 0x18538067
	idSeekHead    = 0x114d9b74
	idInfo        = 0x1549a966
	idTitle       = 0x7ba9
	idTracks      = 0x1654ae6b
	idCluster     = 0x1f43b675
	idCues        = 0x1c53bb6b
	idAttachments = 0x1941a469
	idChapters    = 0x1043a770
	idTags        = 0x1254c367
	idVoid        = 0xec
	idTrackEntry  = 0xae
	idTrackType   = 0x83
	idCodecID     = 0x86
	idVideo       = 0xe0
	idPixelWidth  = 0xb0
	idPixelHeight = 0xba
)

// vintLen is the length of a variable-size integer from its first byte; 9
// (too long) for a zero byte.
func vintLen(b byte) int { return bits.LeadingZeros8(b) + 1 }

// parseID reads an element ID, marker kept, from the head of b.
func parseID(b []byte) (id uint32, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if n = vintLen(b[0]); n > 4 || n > len(b) {
		return 0, n, false
	}
	for _, c := range b[:n] {
		id = id<<8 | uint32(c)
	}
	return id, n, true
}

// parseSize reads an element size, marker dropped, from the head of b;
// all value bits set means the size is unknown (the element runs on).
func parseSize(b []byte) (size uint64, n int, unknown, ok bool) {
	if len(b) == 0 {
		return 0, 0, false, false
	}
	if n = vintLen(b[0]); n > 8 || n > len(b) {
		return 0, n, false, false
	}
	size = uint64(b[0]) & (0xff >> n)
	for _, c := range b[1:n] {
		size = size<<8 | uint64(c)
	}
	return size, n, size == 1<<(7*n)-1, true
}

// ebmlElem splits the first element, of known size, off b.
func ebmlElem(b []byte) (id uint32, body, rest []byte, ok bool) {
	id, n, ok := parseID(b)
	if !ok {
		return 0, nil, nil, false
	}
	size, m, unknown, ok := parseSize(b[n:])
	if !ok || unknown || size > uint64(len(b)-n-m) {
		return 0, nil, nil, false
	}
	b = b[n+m:]
	return id, b[:size], b[size:], true
}

func ebmlUint(b []byte) (uint64, bool) {
	if len(b) > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// ebmlDocType reads the DocType of the EBML header at the head of b; ""
// when b does not hold the whole header.
func ebmlDocType(b []byte) string {
	id, hdr, _, ok := ebmlElem(b)
	if !ok || id != idEBML {
		return ""
	}
	return docType(hdr)
}

// docType reads the DocType in the body of an EBML header.
func docType(hdr []byte) string {
	for len(hdr) > 0 {
		id, body, rest, ok := ebmlElem(hdr)
		if !ok {
			return ""
		}
		if id == idDocType {
			return string(bytes.TrimRight(body, "\x00"))
		}
		hdr = rest
	}
	return ""
}

// peekID reads the next element ID without consuming it.
func (s *scanner) peekID() (id uint32, n int, err error) {
	p, err := s.peek(1)
	if err != nil {
		return 0, 0, err
	}
	if n = vintLen(p[0]); n > 4 {
		return 0, 0, damaged("bad element ID at byte %d", s.off)
	}
	if p, err = s.peek(n); err != nil {
		return 0, 0, err
	}
	id, _, _ = parseID(p)
	return id, n, nil
}

// element reads the next element's ID and size.
func (s *scanner) element() (id uint32, size uint64, unknown bool, err error) {
	id, n, err := s.peekID()
	if err != nil {
		return 0, 0, false, err
	}
	s.skip(int64(n)) // peeked: cannot fail
	p, err := s.peek(1)
	if err != nil {
		return 0, 0, false, err
	}
	if n = vintLen(p[0]); n > 8 {
		return 0, 0, false, damaged("bad element size at byte %d", s.off)
	}
	if p, err = s.peek(n); err != nil {
		return 0, 0, false, err
	}
	size, _, unknown, _ = parseSize(p)
	s.skip(int64(n))
	return id, size, unknown, nil
}

// walkWebM checks the EBML header (DocType webm), then the one Segment,
// whose elements must fit within it: known sizes are skipped, a Cluster of
// unknown size (a live stream's) is walked to the next top-level element.
// The first video track gives the size and must be VP8, VP9 or AV1.
func walkWebM(s *scanner) (walked, error) {
	var w walked
	id, size, unknown, err := s.element()
	if err != nil {
		return w, err
	}
	if id != idEBML || unknown || size > 4096 {
		return w, damaged("no EBML header")
	}
	hdr := make([]byte, size)
	if err := s.full(hdr); err != nil {
		return w, err
	}
	if dt := docType(hdr); dt != "webm" {
		return w, damaged("DocType %q", dt)
	}

	id, size, unknown, err = s.element()
	if err != nil {
		return w, err
	}
	if id != idSegment {
		return w, damaged("element %#x, not a Segment, after the EBML header", id)
	}
	end := s.size
	if !unknown {
		if size > uint64(s.left()) {
			return w, damaged("Segment of %d bytes with %d left", size, s.left())
		}
		end = s.off + int64(size)
	}
	var tracks, clusters bool
	codec := ""
	for s.off < end {
		start := s.off
		id, size, unknown, err := s.element()
		if err != nil {
			return w, err
		}
		if unknown {
			if id != idCluster {
				return w, damaged("element %#x at byte %d of unknown size", id, start)
			}
			clusters = true
			if err := walkCluster(s, end); err != nil {
				return w, err
			}
			continue
		}
		if size > uint64(end-s.off) {
			return w, damaged("element %#x at byte %d of %d bytes runs past the Segment", id, start, size)
		}
		switch id {
		case idEBML, idSegment:
			return w, &flaw{whyTrailing, errors.New("a second EBML stream")}
		case idTracks:
			if tracks {
				break
			}
			if size > 1<<20 {
				return w, damaged("Tracks of %d bytes", size)
			}
			body := make([]byte, size)
			if err := s.full(body); err != nil {
				return w, err
			}
			tracks = true
			if w.w, w.h, codec, err = parseTracks(body); err != nil {
				return w, err
			}
			continue
		case idInfo:
			if err := voidTitles(s, &w, size); err != nil {
				return w, err
			}
			continue
		case idCluster:
			clusters = true
		case idTags, idAttachments:
			w.void(start, s.off+int64(size))
		}
		if err := s.skip(int64(size)); err != nil {
			return w, err
		}
	}
	switch {
	case !tracks:
		return w, damaged("no Tracks")
	case codec == "":
		return w, &flaw{whyNoVideo, errors.New("no video TrackEntry")}
	case !strings.HasPrefix(codec, "V_VP8") && !strings.HasPrefix(codec, "V_VP9") && !strings.HasPrefix(codec, "V_AV1"):
		return w, &flaw{whyCodec, errors.New(codec)}
	case !clusters:
		return w, damaged("no Cluster")
	case s.off < s.size:
		return w, &flaw{whyTrailing, errors.New("bytes after the Segment")}
	}
	return w, nil
}

// maxInfo bounds the Segment's Info, which holds a few numbers and names.
const maxInfo = 64 << 10

// voidTitles reads the Info element's body, of size bytes, and makes its
// Title (whatever the muxer or its user named the file) Void.
func voidTitles(s *scanner, w *walked, size uint64) error {
	if size > maxInfo {
		return damaged("Info of %d bytes", size)
	}
	at := s.off
	body := make([]byte, size)
	if err := s.full(body); err != nil {
		return err
	}
	for rest := body; len(rest) > 0; {
		id, _, next, ok := ebmlElem(rest)
		if !ok {
			return damaged("bad element in Info at byte %d", at+int64(len(body)-len(rest)))
		}
		if id == idTitle {
			start := at + int64(len(body)-len(rest))
			w.void(start, start+int64(len(rest)-len(next)))
		}
		rest = next
	}
	return nil
}

// void makes the element at [start, end) a Void element of zeros, which
// players skip: the Segment's metadata (Tags: titles, dates, places;
// Attachments: files carried along; Info's Title). Nothing moves, so the
// positions that SeekHead and Cues hold stay true.
func (w *walked) void(start, end int64) {
	k := min(8, end-start-1) // the size's length: a Title is 3 bytes or more, Tags 5, so k >= 2
	size := uint64(end - start - 1 - k)
	head := []byte{idVoid}
	for i := k - 1; i >= 0; i-- {
		head = append(head, byte(size>>(8*i)))
	}
	head[1] |= 1 << (8 - k) // the length marker
	w.drop = append(w.drop, span{start: start, end: start + 1 + k, put: head}, span{start: start + 1 + k, end: end, zero: true})
}

// walkCluster walks a Cluster of unknown size: its elements, of known
// sizes, up to the next element that belongs to the Segment, or end.
func walkCluster(s *scanner, end int64) error {
	for s.off < end {
		start := s.off
		id, _, err := s.peekID()
		if err != nil {
			return err
		}
		switch id {
		case idSeekHead, idInfo, idTracks, idCluster, idCues, idAttachments, idChapters, idTags, idEBML, idSegment:
			return nil
		}
		_, size, unknown, err := s.element()
		if err != nil {
			return err
		}
		if unknown || size > uint64(end-s.off) {
			return damaged("element %#x at byte %d in a Cluster runs past it", id, start)
		}
		s.skip(int64(size))
	}
	return nil
}

// parseTracks reads the first video TrackEntry: its pixel size and codec.
func parseTracks(b []byte) (w, h int, codec string, err error) {
	for len(b) > 0 {
		id, entry, rest, ok := ebmlElem(b)
		if !ok {
			return 0, 0, "", damaged("bad element in Tracks")
		}
		b = rest
		if id != idTrackEntry {
			continue
		}
		var typ, pw, ph uint64
		var name string
		for len(entry) > 0 {
			id, body, rest, ok := ebmlElem(entry)
			if !ok {
				return 0, 0, "", damaged("bad element in TrackEntry")
			}
			entry = rest
			switch id {
			case idTrackType:
				typ, ok = ebmlUint(body)
			case idCodecID:
				name = string(bytes.TrimRight(body, "\x00"))
			case idVideo:
				pw, ph, ok = parseVideo(body)
			}
			if !ok {
				return 0, 0, "", damaged("bad number in TrackEntry")
			}
		}
		if typ == 1 {
			if pw > 1<<30 || ph > 1<<30 {
				return 0, 0, "", damaged("video of %dx%d", pw, ph)
			}
			if name == "" {
				name = "?"
			}
			return int(pw), int(ph), name, nil
		}
	}
	return 0, 0, "", nil
}

// parseVideo reads PixelWidth and PixelHeight from a track's Video element.
func parseVideo(b []byte) (w, h uint64, ok bool) {
	for len(b) > 0 {
		id, body, rest, ok := ebmlElem(b)
		if !ok {
			return 0, 0, false
		}
		b = rest
		switch id {
		case idPixelWidth:
			w, ok = ebmlUint(body)
		case idPixelHeight:
			h, ok = ebmlUint(body)
		}
		if !ok {
			return 0, 0, false
		}
	}
	return w, h, true
}
