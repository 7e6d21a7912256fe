package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

func (r *boardRow) domain() maniwani.Board {
	return maniwani.Board{
		Name: r.Name, Title: r.Title, Description: r.Description,
		MaxThreads: r.MaxThreads, BumpLimit: r.BumpLimit, ImageLimit: r.ImageLimit,
		MaxFileSize: r.MaxFileSize, CooldownThread: r.CooldownThread, CooldownReply: r.CooldownReply,
		PosterIDs: r.PosterIDs, MaxFiles: max(r.MaxFiles, 1), LastNo: r.LastNo, Modified: usToTime(r.ModifiedUS),
		FileTypes: splitTypes(r.FileTypes), UniqueCommentsMinutes: r.UniqueCommentsMinutes,
		Captcha: maniwani.CaptchaMode(r.Captcha), CaptchaAutoThreads: r.CaptchaAutoThreads,
		CaptchaAutoPosts: r.CaptchaAutoPosts, CaptchaAutoMinutes: r.CaptchaAutoMinutes,
		CaptchaRaised: maniwani.CaptchaMode(r.CaptchaRaised), CaptchaRaisedUntil: usToTime(r.CaptchaRaisedUntilUS),
		HoldNewPosters: r.HoldNewPosters,
	}
}

// splitTypes and joinTypes keep a board's file types as "jpg,webm": dots
// and commas would be redundant in the column.
func splitTypes(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = "." + p
	}
	return parts
}

func joinTypes(types []string) string {
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = strings.TrimPrefix(t, ".")
	}
	return strings.Join(parts, ",")
}

// Boards lists every board by name.
func (s *Store) Boards(ctx context.Context) ([]maniwani.Board, error) {
	var rows []boardRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.Board, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// Board finds one board by name.
func (s *Store) Board(ctx context.Context, name string) (*maniwani.Board, error) {
	row, err := s.boardRow(s.db.WithContext(ctx), name)
	if err != nil {
		return nil, err
	}
	b := row.domain()
	return &b, nil
}

func (s *Store) boardRow(db *gorm.DB, name string) (*boardRow, error) {
	var row boardRow
	err := db.Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound("Board /%s/ does not exist.", name)
	}
	if err != nil {
		return nil, err
	}
	return &row, nil
}

// postRow finds the board's row and its post no's.
func (s *Store) postRow(db *gorm.DB, board string, no int64) (*boardRow, *postRow, error) {
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, nil, err
	}
	var p postRow
	err = db.Where("board_id = ? AND no = ?", b.ID, no).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, notFound("Post No.%d does not exist on /%s/.", no, board)
	}
	if err != nil {
		return nil, nil, err
	}
	return b, &p, nil
}

// CreateBoard adds a board; its settings must already be valid.
func (s *Store) CreateBoard(ctx context.Context, b maniwani.Board) error {
	now := time.Now().UnixMicro()
	row := boardRow{
		Name: b.Name, Title: b.Title, Description: b.Description,
		MaxThreads: b.MaxThreads, BumpLimit: b.BumpLimit, ImageLimit: b.ImageLimit,
		MaxFileSize: b.MaxFileSize, CooldownThread: b.CooldownThread, CooldownReply: b.CooldownReply,
		PosterIDs: b.PosterIDs, MaxFiles: b.Files(), FileTypes: joinTypes(b.FileTypes), UniqueCommentsMinutes: b.UniqueCommentsMinutes,
		HoldNewPosters: b.HoldNewPosters, CreatedUS: now, ModifiedUS: now,
		Captcha: string(captchaOrOff(b.Captcha)), CaptchaAutoThreads: b.CaptchaAutoThreads,
		CaptchaAutoPosts: b.CaptchaAutoPosts, CaptchaAutoMinutes: b.CaptchaAutoMinutes,
	}
	if row.CaptchaAutoMinutes <= 0 {
		row.CaptchaAutoMinutes = maniwani.DefaultCaptchaAutoMinutes
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&boardRow{}).Where("name = ?", b.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return maniwani.Errorf(maniwani.KindConflict, "Board /%s/ already exists.", b.Name)
		}
		return tx.Create(&row).Error
	})
}

// UpdateBoard changes a board's settings (not its name or counter).
func (s *Store) UpdateBoard(ctx context.Context, b maniwani.Board) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&boardRow{}).Where("name = ?", b.Name).Updates(map[string]any{
			"title": b.Title, "description": b.Description, "max_threads": b.MaxThreads,
			"bump_limit": b.BumpLimit, "image_limit": b.ImageLimit, "max_file_size": b.MaxFileSize,
			"cooldown_thread": b.CooldownThread, "cooldown_reply": b.CooldownReply,
			"poster_ids": b.PosterIDs, "max_files": b.Files(), "file_types": joinTypes(b.FileTypes),
			"unique_comments_minutes": b.UniqueCommentsMinutes, "hold_new_posters": b.HoldNewPosters,
			"modified_us": time.Now().UnixMicro(),
			"captcha":     string(captchaOrOff(b.Captcha)), "captcha_auto_threads": b.CaptchaAutoThreads,
			"captcha_auto_posts": b.CaptchaAutoPosts, "captcha_auto_minutes": b.CaptchaAutoMinutes,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Board /%s/ does not exist.", b.Name)
		}
		return nil
	})
}
