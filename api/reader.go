package api

import (
	"context"

	"github.com/maniwani/maniwani"
)

// The api is the pages' maniwani.Reader in one process. Posts read through it
// carry no address or password hash: pages are public.

var _ maniwani.Reader = (*Service)(nil)

// Boards implements maniwani.Reader.
func (s *Service) Boards(ctx context.Context) ([]maniwani.Board, error) {
	return s.store.Boards(ctx)
}

// Board implements maniwani.Reader.
func (s *Service) Board(ctx context.Context, name string) (*maniwani.Board, error) {
	return s.store.Board(ctx, name)
}

// Threads implements maniwani.Reader.
func (s *Service) Threads(ctx context.Context, board string, offset, limit, last int) ([]maniwani.ThreadView, error) {
	vs, err := s.store.Threads(ctx, board, offset, limit, last)
	for i := range vs {
		public(vs[i].Posts)
	}
	return vs, err
}

// Thread implements maniwani.Reader.
func (s *Service) Thread(ctx context.Context, board string, no int64) (*maniwani.ThreadView, error) {
	v, err := s.store.Thread(ctx, board, no)
	if v != nil {
		public(v.Posts)
	}
	return v, err
}

// Latest implements maniwani.Reader.
func (s *Service) Latest(ctx context.Context, limit int) ([]maniwani.ThreadView, error) {
	vs, err := s.store.Latest(ctx, limit)
	for i := range vs {
		public(vs[i].Posts)
	}
	return vs, err
}

// ThreadOf implements maniwani.Reader.
func (s *Service) ThreadOf(ctx context.Context, board string, no int64) (int64, error) {
	return s.store.ThreadOf(ctx, board, no)
}

// MovedTo implements maniwani.Reader.
func (s *Service) MovedTo(ctx context.Context, board string, no int64) (maniwani.MovedPost, error) {
	return s.store.MovedTo(ctx, board, no)
}

// Archive implements maniwani.Reader.
func (s *Service) Archive(ctx context.Context, board string, limit int) ([]maniwani.ThreadView, error) {
	vs, err := s.store.Archive(ctx, board, limit)
	for i := range vs {
		public(vs[i].Posts)
	}
	return vs, err
}

// public drops what only staff may see.
func public(ps []maniwani.Post) {
	for i := range ps {
		ps[i].IP, ps[i].PasswordHash = "", ""
	}
}
