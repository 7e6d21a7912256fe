package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/markdown"
)

// Moved is what MoveThread did.
type Moved struct {
	From, To     string
	OldNo, NewNo int64           // the thread's number on each board
	Numbers      map[int64]int64 // every post's old number to its new one
	Files        []maniwani.FileRef
}

// MoveThread moves a live thread to another board, in one transaction: its
// posts take the destination's next numbers, in order; its quotes (>>N)
// follow, in bodies and coms as markdown reads them (so >>N in code stays
// as typed); its files take names on the destination (their bytes stay
// where they are); its reports and backlinks follow. Links to it from
// other threads keep pointing where it was.
func (s *Store) MoveThread(ctx context.Context, from string, no int64, to string, e maniwani.LogEntry) (*Moved, error) {
	if from == to {
		return nil, maniwani.Errorf(maniwani.KindInvalid, "The thread is on /%s/ already.", to)
	}
	now := timeToUS(e.Time)
	var out *Moved
	err := s.write(ctx, func(tx *gorm.DB) error {
		if !s.sqlite {
			// Both boards' writers wait, in name order, so two moves in
			// opposite directions cannot deadlock.
			names := []string{from, to}
			slices.Sort(names)
			for _, n := range names {
				if err := tx.Exec(advisoryLockSQL, n).Error; err != nil {
					return err
				}
			}
		}
		src, err := s.boardRow(tx, from)
		if err != nil {
			return err
		}
		if _, err := s.boardRow(tx, to); err != nil {
			return err
		}
		var t threadRow
		err = tx.Where("board_id = ? AND no = ?", src.ID, no).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("Thread No.%d does not exist on /%s/.", no, from)
		}
		if err != nil {
			return err
		}
		if t.Archived {
			return maniwani.Errorf(maniwani.KindConflict, "Thread No.%d is archived; it stays where it is.", no)
		}
		var posts []postRow
		if err := tx.Where("board_id = ? AND thread_no = ?", src.ID, no).Order("no").Find(&posts).Error; err != nil {
			return err
		}
		var dst boardRow
		res := tx.Model(&dst).Clauses(clause.Returning{}).Where("name = ?", to).
			Updates(map[string]any{"last_no": gorm.Expr("last_no + ?", len(posts)), "modified_us": now})
		if res.Error != nil {
			return res.Error
		}
		base := dst.LastNo - int64(len(posts))
		out = &Moved{From: from, To: to, OldNo: no, NewNo: base + 1, Numbers: map[int64]int64{}}
		for i, p := range posts {
			out.Numbers[p.No] = base + 1 + int64(i)
		}
		// The thread's quotes of its own board (>>N) follow, in body and com
		// alike, read as the renderer reads them: a moved post's to its new
		// number, any other to the board left behind. >>>/x/N names its
		// board already, and stays.
		requote := func(q markdown.Quote) markdown.Quote {
			if q.Cross || q.Board != from {
				return q
			}
			if n, ok := out.Numbers[q.No]; ok {
				q.Board, q.No = to, n
				if q.Thread > 0 {
					q.Thread = out.NewNo
				}
				return q
			}
			q.Cross = true
			return q
		}
		var lastTim *int64
		if err := tx.Model(&fileRow{}).Where("board_id = ?", dst.ID).Select("MAX(tim)").Scan(&lastTim).Error; err != nil {
			return err
		}
		for _, p := range posts {
			n := out.Numbers[p.No]
			err := tx.Model(&postRow{}).Where("id = ?", p.ID).Updates(map[string]any{"board_id": dst.ID, "no": n,
				"thread_no": out.NewNo, "com": markdown.RequoteCom(from, p.Com, requote),
				"body": markdown.RequoteBody(from, p.Body, requote)}).Error
			if err != nil {
				return err
			}
			var f fileRow
			err = tx.Where("board_id = ? AND post_no = ?", src.ID, p.No).Take(&f).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			tim := f.Tim
			if lastTim != nil && *lastTim >= tim {
				tim = *lastTim + 1
			}
			lastTim = &tim
			out.Files = append(out.Files, maniwani.FileRef{Board: from, Tim: f.Tim, SHA256: f.SHA256, Ext: f.Ext})
			if err := tx.Model(&f).Updates(map[string]any{"board_id": dst.ID, "post_no": n, "tim": tim}).Error; err != nil {
				return err
			}
		}
		// Reports and quotes follow the posts' numbers.
		for old, n := range out.Numbers {
			for _, q := range []struct {
				row       any
				numberCol string
			}{{&reportRow{}, "post_no"}, {&quoteRow{}, "from_no"}} {
				err := tx.Model(q.row).Where("board_id = ? AND "+q.numberCol+" = ?", src.ID, old).
					Updates(map[string]any{"board_id": dst.ID, q.numberCol: n}).Error
				if err != nil {
					return err
				}
			}
			err := tx.Model(&quoteRow{}).Where("to_board = ? AND to_no = ?", from, old).
				Updates(map[string]any{"to_board": to, "to_no": n}).Error
			if err != nil {
				return err
			}
		}
		err = tx.Model(&threadRow{}).Where("id = ?", t.ID).
			Updates(map[string]any{"board_id": dst.ID, "no": out.NewNo, "modified_us": now}).Error
		if err != nil {
			return err
		}
		if err := tx.Model(&boardRow{}).Where("id = ?", src.ID).Update("modified_us", now).Error; err != nil {
			return err
		}
		if _, err := archiveOverflow(tx, &dst, now); err != nil {
			return err
		}
		e.Target = fmt.Sprintf("/%s/%d -> /%s/%d", from, no, to, out.NewNo)
		return addLog(tx, e)
	})
	return out, err
}
