package maniwani

import (
	"encoding/json"
	"time"
)

// The staff API's answers (the contract's Staff API), shared by the api that
// writes them and the admin UI that reads them. Their fields are in the
// order of their JSON names, so the answers keep the bytes they had when
// they were written from maps (whose keys encoding/json sorts).

// Timestamp is a time as the staff API writes it: RFC 3339 in UTC to the
// second, or null when it is zero.
type Timestamp struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Timestamp{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339, s)
	*t = Timestamp{v}
	return err
}

// StaffSession is who is logged in: the answer of login and of GET
// /api/admin/session.
type StaffSession struct {
	CSRFToken   string       `json:"csrf_token"`
	Permissions []Permission `json:"permissions"`
	Role        Role         `json:"role"`
	Username    string       `json:"username"`
}

// StaffPost is a post as staff see it (GET /api/admin/posts/{board}/{no},
// and in reports).
type StaffPost struct {
	Board string     `json:"board"`
	Com   string     `json:"com"`
	File  *StaffFile `json:"file"` // null without one
	// IP is there only for a role that may see addresses.
	IP     string    `json:"ip,omitempty"`
	Name   string    `json:"name"`
	No     int64     `json:"no"`
	Sub    string    `json:"sub"`
	Thread int64     `json:"thread"` // its own number for an OP
	Time   Timestamp `json:"time"`
	Trip   string    `json:"trip"`
}

// StaffFile is a post's file as staff see it.
type StaffFile struct {
	Ext      string `json:"ext"`
	Filename string `json:"filename"`
	Size     int64  `json:"fsize"`
	H        int    `json:"h"`
	MD5      string `json:"md5"`
	SHA256   string `json:"sha256"`
	Spoiler  bool   `json:"spoiler"`
	Tim      int64  `json:"tim"`
	TnH      int    `json:"tn_h"`
	TnW      int    `json:"tn_w"`
	W        int    `json:"w"`
}

// StaffDeleted answers DELETE /api/admin/posts/{board}/{no}: the posts
// deleted, or (File) that only the file was.
type StaffDeleted struct {
	Deleted []int64 `json:"deleted"` // never null
	File    bool    `json:"file,omitempty"`
}

// StaffThread answers PATCH /api/admin/threads/{board}/{no}: the thread
// where it now is, and its flags.
type StaffThread struct {
	Board  string `json:"board"`
	Closed bool   `json:"closed"`
	No     int64  `json:"no"`
	Sticky bool   `json:"sticky"`
}

// StaffBan is a ban as the staff API gives it.
type StaffBan struct {
	Board   string    `json:"board"` // "": every board
	CIDR    string    `json:"cidr"`
	Created Timestamp `json:"created"`
	Expires Timestamp `json:"expires"` // null: permanent
	ID      int64     `json:"id"`
	Reason  string    `json:"reason"`
	Staff   string    `json:"staff"`
}

// StaffFileBan is a file ban as the staff API gives it (the contract's
// Spam defence); Deleted is there only in the answer of a ban made with
// delete: the posts with the file that went, on every board.
type StaffFileBan struct {
	Created Timestamp `json:"created"`
	Deleted *int      `json:"deleted,omitempty"`
	ID      int64     `json:"id"`
	// PHash is the banned image's perceptual hash, 16 hex digits; "" for
	// a file that is not an image.
	PHash   string `json:"phash"`
	Reason  string `json:"reason"`
	SHA256  string `json:"sha256"`
	Similar bool   `json:"similar"`
	Staff   string `json:"staff"`
}

// StaffReport is a report with its post (null when the post is gone).
type StaffReport struct {
	Board   string     `json:"board"`
	Created Timestamp  `json:"created"`
	ID      int64      `json:"id"`
	No      int64      `json:"no"`
	Post    *StaffPost `json:"post"`
	Reason  string     `json:"reason"`
}

// StaffMember is a staff account as the staff API gives it.
type StaffMember struct {
	Created  Timestamp `json:"created"`
	Role     Role      `json:"role"`
	Username string    `json:"username"`
}

// StaffLogEntry is one line of the moderation log.
type StaffLogEntry struct {
	Action string    `json:"action"`
	Reason string    `json:"reason"`
	Staff  string    `json:"staff"`
	Target string    `json:"target"`
	Time   Timestamp `json:"time"`
}

// StaffFilter is a filter as the staff API gives and takes it.
type StaffFilter struct {
	Action      FilterAction  `json:"action"`
	BanHours    int           `json:"ban_hours"`
	Board       string        `json:"board"` // "": every board
	Created     Timestamp     `json:"created"`
	Fields      []FilterField `json:"fields"`
	ID          int64         `json:"id"`
	Pattern     string        `json:"pattern"`
	Reason      string        `json:"reason"`
	Regex       bool          `json:"regex"`
	Replacement string        `json:"replacement"`
	Staff       string        `json:"staff"`
}

// StaffPurged answers POST /api/admin/purge: how many posts went.
type StaffPurged struct {
	Deleted int `json:"deleted"`
}

// StaffHeldDone answers POST /api/admin/held/{board}/{no}: the post
// published (approved) or dropped.
type StaffHeldDone struct {
	Approved bool   `json:"approved"`
	Board    string `json:"board"`
	No       int64  `json:"no"`
	Thread   int64  `json:"thread,omitempty"` // where it is now; none once rejected
}

// The lists the staff API answers, each under its name.
type (
	StaffBoards struct {
		Boards []BoardSettings `json:"boards"`
	}
	StaffBans struct {
		Bans []StaffBan `json:"bans"`
	}
	StaffFileBans struct {
		FileBans []StaffFileBan `json:"file_bans"`
	}
	StaffReports struct {
		Reports []StaffReport `json:"reports"`
	}
	StaffList struct {
		Staff []StaffMember `json:"staff"`
	}
	StaffLog struct {
		Log []StaffLogEntry `json:"log"`
	}
	StaffFilters struct {
		Filters []StaffFilter `json:"filters"`
	}
	// StaffHeld: GET /api/admin/held, the posts held for review, oldest
	// first.
	StaffHeld struct {
		Posts []StaffPost `json:"posts"`
	}
)

// The staff API's requests, as their JSON bodies (and, for DELETE
// /api/admin/posts, its query) carry them. A field left out is not sent.

// StaffLogin is POST /api/admin/login's body.
type StaffLogin struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// BoardPatch is a board's settings as POST /api/admin/boards and PATCH
// /api/admin/boards/{board} take them: a field left nil is left as it is
// (on a new board, as on board b of a new site).
type BoardPatch struct {
	Name           *string `json:"name,omitempty"`
	Title          *string `json:"title,omitempty"`
	Description    *string `json:"description,omitempty"`
	MaxThreads     *int    `json:"max_threads,omitempty"`
	BumpLimit      *int    `json:"bump_limit,omitempty"`
	ImageLimit     *int    `json:"image_limit,omitempty"`
	MaxFileSize    *int64  `json:"max_file_size,omitempty"`
	CooldownThread *int    `json:"cooldown_thread,omitempty"`
	CooldownReply  *int    `json:"cooldown_reply,omitempty"`
	PosterIDs      *bool   `json:"poster_ids,omitempty"`
	MaxFiles       *int    `json:"max_files,omitempty"`
	// FileTypes set to an empty list gives the board the site's default
	// types.
	FileTypes *[]string `json:"file_types,omitempty"`
	// UniqueComments is unique_comments_minutes.
	UniqueComments *int `json:"unique_comments_minutes,omitempty"`
	// The captcha: the board's own mode, the flood thresholds and how long
	// a flood raises the mode.
	Captcha            *CaptchaMode `json:"captcha,omitempty"`
	CaptchaAutoThreads *int         `json:"captcha_auto_threads_per_hour,omitempty"`
	CaptchaAutoPosts   *int         `json:"captcha_auto_posts_per_hour,omitempty"`
	CaptchaAutoMinutes *int         `json:"captcha_auto_minutes,omitempty"`
	// CaptchaInForce is in the answers, and taken back unchanged so that an
	// answer can be sent back as it is; it is never set.
	CaptchaInForce *CaptchaMode `json:"captcha_in_force,omitempty"`
	HoldNewPosters *bool        `json:"hold_new_posters,omitempty"`
}

// PostDeletion is what DELETE /api/admin/posts/{board}/{no} deletes: the
// post (and its thread, if it opens one); with FileOnly only its file;
// with ByIP ("thread" or "board") every post of its address there.
type PostDeletion struct {
	FileOnly bool   // ?file_only=1
	ByIP     string // ?by_ip=
	Reason   string // ?reason=, for the log
}

// ThreadPatch is PATCH /api/admin/threads/{board}/{no}'s body: the flags
// to set, and the board to move the thread to.
type ThreadPatch struct {
	Sticky *bool   `json:"sticky,omitempty"`
	Closed *bool   `json:"closed,omitempty"`
	Board  *string `json:"board,omitempty"`
}

// BanRequest is POST /api/admin/bans's body: whom (IP or CIDR, or else the
// address of Post), why, until when (Expires in RFC 3339, or Duration as a
// Go duration; neither: for good) and where (Board; "": every board).
// Public puts USER WAS BANNED FOR THIS POST on Post. A range wider than an
// IPv4 /16 or an IPv6 /32 needs ConfirmWide.
type BanRequest struct {
	IP          string   `json:"ip,omitempty"`
	CIDR        string   `json:"cidr,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Expires     string   `json:"expires,omitempty"`
	Duration    string   `json:"duration,omitempty"`
	Board       string   `json:"board,omitempty"`
	Post        *PostRef `json:"post,omitempty"`
	Public      bool     `json:"public,omitempty"`
	ConfirmWide bool     `json:"confirm_wide,omitempty"`
}

// PostRef names a post.
type PostRef struct {
	Board string `json:"board"`
	No    int64  `json:"no"`
}

// NewStaffMember is POST /api/admin/staff's body.
type NewStaffMember struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     Role   `json:"role"`
}

// FilterRequest is POST /api/admin/filters's body: a filter to add, which
// looks for Pattern (an RE2 regular expression with Regex, else literal
// text, case folded) in Fields, on Board ("": every board), and does Action to the posts it
// matches: rejects them, bans their posters for BanHours with Reason, or
// puts Replacement in the place of what it matched.
// HeldDecision is POST /api/admin/held/{board}/{no}: publish the held
// post (approve) or delete it.
type HeldDecision struct {
	Approve *bool `json:"approve"`
}

type FilterRequest struct {
	Board       string        `json:"board,omitempty"`
	Pattern     string        `json:"pattern"`
	Regex       bool          `json:"regex,omitempty"`
	Fields      []FilterField `json:"fields"`
	Action      FilterAction  `json:"action"`
	Replacement string        `json:"replacement,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	BanHours    int           `json:"ban_hours,omitempty"`
}

// PurgeRequest is POST /api/admin/purge's body: whose posts to delete (IP
// or CIDR), where (Board; "": every board) and since when (Since, in RFC
// 3339; "": all of them). A range wider than a ban may be without
// confirmation needs ConfirmWide.
type PurgeRequest struct {
	IP          string `json:"ip,omitempty"`
	CIDR        string `json:"cidr,omitempty"`
	Board       string `json:"board,omitempty"`
	Since       string `json:"since,omitempty"`
	ConfirmWide bool   `json:"confirm_wide,omitempty"`
}

// FileBanRequest is POST /api/admin/filebans's body: the file to ban, by
// its SHA-256 or as the file of the post Board/No; Similar bans its near
// copies too, Delete deletes every post with it.
type FileBanRequest struct {
	SHA256  string `json:"sha256,omitempty"`
	Board   string `json:"board,omitempty"`
	No      int64  `json:"no,omitempty"`
	Similar bool   `json:"similar,omitempty"`
	Delete  bool   `json:"delete,omitempty"`
	Reason  string `json:"reason,omitempty"`
}
