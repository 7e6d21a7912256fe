package markdown

import "bytes"

// The imageboard syntax that goldmark does not know, scanned by hand. Each
// scanner is shared by the parser and by the cache key, so the key can never
// miss a quote that the parser would link.

// quoteKind is what a run starting with '>' is.
type quoteKind uint8

const (
	notQuote   quoteKind = iota
	postQuote            // >>34: a post of this board
	crossQuote           // >>>/g/56: a post of a board
	boardQuote           // >>>/g/: a board
)

// maxBoardLen is the longest board name, as maniwani.ValidBoardName has it.
const maxBoardLen = 16

// quote is a scanned quote: offsets are relative to the scanned text.
type quote struct {
	kind       quoteKind
	boardStart int   // the board's name (crossQuote, boardQuote)
	boardEnd   int   //
	no         int64 // the post number (postQuote, crossQuote)
	numOK      bool  // the number fits in an int64
	n          int   // bytes taken
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isBoardChar(c byte) bool  { return ('a' <= c && c <= 'z') || isDigit(c) }
func isASCIISpace(c byte) bool { return c == ' ' || c == '\t' }

// scanQuote reads a quote at the start of s, which starts with '>':
// ">>>/b/" then digits or not, or ">>" then digits. A board is 1 to 16
// lowercase letters or digits, then '/'.
func scanQuote[T string | []byte](s T) quote {
	if len(s) >= 4 && s[0] == '>' && s[1] == '>' && s[2] == '>' && s[3] == '/' {
		j := 4
		for j < len(s) && j-4 <= maxBoardLen && isBoardChar(s[j]) {
			j++
		}
		if l := j - 4; l < 1 || l > maxBoardLen || j >= len(s) || s[j] != '/' {
			return quote{}
		}
		q := quote{kind: boardQuote, boardStart: 4, boardEnd: j}
		j++
		if k, no, ok := scanNumber(s, j); k > j {
			q.kind, q.no, q.numOK, j = crossQuote, no, ok, k
		}
		q.n = j
		return q
	}
	if len(s) >= 3 && s[0] == '>' && s[1] == '>' && isDigit(s[2]) {
		k, no, ok := scanNumber(s, 2)
		return quote{kind: postQuote, no: no, numOK: ok, n: k}
	}
	return quote{}
}

// scanNumber reads the digits of s from i; it returns where they end, their
// value and whether it fits in an int64.
func scanNumber[T string | []byte](s T, i int) (end int, v int64, ok bool) {
	ok = true
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := int64(s[i] - '0')
		if v > (1<<63-1-d)/10 {
			ok = false
		}
		if ok {
			v = v*10 + d
		}
	}
	return i, v, ok
}

// atLineStart tells whether only spaces and tabs stand between the start of
// the line that holds src[i] and i. Greentext, fences and [code] blocks are
// known by where they start in what was typed, not by where goldmark's
// blocks happen to start.
func atLineStart(src []byte, i int) bool {
	for i--; i >= 0; i-- {
		switch src[i] {
		case '\n':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// hasPrefixFold tells whether s starts with the lowercase ASCII prefix,
// in any case.
func hasPrefixFold(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// indexFold is the index of the first lowercase ASCII tag in s, in any
// case, or -1. The tag starts with '['.
func indexFold(s []byte, tag string) int {
	for i := 0; i+len(tag) <= len(s); i++ {
		j := bytes.IndexByte(s[i:len(s)-len(tag)+1], '[')
		if j < 0 {
			return -1
		}
		i += j
		if hasPrefixFold(s[i:], tag) {
			return i
		}
	}
	return -1
}
