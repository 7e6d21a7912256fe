package api

import (
	"context"
	"fmt"
	"html/template"
	"net/http"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// The review queue of boards that hold new posters: a held post is
// answered 202 and told to nobody (no event, no cache dropped); a
// moderator approves it, and only then is it published as a new post is,
// or rejects it, and it is deleted.

// maxHeldListed bounds GET /api/admin/held: the oldest come first, and a
// board holds at most its MaxHeld.
const maxHeldListed = 500

// answerHeld answers a post held for review: 202 and {"held":true,
// "board","no"} as JSON, a page saying so to a browser's form post.
func (s *Service) answerHeld(w http.ResponseWriter, r *http.Request, board string, no int64) {
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]any{"held": true, "board": board, "no": no})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	heldPage.Execute(w, map[string]any{"Board": board, "No": no, "Back": r.Referer()})
}

var heldPage = template.Must(template.New("held").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your post awaits review - Maniwani</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="errp"><h1>Your post awaits review</h1>
<p>New posters' posts on /{{.Board}}/ are read by a moderator before they are shown. Your post No.{{.No}} appears once it is approved.</p>
<ul>{{if .Back}}<li><a href="{{.Back}}">Go back</a></li>{{end}}<li><a href="/{{.Board}}/">/{{.Board}}/</a></li><li><a href="/">Home</a></li></ul></main></body></html>
`))

// handleHeld: GET /api/admin/held, the posts held for review, oldest
// first.
func (s *Service) handleHeld(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listHeld(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffHeld{Posts: out}, err)
}

func (s *Service) listHeld(ctx context.Context, st *staffRequest) ([]maniwani.StaffPost, error) {
	ps, err := s.store.HeldPosts(ctx, maxHeldListed)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffPost, len(ps))
	for i := range ps {
		out[i] = *staffPostOut(&ps[i], st.staff.Role)
	}
	return out, nil
}

// handleHeldDecide: POST /api/admin/held/{board}/{no} {"approve":bool}.
func (s *Service) handleHeldDecide(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	no, err := postNo(r)
	var in maniwani.HeldDecision
	if err == nil {
		in, err = bodyOf[maniwani.HeldDecision](r)
	}
	var out *maniwani.StaffHeldDone
	if err == nil {
		if in.Approve == nil {
			err = invalid(`Send "approve": true to publish the post, or false to delete it.`)
		} else {
			out, err = s.decideHeld(r.Context(), st, r.PathValue("board"), no, *in.Approve)
		}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

// decideHeld publishes a held post at its number (approve): its thread's
// pages are dropped from the caches and its live viewers get it, with the
// threads it pushed into the archive and the backlinks it makes. Rejected,
// it is deleted with its file.
func (s *Service) decideHeld(ctx context.Context, st *staffRequest, board string, no int64, approve bool) (*maniwani.StaffHeldDone, error) {
	target := fmt.Sprintf("/%s/%d", board, no)
	if !approve {
		files, err := s.store.RejectHeld(ctx, board, no, s.logEntry(st, "reject held post", target, ""))
		if err != nil {
			return nil, err
		}
		s.removeFiles(ctx, files)
		return &maniwani.StaffHeldDone{Board: board, No: no}, nil
	}
	a, err := s.store.ApproveHeld(ctx, board, no, s.logEntry(st, "approve held post", target, ""))
	if err != nil {
		return nil, err
	}
	thread := a.Resto
	if thread == 0 {
		thread = a.No
	}
	quoted, err := s.store.ResolveQuotes(ctx, a.Quotes)
	if err != nil { // the post stands; only backlinks may show late
		s.log.Error("threads of an approved post's quotes not read", "board", board, "no", no, "err", err)
	}
	byBoard := map[string][]int64{}
	for ref, t := range quoted {
		byBoard[ref.Board] = append(byBoard[ref.Board], t)
	}
	events := []*pb.Event{postCreated(&a.Post)}
	for _, n := range a.Archived {
		events = append(events, threadArchived(board, n))
	}
	s.afterCommit(ctx, maniwani.Invalidation{Board: board,
		Threads: append(append([]int64{thread}, a.Archived...), byBoard[board]...)}, events...)
	for other, threads := range byBoard {
		if other != board {
			s.afterCommit(ctx, maniwani.Invalidation{Board: other, Threads: threads})
		}
	}
	return &maniwani.StaffHeldDone{Approved: true, Board: board, No: no, Thread: thread}, nil
}
