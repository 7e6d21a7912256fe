package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// MaxReportReason is the longest reason a report may give, in characters.
const MaxReportReason = 200

// posterRequest admits the request (board, address, ban) and reads its
// small form (POST /{board}/delete and /{board}/report) and post number.
func (s *Service) posterRequest(w http.ResponseWriter, r *http.Request) (board, ip string, no int64, ok bool) {
	if board, ip, ok = s.admit(w, r, false); !ok {
		return "", "", 0, false
	}
	limitBody(w, r, 16<<10, "The post is too large.")
	if err := r.ParseMultipartForm(16 << 10); err != nil && err != http.ErrNotMultipart {
		s.fail(w, r, malformed(err), nil)
		return "", "", 0, false
	}
	no, err := strconv.ParseInt(strings.TrimSpace(r.FormValue("no")), 10, 64)
	if err != nil || no < 1 {
		s.fail(w, r, invalid("no must be a post number."), nil)
		return "", "", 0, false
	}
	return board, ip, no, true
}

// handleDelete deletes a poster's own post: POST /{board}/delete with no and
// the pwd the post was made with. Each try takes a slot of its address's
// budget of wrong passwords first; only a wrong one keeps it.
func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	board, ip, no, ok := s.posterRequest(w, r)
	if !ok {
		return
	}
	pw := r.FormValue("pwd")
	if pw == "" {
		s.fail(w, r, maniwani.Errorf(maniwani.KindForbidden, "Give the password the post was made with."), nil)
		return
	}
	ctx := r.Context()
	slots, err := s.store.Take(ctx, s.now(), deleteBudget(ip))
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	d, err := s.store.DeletePost(ctx, board, no, s.keyed("pwd", pw, "hex"), s.now())
	if maniwani.ErrorKind(err) != maniwani.KindForbidden { // not a wrong password
		s.release(ctx, slots)
	}
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	s.afterCommit(r.Context(), maniwani.Invalidation{Board: board, Threads: []int64{d.Thread}},
		&pb.Event{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{Board: board, No: no, Thread: d.Thread}}})
	s.removeFiles(r.Context(), d.Files)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"board": board, "no": no, "deleted": true})
		return
	}
	// Back where the post was, with the page's notice (shown by :target,
	// so the cached page serves every poster).
	to := fmt.Sprintf("/%s/thread/%d#n-deleted", board, d.Thread)
	if d.Thread == no {
		to = "/" + board + "/#n-deleted-thread"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// handleReport stores a report of a post: POST /{board}/report with no and
// reason.
func (s *Service) handleReport(w http.ResponseWriter, r *http.Request) {
	board, ip, no, ok := s.posterRequest(w, r)
	if !ok {
		return
	}
	reason, err := cleanText(r.FormValue("reason"), textField{"reason", MaxReportReason, lineText})
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	reason = strings.TrimSpace(reason)
	err = s.store.CreateReport(r.Context(), maniwani.Report{Board: board, No: no, Reason: reason, IP: ip, Created: s.now()},
		reportBudget(ip))
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]any{"board": board, "no": no, "reported": true})
		return
	}
	to := fmt.Sprintf("/%s/#n-reported", board)
	if t, err := s.store.ThreadOf(r.Context(), board, no); err == nil {
		to = fmt.Sprintf("/%s/thread/%d#n-reported", board, t)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
