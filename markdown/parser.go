package markdown

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// newParser builds goldmark with only what fits a post. Blocks: text (one
// block that runs across blank lines, so nothing a poster types is lost or
// reflowed), fenced code and [code] blocks. Inlines: quotes and greentext,
// spoilers, code spans and [code], emphasis with '*', http(s) autolinks,
// backslash escapes. Not there, on purpose: headings, lists, block quotes,
// thematic breaks, indented code, link reference definitions, links and
// images, raw HTML and HTML blocks.
//
// A goldmark parser is safe for concurrent use once built; every parser
// below keeps its state in the nodes it makes, never in itself.
func newParser() parser.Parser {
	p := parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(fenceParser{}, 100),
			util.Prioritized(codeBlockParser{}, 200),
			util.Prioritized(textParser{}, 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(quoteParser{}, 200),
			util.Prioritized(bracketParser{}, 300),
			util.Prioritized(pipeParser{}, 400),
			util.Prioritized(emphasisParser{}, 500),
			util.Prioritized(urlParser{}, 600),
		),
	)
	// Goldmark sorts and indexes its parsers on the first Parse; do it now,
	// so that first Parse is not a race between two goroutines' first posts
	// (goldmark guards it with a sync.Once, but a warm parser also keeps the
	// first render's latency like every other's).
	p.Parse(text.NewReader([]byte("x")))
	return p
}

// Node kinds, as goldmark wants them; made once, when the package loads.
var (
	kindGreen      = ast.NewNodeKind("Greentext")
	kindQuote      = ast.NewNodeKind("Quote")
	kindSpoiler    = ast.NewNodeKind("Spoiler")
	kindURL        = ast.NewNodeKind("URL")
	kindInlineCode = ast.NewNodeKind("InlineCode")
	kindCodeBlock  = ast.NewNodeKind("CodeBlock")
)

// greenNode is the '>' that starts a greentext line; the line's other
// inlines follow it as its siblings, and the line ends at the next line
// break (the writer puts the span around them).
type greenNode struct {
	ast.BaseInline
}

func (n *greenNode) Kind() ast.NodeKind         { return kindGreen }
func (n *greenNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// quoteNode is >>34, >>>/g/56 or >>>/g/, as typed (seg).
type quoteNode struct {
	ast.BaseInline
	q   quote        // offsets relative to seg.Start
	seg text.Segment // what was typed
}

func (n *quoteNode) Kind() ast.NodeKind         { return kindQuote }
func (n *quoteNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// board is the quoted board's name; empty for >>34, the post's own board.
func (n *quoteNode) board(src []byte) []byte {
	if n.q.kind == postQuote {
		return nil
	}
	return src[n.seg.Start+n.q.boardStart : n.seg.Start+n.q.boardEnd]
}

// spoilerNode holds what is between || and ||, or [spoiler] and [/spoiler].
type spoilerNode struct {
	ast.BaseInline
}

func (n *spoilerNode) Kind() ast.NodeKind         { return kindSpoiler }
func (n *spoilerNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// urlNode is an http or https URL typed in the text.
type urlNode struct {
	ast.BaseInline
	seg text.Segment
}

func (n *urlNode) Kind() ast.NodeKind         { return kindURL }
func (n *urlNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// inlineCodeNode is [code]...[/code] inside a text block: its lines, each
// without its line break.
type inlineCodeNode struct {
	ast.BaseInline
	lines []text.Segment
}

func (n *inlineCodeNode) Kind() ast.NodeKind         { return kindInlineCode }
func (n *inlineCodeNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// codeBlockNode is a fenced block or a [code] block that starts a line. Its
// Lines are the code's; start and stop bound all of it as typed, fences and
// tags included, so the blank lines around it can be counted.
type codeBlockNode struct {
	ast.BaseBlock
	start, stop int
	fence       byte // '`' or '~'; 0 for [code]
	fenceLen    int
	indent      int
	closed      bool
}

func (n *codeBlockNode) Kind() ast.NodeKind         { return kindCodeBlock }
func (n *codeBlockNode) IsRaw() bool                { return true }
func (n *codeBlockNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// trimBlankTail drops the blank lines at the end of lines.
func trimBlankTail(lines *text.Segments, src []byte) {
	n := lines.Len()
	for n > 0 {
		if seg := lines.At(n - 1); !util.IsBlank(seg.Value(src)) {
			break
		}
		n--
	}
	lines.SetSliced(0, n)
}

// endOfLine is seg's stop without its line break.
func endOfLine(seg text.Segment, src []byte) int {
	s := seg.Stop
	if s > seg.Start && src[s-1] == '\n' {
		s--
	}
	return s
}

// textParser makes the one kind of text block: it takes every line, blank
// ones too, until a code block interrupts it or the post ends. Blank lines
// are then plain line breaks, as typed, and an inline (a spoiler, say) may
// span them. It is an *ast.Paragraph, which goldmark's block loop needs.
type textParser struct{}

func (textParser) Trigger() []byte { return nil }

func (textParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	if util.IsBlank(line) {
		return nil, parser.NoChildren
	}
	node := ast.NewParagraph()
	node.Lines().Append(seg)
	reader.AdvanceToEOL()
	return node, parser.NoChildren
}

func (textParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	line, seg := reader.PeekLine()
	if line == nil {
		return parser.Close
	}
	node.Lines().Append(seg)
	reader.AdvanceToEOL()
	return parser.Continue | parser.NoChildren
}

func (textParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	lines := node.Lines()
	trimBlankTail(lines, src)
	if lines.Len() == 0 {
		node.Parent().RemoveChild(node.Parent(), node)
		return
	}
	for i := 0; i < lines.Len(); i++ {
		// Spaces and tabs only: a blank line keeps its "\n", which is its
		// line break (goldmark's inline pass needs a line to be non-empty).
		seg := lines.At(i)
		for seg.Start < seg.Stop && isASCIISpace(src[seg.Start]) {
			seg.Start++
		}
		lines.Set(i, seg)
	}
	last := lines.At(lines.Len() - 1)
	lines.Set(lines.Len()-1, last.TrimRightSpace(src))
}

func (textParser) CanInterruptParagraph() bool { return false }

// CanAcceptIndentedLine: an indented line is text (there is no indented
// code); goldmark drops a line that no block parser opens.
func (textParser) CanAcceptIndentedLine() bool { return true }

// fenceParser is CommonMark's fenced code block: a line of three or more
// backticks or tildes (its info string is ignored), up to a line of as many
// or more of the same, or the end of the post.
type fenceParser struct{}

func (fenceParser) Trigger() []byte { return []byte{'`', '~'} }

func (fenceParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	pos := pc.BlockOffset()
	if pos < 0 || pos >= len(line) || !atLineStart(reader.Source(), seg.Start+pos) {
		return nil, parser.NoChildren
	}
	c := line[pos]
	if c != '`' && c != '~' {
		return nil, parser.NoChildren
	}
	i := pos
	for i < len(line) && line[i] == c {
		i++
	}
	if i-pos < 3 || (c == '`' && bytes.IndexByte(line[i:], '`') >= 0) {
		return nil, parser.NoChildren
	}
	node := &codeBlockNode{start: seg.Start, stop: endOfLine(seg, reader.Source()), fence: c, fenceLen: i - pos, indent: pos}
	reader.AdvanceToEOL()
	return node, parser.NoChildren
}

func (fenceParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	n := node.(*codeBlockNode)
	line, seg := reader.PeekLine()
	if line == nil {
		return parser.Close
	}
	src := reader.Source()
	if w, pos := util.IndentWidth(line, reader.LineOffset()); w < 4 {
		i := pos
		for i < len(line) && line[i] == n.fence {
			i++
		}
		if i-pos >= n.fenceLen && util.IsBlank(line[i:]) {
			n.stop, n.closed = endOfLine(seg, src), true
			reader.AdvanceToEOL()
			return parser.Close
		}
	}
	i := 0
	for i < n.indent && i < len(line) && line[i] == ' ' {
		i++
	}
	node.Lines().Append(text.NewSegment(seg.Start+i, seg.Stop))
	n.stop = endOfLine(seg, src)
	reader.AdvanceToEOL()
	return parser.Continue | parser.NoChildren
}

func (fenceParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {
	trimBlankTail(node.Lines(), reader.Source())
}

func (fenceParser) CanInterruptParagraph() bool { return true }
func (fenceParser) CanAcceptIndentedLine() bool { return false }

// codeBlockParser is a [code] that starts a line and whose [/code] is on a
// later line; what follows [/code] on its line is text again. A [code] and
// [/code] on one line are an inline (bracketParser), and a [code] with no
// [/code] after it is text.
type codeBlockParser struct{}

func (codeBlockParser) Trigger() []byte { return []byte{'['} }

func (codeBlockParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	pos := pc.BlockOffset()
	src := reader.Source()
	if pos < 0 || !hasPrefixFold(line[pos:], "[code]") || !atLineStart(src, seg.Start+pos) {
		return nil, parser.NoChildren
	}
	rest := line[pos+len("[code]"):]
	if indexFold(rest, "[/code]") >= 0 || indexFold(src[seg.Stop:], "[/code]") < 0 {
		return nil, parser.NoChildren
	}
	node := &codeBlockNode{start: seg.Start, stop: endOfLine(seg, src)}
	if !util.IsBlank(rest) {
		node.Lines().Append(text.NewSegment(seg.Start+pos+len("[code]"), seg.Stop))
	}
	reader.AdvanceToEOL()
	return node, parser.NoChildren
}

func (codeBlockParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	n := node.(*codeBlockNode)
	line, seg := reader.PeekLine()
	if line == nil {
		return parser.Close
	}
	i := indexFold(line, "[/code]")
	if i < 0 {
		node.Lines().Append(seg)
		n.stop = endOfLine(seg, reader.Source())
		reader.AdvanceToEOL()
		return parser.Continue | parser.NoChildren
	}
	if !util.IsBlank(line[:i]) {
		node.Lines().Append(seg.WithStop(seg.Start + i))
	}
	n.stop, n.closed = seg.Start+i+len("[/code]"), true
	// What follows [/code] on this line is left to the next block.
	reader.Advance(i + len("[/code]"))
	return parser.Close
}

func (codeBlockParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {
	trimBlankTail(node.Lines(), reader.Source())
}

func (codeBlockParser) CanInterruptParagraph() bool { return true }
func (codeBlockParser) CanAcceptIndentedLine() bool { return false }

// quoteParser reads what starts with '>': a quote (>>34, >>>/g/56,
// >>>/g/), else, at the start of a line, the '>' of a greentext line.
// Anything else is text. A line that starts with a quote is not greentext.
type quoteParser struct{}

func (quoteParser) Trigger() []byte { return []byte{'>'} }

func (quoteParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	if q := scanQuote(line); q.kind != notQuote {
		block.Advance(q.n)
		return &quoteNode{q: q, seg: seg.WithStop(seg.Start + q.n)}
	}
	if seg.Padding == 0 && atLineStart(block.Source(), seg.Start) {
		block.Advance(1)
		return &greenNode{}
	}
	return nil
}

// bracketParser reads [spoiler], [/spoiler] and an inline [code]...[/code].
type bracketParser struct{}

func (bracketParser) Trigger() []byte { return []byte{'['} }

func (bracketParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	switch {
	case hasPrefixFold(line, "[spoiler]"):
		return pushTag(block, pc, seg, len("[spoiler]"), true)
	case hasPrefixFold(line, "[/spoiler]"):
		return pushTag(block, pc, seg, len("[/spoiler]"), false)
	case hasPrefixFold(line, "[code]"):
		return parseInlineCode(block, seg)
	}
	return nil
}

// pushTag makes [spoiler] an opener and [/spoiler] a closer: goldmark's
// delimiter pass pairs them as it pairs emphasis, so spoilers and emphasis
// always nest, and an unpaired tag is left as the text it was.
func pushTag(block text.Reader, pc parser.Context, seg text.Segment, n int, open bool) ast.Node {
	d := parser.NewDelimiter(open, !open, 1, '[', tagSpoilers{})
	d.Segment = seg.WithStop(seg.Start + n)
	block.Advance(n)
	pc.PushDelimiter(d)
	return d
}

type tagSpoilers struct{}

func (tagSpoilers) IsDelimiter(b byte) bool { return b == '[' }
func (tagSpoilers) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	_, ok := closer.Processor.(tagSpoilers)
	return ok && opener.CanOpen && closer.CanClose
}
func (tagSpoilers) OnMatch(consumes int) ast.Node { return &spoilerNode{} }

// parseInlineCode reads [code] up to the next [/code] of the text block,
// across lines; without one, the [code] is text.
func parseInlineCode(block text.Reader, seg text.Segment) ast.Node {
	if indexFold(block.Source()[seg.Start:], "[/code]") < 0 {
		return nil
	}
	block.Advance(len("[code]"))
	var lines []text.Segment
	for {
		line, s := block.PeekLine()
		if line == nil {
			return nil // goldmark puts the reader back
		}
		if i := indexFold(line, "[/code]"); i >= 0 {
			lines = append(lines, s.WithStop(s.Start+i))
			block.Advance(i + len("[/code]"))
			break
		}
		lines = append(lines, s.WithStop(endOfLine(s, block.Source())))
		block.AdvanceLine()
	}
	// A paragraph's lines come without their indentation: in code it is
	// the poster's, so each line after the first starts where it did.
	for i := 1; i < len(lines); i++ {
		lines[i] = withIndent(block.Source(), lines[i])
	}
	// The line break right after [code] and right before [/code] frame
	// the code; they are not part of it.
	src := block.Source()
	if len(lines) > 1 && util.IsBlank(lines[0].Value(src)) {
		lines = lines[1:]
	}
	if len(lines) > 1 && util.IsBlank(lines[len(lines)-1].Value(src)) {
		lines = lines[:len(lines)-1]
	}
	return &inlineCodeNode{lines: lines}
}

// pipeParser reads || as a spoiler's opener or closer. Flanking is
// CommonMark's for '*': "a || b" is no spoiler, "||a||" is. A run of one
// pipe or more than two is text.
type pipeParser struct{}

func (pipeParser) Trigger() []byte { return []byte{'|'} }

func (pipeParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	n := 0
	for n < len(line) && line[n] == '|' {
		n++
	}
	if n != 2 {
		block.Advance(n)
		return ast.NewTextSegment(seg.WithStop(seg.Start + n))
	}
	left, right := flanking(block.PrecendingCharacter(), line, n)
	if !left && !right {
		block.Advance(n)
		return ast.NewTextSegment(seg.WithStop(seg.Start + n))
	}
	d := parser.NewDelimiter(left, right, n, '|', pipeSpoilers{})
	d.Segment = seg.WithStop(seg.Start + n)
	block.Advance(n)
	pc.PushDelimiter(d)
	return d
}

type pipeSpoilers struct{}

func (pipeSpoilers) IsDelimiter(b byte) bool { return b == '|' }
func (pipeSpoilers) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	return opener.Char == '|' && closer.Char == '|'
}
func (pipeSpoilers) OnMatch(consumes int) ast.Node { return &spoilerNode{} }

// emphasisParser is CommonMark emphasis with '*' only, and with the rules
// CommonMark gives '_': a '*' inside a word neither opens nor closes, so
// 2*3*4 and file*name*s stay as typed. '_' is never emphasis (snake_case,
// __init__, ¯\_(ツ)_/¯).
type emphasisParser struct{}

func (emphasisParser) Trigger() []byte { return []byte{'*'} }

func (emphasisParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	n := 0
	for n < len(line) && line[n] == '*' {
		n++
	}
	before := block.PrecendingCharacter()
	after := afterRune(line, n)
	left, right := flanking(before, line, n)
	canOpen := left && (!right || util.IsPunctRune(before))
	canClose := right && (!left || util.IsPunctRune(after))
	if !canOpen && !canClose {
		block.Advance(n)
		return ast.NewTextSegment(seg.WithStop(seg.Start + n))
	}
	d := parser.NewDelimiter(canOpen, canClose, n, '*', stars{})
	d.Segment = seg.WithStop(seg.Start + n)
	block.Advance(n)
	pc.PushDelimiter(d)
	return d
}

type stars struct{}

func (stars) IsDelimiter(b byte) bool { return b == '*' }
func (stars) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	return opener.Char == '*' && closer.Char == '*'
}
func (stars) OnMatch(consumes int) ast.Node { return ast.NewEmphasis(consumes) }

func afterRune(line []byte, n int) rune {
	if n >= len(line) {
		return '\n'
	}
	r, _ := utf8.DecodeRune(line[n:])
	return r
}

// flanking is CommonMark's left- and right-flanking of the delimiter run
// line[:n] preceded by before.
func flanking(before rune, line []byte, n int) (left, right bool) {
	after := afterRune(line, n)
	beforePunct, beforeSpace := util.IsPunctRune(before), util.IsSpaceRune(before)
	afterPunct, afterSpace := util.IsPunctRune(after), util.IsSpaceRune(after)
	left = !afterSpace && (!afterPunct || beforeSpace || beforePunct)
	right = !beforeSpace && (!beforePunct || afterSpace || afterPunct)
	return left, right
}

// urlParser links an http or https URL. It is called at the ':' after the
// scheme, which goldmark has by then put at the end of the last text node
// (letters never stop goldmark's inline pass, so the scheme is never split
// from its ':'); it takes the scheme back from that node. A scheme that
// follows a letter or a digit ("xhttps://") is no URL. No other scheme is
// ever a link.
type urlParser struct{}

func (urlParser) Trigger() []byte { return []byte{':'} }

func (urlParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	last, ok := parent.LastChild().(*ast.Text)
	if !ok || last.Segment.Stop != seg.Start || last.SoftLineBreak() || last.HardLineBreak() {
		return nil
	}
	src := block.Source()
	scheme := 0
	switch {
	case hasSuffixFold(src[last.Segment.Start:seg.Start], "https"):
		scheme = len("https")
	case hasSuffixFold(src[last.Segment.Start:seg.Start], "http"):
		scheme = len("http")
	default:
		return nil
	}
	start := seg.Start - scheme
	if start > 0 && (isBoardChar(src[start-1]|0x20) || src[start-1] == '_') {
		return nil
	}
	n := scanURL(line)
	if n == 0 {
		return nil
	}
	last.Segment = last.Segment.WithStop(start)
	block.Advance(n)
	return &urlNode{seg: text.NewSegment(start, seg.Start+n)}
}

// hasSuffixFold tells whether s ends with the lowercase ASCII suffix, in
// any case.
func hasSuffixFold(s []byte, suffix string) bool {
	return len(s) >= len(suffix) && hasPrefixFold(s[len(s)-len(suffix):], suffix)
}

const (
	urlStop  = "<>\"`|[]{}\\" // never in a URL
	urlTrail = ".,:;!?'*_~"   // given back when they end one
)

func count(s []byte, c byte) (n int) {
	for _, b := range s {
		if b == c {
			n++
		}
	}
	return n
}

// scanURL is the length of the rest of an http(s) URL, from the ':' after
// its scheme at the start of s, or 0. It ends at a space, a control
// character, or one of <>"`|[]{}\ ; then trailing punctuation is given back
// to the text (and a ')' that closes nothing in the URL), as GitHub's
// autolinks do. The host starts with a letter or a digit.
func scanURL(s []byte) int {
	if len(s) < 3 || s[0] != ':' || s[1] != '/' || s[2] != '/' {
		return 0
	}
	i := 3
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f || strings.IndexByte(urlStop, c) >= 0 {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError || util.IsSpaceRune(r) {
			break
		}
		i += size
	}
	for i > start {
		c := s[i-1]
		if strings.IndexByte(urlTrail, c) >= 0 {
			i--
			continue
		}
		if c == ')' && count(s[start:i], '(') < count(s[start:i], ')') {
			i--
			continue
		}
		break
	}
	if i == start {
		return 0
	}
	if c := s[start]; c < utf8.RuneSelf && !isBoardChar(c|0x20) {
		return 0 // the host starts with a letter or a digit
	}
	return i
}

// withIndent is s from the start of its line's indentation (the spaces and
// tabs before it in src).
func withIndent(src []byte, s text.Segment) text.Segment {
	start := s.Start
	for start > 0 && (src[start-1] == ' ' || src[start-1] == '\t') {
		start--
	}
	return text.NewSegment(start, s.Stop)
}
