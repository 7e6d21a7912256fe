package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// The staff API's defences against spam: filters and purges.

func (s *Service) handleFilters(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listFilters(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffFilters{Filters: out}, err)
}

func (s *Service) listFilters(ctx context.Context, _ *staffRequest) ([]maniwani.StaffFilter, error) {
	fs, err := s.store.Filters(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffFilter, len(fs))
	for i := range fs {
		out[i] = filterOut(&fs[i])
	}
	return out, nil
}

// handleCreateFilter: POST /api/admin/filters {"board","pattern","regex",
// "fields","action","replacement","reason","ban_hours"}.
func (s *Service) handleCreateFilter(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	in, err := bodyOf[maniwani.FilterRequest](r)
	var out *maniwani.StaffFilter
	if err == nil {
		out, err = s.createFilter(r.Context(), st, in)
	}
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Service) createFilter(ctx context.Context, st *staffRequest, in maniwani.FilterRequest) (*maniwani.StaffFilter, error) {
	f, err := newFilter(in)
	if err != nil {
		return nil, err
	}
	f.Staff, f.Created = st.staff.Username, s.now()
	what := fmt.Sprintf("%s %q on %s", f.Action, clip(f.Pattern, 100), strings.Join(fieldNames(f.Fields), ", "))
	if f.ID, err = s.store.CreateFilter(ctx, f, s.logEntry(st, "create filter", "", what)); err != nil {
		return nil, err
	}
	s.filtersChanged()
	out := filterOut(&f)
	return &out, nil
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
		err = s.deleteFilter(r.Context(), st, id)
	}
	s.answer(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) deleteFilter(ctx context.Context, st *staffRequest, id int64) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := s.store.DeleteFilter(ctx, id, s.logEntry(st, "delete filter", "", "")); err != nil {
		return err
	}
	s.filtersChanged()
	return nil
}

// handlePurge: POST /api/admin/purge {"ip" or "cidr", "board" ("": every
// board), "since" (RFC 3339), "confirm_wide"} deletes every post of the
// address or range there (since then) and answers {"deleted":N}. A range
// wider than a ban may be without confirmation needs an admin and
// "confirm_wide": true, as a ban does.
func (s *Service) handlePurge(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	in, err := bodyOf[maniwani.PurgeRequest](r)
	var out *maniwani.StaffPurged
	if err == nil {
		out, err = s.purge(r.Context(), st, in)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Service) purge(ctx context.Context, st *staffRequest, in maniwani.PurgeRequest) (*maniwani.StaffPurged, error) {
	target, err := addressOrRange(in.IP, in.CIDR)
	if err != nil {
		return nil, err
	}
	if target == "" {
		return nil, invalid("Say whose posts to delete: ip or cidr.")
	}
	p, err := store.ParseBanTarget(target)
	if err != nil {
		return nil, err
	}
	if err := allowWide(st, p, in.ConfirmWide, "purge", "deletes the posts of"); err != nil {
		return nil, err
	}
	q := store.PurgeQuery{Range: p, Board: strings.TrimSpace(in.Board)}
	if in.Since != "" {
		t, err := time.Parse(time.RFC3339, in.Since)
		if err != nil {
			return nil, invalid("since is a time in RFC 3339, such as 2030-01-02T15:04:05Z.")
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
	gone, n, err := s.store.Purge(ctx, q, s.logEntry(st, "purge", target, ""))
	if err != nil {
		return nil, err
	}
	for board, d := range gone {
		s.afterStaffDelete(ctx, board, d)
	}
	s.log.Info("purge", "staff", st.staff.Username, "target", target, "deleted", n)
	return &maniwani.StaffPurged{Deleted: n}, nil
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
