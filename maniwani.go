// Package maniwani holds the domain of the imageboard: its types, the kinds of
// error every service speaks, and the interfaces between the services. It
// imports nothing of ours, so every service can import it and none has to
// import the inside of another.
package maniwani

import (
	"slices"
	"time"
)

// Board is a board and its settings. Durations are whole seconds, as the
// staff API and boards.json carry them.
type Board struct {
	Name           string
	Title          string
	Description    string
	MaxThreads     int   // live threads kept; past it the least recently bumped goes to the archive
	BumpLimit      int   // replies after which a thread no longer bumps
	ImageLimit     int   // replies with files after which a thread takes no more files
	MaxFileSize    int64 // bytes
	CooldownThread int   // seconds between new threads from one IP on this board
	CooldownReply  int   // seconds between replies from one IP on this board
	PosterIDs      bool  // show a per-thread poster ID
	MaxFiles       int   // files a post may carry, 1 to MaxFilesLimit; 0 reads as 1
	// UniqueCommentsMinutes refuses a comment the board already had
	// within that many minutes, from any address (case and whitespace
	// aside); 0: off.
	UniqueCommentsMinutes int
	// HoldNewPosters holds a post from an address (its realip.Key) with
	// no approved post on the board yet for a moderator's review: it is
	// shown to nobody until approved.
	HoldNewPosters bool
	// FileTypes are the extensions of the files the board takes (".jpg",
	// ".webm", ...); empty means DefaultFileTypes.
	FileTypes []string
	LastNo    int64 // the last post number taken on the board
	Modified  time.Time

	// Captcha is the board's own captcha mode, as staff set it; the mode in
	// force (CaptchaAt) may be higher for a while, raised by a flood.
	Captcha CaptchaMode
	// CaptchaAutoThreads and CaptchaAutoPosts are the new threads and the
	// posts an hour past which the mode in force is raised, to at least
	// CaptchaThreads and to CaptchaAll, for CaptchaAutoMinutes; 0: never.
	CaptchaAutoThreads, CaptchaAutoPosts int
	CaptchaAutoMinutes                   int
	// CaptchaRaised is the mode a flood raised the board to, until
	// CaptchaRaisedUntil; empty when none is.
	CaptchaRaised      CaptchaMode
	CaptchaRaisedUntil time.Time
}

// The limits of a post's files unless a board or a service's Config says
// otherwise. Each is defined here alone; every other place takes it from
// here.
const (
	// DefaultMaxFileSize is a board's file size limit, in bytes: 8 MiB.
	DefaultMaxFileSize = 8 << 20
	// DefaultMaxPixels bounds an image's or a video's width x height: 40
	// megapixels, as the README says. A small file can declare a huge
	// image (a decompression bomb) and a decoded one costs up to 4 bytes a
	// pixel: the api refuses an upload past it, and the thumbnailer
	// decodes none past it.
	DefaultMaxPixels = 40_000_000
)

// DefaultBoard is board b as a new site gets it. A board created without
// some setting takes this one's.
func DefaultBoard() Board {
	return Board{
		Name: "b", Title: "Random", Description: "The stories and information posted here are artistic works of fiction and falsehood.",
		MaxThreads: 150, BumpLimit: 300, ImageLimit: 150, MaxFileSize: DefaultMaxFileSize, MaxFiles: 1,
		CooldownThread: 30, CooldownReply: 10, Captcha: CaptchaOff, CaptchaAutoMinutes: DefaultCaptchaAutoMinutes,
	}
}

// MaxFilesLimit bounds a board's max_files: a post's files are each
// checked, hashed and thumbnailed, so a post of many costs as many posts.
const MaxFilesLimit = 4

// Files is how many files a post on the board may carry.
func (b *Board) Files() int { return min(max(b.MaxFiles, 1), MaxFilesLimit) }

// DefaultCaptchaAutoMinutes is how long a flood raises a board's captcha
// mode unless the board says otherwise: an hour, the span its thresholds
// count in.
const DefaultCaptchaAutoMinutes = 60

// CaptchaMode says which posts of a board need a solved captcha.
type CaptchaMode string

const (
	CaptchaOff     CaptchaMode = "off"
	CaptchaThreads CaptchaMode = "threads" // new threads only
	CaptchaAll     CaptchaMode = "all"
)

// rank orders the modes: off below threads below all; an unknown mode is
// off.
func (m CaptchaMode) rank() int {
	switch m {
	case CaptchaThreads:
		return 1
	case CaptchaAll:
		return 2
	}
	return 0
}

func (m CaptchaMode) orOff() CaptchaMode {
	if !m.Valid() {
		return CaptchaOff
	}
	return m
}

// Valid tells whether m is one of the modes.
func (m CaptchaMode) Valid() bool { return m == CaptchaOff || m == CaptchaThreads || m == CaptchaAll }

// AtLeast tells whether m asks as much as o or more.
func (m CaptchaMode) AtLeast(o CaptchaMode) bool { return m.rank() >= o.rank() }

// Needs tells whether a post under mode m needs a captcha: a new thread
// (resto 0) or a reply.
func (m CaptchaMode) Needs(resto int64) bool {
	return m == CaptchaAll || (m == CaptchaThreads && resto == 0)
}

// CaptchaAt is the board's captcha mode in force at t: its own, or the one
// a flood raised it to while that lasts, whichever asks more.
func (b *Board) CaptchaAt(t time.Time) CaptchaMode {
	m := b.Captcha.orOff()
	if t.Before(b.CaptchaRaisedUntil) && b.CaptchaRaised.rank() > m.rank() {
		m = b.CaptchaRaised
	}
	return m
}

// BoardSettings is a board as the staff API's boards routes give it.
type BoardSettings struct {
	Name           string   `json:"name"`
	Title          string   `json:"title"`
	Description    string   `json:"description"`
	MaxThreads     int      `json:"max_threads"`
	BumpLimit      int      `json:"bump_limit"`
	ImageLimit     int      `json:"image_limit"`
	MaxFileSize    int64    `json:"max_file_size"`
	CooldownThread int      `json:"cooldown_thread"`
	CooldownReply  int      `json:"cooldown_reply"`
	PosterIDs      bool     `json:"poster_ids"`
	MaxFiles       int      `json:"max_files"`
	FileTypes      []string `json:"file_types"`
	// UniqueComments is unique_comments_minutes (Board.UniqueCommentsMinutes).
	UniqueComments int `json:"unique_comments_minutes"`
	// The captcha: the board's own mode, the flood thresholds (0: never)
	// and how long a flood raises the mode.
	Captcha                   CaptchaMode `json:"captcha"`
	CaptchaAutoThreadsPerHour int         `json:"captcha_auto_threads_per_hour"`
	CaptchaAutoPostsPerHour   int         `json:"captcha_auto_posts_per_hour"`
	CaptchaAutoMinutes        int         `json:"captcha_auto_minutes"`
	// CaptchaInForce is the mode in force when the answer was made, which
	// a flood may have raised (boards.json's captcha); read only.
	CaptchaInForce CaptchaMode `json:"captcha_in_force,omitempty"`
	HoldNewPosters bool        `json:"hold_new_posters"`
}

// Settings is the board as the staff API gives it, its file types spelt out.
func (b *Board) Settings() BoardSettings {
	return BoardSettings{Name: b.Name, Title: b.Title, Description: b.Description, MaxThreads: b.MaxThreads,
		BumpLimit: b.BumpLimit, ImageLimit: b.ImageLimit, MaxFileSize: b.MaxFileSize,
		CooldownThread: b.CooldownThread, CooldownReply: b.CooldownReply, PosterIDs: b.PosterIDs, MaxFiles: b.Files(),
		FileTypes: slices.Clone(b.Types()), UniqueComments: b.UniqueCommentsMinutes, Captcha: b.Captcha.orOff(),
		CaptchaAutoThreadsPerHour: b.CaptchaAutoThreads, CaptchaAutoPostsPerHour: b.CaptchaAutoPosts,
		CaptchaAutoMinutes: b.CaptchaAutoMinutes, HoldNewPosters: b.HoldNewPosters}
}

// DefaultFileTypes are the files a board takes unless it says otherwise.
var DefaultFileTypes = []string{".jpg", ".png", ".gif", ".webp", ".webm", ".mp4"}

// Types are the extensions of the files the board takes.
func (b *Board) Types() []string {
	if len(b.FileTypes) == 0 {
		return DefaultFileTypes
	}
	return b.FileTypes
}

// ThreadsPerPage is the number of threads on one index page, as on 4chan.
const ThreadsPerPage = 15

// Pages is how many index pages the board's live threads can fill.
func (b *Board) Pages() int {
	p := (b.MaxThreads + ThreadsPerPage - 1) / ThreadsPerPage
	if p < 1 {
		p = 1
	}
	return p
}

// Thread is what a board knows of a thread beyond its opening post.
type Thread struct {
	Board    string
	No       int64 // the opening post's number
	Sticky   bool
	Closed   bool
	Archived bool
	Replies  int
	Images   int
	Bumped   time.Time
	Modified time.Time
	Archive  time.Time // when it went to the archive; zero while live
	// Posters counts the thread's posters (their addresses' keys, as
	// cooldowns count them); Page is the index page it is on, from 1 (0
	// when archived). Both are filled by the reads of threads; 0: not
	// counted.
	Posters int
	Page    int
}

// Post is one post. IP and PasswordHash are for staff and self-delete only:
// nothing public ever shows them.
type Post struct {
	Board        string
	No           int64
	Resto        int64 // the thread's number; 0 for an opening post
	Time         time.Time
	Name         string
	Trip         string // with its leading "!" or "!!"; empty without one
	PosterID     string // empty on boards without poster IDs
	Subject      string
	Body         string // what the poster wrote
	Com          string // Body rendered to safe HTML
	Sage         bool
	IP           string
	PasswordHash string
	File         *File
	// Extra are the files after the first (a board's max_files), in the
	// order they were sent.
	Extra []File
}

// Equal tells whether p and q are the same post, field for field and file
// for file: what a kept rendering of a post is checked against
// (TestPostEqualSeesEveryField keeps it whole as fields are added).
func (p *Post) Equal(q *Post) bool {
	if (p.File == nil) != (q.File == nil) || (p.File != nil && *p.File != *q.File) || !slices.Equal(p.Extra, q.Extra) {
		return false
	}
	return p.Board == q.Board && p.No == q.No && p.Resto == q.Resto && p.Time == q.Time &&
		p.Name == q.Name && p.Trip == q.Trip && p.PosterID == q.PosterID && p.Subject == q.Subject &&
		p.Body == q.Body && p.Com == q.Com && p.Sage == q.Sage && p.IP == q.IP && p.PasswordHash == q.PasswordHash
}

// Clone is a copy of p that shares no file with it.
func (p *Post) Clone() Post {
	q := *p
	if p.File != nil {
		f := *p.File
		q.File = &f
	}
	q.Extra = slices.Clone(p.Extra)
	return q
}

// Files are all the post's files, the first first.
func (p *Post) Files() []File {
	if p.File == nil {
		return nil
	}
	return append([]File{*p.File}, p.Extra...)
}

// File is a post's attachment.
type File struct {
	Tim       int64 // milliseconds; the file's name on the media host
	Filename  string
	Ext       string // with its dot
	Size      int64
	MD5       string // 24-character base64
	SHA256    string // hex; where media stores it
	Width     int
	Height    int
	ThumbW    int
	ThumbH    int
	Spoiler   bool
	Thumbnail bool // the thumbnail exists
}

// ThreadView is a thread with its posts as a page or JSON shows it: the
// opening post first, then the replies that are shown, oldest first.
type ThreadView struct {
	Thread
	Posts         []Post
	OmittedPosts  int
	OmittedImages int
}

// Ban keeps an address or a range of addresses from posting.
type Ban struct {
	ID      int64
	CIDR    string // a single address is a /32 or /128
	Reason  string
	Created time.Time
	Expires time.Time // zero: permanent
	Board   string    // empty: every board
	Staff   string
}

// Active tells whether the ban still holds at t.
func (b *Ban) Active(t time.Time) bool { return b.Expires.IsZero() || t.Before(b.Expires) }

// FileBan refuses a file on every board: its exact bytes (SHA256, hex) and,
// with Similar, any image whose perceptual hash (api/upload/phash) is
// within phash.Threshold of PHash.
type FileBan struct {
	ID       int64
	SHA256   string
	PHash    uint64
	HasPHash bool // the banned file is an image that was hashed
	Similar  bool
	Reason   string
	Staff    string
	Created  time.Time
}

// Report is a poster's complaint about a post.
type Report struct {
	ID      int64
	Board   string
	No      int64
	Reason  string
	IP      string
	Created time.Time
}

// Role is what a staff member may do.
type Role string

const (
	RoleJanitor   Role = "janitor"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
)

// Valid tells whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleJanitor || r == RoleModerator || r == RoleAdmin }

// Permission is one kind of thing staff do.
type Permission string

const (
	PermReports Permission = "reports"   // read and dismiss reports
	PermDelete  Permission = "delete"    // delete posts and files
	PermIPs     Permission = "ips"       // see posters' addresses; delete by address
	PermBan     Permission = "ban"       // ban and lift bans
	PermThreads Permission = "threads"   // sticky and close threads
	PermLog     Permission = "log"       // read the moderation log
	PermBoards  Permission = "boards"    // create, change and delete boards
	PermStaff   Permission = "staff"     // manage staff accounts
	PermWideBan Permission = "wide_bans" // ban ranges wider than an IPv4 /16 or an IPv6 /32
)

// Permissions is the table of what each role may do: a janitor cleans, a
// moderator also judges posters, an admin also runs the site.
func (r Role) Permissions() []Permission {
	switch r {
	case RoleJanitor:
		return []Permission{PermReports, PermDelete}
	case RoleModerator:
		return []Permission{PermReports, PermDelete, PermIPs, PermBan, PermThreads, PermLog}
	case RoleAdmin:
		return []Permission{PermReports, PermDelete, PermIPs, PermBan, PermThreads, PermLog, PermBoards, PermStaff, PermWideBan}
	}
	return nil
}

// Can tells whether the role has the permission.
func (r Role) Can(p Permission) bool {
	for _, q := range r.Permissions() {
		if q == p {
			return true
		}
	}
	return false
}

// Staff is a moderator's account.
type Staff struct {
	ID           int64
	Username     string
	PasswordHash string // argon2id, PHC string format
	Role         Role
	Created      time.Time
}

// LogEntry is one line of the moderation log.
type LogEntry struct {
	ID     int64
	Time   time.Time
	Staff  string
	Action string
	Target string
	Reason string
}

// ValidBoardName tells whether name can be a board's: 1 to 16 lowercase
// letters or digits, and not a word the routes use for themselves.
func ValidBoardName(name string) bool {
	if len(name) < 1 || len(name) > 16 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	switch name {
	case "admin", "api", "live", "media", "static", "assets", "metrics", "healthz", "readyz",
		"boards", "post", "thread", "catalog", "archive", "captcha":
		return false
	}
	return true
}

// Filter is a rule staff set on what posters type: a pattern looked for
// in some fields of every post (of one board, or of all), and what to do
// when it is there.
type Filter struct {
	ID      int64
	Board   string // empty: every board
	Pattern string
	// Regex: Pattern is an RE2 regular expression, matched as written;
	// otherwise it is literal text, matched case-insensitively anywhere.
	Regex  bool
	Fields []FilterField
	Action FilterAction
	// Replacement takes the place of the matched text (ActionReplace).
	Replacement string
	// Reason is what the poster is told (ActionReject, ActionBan).
	Reason   string
	BanHours int // ActionBan's length
	Staff    string
	Created  time.Time
}

// FilterField is a field of a post a filter looks at.
type FilterField string

const (
	FieldCom      FilterField = "com"
	FieldName     FilterField = "name"
	FieldSubject  FilterField = "sub"
	FieldFilename FilterField = "filename"
)

// FilterFields are the fields a filter can look at.
var FilterFields = []FilterField{FieldCom, FieldName, FieldSubject, FieldFilename}

// FilterAction is what a filter does to a post it matches.
type FilterAction string

const (
	ActionReject  FilterAction = "reject"  // refuse the post with the reason
	ActionBan     FilterAction = "ban"     // refuse it and ban the poster's address
	ActionReplace FilterAction = "replace" // replace the matched text before rendering
)
