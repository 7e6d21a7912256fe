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
			var files []fileRow
			if err := tx.Where("board_id = ? AND post_no = ?", src.ID, p.No).Order("idx").Find(&files).Error; err != nil {
				return err
			}
			for _, f := range files {
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
		}
		if err := s.leaveForwarding(tx, dst.ID, out); err != nil {
			return err
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

// leaveForwarding records where each moved post went, so its old address
// answers a redirect (MovedTo), points the addresses that led to a post
// moved before at its new place, and rewrites the quotes of the moved
// posts in other threads (by the quotes table, before it follows the move
// below) to their new places: a quote >>N of the board left becomes
// >>>/to/M, so it links, previews and backlinks as before.
func (s *Store) leaveForwarding(tx *gorm.DB, dstID int64, m *Moved) error {
	rows := make([]movedPostRow, 0, len(m.Numbers))
	for old, n := range m.Numbers {
		rows = append(rows, movedPostRow{FromBoard: m.From, FromNo: old, ToBoard: m.To, ToNo: n, ToThread: m.NewNo})
		err := tx.Model(&movedPostRow{}).Where("to_board = ? AND to_no = ?", m.From, old).
			Updates(map[string]any{"to_board": m.To, "to_no": n, "to_thread": m.NewNo}).Error
		if err != nil {
			return err
		}
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return err
	}
	olds := make([]int64, 0, len(m.Numbers))
	for old := range m.Numbers {
		olds = append(olds, old)
	}
	// The quoting posts outside the thread: the thread's own posts were
	// requoted with it.
	var quoting []postRow
	err := tx.Where("id IN (?)", tx.Model(&postRow{}).Select("posts.id").
		Joins("JOIN quotes ON quotes.board_id = posts.board_id AND quotes.from_no = posts.no").
		Where("quotes.to_board = ? AND quotes.to_no IN ?", m.From, olds).
		Where("NOT (posts.board_id = ? AND posts.thread_no = ?)", dstID, m.NewNo)).Find(&quoting).Error
	if err != nil || len(quoting) == 0 {
		return err
	}
	names, err := boardNames(tx)
	if err != nil {
		return err
	}
	for _, p := range quoting {
		board := names[p.BoardID]
		requote := func(q markdown.Quote) markdown.Quote {
			n, ok := m.Numbers[q.No]
			if q.Board != m.From || !ok {
				return q
			}
			q.Board, q.No, q.Cross = m.To, n, true
			if q.Thread > 0 {
				q.Thread = m.NewNo
			}
			return q
		}
		com, body := markdown.RequoteCom(board, p.Com, requote), markdown.RequoteBody(board, p.Body, requote)
		if com == p.Com && body == p.Body {
			continue
		}
		if err := tx.Model(&postRow{}).Where("id = ?", p.ID).Updates(map[string]any{"com": com, "body": body}).Error; err != nil {
			return err
		}
	}
	return nil
}

// MovedTo tells where the board's post no went when its thread was moved:
// the board, the thread and the post's new number; KindNotFound when it
// was never moved.
func (s *Store) MovedTo(ctx context.Context, board string, no int64) (maniwani.MovedPost, error) {
	var row movedPostRow
	err := s.db.WithContext(ctx).Where("from_board = ? AND from_no = ?", board, no).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return maniwani.MovedPost{}, notFound("Post No.%d was not moved from /%s/.", no, board)
	}
	if err != nil {
		return maniwani.MovedPost{}, err
	}
	return maniwani.MovedPost{Board: row.ToBoard, Thread: row.ToThread, No: row.ToNo}, nil
}
