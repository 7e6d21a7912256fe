package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// Staff sessions, login throttling and the moderators' actions.

type sessionRow struct {
	// Hash is the SHA-256 (hex) of the session token: a copy of the table
	// does not give away live sessions.
	Hash       string `gorm:"primaryKey;size:64"`
	StaffID    int64  `gorm:"not null;index"`
	CreatedUS  int64  `gorm:"not null"`
	LastSeenUS int64  `gorm:"not null;index"`
}

func (sessionRow) TableName() string { return "sessions" }

// loginFailureRow is the table of failed logins before attempts (limits.go)
// counted them; migration 0004 still makes it.
type loginFailureRow struct {
	ID       int64  `gorm:"primaryKey"`
	IP       string `gorm:"size:45;not null;index:login_failures_ip,priority:1"`
	Username string `gorm:"size:64;not null;index:login_failures_user,priority:1"`
	TimeUS   int64  `gorm:"not null;index:login_failures_ip,priority:2;index:login_failures_user,priority:2"`
}

func (loginFailureRow) TableName() string { return "login_failures" }

// Session is a staff member's session as stored.
type Session struct {
	Staff    maniwani.Staff
	Created  time.Time
	LastSeen time.Time
}

// CreateSession stores a new session of a staff member under the hash of
// its token.
func (s *Store) CreateSession(ctx context.Context, hash string, staffID int64, at time.Time) error {
	now := at.UnixMicro()
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Create(&sessionRow{Hash: hash, StaffID: staffID, CreatedUS: now, LastSeenUS: now}).Error
	})
}

// SessionByHash finds the session whose token hashes to hash, if it has
// been used within idle and is younger than absolute at t; it then counts
// as used at t. An expired session is deleted and not found.
func (s *Store) SessionByHash(ctx context.Context, hash string, at time.Time, idle, absolute time.Duration) (*Session, error) {
	db := s.db.WithContext(ctx)
	var row sessionRow
	err := db.Where("hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, maniwani.Errorf(maniwani.KindUnauthorized, "Log in first.")
	}
	if err != nil {
		return nil, err
	}
	now := at.UnixMicro()
	if now-row.LastSeenUS > idle.Microseconds() || now-row.CreatedUS > absolute.Microseconds() {
		s.write(ctx, func(tx *gorm.DB) error { return tx.Where("hash = ?", hash).Delete(&sessionRow{}).Error })
		return nil, maniwani.Errorf(maniwani.KindUnauthorized, "Your session has expired; log in again.")
	}
	var st staffRow
	if err := db.Where("id = ?", row.StaffID).Take(&st).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, maniwani.Errorf(maniwani.KindUnauthorized, "Log in first.")
		}
		return nil, err
	}
	// Marking the session used costs a write; once a minute is enough for
	// an idle limit counted in minutes.
	if now-row.LastSeenUS > time.Minute.Microseconds() {
		err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&sessionRow{}).Where("hash = ?", hash).Update("last_seen_us", now).Error
		})
		if err != nil {
			return nil, err
		}
		row.LastSeenUS = now
	}
	return &Session{Staff: st.domain(), Created: usToTime(row.CreatedUS), LastSeen: usToTime(row.LastSeenUS)}, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx *gorm.DB) error { return tx.Where("hash = ?", hash).Delete(&sessionRow{}).Error })
}

func (r *staffRow) domain() maniwani.Staff {
	return maniwani.Staff{ID: r.ID, Username: r.Username, PasswordHash: r.PasswordHash,
		Role: maniwani.Role(r.Role), Created: usToTime(r.CreatedUS)}
}

// ListStaff lists the staff accounts by name.
func (s *Store) ListStaff(ctx context.Context) ([]maniwani.Staff, error) {
	var rows []staffRow
	if err := s.db.WithContext(ctx).Order("username").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.Staff, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
		out[i].PasswordHash = ""
	}
	return out, nil
}

// DeleteStaff removes a staff account and ends its sessions.
func (s *Store) DeleteStaff(ctx context.Context, username string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var r staffRow
		err := tx.Where("username = ?", username).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("No staff account %q.", username)
		}
		if err != nil {
			return err
		}
		if err := tx.Where("staff_id = ?", r.ID).Delete(&sessionRow{}).Error; err != nil {
			return err
		}
		return tx.Delete(&r).Error
	})
}

// AddLog writes a line of the moderation log.
func (s *Store) AddLog(ctx context.Context, e maniwani.LogEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error { return addLog(tx, e) })
}

func addLog(tx *gorm.DB, e maniwani.LogEntry) error {
	return tx.Create(&modLogRow{TimeUS: timeToUS(e.Time), Staff: e.Staff, Action: e.Action, Target: e.Target,
		Reason: e.Reason}).Error
}

// Log reads the newest lines of the moderation log, newest first.
func (s *Store) Log(ctx context.Context, limit int) ([]maniwani.LogEntry, error) {
	var rows []modLogRow
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.LogEntry, len(rows))
	for i, r := range rows {
		out[i] = maniwani.LogEntry{ID: r.ID, Time: usToTime(r.TimeUS), Staff: r.Staff, Action: r.Action,
			Target: r.Target, Reason: r.Reason}
	}
	return out, nil
}

// Bans lists every ban, newest first, expired ones included.
func (s *Store) Bans(ctx context.Context) ([]maniwani.Ban, error) {
	var rows []banRow
	if err := s.db.WithContext(ctx).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.Ban, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// DeleteBan lifts a ban, with its line in the log.
func (s *Store) DeleteBan(ctx context.Context, id int64, e maniwani.LogEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var r banRow
		err := tx.Where("id = ?", id).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("No ban %d.", id)
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(&r).Error; err != nil {
			return err
		}
		e.Target = r.CIDR
		return addLog(tx, e)
	})
}

// Reports lists the open reports, oldest first.
func (s *Store) Reports(ctx context.Context) ([]maniwani.Report, error) {
	type row struct {
		ID        int64
		Board     string
		PostNo    int64
		Reason    string
		IP        string
		CreatedUS int64
	}
	var rows []row
	err := s.db.WithContext(ctx).Model(&reportRow{}).
		Select("reports.id, boards.name AS board, reports.post_no, reports.reason, reports.ip, reports.created_us").
		Joins("JOIN boards ON boards.id = reports.board_id").Order("reports.id").Scan(&rows).Error
	out := make([]maniwani.Report, len(rows))
	for i, r := range rows {
		out[i] = maniwani.Report{ID: r.ID, Board: r.Board, No: r.PostNo, Reason: r.Reason, IP: r.IP,
			Created: usToTime(r.CreatedUS)}
	}
	return out, err
}

// DeleteReport dismisses a report, with its line in the log.
func (s *Store) DeleteReport(ctx context.Context, id int64, e maniwani.LogEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&reportRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("No report %d.", id)
		}
		return addLog(tx, e)
	})
}

// Post reads one post with what only staff see (its address).
func (s *Store) Post(ctx context.Context, board string, no int64) (*maniwani.Post, error) {
	db := s.db.WithContext(ctx)
	b, r, err := s.postRow(db, board, no)
	if err != nil {
		return nil, err
	}
	ps := []maniwani.Post{r.domain(board)}
	if err := s.attachFiles(db, b.ID, ps); err != nil {
		return nil, err
	}
	return &ps[0], nil
}

// Scope says which posts a staff deletion takes.
type Scope int

const (
	ScopePost     Scope = iota // the post alone (its thread, if it opens one)
	ScopeIPThread              // every post of the post's address in its thread
	ScopeIPBoard               // every post of the post's address on the board
)

// StaffDelete removes a post, or every post of its address in its thread
// or on the board, and logs it.
func (s *Store) StaffDelete(ctx context.Context, board string, no int64, scope Scope, e maniwani.LogEntry) (*StaffDeleted, error) {
	out := &StaffDeleted{}
	err := s.write(ctx, func(tx *gorm.DB) error {
		*out = StaffDeleted{}
		b, p, err := s.postRow(tx, board, no)
		if err != nil {
			return err
		}
		posts := []postRow{*p}
		switch scope {
		case ScopeIPThread:
			err = tx.Where("board_id = ? AND thread_no = ? AND ip = ?", b.ID, p.ThreadNo, p.IP).Find(&posts).Error
		case ScopeIPBoard:
			err = tx.Where("board_id = ? AND ip = ?", b.ID, p.IP).Find(&posts).Error
		}
		if err != nil {
			return err
		}
		for _, q := range posts {
			out.Posts = append(out.Posts, maniwani.Ref{Board: board, No: q.No})
			out.Threads = append(out.Threads, q.ThreadNo)
			if q.ThreadNo == q.No {
				out.Ops = append(out.Ops, q.No)
			}
		}
		if out.Files, err = deletePosts(tx, b, posts, timeToUS(e.Time)); err != nil {
			return err
		}
		return addLog(tx, e)
	})
	return out, err
}

// StaffDeleted is what StaffDelete removed.
type StaffDeleted struct {
	Posts   []maniwani.Ref
	Threads []int64 // the threads of the posts (a deleted opening post's is gone)
	Ops     []int64 // the threads that went whole
	Files   []GoneFile
}

// DeleteFile removes a post's files and keeps the post, and logs it.
func (s *Store) DeleteFile(ctx context.Context, board string, no int64, e maniwani.LogEntry) (thread int64, gone []GoneFile, err error) {
	err = s.write(ctx, func(tx *gorm.DB) error {
		b, p, err := s.postRow(tx, board, no)
		if err != nil {
			return err
		}
		files, err := deleteFiles(tx, b.ID, board, tx.Model(&postRow{}).Select("no").Where("board_id = ? AND no = ?", b.ID, no))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return notFound("Post No.%d has no file.", no)
		}
		thread, gone = p.ThreadNo, files
		now := timeToUS(e.Time)
		upd := map[string]any{"modified_us": now}
		if p.ThreadNo != p.No && !p.Held { // a held reply's file was never counted
			upd["images"] = gorm.Expr("images - ?", len(files))
		}
		if err := tx.Model(&threadRow{}).Where("board_id = ? AND no = ?", b.ID, p.ThreadNo).Updates(upd).Error; err != nil {
			return err
		}
		return addLog(tx, e)
	})
	return thread, gone, err
}

// BanNote is what a post shows once its poster was banned for it.
const BanNote = `<br><br><strong class="banned">(USER WAS BANNED FOR THIS POST)</strong>`

// MarkBanned appends the public ban note to a post's com, once, and tells
// its thread.
func (s *Store) MarkBanned(ctx context.Context, board string, no int64) (thread int64, err error) {
	err = s.write(ctx, func(tx *gorm.DB) error {
		_, p, err := s.postRow(tx, board, no)
		if err != nil {
			return err
		}
		thread = p.ThreadNo
		if strings.HasSuffix(p.Com, BanNote) {
			return nil
		}
		return tx.Model(p).Update("com", p.Com+BanNote).Error
	})
	return thread, err
}

// DeleteBoard removes a board with everything on it, and logs it; it
// returns the files that went.
func (s *Store) DeleteBoard(ctx context.Context, name string, e maniwani.LogEntry) ([]GoneFile, error) {
	var files []GoneFile
	err := s.write(ctx, func(tx *gorm.DB) error {
		b, err := s.boardRow(tx, name)
		if err != nil {
			return err
		}
		all := tx.Model(&postRow{}).Select("no").Where("board_id = ?", b.ID)
		if files, err = deleteFiles(tx, b.ID, name, all); err != nil {
			return err
		}
		for _, m := range []any{&quoteRow{}, &reportRow{}, &postRow{}, &threadRow{}, &approvedPosterRow{}} {
			if err := tx.Where("board_id = ?", b.ID).Delete(m).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("to_board = ?", name).Delete(&quoteRow{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(b).Error; err != nil {
			return err
		}
		return addLog(tx, e)
	})
	return files, err
}
