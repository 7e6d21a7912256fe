package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// FileByName finds the file a board serves as tim: which bytes it is.
func (s *Store) FileByName(ctx context.Context, board string, tim int64) (maniwani.FileRef, error) {
	var row fileRow
	err := s.db.WithContext(ctx).Joins("JOIN boards ON boards.id = files.board_id").
		Where("boards.name = ? AND files.tim = ?", board, tim).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return maniwani.FileRef{}, notFound("File %d does not exist on /%s/.", tim, board)
	}
	if err != nil {
		return maniwani.FileRef{}, err
	}
	return maniwani.FileRef{Board: board, Tim: tim, SHA256: row.SHA256, Ext: row.Ext}, nil
}

// ThreadOf tells the thread of the board's post no; a post held for
// review is not found.
func (s *Store) ThreadOf(ctx context.Context, board string, no int64) (int64, error) {
	var thread []int64
	err := s.db.WithContext(ctx).Model(&postRow{}).Joins("JOIN boards ON boards.id = posts.board_id").
		Where("boards.name = ? AND posts.no = ? AND posts.held = ?", board, no, false).Limit(1).Pluck("posts.thread_no", &thread).Error
	if err != nil {
		return 0, err
	}
	if len(thread) == 0 {
		return 0, notFound("Post No.%d does not exist on /%s/.", no, board)
	}
	return thread[0], nil
}

// FileUsers counts the files, on every board, whose bytes are sha.
func (s *Store) FileUsers(ctx context.Context, sha string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&fileRow{}).Where("sha256 = ?", sha).Count(&n).Error
	return n, err
}

// ThumbnailMade records that the thumbnail of the bytes sha exists, on
// every file that uses them, and returns the posts whose pages show them
// (a post held for review is on none).
func (s *Store) ThumbnailMade(ctx context.Context, sha string) ([]maniwani.Ref, error) {
	var refs []maniwani.Ref
	err := s.write(ctx, func(tx *gorm.DB) error {
		refs = refs[:0]
		err := tx.Model(&fileRow{}).Select("boards.name AS board, posts.thread_no AS no").
			Joins("JOIN boards ON boards.id = files.board_id").
			Joins("JOIN posts ON posts.board_id = files.board_id AND posts.no = files.post_no").
			Where("files.sha256 = ? AND NOT files.thumbnail AND posts.held = ?", sha, false).Scan(&refs).Error
		if err != nil {
			return err
		}
		return tx.Model(&fileRow{}).Where("sha256 = ? AND NOT thumbnail", sha).Update("thumbnail", true).Error
	})
	return refs, err
}

// ThumbnailFailed records that the bytes sha cannot be thumbnailed.
func (s *Store) ThumbnailFailed(ctx context.Context, sha string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&fileRow{}).Where("sha256 = ?", sha).Update("thumb_failed", true).Error
	})
}

// WithoutThumbnail lists up to limit files, newest first, whose thumbnail
// is not recorded as made: the jobs to send again after a restart.
func (s *Store) WithoutThumbnail(ctx context.Context, limit int) ([]maniwani.FileRef, error) {
	type row struct {
		Board  string
		Tim    int64
		SHA256 string
		Ext    string
	}
	var rows []row
	err := s.db.WithContext(ctx).Model(&fileRow{}).
		Select("boards.name AS board, files.tim, files.sha256, files.ext").
		Joins("JOIN boards ON boards.id = files.board_id").
		Where("NOT files.thumbnail AND NOT files.thumb_failed").Order("files.id DESC").Limit(limit).Scan(&rows).Error
	out := make([]maniwani.FileRef, len(rows))
	for i, r := range rows {
		out[i] = maniwani.FileRef{Board: r.Board, Tim: r.Tim, SHA256: r.SHA256, Ext: r.Ext}
	}
	return out, err
}
