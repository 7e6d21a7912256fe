package tripcode

import "golang.org/x/text/encoding/japanese"

// sjis returns the Shift_JIS (Windows-31J, as 2channel and futaba use)
// encoding of r in b[:n], or n == 0 when r has no mapping. ASCII is not
// handled here: the caller copies it through unchanged, as every tripcode
// implementation does.
func sjis(r rune) (b [2]byte, n int) {
	switch r {
	case '¥':
		// JIS X 0201 puts yen and overline where ASCII has backslash and
		// tilde, so boards (4chan included) hash them as those.
		b[0] = '\\'
		return b, 1
	case '‾':
		b[0] = '~'
		return b, 1
	}
	if r < 0x80 {
		return b, 0
	}
	// x/text's encoder is WHATWG's Shift_JIS, which is Windows-31J. It is
	// made per call because it keeps state; non-ASCII passwords are rare.
	enc, err := japanese.ShiftJIS.NewEncoder().String(string(r))
	if err != nil || len(enc) == 0 || len(enc) > 2 {
		return b, 0
	}
	return b, copy(b[:], enc)
}
