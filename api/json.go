package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/maniwani/maniwani"
)

// The 4chan API's shapes (github.com/4chan/4chan-API); a post is
// maniwani.NewPostJSON, shared with live. Flags are the integer 1 and left
// out when false.

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// opOut is an opening post with what the thread adds to it.
func opOut(b *maniwani.Board, v *maniwani.ThreadView) *maniwani.PostJSON {
	j := maniwani.NewPostJSON(&v.Posts[0])
	replies, images := v.Replies, v.Images
	j.Sticky, j.Closed = flag(v.Sticky), flag(v.Closed)
	j.Replies, j.Images = &replies, &images
	j.BumpLimit, j.ImageLimit = flag(v.Replies >= b.BumpLimit), flag(v.Images >= b.ImageLimit)
	j.LastModified = v.Modified.Unix()
	j.UniqueIPs = v.Posters // 4chan's unique_ips
	j.SemanticURL = semanticURL(&v.Posts[0])
	if v.Archived {
		j.Archived, j.ArchivedOn = 1, v.Archive.Unix()
	}
	return j
}

// semanticURL is the slug 4chan puts after a thread's number: the subject,
// or else the start of the comment, in lowercase words joined by dashes.
func semanticURL(p *maniwani.Post) string {
	src := p.Subject
	if src == "" {
		src = p.Body
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(src) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= 60 {
				break
			}
			continue
		}
		dash = true
	}
	return b.String()
}

// serveJSON answers with v as JSON and the validators that let clients and
// the router revalidate: an ETag of the bytes and the data's Last-Modified.
func serveJSON(w http.ResponseWriter, r *http.Request, modified time.Time, v any) {
	// com is HTML: written as it is, not as \u003c escapes that would make
	// every page a third heavier.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	serveBody(w, r, modified, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// serveBody answers with JSON body and its validators, as serveJSON.
func serveBody(w http.ResponseWriter, r *http.Request, modified time.Time, body []byte) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Cache-Control", "no-cache") // revalidate: the data changes with every post
	// ServeContent answers If-None-Match and If-Modified-Since with 304.
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}

type boardJSON struct {
	Board           string         `json:"board"`
	Title           string         `json:"title"`
	WSBoard         int            `json:"ws_board"`
	PerPage         int            `json:"per_page"`
	Pages           int            `json:"pages"`
	MaxFilesize     int64          `json:"max_filesize"`
	MaxWebmFilesize int64          `json:"max_webm_filesize"`
	MaxCommentChars int            `json:"max_comment_chars"`
	BumpLimit       int            `json:"bump_limit"`
	ImageLimit      int            `json:"image_limit"`
	Cooldowns       map[string]int `json:"cooldowns"`
	MetaDescription string         `json:"meta_description"`
	IsArchived      int            `json:"is_archived"`
	UserIDs         int            `json:"user_ids,omitempty"`
	// Captcha is the mode in force now, which a flood may have raised:
	// the answer is dropped from the cache each time it moves.
	Captcha maniwani.CaptchaMode `json:"captcha"`
}

func (s *Service) handleBoards(w http.ResponseWriter, r *http.Request) {
	bs, err := s.store.Boards(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	out := struct {
		Boards []boardJSON `json:"boards"`
	}{Boards: make([]boardJSON, 0, len(bs))}
	var modified time.Time
	now := s.now()
	for i := range bs {
		b := &bs[i]
		out.Boards = append(out.Boards, boardJSON{
			Board: b.Name, Title: b.Title, WSBoard: 1, PerPage: maniwani.ThreadsPerPage, Pages: b.Pages(),
			MaxFilesize: b.MaxFileSize, MaxWebmFilesize: b.MaxFileSize, MaxCommentChars: MaxComment,
			BumpLimit: b.BumpLimit, ImageLimit: b.ImageLimit,
			Cooldowns:       map[string]int{"threads": b.CooldownThread, "replies": b.CooldownReply, "images": b.CooldownReply},
			MetaDescription: b.Description, IsArchived: 1, UserIDs: flag(b.PosterIDs), Captcha: b.CaptchaAt(now),
		})
		modified = later(modified, b.Modified)
	}
	serveJSON(w, r, modified, out)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// handleBoardFile serves /{board}/catalog.json, threads.json, archive.json
// and {page}.json.
func (s *Service) handleBoardFile(w http.ResponseWriter, r *http.Request) {
	name, file := r.PathValue("board"), r.PathValue("file")
	if !maniwani.ValidBoardName(name) {
		http.NotFound(w, r)
		return
	}
	b, err := s.store.Board(r.Context(), name)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	switch file {
	case "catalog.json":
		s.serveCatalog(w, r, b, true)
	case "threads.json":
		s.serveCatalog(w, r, b, false)
	case "archive.json":
		nos, err := s.store.Archived(r.Context(), b.Name)
		if err != nil {
			s.fail(w, r, err, nil)
			return
		}
		serveJSON(w, r, b.Modified, nos)
	default:
		page, err := strconv.Atoi(strings.TrimSuffix(file, ".json"))
		if !strings.HasSuffix(file, ".json") || err != nil || page < 1 || page > b.Pages() {
			s.fail(w, r, maniwani.Errorf(maniwani.KindNotFound, "/%s/%s does not exist.", b.Name, file), nil)
			return
		}
		s.servePage(w, r, b, page)
	}
}

const lastReplies = 5 // replies shown under each thread on index pages and in the catalog

func (s *Service) servePage(w http.ResponseWriter, r *http.Request, b *maniwani.Board, page int) {
	vs, err := s.store.Threads(r.Context(), b.Name, (page-1)*maniwani.ThreadsPerPage, maniwani.ThreadsPerPage, lastReplies)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	type threadJSON struct {
		Posts []*maniwani.PostJSON `json:"posts"`
	}
	out := struct {
		Threads []threadJSON `json:"threads"`
	}{Threads: make([]threadJSON, 0, len(vs))}
	for i := range vs {
		v := &vs[i]
		op := opOut(b, v)
		op.OmittedPosts, op.OmittedImages = &v.OmittedPosts, &v.OmittedImages
		posts := []*maniwani.PostJSON{op}
		for j := range v.Posts[1:] {
			posts = append(posts, maniwani.NewPostJSON(&v.Posts[j+1]))
		}
		out.Threads = append(out.Threads, threadJSON{Posts: posts})
	}
	serveJSON(w, r, b.Modified, out)
}

// serveCatalog serves catalog.json (full opening posts with their last
// replies) or, with full false, threads.json (number, time, replies).
func (s *Service) serveCatalog(w http.ResponseWriter, r *http.Request, b *maniwani.Board, full bool) {
	last := 0
	if full {
		last = lastReplies
	}
	vs, err := s.store.Threads(r.Context(), b.Name, 0, b.MaxThreads, last)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	type pageJSON struct {
		Page    int   `json:"page"`
		Threads []any `json:"threads"`
	}
	type threadSummary struct {
		No           int64 `json:"no"`
		LastModified int64 `json:"last_modified"`
		Replies      int   `json:"replies"`
	}
	pages := []pageJSON{}
	for i := range vs {
		if i%maniwani.ThreadsPerPage == 0 {
			pages = append(pages, pageJSON{Page: len(pages) + 1, Threads: []any{}})
		}
		v := &vs[i]
		pg := &pages[len(pages)-1]
		if !full {
			pg.Threads = append(pg.Threads, threadSummary{No: v.No, LastModified: v.Modified.Unix(), Replies: v.Replies})
			continue
		}
		op := opOut(b, v)
		op.OmittedPosts, op.OmittedImages = &v.OmittedPosts, &v.OmittedImages
		for j := range v.Posts[1:] {
			op.LastReplies = append(op.LastReplies, maniwani.NewPostJSON(&v.Posts[j+1]))
		}
		pg.Threads = append(pg.Threads, op)
	}
	if len(pages) == 0 {
		pages = append(pages, pageJSON{Page: 1, Threads: []any{}})
	}
	serveJSON(w, r, b.Modified, pages)
}

func (s *Service) handleThread(w http.ResponseWriter, r *http.Request) {
	name, file := r.PathValue("board"), r.PathValue("file")
	no, err := strconv.ParseInt(strings.TrimSuffix(file, ".json"), 10, 64)
	if !maniwani.ValidBoardName(name) || !strings.HasSuffix(file, ".json") || err != nil || no < 1 {
		s.fail(w, r, maniwani.Errorf(maniwani.KindNotFound, "/%s/thread/%s does not exist.", name, file), nil)
		return
	}
	b, err := s.store.Board(r.Context(), name)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	v, err := s.store.Thread(r.Context(), name, no)
	if err != nil {
		if s.redirectMoved(w, r, err, name, no, ".json") {
			return
		}
		s.fail(w, r, err, nil)
		return
	}
	body, err := s.threadJSON(b, v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	serveBody(w, r, v.Modified, body)
}

// redirectMoved answers a thread that is not found where asked because
// staff moved it with a permanent redirect to where it is now (suffix
// ".json" for the JSON), and tells whether it did.
func (s *Service) redirectMoved(w http.ResponseWriter, r *http.Request, err error, board string, no int64, suffix string) bool {
	if maniwani.ErrorKind(err) != maniwani.KindNotFound {
		return false
	}
	m, merr := s.store.MovedTo(r.Context(), board, no)
	if merr != nil || m.Thread != m.No {
		return false // a reply's number names no thread file
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.Redirect(w, r, fmt.Sprintf("/%s/thread/%d%s", m.Board, m.Thread, suffix), http.StatusMovedPermanently)
	return true
}
