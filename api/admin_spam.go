package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// The staff API's defences against spam: filters and purges.

func (s *Service) handleFilters(w http.ResponseWriter, r *http.Request, _ *staffRequest) {
	fs, err := s.store.Filters(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	out := make([]maniwani.StaffFilter, len(fs))
	for i := range fs {
		out[i] = filterOut(&fs[i])
	}
	writeJSON(w, http.StatusOK, maniwani.StaffFilters{Filters: out})
}

// handleCreateFilter: POST /api/admin/filters {"board","pattern","regex",
// "fields","action","replacement","reason","ban_hours"}.
func (s *Service) handleCreateFilter(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	var in filterIn
	if err := readJSON(r, &in); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	f, err := in.filter()
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	f.Staff, f.Created = st.staff.Username, s.now()
	what := fmt.Sprintf("%s %q on %s", f.Action, clip(f.Pattern, 100), strings.Join(fieldNames(f.Fields), ", "))
	if f.ID, err = s.store.CreateFilter(r.Context(), f, s.logEntry(st, "create filter", "", what)); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	s.filtersChanged()
	writeJSON(w, http.StatusCreated, filterOut(&f))
}

func fieldNames(fs []maniwani.FilterField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func (s *Service) handleDeleteFilter(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	id, err := pathID(r)
	if err == nil {
		err = s.store.DeleteFilter(r.Context(), id, s.logEntry(st, "delete filter", "", ""))
	}
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	s.filtersChanged()
	w.WriteHeader(http.StatusNoContent)
}

// handlePurge: POST /api/admin/purge {"ip" or "cidr", "board" ("": every
// board), "since" (RFC 3339), "confirm_wide"} deletes every post of the
// address or range there (since then) and answers {"deleted":N}. A range
// wider than a ban may be without confirmation needs an admin and
// "confirm_wide": true, as a ban does.
func (s *Service) handlePurge(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	var in struct {
		IP, CIDR, Board, Since string
		ConfirmWide            bool `json:"confirm_wide"`
	}
	if err := readJSON(r, &in); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	target := strings.TrimSpace(in.CIDR)
	if t := strings.TrimSpace(in.IP); t != "" {
		if target != "" {
			s.fail(w, r, invalid("Send ip or cidr, not both."), nil)
			return
		}
		target = t
	}
	if target == "" {
		s.fail(w, r, invalid("Say whose posts to delete: ip or cidr."), nil)
		return
	}
	p, err := store.ParseBanTarget(target)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	if wideBan(p) {
		switch {
		case !st.staff.Role.Can(maniwani.PermWideBan):
			s.fail(w, r, maniwani.Errorf(maniwani.KindForbidden,
				"%s is wider than an IPv4 /16 or an IPv6 /32: only an admin may purge a range that wide.", p), nil)
			return
		case !in.ConfirmWide:
			s.fail(w, r, invalid(`%s is wider than an IPv4 /16 or an IPv6 /32: it deletes the posts of every poster of a large network. `+
				`Confirm the width ("confirm_wide": true) to purge it.`, p), nil)
			return
		}
	}
	q := store.PurgeQuery{Range: p, Board: strings.TrimSpace(in.Board)}
	if in.Since != "" {
		t, err := time.Parse(time.RFC3339, in.Since)
		if err != nil {
			s.fail(w, r, invalid("since is a time in RFC 3339, such as 2030-01-02T15:04:05Z."), nil)
			return
		}
		q.Since = max(t.UnixMicro(), 1)
	}
	where := "every board"
	if q.Board != "" {
		where = "/" + q.Board + "/"
	}
	target = p.String() + " on " + where
	if in.Since != "" {
		target += " since " + in.Since
	}
	gone, n, err := s.store.Purge(r.Context(), q, s.logEntry(st, "purge", target, ""))
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	for board, d := range gone {
		s.afterStaffDelete(r.Context(), board, d)
	}
	s.log.Info("purge", "staff", st.staff.Username, "target", target, "deleted", n)
	writeJSON(w, http.StatusOK, maniwani.StaffPurged{Deleted: n})
}

// afterStaffDelete tells the site about posts staff deleted from board:
// the caches of their threads go, and their viewers see them go.
func (s *Service) afterStaffDelete(ctx context.Context, board string, d *store.StaffDeleted) []int64 {
	events := make([]*pb.Event, 0, len(d.Posts))
	nos := make([]int64, 0, len(d.Posts))
	for i, p := range d.Posts {
		nos = append(nos, p.No)
		events = append(events, &pb.Event{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{
			Board: board, No: p.No, Thread: d.Threads[i]}}})
	}
	s.afterCommit(ctx, maniwani.Invalidation{Board: board, Threads: d.Threads}, events...)
	s.removeFiles(ctx, d.Files)
	return nos
}
