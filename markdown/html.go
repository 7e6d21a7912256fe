package markdown

import (
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"

	"github.com/maniwani/maniwani"
)

// The HTML of com, as 4chan writes it: no paragraphs, a <br> for every line
// break, <span class="quote"> around a greentext line, <a class="quotelink">
// for a quote, <span class="deadlink"> for a quote of nothing, <s> for a
// spoiler, <pre class="prettyprint"> for code. Every byte of the post is
// escaped; the only tags are the ones written here.

// elem is an inline element that can be open across inlines: emphasis,
// strong, a spoiler, and the greentext span of the current line.
type elem uint8

const (
	elemEm elem = iota
	elemStrong
	elemSpoiler
	elemGreen
)

var (
	openTags  = [...]string{elemEm: "<em>", elemStrong: "<strong>", elemSpoiler: "<s>", elemGreen: `<span class="quote">`}
	closeTags = [...]string{elemEm: "</em>", elemStrong: "</strong>", elemSpoiler: "</s>", elemGreen: "</span>"}
)

// writer turns a parsed post into HTML.
//
// goldmark nests emphasis and spoilers properly, but a greentext line is not
// a node: it is the span from its '>' to the line's end, and a spoiler may
// start before a greentext line and end inside it, or the other way round.
// So the writer keeps the open elements as a stack and, where two would
// cross, closes the inner one and opens it again on the other side:
//
//	||a\n>b|| c  ->  <s>a<br><span class="quote">&gt;b</span></s><span class="quote"> c</span>
//
// stack[:written] are open in the output; stack[written:] are open in the
// post but not yet opened again in the output, which happens only before
// more content (so an element cut at a line's end is not opened again just
// to be closed, as at the end of the post). Line breaks
// wait in breaks likewise, so that those at the end of the post, and the
// one right after a </pre> (which ends its line itself), are not written.
type writer struct {
	b       strings.Builder
	src     []byte
	in      *maniwani.RenderInput
	stack   []elem
	written int
	breaks  int
	// afterPre: the last thing written was </pre>, which ends the line
	// itself; the next line break is not written.
	afterPre bool
	// ownBoard: in.Board can be a board's name, so >>N can link.
	ownBoard bool
}

// flush writes what waits: line breaks, then elements to open again.
func (w *writer) flush() {
	for ; w.breaks > 0; w.breaks-- {
		w.b.WriteString("<br>")
	}
	for ; w.written < len(w.stack); w.written++ {
		w.b.WriteString(openTags[w.stack[w.written]])
	}
}

func (w *writer) open(e elem) {
	w.flush()
	w.stack = append(w.stack, e)
	w.b.WriteString(openTags[e])
	w.written++
}

// close ends the innermost open e. Only a greentext span can be open inside
// it; that span is closed and left to open again after it.
func (w *writer) close(e elem) {
	k := len(w.stack) - 1
	for k >= 0 && w.stack[k] != e {
		k--
	}
	if k < 0 {
		return
	}
	if k < w.written {
		for i := w.written - 1; i >= k; i-- {
			w.b.WriteString(closeTags[w.stack[i]])
		}
		w.written = k
	}
	w.stack = append(w.stack[:k], w.stack[k+1:]...)
}

// endGreen ends the greentext span of the line, if there is one; what was
// opened inside it is closed with it and opened again after it.
func (w *writer) endGreen() { w.close(elemGreen) }

func (w *writer) lineBreak() {
	w.endGreen()
	if w.afterPre {
		w.afterPre = false
		return
	}
	w.breaks++
}

func (w *writer) green() {
	w.endGreen()
	w.flush()
	w.stack = append(w.stack, elemGreen)
	w.b.WriteString(`<span class="quote">&gt;`)
	w.written++
	w.afterPre = false
}

// finish closes what is open and drops the line breaks that end the post.
func (w *writer) finish() {
	for i := w.written - 1; i >= 0; i-- {
		w.b.WriteString(closeTags[w.stack[i]])
	}
	w.stack, w.written, w.breaks = w.stack[:0], 0, 0
}

// document writes the post's blocks. The line breaks between blocks are
// counted in the source, since goldmark keeps none between its blocks.
func (w *writer) document(doc ast.Node) {
	prevStop := -1
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		start, stop := blockBounds(n)
		if prevStop >= 0 && start > prevStop {
			for _, c := range w.src[prevStop:start] {
				if c == '\n' {
					w.lineBreak()
				}
			}
		}
		switch n := n.(type) {
		case *codeBlockNode:
			lines := n.Lines()
			w.preStart()
			for i := 0; i < lines.Len(); i++ {
				if i > 0 {
					w.b.WriteString("<br>")
				}
				seg := lines.At(i)
				w.escape(w.src[seg.Start:endOfLine(seg, w.src)])
			}
			w.preEnd()
		default:
			w.inlines(n)
			w.endGreen()
		}
		prevStop = stop
	}
	w.finish()
}

// blockBounds is where a block starts and stops in the source.
func blockBounds(n ast.Node) (start, stop int) {
	if c, ok := n.(*codeBlockNode); ok {
		return c.start, c.stop
	}
	lines := n.Lines()
	if lines.Len() == 0 {
		return -1, -1
	}
	return lines.At(0).Start, lines.At(lines.Len() - 1).Stop
}

// preStart opens a <pre>. The line breaks before it are all written: a
// <br> that ends the text before a block adds no line (a browser draws no
// empty line after it), so n line breaks show n-1 blank lines, as typed.
// After </pre> it is the other way round: a <br> there starts an empty
// line, so the first line break after a <pre> is not written (afterPre).
func (w *writer) preStart() {
	w.flush()
	w.b.WriteString(`<pre class="prettyprint">`)
}

func (w *writer) preEnd() {
	w.b.WriteString("</pre>")
	w.afterPre = true
}

// inlines writes n's children.
func (w *writer) inlines(n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			seg := c.Segment
			w.text(w.src[seg.Start:seg.Stop])
			if c.HardLineBreak() && seg.Stop < len(w.src) && w.src[seg.Stop] == '\\' {
				// goldmark takes a '\' that ends a line for a hard line
				// break and drops it; it was typed, so it is shown.
				w.text([]byte{'\\'})
			}
			if c.SoftLineBreak() || c.HardLineBreak() {
				w.lineBreak()
			}
		case *greenNode:
			w.green()
		case *quoteNode:
			w.quote(c)
		case *urlNode:
			w.url(c)
		case *spoilerNode:
			w.open(elemSpoiler)
			w.inlines(c)
			w.close(elemSpoiler)
		case *ast.Emphasis:
			e := elemEm
			if c.Level == 2 {
				e = elemStrong
			}
			w.open(e)
			w.inlines(c)
			w.close(e)
		case *ast.CodeSpan:
			w.flush()
			w.b.WriteString("<code>")
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if t, ok := t.(*ast.Text); ok {
					w.code(w.src[t.Segment.Start:t.Segment.Stop])
				}
			}
			w.b.WriteString("</code>")
			w.afterPre = false
		case *inlineCodeNode:
			w.preStart()
			for i, seg := range c.lines {
				if i > 0 {
					w.b.WriteString("<br>")
				}
				w.escape(w.src[seg.Start:seg.Stop])
			}
			w.preEnd()
		case *parser.Delimiter:
			// goldmark turns unpaired delimiters into text; should one be
			// left, it is shown as typed.
			w.text(c.Segment.Value(w.src))
		default:
			// A node of no kind above holds text at most.
			w.inlines(c)
		}
	}
}

// text writes typed text: escaped, with the backslash of an escape dropped
// when it kept one of the post's own markup characters from being markup.
func (w *writer) text(s []byte) {
	if len(s) == 0 {
		return
	}
	w.flush()
	w.afterPre = false
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			continue
		}
		switch s[i+1] {
		case '*', '`', '|', '>', '[', '~':
			w.escape(s[start:i])
			start = i + 1
			i++
		case '\\':
			i++ // "\\" is kept as typed; the second one escapes nothing
		}
	}
	w.escape(s[start:])
}

// code writes a code span's text: escaped, its line breaks as spaces.
func (w *writer) code(s []byte) {
	start := 0
	for i, c := range s {
		if c == '\n' {
			w.escape(s[start:i])
			w.b.WriteByte(' ')
			start = i + 1
		}
	}
	w.escape(s[start:])
}

func (w *writer) escape(s []byte) { escapeTo(&w.b, s) }

// escapeTo writes s with & < > " ' escaped, as html.EscapeString does.
func escapeTo(b *strings.Builder, s []byte) {
	start := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		default:
			continue
		}
		b.Write(s[start:i])
		b.WriteString(esc)
		start = i + 1
	}
	b.Write(s[start:])
}

// quote writes a quote: a link when what it names exists, else a dead link.
func (w *writer) quote(n *quoteNode) {
	w.flush()
	w.afterPre = false
	typed := w.src[n.seg.Start:n.seg.Stop]
	board := n.board(w.src)
	var thread int64
	ok := false
	switch n.q.kind {
	case postQuote:
		if w.ownBoard && n.q.numOK {
			thread, ok = w.in.Threads[maniwani.Ref{Board: w.in.Board, No: n.q.no}]
		}
	case crossQuote:
		if n.q.numOK {
			thread, ok = w.in.Threads[maniwani.Ref{Board: string(board), No: n.q.no}]
		}
	case boardQuote:
		ok = w.in.Boards[string(board)] || (w.ownBoard && string(board) == w.in.Board)
	}
	if !ok || (n.q.kind != boardQuote && thread <= 0) {
		writeDeadQuote(&w.b, typed)
		return
	}
	if board == nil {
		writeQuoteLink(&w.b, w.in.Board, thread, n.q.no, typed)
	} else {
		writeQuoteLink(&w.b, string(board), thread, n.q.no, typed)
	}
}

// A quote's elements. scanCom reads them back: what is written here is
// what it reads.
const (
	linkOpen  = `<a href="/`
	linkClass = `" class="quotelink">`
	linkClose = "</a>"
	deadOpen  = `<span class="deadlink">`
	deadClose = "</span>"
)

// writeQuoteLink writes a link to post no of thread on board, shown as
// typed; thread 0 links to the board.
func writeQuoteLink(b *strings.Builder, board string, thread, no int64, typed []byte) {
	var buf [20]byte
	b.WriteString(linkOpen)
	b.WriteString(board)
	b.WriteByte('/')
	if thread > 0 {
		b.WriteString("thread/")
		b.Write(strconv.AppendInt(buf[:0], thread, 10))
		b.WriteString("#p")
		b.Write(strconv.AppendInt(buf[:0], no, 10))
	}
	b.WriteString(linkClass)
	escapeTo(b, typed)
	b.WriteString(linkClose)
}

// writeDeadQuote writes a quote of nothing, shown as typed.
func writeDeadQuote(b *strings.Builder, typed []byte) {
	b.WriteString(deadOpen)
	escapeTo(b, typed)
	b.WriteString(deadClose)
}

// url writes a typed http(s) URL as a link to itself.
func (w *writer) url(n *urlNode) {
	w.flush()
	w.afterPre = false
	u := w.src[n.seg.Start:n.seg.Stop]
	w.b.WriteString(`<a href="`)
	w.escape(u)
	w.b.WriteString(`" rel="nofollow noopener ugc">`)
	w.escape(u)
	w.b.WriteString("</a>")
}
