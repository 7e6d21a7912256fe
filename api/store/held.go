package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
)

// The review queue of a board that holds new posters (hold_new_posters): a
// post from a key (realip.Key) with no approved post on the board is
// stored held, seen by staff alone, until a moderator approves it (it is
// published at its number) or rejects it (it is deleted).

// DefaultMaxHeld bounds a board's held posts when NewPost leaves MaxHeld
// 0: past it new posters are refused, so a flood cannot grow the queue
// without end.
const DefaultMaxHeld = 1000

// checkHold tells whether the post is to be held, and refuses it when the
// board's queue is full. A key is approved once a moderator approved one
// of its posts on the board, or when it has a published post there (made
// before the board held new posters). A post without an address has no
// key to approve: it is always held. The board's lock is held, as for
// the cooldown; replySQL holds the same rule for replies on PostgreSQL.
func checkHold(tx *gorm.DB, board *boardRow, in NewPost) (bool, error) {
	if !board.HoldNewPosters {
		return false, nil
	}
	if key := realip.Key(in.IP); key != "" {
		var hit []int
		err := tx.Raw(`SELECT 1 FROM approved_posters WHERE board_id = ? AND ip_key = ?
			UNION ALL SELECT 1 FROM posts WHERE board_id = ? AND ip_key = ? AND held = ? LIMIT 1`,
			board.ID, key, board.ID, key, false).Scan(&hit).Error
		if err != nil || len(hit) > 0 {
			return false, err
		}
	}
	limit := maxHeld(in)
	var n int64
	err := tx.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM posts WHERE board_id = ? AND held = ? LIMIT ?) h",
		board.ID, true, limit).Scan(&n).Error
	if err != nil {
		return false, err
	}
	if n >= int64(limit) {
		return false, queueFull(board.Name)
	}
	return true, nil
}

func maxHeld(in NewPost) int {
	if in.MaxHeld > 0 {
		return in.MaxHeld
	}
	return DefaultMaxHeld
}

func queueFull(board string) error {
	return maniwani.Errorf(maniwani.KindTooMany,
		"Posts of new posters on /%s/ wait for a moderator's review, and too many wait now; try again later.", board)
}

// HeldPosts lists the posts held for review on every board, oldest first,
// at most limit, with their files.
func (s *Store) HeldPosts(ctx context.Context, limit int) ([]maniwani.Post, error) {
	db := s.db.WithContext(ctx)
	var rows []postRow
	if err := db.Where("held = ?", true).Order("created_us, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	names, err := boardNames(db)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.Post, len(rows))
	byBoard := map[int64][]int{}
	for i := range rows {
		out[i] = rows[i].domain(names[rows[i].BoardID])
		byBoard[rows[i].BoardID] = append(byBoard[rows[i].BoardID], i)
	}
	for id, idx := range byBoard {
		ps := make([]maniwani.Post, len(idx))
		for j, i := range idx {
			ps[j] = out[i]
		}
		if err := s.attachFiles(db, id, ps); err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = ps[j]
		}
	}
	return out, nil
}

// heldRow finds a held post of the board.
func (s *Store) heldRow(tx *gorm.DB, board string, no int64) (*boardRow, *postRow, error) {
	b, p, err := s.postRow(tx, board, no)
	if err != nil {
		return nil, nil, err
	}
	if !p.Held {
		return nil, nil, notFound("Post No.%d on /%s/ is not held for review.", no, board)
	}
	return b, p, nil
}

// Approved is what ApproveHeld published: the post with its file, the
// threads it pushed into the archive (a thread it started), and the posts
// it quotes, whose pages show it now as a backlink.
type Approved struct {
	Created
	Quotes []maniwani.Ref
}

// ApproveHeld publishes a held post at its number, as if it came now: an
// opening post's thread appears, bumped now, and may push others into the
// archive; a reply counts on its thread and bumps it (unless sage or past
// the bump limit). Its key is approved on the board, so that its next
// posts are not held. A reply to a thread closed or archived meanwhile is
// refused: the moderator rejects it instead.
func (s *Store) ApproveHeld(ctx context.Context, board string, no int64, e maniwani.LogEntry) (*Approved, error) {
	now := timeToUS(e.Time)
	var out *Approved
	err := s.write(ctx, func(tx *gorm.DB) error {
		if !s.sqlite { // the order of the board's other writers
			if err := tx.Exec(advisoryLockSQL, board).Error; err != nil {
				return err
			}
		}
		b, p, err := s.heldRow(tx, board, no)
		if err != nil {
			return err
		}
		var files int64
		if err := tx.Model(&fileRow{}).Where("board_id = ? AND post_no = ?", b.ID, no).Count(&files).Error; err != nil {
			return err
		}
		out = &Approved{}
		if p.ThreadNo == p.No {
			if err := tx.Create(&threadRow{BoardID: b.ID, No: no, BumpedUS: now, ModifiedUS: now}).Error; err != nil {
				return err
			}
			if out.Archived, err = archiveOverflow(tx, b, now); err != nil {
				return err
			}
		} else {
			var t threadRow
			err := tx.Where("board_id = ? AND no = ?", b.ID, p.ThreadNo).Take(&t).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound("Thread No.%d does not exist on /%s/ any more.", p.ThreadNo, board)
			}
			if err != nil {
				return err
			}
			if err := replyable(&t); err != nil {
				return err
			}
			bumped := gorm.Expr("bumped_us")
			if !p.Sage {
				bumped = gorm.Expr("CASE WHEN replies < ? THEN ? ELSE bumped_us END", b.BumpLimit, now)
			}
			err = tx.Model(&threadRow{}).Where("id = ?", t.ID).Updates(map[string]any{
				"replies": gorm.Expr("replies + 1"), "images": gorm.Expr("images + ?", files),
				"bumped_us": bumped, "modified_us": now}).Error
			if err != nil {
				return err
			}
		}
		if err := tx.Model(&postRow{}).Where("id = ?", p.ID).Update("held", false).Error; err != nil {
			return err
		}
		if p.IPKey != "" {
			err := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&approvedPosterRow{BoardID: b.ID, IPKey: p.IPKey, CreatedUS: now}).Error
			if err != nil {
				return err
			}
		}
		if err := tx.Model(&boardRow{}).Where("id = ?", b.ID).Update("modified_us", now).Error; err != nil {
			return err
		}
		var quotes []quoteRow
		if err := tx.Where("board_id = ? AND from_no = ?", b.ID, no).Order("id").Find(&quotes).Error; err != nil {
			return err
		}
		for _, q := range quotes {
			out.Quotes = append(out.Quotes, maniwani.Ref{Board: q.ToBoard, No: q.ToNo})
		}
		p.Held = false
		out.Post = p.domain(board)
		ps := []maniwani.Post{out.Post}
		if err := s.attachFiles(tx, b.ID, ps); err != nil {
			return err
		}
		out.Post = ps[0]
		e.Target = fmt.Sprintf("/%s/%d", board, no)
		return addLog(tx, e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RejectHeld deletes a held post, as a staff deletion does, and logs it;
// it returns the files that went.
func (s *Store) RejectHeld(ctx context.Context, board string, no int64, e maniwani.LogEntry) ([]GoneFile, error) {
	var files []GoneFile
	err := s.write(ctx, func(tx *gorm.DB) error {
		b, p, err := s.heldRow(tx, board, no)
		if err != nil {
			return err
		}
		if files, err = deletePosts(tx, b, []postRow{*p}, timeToUS(e.Time)); err != nil {
			return err
		}
		e.Target = fmt.Sprintf("/%s/%d", board, no)
		return addLog(tx, e)
	})
	return files, err
}
