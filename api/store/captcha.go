package store

import (
	"context"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
)

func captchaOrOff(m maniwani.CaptchaMode) maniwani.CaptchaMode {
	if !m.Valid() {
		return maniwani.CaptchaOff
	}
	return m
}

// RaiseCaptcha raises the board's captcha mode to mode until until, at
// time at, unless a flood already raised it as high for as long. It tells
// whether it changed the board: whether the mode in force (boards.json)
// may have moved.
func (s *Store) RaiseCaptcha(ctx context.Context, board string, mode maniwani.CaptchaMode, at, until time.Time) (bool, error) {
	var changed bool
	err := s.write(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&boardRow{}).Where("name = ?", board)
		// A raise to threads that races one to all must not lower it.
		if mode != maniwani.CaptchaAll {
			q = q.Where("NOT (captcha_raised = ? AND captcha_raised_until_us > ?)", string(maniwani.CaptchaAll), at.UnixMicro())
		}
		res := q.Where("NOT (captcha_raised = ? AND captcha_raised_until_us >= ?)", string(mode), until.UnixMicro()).
			Updates(map[string]any{"captcha_raised": string(mode), "captcha_raised_until_us": until.UnixMicro(),
				"modified_us": at.UnixMicro()})
		changed = res.RowsAffected > 0
		return res.Error
	})
	return changed, err
}

// LowerCaptchas ends, at time at, the raises that a flood made and whose
// time is up; it returns the boards it lowered, whose mode in force moved.
func (s *Store) LowerCaptchas(ctx context.Context, at time.Time) ([]string, error) {
	now := at.UnixMicro()
	var names []string
	err := s.db.WithContext(ctx).Model(&boardRow{}).
		Where("captcha_raised <> '' AND captcha_raised_until_us <= ?", now).Pluck("name", &names).Error
	if err != nil || len(names) == 0 {
		return nil, err
	}
	var lowered []string
	for _, name := range names {
		err := s.write(ctx, func(tx *gorm.DB) error {
			// Again under the write: another instance may have lowered it,
			// or a new flood raised it again, meanwhile.
			res := tx.Model(&boardRow{}).
				Where("name = ? AND captcha_raised <> '' AND captcha_raised_until_us <= ?", name, now).
				Updates(map[string]any{"captcha_raised": "", "captcha_raised_until_us": 0, "modified_us": now})
			if res.RowsAffected > 0 {
				lowered = append(lowered, name)
			}
			return res.Error
		})
		if err != nil {
			return lowered, err
		}
	}
	return lowered, nil
}

// Recent tells whether the board has had n or more new threads (threads)
// or posts since since. It reads n entries of an index at most, newest
// first, whatever the board holds: the n-th newest is since or not.
func (s *Store) Recent(ctx context.Context, board string, threads bool, n int, since time.Time) (bool, error) {
	if n <= 0 {
		return false, nil
	}
	db := s.db.WithContext(ctx)
	// The board's id as a value, not a join: the planner then walks the
	// index (board_id, no) backwards, n entries, on both databases.
	boardID := db.Model(&boardRow{}).Select("id").Where("name = ?", board)
	var created []int64
	var err error
	if threads {
		// The n-th newest thread, then its opening post's time: two walks
		// of a unique index, where a join let PostgreSQL's planner sort.
		var nos []int64
		err = db.Model(&threadRow{}).Where("board_id = (?)", boardID).Order("no DESC").Offset(n-1).Limit(1).
			Pluck("no", &nos).Error
		if err != nil || len(nos) == 0 {
			return false, err
		}
		err = db.Model(&postRow{}).Where("board_id = (?) AND no = ?", boardID, nos[0]).Pluck("created_us", &created).Error
	} else {
		err = db.Model(&postRow{}).Where("board_id = (?)", boardID).Order("no DESC").Offset(n-1).Limit(1).
			Pluck("created_us", &created).Error
	}
	if err != nil || len(created) == 0 {
		return false, err
	}
	return created[0] > since.UnixMicro(), nil
}

// UseChallenge marks the captcha challenge id used at time at; it tells
// whether it was the first use. Good until expires, the row can go after.
func (s *Store) UseChallenge(ctx context.Context, id string, expires, at time.Time) (bool, error) {
	var first bool
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&captchaUsedRow{ID: id, ExpiresUS: expires.UnixMicro()})
		first = res.RowsAffected > 0
		return res.Error
	})
	if err != nil {
		return false, err
	}
	if sweepDue(&s.lastCaptchaSweep, at) {
		// Best effort: what is left goes the next time.
		s.write(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
			return tx.Where("expires_us < ?", at.UnixMicro()).Delete(&captchaUsedRow{}).Error
		})
	}
	return first, nil
}

// sweepDue tells whether a sweep last done at last (unix µs) is due again
// at at, for one caller of those that ask at once.
func sweepDue(last *atomic.Int64, at time.Time) bool {
	l := last.Load()
	return at.UnixMicro()-l >= sweepEvery.Microseconds() && last.CompareAndSwap(l, at.UnixMicro())
}
