package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// ResolveQuotes finds the thread of each quoted post that exists (and is
// not held for review), in one query per board named.
func (s *Store) ResolveQuotes(ctx context.Context, refs []maniwani.Ref) (map[maniwani.Ref]int64, error) {
	out := map[maniwani.Ref]int64{}
	byBoard := map[string][]int64{}
	for _, r := range refs {
		byBoard[r.Board] = append(byBoard[r.Board], r.No)
	}
	for board, nos := range byBoard {
		var rows []struct{ No, ThreadNo int64 }
		err := s.db.WithContext(ctx).Model(&postRow{}).Select("posts.no, posts.thread_no").
			Joins("JOIN boards ON boards.id = posts.board_id").
			Where("boards.name = ? AND posts.no IN ? AND posts.held = ?", board, nos, false).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[maniwani.Ref{Board: board, No: r.No}] = r.ThreadNo
		}
	}
	return out, nil
}

// BoardsExist tells which of the names are boards.
func (s *Store) BoardsExist(ctx context.Context, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(names) == 0 {
		return out, nil
	}
	var found []string
	err := s.db.WithContext(ctx).Model(&boardRow{}).Where("name IN ?", names).Pluck("name", &found).Error
	for _, n := range found {
		out[n] = true
	}
	return out, err
}

// Backlinks tells, for each post of a thread, which posts quote it, oldest
// first; a post held for review quotes nobody yet.
func (s *Store) Backlinks(ctx context.Context, board string, thread int64) (map[int64][]maniwani.Ref, error) {
	db := s.db.WithContext(ctx)
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ToNo   int64
		Board  string
		FromNo int64
	}
	err = db.Model(&quoteRow{}).Select("quotes.to_no, boards.name AS board, quotes.from_no").
		Joins("JOIN boards ON boards.id = quotes.board_id").
		Where("quotes.to_board = ? AND quotes.to_no IN (SELECT no FROM posts WHERE board_id = ? AND thread_no = ?)",
			board, b.ID, thread).
		Where("NOT EXISTS (SELECT 1 FROM posts f WHERE f.board_id = quotes.board_id AND f.no = quotes.from_no AND f.held = ?)", true).
		Order("quotes.to_no, quotes.id").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[int64][]maniwani.Ref{}
	for _, r := range rows {
		out[r.ToNo] = append(out[r.ToNo], maniwani.Ref{Board: r.Board, No: r.FromNo})
	}
	return out, nil
}

// StoredPost is a post as the re-render command walks them.
type StoredPost struct {
	ID       int64
	Board    string
	No       int64
	ThreadNo int64
	Body     string
	Com      string
}

// PostsAfter lists up to limit posts in storage order after the one with id
// after (0 for the first).
func (s *Store) PostsAfter(ctx context.Context, after int64, limit int) ([]StoredPost, error) {
	var out []StoredPost
	err := s.db.WithContext(ctx).Model(&postRow{}).
		Select("posts.id, boards.name AS board, posts.no, posts.thread_no, posts.body, posts.com").
		Joins("JOIN boards ON boards.id = posts.board_id").
		Where("posts.id > ?", after).Order("posts.id").Limit(limit).Scan(&out).Error
	return out, err
}

// SetCom replaces a post's rendered comment.
func (s *Store) SetCom(ctx context.Context, id int64, com string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&postRow{}).Where("id = ?", id).Update("com", com).Error
	})
}
