package ui

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// Home lists this many of the newest threads.
const latestThreads = 12

func (s *Service) handleHome(w http.ResponseWriter, r *http.Request) {
	boards, err := s.read.Boards(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	latest, err := s.read.Latest(r.Context(), latestThreads)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	p := &page{Title: "Maniwani", Kind: "home", Boards: boards, Threads: s.cards(latest)}
	for i := range p.Threads {
		p.Threads[i].ShowBoard = true
	}
	s.render(w, r, "home", p)
}

// board reads the boards (for the top bar) and the one the request names.
func (s *Service) board(r *http.Request) ([]maniwani.Board, *maniwani.Board, error) {
	boards, err := s.read.Boards(r.Context())
	if err != nil {
		return nil, nil, err
	}
	name := r.PathValue("board")
	if !maniwani.ValidBoardName(name) {
		// A word of the routes' own, such as admin: not a board at all.
		return boards, nil, maniwani.Errorf(maniwani.KindNotFound, "There is no page at %s.", r.URL.Path)
	}
	for i := range boards {
		if boards[i].Name == name {
			return boards, &boards[i], nil
		}
	}
	return boards, nil, maniwani.Errorf(maniwani.KindNotFound, "There is no board /%s/.", name)
}

func (s *Service) handleBoardRedirect(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	http.Redirect(w, r, "/"+b.Name+"/", http.StatusMovedPermanently)
}

func (s *Service) handleIndex(w http.ResponseWriter, r *http.Request) {
	// Routed here: a pattern of their own would clash with /static/{file}.
	switch r.PathValue("page") {
	case "catalog":
		s.handleCatalog(w, r)
		return
	case "archive":
		s.handleArchive(w, r)
		return
	case "index.rss":
		s.handleFeed(w, r)
		return
	}
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	n := 1
	if arg := r.PathValue("page"); arg != "" {
		n, err = strconv.Atoi(arg)
		if err != nil || n < 1 || n > b.Pages() || arg != strconv.Itoa(n) {
			s.fail(w, r, boards, maniwani.Errorf(maniwani.KindNotFound,
				"/%s/ has no page %q: its pages are 1 to %d.", b.Name, arg, b.Pages()))
			return
		}
		if n == 1 {
			http.Redirect(w, r, "/"+b.Name+"/", http.StatusMovedPermanently)
			return
		}
	}
	per := maniwani.ThreadsPerPage
	views, err := s.read.Threads(r.Context(), b.Name, (n-1)*per, per, 5)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	if len(views) == 0 && n > 1 {
		s.fail(w, r, boards, maniwani.Errorf(maniwani.KindNotFound, "/%s/ has no threads on page %d.", b.Name, n))
		return
	}
	// The pager lists the pages that have threads. The Reader counts
	// nothing, so a full page reads the opening posts after it; the page
	// is cached, so that is once per change of the board.
	last := n
	if len(views) == per && n < b.Pages() {
		rest, err := s.read.Threads(r.Context(), b.Name, n*per, (b.Pages()-n)*per, 0)
		if err != nil {
			s.fail(w, r, boards, err)
			return
		}
		last += (len(rest) + per - 1) / per
	}
	p := &page{Title: "/" + b.Name + "/ - " + b.Title, Kind: "index", Boards: boards, Board: b}
	p.Threads = make([]threadView, len(views))
	for i := range views {
		p.Threads[i] = s.newThreadView(&views[i])
		if len(p.Threads[i].Posts) > 0 {
			p.Threads[i].Posts[0].Reply = p.Threads[i].Path
		}
	}
	pagePath := func(i int) string {
		if i == 1 {
			return "/" + b.Name + "/"
		}
		return "/" + b.Name + "/" + strconv.Itoa(i)
	}
	for i := 1; i <= last; i++ {
		p.Pager = append(p.Pager, pageLink{N: i, Path: pagePath(i), Current: i == n})
	}
	if n > 1 {
		p.Prev = pagePath(n - 1)
		p.Title += " - Page " + strconv.Itoa(n)
	}
	if last > n {
		p.Next = pagePath(n + 1)
	}
	s.render(w, r, "index", p)
}

// handleCatalog is the catalog in bump order (/{board}/catalog), by last
// reply, creation or replies (/catalog/last, /new, /replies), or the
// threads whose subject or text hold a term (/catalog/search/{q}). Each
// is a path of its own, so each is cached as the board's pages are.
func (s *Service) handleCatalog(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	sort, q := r.PathValue("sort"), r.PathValue("q")
	switch {
	case q != "":
		sort = "search"
		if q != searchTerm(q) { // one page a term, however it was typed
			http.Redirect(w, r, searchPath(b.Name, q), http.StatusMovedPermanently)
			return
		}
	case sort == "", sort == "last", sort == "new", sort == "replies":
	default:
		s.fail(w, r, boards, maniwani.Errorf(maniwani.KindNotFound, "The catalog has no order %q.", sort))
		return
	}
	last := 0
	if sort == "last" {
		last = 1 // the time of each thread's last reply
	}
	views, err := s.read.Threads(r.Context(), b.Name, 0, max(b.MaxThreads, maniwani.ThreadsPerPage), last)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	views = catalogOrder(views, sort, q)
	p := &page{Title: "/" + b.Name + "/ - " + b.Title + " - Catalog", Kind: "catalog", Boards: boards, Board: b,
		Threads: s.cards(views), Sort: sort, Query: q}
	if sort == "search" {
		p.Title += " - " + q
	}
	s.render(w, r, "catalog", p)
}

// catalogOrder sorts the threads (which come in bump order) as the
// catalog's order asks, or keeps those a search finds.
func catalogOrder(views []maniwani.ThreadView, sort, q string) []maniwani.ThreadView {
	lastTime := func(v *maniwani.ThreadView) time.Time { return v.Posts[len(v.Posts)-1].Time }
	switch sort {
	case "last":
		slices.SortStableFunc(views, func(a, b maniwani.ThreadView) int { return lastTime(&b).Compare(lastTime(&a)) })
	case "new":
		slices.SortStableFunc(views, func(a, b maniwani.ThreadView) int { return cmp.Compare(b.No, a.No) })
	case "replies":
		slices.SortStableFunc(views, func(a, b maniwani.ThreadView) int { return cmp.Compare(b.Replies, a.Replies) })
	case "search":
		views = slices.DeleteFunc(views, func(v maniwani.ThreadView) bool {
			op := &v.Posts[0]
			return !strings.Contains(strings.ToLower(op.Subject), q) && !strings.Contains(strings.ToLower(op.Body), q)
		})
	}
	return views
}

// maxSearch bounds a catalog search's term, in characters.
const maxSearch = 100

// searchTerm is a term as the catalog's search path keeps it: lowercase,
// its spaces one, no slashes, at most maxSearch characters.
func searchTerm(q string) string {
	q = strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(q, "/", " "))), " ")
	if n := 0; len(q) > maxSearch {
		for i := range q {
			if n == maxSearch {
				q = strings.TrimSpace(q[:i])
				break
			}
			n++
		}
	}
	return q
}

func searchPath(board, q string) string {
	q = searchTerm(q)
	if q == "" {
		return "/" + board + "/catalog"
	}
	return "/" + board + "/catalog/search/" + url.PathEscape(q)
}

// handleCatalogFind answers the search form (a GET with ?q=, which no
// cached page reads) with the search's own path.
func (s *Service) handleCatalogFind(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, searchPath(b.Name, r.URL.Query().Get("q")), http.StatusSeeOther)
}

// cards are threads as the catalog and home show them: the opening post,
// its thumbnail and the start of its text.
func (s *Service) cards(views []maniwani.ThreadView) []threadView {
	out := make([]threadView, 0, len(views))
	for i := range views {
		if len(views[i].Posts) == 0 {
			continue
		}
		tv := s.newThreadView(&views[i])
		tv.Excerpt = excerpt(views[i].Posts[0].Body, 160)
		out = append(out, tv)
	}
	return out
}

func (s *Service) handleThread(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	arg := r.PathValue("no")
	no, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || no <= 0 {
		s.fail(w, r, boards, maniwani.Errorf(maniwani.KindNotFound, "%q is not a thread number.", arg))
		return
	}
	v, err := s.read.Thread(r.Context(), b.Name, no)
	if err == nil && len(v.Posts) == 0 {
		err = maniwani.Errorf(maniwani.KindNotFound, "thread has no posts")
	}
	if err != nil {
		if maniwani.ErrorKind(err) == maniwani.KindNotFound {
			// A reply's number: its thread, at the reply.
			if t, terr := s.read.ThreadOf(r.Context(), b.Name, no); terr == nil && t != no {
				http.Redirect(w, r, fmt.Sprintf("/%s/thread/%d#p%d", b.Name, t, no), http.StatusFound)
				return
			}
			// A moved thread, or a post of one: where it is now.
			if m, merr := s.read.MovedTo(r.Context(), b.Name, no); merr == nil {
				to := fmt.Sprintf("/%s/thread/%d", m.Board, m.Thread)
				if m.No != m.Thread {
					to += fmt.Sprintf("#p%d", m.No)
				}
				http.Redirect(w, r, to, http.StatusMovedPermanently)
				return
			}
			err = maniwani.Errorf(maniwani.KindNotFound,
				"Thread No.%d is not on /%s/: it may have been deleted, or it never was.", no, b.Name)
		}
		s.fail(w, r, boards, err)
		return
	}
	s.render(w, r, "thread", s.threadPage(boards, b, v))
}

// threadPage is the page of a thread; the benchmark renders it directly.
// Its posts' markup is put together from what is kept of the thread
// (threadMarkup), not written anew.
func (s *Service) threadPage(boards []maniwani.Board, b *maniwani.Board, v *maniwani.ThreadView) *page {
	tv := threadView{ThreadView: v, Path: threadPath(v.Board, v.No), markup: s.threadMarkup(v)}
	title := v.Posts[0].Subject
	if title == "" {
		title = excerpt(v.Posts[0].Body, 50)
	}
	if title == "" {
		title = "No." + strconv.FormatInt(v.No, 10)
	}
	return &page{Title: "/" + b.Name + "/ - " + title, Kind: "thread", Boards: boards, Board: b, Thread: &tv}
}

// render answers with a page: an ETag of its bytes, revalidated each time
// (Cache-Control: no-cache), a 304 when the client's copy is current. No
// Last-Modified: a page shows more than one row's time (the other boards,
// thumbnails made later, the templates themselves), and only the hash of
// the bytes says truly whether it changed. The router keeps the bytes and
// gzips them; the ui never compresses pages.
func (s *Service) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	var buf bytes.Buffer
	var err error
	if name == "thread" {
		// The posts' markup is the bulk of the page: written once, here,
		// not copied into a string and through the template's printer.
		buf.Grow(len(p.Thread.markup) + 16<<10)
		if err = s.tpl.ExecuteTemplate(&buf, "thread-head", p); err == nil {
			buf.Write(p.Thread.markup)
			err = s.tpl.ExecuteTemplate(&buf, "thread-tail", p)
		}
	} else {
		err = s.tpl.ExecuteTemplate(&buf, name, p)
	}
	if err != nil {
		s.log.Error("ui: render", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.serveBytes(w, r, "text/html; charset=utf-8", buf.Bytes())
}

// serveBytes answers with a made page or feed as render does.
func (s *Service) serveBytes(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Cache-Control", "no-cache")
	// ServeContent answers If-None-Match with 304, and HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// fail answers with the error page at the status the error's kind has.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, boards []maniwani.Board, err error) {
	code := maniwani.HTTPStatus(err)
	ev := &errorView{Status: code, Message: maniwani.ErrorMessage(err), Links: [][2]string{{"/", "Home"}}}
	switch code {
	case http.StatusNotFound:
		ev.Heading = "Not found"
		// A missing thread or page of a board that exists: the ways back to it.
		for _, b := range boards {
			if b.Name == r.PathValue("board") {
				ev.Links = append([][2]string{{"/" + b.Name + "/", "Back to /" + b.Name + "/"},
					{"/" + b.Name + "/catalog", "The catalog of /" + b.Name + "/"}}, ev.Links...)
			}
		}
	case http.StatusServiceUnavailable:
		ev.Heading = "Unavailable"
		ev.Message += " Please try again in a moment."
	default:
		ev.Heading = http.StatusText(code)
		if code >= 500 {
			s.log.Error("ui: page failed", "path", r.URL.Path, "err", err)
			ev.Heading = "Something went wrong"
			ev.Message = "The page could not be made. Please try again in a moment."
		}
	}
	p := &page{Title: ev.Heading + " - Maniwani", Kind: "error", Boards: boards, Err: ev}
	var buf bytes.Buffer
	if err := s.tpl.ExecuteTemplate(&buf, "error", p); err != nil {
		s.log.Error("ui: render error page", "err", err)
		http.Error(w, ev.Message, code)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
