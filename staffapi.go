package maniwani

import (
	"context"
	"net/http"
)

// StaffAPI is the staff API (the contract's Staff API) as the admin UI
// calls it. The api implements it in one process; its HTTP client does,
// over the staff API's routes, when the ui runs apart. Each call carries
// the browser's StaffCall, so the api judges it as if the browser had
// called it itself.
//
// Errors carry kinds: no valid session is KindUnauthorized; too low a
// role, or a state change without the session's CSRF token,
// KindForbidden; a limit spent or a busy server says when to try again
// (RetryAfter).
type StaffAPI interface {
	// Login checks the credentials and answers the new session, with
	// the cookies the browser is to keep: the session's and the device's.
	Login(ctx context.Context, call StaffCall, in StaffLogin) (*StaffSession, []*http.Cookie, error)
	// Logout ends the call's session, with the cookie that drops it.
	Logout(ctx context.Context, call StaffCall) ([]*http.Cookie, error)
	// Session is who the call's session is.
	Session(ctx context.Context, call StaffCall) (*StaffSession, error)

	ListBoards(ctx context.Context, call StaffCall) ([]BoardSettings, error)
	CreateBoard(ctx context.Context, call StaffCall, in BoardPatch) (*BoardSettings, error)
	UpdateBoard(ctx context.Context, call StaffCall, board string, in BoardPatch) (*BoardSettings, error)
	// DeleteBoard deletes the board and everything on it.
	DeleteBoard(ctx context.Context, call StaffCall, board string) error

	// ReadPost is a post as staff see it.
	ReadPost(ctx context.Context, call StaffCall, board string, no int64) (*StaffPost, error)
	DeletePost(ctx context.Context, call StaffCall, board string, no int64, in PostDeletion) (*StaffDeleted, error)
	// UpdateThread sets a thread's flags, or moves it: the answer says
	// where it is now.
	UpdateThread(ctx context.Context, call StaffCall, board string, no int64, in ThreadPatch) (*StaffThread, error)

	ListBans(ctx context.Context, call StaffCall) ([]StaffBan, error)
	CreateBan(ctx context.Context, call StaffCall, in BanRequest) (*StaffBan, error)
	LiftBan(ctx context.Context, call StaffCall, id int64) error

	ListReports(ctx context.Context, call StaffCall) ([]StaffReport, error)
	DismissReport(ctx context.Context, call StaffCall, id int64) error

	ListStaff(ctx context.Context, call StaffCall) ([]StaffMember, error)
	CreateStaff(ctx context.Context, call StaffCall, in NewStaffMember) (*StaffMember, error)
	DeleteStaff(ctx context.Context, call StaffCall, username string) error

	// ReadLog is the moderation log, newest first, at most limit entries
	// (0: 100; at most 1,000).
	ReadLog(ctx context.Context, call StaffCall, limit int) ([]StaffLogEntry, error)

	// The defences against spam: filters, purges and file bans.
	ListFilters(ctx context.Context, call StaffCall) ([]StaffFilter, error)
	CreateFilter(ctx context.Context, call StaffCall, in FilterRequest) (*StaffFilter, error)
	DeleteFilter(ctx context.Context, call StaffCall, id int64) error
	// Purge deletes every post of an address or range (on a board, since
	// a time) and says how many went.
	Purge(ctx context.Context, call StaffCall, in PurgeRequest) (*StaffPurged, error)
	ListFileBans(ctx context.Context, call StaffCall) ([]StaffFileBan, error)
	CreateFileBan(ctx context.Context, call StaffCall, in FileBanRequest) (*StaffFileBan, error)
	LiftFileBan(ctx context.Context, call StaffCall, id int64) error
	// ListHeld is the posts held for review, oldest first; DecideHeld
	// publishes one (approve) or deletes it.
	ListHeld(ctx context.Context, call StaffCall) ([]StaffPost, error)
	DecideHeld(ctx context.Context, call StaffCall, board string, no int64, approve bool) (*StaffHeldDone, error)
}

// StaffCall is what a staff call carries of the browser's request that
// asked for it: what the staff API would read of that request had the
// browser sent it there itself.
type StaffCall struct {
	// Session is the session cookie's value; "": none.
	Session string
	// CSRFToken is the session's CSRF token, which a state change needs
	// (the X-CSRF-Token header, or the admin UI's form field).
	CSRFToken string
	// Devices are the values of the browser's device cookies, which
	// Login reads.
	Devices []string
	// RemoteAddr is the peer of the browser's request (host:port), and
	// ForwardedFor its X-Forwarded-For values in order: the api finds the
	// client's address in them as it does in a request's (believing
	// X-Forwarded-For from trusted proxies only).
	RemoteAddr   string
	ForwardedFor []string
	// ForwardedProto is the request's X-Forwarded-Proto, believed from a
	// trusted proxy; TLS tells whether the request itself came over TLS.
	// Either makes the cookies Login and Logout set Secure.
	ForwardedProto string
	TLS            bool
	// RequestID is the request's X-Request-Id, for the logs.
	RequestID string
}

// The staff API's cookies: the session's, and the device tokens that keep
// an account's own browsers out of its login limit.
const (
	StaffSessionCookie = "mw_session"
	StaffDeviceCookie  = "mw_device"
)

// StaffCallOf is the StaffCall of r, a browser's request, with csrf the
// CSRF token it sent ("" for a call that changes nothing).
func StaffCallOf(r *http.Request, csrf string) StaffCall {
	c := StaffCall{CSRFToken: csrf, RemoteAddr: r.RemoteAddr, ForwardedFor: r.Header.Values("X-Forwarded-For"),
		ForwardedProto: r.Header.Get("X-Forwarded-Proto"), TLS: r.TLS != nil, RequestID: r.Header.Get("X-Request-Id")}
	if ck, err := r.Cookie(StaffSessionCookie); err == nil {
		c.Session = ck.Value
	}
	for _, ck := range r.CookiesNamed(StaffDeviceCookie) {
		c.Devices = append(c.Devices, ck.Value)
	}
	return c
}
