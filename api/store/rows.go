package store

// Rows as the database holds them. Times are unix microseconds in BIGINT
// columns: they sort and compare the same on SQLite and PostgreSQL, with no
// time-zone or text-format surprises.

type boardRow struct {
	ID             int64  `gorm:"primaryKey"`
	Name           string `gorm:"size:16;not null;uniqueIndex"`
	Title          string `gorm:"size:100;not null"`
	Description    string `gorm:"size:2000;not null;default:''"`
	MaxThreads     int    `gorm:"not null"`
	BumpLimit      int    `gorm:"not null"`
	ImageLimit     int    `gorm:"not null"`
	MaxFileSize    int64  `gorm:"not null"`
	CooldownThread int    `gorm:"not null"`
	CooldownReply  int    `gorm:"not null"`
	PosterIDs      bool   `gorm:"not null"`
	// MaxFiles is how many files a post may carry (1 to MaxFilesLimit).
	MaxFiles  int    `gorm:"not null;default:1"`
	FileTypes string `gorm:"size:64;not null;default:''"` // extensions without dots, comma-separated; empty: the defaults
	// UniqueCommentsMinutes: a comment the board had within that many
	// minutes is refused (posts' CommentHash); 0: off.
	UniqueCommentsMinutes int `gorm:"not null;default:0"`
	// HoldNewPosters holds the posts of a key with no approved post on
	// the board (posts' Held, approvedPosterRow).
	HoldNewPosters bool  `gorm:"not null;default:false"`
	LastNo         int64 `gorm:"not null;default:0"` // the board's post counter; its row lock orders the board's posts
	CreatedUS      int64 `gorm:"not null"`
	ModifiedUS     int64 `gorm:"not null"`

	// The captcha (maniwani.Board's fields of the same names): the mode
	// staff set, the flood thresholds, and the mode a flood raised the
	// board to until when (unix µs; "" and 0 when none).
	Captcha              string `gorm:"size:8;not null;default:'off'"`
	CaptchaAutoThreads   int    `gorm:"not null;default:0"`
	CaptchaAutoPosts     int    `gorm:"not null;default:0"`
	CaptchaAutoMinutes   int    `gorm:"not null;default:60"`
	CaptchaRaised        string `gorm:"size:8;not null;default:''"`
	CaptchaRaisedUntilUS int64  `gorm:"not null;default:0"`
}

func (boardRow) TableName() string { return "boards" }

type threadRow struct {
	ID         int64 `gorm:"primaryKey"`
	BoardID    int64 `gorm:"not null;uniqueIndex:threads_board_no;index:threads_board_live,priority:1"`
	No         int64 `gorm:"not null;uniqueIndex:threads_board_no"`
	Sticky     bool  `gorm:"not null;default:false"`
	Closed     bool  `gorm:"not null;default:false"`
	Archived   bool  `gorm:"not null;default:false;index:threads_board_live,priority:2"`
	Replies    int   `gorm:"not null;default:0"`
	Images     int   `gorm:"not null;default:0"`
	BumpedUS   int64 `gorm:"not null;index:threads_board_live,priority:3"`
	ModifiedUS int64 `gorm:"not null"`
	ArchivedUS int64 `gorm:"not null;default:0"`
}

func (threadRow) TableName() string { return "threads" }

type postRow struct {
	ID           int64  `gorm:"primaryKey"`
	BoardID      int64  `gorm:"not null;uniqueIndex:posts_board_no;index:posts_board_thread,priority:1;index:posts_board_ip,priority:1;index:posts_board_ip_key,priority:1;index:posts_board_comment,priority:1;index:posts_held,priority:2"`
	No           int64  `gorm:"not null;uniqueIndex:posts_board_no;index:posts_board_thread,priority:3"`
	ThreadNo     int64  `gorm:"not null;index:posts_board_thread,priority:2"` // equal to No on an opening post
	CreatedUS    int64  `gorm:"not null;index:posts_board_ip,priority:3;index:posts_board_ip_key,priority:3;index:posts_board_comment,priority:3;index:posts_held,priority:3"`
	Name         string `gorm:"size:100;not null"`
	Trip         string `gorm:"size:32;not null;default:''"`
	PosterID     string `gorm:"size:16;not null;default:''"`
	Subject      string `gorm:"size:100;not null;default:''"`
	Body         string `gorm:"type:text;not null"`
	Com          string `gorm:"type:text;not null"`
	Sage         bool   `gorm:"not null;default:false"`
	IP           string `gorm:"size:45;not null;index:posts_board_ip,priority:2"`
	PasswordHash string `gorm:"size:64;not null;default:''"`
	// IPKey is what cooldowns count by (realip.Key): the address for IPv4,
	// its /64 for IPv6, all of which one poster holds. IP keeps the whole
	// address, which staff see and bans match.
	IPKey string `gorm:"size:45;not null;default:'';index:posts_board_ip_key,priority:2"`
	// CommentHash is commentHash of the body ("" without a comment), for
	// the board's unique_comments_minutes.
	CommentHash string `gorm:"size:32;not null;default:'';index:posts_board_comment,priority:2"`
	// Held: the post waits for a moderator's review (the board's
	// hold_new_posters). Every read the public sees leaves it out, and
	// its thread's counts and bump do not have it until it is approved; a
	// held opening post has no thread row until then.
	Held bool `gorm:"not null;default:false;index:posts_held,priority:1"`
	// Version goes up with every change of the row, by a trigger
	// (versionTriggers), whoever writes it: a thread's read keeps the
	// posts it read and reads again only those whose version moved.
	Version int64 `gorm:"not null;default:0"`
}

func (postRow) TableName() string { return "posts" }

// fileRow is a post's attachment; the bytes live in media, keyed by SHA256.
type fileRow struct {
	ID      int64 `gorm:"primaryKey"`
	BoardID int64 `gorm:"not null;uniqueIndex:files_board_post_idx;uniqueIndex:files_board_tim"`
	PostNo  int64 `gorm:"not null;uniqueIndex:files_board_post_idx"`
	// Idx is the file's place among its post's files (the board's
	// max_files), from 0: the first is the one the post's own JSON fields
	// show.
	Idx       int    `gorm:"not null;default:0;uniqueIndex:files_board_post_idx"`
	Tim       int64  `gorm:"not null;uniqueIndex:files_board_tim"` // the file's name on the board: unique
	Filename  string `gorm:"size:255;not null"`
	Ext       string `gorm:"size:8;not null"`
	Size      int64  `gorm:"not null"`
	MD5       string `gorm:"size:24;not null"`
	SHA256    string `gorm:"size:64;not null;index"`
	Width     int    `gorm:"not null"`
	Height    int    `gorm:"not null"`
	ThumbW    int    `gorm:"not null"`
	ThumbH    int    `gorm:"not null"`
	Spoiler   bool   `gorm:"not null;default:false"`
	Thumbnail bool   `gorm:"not null;default:false"`
	// ThumbFailed: the thumbnailer could not make one (a damaged file); the
	// page keeps its placeholder and the job is not sent again.
	ThumbFailed bool `gorm:"not null;default:false"`
	// Version goes up with every change of the row, as posts' does.
	Version int64 `gorm:"not null;default:0"`
}

func (fileRow) TableName() string { return "files" }

type banRow struct {
	ID   int64  `gorm:"primaryKey"`
	CIDR string `gorm:"size:64;not null"`
	// The range as 32 hex digits of its first and last 16-byte addresses
	// (IPv4 mapped into IPv6), so that matching an address is a string
	// comparison both databases index and agree on.
	IPStart   string `gorm:"size:32;not null;index:bans_range,priority:1"`
	IPEnd     string `gorm:"size:32;not null;index:bans_range,priority:2"`
	Reason    string `gorm:"size:1000;not null"`
	Board     string `gorm:"size:16;not null;default:''"`
	Staff     string `gorm:"size:64;not null;default:''"`
	CreatedUS int64  `gorm:"not null"`
	ExpiresUS int64  `gorm:"not null;default:0;index"` // 0: permanent
}

func (banRow) TableName() string { return "bans" }

type reportRow struct {
	ID        int64  `gorm:"primaryKey"`
	BoardID   int64  `gorm:"not null;index:reports_board_post"`
	PostNo    int64  `gorm:"not null;index:reports_board_post"`
	Reason    string `gorm:"size:200;not null"`
	IP        string `gorm:"size:45;not null"`
	CreatedUS int64  `gorm:"not null"`
}

func (reportRow) TableName() string { return "reports" }

type staffRow struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;not null;uniqueIndex"`
	PasswordHash string `gorm:"size:255;not null"`
	Role         string `gorm:"size:16;not null"`
	CreatedUS    int64  `gorm:"not null"`
}

func (staffRow) TableName() string { return "staff" }

type modLogRow struct {
	ID     int64  `gorm:"primaryKey"`
	TimeUS int64  `gorm:"not null;index"`
	Staff  string `gorm:"size:64;not null"`
	Action string `gorm:"size:64;not null"`
	Target string `gorm:"size:255;not null"`
	Reason string `gorm:"size:1000;not null;default:''"`
}

func (modLogRow) TableName() string { return "mod_log" }

// settingRow holds site-wide values every api instance must share, such as
// the secret behind secure tripcodes and poster IDs.
type settingRow struct {
	Key   string `gorm:"primaryKey;size:64"`
	Value string `gorm:"type:text;not null"`
}

func (settingRow) TableName() string { return "settings" }

// quoteRow is one quote of a post by another (>>N, >>>/x/N), kept when the
// quoting post is stored, so a page shows who replied to a post (its
// backlinks) without scanning every body.
type quoteRow struct {
	ID      int64  `gorm:"primaryKey"`
	BoardID int64  `gorm:"not null;index:quotes_from,priority:1"` // the quoting post's board
	FromNo  int64  `gorm:"not null;index:quotes_from,priority:2"`
	ToBoard string `gorm:"size:16;not null;index:quotes_to,priority:1"`
	ToNo    int64  `gorm:"not null;index:quotes_to,priority:2"`
}

func (quoteRow) TableName() string { return "quotes" }

// approvedPosterRow is a poster's key (realip.Key) whose post a
// moderator approved on a board: its later posts there are not held.
type approvedPosterRow struct {
	ID        int64  `gorm:"primaryKey"`
	BoardID   int64  `gorm:"not null;uniqueIndex:approved_posters_board_key,priority:1"`
	IPKey     string `gorm:"size:45;not null;uniqueIndex:approved_posters_board_key,priority:2"`
	CreatedUS int64  `gorm:"not null"`
}

func (approvedPosterRow) TableName() string { return "approved_posters" }

// filterRow is a filter on what posters type (maniwani.Filter).
type filterRow struct {
	ID          int64  `gorm:"primaryKey"`
	Board       string `gorm:"size:16;not null;default:''"`
	Pattern     string `gorm:"size:1024;not null"`
	Regex       bool   `gorm:"not null;default:false"`
	Fields      string `gorm:"size:64;not null"` // comma-separated
	Action      string `gorm:"size:16;not null"`
	Replacement string `gorm:"size:1024;not null;default:''"`
	Reason      string `gorm:"size:1000;not null;default:''"`
	BanHours    int    `gorm:"not null;default:0"`
	Staff       string `gorm:"size:64;not null;default:''"`
	CreatedUS   int64  `gorm:"not null"`
}

func (filterRow) TableName() string { return "filters" }

// captchaUsedRow is a captcha challenge that was answered, rightly or not:
// a challenge is a signed token that the server keeps nothing of until
// then, and this row makes it good once on every api instance. It goes
// once the challenge has expired anyway.
type captchaUsedRow struct {
	ID        string `gorm:"primaryKey;size:32"`
	ExpiresUS int64  `gorm:"not null;index"`
}

func (captchaUsedRow) TableName() string { return "captcha_used" }

// movedPostRow is where a post of a moved thread went: its old address
// answers a redirect to the new one. A thread moved again updates the
// rows that pointed at it, so each old address is one step from where the
// post is now.
type movedPostRow struct {
	ID        int64  `gorm:"primaryKey"`
	FromBoard string `gorm:"size:16;not null;uniqueIndex:moved_posts_from,priority:1"`
	FromNo    int64  `gorm:"not null;uniqueIndex:moved_posts_from,priority:2"`
	ToBoard   string `gorm:"size:16;not null;index:moved_posts_to,priority:1"`
	ToNo      int64  `gorm:"not null;index:moved_posts_to,priority:2"`
	ToThread  int64  `gorm:"not null"`
}

func (movedPostRow) TableName() string { return "moved_posts" }
