package api

import (
	"bufio"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/api/tripcode"
	"github.com/maniwani/maniwani/api/upload"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// Limits on what a poster sends, in characters.
const (
	MaxComment  = 2000
	MaxSubject  = 100
	MaxName     = 100
	MaxEmail    = 100
	MaxPassword = 100
	// maxTextBody bounds a post's fields besides its file, as sent: the
	// text fields at their longest, four bytes a character, with room for
	// what cleaning takes out of them.
	maxTextBody = 64 << 10
)

// postForm is a post's fields as sent.
type postForm struct {
	resto                     int64
	name, email, sub, com, pw string
	challenge, response       string // the captcha's t-challenge and t-response
	// poster is the key of an onion poster who came without a token and
	// solved the captcha with this post: its new bypass's (posterKey).
	poster  string
	spoiler bool
	// files are checked but for their costly step, in temporary files, in
	// the order sent: at most the board's max_files.
	files []*upload.Checked
	// maxFiles is the board's max_files and captcha whether it may ask
	// for one, for the refusal page's form.
	maxFiles int
	captcha  bool
}

// removeFiles removes the form's temporary files.
func (f *postForm) removeFiles() {
	for _, c := range f.files {
		c.Remove()
	}
}

// admit reads a poster's request's board and poster key (posterKey: the
// address, or an onion poster's key) and refuses a banned one, before any
// other check; it answers the refusal itself.
//
// A new onion poster (newOnionPoster) is admitted to post with an empty key
// when newOnion is set: the post then must solve the captcha, which names
// it (postForm.poster).
func (s *Service) admit(w http.ResponseWriter, r *http.Request, newOnion bool) (board, ip string, ok bool) {
	board = r.PathValue("board")
	if !maniwani.ValidBoardName(board) {
		s.fail(w, r, maniwani.Errorf(maniwani.KindNotFound, "Board /%s/ does not exist.", board), nil)
		return "", "", false
	}
	if newOnion && s.newOnionPoster(r) {
		return board, "", true // a new key: no ban names it yet
	}
	ip, err := s.posterKey(r)
	if err != nil {
		s.fail(w, r, err, nil)
		return "", "", false
	}
	ban, err := s.store.BanFor(r.Context(), ip, board, s.now())
	if err != nil {
		s.fail(w, r, err, nil)
		return "", "", false
	}
	if ban != nil {
		s.fail(w, r, banError(ban), banFields(ban))
		return "", "", false
	}
	return board, ip, true
}

func (s *Service) handlePost(w http.ResponseWriter, r *http.Request) {
	board, ip, ok := s.admit(w, r, true)
	if !ok {
		return
	}
	if err := s.checkBlocklist(r.Context(), ip); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	b, err := s.store.Board(r.Context(), board)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	f, err := s.readPostForm(w, r, b, ip)
	if f != nil {
		defer f.removeFiles()
	}
	if err == nil && ip == "" && s.newOnionPoster(r) { // its captcha named it
		if ip = f.poster; ip == "" {
			err = errOnionNeedsCaptcha()
		}
	}
	if err != nil {
		s.failForm(w, r, err, nil, f)
		return
	}
	var us []*upload.File
	defer func() {
		for _, u := range us {
			u.Remove()
		}
	}()
	for _, c := range f.files {
		u, err := s.finishFile(r.Context(), ip, c)
		if err != nil {
			s.failForm(w, r, aboutField("upfile", err), nil, f)
			return
		}
		us = append(us, u)
		if slices.ContainsFunc(us[:len(us)-1], func(o *upload.File) bool { return o.SHA256 == u.SHA256 }) {
			s.failForm(w, r, aboutField("upfile", invalid("The same file is attached twice.")), nil, f)
			return
		}
	}
	in, quoted, err := s.newPost(r, board, ip, f)
	if err != nil {
		s.failForm(w, r, err, nil, f)
		return
	}
	var saved []maniwani.File
	dropSaved := func() {
		for _, sf := range saved {
			s.dropUnused(r.Context(), maniwani.FileRef{Board: board, SHA256: sf.SHA256, Ext: sf.Ext})
		}
	}
	for _, u := range us {
		sf, err := s.saveFile(r.Context(), board, u, f.spoiler)
		if err != nil {
			dropSaved()
			s.failForm(w, r, err, nil, f)
			return
		}
		saved = append(saved, *sf)
	}
	if len(saved) > 0 {
		in.File, in.Extra = &saved[0], saved[1:]
	}
	cctx, span := tracing.Start(r.Context(), "api.CreatePost", trace.WithAttributes(tracing.Board.String(board)))
	p, err := s.store.CreatePost(cctx, *in)
	if err == nil {
		span.SetAttributes(tracing.PostNo.Int64(p.No), tracing.Thread.Int64(cmp.Or(p.Resto, p.No)))
		// The request's own span says which post it made too.
		trace.SpanFromContext(r.Context()).SetAttributes(tracing.Board.String(board), tracing.PostNo.Int64(p.No))
	} else {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	if err != nil {
		dropSaved()
		s.failForm(w, r, err, nil, f)
		return
	}
	for i, pf := range p.Files() {
		s.afterFile(r.Context(), &p.Post, &pf, us[i])
	}
	if p.Held { // nobody is told until a moderator approves it (held.go)
		s.log.Debug("post held for review", "board", board, "no", p.No)
		s.answerHeld(w, r, board, p.No)
		return
	}
	thread := p.Resto
	if thread == 0 {
		thread = p.No
	}
	// Threads pushed into the archive changed too; their viewers learn it
	// from the board's events.
	events := []*pb.Event{postCreated(&p.Post)}
	for _, no := range p.Archived {
		events = append(events, threadArchived(board, no))
	}
	s.afterCommit(r.Context(), maniwani.Invalidation{Board: board,
		Threads: append(append([]int64{thread}, p.Archived...), quoted[board]...)}, events...)
	for other, threads := range quoted { // backlinks on other boards' pages
		if other != board {
			s.afterCommit(r.Context(), maniwani.Invalidation{Board: other, Threads: threads})
		}
	}
	s.log.Debug("post created", "board", board, "no", p.No, "thread", thread)
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]any{"board": board, "thread": thread, "no": p.No})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/%s/thread/%d#p%d", board, thread, p.No), http.StatusSeeOther)
}

func banError(b *maniwani.Ban) error {
	until := "It does not end."
	if !b.Expires.IsZero() {
		until = "It ends " + b.Expires.UTC().Format("Mon, 2 Jan 2006 15:04 MST") + "."
	}
	where := "on every board"
	if b.Board != "" {
		where = "on /" + b.Board + "/"
	}
	return maniwani.Errorf(maniwani.KindForbidden,
		"You are banned from posting %s. Reason: %s. %s This is ban No.%d: to appeal, write to the site's staff and give its number.",
		where, b.Reason, until, b.ID)
}

func banFields(b *maniwani.Ban) map[string]any {
	m := map[string]any{"reason": b.Reason, "expires": nil, "ban": b.ID, "board": b.Board}
	if !b.Expires.IsZero() {
		m["expires"] = b.Expires.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	return m
}

func invalid(format string, args ...any) error {
	return maniwani.Errorf(maniwani.KindInvalid, format, args...)
}

// readPostForm reads the post's fields from a multipart (or urlencoded) body,
// cleaning each as it arrives and refusing it once it passes its limit, and
// never more than maxTextBody bytes of fields in all; a file goes to a
// temporary file as it arrives and is checked against the board's limits,
// but for its costly step (finishFile). Before the file is read, or once the
// form is, whichever comes first, the filters run on the fields read (and
// the file's name), and then on those that came after the file; and the
// store is asked whether it would take the post (precheck). The form is returned
// with its file, for the caller to remove, even with an error.
func (s *Service) readPostForm(w http.ResponseWriter, r *http.Request, b *maniwani.Board, ip string) (*postForm, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	limit := maxTextBody + int64(b.Files())*b.MaxFileSize
	if mt == "application/x-www-form-urlencoded" { // no file
		limit = maxTextBody
	}
	if r.ContentLength > limit {
		// Said before it is sent: refused before any of it is read.
		if limit == maxTextBody {
			return nil, maniwani.Errorf(maniwani.KindTooLarge, "The post's fields are larger than %d KB.", maxTextBody>>10)
		}
		return nil, maniwani.Errorf(maniwani.KindTooLarge, "The post is larger than this board's limit of %s for a file.", upload.SizeText(b.MaxFileSize))
	}
	limitBody(w, r, limit, "The post is too large.")
	f := &postForm{maxFiles: b.Files(), captcha: b.CaptchaAt(s.now()) != maniwani.CaptchaOff}
	var resto, spoiler string
	fields := map[string]*string{"name": &f.name, "email": &f.email, "sub": &f.sub,
		"com": &f.com, "pwd": &f.pw, "resto": &resto, "spoiler": &spoiler,
		"t-challenge": &f.challenge, "t-response": &f.response}
	restoSeen, captchaSeen := false, 0
	seen := map[string]bool{} // the fields read so far
	filtered := map[maniwani.FilterField]bool{}
	// filter runs the filters over the fields read and not yet filtered,
	// and the file's name when one is given, before any work on the file.
	filter := func(filename *string) error {
		var in []filterText
		var display, trip string
		hasTrip := false
		for _, x := range []struct {
			name  string
			field maniwani.FilterField
			text  *string
			max   int
		}{{"com", maniwani.FieldCom, &f.com, MaxComment}, {"name", maniwani.FieldName, &display, MaxName},
			{"sub", maniwani.FieldSubject, &f.sub, MaxSubject}} {
			if !seen[x.name] || filtered[x.field] {
				continue
			}
			if x.field == maniwani.FieldName {
				// The display name only: what follows a # makes the
				// tripcode, and is nobody's to read.
				display, trip, hasTrip = strings.Cut(f.name, "#")
			}
			filtered[x.field] = true
			in = append(in, filterText{field: x.field, text: x.text, max: x.max})
		}
		if filename != nil {
			in = append(in, filterText{field: maniwani.FieldFilename, text: filename, max: 1024})
		}
		if err := s.applyFilters(r.Context(), b.Name, ip, in); err != nil {
			return err
		}
		if slices.ContainsFunc(in, func(x filterText) bool { return x.field == maniwani.FieldName }) {
			f.name = display
			if hasTrip { // a # the replacement brought would start a tripcode
				f.name = strings.ReplaceAll(display, "#", "") + "#" + trip
			}
		}
		return nil
	}
	checkedFor := int64(-1) // the thread the store was asked about; -1: not yet
	comChecked := false     // the store was asked with the comment as it will be stored
	precheck := func(file bool) error {
		n, err := parseResto(resto)
		if err != nil {
			return err
		}
		checkedFor = n
		in := store.NewPost{Board: b.Name, Resto: n, IP: ip, Time: s.now(), MaxHeld: s.cfg.MaxHeld}
		if filtered[maniwani.FieldCom] { // the comment's filters have run
			in.Body, comChecked = f.com, true
		}
		return s.store.CheckPost(r.Context(), in, file)
	}
	// The captcha is checked after the store's cheap refusals (a poster
	// waiting out a cooldown keeps their challenge) and before any work
	// on the file: before its bytes when its fields come first.
	captchaFor := int64(-1)
	passCaptcha := func() error {
		n, err := parseResto(resto)
		if err != nil {
			return err
		}
		captchaFor = n
		token, err := s.passCaptcha(w, r, b, n, f.challenge, f.response)
		if err == nil && token != "" && s.overOnion(r) {
			f.poster = s.onionKey(token)
		}
		return err
	}
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, invalid("The post is not well-formed multipart/form-data: %v.", err)
		}
		left := int64(maxTextBody) // what the parts but the file may still hold
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return f, malformed(err)
			}
			name := part.FormName()
			if name == "upfile" {
				// Browsers send an empty upfile when no file was chosen.
				br := bufio.NewReader(part)
				if n, err := br.Peek(1); len(n) == 0 {
					if err != nil && err != io.EOF {
						return f, malformed(err)
					}
					continue
				}
				// One file more than the board takes is refused before any
				// of it is read.
				if len(f.files) >= b.Files() {
					if b.Files() == 1 {
						return f, aboutField("upfile", invalid("Attach one file to a post on /%s/.", b.Name))
					}
					return f, aboutField("upfile", invalid("Attach at most %d files to a post on /%s/.", b.Files(), b.Name))
				}
				if s.deps.Media == nil {
					return f, invalid("This server does not take files.")
				}
				// Browsers send the text fields and resto before the file:
				// the filters run on what came, and the post's thread is
				// known, so the post is refused before any work on its file.
				filename := part.FileName()
				if err := filter(&filename); err != nil {
					return f, err
				}
				if restoSeen && len(f.files) == 0 {
					if err := precheck(true); err != nil {
						return f, err
					}
				}
				if captchaSeen == 2 && captchaFor < 0 { // resto 0 if not seen: a new thread needs the most
					if err := passCaptcha(); err != nil {
						return f, aboutField("t-response", err)
					}
				}
				c, err := upload.Check(br, filename, s.cfg.TempDir, upload.Limits{
					MaxSize: b.MaxFileSize, MaxPixels: s.cfg.MaxPixels, Types: b.Types()})
				if err != nil {
					return f, aboutField("upfile", malformed(err))
				}
				f.files = append(f.files, c)
				continue
			}
			lr := &io.LimitedReader{R: part, N: left + 1}
			if spec, ok := postField(name); ok {
				*fields[name], err = readText(lr, spec)
			} else {
				_, err = io.Copy(io.Discard, lr)
			}
			if err != nil {
				return f, aboutField(name, malformed(err))
			}
			if left = lr.N - 1; left < 0 {
				return f, errTooMuchText()
			}
			if name == "resto" {
				restoSeen = true
				f.resto, _ = parseResto(resto) // for a refusal's form; checked below
			}
			seen[name] = true
			// A field sent again is filtered (and checked) again.
			switch name {
			case "com":
				filtered[maniwani.FieldCom], comChecked = false, false
			case "name":
				filtered[maniwani.FieldName] = false
			case "sub":
				filtered[maniwani.FieldSubject] = false
			}
			if name == "t-challenge" || name == "t-response" {
				captchaSeen++
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			if maniwani.ErrorKind(err) == maniwani.KindTooLarge { // limitBody's
				return nil, errTooMuchText()
			}
			return nil, malformed(err)
		}
		for name, dst := range fields {
			spec, _ := postField(name)
			if *dst, err = cleanText(r.PostForm.Get(name), spec); err != nil {
				return f, aboutField(name, err)
			}
			seen[name] = true
		}
	default:
		return nil, invalid("Send the post as multipart/form-data.")
	}
	if f.resto, err = parseResto(resto); err != nil {
		return f, err
	}
	// The fields that came after the file, or all of them without one.
	if err := filter(nil); err != nil {
		return f, err
	}
	// Asked already, unless resto came after the file (or changed after
	// it), or the comment did.
	if checkedFor != f.resto || (f.com != "" && !comChecked) {
		if err := precheck(len(f.files) > 0); err != nil {
			return f, err
		}
	}
	// Passed for a new thread, a post passes in any thread.
	if captchaFor != 0 && captchaFor != f.resto {
		if err := passCaptcha(); err != nil {
			return f, aboutField("t-response", err)
		}
	}
	f.spoiler = spoiler == "on"
	return f, nil
}

func parseResto(v string) (int64, error) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("resto must be a thread number, not %q.", clip(v, 20))
	}
	return n, nil
}

func malformed(err error) error {
	if maniwani.ErrorKind(err) != maniwani.KindInternal {
		return err // already says what is wrong
	}
	return invalid("The post is not well-formed multipart/form-data: %v.", err)
}

// newPost checks the fields and turns them into a post ready to store.
// Besides the post it returns, by board, the threads of the posts it quotes.
func (s *Service) newPost(r *http.Request, board, ip string, f *postForm) (*store.NewPost, map[string][]int64, error) {
	com := f.com // the fields were cleaned, and held to their limits, as they were read
	if strings.TrimSpace(com) == "" {
		com = ""
	}
	if com == "" && len(f.files) == 0 {
		return nil, nil, aboutField("com", invalid("Your post is empty: write a comment or attach a file."))
	}
	display, trip := tripcode.Split(s.secret, f.name)
	display = strings.TrimSpace(display)
	if display == "" {
		display = "Anonymous"
	}
	rin, quotes, err := s.renderInput(r.Context(), board, f.resto, com)
	if err != nil {
		return nil, nil, err
	}
	html, err := s.deps.Renderer.Render(r.Context(), rin)
	if err != nil {
		return nil, nil, err
	}
	in := &store.NewPost{
		Board: board, Resto: f.resto, Name: display, Trip: trip, Subject: strings.TrimSpace(f.sub),
		Body: com, Com: html, Sage: strings.EqualFold(strings.TrimSpace(f.email), "sage"),
		IP: ip, Time: s.now(), Quotes: quotes, MaxHeld: s.cfg.MaxHeld,
		PosterID: func(thread int64) string { return s.posterID(board, thread, ip) },
	}
	if f.pw != "" {
		in.PasswordHash = s.keyed("pwd", f.pw, "hex")
	}
	return in, quotedThreads(rin, quotes), nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// posterID is the poster's ID in a thread: a keyed hash of the address and
// the thread, the same for every post of one address in one thread and
// unlinkable across threads.
func (s *Service) posterID(board string, thread int64, ip string) string {
	return s.keyed("id", fmt.Sprintf("%s/%d/%s", board, thread, ip), "id")
}

// keyed is an HMAC of the site secret over a purpose and a value.
func (s *Service) keyed(purpose, v, enc string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose + "\x00" + v))
	sum := m.Sum(nil)
	if enc == "hex" {
		return hex.EncodeToString(sum)
	}
	return base64.RawURLEncoding.EncodeToString(sum)[:8]
}
