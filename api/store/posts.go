package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
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
	// File is the post's attachment, already stored in media; its Tim is
	// chosen here, unique on the board.
	File *maniwani.File
	// Extra are its further files (the board's max_files), stored the same
	// way, in order.
	Extra []maniwani.File
	// MaxHeld bounds the board's held posts (hold_new_posters); 0:
	// DefaultMaxHeld.
	MaxHeld int
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
// the archive. A Held post is stored for review only: nobody sees it, its
// thread (or, for an opening post, the thread it starts) is as it was, and
// nothing is to be told of it until it is approved.
type Created struct {
	maniwani.Post
	Archived []int64
	Held     bool
}

// CreatePost stores a post in one transaction: it takes the board's next
// number, inserts the post, bumps the thread (not on sage or past the bump
// limit) and, for a new thread, moves what falls past max_threads to the
// archive. A refusal (unknown board or thread, closed thread, cooldown)
// rolls it all back, so a refused post takes no number.
func (s *Store) CreatePost(ctx context.Context, in NewPost) (*Created, error) {
	return s.createPost(ctx, in, !s.sqlite && in.Resto != 0 && in.File == nil)
}

// createPost is CreatePost by one of its two paths: inStatement stores a
// reply without a file in replySQL (PostgreSQL only); otherwise the rules
// run here in Go, over several statements. TestReplyRules runs every rule
// of a reply through both.
func (s *Store) createPost(ctx context.Context, in NewPost, inStatement bool) (*Created, error) {
	now := in.Time.UnixMicro()
	if !s.sqlite { // SQLite's writes are already one at a time (write)
		unlock, err := s.boards.lock(ctx, in.Board)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if inStatement {
			return s.createReplyPostgres(ctx, in)
		}
	}
	var out *Created
	err := s.write(ctx, func(tx *gorm.DB) error {
		if !s.sqlite {
			// The same order as replies take (createReplyPostgres), so the
			// cooldown check below sees every earlier post of the board.
			if err := tx.Exec(advisoryLockSQL, in.Board).Error; err != nil {
				return err
			}
		}
		var thread threadRow
		if in.Resto != 0 {
			// Read the thread before the board's number is taken, so that a
			// refusal takes none. The board's lock is already held (the
			// advisory lock above; SQLite's one writer), so this read is
			// inside the serial section. A moderator closes a thread without
			// that lock (UpdateThread), so the bump below checks again that it
			// is still open.
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
		if err := checkUnique(tx, &board, in); err != nil {
			return err
		}
		held, err := checkHold(tx, &board, in)
		if err != nil {
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
			Sage: in.Sage, IP: in.IP, IPKey: realip.Key(in.IP), PasswordHash: in.PasswordHash,
			CommentHash: commentHash(in.Body), Held: held,
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
		var files []*fileRow
		if in.File != nil {
			all := append([]maniwani.File{*in.File}, in.Extra...)
			if in.Resto != 0 && thread.Images+len(all) > board.ImageLimit {
				return imageLimitReached(in.Resto, board.ImageLimit)
			}
			for i := range all {
				file, err := saveFile(tx, board.ID, no, i, &all[i], in.Time)
				if err != nil {
					return err
				}
				files = append(files, file)
			}
		}

		switch {
		case held: // the thread is as it was; an opening post's comes with its approval
			out = &Created{Held: true}
		case in.Resto == 0:
			if err := tx.Create(&threadRow{BoardID: board.ID, No: no, BumpedUS: now, ModifiedUS: now}).Error; err != nil {
				return err
			}
			archived, err := archiveOverflow(tx, &board, now)
			if err != nil {
				return err
			}
			out = &Created{Archived: archived}
		default:
			bumped := gorm.Expr("bumped_us")
			if !in.Sage {
				bumped = gorm.Expr("CASE WHEN replies < ? THEN ? ELSE bumped_us END", board.BumpLimit, now)
			}
			images := len(files)
			res := tx.Model(&threadRow{}).Where("id = ? AND closed = ? AND archived = ?", thread.ID, false, false).
				Updates(map[string]any{"replies": gorm.Expr("replies + 1"), "images": gorm.Expr("images + ?", images),
					"bumped_us": bumped, "modified_us": now})
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
		for i, f := range files {
			if i == 0 {
				out.Post.File = f.domain()
			} else {
				out.Post.Extra = append(out.Post.Extra, *f.domain())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// saveFile stores the row of a post's file under a tim of its own: the
// post's time in milliseconds, or one past the board's newest when two
// files come within a millisecond. The board's lock is held, so the
// maximum read is still the maximum at commit.
func saveFile(tx *gorm.DB, boardID, no int64, idx int, f *maniwani.File, at time.Time) (*fileRow, error) {
	var last *int64
	if err := tx.Model(&fileRow{}).Where("board_id = ?", boardID).Select("MAX(tim)").Scan(&last).Error; err != nil {
		return nil, err
	}
	tim := at.UnixMilli()
	if last != nil && *last >= tim {
		tim = *last + 1
	}
	row := &fileRow{
		BoardID: boardID, PostNo: no, Idx: idx, Tim: tim, Filename: f.Filename, Ext: f.Ext, Size: f.Size,
		MD5: f.MD5, SHA256: f.SHA256, Width: f.Width, Height: f.Height, ThumbW: f.ThumbW, ThumbH: f.ThumbH,
		Spoiler: f.Spoiler, Thumbnail: f.Thumbnail,
	}
	return row, tx.Create(row).Error
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

// checkCooldown refuses a post that comes too soon after the same poster's
// last one on the board: the same address for IPv4, the same /64 for IPv6
// (realip.Key). It runs under the board's lock, so two posts sent at once
// cannot both slip through. replySQL holds the same rule for replies on
// PostgreSQL.
func (s *Store) checkCooldown(tx *gorm.DB, board *boardRow, in NewPost) error {
	wait := board.CooldownReply
	q := tx.Model(&postRow{}).Where("board_id = ? AND ip_key = ?", board.ID, realip.Key(in.IP))
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

// commentHash is what unique_comments_minutes compares: the comment with
// its case folded and its runs of white space made one space, hashed; ""
// for no comment.
func commentHash(body string) string {
	norm := strings.Join(strings.Fields(strings.ToLower(body)), " ")
	if norm == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:16])
}

// checkUnique refuses a comment the board already had within its
// unique_comments_minutes, from any address. Like the cooldown it runs
// under the board's lock; replySQL holds the same rule for replies on
// PostgreSQL.
func checkUnique(tx *gorm.DB, board *boardRow, in NewPost) error {
	h := commentHash(in.Body)
	if board.UniqueCommentsMinutes <= 0 || h == "" {
		return nil
	}
	since := in.Time.Add(-time.Duration(board.UniqueCommentsMinutes) * time.Minute).UnixMicro()
	var ids []int64
	err := tx.Model(&postRow{}).Where("board_id = ? AND comment_hash = ? AND created_us > ?", board.ID, h, since).
		Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return err
	}
	return maniwani.Errorf(maniwani.KindConflict,
		"This comment was already posted on /%s/ within the last %d minute%s; write something of your own.",
		board.Name, board.UniqueCommentsMinutes, plural(board.UniqueCommentsMinutes))
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

// replySQL stores a reply in one statement: bump the thread (when it is
// open, not archived, and the poster's key $15 is past its cooldown, the
// rule of checkCooldown), take the board's next number only if it did,
// insert the post and its quotes. No row back means a refusal, which
// changed nothing; the caller explains it. On a board that holds new
// posters, a key with no approved post there (checkHold) has its reply
// held: the thread's row is locked as for any reply but keeps its counts
// and bump, and the reply is refused when $17 posts are held already. It
// restates the rules of the Go path: each is a case of TestReplyRules,
// which runs them through both.
const replySQL = `WITH b AS (SELECT id, bump_limit, cooldown_reply, poster_ids, unique_comments_minutes,
		hold_new_posters AND ($15 = '' OR NOT EXISTS (
			SELECT 1 FROM approved_posters a WHERE a.board_id = boards.id AND a.ip_key = $15
			UNION ALL SELECT 1 FROM posts p WHERE p.board_id = boards.id AND p.ip_key = $15 AND NOT p.held)) AS held
	FROM boards WHERE name = $1),
t AS (
	UPDATE threads SET replies = threads.replies + CASE WHEN b.held THEN 0 ELSE 1 END,
		modified_us = CASE WHEN b.held THEN threads.modified_us ELSE $3 END,
		bumped_us = CASE WHEN b.held OR $4 OR threads.replies >= b.bump_limit THEN threads.bumped_us ELSE $3 END
	FROM b
	WHERE threads.board_id = b.id AND threads.no = $2 AND NOT threads.closed AND NOT threads.archived
		AND (b.cooldown_reply <= 0 OR $5 = '' OR NOT EXISTS (SELECT 1 FROM posts
			WHERE posts.board_id = b.id AND posts.ip_key = $15 AND posts.created_us > $3 - b.cooldown_reply * 1000000::bigint))
		AND (b.unique_comments_minutes <= 0 OR $16 = '' OR NOT EXISTS (SELECT 1 FROM posts
			WHERE posts.board_id = b.id AND posts.comment_hash = $16
				AND posts.created_us > $3 - b.unique_comments_minutes * 60000000::bigint))
		AND (NOT b.held OR (SELECT COUNT(*) FROM (SELECT 1 FROM posts
			WHERE posts.board_id = b.id AND posts.held LIMIT $17) h) < $17)
	RETURNING threads.board_id, b.held),
nb AS (UPDATE boards SET last_no = last_no + 1, modified_us = $3 WHERE id = (SELECT board_id FROM t)
	RETURNING id, last_no, poster_ids),
ins AS (INSERT INTO posts (board_id, no, thread_no, created_us, name, trip, poster_id, subject, body, com, sage, ip, password_hash, ip_key, comment_hash, held)
	SELECT nb.id, nb.last_no, $2, $3, $6, $7, CASE WHEN nb.poster_ids THEN $8 ELSE '' END, $9, $10, $11, $4, $5, $12, $15, $16, t.held FROM nb, t
	RETURNING board_id, no, poster_id, held),
q AS (INSERT INTO quotes (board_id, from_no, to_board, to_no)
	SELECT ins.board_id, ins.no, x.board, x.no FROM ins, unnest($13::text[], $14::bigint[]) AS x(board, no))
SELECT no, poster_id, held FROM ins`

// advisoryLockSQL orders the writers of one board across every api
// instance before their statements start, so each statement's snapshot
// already holds the previous writer's post (the cooldown check needs it).
const advisoryLockSQL = "SELECT pg_advisory_xact_lock(1835101801, hashtext($1))" // "mani", board

// createReplyPostgres is CreatePost for a reply on PostgreSQL: one
// transaction of four statements (begin, the board's advisory lock, the
// reply, commit) sent together in one round trip, since the board is the
// site's one serial point and every round trip while it is held costs
// every poster of the board.
func (s *Store) createReplyPostgres(ctx context.Context, in NewPost) (*Created, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	now := in.Time.UnixMicro()
	posterID := ""
	if in.PosterID != nil {
		posterID = in.PosterID(in.Resto) // kept only if the board shows IDs
	}
	toBoards, toNos := make([]string, len(in.Quotes)), make([]int64, len(in.Quotes))
	for i, q := range in.Quotes {
		toBoards[i], toNos[i] = q.Board, q.No
	}
	var no int64
	var storedID string
	held, refused := false, false
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		batch := &pgx.Batch{}
		batch.Queue("BEGIN")
		batch.Queue(advisoryLockSQL, in.Board)
		batch.Queue(replySQL, in.Board, in.Resto, now, in.Sage, in.IP, in.Name, in.Trip, posterID,
			in.Subject, in.Body, in.Com, in.PasswordHash, toBoards, toNos, realip.Key(in.IP), commentHash(in.Body), maxHeld(in))
		batch.Queue("COMMIT")
		br := pc.SendBatch(ctx, batch)
		_, err := br.Exec()
		if err == nil {
			_, err = br.Exec()
		}
		if err == nil {
			err = br.QueryRow().Scan(&no, &storedID, &held)
			if errors.Is(err, pgx.ErrNoRows) {
				refused, err = true, nil
			}
		}
		if err == nil {
			_, err = br.Exec() // COMMIT; after a failed statement PostgreSQL rolls back instead
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused {
		return nil, s.whyRefused(s.db.WithContext(ctx), in)
	}
	return &Created{Post: maniwani.Post{Board: in.Board, No: no, Resto: in.Resto, Time: usToTime(now),
		Name: in.Name, Trip: in.Trip, PosterID: storedID, Subject: in.Subject, Body: in.Body, Com: in.Com,
		Sage: in.Sage, IP: in.IP, PasswordHash: in.PasswordHash}, Held: held}, nil
}

// whyRefused explains a reply the statement refused: no such board or
// thread, a closed or archived one, a cooldown, a comment not unique, or a
// full review queue.
func (s *Store) whyRefused(tx *gorm.DB, in NewPost) error {
	if err := s.checkPost(tx, in, false); err != nil {
		return err
	}
	return fmt.Errorf("store: reply to /%s/%d refused for no known reason", in.Board, in.Resto)
}

// Deleted is what DeletePost removed.
type Deleted struct {
	Board  string
	No     int64
	Thread int64 // the post's thread; equal to No when the whole thread went
	Files  []GoneFile
}

// GoneFile is a file of a deleted post; Last says no post uses its bytes
// any more, so media may drop them.
type GoneFile struct {
	maniwani.FileRef
	Last bool
}

// deleteFiles removes the file rows of the board's posts in nos and tells
// which bytes no post uses any more.
func deleteFiles(tx *gorm.DB, boardID int64, board string, nos *gorm.DB) ([]GoneFile, error) {
	var rows []fileRow
	if err := tx.Where("board_id = ? AND post_no IN (?)", boardID, nos).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	if err := tx.Where("id IN ?", ids).Delete(&fileRow{}).Error; err != nil {
		return nil, err
	}
	out := make([]GoneFile, len(rows))
	for i, r := range rows {
		var others int64
		if err := tx.Model(&fileRow{}).Where("sha256 = ?", r.SHA256).Count(&others).Error; err != nil {
			return nil, err
		}
		out[i] = GoneFile{FileRef: maniwani.FileRef{Board: board, Tim: r.Tim, SHA256: r.SHA256, Ext: r.Ext}, Last: others == 0}
	}
	return out, nil
}

// DeletePost removes a post whose password hash matches (a poster deleting
// their own post): a reply leaves its thread one reply (and perhaps one
// image) shorter; an opening post takes its whole thread with it.
func (s *Store) DeletePost(ctx context.Context, board string, no int64, passwordHash string, at time.Time) (*Deleted, error) {
	var out *Deleted
	err := s.write(ctx, func(tx *gorm.DB) error {
		b, p, err := s.postRow(tx, board, no)
		if err != nil {
			return err
		}
		if p.PasswordHash == "" || passwordHash == "" ||
			subtle.ConstantTimeCompare([]byte(p.PasswordHash), []byte(passwordHash)) != 1 {
			return maniwani.Errorf(maniwani.KindForbidden, "Wrong password for post No.%d.", no)
		}
		// The archive keeps what it holds, as 4chan's does.
		var archived []bool
		err = tx.Model(&threadRow{}).Where("board_id = ? AND no = ?", b.ID, p.ThreadNo).Pluck("archived", &archived).Error
		if err != nil {
			return err
		}
		if len(archived) > 0 && archived[0] {
			return maniwani.Errorf(maniwani.KindConflict, "Thread No.%d is archived: its posts can no longer be deleted.", p.ThreadNo)
		}
		out = &Deleted{Board: board, No: no, Thread: p.ThreadNo}
		out.Files, err = deletePosts(tx, b, []postRow{*p}, at.UnixMicro())
		return err
	})
	return out, err
}

// deletePosts removes posts of board b: a reply leaves its thread one reply
// (and perhaps one image) shorter; an opening post takes its whole thread.
// It returns the files that went with them.
func deletePosts(tx *gorm.DB, b *boardRow, posts []postRow, now int64) ([]GoneFile, error) {
	var ops, replies []int64
	for _, p := range posts {
		if p.ThreadNo == p.No {
			ops = append(ops, p.No)
		}
	}
	for _, p := range posts {
		if p.ThreadNo != p.No && !slices.Contains(ops, p.ThreadNo) {
			replies = append(replies, p.No)
		}
	}
	// Replies of surviving threads: each thread loses its count of them
	// (a held one was never counted).
	for _, p := range posts {
		if !slices.Contains(replies, p.No) || p.Held {
			continue
		}
		var files int64
		if err := tx.Model(&fileRow{}).Where("board_id = ? AND post_no = ?", b.ID, p.No).Count(&files).Error; err != nil {
			return nil, err
		}
		err := tx.Model(&threadRow{}).Where("board_id = ? AND no = ?", b.ID, p.ThreadNo).Updates(map[string]any{
			"replies": gorm.Expr("replies - 1"), "images": gorm.Expr("images - ?", files), "modified_us": now}).Error
		if err != nil {
			return nil, err
		}
	}
	if len(ops) > 0 {
		if err := tx.Where("board_id = ? AND no IN ?", b.ID, ops).Delete(&threadRow{}).Error; err != nil {
			return nil, err
		}
	}
	gone := tx.Model(&postRow{}).Select("no").Where("board_id = ? AND (no IN ? OR thread_no IN ?)",
		b.ID, append(replies, 0), append(ops, 0))
	if err := tx.Where("board_id = ? AND from_no IN (?)", b.ID, gone).Delete(&quoteRow{}).Error; err != nil {
		return nil, err
	}
	if err := tx.Where("board_id = ? AND post_no IN (?)", b.ID, gone).Delete(&reportRow{}).Error; err != nil {
		return nil, err
	}
	files, err := deleteFiles(tx, b.ID, b.Name, gone)
	if err != nil {
		return nil, err
	}
	if err := tx.Where("board_id = ? AND no IN (?)", b.ID, gone).Delete(&postRow{}).Error; err != nil {
		return nil, err
	}
	return files, tx.Model(&boardRow{}).Where("id = ?", b.ID).Update("modified_us", now).Error
}

// CreateReport stores a poster's report of a post, within the budget of
// reports of the poster's address (a *Spent when it is spent).
func (s *Store) CreateReport(ctx context.Context, r maniwani.Report, limit Budget) error {
	now := r.Created.UnixMicro()
	budgets := []Budget{limit}
	if err := normalize(budgets); err != nil {
		return err
	}
	// A spent budget is told by a read, as in Take; the transaction counts
	// again.
	if spent, err := s.spentNow(ctx, budgets[0], r.Created); err != nil || spent != nil {
		if err != nil {
			return err
		}
		return spent
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		b, err := s.boardRow(tx, r.Board)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&postRow{}).Where("board_id = ? AND no = ? AND held = ?", b.ID, r.No, false).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound("Post No.%d does not exist on /%s/.", r.No, r.Board)
		}
		_, spent, err := s.take(tx, r.Created, budgets...)
		if err != nil {
			return err
		}
		if spent != nil {
			return spent
		}
		return tx.Create(&reportRow{BoardID: b.ID, PostNo: r.No, Reason: r.Reason, IP: r.IP, CreatedUS: now}).Error
	})
	s.sweep(ctx, r.Created)
	return err
}
