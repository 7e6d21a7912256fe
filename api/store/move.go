package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
)

// Moved is what MoveThread did.
type Moved struct {
	From, To     string
	OldNo, NewNo int64           // the thread's number on each board
	Numbers      map[int64]int64 // every post's old number to its new one
	Files        []maniwani.FileRef
}

// quoteLink matches a quote link of a rendered com (markdown's form).
var quoteLink = regexp.MustCompile(`<a href="/([a-z0-9]+)/thread/(\d+)#p(\d+)" class="quotelink">&gt;&gt;(\d+)</a>`)

// bodyQuote matches >>N in a body, not the >>>/board/N form.
var bodyQuote = regexp.MustCompile(`(^|[^>])>>(\d+)`)

// MoveThread moves a live thread to another board, in one transaction: its
// posts take the destination's next numbers, in order; the quotes between
// them follow (links and bodies); its files take names on the destination
// (their bytes stay where they are); its reports and backlinks follow.
// Links to it from other threads keep pointing where it was.
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
		relink := func(com string) string {
			return quoteLink.ReplaceAllStringFunc(com, func(m string) string {
				g := quoteLink.FindStringSubmatch(m)
				old, _ := strconv.ParseInt(g[3], 10, 64)
				if g[1] != from {
					return m
				}
				if n, ok := out.Numbers[old]; ok {
					return fmt.Sprintf(`<a href="/%s/thread/%d#p%d" class="quotelink">&gt;&gt;%d</a>`, to, out.NewNo, n, n)
				}
				// A post of the board left behind: now a quote across boards.
				return fmt.Sprintf(`<a href="/%s/thread/%s#p%s" class="quotelink">&gt;&gt;&gt;/%s/%s</a>`, from, g[2], g[3], from, g[3])
			})
		}
		rebody := func(body string) string {
			return bodyQuote.ReplaceAllStringFunc(body, func(m string) string {
				g := bodyQuote.FindStringSubmatch(m)
				old, _ := strconv.ParseInt(g[2], 10, 64)
				if n, ok := out.Numbers[old]; ok {
					return g[1] + ">>" + strconv.FormatInt(n, 10)
				}
				return g[1] + ">>>/" + from + "/" + g[2] // still the same post when rendered again
			})
		}
		var lastTim *int64
		if err := tx.Model(&fileRow{}).Where("board_id = ?", dst.ID).Select("MAX(tim)").Scan(&lastTim).Error; err != nil {
			return err
		}
		for _, p := range posts {
			n := out.Numbers[p.No]
			err := tx.Model(&postRow{}).Where("id = ?", p.ID).Updates(map[string]any{"board_id": dst.ID, "no": n,
				"thread_no": out.NewNo, "com": relink(p.Com), "body": rebody(p.Body)}).Error
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
