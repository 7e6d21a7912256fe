package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
)

// NewPost is a post ready to be stored: checked, its name split from its
// tripcode, its body rendered.
type NewPost struct {
	Board        string
	Resto        int64 // 0 starts a thread
	Name         string
	Trip         string
	Subject      string
	Body         string
	Com          string
	Sage         bool
	IP           string
	PasswordHash string
	Time         time.Time
	// PosterID makes the poster's ID in a thread; it is called only on
	// boards that show IDs, once the thread's number is known.
	PosterID func(thread int64) string
	// Quotes are the existing posts the body quotes, kept as backlinks.
	Quotes []maniwani.Ref
}

// saveQuotes keeps the post's quotes of other posts.
func saveQuotes(tx *gorm.DB, boardID, no int64, quotes []maniwani.Ref) error {
	if len(quotes) == 0 {
		return nil
	}
	rows := make([]quoteRow, len(quotes))
	for i, q := range quotes {
		rows[i] = quoteRow{BoardID: boardID, FromNo: no, ToBoard: q.Board, ToNo: q.No}
	}
	return tx.Create(&rows).Error
}

// Created is what CreatePost did: the post, and the threads it pushed into
// the archive.
type Created struct {
	maniwani.Post
	Archived []int64
}

// CreatePost stores a post in one transaction: it takes the board's next
// number, inserts the post, bumps the thread (not on sage or past the bump
// limit) and, for a new thread, moves what falls past max_threads to the
// archive. A refusal (unknown board or thread, closed thread, cooldown)
// rolls it all back, so a refused post takes no number.
func (s *Store) CreatePost(ctx context.Context, in NewPost) (*Created, error) {
	now := in.Time.UnixMicro()
	if !s.sqlite { // SQLite's writes are already one at a time (write)
		unlock, err := s.boards.lock(ctx, in.Board)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if in.Resto != 0 {
			return s.createReplyPostgres(ctx, in)
		}
	}
	var out *Created
	err := s.write(ctx, func(tx *gorm.DB) error {
		var thread threadRow
		if in.Resto != 0 {
			// Read the thread before taking the board's lock, to refuse early and
			// keep the serial section short; the bump below re-checks that it is
			// still open.
			err := tx.Joins("JOIN boards ON boards.id = threads.board_id").
				Where("boards.name = ? AND threads.no = ?", in.Board, in.Resto).Take(&thread).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				if _, berr := s.boardRow(tx, in.Board); berr != nil {
					return berr
				}
				return notFound("Thread No.%d does not exist on /%s/.", in.Resto, in.Board)
			}
			if err != nil {
				return err
			}
			if err := replyable(&thread); err != nil {
				return err
			}
		}

		// Take the number: the board's row stays locked until commit.
		var board boardRow
		res := tx.Model(&board).Clauses(clause.Returning{}).Where("name = ?", in.Board).
			Updates(map[string]any{"last_no": gorm.Expr("last_no + 1"), "modified_us": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Board /%s/ does not exist.", in.Board)
		}
		if err := s.checkCooldown(tx, &board, in); err != nil {
			return err
		}

		no := board.LastNo
		threadNo := in.Resto
		if threadNo == 0 {
			threadNo = no
		}
		post := postRow{
			BoardID: board.ID, No: no, ThreadNo: threadNo, CreatedUS: now,
			Name: in.Name, Trip: in.Trip, Subject: in.Subject, Body: in.Body, Com: in.Com,
			Sage: in.Sage, IP: in.IP, PasswordHash: in.PasswordHash,
		}
		if board.PosterIDs && in.PosterID != nil {
			post.PosterID = in.PosterID(threadNo)
		}
		if err := tx.Create(&post).Error; err != nil {
			return err
		}
		if err := saveQuotes(tx, board.ID, no, in.Quotes); err != nil {
			return err
		}

		if in.Resto == 0 {
			if err := tx.Create(&threadRow{BoardID: board.ID, No: no, BumpedUS: now, ModifiedUS: now}).Error; err != nil {
				return err
			}
			archived, err := archiveOverflow(tx, &board, now)
			if err != nil {
				return err
			}
			out = &Created{Archived: archived}
		} else {
			bumped := gorm.Expr("bumped_us")
			if !in.Sage {
				bumped = gorm.Expr("CASE WHEN replies < ? THEN ? ELSE bumped_us END", board.BumpLimit, now)
			}
			res := tx.Model(&threadRow{}).Where("id = ? AND closed = ? AND archived = ?", thread.ID, false, false).
				Updates(map[string]any{"replies": gorm.Expr("replies + 1"), "bumped_us": bumped, "modified_us": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 { // closed or archived since it was read
				if err := tx.Take(&thread, thread.ID).Error; err != nil {
					return err
				}
				if err := replyable(&thread); err != nil {
					return err
				}
				return notFound("Thread No.%d does not exist on /%s/.", in.Resto, in.Board)
			}
		}
		if out == nil {
			out = &Created{}
		}
		out.Post = post.domain(in.Board)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func replyable(t *threadRow) error {
	switch {
	case t.Archived:
		return maniwani.Errorf(maniwani.KindForbidden, "Thread No.%d is archived; it takes no more replies.", t.No)
	case t.Closed:
		return maniwani.Errorf(maniwani.KindForbidden, "Thread No.%d is closed; it takes no more replies.", t.No)
	}
	return nil
}

// checkCooldown refuses a post that comes too soon after the same address's
// last one on the board. It runs under the board's lock, so two posts sent
// at once cannot both slip through.
func (s *Store) checkCooldown(tx *gorm.DB, board *boardRow, in NewPost) error {
	wait := board.CooldownReply
	q := tx.Model(&postRow{}).Where("board_id = ? AND ip = ?", board.ID, in.IP)
	if in.Resto == 0 {
		wait = board.CooldownThread
		q = q.Where("no = thread_no")
	}
	if wait <= 0 || in.IP == "" {
		return nil
	}
	var last *int64
	if err := q.Select("MAX(created_us)").Scan(&last).Error; err != nil {
		return err
	}
	if last == nil {
		return nil
	}
	left := time.UnixMicro(*last).Add(time.Duration(wait) * time.Second).Sub(in.Time)
	if left <= 0 {
		return nil
	}
	what := "reply"
	if in.Resto == 0 {
		what = "start a thread"
	}
	secs := int((left + time.Second - 1) / time.Second)
	return maniwani.Errorf(maniwani.KindTooMany, "You must wait %d more second%s before you %s again on /%s/.",
		secs, plural(secs), what, board.Name)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// archiveOverflow moves the least recently bumped non-sticky threads past the
// board's max_threads to the archive: read-only, still readable.
func archiveOverflow(tx *gorm.DB, board *boardRow, now int64) ([]int64, error) {
	var live int64
	if err := tx.Model(&threadRow{}).Where("board_id = ? AND archived = ?", board.ID, false).Count(&live).Error; err != nil {
		return nil, err
	}
	over := int(live) - board.MaxThreads
	if over <= 0 {
		return nil, nil
	}
	var victims []threadRow
	err := tx.Select("id", "no").Where("board_id = ? AND archived = ? AND sticky = ?", board.ID, false, false).
		Order("bumped_us ASC, no ASC").Limit(over).Find(&victims).Error
	if err != nil || len(victims) == 0 {
		return nil, err
	}
	ids, nos := make([]int64, len(victims)), make([]int64, len(victims))
	for i, v := range victims {
		ids[i], nos[i] = v.ID, v.No
	}
	err = tx.Model(&threadRow{}).Where("id IN ?", ids).
		Updates(map[string]any{"archived": true, "closed": true, "archived_us": now, "modified_us": now}).Error
	return nos, err
}

func (r *postRow) domain(board string) maniwani.Post {
	p := maniwani.Post{
		Board: board, No: r.No, Time: usToTime(r.CreatedUS),
		Name: r.Name, Trip: r.Trip, PosterID: r.PosterID, Subject: r.Subject,
		Body: r.Body, Com: r.Com, Sage: r.Sage, IP: r.IP, PasswordHash: r.PasswordHash,
	}
	if r.ThreadNo != r.No {
		p.Resto = r.ThreadNo
	}
	return p
}

// replySQL inserts a reply and bumps its thread in one statement, once the
// board's number is taken: PostgreSQL runs both parts of the statement or
// neither, and the thread's conditions (open, not archived) and the
// cooldown are checked in the same breath. No row back means a refusal,
// which the caller then explains.
const replySQL = `WITH t AS (
	UPDATE threads SET replies = replies + 1, modified_us = @now,
		bumped_us = CASE WHEN @sage OR replies >= @bump_limit THEN bumped_us ELSE @now END
	WHERE board_id = @board_id AND no = @resto AND NOT closed AND NOT archived
		AND NOT EXISTS (SELECT 1 FROM posts WHERE board_id = @board_id AND ip = @ip AND created_us > @since)
	RETURNING no)
INSERT INTO posts (board_id, no, thread_no, created_us, name, trip, poster_id, subject, body, com, sage, ip, password_hash)
SELECT @board_id, @no, t.no, @now, @name, @trip, @poster_id, @subject, @body, @com, @sage, @ip, @password_hash FROM t
RETURNING no`

// createReplyPostgres is CreatePost for a reply on PostgreSQL, with two
// statements while the board's row is locked instead of four: take the
// number, then insert and bump. It is the hot path of a busy board.
func (s *Store) createReplyPostgres(ctx context.Context, in NewPost) (*Created, error) {
	now := in.Time.UnixMicro()
	var out *Created
	err := s.write(ctx, func(tx *gorm.DB) error {
		var board boardRow
		res := tx.Raw("UPDATE boards SET last_no = last_no + 1, modified_us = ? WHERE name = ? RETURNING *", now, in.Board).
			Scan(&board)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Board /%s/ does not exist.", in.Board)
		}
		since := int64(math.MaxInt64) // no cooldown: no post is newer than this
		if board.CooldownReply > 0 && in.IP != "" {
			since = now - int64(board.CooldownReply)*1e6
		}
		posterID := ""
		if board.PosterIDs && in.PosterID != nil {
			posterID = in.PosterID(in.Resto)
		}
		var nos []int64
		res = tx.Raw(replySQL, map[string]any{
			"now": now, "sage": in.Sage, "bump_limit": board.BumpLimit, "board_id": board.ID, "resto": in.Resto,
			"ip": in.IP, "since": since, "no": board.LastNo, "name": in.Name, "trip": in.Trip, "poster_id": posterID,
			"subject": in.Subject, "body": in.Body, "com": in.Com, "password_hash": in.PasswordHash,
		}).Scan(&nos)
		if res.Error != nil {
			return res.Error
		}
		if len(nos) == 0 {
			return s.whyRefused(tx, &board, in)
		}
		if err := saveQuotes(tx, board.ID, board.LastNo, in.Quotes); err != nil {
			return err
		}
		out = &Created{Post: maniwani.Post{Board: in.Board, No: board.LastNo, Resto: in.Resto, Time: usToTime(now),
			Name: in.Name, Trip: in.Trip, PosterID: posterID, Subject: in.Subject, Body: in.Body, Com: in.Com,
			Sage: in.Sage, IP: in.IP, PasswordHash: in.PasswordHash}}
		return nil
	})
	return out, err
}

// whyRefused explains a reply the statement refused: no such thread, a
// closed or archived one, or a cooldown.
func (s *Store) whyRefused(tx *gorm.DB, board *boardRow, in NewPost) error {
	var t threadRow
	err := tx.Where("board_id = ? AND no = ?", board.ID, in.Resto).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notFound("Thread No.%d does not exist on /%s/.", in.Resto, in.Board)
	}
	if err != nil {
		return err
	}
	if err := replyable(&t); err != nil {
		return err
	}
	if err := s.checkCooldown(tx, board, in); err != nil {
		return err
	}
	return fmt.Errorf("store: reply to /%s/%d refused for no known reason", in.Board, in.Resto)
}
