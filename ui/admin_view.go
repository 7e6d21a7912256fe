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
	Section string   // the nav entry to mark: dash, reports, bans, boards, staff, log
	S       *session // nil before login and on pages that failed without one
	Done    string   // ?done=: what the last action did
	Err     string   // ?err=: why it failed
	Next    string   // login: where to go after
	Error   *errorView

	Boards    []maniwani.Board // the boards, for selects
	Reports   []reportView
	Bans      []ban
	BoardList []boardSettings
	Edit      *boardSettings // the board being edited; a new one's defaults on /admin/boards
	Staff     []staffMember
	Log       []logEntry
	Post      *staffPostView
	Thread    *maniwani.Thread // the post's thread, when it opens one
	Ban       *banForm
	Counts    *dashCounts
	Back      string // the page's own path, for its forms' back field
}

// Can tells whether the session has permission perm.
func (p *adminPage) Can(perm string) bool {
	if p.S == nil {
		return false
	}
	for _, x := range p.S.Permissions {
		if x == perm {
			return true
		}
	}
	return false
}

// Roles are the roles a staff account can have, least first.
func (p *adminPage) Roles() []maniwani.Role {
	return []maniwani.Role{maniwani.RoleJanitor, maniwani.RoleModerator, maniwani.RoleAdmin}
}

// stamp is a time from the staff API's JSON (RFC 3339) as a page shows it.
type stamp struct{ time.Time }

// Show is the time in UTC to the minute.
func (t stamp) Show() string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// ISO is the time for a datetime attribute.
func (t stamp) ISO() string { return t.UTC().Format(time.RFC3339) }

type dashCounts struct {
	Reports, Bans, Boards, Staff             int
	HasReports, HasBans, HasBoards, HasStaff bool
}

// staffPost is a post as GET /api/admin/posts/{board}/{no} gives it.
type staffPost struct {
	Board  string     `json:"board"`
	No     int64      `json:"no"`
	Thread int64      `json:"thread"`
	Time   time.Time  `json:"time"`
	Name   string     `json:"name"`
	Trip   string     `json:"trip"`
	Sub    string     `json:"sub"`
	Com    string     `json:"com"`
	IP     string     `json:"ip"`
	File   *staffFile `json:"file"`
}

// staffFile is a post's file in the staff API's JSON.
type staffFile struct {
	Tim      int64  `json:"tim"`
	Filename string `json:"filename"`
	Ext      string `json:"ext"`
	Size     int64  `json:"fsize"`
	W        int    `json:"w"`
	H        int    `json:"h"`
	TnW      int    `json:"tn_w"`
	TnH      int    `json:"tn_h"`
	Spoiler  flag   `json:"spoiler"`
}

// flag is a JSON boolean written as true or as the 4chan API's 1.
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	*f = flag(!bytes.Equal(b, []byte("false")) && !bytes.Equal(b, []byte("0")) && !bytes.Equal(b, []byte("null")))
	return nil
}

// staffPostView is a post as the admin pages show it: in place, with its
// address.
type staffPostView struct {
	*staffPost
	View postView
	Path string // its admin page
	IsOP bool
}

func (s *Service) newStaffPostView(p *staffPost) *staffPostView {
	thread := p.Thread
	if thread == 0 {
		thread = p.No
	}
	mp := &maniwani.Post{Board: p.Board, No: p.No, Time: p.Time, Name: p.Name, Trip: p.Trip, Subject: p.Sub, Com: p.Com}
	if thread != p.No {
		mp.Resto = thread
	}
	v := &staffPostView{staffPost: p, IsOP: thread == p.No,
		Path: "/admin/posts/" + p.Board + "/" + strconv.FormatInt(p.No, 10)}
	v.View = postView{Post: mp, Href: threadPath(p.Board, thread) + "#p" + strconv.FormatInt(p.No, 10)}
	if f := p.File; f != nil {
		v.View.File = s.newFileView(p.Board, &maniwani.File{Tim: f.Tim, Filename: f.Filename, Ext: f.Ext, Size: f.Size,
			Width: f.W, Height: f.H, ThumbW: f.TnW, ThumbH: f.TnH, Spoiler: bool(f.Spoiler),
			Thumbnail: true}) // media answers a placeholder until it is made
	}
	return v
}

// report is one entry of GET /api/admin/reports.
type report struct {
	ID      int64      `json:"id"`
	Board   string     `json:"board"`
	No      int64      `json:"no"`
	Reason  string     `json:"reason"`
	Created stamp      `json:"created"`
	Post    *staffPost `json:"post"`
}

type reportView struct {
	report
	Post *staffPostView // nil: the post is gone
}

// ban is one entry of GET /api/admin/bans.
type ban struct {
	ID      int64  `json:"id"`
	CIDR    string `json:"cidr"`
	Reason  string `json:"reason"`
	Board   string `json:"board"`
	Staff   string `json:"staff"`
	Created stamp  `json:"created"`
	Expires *stamp `json:"expires"`
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

// staffMember is one entry of GET /api/admin/staff.
type staffMember struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Created  stamp  `json:"created"`
}

// logEntry is one line of GET /api/admin/log.
type logEntry struct {
	Time   stamp  `json:"time"`
	Staff  string `json:"staff"`
	Action string `json:"action"`
	Target string `json:"target"`
	Reason string `json:"reason"`
}

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
