package ui

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// adminPage is what every admin template gets: the frame (who is logged in,
// what was just done) and the page's own data.
type adminPage struct {
	Title   string
	Confirm *confirmView           // the second step of a destructive form
	Section string                 // the nav entry to mark: dash, reports, bans, filebans, boards, staff, log
	S       *maniwani.StaffSession // nil before login and on pages that failed without one
	Done    string                 // ?done=: what the last action did
	Err     string                 // ?err=: why it failed
	Next    string                 // login: where to go after
	Error   *errorView

	Boards    []maniwani.Board // the boards, for selects
	Reports   []reportView
	Bans      []maniwani.StaffBan
	FileBans  []maniwani.StaffFileBan
	BoardList []boardSettings
	Edit      *boardSettings // the board being edited; a new one's defaults on /admin/boards
	Staff     []maniwani.StaffMember
	Log       []logEntry
	Post      *staffPostView
	Thread    *maniwani.Thread // the post's thread, when it opens one
	Ban       *banForm
	Counts    *dashCounts
	Filters   []maniwani.StaffFilter
	Held      []*staffPostView
	Back      string // the page's own path, for its forms' back field
}

// Can tells whether the session has permission perm.
func (p *adminPage) Can(perm string) bool {
	if p.S == nil {
		return false
	}
	for _, x := range p.S.Permissions {
		if string(x) == perm {
			return true
		}
	}
	return false
}

// purgeOf is the purge form beside a post.
type purgeOf struct {
	Page *adminPage
	Post *staffPostView
}

// PurgeOf is the purge form beside post, for the page's template.
func (p *adminPage) PurgeOf(post *staffPostView) purgeOf { return purgeOf{p, post} }

// FilterFields and FilterActions are the filter form's choices.
func (p *adminPage) FilterFields() []maniwani.FilterField { return maniwani.FilterFields }

func (p *adminPage) FilterActions() []maniwani.FilterAction {
	return []maniwani.FilterAction{maniwani.ActionReject, maniwani.ActionBan, maniwani.ActionReplace}
}

// Roles are the roles a staff account can have, least first.
func (p *adminPage) Roles() []maniwani.Role {
	return []maniwani.Role{maniwani.RoleJanitor, maniwani.RoleModerator, maniwani.RoleAdmin}
}

type dashCounts struct {
	Reports, Bans, Boards, Staff             int
	HasReports, HasBans, HasBoards, HasStaff bool
}

// staffPostView is a post as the admin pages show it: in place, with its
// address.
type staffPostView struct {
	*maniwani.StaffPost
	View postView
	Path string // its admin page
	IsOP bool
	// Image: its file is an image, which a file ban can also catch near
	// copies of.
	Image bool
}

func (s *Service) newStaffPostView(p *maniwani.StaffPost) *staffPostView {
	thread := p.Thread
	if thread == 0 {
		thread = p.No
	}
	mp := &maniwani.Post{Board: p.Board, No: p.No, Time: p.Time.Time, Name: p.Name, Trip: p.Trip, Subject: p.Sub, Com: p.Com}
	if thread != p.No {
		mp.Resto = thread
	}
	v := &staffPostView{StaffPost: p, IsOP: thread == p.No,
		Path: "/admin/posts/" + p.Board + "/" + strconv.FormatInt(p.No, 10)}
	v.View = postView{Post: mp, Href: threadPath(p.Board, thread) + "#p" + strconv.FormatInt(p.No, 10)}
	if f := p.File; f != nil {
		v.Image = f.Ext == ".jpg" || f.Ext == ".png" || f.Ext == ".gif" || f.Ext == ".webp"
		v.View.File = s.newFileView(p.Board, &maniwani.File{Tim: f.Tim, Filename: f.Filename, Ext: f.Ext, Size: f.Size,
			Width: f.W, Height: f.H, ThumbW: f.TnW, ThumbH: f.TnH, Spoiler: f.Spoiler,
			Thumbnail: true}) // media answers a placeholder until it is made
	}
	return v
}

// fileBanArgs is what the file ban form of a post is made from: the page
// (its session and back), the post, and the report it comes from (0: none).
type fileBanArgs struct {
	Page   *adminPage
	Post   *staffPostView
	Report int64
}

type reportView struct {
	maniwani.StaffReport
	Post *staffPostView // nil: the post is gone
	// Others are the other open reports of the same post, in one card.
	Others []maniwani.StaffReport
}

// Count is how many reports the card holds.
func (v reportView) Count() int { return 1 + len(v.Others) }

// All are the card's reports, the first first.
func (v reportView) All() []maniwani.StaffReport {
	return append([]maniwani.StaffReport{v.StaffReport}, v.Others...)
}

// banForm is what the ban form starts with.
type banForm struct {
	Target   string
	Board    string // "" all boards
	PostNo   int64
	PostFrom string // the post's board
	Report   int64
}

// boardSettings is a board as the staff API's boards routes give it, with
// what the forms show of it.
type boardSettings struct{ maniwani.BoardSettings }

// Size is the board's file size limit as people read it.
func (b *boardSettings) Size() string { return humanSize(b.MaxFileSize) }

// Types is the board's file types as the form shows them.
func (b *boardSettings) Types() string {
	var buf bytes.Buffer
	for i, t := range b.FileTypes {
		if i > 0 {
			buf.WriteByte(' ')
		}
		buf.WriteString(t)
	}
	return buf.String()
}

// logEntry is one line of GET /api/admin/log, with its link.
type logEntry struct{ maniwani.StaffLogEntry }

// Link is the admin page of the entry's target when it is a post
// ("/b/12"), else "".
func (e *logEntry) Link() string {
	board, no, ok := strings.Cut(strings.TrimPrefix(e.Target, "/"), "/")
	if !ok || !maniwani.ValidBoardName(board) {
		return ""
	}
	if n, err := strconv.ParseInt(no, 10, 64); err != nil || n <= 0 {
		return ""
	}
	return "/admin/posts/" + board + "/" + no
}

func logEntries(es []maniwani.StaffLogEntry) []logEntry {
	out := make([]logEntry, len(es))
	for i, e := range es {
		out[i] = logEntry{e}
	}
	return out
}

// showTime is a time of the staff API's as a page shows it: in UTC to the
// minute.
func showTime(t maniwani.Timestamp) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// isoTime is a time of the staff API's for a datetime attribute.
func isoTime(t maniwani.Timestamp) string { return t.UTC().Format(time.RFC3339) }
