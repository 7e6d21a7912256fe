package markdown

import (
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"

	"github.com/maniwani/maniwani"
)

// Quotes of posts, for the other services: what the api resolves and keeps
// at post time (Refs, BoardRefs), what a move rewrites (RequoteBody,
// RequoteCom) and what a page counts as backlinks (ComQuotes). Each reads
// quotes as the renderer does, so none can disagree with what a page
// shows: a body through the parser (so nothing in code or after a
// backslash), a com as writer.quote writes it.

// A Quote is a quote of a post, in a body or in a com.
type Quote struct {
	Board string // the quoted post's board
	No    int64
	// Cross: typed >>>/Board/No; else >>No, which names a post of the
	// quoting post's own board.
	Cross bool
	// Thread is the quoted post's thread, as a com's link has it; 0 in a
	// body, and for a dead link.
	Thread int64
}

// Ref is the post q names.
func (q Quote) Ref() maniwani.Ref { return maniwani.Ref{Board: q.Board, No: q.No} }

// appendTyped appends q as a poster types it.
func (q Quote) appendTyped(b []byte) []byte {
	if q.Cross {
		b = append(b, ">>>/"...)
		b = append(b, q.Board...)
		b = append(b, '/')
	} else {
		b = append(b, ">>"...)
	}
	return strconv.AppendInt(b, q.No, 10)
}

// writable tells whether q can be written: a post's number, and the board
// a link or the typed form needs.
func (q Quote) writable() bool {
	return q.No > 0 && (!q.Cross && q.Thread <= 0 || validBoard(q.Board))
}

// quoteOf is the Quote of a scanned quote, whose typed text is typed, in a
// post on board; false when it names no post: a board (>>>/g/), post 0, or
// a number past int64.
func quoteOf[T string | []byte](q quote, typed T, board string) (Quote, bool) {
	if q.kind != postQuote && q.kind != crossQuote || !q.numOK || q.no <= 0 {
		return Quote{}, false
	}
	out := Quote{Board: board, No: q.no}
	if q.kind == crossQuote {
		out.Board, out.Cross = string(typed[q.boardStart:q.boardEnd]), true
	}
	return out, true
}

// sharedParser serves the functions here. It is built once and never
// changes, like the parser of a Renderer.
var sharedParser = sync.OnceValue(newParser)

// walkQuotes parses body as the renderer does and calls f with each quote
// node, in order; it returns the normalized body that the nodes' segments
// index, nil when it holds no quote.
func walkQuotes(body string, f func(src []byte, n *quoteNode)) []byte {
	body = normalize(body)
	if !strings.Contains(body, ">>") {
		return nil
	}
	src := []byte(body)
	doc := sharedParser().Parse(text.NewReader(src))
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if q, ok := n.(*quoteNode); ok && entering {
			f(src, q)
		}
		return ast.WalkContinue, nil
	})
	return src
}

// Refs lists the posts body quotes, as the renderer reads it: >>N as
// {board, N}, >>>/x/N as {x, N}; not those inside code, not a number that
// does not fit in an int64 or is 0. Each once, in the order they first
// appear. The api resolves them to fill RenderInput.Threads, and stores them
// as the quoted posts' backlinks.
func Refs(board, body string) []maniwani.Ref {
	var refs []maniwani.Ref
	walkQuotes(body, func(src []byte, n *quoteNode) {
		q, ok := quoteOf(n.q, src[n.seg.Start:n.seg.Stop], board)
		if ok && !slices.Contains(refs, q.Ref()) {
			refs = append(refs, q.Ref())
		}
	})
	return refs
}

// BoardRefs lists the boards body names with >>>/x/ or >>>/x/N (not
// inside code), each once, in the order they first appear: the api looks
// them up to fill RenderInput.Boards.
func BoardRefs(body string) []string {
	var boards []string
	walkQuotes(body, func(src []byte, q *quoteNode) {
		if q.q.kind != crossQuote && q.q.kind != boardQuote {
			return
		}
		b := q.board(src)
		for _, s := range boards {
			if s == string(b) {
				return
			}
		}
		boards = append(boards, string(b))
	})
	return boards
}

// RequoteBody rewrites the quotes of posts in body, a post's on board, to
// what fn makes of each (its Thread is not used); everything else stays as
// typed. Quotes are those Refs reads, so >>N in code or after a backslash is
// never touched. The body comes back as it was when no quote changed, else
// normalized. With RequoteCom and the same fn, the com of the body renders
// to the com of the new body, its links resolved as fn says.
func RequoteBody(board, body string, fn func(Quote) Quote) string {
	var b strings.Builder
	last, changed := 0, false
	src := walkQuotes(body, func(src []byte, n *quoteNode) {
		q, ok := quoteOf(n.q, src[n.seg.Start:n.seg.Stop], board)
		if !ok {
			return
		}
		r := fn(q)
		r.Thread = 0
		if r == q || !r.writable() {
			return
		}
		var buf [48]byte
		b.Write(src[last:n.seg.Start])
		b.Write(r.appendTyped(buf[:0]))
		last, changed = n.seg.Stop, true
	})
	if !changed {
		return body
	}
	b.Write(src[last:])
	return b.String()
}

// RequoteCom rewrites the quotes of posts in com, the render of a post on
// board, to what fn makes of each: a link to the Quote's Board, Thread and
// No, or a dead link when its Thread is 0, shown as typed (>>No, or
// >>>/Board/No when Cross). Everything else stays as it was.
func RequoteCom(board, com string, fn func(Quote) Quote) string {
	var b strings.Builder
	last, changed := 0, false
	for e := range scanCom(board, com) {
		r := fn(e.q)
		if r == e.q || !r.writable() {
			continue
		}
		var buf [48]byte
		b.WriteString(com[last:e.start])
		typed := r.appendTyped(buf[:0])
		if r.Thread > 0 {
			writeQuoteLink(&b, r.Board, r.Thread, r.No, typed)
		} else {
			writeDeadQuote(&b, typed)
		}
		last, changed = e.end, true
	}
	if !changed {
		return com
	}
	b.WriteString(com[last:])
	return b.String()
}

// ComQuotes yields the quotes of posts in com, the render of a post on
// board, in order; a dead link's Thread is 0. A page counts backlinks with
// it.
func ComQuotes(board, com string) iter.Seq[Quote] {
	return func(yield func(Quote) bool) {
		for e := range scanCom(board, com) {
			if !yield(e.q) {
				return
			}
		}
	}
}

// quoteAt is a quote element of a com: where it is, what it quotes.
type quoteAt struct {
	start, end int
	q          Quote
}

// scanCom yields the quote elements of posts in com as writer.quote writes
// them, with where each is. Every '<' of a com is markup of
// the writer's (typed text is escaped), so what reads as one of its
// elements is one. An element that does not read back as a quote of a post
// (a board link, post 0) is passed over.
func scanCom(board, com string) iter.Seq[quoteAt] {
	return func(yield func(quoteAt) bool) {
		for i := 0; i < len(com); {
			j := strings.IndexByte(com[i:], '<')
			if j < 0 {
				return
			}
			i += j
			var q Quote
			n := 0
			switch rest := com[i:]; {
			case strings.HasPrefix(rest, linkOpen):
				q, n = readLink(rest)
			case strings.HasPrefix(rest, deadOpen):
				q, n = readDead(rest, board)
			}
			if n == 0 {
				i++
				continue
			}
			if !yield(quoteAt{i, i + n, q}) {
				return
			}
			i += n
		}
	}
}

// readLink reads the quote link that s starts with, as writeQuoteLink
// writes it; n is its length, 0 when s starts with none.
func readLink(s string) (q Quote, n int) {
	i := len(linkOpen)
	j := i
	for j < len(s) && j-i <= maxBoardLen && isBoardChar(s[j]) {
		j++
	}
	board := s[i:j]
	if !validBoard(board) || !strings.HasPrefix(s[j:], "/thread/") {
		return Quote{}, 0
	}
	i = j + len("/thread/")
	j, thread, ok := scanNumber(s, i)
	if j == i || !ok || thread <= 0 || !strings.HasPrefix(s[j:], "#p") {
		return Quote{}, 0
	}
	i = j + len("#p")
	j, no, ok := scanNumber(s, i)
	if j == i || !ok || !strings.HasPrefix(s[j:], linkClass) {
		return Quote{}, 0
	}
	i = j + len(linkClass)
	k := strings.Index(s[i:], linkClose)
	if k < 0 {
		return Quote{}, 0
	}
	q, ok = readTyped(s[i:i+k], board)
	if !ok || q.No != no || q.Board != board {
		return Quote{}, 0
	}
	q.Thread = thread
	return q, i + k + len(linkClose)
}

// readDead reads the dead link that s starts with, in a post on board.
func readDead(s, board string) (q Quote, n int) {
	i := len(deadOpen)
	k := strings.Index(s[i:], deadClose)
	if k < 0 {
		return Quote{}, 0
	}
	q, ok := readTyped(s[i:i+k], board)
	if !ok {
		return Quote{}, 0
	}
	return q, i + k + len(deadClose)
}

// readTyped reads a quote's escaped text, as an element shows it, with the
// renderer's own scanner: all of it must be one quote of a post.
func readTyped(s, board string) (Quote, bool) {
	var buf [48]byte
	typed := buf[:0]
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "&gt;"):
			typed = append(typed, '>')
			i += len("&gt;") - 1
		case s[i] == '&' || s[i] == '<':
			return Quote{}, false
		default:
			typed = append(typed, s[i])
		}
	}
	if len(typed) == 0 || typed[0] != '>' {
		return Quote{}, false
	}
	q := scanQuote(typed)
	if q.n != len(typed) {
		return Quote{}, false
	}
	return quoteOf(q, typed, board)
}
