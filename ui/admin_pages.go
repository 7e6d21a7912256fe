package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// The admin pages and the actions of their forms; admin.go has the frame.

func (s *Service) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	p := &adminPage{Title: "Log in", Next: localAdminPath(r.URL.Query().Get("next"), "/admin/"),
		Done: r.URL.Query().Get("done")}
	s.adminRender(w, r, "a-login", http.StatusOK, p)
}

// handleLogin logs in through the staff API and hands its session cookie
// to the browser.
func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		// A form cut short is not sent on: the api would hash what is
		// left of it and count a failure against the address.
		p := &adminPage{Title: "Log in", Next: "/admin/", Err: "The form could not be read."}
		code := http.StatusBadRequest
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			p.Err, code = "The form is too large.", http.StatusRequestEntityTooLarge
		}
		s.adminRender(w, r, "a-login", code, p)
		return
	}
	p := &adminPage{Title: "Log in", Next: localAdminPath(r.PostForm.Get("next"), "/admin/")}
	in := maniwani.StaffLogin{Username: strings.TrimSpace(r.PostForm.Get("username")), Password: r.PostForm.Get("password")}
	_, cookies, err := s.staff.Login(r.Context(), readCall(r), in)
	switch kind := maniwani.ErrorKind(err); {
	case err == nil:
		// The session's cookie and the device's (which the api reads
		// from the browser's Cookie on its next login here).
		setCookies(w, cookies)
		s.seeOther(w, r, p.Next)
	case kind != maniwani.KindInternal: // the api's refusal, or its absence
		p.Err = maniwani.ErrorMessage(err)
		if kind == maniwani.KindUnauthorized && p.Err == http.StatusText(http.StatusUnauthorized)+"." {
			p.Err = "Wrong username or password."
		}
		if d := maniwani.RetryAfter(err); d > 0 { // a limit's 429, a busy 503
			w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
		}
		s.adminRender(w, r, "a-login", maniwani.HTTPStatus(err), p)
	default:
		s.adminError(w, r, nil, err)
	}
}

func setCookies(w http.ResponseWriter, cookies []*http.Cookie) {
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
}

func (s *Service) actLogout(w http.ResponseWriter, a *action) (string, error) {
	cookies, err := s.staff.Logout(a.ctx, a.call)
	if err != nil && maniwani.ErrorKind(err) != maniwani.KindUnauthorized {
		return "", err
	}
	setCookies(w, cookies)
	s.seeOther(w, a.r, "/admin/login?done="+url.QueryEscape("You are logged out."))
	return "", nil
}

func (s *Service) pageDashboard(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section, p.Counts = "Dashboard", "dash", &dashCounts{}
	ctx, call := r.Context(), readCall(r)
	for _, c := range []struct {
		perm  string
		count func() (int, error)
		n     *int
		has   *bool
	}{
		{"reports", func() (int, error) { v, err := s.staff.ListReports(ctx, call); return len(v), err },
			&p.Counts.Reports, &p.Counts.HasReports},
		{"ban", func() (int, error) { v, err := s.staff.ListBans(ctx, call); return len(v), err },
			&p.Counts.Bans, &p.Counts.HasBans},
		{"staff", func() (int, error) { v, err := s.staff.ListStaff(ctx, call); return len(v), err },
			&p.Counts.Staff, &p.Counts.HasStaff},
	} {
		if !p.Can(c.perm) {
			continue
		}
		n, err := c.count()
		if err != nil {
			return err
		}
		*c.n, *c.has = n, true
	}
	if p.Can("log") {
		log, err := s.staff.ReadLog(ctx, call, 10)
		if err != nil {
			return err
		}
		p.Log = logEntries(log)
	}
	p.Boards, _ = s.read.Boards(r.Context()) // only for the look-up form
	p.Counts.Boards, p.Counts.HasBoards = len(p.Boards), true
	s.adminRender(w, r, "a-dash", http.StatusOK, p)
	return nil
}

func (s *Service) pageReports(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section, p.Back = "Reports", "reports", "/admin/reports"
	reports, err := s.staff.ListReports(r.Context(), readCall(r))
	if err != nil {
		return err
	}
	// One card a post, however many reported it: its reports in order.
	at := map[maniwani.Ref]int{}
	for _, rep := range reports {
		ref := maniwani.Ref{Board: rep.Board, No: rep.No}
		if i, ok := at[ref]; ok {
			p.Reports[i].Others = append(p.Reports[i].Others, rep)
			continue
		}
		rv := reportView{StaffReport: rep}
		if rep.Post != nil {
			rv.Post = s.newStaffPostView(rep.Post)
		}
		at[ref] = len(p.Reports)
		p.Reports = append(p.Reports, rv)
	}
	s.adminRender(w, r, "a-reports", http.StatusOK, p)
	return nil
}

func (s *Service) actDismiss(w http.ResponseWriter, a *action) (string, error) {
	done, err := onID(a, "report", "Dismissed report #%d.", func(id int64) error { return s.staff.DismissReport(a.ctx, a.call, id) })
	if err != nil {
		return "", err
	}
	if n := s.resolveOthers(a); n > 0 {
		done = fmt.Sprintf("Dismissed %d reports of the post.", n+1)
	}
	return done, nil
}

// resolveOthers dismisses the other reports of the card the form came
// from (its "also" fields) and counts them; one already gone is fine.
func (s *Service) resolveOthers(a *action) int {
	n := 0
	for _, v := range a.r.PostForm["also"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		if err := s.staff.DismissReport(a.ctx, a.call, id); err != nil && maniwani.ErrorKind(err) != maniwani.KindNotFound {
			s.log.Warn("ui: report not dismissed", "report", id, "err", err)
			continue
		}
		n++
	}
	return n
}

// onID does an action on the {id} of a's path, a thing of the kind what
// ("report"), and says done with its number ("Dismissed report #%d.").
func onID(a *action, what, done string, do func(id int64) error) (string, error) {
	id, err := strconv.ParseInt(a.r.PathValue("id"), 10, 64)
	if err != nil {
		return "", invalid("No such " + what + ".")
	}
	if err := do(id); err != nil {
		return "", err
	}
	return fmt.Sprintf(done, id), nil
}

// postPath reads {board} and {no} and gives the post's path after /api/admin/posts/.
func postPath(r *http.Request) (board string, no int64, err error) {
	board = r.PathValue("board")
	if board == "" {
		board = r.FormValue("board")
	}
	arg := r.PathValue("no")
	if arg == "" {
		arg = r.FormValue("no")
	}
	arg = strings.TrimPrefix(strings.TrimSpace(arg), "No.")
	no, err = strconv.ParseInt(strings.TrimLeft(arg, ">"), 10, 64)
	if !maniwani.ValidBoardName(board) || err != nil || no <= 0 {
		return "", 0, notFound("There is no such post.")
	}
	return board, no, nil
}

// handlePostLookup answers the dashboard's look-up form.
func (s *Service) handlePostLookup(w http.ResponseWriter, r *http.Request) {
	board, no, err := postPath(r)
	if err != nil {
		s.seeOther(w, r, flash("/admin/", "err", "Give a board and a post number."))
		return
	}
	s.seeOther(w, r, fmt.Sprintf("/admin/posts/%s/%d", board, no))
}

// staffPost reads one post through the staff API.
func (s *Service) staffPost(r *http.Request, board string, no int64) (*maniwani.StaffPost, error) {
	return s.staff.ReadPost(r.Context(), readCall(r), board, no)
}

func (s *Service) pagePost(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	board, no, err := postPath(r)
	if err != nil {
		return err
	}
	post, err := s.staffPost(r, board, no)
	if err != nil {
		return err
	}
	p.Post = s.newStaffPostView(post)
	p.Title, p.Back = fmt.Sprintf("/%s/ No.%d", board, no), p.Post.Path
	if p.Post.IsOP {
		if v, err := s.read.Thread(r.Context(), board, no); err == nil {
			p.Thread = &v.Thread
		}
	}
	s.adminRender(w, r, "a-post", http.StatusOK, p)
	return nil
}

// actDeletePost deletes a post, its file only, or every post of its
// address in its thread or on its board; from a report, it dismisses the
// report too.
func (s *Service) actDeletePost(w http.ResponseWriter, a *action) (string, error) {
	board, no, err := postPath(a.r)
	if err != nil {
		return "", err
	}
	var in maniwani.PostDeletion
	mode := a.r.PostForm.Get("mode")
	switch mode {
	case "post":
	case "file":
		in.FileOnly = true
	case "ip-thread":
		in.ByIP = "thread"
	case "ip-board":
		in.ByIP = "board"
	default:
		return "", invalid("Choose what to delete.")
	}
	// An opening post takes its thread: the answer says so.
	wasOP := false
	if mode == "post" {
		if p, err := s.staffPost(a.r, board, no); err == nil {
			wasOP = p.Thread == 0 || p.Thread == p.No
		}
	}
	v, err := s.staff.DeletePost(a.ctx, a.call, board, no, in)
	if err != nil {
		return "", err
	}
	s.resolveReport(a)
	s.resolveOthers(a)
	if mode == "file" {
		return fmt.Sprintf("Deleted the file of /%s/ No.%d.", board, no), nil
	}
	if u, err := url.Parse(a.back); err == nil && u.Path == fmt.Sprintf("/admin/posts/%s/%d", board, no) {
		a.back = "/admin/" // the post's page is gone with it
	}
	if len(v.Deleted) == 0 {
		return "Deleted nothing: no post matched.", nil
	}
	if wasOP {
		return fmt.Sprintf("Deleted thread No.%d of /%s/ with its replies.", no, board), nil
	}
	nos := make([]string, len(v.Deleted))
	for i, n := range v.Deleted {
		nos[i] = "No." + strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("Deleted from /%s/: %s.", board, strings.Join(nos, ", ")), nil
}

// askDeletePost is the question before actDeletePost.
func (s *Service) askDeletePost(a *action) (string, error) {
	board, no, err := postPath(a.r)
	if err != nil {
		return "", err
	}
	p, err := s.staffPost(a.r, board, no)
	if err != nil {
		return "", err
	}
	isOP := p.Thread == 0 || p.Thread == p.No
	switch a.r.PostForm.Get("mode") {
	case "post":
		if isOP {
			return fmt.Sprintf("Delete thread No.%d of /%s/ with all its replies?", no, board), nil
		}
		return fmt.Sprintf("Delete post No.%d of /%s/?", no, board), nil
	case "file":
		return fmt.Sprintf("Delete the file of /%s/ No.%d, keeping the post?", board, no), nil
	case "ip-thread":
		return fmt.Sprintf("Delete every post of %s in the thread of /%s/ No.%d?", p.IP, board, no), nil
	case "ip-board":
		return fmt.Sprintf("Delete every post of %s on /%s/?", p.IP, board), nil
	}
	return "", invalid("Choose what to delete.")
}

// resolveReport dismisses the report the form came from, if any: once its
// post is dealt with, it is done. One already gone is fine.
func (s *Service) resolveReport(a *action) {
	id, err := strconv.ParseInt(a.r.PostForm.Get("report"), 10, 64)
	if err != nil || id <= 0 {
		return
	}
	if err := s.staff.DismissReport(a.ctx, a.call, id); err != nil {
		if maniwani.ErrorKind(err) != maniwani.KindNotFound {
			s.log.Warn("ui: report not dismissed", "report", id, "err", err)
		}
	}
}

func (s *Service) actThreadFlags(w http.ResponseWriter, a *action) (string, error) {
	board, no, err := postPath(a.r)
	if err != nil {
		return "", err
	}
	var in maniwani.ThreadPatch
	var done string
	switch a.r.PostForm.Get("set") {
	case "sticky":
		in, done = maniwani.ThreadPatch{Sticky: new(true)}, "is sticky"
	case "unsticky":
		in, done = maniwani.ThreadPatch{Sticky: new(false)}, "is no longer sticky"
	case "close":
		in, done = maniwani.ThreadPatch{Closed: new(true)}, "is locked"
	case "open":
		in, done = maniwani.ThreadPatch{Closed: new(false)}, "is open again"
	case "move":
		to := strings.TrimSpace(a.r.PostForm.Get("to"))
		moved, err := s.staff.UpdateThread(a.ctx, a.call, board, no, maniwani.ThreadPatch{Board: &to})
		if err != nil {
			return "", err
		}
		a.back = fmt.Sprintf("/admin/posts/%s/%d", moved.Board, moved.No) // the old one is gone
		return fmt.Sprintf("Thread /%s/ No.%d is now /%s/ No.%d.", board, no, moved.Board, moved.No), nil
	default:
		return "", invalid("Choose what to change.")
	}
	if _, err := s.staff.UpdateThread(a.ctx, a.call, board, no, in); err != nil {
		return "", err
	}
	return fmt.Sprintf("Thread /%s/ No.%d %s.", board, no, done), nil
}

// need refuses a page whose every form the session's role may not use;
// the staff API would refuse each of them anyway.
func need(p *adminPage, perm string) error {
	if p.Can(perm) {
		return nil
	}
	return &maniwani.Error{Kind: maniwani.KindForbidden, Message: http.StatusText(http.StatusForbidden) + "."}
}

func (s *Service) pageBanForm(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	if err := need(p, "ban"); err != nil {
		return err
	}
	p.Title, p.Section, p.Ban = "Ban", "bans", &banForm{Target: r.URL.Query().Get("ip")}
	p.Back = localAdminPath(r.URL.Query().Get("back"), "/admin/bans")
	if r.URL.Query().Get("no") != "" {
		board, no, err := postPath(r)
		if err != nil {
			return err
		}
		post, err := s.staffPost(r, board, no)
		if err != nil {
			return err
		}
		p.Post = s.newStaffPostView(post)
		p.Ban.Target, p.Ban.PostFrom, p.Ban.PostNo = post.IP, board, no
	}
	if id, err := strconv.ParseInt(r.URL.Query().Get("report"), 10, 64); err == nil && id > 0 {
		p.Ban.Report = id
	}
	p.Boards, _ = s.read.Boards(r.Context())
	s.adminRender(w, r, "a-ban", http.StatusOK, p)
	return nil
}

func (s *Service) pageBans(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section, p.Back = "Bans", "bans", "/admin/bans"
	var err error
	if p.Bans, err = s.staff.ListBans(r.Context(), readCall(r)); err != nil {
		return err
	}
	s.adminRender(w, r, "a-bans", http.StatusOK, p)
	return nil
}

// banLength reads the ban form's length: a choice of the list, or what was
// typed (a Go duration, or days and weeks as 10d, 2w); "" is permanent.
func banLength(choice, typed string) (string, error) {
	v := strings.TrimSpace(typed)
	if v == "" {
		v = choice
	}
	if v == "" || v == "perm" {
		return "", nil
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimRight(v, "dw")); err == nil && len(v) > 1 && strings.ContainsAny(v[len(v)-1:], "dw") {
		d = time.Duration(n) * 24 * time.Hour
		if strings.HasSuffix(v, "w") {
			d *= 7
		}
	} else if d, err = time.ParseDuration(v); err != nil {
		return "", invalid(fmt.Sprintf("%q is not a length of time: write it as 12h, 3d or 2w.", v))
	}
	if d <= 0 {
		return "", invalid("A ban's length must be more than nothing.")
	}
	return d.String(), nil
}

func (s *Service) actBan(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	target := strings.TrimSpace(f.Get("target"))
	in := maniwani.BanRequest{Reason: strings.TrimSpace(f.Get("reason")), Board: f.Get("board"),
		ConfirmWide: f.Get("confirm_wide") != ""}
	if pfx, err := netip.ParsePrefix(target); err == nil {
		in.CIDR = pfx.String()
	} else if addr, err := netip.ParseAddr(target); err == nil {
		in.IP = addr.String()
	} else {
		return "", invalid(fmt.Sprintf("%q is not an IPv4 or IPv6 address or a CIDR range.", target))
	}
	if in.Reason == "" {
		return "", invalid("A ban needs a reason.")
	}
	var err error
	if in.Duration, err = banLength(f.Get("duration"), f.Get("custom")); err != nil {
		return "", err
	}
	if no, err := strconv.ParseInt(f.Get("post_no"), 10, 64); err == nil && no > 0 {
		in.Post = &maniwani.PostRef{Board: f.Get("post_board"), No: no}
		in.Public = f.Get("public") != ""
	}
	b, err := s.staff.CreateBan(a.ctx, a.call, in)
	if err != nil {
		return "", err
	}
	if f.Get("resolve") != "" {
		s.resolveReport(a)
	}
	until := "for good"
	if !b.Expires.IsZero() {
		until = "until " + showTime(b.Expires)
	}
	who := b.CIDR
	if who == "" {
		who = target
	}
	return fmt.Sprintf("Banned %s %s.", who, until), nil
}

func (s *Service) actLift(w http.ResponseWriter, a *action) (string, error) {
	return onID(a, "ban", "Lifted ban #%d.", func(id int64) error { return s.staff.LiftBan(a.ctx, a.call, id) })
}

func (s *Service) pageFileBans(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section, p.Back = "File bans", "filebans", "/admin/filebans"
	var err error
	if p.FileBans, err = s.staff.ListFileBans(r.Context(), readCall(r)); err != nil {
		return err
	}
	s.adminRender(w, r, "a-filebans", http.StatusOK, p)
	return nil
}

// actFileBan bans a post's file (post_board, post_no) or the bytes of a
// SHA-256 (sha256), with near copies (similar) and deleting every post
// with it (delete); from a report, it dismisses the report too.
func (s *Service) actFileBan(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	in := maniwani.FileBanRequest{Reason: strings.TrimSpace(f.Get("reason")), Similar: f.Get("similar") != "",
		Delete: f.Get("delete") != ""}
	what := ""
	if no, err := strconv.ParseInt(f.Get("post_no"), 10, 64); err == nil && no > 0 {
		in.Board, in.No = f.Get("post_board"), no
		what = fmt.Sprintf("the file of /%s/ No.%d", in.Board, no)
		if u, err := url.Parse(a.back); err == nil && in.Delete && u.Path == fmt.Sprintf("/admin/posts/%s/%d", in.Board, no) {
			a.back = "/admin/filebans" // the post's page goes with it
		}
	} else {
		in.SHA256 = strings.TrimSpace(f.Get("sha256"))
		what = "the file " + strings.ToLower(in.SHA256)
	}
	if in.Reason == "" {
		return "", invalid("A file ban needs a reason.")
	}
	b, err := s.staff.CreateFileBan(a.ctx, a.call, in)
	if err != nil {
		return "", err
	}
	s.resolveReport(a)
	done := "Banned " + what
	if b.Similar {
		done += " and its near copies"
	}
	if b.Deleted != nil {
		done += fmt.Sprintf("; deleted %d %s with it", *b.Deleted, map[bool]string{true: "post", false: "posts"}[*b.Deleted == 1])
	}
	return done + ".", nil
}

func (s *Service) actLiftFileBan(w http.ResponseWriter, a *action) (string, error) {
	return onID(a, "file ban", "Lifted file ban #%d.", func(id int64) error { return s.staff.LiftFileBan(a.ctx, a.call, id) })
}

func (s *Service) pageBoards(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	if err := need(p, "boards"); err != nil {
		return err
	}
	p.Title, p.Section, p.Back = "Boards", "boards", "/admin/boards"
	var err error
	if p.BoardList, err = s.boardList(r); err != nil {
		return err
	}
	// A new board starts with the settings of a new site's /b/.
	d := newBoardDefaults()
	p.Edit = &d
	s.adminRender(w, r, "a-boards", http.StatusOK, p)
	return nil
}

// boardList reads every board's settings through the staff API.
func (s *Service) boardList(r *http.Request) ([]boardSettings, error) {
	bs, err := s.staff.ListBoards(r.Context(), readCall(r))
	out := make([]boardSettings, len(bs))
	for i := range bs {
		out[i] = boardSettings{bs[i]}
	}
	return out, err
}

// newBoardDefaults are the create form's starting values: the limits of a
// new site's /b/, no name, title, description or file types of its own.
func newBoardDefaults() boardSettings {
	b := maniwani.DefaultBoard()
	d := boardSettings{b.Settings()}
	d.Name, d.Title, d.Description, d.FileTypes = "", "", "", nil
	return d
}

func (s *Service) pageBoard(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	if err := need(p, "boards"); err != nil {
		return err
	}
	name := r.PathValue("board")
	p.Title, p.Section, p.Back = "/"+name+"/", "boards", "/admin/boards/"+name
	boards, err := s.boardList(r)
	if err != nil {
		return err
	}
	for i := range boards {
		if boards[i].Name == name {
			p.Edit = &boards[i]
		}
	}
	if p.Edit == nil {
		return notFound("There is no board /" + name + "/.")
	}
	s.adminRender(w, r, "a-board", http.StatusOK, p)
	return nil
}

// boardFields reads the board form: every setting it holds, as the staff
// API takes them.
func boardFields(f url.Values) (maniwani.BoardPatch, error) {
	var in maniwani.BoardPatch
	if _, ok := f["title"]; ok {
		in.Title = new(strings.TrimSpace(f.Get("title")))
	}
	if _, ok := f["description"]; ok {
		in.Description = new(strings.TrimSpace(f.Get("description")))
	}
	if v := strings.TrimSpace(f.Get("captcha")); v != "" {
		in.Captcha = new(maniwani.CaptchaMode(v))
	}
	var maxFileSize *int
	for _, n := range []struct {
		key string
		dst **int
	}{{"max_threads", &in.MaxThreads}, {"bump_limit", &in.BumpLimit}, {"image_limit", &in.ImageLimit},
		{"max_file_size", &maxFileSize}, {"cooldown_thread", &in.CooldownThread}, {"cooldown_reply", &in.CooldownReply},
		{"unique_comments_minutes", &in.UniqueComments}, {"captcha_auto_threads_per_hour", &in.CaptchaAutoThreads},
		{"captcha_auto_posts_per_hour", &in.CaptchaAutoPosts}, {"captcha_auto_minutes", &in.CaptchaAutoMinutes}} {
		v := strings.TrimSpace(f.Get(n.key))
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			return in, invalid(fmt.Sprintf("%s must be a whole number, not %q.", strings.ReplaceAll(n.key, "_", " "), v))
		}
		*n.dst = &i
	}
	if maxFileSize != nil {
		in.MaxFileSize = new(int64(*maxFileSize))
	}
	if _, ok := f["settings"]; ok { // the whole form: an unticked box is false
		in.PosterIDs = new(f.Get("poster_ids") != "")
		in.HoldNewPosters = new(f.Get("hold_new_posters") != "")
	}
	if v, ok := f["file_types"]; ok {
		types := []string{}
		for _, t := range strings.FieldsFunc(strings.Join(v, " "), func(r rune) bool { return r == ' ' || r == ',' }) {
			types = append(types, "."+strings.TrimPrefix(strings.ToLower(t), "."))
		}
		in.FileTypes = &types // none: the site's default types
	}
	return in, nil
}

func (s *Service) actCreateBoard(w http.ResponseWriter, a *action) (string, error) {
	in, err := boardFields(a.r.PostForm)
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(a.r.PostForm.Get("name"))
	if !maniwani.ValidBoardName(name) {
		return "", invalid(fmt.Sprintf("%q cannot be a board's name: 1 to 16 lowercase letters or digits, and not a word the site uses itself.", name))
	}
	in.Name = &name
	if _, err := s.staff.CreateBoard(a.ctx, a.call, in); err != nil {
		return "", err
	}
	return fmt.Sprintf("Created /%s/.", name), nil
}

func (s *Service) actEditBoard(w http.ResponseWriter, a *action) (string, error) {
	name := a.r.PathValue("board")
	in, err := boardFields(a.r.PostForm)
	if err != nil {
		return "", err
	}
	if !maniwani.ValidBoardName(name) {
		return "", notFound("There is no board /" + name + "/.")
	}
	if _, err := s.staff.UpdateBoard(a.ctx, a.call, name, in); err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved the settings of /%s/.", name), nil
}

func (s *Service) actDeleteBoard(w http.ResponseWriter, a *action) (string, error) {
	name := a.r.PathValue("board")
	if !maniwani.ValidBoardName(name) {
		return "", notFound("There is no board /" + name + "/.")
	}
	if strings.TrimSpace(strings.Trim(a.r.PostForm.Get("confirm"), "/")) != name {
		return "", invalid(fmt.Sprintf("To delete /%s/, type its name %s in the box.", name, name))
	}
	if err := s.staff.DeleteBoard(a.ctx, a.call, name); err != nil {
		return "", err
	}
	a.back = "/admin/boards"
	return fmt.Sprintf("Deleted /%s/ and everything on it.", name), nil
}

func (s *Service) pageStaff(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section, p.Back = "Staff", "staff", "/admin/staff"
	var err error
	if p.Staff, err = s.staff.ListStaff(r.Context(), readCall(r)); err != nil {
		return err
	}
	s.adminRender(w, r, "a-staff", http.StatusOK, p)
	return nil
}

func (s *Service) actCreateStaff(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	in := maniwani.NewStaffMember{Username: strings.TrimSpace(f.Get("username")), Password: f.Get("password"),
		Role: maniwani.Role(f.Get("role"))}
	if in.Username == "" || in.Password == "" {
		return "", invalid("A new account needs a username and a password.")
	}
	if _, err := s.staff.CreateStaff(a.ctx, a.call, in); err != nil {
		return "", err
	}
	return fmt.Sprintf("Added %s as %s.", in.Username, in.Role), nil
}

func (s *Service) actDeleteStaff(w http.ResponseWriter, a *action) (string, error) {
	name := a.r.PathValue("username")
	if err := s.staff.DeleteStaff(a.ctx, a.call, name); err != nil {
		return "", err
	}
	return fmt.Sprintf("Removed %s.", name), nil
}

func (s *Service) pageLog(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	p.Title, p.Section = "Moderation log", "log"
	log, err := s.staff.ReadLog(r.Context(), readCall(r), 0)
	if err != nil {
		return err
	}
	p.Log = logEntries(log)
	s.adminRender(w, r, "a-log", http.StatusOK, p)
	return nil
}
