package ui

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/markdown"
)

// page is what every template gets: the frame (title, boards for the top
// bar, the board in view) and the page's own data.
type page struct {
	Title  string
	Kind   string // home, index, catalog, thread, error: the script reads it from <body>
	Boards []maniwani.Board
	Board  *maniwani.Board // nil off a board

	Threads []threadView // index, catalog, home (latest)
	Thread  *threadView  // thread page
	Pager   []pageLink   // index
	Prev    string       // index: the previous page's path, if any
	Next    string       // index: the next page's path, if any
	Err     *errorView
	Archive []archiveRow // archive
	Sort    string       // catalog: "" (bump order), last, new, replies or search
	Query   string       // catalog: the search's term
}

// threadView is a thread as a page shows it.
type threadView struct {
	*maniwani.ThreadView
	Path      string     // /b/thread/12
	Posts     []postView // index, catalog, home
	markup    []byte     // thread page: every post's markup (threadMarkup)
	Excerpt   string     // catalog and home: the start of the opening post
	ShowBoard bool       // home: the card names its board
}

// Markup is a thread page's posts' markup, for the "thread" template;
// render writes it itself, between the page's head and tail.
func (tv *threadView) Markup() template.HTML { return template.HTML(tv.markup) }

// postView is a post and what its markup needs computed.
type postView struct {
	*maniwani.Post
	Href      string // /b/thread/12#p34
	Backlinks []int64
	File      *fileView
	Extra     []*fileView      // the files after the first
	T         *maniwani.Thread // the thread, on its opening post only
	Reply     string           // an index page's opening post: the thread's path
}

// fileView is a post's file as a page links and shows it.
type fileView struct {
	*maniwani.File
	URL    string // the file
	Thumb  string // the thumbnail, or a placeholder of ours
	Wait   string // the thumbnail being made: the script swaps it in when it exists
	TW, TH int    // the size the thumbnail is shown at
	Size   string // 1.2 MB
}

type pageLink struct {
	N       int
	Path    string
	Current bool
}

type errorView struct {
	Status  int
	Heading string
	Message string
	Links   [][2]string // [path, text] of the ways on
}

// threadPath is the path of a thread's page.
func threadPath(board string, no int64) string {
	return "/" + board + "/thread/" + strconv.FormatInt(no, 10)
}

// newThreadView makes the view of a thread: the posts with their files and
// the backlinks that the other posts of the view give them.
func (s *Service) newThreadView(v *maniwani.ThreadView) threadView {
	tv := threadView{ThreadView: v, Path: threadPath(v.Board, v.No), Posts: make([]postView, len(v.Posts))}
	at := make(map[int64]int, len(v.Posts))
	for i := range v.Posts {
		p := &v.Posts[i]
		pv := &tv.Posts[i]
		pv.Post = p
		pv.Href = tv.Path + "#p" + strconv.FormatInt(p.No, 10)
		if p.File != nil {
			pv.File = s.newFileView(p.Board, p.File)
		}
		for j := range p.Extra {
			pv.Extra = append(pv.Extra, s.newFileView(p.Board, &p.Extra[j]))
		}
		at[p.No] = i
	}
	if len(tv.Posts) > 0 {
		tv.Posts[0].T = &v.Thread
	}
	for i := range tv.Posts {
		from := tv.Posts[i].No
		for q := range markdown.ComQuotes(v.Board, tv.Posts[i].Com) {
			if q.Board != v.Board || q.Thread != v.No {
				continue // dead, or a post of another thread
			}
			j, ok := at[q.No]
			if !ok || j == i {
				continue
			}
			bl := tv.Posts[j].Backlinks
			if n := len(bl); n > 0 && bl[n-1] == from {
				continue // quoted twice in one post
			}
			tv.Posts[j].Backlinks = append(bl, from)
		}
	}
	return tv
}

// Thumbnails are at most this size (the contract's Media); a spoiler or a
// missing size is shown as a square of spoilerSize.
const (
	thumbMax    = 250
	spoilerSize = 100
)

func (s *Service) newFileView(board string, f *maniwani.File) *fileView {
	base := "/media/" + board + "/" + strconv.FormatInt(f.Tim, 10)
	fv := &fileView{File: f, URL: base + f.Ext, Size: humanSize(f.Size)}
	thumb := base + "s.jpg"
	fv.TW, fv.TH = f.ThumbW, f.ThumbH
	if fv.TW <= 0 || fv.TH <= 0 || fv.TW > thumbMax || fv.TH > thumbMax {
		fv.TW, fv.TH = fit(f.Width, f.Height, thumbMax)
	}
	switch {
	case f.Spoiler:
		fv.Thumb, fv.TW, fv.TH = s.assets.byName["spoiler.svg"].url, spoilerSize, spoilerSize
	case !f.Thumbnail:
		fv.Thumb, fv.Wait = s.assets.byName["thumb.svg"].url, thumb
	default:
		fv.Thumb = thumb
	}
	return fv
}

// fit scales w x h to fit a square of side, keeping its shape.
func fit(w, h, side int) (int, int) {
	if w <= 0 || h <= 0 {
		return spoilerSize, spoilerSize
	}
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, (h*side + w/2) / w
	}
	return (w*side + h/2) / h, side
}

// humanSize is a file size as people read it: 512 B, 34 KB, 1.2 MB.
func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1024*1024:
		return strconv.FormatInt((n+512)/1024, 10) + " KB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MB"
}

// excerpt is the start of a post's text for a card: its lines joined,
// cut at a word near limit runes.
func excerpt(body string, limit int) string {
	body = strings.Join(strings.Fields(body), " ")
	n := 0
	for i := range body {
		if n == limit {
			body = body[:i]
			if j := strings.LastIndexByte(body, ' '); j > len(body)*2/3 {
				body = body[:j]
			}
			return body + "…"
		}
		n++
	}
	return body
}
