// Package visible keeps out of what people type the characters that change
// how the text around them shows without showing themselves: control
// characters, direction overrides, embeddings and isolates (a right-to-left
// override makes "gpj.exe" read as "exe.jpg", or a name read as another's),
// zero-width spaces and marks, byte order marks and the other format
// characters. Posters' names, subjects and tripcode input and the names of
// uploaded files all go through this one rule.
package visible

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	zwnj = '\u200c' // zero-width non-joiner
	zwj  = '\u200d' // zero-width joiner
)

// hidden tells whether r shows nothing of its own: a control or format
// character, or a line or paragraph separator.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// Builder builds a string of the runes written to it but the hidden ones.
// The two joiners stay where they do a job, between two characters past
// ASCII (emoji sequences such as 👩‍👩‍👧, and scripts such as Persian
// and the Indic ones need them), and go where they could only hide, as in
// "ad\u200dmin". The zero value is ready to use.
type Builder struct {
	b      strings.Builder
	n      int  // runes in b
	last   rune // the last rune in b
	joiner rune // a joiner held back until the next rune shows whether it joins
}

// WriteRune adds r unless it is hidden.
func (b *Builder) WriteRune(r rune) {
	switch {
	case r == zwnj || r == zwj:
		if b.last >= utf8.RuneSelf {
			b.joiner = r
		}
		return
	case hidden(r):
		return
	}
	if b.joiner != 0 && r >= utf8.RuneSelf {
		b.put(b.joiner)
	}
	b.joiner = 0
	b.put(r)
}

func (b *Builder) put(r rune) {
	b.b.WriteRune(r)
	b.n++
	b.last = r
}

// Len is the number of runes kept so far.
func (b *Builder) Len() int { return b.n }

// String is the text kept; a joiner at its end, which joins nothing, is not.
func (b *Builder) String() string { return b.b.String() }

// String is s without its hidden characters; invalid UTF-8 is dropped.
func String(s string) string {
	var b Builder
	for _, r := range strings.ToValidUTF8(s, "") {
		b.WriteRune(r)
	}
	return b.String()
}
