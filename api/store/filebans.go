package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// fileBanRow is a banned file: its bytes' SHA-256, and the perceptual hash
// of the image, when it is one, for the bans that catch near copies.
type fileBanRow struct {
	ID     int64  `gorm:"primaryKey"`
	SHA256 string `gorm:"size:64;not null;uniqueIndex:file_bans_sha256"`
	// PHash is the 64 bits of the hash as a signed integer: PostgreSQL has
	// no unsigned one.
	PHash    int64 `gorm:"column:phash;not null;default:0"`
	HasPHash bool  `gorm:"column:has_phash;not null;default:false"`
	// Similar's column is not named similar: a word of PostgreSQL's SQL.
	Similar   bool   `gorm:"column:near_copies;not null;default:false;index"`
	Reason    string `gorm:"size:1000;not null"`
	Staff     string `gorm:"size:64;not null;default:''"`
	CreatedUS int64  `gorm:"not null"`
}

func (fileBanRow) TableName() string { return "file_bans" }

func (r *fileBanRow) domain() maniwani.FileBan {
	return maniwani.FileBan{ID: r.ID, SHA256: r.SHA256, PHash: uint64(r.PHash), HasPHash: r.HasPHash,
		Similar: r.Similar, Reason: r.Reason, Staff: r.Staff, Created: usToTime(r.CreatedUS)}
}

// FileBanDeleted is what a file ban made with its deletion removed: the
// posts that had the file, on every board, and their threads.
type FileBanDeleted struct {
	Posts   []maniwani.Ref
	Threads []int64 // Threads[i] is the thread of Posts[i]
	Files   []GoneFile
}

// CreateFileBan stores a file ban, with its line in the log (e), and when
// deleteAll is set deletes, in the same transaction, every post whose file
// has its bytes, on every board. A file banned already is a conflict.
func (s *Store) CreateFileBan(ctx context.Context, b maniwani.FileBan, deleteAll bool, e maniwani.LogEntry) (int64, *FileBanDeleted, error) {
	row := fileBanRow{SHA256: b.SHA256, PHash: int64(b.PHash), HasPHash: b.HasPHash, Similar: b.Similar,
		Reason: b.Reason, Staff: b.Staff, CreatedUS: timeToUS(b.Created)}
	out := &FileBanDeleted{}
	err := s.write(ctx, func(tx *gorm.DB) error {
		*out = FileBanDeleted{}
		var old []int64
		if err := tx.Model(&fileBanRow{}).Where("sha256 = ?", b.SHA256).Limit(1).Pluck("id", &old).Error; err != nil {
			return err
		}
		if len(old) > 0 {
			return maniwani.Errorf(maniwani.KindConflict, "This file is banned already (file ban #%d).", old[0])
		}
		row.ID = 0
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if deleteAll {
			if err := deleteBySHA(tx, b.SHA256, timeToUS(e.Time), out); err != nil {
				return err
			}
		}
		return addLog(tx, e)
	})
	if err != nil {
		return 0, nil, err
	}
	return row.ID, out, nil
}

// deleteBySHA deletes every post whose file is the bytes sha, board by
// board, into out.
func deleteBySHA(tx *gorm.DB, sha string, now int64, out *FileBanDeleted) error {
	var files []fileRow
	if err := tx.Where("sha256 = ?", sha).Order("board_id, post_no").Find(&files).Error; err != nil {
		return err
	}
	byBoard := map[int64][]int64{}
	var boards []int64
	for _, f := range files {
		if byBoard[f.BoardID] == nil {
			boards = append(boards, f.BoardID)
		}
		byBoard[f.BoardID] = append(byBoard[f.BoardID], f.PostNo)
	}
	for _, id := range boards {
		var b boardRow
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			return err
		}
		var posts []postRow
		if err := tx.Where("board_id = ? AND no IN ?", id, byBoard[id]).Order("no").Find(&posts).Error; err != nil {
			return err
		}
		for _, p := range posts {
			out.Posts = append(out.Posts, maniwani.Ref{Board: b.Name, No: p.No})
			out.Threads = append(out.Threads, p.ThreadNo)
		}
		gone, err := deletePosts(tx, &b, posts, now)
		if err != nil {
			return err
		}
		out.Files = append(out.Files, gone...)
	}
	return nil
}

// FileBans lists every file ban, newest first.
func (s *Store) FileBans(ctx context.Context) ([]maniwani.FileBan, error) {
	return s.fileBans(s.db.WithContext(ctx).Order("id DESC"))
}

// SimilarFileBans lists the file bans that catch near copies: those made
// with Similar on an image that was hashed.
func (s *Store) SimilarFileBans(ctx context.Context) ([]maniwani.FileBan, error) {
	return s.fileBans(s.db.WithContext(ctx).Where("near_copies AND has_phash").Order("id"))
}

func (s *Store) fileBans(q *gorm.DB) ([]maniwani.FileBan, error) {
	var rows []fileBanRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.FileBan, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// FileBanFor finds the ban of the bytes sha; nil when they are not banned.
func (s *Store) FileBanFor(ctx context.Context, sha string) (*maniwani.FileBan, error) {
	var rows []fileBanRow
	if err := s.db.WithContext(ctx).Where("sha256 = ?", sha).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	b := rows[0].domain()
	return &b, nil
}

// DeleteFileBan lifts a file ban, with its line in the log (whose target
// is the file's SHA-256).
func (s *Store) DeleteFileBan(ctx context.Context, id int64, e maniwani.LogEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var r fileBanRow
		err := tx.Where("id = ?", id).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("No file ban %d.", id)
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(&r).Error; err != nil {
			return err
		}
		e.Target = r.SHA256
		return addLog(tx, e)
	})
}

// FileBySHA finds a stored file whose bytes are sha, on any board: where
// to read them from. KindNotFound when no post has them.
func (s *Store) FileBySHA(ctx context.Context, sha string) (maniwani.FileRef, error) {
	type row struct {
		Board string
		Tim   int64
		Ext   string
	}
	var rows []row
	err := s.db.WithContext(ctx).Model(&fileRow{}).Select("boards.name AS board, files.tim, files.ext").
		Joins("JOIN boards ON boards.id = files.board_id").Where("files.sha256 = ?", sha).
		Order("files.id").Limit(1).Scan(&rows).Error
	if err != nil {
		return maniwani.FileRef{}, err
	}
	if len(rows) == 0 {
		return maniwani.FileRef{}, notFound("No post has a file with SHA-256 %s.", sha)
	}
	return maniwani.FileRef{Board: rows[0].Board, Tim: rows[0].Tim, SHA256: sha, Ext: rows[0].Ext}, nil
}
