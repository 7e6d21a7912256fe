package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// CheckPost tells, with a few reads and no lock, whether CreatePost would
// refuse the post now: an unknown board or thread, a closed or archived
// thread, the address's cooldown, a comment the board had lately (when
// in.Body is known), a full review queue for a new poster, a thread at
// its image limit (for a post withFile). The api asks before any costly
// work on a post (decoding its file, rendering its body), so that a
// refused post costs little;
// CreatePost checks it all again in its transaction, where it counts.
func (s *Store) CheckPost(ctx context.Context, in NewPost, withFile bool) error {
	return s.checkPost(s.db.WithContext(ctx), in, withFile)
}

func (s *Store) checkPost(tx *gorm.DB, in NewPost, withFile bool) error {
	board, err := s.boardRow(tx, in.Board)
	if err != nil {
		return err
	}
	var t threadRow
	if in.Resto != 0 {
		err = tx.Where("board_id = ? AND no = ?", board.ID, in.Resto).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("Thread No.%d does not exist on /%s/.", in.Resto, in.Board)
		}
		if err != nil {
			return err
		}
		if err := replyable(&t); err != nil {
			return err
		}
	}
	// The one cooldown check, CreatePost's own, and its unique comments'.
	if err := s.checkCooldown(tx, board, in); err != nil {
		return err
	}
	if err := checkUnique(tx, board, in); err != nil {
		return err
	}
	if _, err := checkHold(tx, board, in); err != nil { // a full queue
		return err
	}
	if withFile && in.Resto != 0 && t.Images >= board.ImageLimit {
		return imageLimitReached(in.Resto, board.ImageLimit)
	}
	return nil
}

func imageLimitReached(thread int64, limit int) error {
	return maniwani.Errorf(maniwani.KindForbidden,
		"Thread No.%d has reached its limit of %d image%s; reply without a file.", thread, limit, plural(limit))
}
