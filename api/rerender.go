package api

import (
	"context"

	"github.com/maniwani/maniwani"
)

// Rerender renders every stored post again with the current renderer and
// stores the com that changed: for after the renderer's output changes
// (markdown.Version). Quotes are resolved again, so a link to a post that
// was deleted since becomes a dead link. The site's caches are dropped at
// the end.
func (s *Service) Rerender(ctx context.Context) (seen, changed int, err error) {
	var after int64
	for {
		posts, err := s.store.PostsAfter(ctx, after, 500)
		if err != nil {
			return seen, changed, err
		}
		if len(posts) == 0 {
			break
		}
		for _, p := range posts {
			after = p.ID
			seen++
			thread := p.ThreadNo
			if thread == p.No {
				thread = 0 // an opening post was rendered before its thread existed
			}
			in, _, err := s.renderInput(ctx, p.Board, thread, p.Body)
			if err != nil {
				return seen, changed, err
			}
			com, err := s.deps.Renderer.Render(ctx, in)
			if err != nil {
				return seen, changed, err
			}
			if com != p.Com {
				if err := s.store.SetCom(ctx, p.ID, com); err != nil {
					return seen, changed, err
				}
				changed++
			}
		}
	}
	if changed > 0 && s.deps.Invalidator != nil {
		err = s.deps.Invalidator.Invalidate(ctx, maniwani.Invalidation{All: true})
	}
	return seen, changed, err
}
