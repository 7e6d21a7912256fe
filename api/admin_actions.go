package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// The staff API's actions. Each takes effect everywhere at once: the cached
// pages and JSON are dropped and the live streams told, as after a post.

// maxUniqueMinutes bounds unique_comments_minutes: a week of a board's
// posts is what its check reads at most, through an index.
const maxUniqueMinutes = 7 * 24 * 60

// maxCaptchaAuto bounds a board's flood thresholds.
const maxCaptchaAuto = 10000

// applyBoard sets the fields p sends on b and checks the result.
func applyBoard(p *maniwani.BoardPatch, b *maniwani.Board) error {
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	if p.Title != nil {
		b.Title = strings.TrimSpace(*p.Title)
	}
	if p.Description != nil {
		b.Description = strings.TrimSpace(*p.Description)
	}
	set(&b.MaxThreads, p.MaxThreads)
	set(&b.BumpLimit, p.BumpLimit)
	set(&b.ImageLimit, p.ImageLimit)
	set(&b.CooldownThread, p.CooldownThread)
	set(&b.CooldownReply, p.CooldownReply)
	set(&b.UniqueCommentsMinutes, p.UniqueComments)
	set(&b.MaxFiles, p.MaxFiles)
	if p.MaxFileSize != nil {
		b.MaxFileSize = *p.MaxFileSize
	}
	if p.PosterIDs != nil {
		b.PosterIDs = *p.PosterIDs
	}
	if p.Captcha != nil {
		b.Captcha = *p.Captcha
	}
	set(&b.CaptchaAutoThreads, p.CaptchaAutoThreads)
	set(&b.CaptchaAutoPosts, p.CaptchaAutoPosts)
	set(&b.CaptchaAutoMinutes, p.CaptchaAutoMinutes)
	if p.HoldNewPosters != nil {
		b.HoldNewPosters = *p.HoldNewPosters
	}
	if p.FileTypes != nil {
		b.FileTypes = nil
		for _, t := range *p.FileTypes {
			t = strings.ToLower(strings.TrimSpace(t))
			if !strings.HasPrefix(t, ".") {
				t = "." + t
			}
			if !slices.Contains(maniwani.DefaultFileTypes, t) {
				return invalid("%q is not a file type this site takes (%s).", t, strings.Join(maniwani.DefaultFileTypes, ", "))
			}
			if !slices.Contains(b.FileTypes, t) {
				b.FileTypes = append(b.FileTypes, t)
			}
		}
		if len(b.FileTypes) == 0 {
			b.FileTypes = nil // a board takes files; to take none, set max_file_size to 0
		}
	}
	switch {
	case !maniwani.ValidBoardName(b.Name):
		return invalid("%q cannot be a board's name: 1 to 16 lowercase letters or digits, not a word the site's routes use.", b.Name)
	case b.Title == "" || utf8.RuneCountInString(b.Title) > 100:
		return invalid("A board's title is 1 to 100 characters.")
	case utf8.RuneCountInString(b.Description) > 2000:
		return invalid("A board's description is at most 2,000 characters.")
	case b.MaxThreads < 1 || b.MaxThreads > 10000:
		return invalid("max_threads is 1 to 10,000.")
	case b.BumpLimit < 1 || b.ImageLimit < 0:
		return invalid("bump_limit is at least 1 and image_limit at least 0.")
	case b.MaxFileSize < 0 || b.MaxFileSize > 1<<30:
		return invalid("max_file_size is 0 to 1 GiB, in bytes.")
	case b.MaxFiles < 1 || b.MaxFiles > maniwani.MaxFilesLimit:
		return invalid("max_files is 1 to %d.", maniwani.MaxFilesLimit)
	case b.CooldownThread < 0 || b.CooldownReply < 0:
		return invalid("Cooldowns are 0 or more seconds.")
	case b.UniqueCommentsMinutes < 0 || b.UniqueCommentsMinutes > maxUniqueMinutes:
		return invalid("unique_comments_minutes is 0 (off) to %d (a week).", maxUniqueMinutes)
	case !b.Captcha.Valid():
		return invalid("captcha is off, threads or all.")
	case b.CaptchaAutoThreads < 0 || b.CaptchaAutoThreads > maxCaptchaAuto || b.CaptchaAutoPosts < 0 || b.CaptchaAutoPosts > maxCaptchaAuto:
		// A post reads that many index entries to tell a flood.
		return invalid("captcha_auto_threads_per_hour and captcha_auto_posts_per_hour are 0 (never) to %d.", maxCaptchaAuto)
	case b.CaptchaAutoMinutes < 1 || b.CaptchaAutoMinutes > 7*24*60:
		return invalid("captcha_auto_minutes is 1 to 10,080 (a week).")
	}
	return nil
}

func (s *Service) handleAdminBoards(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listBoards(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffBoards{Boards: out}, err)
}

func (s *Service) listBoards(ctx context.Context, _ *staffRequest) ([]maniwani.BoardSettings, error) {
	bs, err := s.store.Boards(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.BoardSettings, len(bs))
	for i := range bs {
		out[i] = s.settings(&bs[i])
	}
	return out, nil
}

func (s *Service) handleCreateBoard(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	p, err := bodyOf[maniwani.BoardPatch](r)
	var out *maniwani.BoardSettings
	if err == nil {
		out, err = s.createBoard(r.Context(), st, p)
	}
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Service) createBoard(ctx context.Context, st *staffRequest, p maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	b := maniwani.DefaultBoard() // what is not sent is as on board b of a new site
	b.Title, b.Description = "", ""
	if p.Name != nil {
		b.Name = strings.TrimSpace(*p.Name)
	}
	if err := applyBoard(&p, &b); err != nil {
		return nil, err
	}
	if err := s.store.CreateBoard(ctx, b); err != nil {
		return nil, err
	}
	s.addLog(ctx, s.logEntry(st, "create board", "/"+b.Name+"/", ""))
	s.afterCommit(ctx, maniwani.Invalidation{Board: b.Name, All: true})
	out := s.settings(&b)
	return &out, nil
}

// settings is the board as the staff API gives it, with the captcha mode
// in force now.
func (s *Service) settings(b *maniwani.Board) maniwani.BoardSettings {
	out := b.Settings()
	out.CaptchaInForce = b.CaptchaAt(s.now())
	return out
}

func (s *Service) handleUpdateBoard(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	p, err := bodyOf[maniwani.BoardPatch](r)
	var out *maniwani.BoardSettings
	if err == nil {
		out, err = s.updateBoard(r.Context(), st, r.PathValue("board"), p)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Service) updateBoard(ctx context.Context, st *staffRequest, name string, p maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	b, err := s.store.Board(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.Name != nil && *p.Name != b.Name {
		return nil, invalid("A board cannot be renamed: its name is in every link to it.")
	}
	if err := applyBoard(&p, b); err != nil {
		return nil, err
	}
	if err := s.store.UpdateBoard(ctx, *b); err != nil {
		return nil, err
	}
	s.addLog(ctx, s.logEntry(st, "edit board", "/"+b.Name+"/", ""))
	// A board's settings show on all its pages: everything cached goes.
	s.afterCommit(ctx, maniwani.Invalidation{Board: b.Name, All: true})
	out := s.settings(b)
	return &out, nil
}

func (s *Service) handleDeleteBoard(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	s.answer(w, r, http.StatusNoContent, nil, s.deleteBoard(r.Context(), st, r.PathValue("board")))
}

func (s *Service) deleteBoard(ctx context.Context, st *staffRequest, name string) error {
	files, err := s.store.DeleteBoard(ctx, name, s.logEntry(st, "delete board", "/"+name+"/", ""))
	if err != nil {
		return err
	}
	s.afterCommit(ctx, maniwani.Invalidation{Board: name, All: true})
	s.removeFiles(ctx, files)
	return nil
}

// postNo reads the {no} of a path.
func postNo(r *http.Request) (int64, error) {
	no, err := strconv.ParseInt(r.PathValue("no"), 10, 64)
	if err != nil || no < 1 {
		return 0, maniwani.Errorf(maniwani.KindNotFound, "%q is not a post number.", r.PathValue("no"))
	}
	return no, nil
}

// validNo refuses a post number that no post has.
func validNo(no int64) error {
	if no < 1 {
		return maniwani.Errorf(maniwani.KindNotFound, "%q is not a post number.", strconv.FormatInt(no, 10))
	}
	return nil
}

// staffPostOut is a post as staff see it: with its address when the role
// may see addresses.
func staffPostOut(p *maniwani.Post, role maniwani.Role) *maniwani.StaffPost {
	thread := p.Resto
	if thread == 0 {
		thread = p.No
	}
	out := &maniwani.StaffPost{Board: p.Board, No: p.No, Thread: thread, Time: maniwani.Timestamp{Time: p.Time},
		Name: p.Name, Trip: p.Trip, Sub: p.Subject, Com: p.Com}
	if role.Can(maniwani.PermIPs) {
		out.IP = p.IP
	}
	if f := p.File; f != nil {
		out.File = &maniwani.StaffFile{Tim: f.Tim, Ext: f.Ext, Filename: f.Filename, Size: f.Size,
			W: f.Width, H: f.Height, TnW: f.ThumbW, TnH: f.ThumbH, Spoiler: f.Spoiler, MD5: f.MD5, SHA256: f.SHA256}
	}
	return out
}

func (s *Service) handleAdminPost(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	no, err := postNo(r)
	var out *maniwani.StaffPost
	if err == nil {
		out, err = s.readPost(r.Context(), st, r.PathValue("board"), no)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Service) readPost(ctx context.Context, st *staffRequest, board string, no int64) (*maniwani.StaffPost, error) {
	if err := validNo(no); err != nil {
		return nil, err
	}
	p, err := s.store.Post(ctx, board, no)
	if err != nil {
		return nil, err
	}
	return staffPostOut(p, st.staff.Role), nil
}

// handleAdminDeletePost: DELETE /api/admin/posts/{board}/{no}, the post
// (and its thread, if it opens one); ?file_only=1 only its file;
// ?by_ip=thread or board every post of its address there.
func (s *Service) handleAdminDeletePost(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	no, err := postNo(r)
	var out *maniwani.StaffDeleted
	if err == nil {
		q := r.URL.Query()
		in := maniwani.PostDeletion{FileOnly: q.Get("file_only") == "1" || q.Get("file_only") == "true",
			ByIP: q.Get("by_ip"), Reason: q.Get("reason")}
		out, err = s.deletePost(r.Context(), st, r.PathValue("board"), no, in)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Service) deletePost(ctx context.Context, st *staffRequest, board string, no int64, in maniwani.PostDeletion) (*maniwani.StaffDeleted, error) {
	if err := validNo(no); err != nil {
		return nil, err
	}
	target := fmt.Sprintf("/%s/%d", board, no)
	reason := strings.TrimSpace(in.Reason)
	if in.FileOnly {
		thread, gone, err := s.store.DeleteFile(ctx, board, no, s.logEntry(st, "delete file", target, reason))
		if err != nil {
			return nil, err
		}
		s.afterCommit(ctx, maniwani.Invalidation{Board: board, Threads: []int64{thread}})
		s.removeFiles(ctx, gone)
		return &maniwani.StaffDeleted{Deleted: []int64{}, File: true}, nil
	}
	scope, action := store.ScopePost, "delete post"
	switch in.ByIP {
	case "":
	case "thread":
		scope, action = store.ScopeIPThread, "delete posts of an address in a thread"
	case "board":
		scope, action = store.ScopeIPBoard, "delete posts of an address on a board"
	default:
		return nil, invalid("by_ip is thread or board.")
	}
	if scope != store.ScopePost && !st.staff.Role.Can(maniwani.PermIPs) {
		return nil, maniwani.Errorf(maniwani.KindForbidden, "A %s may not delete by address.", st.staff.Role)
	}
	d, err := s.store.StaffDelete(ctx, board, no, scope, s.logEntry(st, action, target, reason))
	if err != nil {
		return nil, err
	}
	return &maniwani.StaffDeleted{Deleted: s.afterStaffDelete(ctx, board, d)}, nil
}

// handleAdminThread: PATCH /api/admin/threads/{board}/{no} {"sticky","closed"}.
func (s *Service) handleAdminThread(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	no, err := postNo(r)
	var in maniwani.ThreadPatch
	if err == nil {
		in, err = bodyOf[maniwani.ThreadPatch](r)
	}
	var out *maniwani.StaffThread
	if err == nil {
		out, err = s.updateThread(r.Context(), st, r.PathValue("board"), no, in)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Service) updateThread(ctx context.Context, st *staffRequest, board string, no int64, in maniwani.ThreadPatch) (*maniwani.StaffThread, error) {
	if err := validNo(no); err != nil {
		return nil, err
	}
	if in.Sticky == nil && in.Closed == nil && (in.Board == nil || *in.Board == board) {
		return nil, invalid("Send sticky, closed or board.")
	}
	if in.Sticky != nil || in.Closed != nil {
		if err := s.store.UpdateThread(ctx, board, no, store.ThreadFlags{Sticky: in.Sticky, Closed: in.Closed}, s.now()); err != nil {
			return nil, err
		}
		var what []string
		if in.Sticky != nil {
			what = append(what, map[bool]string{true: "sticky", false: "unsticky"}[*in.Sticky])
		}
		if in.Closed != nil {
			what = append(what, map[bool]string{true: "close", false: "open"}[*in.Closed])
		}
		s.addLog(ctx, s.logEntry(st, strings.Join(what, ", ")+" thread", fmt.Sprintf("/%s/%d", board, no), ""))
	}
	if in.Board != nil && *in.Board != board {
		return s.moveThread(ctx, st, board, no, *in.Board)
	}
	v, err := s.store.Thread(ctx, board, no)
	if err != nil {
		return nil, err
	}
	s.afterCommit(ctx, maniwani.Invalidation{Board: board, Threads: []int64{no}},
		&pb.Event{Kind: &pb.Event_ThreadUpdated{ThreadUpdated: &pb.ThreadUpdated{Board: board, No: no,
			Sticky: v.Sticky, Closed: v.Closed, Archived: v.Archived}}})
	return &maniwani.StaffThread{Board: board, No: no, Sticky: v.Sticky, Closed: v.Closed}, nil
}

// moveThread moves a thread to another board, where its posts take new
// numbers: its viewers see it deleted where it was, and the destination's
// see a new thread.
func (s *Service) moveThread(ctx context.Context, st *staffRequest, from string, no int64, to string) (*maniwani.StaffThread, error) {
	m, err := s.store.MoveThread(ctx, from, no, to, s.logEntry(st, "move thread", "", ""))
	if err != nil {
		return nil, err
	}
	v, err := s.store.Thread(ctx, to, m.NewNo)
	if err != nil {
		return nil, err
	}
	s.afterCommit(ctx, maniwani.Invalidation{Board: from, All: true},
		&pb.Event{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{Board: from, No: no, Thread: no}}})
	s.afterCommit(ctx, maniwani.Invalidation{Board: to, All: true}, postCreated(&v.Posts[0]))
	if s.deps.Media != nil {
		for _, f := range m.Files { // the old names, which media may have cached
			if err := s.deps.Media.Remove(context.WithoutCancel(ctx), f, false); err != nil {
				s.log.Warn("moved file's old name not dropped", "board", f.Board, "tim", f.Tim, "err", err)
			}
		}
	}
	return &maniwani.StaffThread{Board: to, No: m.NewNo, Sticky: v.Sticky, Closed: v.Closed}, nil
}

func banOut(b *maniwani.Ban) maniwani.StaffBan {
	return maniwani.StaffBan{ID: b.ID, CIDR: b.CIDR, Reason: b.Reason, Board: b.Board, Staff: b.Staff,
		Created: maniwani.Timestamp{Time: b.Created}, Expires: maniwani.Timestamp{Time: b.Expires}}
}

func (s *Service) handleBans(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listBans(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffBans{Bans: out}, err)
}

func (s *Service) listBans(ctx context.Context, _ *staffRequest) ([]maniwani.StaffBan, error) {
	bs, err := s.store.Bans(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffBan, len(bs))
	for i := range bs {
		out[i] = banOut(&bs[i])
	}
	return out, nil
}

// handleCreateBan: POST /api/admin/bans {"ip" or "cidr", "reason",
// "expires" (RFC 3339) or "duration" (72h), "board", "post": {"board","no"},
// "public", "confirm_wide"}. Without ip or cidr it bans the post's address
// (for IPv6, its /64);
// "public" adds USER WAS BANNED FOR THIS POST to the post. A range wider
// than an IPv4 /16 or an IPv6 /32 needs an admin and "confirm_wide": true.
func (s *Service) handleCreateBan(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	in, err := bodyOf[maniwani.BanRequest](r)
	var out *maniwani.StaffBan
	if err == nil {
		out, err = s.createBan(r.Context(), st, in)
	}
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Service) createBan(ctx context.Context, st *staffRequest, in maniwani.BanRequest) (*maniwani.StaffBan, error) {
	target, err := addressOrRange(in.IP, in.CIDR)
	if err != nil {
		return nil, err
	}
	if target == "" && in.Post != nil {
		p, err := s.store.Post(ctx, in.Post.Board, in.Post.No)
		if err != nil {
			return nil, err
		}
		// An IPv6 poster picks addresses from a whole /64 (realip.Key),
		// so banning one of them would ban nothing.
		target = realip.Key(p.IP)
	}
	if target == "" {
		return nil, invalid("Say whom to ban: ip, cidr or post.")
	}
	// An onion poster's key (realip.OnionPrefix) is one poster, never wide.
	canonical := target
	if !realip.IsOnion(target) {
		p, err := store.ParseBanTarget(target)
		if err != nil {
			return nil, err
		}
		if err := allowWide(st, p, in.ConfirmWide, "ban", "bans"); err != nil {
			return nil, err
		}
		canonical = p.String()
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 1000 {
		return nil, invalid("A ban needs a reason of 1 to 1,000 characters; the poster sees it.")
	}
	ban := maniwani.Ban{CIDR: target, Reason: reason, Board: in.Board, Staff: st.staff.Username, Created: s.now()}
	switch {
	case in.Expires != "" && in.Duration != "":
		return nil, invalid("Send expires or duration, not both.")
	case in.Expires != "":
		t, err := time.Parse(time.RFC3339, in.Expires)
		if err != nil {
			return nil, invalid("expires is a time in RFC 3339, such as 2030-01-02T15:04:05Z.")
		}
		ban.Expires = t
	case in.Duration != "":
		d, err := time.ParseDuration(in.Duration)
		if err != nil || d <= 0 {
			return nil, invalid("duration is a positive length of time, such as 72h.")
		}
		ban.Expires = ban.Created.Add(d)
	}
	if !ban.Expires.IsZero() && !ban.Expires.After(ban.Created) {
		return nil, invalid("The ban would end before it starts.")
	}
	if ban.Board != "" {
		if _, err := s.store.Board(ctx, ban.Board); err != nil {
			return nil, err
		}
	}
	id, err := s.store.CreateBan(ctx, ban)
	if err != nil {
		return nil, err
	}
	ban.ID, ban.CIDR = id, canonical
	if in.Public && in.Post != nil {
		thread, err := s.store.MarkBanned(ctx, in.Post.Board, in.Post.No)
		if err != nil {
			s.log.Error("ban note not shown on the post", "board", in.Post.Board, "no", in.Post.No, "err", err)
		} else {
			s.afterCommit(ctx, maniwani.Invalidation{Board: in.Post.Board, Threads: []int64{thread}})
		}
	}
	out := banOut(&ban)
	return &out, nil
}

// addressOrRange is the one of ip and cidr a staff request sent ("" if
// neither); both is an error.
func addressOrRange(ip, cidr string) (string, error) {
	target := strings.TrimSpace(cidr)
	if t := strings.TrimSpace(ip); t != "" {
		if target != "" {
			return "", invalid("Send ip or cidr, not both.")
		}
		target = t
	}
	return target, nil
}

// allowWide refuses an action on the range p wider than wideBan allows
// unless st may act that wide (an admin) and confirmed it: verb is the
// action (ban, purge), does what it does to a network's posters.
func allowWide(st *staffRequest, p netip.Prefix, confirmed bool, verb, does string) error {
	if !wideBan(p) {
		return nil
	}
	switch {
	case !st.staff.Role.Can(maniwani.PermWideBan):
		return maniwani.Errorf(maniwani.KindForbidden,
			"%s is wider than an IPv4 /16 or an IPv6 /32: only an admin may %s a range that wide.", p, verb)
	case !confirmed:
		return invalid(`%s is wider than an IPv4 /16 or an IPv6 /32: it %s every poster of a large network. `+
			`Confirm the width ("confirm_wide": true) to %s it.`, p, does, verb)
	}
	return nil
}

// Ban ranges wider than these need an admin and a confirmation: a slip in
// a prefix length bans a whole provider's posters.
const (
	wideV4 = 16
	wideV6 = 32
)

// wideBan tells whether the range p is wider than wideV4 of IPv4 or wideV6
// of IPv6. Bans match IPv4 posters as IPv4-mapped IPv6 addresses, so a
// range within ::ffff:0:0/96 is judged as the IPv4 range it holds, and an
// IPv6 range that holds all of it (::/64, say) bans every IPv4 poster.
func wideBan(p netip.Prefix) bool {
	a, bits := p.Addr(), p.Bits()
	switch {
	case a.Is4():
		return bits < wideV4
	case a.Is4In6() && bits >= 96:
		return bits-96 < wideV4
	case bits < wideV6:
		return true
	}
	return bits <= 96 && p.Contains(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff}))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, maniwani.Errorf(maniwani.KindNotFound, "%q is not an id.", r.PathValue("id"))
	}
	return id, nil
}

// validID refuses an id that nothing has.
func validID(id int64) error {
	if id < 1 {
		return maniwani.Errorf(maniwani.KindNotFound, "%q is not an id.", strconv.FormatInt(id, 10))
	}
	return nil
}

func (s *Service) handleDeleteBan(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	id, err := pathID(r)
	if err == nil {
		err = s.liftBan(r.Context(), st, id)
	}
	s.answer(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) liftBan(ctx context.Context, st *staffRequest, id int64) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.store.DeleteBan(ctx, id, s.logEntry(st, "lift ban", "", ""))
}

func (s *Service) handleReports(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listReports(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffReports{Reports: out}, err)
}

func (s *Service) listReports(ctx context.Context, st *staffRequest) ([]maniwani.StaffReport, error) {
	rs, err := s.store.Reports(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffReport, len(rs))
	for i, rep := range rs {
		out[i] = maniwani.StaffReport{ID: rep.ID, Board: rep.Board, No: rep.No, Reason: rep.Reason,
			Created: maniwani.Timestamp{Time: rep.Created}}
		if p, err := s.store.Post(ctx, rep.Board, rep.No); err == nil {
			out[i].Post = staffPostOut(p, st.staff.Role)
		}
	}
	return out, nil
}

func (s *Service) handleDismissReport(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	id, err := pathID(r)
	if err == nil {
		err = s.dismissReport(r.Context(), st, id)
	}
	s.answer(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) dismissReport(ctx context.Context, st *staffRequest, id int64) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.store.DeleteReport(ctx, id, s.logEntry(st, "dismiss report", fmt.Sprintf("report %d", id), ""))
}

func (s *Service) handleStaff(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listStaff(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffList{Staff: out}, err)
}

func (s *Service) listStaff(ctx context.Context, _ *staffRequest) ([]maniwani.StaffMember, error) {
	list, err := s.store.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffMember, len(list))
	for i, st := range list {
		out[i] = maniwani.StaffMember{Username: st.Username, Role: st.Role, Created: maniwani.Timestamp{Time: st.Created}}
	}
	return out, nil
}

// MinPasswordLength is the shortest staff password taken.
const MinPasswordLength = 12

func (s *Service) handleCreateStaff(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	in, err := bodyOf[maniwani.NewStaffMember](r)
	var out *maniwani.StaffMember
	if err == nil {
		out, err = s.createStaff(r.Context(), st, in)
	}
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Service) createStaff(ctx context.Context, st *staffRequest, in maniwani.NewStaffMember) (*maniwani.StaffMember, error) {
	role := in.Role
	switch {
	case !validUsername(in.Username):
		return nil, invalid("A username is 1 to 64 letters, digits, '.', '_' or '-'.")
	case utf8.RuneCountInString(in.Password) < MinPasswordLength || len(in.Password) > 1024:
		return nil, invalid("A password is at least %d characters.", MinPasswordLength)
	case !role.Valid():
		return nil, invalid("role is janitor, moderator or admin.")
	}
	var hash string
	err := s.hashes.do(ctx, func() { hash = HashPassword(in.Password) })
	if err == nil {
		err = s.store.CreateStaff(ctx, maniwani.Staff{Username: in.Username, PasswordHash: hash,
			Role: role, Created: s.now()})
	}
	if err != nil {
		return nil, err
	}
	s.addLog(ctx, s.logEntry(st, "create staff", in.Username, string(role)))
	return &maniwani.StaffMember{Username: in.Username, Role: role, Created: maniwani.Timestamp{Time: s.now()}}, nil
}

func validUsername(u string) bool {
	if len(u) < 1 || len(u) > 64 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Service) handleDeleteStaff(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	s.answer(w, r, http.StatusNoContent, nil, s.deleteStaff(r.Context(), st, r.PathValue("username")))
}

func (s *Service) deleteStaff(ctx context.Context, st *staffRequest, name string) error {
	if name == st.staff.Username {
		return maniwani.Errorf(maniwani.KindConflict, "You cannot delete your own account.")
	}
	if err := s.store.DeleteStaff(ctx, name); err != nil {
		return err
	}
	s.addLog(ctx, s.logEntry(st, "delete staff", name, ""))
	return nil
}

func (s *Service) handleLog(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	limit, err := 0, error(nil)
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			err = invalid("limit is 1 to 1,000.")
		}
	}
	var out []maniwani.StaffLogEntry
	if err == nil {
		out, err = s.readLog(r.Context(), st, limit)
	}
	s.answer(w, r, http.StatusOK, maniwani.StaffLog{Log: out}, err)
}

// readLog reads the newest limit entries of the log (0: 100).
func (s *Service) readLog(ctx context.Context, _ *staffRequest, limit int) ([]maniwani.StaffLogEntry, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return nil, invalid("limit is 1 to 1,000.")
	}
	entries, err := s.store.Log(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffLogEntry, len(entries))
	for i, e := range entries {
		out[i] = maniwani.StaffLogEntry{Time: maniwani.Timestamp{Time: e.Time}, Staff: e.Staff, Action: e.Action,
			Target: e.Target, Reason: e.Reason}
	}
	return out, nil
}
