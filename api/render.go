package api

import (
	"context"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/markdown"
)

// renderInput gathers what a body's rendering depends on: the thread of
// every post it quotes and the boards it names, in one query each. It also
// returns the quotes that exist, to be kept as backlinks.
func (s *Service) renderInput(ctx context.Context, board string, thread int64, body string) (maniwani.RenderInput, []maniwani.Ref, error) {
	in := maniwani.RenderInput{Board: board, Thread: thread, Body: body}
	refs := markdown.Refs(board, body)
	if len(refs) > 0 {
		threads, err := s.store.ResolveQuotes(ctx, refs)
		if err != nil {
			return in, nil, err
		}
		in.Threads = threads
		var quotes []maniwani.Ref
		for _, r := range refs {
			if _, ok := threads[r]; ok {
				quotes = append(quotes, r)
			}
		}
		refs = quotes
	}
	if names := markdown.BoardRefs(body); len(names) > 0 {
		boards, err := s.store.BoardsExist(ctx, names)
		if err != nil {
			return in, nil, err
		}
		in.Boards = boards
	}
	return in, refs, nil
}

// quotedThreads groups the threads of the quoted posts by board: their pages
// show a new backlink, so their caches must drop them too.
func quotedThreads(in maniwani.RenderInput, quotes []maniwani.Ref) map[string][]int64 {
	out := map[string][]int64{}
	seen := map[maniwani.Ref]bool{}
	for _, q := range quotes {
		t := maniwani.Ref{Board: q.Board, No: in.Threads[q]}
		if !seen[t] {
			seen[t] = true
			out[q.Board] = append(out[q.Board], t.No)
		}
	}
	return out
}
