package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// The api is the admin UI's maniwani.StaffAPI in one process: each call is
// admitted as its staff API route admits it (the same permission; a state
// change needs the CSRF token) and does what the route does, without HTTP.

var _ maniwani.StaffAPI = (*Service)(nil)

// Whether a staff call changes anything, and so needs its CSRF token.
const (
	reads   = false
	changes = true
)

// asStaff admits call with perm, then does fn as the staff member it is.
func asStaff[T any](ctx context.Context, s *Service, call maniwani.StaffCall, perm maniwani.Permission, write bool,
	fn func(*staffRequest) (T, error)) (T, error) {
	st, err := s.admitStaff(ctx, call, perm, write)
	var out T
	if err == nil {
		out, err = fn(st)
	}
	return out, staffError(err)
}

// staffError is err as the caller is told it: a spent budget says when to
// try again, as the HTTP answer's Retry-After does.
func staffError(err error) error {
	if sp := (*store.Spent)(nil); errors.As(err, &sp) {
		return spentError(sp)
	}
	return err
}

// none is the answer of a call that answers nothing.
type none struct{}

func noAnswer(err error) (none, error) { return none{}, err }

// Login implements maniwani.StaffAPI.
func (s *Service) Login(ctx context.Context, call maniwani.StaffCall, in maniwani.StaffLogin) (*maniwani.StaffSession, []*http.Cookie, error) {
	sess, cookies, err := s.login(ctx, call, in)
	return sess, cookies, staffError(err)
}

// Logout implements maniwani.StaffAPI.
func (s *Service) Logout(ctx context.Context, call maniwani.StaffCall) ([]*http.Cookie, error) {
	return asStaff(ctx, s, call, "", changes, func(st *staffRequest) ([]*http.Cookie, error) { return s.logout(ctx, st) })
}

// Session implements maniwani.StaffAPI.
func (s *Service) Session(ctx context.Context, call maniwani.StaffCall) (*maniwani.StaffSession, error) {
	return asStaff(ctx, s, call, "", reads, func(st *staffRequest) (*maniwani.StaffSession, error) {
		sess := s.session(&st.staff, st.token)
		return &sess, nil
	})
}

// ListBoards implements maniwani.StaffAPI.
func (s *Service) ListBoards(ctx context.Context, call maniwani.StaffCall) ([]maniwani.BoardSettings, error) {
	return asStaff(ctx, s, call, "", reads, func(st *staffRequest) ([]maniwani.BoardSettings, error) {
		return s.listBoards(ctx, st)
	})
}

// CreateBoard implements maniwani.StaffAPI.
func (s *Service) CreateBoard(ctx context.Context, call maniwani.StaffCall, in maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	return asStaff(ctx, s, call, maniwani.PermBoards, changes, func(st *staffRequest) (*maniwani.BoardSettings, error) {
		return s.createBoard(ctx, st, in)
	})
}

// UpdateBoard implements maniwani.StaffAPI.
func (s *Service) UpdateBoard(ctx context.Context, call maniwani.StaffCall, board string, in maniwani.BoardPatch) (*maniwani.BoardSettings, error) {
	return asStaff(ctx, s, call, maniwani.PermBoards, changes, func(st *staffRequest) (*maniwani.BoardSettings, error) {
		return s.updateBoard(ctx, st, board, in)
	})
}

// DeleteBoard implements maniwani.StaffAPI.
func (s *Service) DeleteBoard(ctx context.Context, call maniwani.StaffCall, board string) error {
	_, err := asStaff(ctx, s, call, maniwani.PermBoards, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.deleteBoard(ctx, st, board))
	})
	return err
}

// ReadPost implements maniwani.StaffAPI.
func (s *Service) ReadPost(ctx context.Context, call maniwani.StaffCall, board string, no int64) (*maniwani.StaffPost, error) {
	return asStaff(ctx, s, call, maniwani.PermDelete, reads, func(st *staffRequest) (*maniwani.StaffPost, error) {
		return s.readPost(ctx, st, board, no)
	})
}

// DeletePost implements maniwani.StaffAPI.
func (s *Service) DeletePost(ctx context.Context, call maniwani.StaffCall, board string, no int64, in maniwani.PostDeletion) (*maniwani.StaffDeleted, error) {
	return asStaff(ctx, s, call, maniwani.PermDelete, changes, func(st *staffRequest) (*maniwani.StaffDeleted, error) {
		return s.deletePost(ctx, st, board, no, in)
	})
}

// UpdateThread implements maniwani.StaffAPI.
func (s *Service) UpdateThread(ctx context.Context, call maniwani.StaffCall, board string, no int64, in maniwani.ThreadPatch) (*maniwani.StaffThread, error) {
	return asStaff(ctx, s, call, maniwani.PermThreads, changes, func(st *staffRequest) (*maniwani.StaffThread, error) {
		return s.updateThread(ctx, st, board, no, in)
	})
}

// ListBans implements maniwani.StaffAPI.
func (s *Service) ListBans(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffBan, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, reads, func(st *staffRequest) ([]maniwani.StaffBan, error) {
		return s.listBans(ctx, st)
	})
}

// CreateBan implements maniwani.StaffAPI.
func (s *Service) CreateBan(ctx context.Context, call maniwani.StaffCall, in maniwani.BanRequest) (*maniwani.StaffBan, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (*maniwani.StaffBan, error) {
		return s.createBan(ctx, st, in)
	})
}

// LiftBan implements maniwani.StaffAPI.
func (s *Service) LiftBan(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.liftBan(ctx, st, id))
	})
	return err
}

// ListReports implements maniwani.StaffAPI.
func (s *Service) ListReports(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffReport, error) {
	return asStaff(ctx, s, call, maniwani.PermReports, reads, func(st *staffRequest) ([]maniwani.StaffReport, error) {
		return s.listReports(ctx, st)
	})
}

// DismissReport implements maniwani.StaffAPI.
func (s *Service) DismissReport(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := asStaff(ctx, s, call, maniwani.PermReports, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.dismissReport(ctx, st, id))
	})
	return err
}

// ListStaff implements maniwani.StaffAPI.
func (s *Service) ListStaff(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffMember, error) {
	return asStaff(ctx, s, call, maniwani.PermStaff, reads, func(st *staffRequest) ([]maniwani.StaffMember, error) {
		return s.listStaff(ctx, st)
	})
}

// CreateStaff implements maniwani.StaffAPI.
func (s *Service) CreateStaff(ctx context.Context, call maniwani.StaffCall, in maniwani.NewStaffMember) (*maniwani.StaffMember, error) {
	return asStaff(ctx, s, call, maniwani.PermStaff, changes, func(st *staffRequest) (*maniwani.StaffMember, error) {
		return s.createStaff(ctx, st, in)
	})
}

// DeleteStaff implements maniwani.StaffAPI.
func (s *Service) DeleteStaff(ctx context.Context, call maniwani.StaffCall, username string) error {
	_, err := asStaff(ctx, s, call, maniwani.PermStaff, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.deleteStaff(ctx, st, username))
	})
	return err
}

// ReadLog implements maniwani.StaffAPI.
func (s *Service) ReadLog(ctx context.Context, call maniwani.StaffCall, limit int) ([]maniwani.StaffLogEntry, error) {
	return asStaff(ctx, s, call, maniwani.PermLog, reads, func(st *staffRequest) ([]maniwani.StaffLogEntry, error) {
		return s.readLog(ctx, st, limit)
	})
}

// ListFilters implements maniwani.StaffAPI.
func (s *Service) ListFilters(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffFilter, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, reads, func(st *staffRequest) ([]maniwani.StaffFilter, error) {
		return s.listFilters(ctx, st)
	})
}

// CreateFilter implements maniwani.StaffAPI.
func (s *Service) CreateFilter(ctx context.Context, call maniwani.StaffCall, in maniwani.FilterRequest) (*maniwani.StaffFilter, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (*maniwani.StaffFilter, error) {
		return s.createFilter(ctx, st, in)
	})
}

// DeleteFilter implements maniwani.StaffAPI.
func (s *Service) DeleteFilter(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.deleteFilter(ctx, st, id))
	})
	return err
}

// ListHeld implements maniwani.StaffAPI.
func (s *Service) ListHeld(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffPost, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, reads, func(st *staffRequest) ([]maniwani.StaffPost, error) {
		return s.listHeld(ctx, st)
	})
}

// DecideHeld implements maniwani.StaffAPI.
func (s *Service) DecideHeld(ctx context.Context, call maniwani.StaffCall, board string, no int64, approve bool) (*maniwani.StaffHeldDone, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (*maniwani.StaffHeldDone, error) {
		return s.decideHeld(ctx, st, board, no, approve)
	})
}

// Purge implements maniwani.StaffAPI.
func (s *Service) Purge(ctx context.Context, call maniwani.StaffCall, in maniwani.PurgeRequest) (*maniwani.StaffPurged, error) {
	return asStaff(ctx, s, call, maniwani.PermIPs, changes, func(st *staffRequest) (*maniwani.StaffPurged, error) {
		return s.purge(ctx, st, in)
	})
}

// ListFileBans implements maniwani.StaffAPI.
func (s *Service) ListFileBans(ctx context.Context, call maniwani.StaffCall) ([]maniwani.StaffFileBan, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, reads, func(st *staffRequest) ([]maniwani.StaffFileBan, error) {
		return s.listFileBans(ctx, st)
	})
}

// CreateFileBan implements maniwani.StaffAPI.
func (s *Service) CreateFileBan(ctx context.Context, call maniwani.StaffCall, in maniwani.FileBanRequest) (*maniwani.StaffFileBan, error) {
	return asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (*maniwani.StaffFileBan, error) {
		return s.createFileBan(ctx, st, in)
	})
}

// LiftFileBan implements maniwani.StaffAPI.
func (s *Service) LiftFileBan(ctx context.Context, call maniwani.StaffCall, id int64) error {
	_, err := asStaff(ctx, s, call, maniwani.PermBan, changes, func(st *staffRequest) (none, error) {
		return noAnswer(s.liftFileBan(ctx, st, id))
	})
	return err
}
