// Package markdown turns what a poster wrote into the safe HTML of a post's
// com: goldmark, with the imageboard's own syntax added and most of
// Markdown taken away, so that a post looks like what was typed.
//
// The rules, each as the table tests show it:
//
//   - Every line break is a <br>; there are no paragraphs. Blank lines are
//     kept (two line breaks, two <br>); those that start or end the post
//     are not. Spaces that start a line are dropped (HTML would collapse
//     them anyway), except in code.
//   - A line whose first character (after spaces) is '>' is greentext,
//     <span class="quote">&gt;...</span>, unless it starts with a quote.
//   - >>34 quotes post 34 of the post's board, >>>/g/56 post 56 of /g/:
//     <a href="/g/thread/12#p56" class="quotelink">, the thread being the
//     quoted post's (RenderInput.Threads), whether or not it is the
//     post's own. >>>/g/ links to the board. A quote of a post or board
//     that does not exist is <span class="deadlink">. ">>" alone, ">>x" and
//     ">>>/G/" are no quotes (text; greentext when they start a line). A
//     quote may stand anywhere in a line, greentext included.
//   - Spoilers: ||text|| and [spoiler]text[/spoiler] (any case), to <s>.
//     Both may span lines, blank ones and greentext included, but not a
//     code block that starts a line. "a || b" is no spoiler (CommonMark
//     flanking, as for '*'); a run of three pipes is text. Spoilers and
//     emphasis always nest; where a spoiler and a greentext line cross,
//     the span is closed and opened again around the spoiler's end.
//   - Code: [code]...[/code] and fenced blocks (``` or ~~~, the info string
//     ignored) to <pre class="prettyprint">, its lines joined by <br> as
//     4chan does; nothing inside is markup. A [code] with no [/code] after
//     it is text; a fence with no closing fence runs to the end, as in
//     CommonMark. `code spans` are <code>. A </pre> ends its line itself,
//     so the line break right after a code block is not also a <br> (one
//     there would show a blank line that was not typed).
//   - *emphasis* and **strong**, with '*' only, and never inside a word
//     (2*3*4 stays as typed); '_' is never markup, so snake_case and
//     ¯\_(ツ)_/¯ stay as typed.
//   - http:// and https:// URLs (any case; not right after a letter, a
//     digit or '_') are links, rel="nofollow noopener ugc". A URL ends at
//     a space or one of <>"`|[]{}\, and gives trailing punctuation back
//     to the text. No other scheme is ever a link.
//   - A backslash keeps the next * ` | > [ or ~ from being markup, and is
//     then not shown: \>not greentext. Any other backslash is shown.
//   - Everything else is text: HTML a poster types is shown as typed.
//     Headings, lists, block quotes, links, images, tables and raw HTML are
//     not Markdown here.
//
// Render's output is a function of the RenderInput alone; Version names
// that function, and is part of every cache key.
package markdown

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
)

// Version is the version of the output: bump it whenever the same input
// would render differently, so cached renders are not served again.
const Version = "2" // 2: a mid-line [code] keeps its lines' indentation

// Renderer renders posts. It is safe for concurrent use.
type Renderer struct {
	parser parser.Parser
	cache  Cache
	log    *slog.Logger
}

// RendererConfig is what a Renderer needs; the zero value is a renderer
// without a cache that logs to slog.Default.
type RendererConfig struct {
	// Cache keeps renders by Key; nil: every render is made afresh.
	Cache  Cache
	Logger *slog.Logger
}

// NewRenderer builds a renderer: goldmark with the post syntax.
func NewRenderer(cfg RendererConfig) *Renderer {
	r := &Renderer{parser: newParser(), cache: cfg.Cache, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

var _ maniwani.Renderer = (*Renderer)(nil)

// Render renders in.Body to the HTML of com, from the cache when it is
// there. A cache that fails is logged and passed by: the render is made
// anyway. The error is always nil; it is there for maniwani.Renderer.
func (r *Renderer) Render(ctx context.Context, in maniwani.RenderInput) (string, error) {
	ctx, span := tracing.Start(ctx, "markdown.Render", trace.WithAttributes(tracing.Board.String(in.Board)))
	defer span.End()
	in.Body = normalize(in.Body)
	if r.cache == nil {
		return r.render(&in), nil
	}
	key := Key(in)
	if html, ok, err := r.cache.Get(ctx, key); err != nil {
		r.log.Warn("markdown: cache read failed; rendering", "err", err)
	} else if ok {
		return html, nil
	}
	html := r.render(&in)
	if err := r.cache.Set(ctx, key, html); err != nil {
		r.log.Warn("markdown: cache write failed", "err", err)
	}
	return html, nil
}

// render renders a normalized body. Should the renderer ever panic, the
// post is shown as its escaped text rather than lost.
func (r *Renderer) render(in *maniwani.RenderInput) (html string) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("markdown: render panicked; showing the text as typed", "panic", p,
				"board", in.Board, "thread", in.Thread)
			html = plain(in.Body)
		}
	}()
	return renderHTML(r.parser, in)
}

// renderHTML parses and writes a normalized body.
func renderHTML(p parser.Parser, in *maniwani.RenderInput) string {
	src := []byte(in.Body)
	doc := p.Parse(text.NewReader(src))
	w := &writer{src: src, in: in, ownBoard: validBoard(in.Board)}
	w.b.Grow(len(src) + len(src)/2 + 64)
	w.document(doc)
	return w.b.String()
}

// plain is the body as escaped text with <br> line breaks.
func plain(body string) string {
	w := &writer{}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	for i, l := range lines {
		if i > 0 {
			w.b.WriteString("<br>")
		}
		w.escape([]byte(l))
	}
	return w.b.String()
}

func validBoard(s string) bool {
	if len(s) < 1 || len(s) > maxBoardLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBoardChar(s[i]) {
			return false
		}
	}
	return true
}

// normalize makes the body what the parser expects: valid UTF-8, line
// breaks as "\n", no NUL (U+FFFD instead, as CommonMark has it) and no other
// control character but tab. The api stores bodies already clean; this is
// for any other caller.
func normalize(s string) string {
	if isNormal(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return '\uFFFD'
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < ' ' || (0x7f <= r && r <= 0x9f):
			return -1
		}
		return r
	}, s)
}

// isNormal tells whether normalize would leave s as it is.
func isNormal(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' && c != '\n' && c != '\t', c == 0x7f:
			return false
		case c == 0xc2 && i+1 < len(s) && 0x80 <= s[i+1] && s[i+1] <= 0x9f: // C1 controls
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// Key is the cache key of a render: a SHA-256 of Version, the board, the
// thread, the body, and what Threads and Boards say of every quote the body
// could hold, in the order the body names them. Entries the body does not
// name are not part of it, so resolving more than needed costs no hits.
func Key(in maniwani.RenderInput) string {
	body := normalize(in.Body)
	buf := make([]byte, 0, len(Version)+len(in.Board)+len(body)+64)
	str := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	num := func(v int64) { buf = binary.AppendVarint(buf, v) }
	str(Version)
	str(in.Board)
	num(in.Thread)
	str(body)
	// Every '>' where the parser could find a quote; a superset of the
	// quotes it finds (code and escapes are not told apart here).
	for i := 0; i < len(body); i++ {
		if body[i] != '>' {
			continue
		}
		q := scanQuote(body[i:])
		switch q.kind {
		case postQuote:
			t, ok := in.Threads[maniwani.Ref{Board: in.Board, No: q.no}]
			num(q.no)
			num(resolved(t, ok && q.numOK))
		case crossQuote:
			b := body[i+q.boardStart : i+q.boardEnd]
			t, ok := in.Threads[maniwani.Ref{Board: b, No: q.no}]
			str(b)
			num(q.no)
			num(resolved(t, ok && q.numOK))
		case boardQuote:
			b := body[i+q.boardStart : i+q.boardEnd]
			str(b)
			num(resolved(0, in.Boards[b]))
		}
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

func resolved(thread int64, ok bool) int64 {
	if !ok {
		return -1
	}
	return thread
}
