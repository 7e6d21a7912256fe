package tripcode

import "sort"

// sjis returns the Shift_JIS (Windows-31J, as 2channel and futaba use)
// encoding of r in b[:n], or n == 0 when r has no mapping. ASCII is not
// handled here: the caller copies it through unchanged, as every tripcode
// implementation does.
func sjis(r rune) (b [2]byte, n int) {
	switch {
	case r >= 0xFF61 && r <= 0xFF9F: // half-width katakana
		b[0] = byte(r - 0xFF61 + 0xA1)
		return b, 1
	case r == '¥':
		// JIS X 0201 puts yen and overline where ASCII has backslash and
		// tilde, so boards (4chan included) hash them as those.
		b[0] = '\\'
		return b, 1
	case r == '‾':
		b[0] = '~'
		return b, 1
	}
	if r < 0x80 || r > 0xFFFF {
		return b, 0
	}
	key := uint32(r) << 16
	i := sort.Search(len(sjisTable), func(i int) bool { return sjisTable[i] >= key })
	if i == len(sjisTable) || sjisTable[i]>>16 != uint32(r) {
		return b, 0
	}
	code := sjisTable[i]
	b[0], b[1] = byte(code>>8), byte(code)
	return b, 2
}
