package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/maniwani/maniwani"
)

// The Client is the admin UI's maniwani.StaffAPI when the api runs apart:
// each call is a request to the staff API's own route, carrying what the
// browser's request carried (StaffCall) as a reverse proxy would pass it
// on: its cookies, its CSRF token, X-Forwarded-For with the browser's peer
// added, X-Forwarded-Proto ("https" when the browser's request came over
// TLS) and X-Request-Id. The api, which trusts the ui as a proxy, judges
// the call as the browser's own.

var _ maniwani.StaffAPI = (*Client)(nil)

// staff makes one staff API request: in, when not nil, as its JSON body;
// a 2xx answer's JSON into out, when not nil. It gives back the answer's
// cookies.
func (c *Client) staff(ctx context.Context, call maniwani.StaffCall, method, path string, in, out any) ([]*http.Cookie, error) {
	if c.base == "" {
		return nil, maniwani.Errorf(maniwani.KindUnavailable, "The api's address (MANIWANI_API_URL) is not set.")
	}
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	setCall(req, call)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The staff API is unavailable.", Err: err}
	}
	defer resp.Body.Close()
	if err := maniwani.ResponseError(resp); err != nil {
		if resp.StatusCode >= 500 && resp.Header.Get(maniwani.ErrorKindHeader) == "" {
			// Not the api's answer (a proxy's, with the api not reached):
			// its words are not for the page.
			err = &maniwani.Error{Kind: maniwani.ErrorKind(err), Message: "The staff API is unavailable.", Err: err}
		}
		return nil, fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return nil, &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The staff API is unavailable.", Err: err}
		}
		if err := json.Unmarshal(b, out); err != nil {
			return nil, &maniwani.Error{Kind: maniwani.KindUnavailable,
				Message: "The staff API gave an answer the page cannot read.", Err: err}
		}
	}
	return resp.Cookies(), nil
}

// setCall puts on req what call carries, as a reverse proxy passes a
// browser's request on.
func setCall(req *http.Request, call maniwani.StaffCall) {
	if call.Session != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: call.Session})
	}
	for _, d := range call.Devices {
		req.AddCookie(&http.Cookie{Name: DeviceCookie, Value: d})
	}
	if call.CSRFToken != "" {
		req.Header.Set("X-CSRF-Token", call.CSRFToken)
	}
	forwarded := call.ForwardedFor
	if host, _, err := net.SplitHostPort(call.RemoteAddr); err == nil {
		forwarded = append(forwarded[:len(forwarded):len(forwarded)], host)
	}
	if len(forwarded) > 0 {
		req.Header.Set("X-Forwarded-For", strings.Join(forwarded, ", "))
	}
	proto := call.ForwardedProto
	if call.TLS {
		proto = "https"
	}
	if proto != "" {
		req.Header.Set("X-Forwarded-Proto", proto)
	}
	if call.RequestID != "" {
		req.Header.Set("X-Request-Id", call.RequestID)
	}
}

func postPath(board string, no int64) string {
	return "/api/admin/posts/" + url.PathEscape(board) + "/" + strconv.FormatInt(no, 10)
}

// Login implements maniwani.StaffAPI.
func (c *Client) Login(ctx context.Context, call maniwani.StaffCall, in maniwani.StaffLogin) (*maniwani.StaffSession, []*http.Cookie, error) {
	var v maniwani.StaffSession
	cookies, err := c.staff(ctx, call, http.MethodPost, "/api/admin/login", in, &v)
	if err != nil {
		return nil, nil, err
	}
	return &v, cookies, nil
}

// Logout implements maniwani.StaffAPI.
func (c *Client) Logout(ctx context.Context, call maniwani.StaffCall) ([]*http.Cookie, error) {
	return c.staff(ctx, call, http.MethodPost, "/api/admin/logout", nil, nil)
}

// Session implements maniwani.StaffAPI.
func (c *Client) Session(ctx context.Context, call maniwani.StaffCall) (*maniwani.StaffSession, error) {
	var v maniwani.StaffSession
	if _, err := c.staff(ctx, call, http.MethodGet, "/api/admin/session", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListBoards implements maniwani.StaffAPI.
func (c *Client) ListBoards(ctx context.Context, call maniwani.StaffCall) ([]maniwani.BoardSettings, error) {
	var v maniwani.StaffBoards
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/boards", nil, &v)
	return v.Boards, err
}

// CreateBoard implements maniwani.StaffAPI.
func (c *Client) CreateBoard(ctx context.Context, call maniwani.StaffCall, in maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	var v maniwani.BoardSettings
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/boards", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// UpdateBoard implements maniwani.StaffAPI.
func (c *Client) UpdateBoard(ctx context.Context, call maniwani.StaffCall, board string, in maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	var v maniwani.BoardSettings
	if _, err := c.staff(ctx, call, http.MethodPatch, "/api/admin/boards/"+url.PathEscape(board), in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DeleteBoard implements maniwani.StaffAPI.
func (c *Client) DeleteBoard(ctx context.Context, call maniwani.StaffCall, board string) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/boards/"+url.PathEscape(board), nil, nil)
	return err
}

// ReadPost implements maniwani.StaffAPI.
func (c *Client) ReadPost(ctx context.Context, call maniwani.StaffCall, board string, no int64) (*maniwani.StaffPost, error) {
	var v maniwani.StaffPost
	if _, err := c.staff(ctx, call, http.MethodGet, postPath(board, no), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DeletePost implements maniwani.StaffAPI.
func (c *Client) DeletePost(ctx context.Context, call maniwani.StaffCall, board string, no int64, in maniwani.PostDeletion) (*maniwani.StaffDeleted, error) {
	q := url.Values{}
	if in.FileOnly {
		q.Set("file_only", "1")
	}
	if in.ByIP != "" {
		q.Set("by_ip", in.ByIP)
	}
	if in.Reason != "" {
		q.Set("reason", in.Reason)
	}
	path := postPath(board, no)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var v maniwani.StaffDeleted
	if _, err := c.staff(ctx, call, http.MethodDelete, path, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// UpdateThread implements maniwani.StaffAPI.
func (c *Client) UpdateThread(ctx context.Context, call maniwani.StaffCall, board string, no int64, in maniwani.ThreadPatch) (*maniwani.StaffThread, error) {
	var v maniwani.StaffThread
	path := "/api/admin/threads/" + url.PathEscape(board) + "/" + strconv.FormatInt(no, 10)
	if _, err := c.staff(ctx, call, http.MethodPatch, path, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListBans implements maniwani.StaffAPI.
func (c *Client) ListBans(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffBan, error) {
	var v maniwani.StaffBans
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/bans", nil, &v)
	return v.Bans, err
}

// CreateBan implements maniwani.StaffAPI.
func (c *Client) CreateBan(ctx context.Context, call maniwani.StaffCall, in maniwani.BanRequest) (*maniwani.StaffBan, error) {
	var v maniwani.StaffBan
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/bans", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// LiftBan implements maniwani.StaffAPI.
func (c *Client) LiftBan(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/bans/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}

// ListReports implements maniwani.StaffAPI.
func (c *Client) ListReports(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffReport, error) {
	var v maniwani.StaffReports
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/reports", nil, &v)
	return v.Reports, err
}

// DismissReport implements maniwani.StaffAPI.
func (c *Client) DismissReport(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/reports/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}

// ListStaff implements maniwani.StaffAPI.
func (c *Client) ListStaff(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffMember, error) {
	var v maniwani.StaffList
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/staff", nil, &v)
	return v.Staff, err
}

// CreateStaff implements maniwani.StaffAPI.
func (c *Client) CreateStaff(ctx context.Context, call maniwani.StaffCall, in maniwani.NewStaffMember) (*maniwani.StaffMember, error) {
	var v maniwani.StaffMember
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/staff", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DeleteStaff implements maniwani.StaffAPI.
func (c *Client) DeleteStaff(ctx context.Context, call maniwani.StaffCall, username string) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/staff/"+url.PathEscape(username), nil, nil)
	return err
}

// ReadLog implements maniwani.StaffAPI.
func (c *Client) ReadLog(ctx context.Context, call maniwani.StaffCall, limit int) ([]maniwani.StaffLogEntry, error) {
	path := "/api/admin/log"
	if limit != 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var v maniwani.StaffLog
	_, err := c.staff(ctx, call, http.MethodGet, path, nil, &v)
	return v.Log, err
}

// ListFilters implements maniwani.StaffAPI.
func (c *Client) ListFilters(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffFilter, error) {
	var v maniwani.StaffFilters
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/filters", nil, &v)
	return v.Filters, err
}

// CreateFilter implements maniwani.StaffAPI.
func (c *Client) CreateFilter(ctx context.Context, call maniwani.StaffCall, in maniwani.FilterRequest) (*maniwani.StaffFilter, error) {
	var v maniwani.StaffFilter
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/filters", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DeleteFilter implements maniwani.StaffAPI.
func (c *Client) DeleteFilter(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/filters/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}

// ListHeld implements maniwani.StaffAPI.
func (c *Client) ListHeld(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffPost, error) {
	var v maniwani.StaffHeld
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/held", nil, &v)
	return v.Posts, err
}

// DecideHeld implements maniwani.StaffAPI.
func (c *Client) DecideHeld(ctx context.Context, call maniwani.StaffCall, board string, no int64, approve bool) (*maniwani.StaffHeldDone, error) {
	var v maniwani.StaffHeldDone
	path := "/api/admin/held/" + url.PathEscape(board) + "/" + strconv.FormatInt(no, 10)
	if _, err := c.staff(ctx, call, http.MethodPost, path, maniwani.HeldDecision{Approve: &approve}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Purge implements maniwani.StaffAPI.
func (c *Client) Purge(ctx context.Context, call maniwani.StaffCall, in maniwani.PurgeRequest) (*maniwani.StaffPurged, error) {
	var v maniwani.StaffPurged
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/purge", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListFileBans implements maniwani.StaffAPI.
func (c *Client) ListFileBans(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffFileBan, error) {
	var v maniwani.StaffFileBans
	_, err := c.staff(ctx, call, http.MethodGet, "/api/admin/filebans", nil, &v)
	return v.FileBans, err
}

// CreateFileBan implements maniwani.StaffAPI.
func (c *Client) CreateFileBan(ctx context.Context, call maniwani.StaffCall, in maniwani.FileBanRequest) (*maniwani.StaffFileBan, error) {
	var v maniwani.StaffFileBan
	if _, err := c.staff(ctx, call, http.MethodPost, "/api/admin/filebans", in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// LiftFileBan implements maniwani.StaffAPI.
func (c *Client) LiftFileBan(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := c.staff(ctx, call, http.MethodDelete, "/api/admin/filebans/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}
