package ui

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maniwani/maniwani"
)

// A post's markup is written here in Go rather than by a template: it is
// the bulk of every page, and html/template's reflection costs some 40 µs
// a post, three times the budget of a 300-post thread (5 ms). Every value
// from a poster goes through esc; com is the renderer's safe HTML. app.js
// writes the same bytes for the posts that arrive live (postHTML there);
// TestPostMarkup holds the two to testdata/posts.

// postsHTML is the markup of posts, one after the other: what a thread
// page's threadMarkup puts together from kept pieces (TestAssembled).
func postsHTML(ps []postView) template.HTML {
	var b bytes.Buffer
	b.Grow(len(ps) * 900)
	for i := range ps {
		writePost(&b, &ps[i])
	}
	return template.HTML(b.String())
}

// postHTML is the markup of one post.
func postHTML(p postView) template.HTML {
	var b bytes.Buffer
	writePost(&b, &p)
	return template.HTML(b.String())
}

func writePost(b *bytes.Buffer, p *postView) {
	writePostHead(b, p)
	if len(p.Backlinks) > 0 {
		path, _, _ := strings.Cut(p.Href, "#")
		writeBacklinks(b, path, p.Backlinks)
	}
	b.WriteString("</div>\n")
}

// writePostHead writes a post's markup up to its backlinks: all of it
// that depends on the post alone (and, on an opening post, its thread's
// flags), which a thread page keeps between rebuilds (frags.go).
func writePostHead(b *bytes.Buffer, p *postView) {
	var num [32]byte
	b.WriteString(`<div class="p`)
	if p.T != nil {
		b.WriteString(` op`)
	}
	b.WriteString(`" id="p`)
	b.Write(strconv.AppendInt(num[:0], p.No, 10))
	b.WriteString("\">\n<div class=\"ph\">")
	if p.Subject != "" {
		b.WriteString(`<span class="su">`)
		esc(b, p.Subject)
		b.WriteString(`</span> `)
	}
	b.WriteString(`<span class="na">`)
	esc(b, p.Name)
	b.WriteString(`</span>`)
	if p.Trip != "" {
		b.WriteString(` <span class="tr">`)
		esc(b, p.Trip)
		b.WriteString(`</span>`)
	}
	if p.PosterID != "" {
		b.WriteString(` <span class="id">ID:`)
		esc(b, p.PosterID)
		b.WriteString(`</span>`)
	}
	b.WriteString(` <time datetime="`)
	b.Write(p.Time.UTC().AppendFormat(num[:0], time.RFC3339))
	b.WriteString(`">`)
	b.WriteString(maniwani.FormatNow(p.Time))
	b.WriteString(`</time> <a href="`)
	esc(b, p.Href)
	b.WriteString(`" class="no">No.`)
	b.Write(strconv.AppendInt(num[:0], p.No, 10))
	b.WriteString(`</a>`)
	if t := p.T; t != nil {
		if t.Sticky {
			b.WriteString(` <span class="ic">Sticky</span>`)
		}
		if t.Closed {
			b.WriteString(` <span class="ic">Closed</span>`)
		}
	}
	if p.Reply != "" {
		b.WriteString(` <a href="`)
		esc(b, p.Reply)
		b.WriteString(`" class="rl">Reply</a>`)
	}
	b.WriteString("</div>\n")
	if f := p.File; f != nil && len(p.Extra) == 0 {
		writeFile(b, f)
	} else if f != nil {
		// Several files side by side, each with its line above it.
		b.WriteString(`<div class="fs">`)
		for _, f := range append([]*fileView{f}, p.Extra...) {
			b.WriteString(`<div class="fx">`)
			writeFile(b, f)
			b.WriteString("</div>")
		}
		b.WriteString("</div>\n")
	}
	b.WriteString(`<blockquote>`)
	writePostTail(b, p)
}

// writeFile writes a file's line and its thumbnail.
func writeFile(b *bytes.Buffer, f *fileView) {
	var num [32]byte
	b.WriteString(`<div class="fi">File: <a href="`)
	esc(b, f.URL)
	if short, ok := shortName(f.Filename); ok {
		// A long name is cut, as on 4chan; the whole one is its title.
		b.WriteString(`" target="_blank" title="`)
		esc(b, f.Filename)
		esc(b, f.Ext)
		b.WriteString(`">`)
		esc(b, short)
	} else {
		b.WriteString(`" target="_blank">`)
		esc(b, f.Filename)
	}
	esc(b, f.Ext)
	b.WriteString(`</a> (`)
	b.WriteString(f.Size)
	b.WriteString(`, `)
	b.Write(strconv.AppendInt(num[:0], int64(f.Width), 10))
	b.WriteString(`×`)
	b.Write(strconv.AppendInt(num[:0], int64(f.Height), 10))
	b.WriteString(`)</div><a href="`)
	esc(b, f.URL)
	b.WriteString(`" class="fl" target="_blank"><img src="`)
	esc(b, f.Thumb)
	b.WriteString(`" width="`)
	b.Write(strconv.AppendInt(num[:0], int64(f.TW), 10))
	b.WriteString(`" height="`)
	b.Write(strconv.AppendInt(num[:0], int64(f.TH), 10))
	if f.Spoiler {
		b.WriteString(`" alt="Spoiler" loading="lazy"`)
	} else {
		b.WriteString(`" alt="Thumbnail" loading="lazy"`)
	}
	if f.Wait != "" {
		b.WriteString(` data-w="`)
		esc(b, f.Wait)
		b.WriteString(`"`)
	}
	b.WriteString(`></a>`)
	b.WriteByte('\n')
}

// writePostTail writes a post's text; its backlinks and end are the caller's.
func writePostTail(b *bytes.Buffer, p *postView) {
	b.WriteString(p.Com)
	b.WriteString("</blockquote>\n")
}

// writeBacklinks writes the links to the posts (of the thread at path)
// that quote a post. Whole paths, as the quotes in com have: an index page
// shows several threads, and the script resolves every quote alike.
func writeBacklinks(b *bytes.Buffer, path string, backlinks []int64) {
	var num [32]byte
	b.WriteString(`<div class="bl">`)
	for _, no := range backlinks {
		n := strconv.AppendInt(num[:0], no, 10)
		b.WriteString(`<a href="`)
		esc(b, path)
		b.WriteString(`#p`)
		b.Write(n)
		b.WriteString(`" class="quotelink">&gt;&gt;`)
		b.Write(n)
		b.WriteString(`</a> `)
	}
	b.WriteString("</div>\n")
}

// esc writes s as HTML text or a quoted attribute value: the five
// characters that could end either are written as entities.
func esc(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// File names longer than longName characters are shown as their first
// shortName ones and "(...)".
const (
	longName  = 30
	shortKeep = 25
)

// shortName is a long file name cut for its line, and whether it was.
func shortName(name string) (string, bool) {
	if utf8.RuneCountInString(name) <= longName {
		return name, false
	}
	n := 0
	for i := range name {
		if n == shortKeep {
			return name[:i] + "(...)", true
		}
		n++
	}
	return name, false
}
