package ui

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// The admin pages of the defences against spam: filters, purges from
// beside a post or from the dashboard, and the review queue of held posts.

func (s *Service) pageFilters(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	if err := need(p, "ban"); err != nil {
		return err
	}
	p.Title, p.Section, p.Back = "Filters", "filters", "/admin/filters"
	var err error
	if p.Filters, err = s.staff.ListFilters(r.Context(), readCall(r)); err != nil {
		return err
	}
	p.Boards, _ = s.read.Boards(r.Context())
	s.adminRender(w, r, "a-filters", http.StatusOK, p)
	return nil
}

func (s *Service) actCreateFilter(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	in := maniwani.FilterRequest{Board: f.Get("board"), Pattern: f.Get("pattern"), Regex: f.Get("regex") != "",
		Fields: []maniwani.FilterField{}, Action: maniwani.FilterAction(f.Get("action")),
		Reason: strings.TrimSpace(f.Get("reason"))}
	for _, x := range f["fields"] {
		in.Fields = append(in.Fields, maniwani.FilterField(x))
	}
	if in.Action == maniwani.ActionReplace {
		in.Replacement = f.Get("replacement")
	}
	if in.Action == maniwani.ActionBan {
		h, err := strconv.Atoi(strings.TrimSpace(f.Get("ban_hours")))
		if err != nil || h < 1 {
			return "", invalid("A ban filter needs its length: a whole number of hours.")
		}
		in.BanHours = h
	}
	out, err := s.staff.CreateFilter(a.ctx, a.call, in)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Added filter #%d.", out.ID), nil
}

func (s *Service) actDeleteFilter(w http.ResponseWriter, a *action) (string, error) {
	return onID(a, "filter", "Deleted filter #%d.", func(id int64) error { return s.staff.DeleteFilter(a.ctx, a.call, id) })
}

// actPurge deletes every post of an address or range, on one board or
// all, since a time when one is given (the form's datetime-local, in UTC).
func (s *Service) actPurge(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	target := strings.TrimSpace(f.Get("target"))
	in := maniwani.PurgeRequest{Board: f.Get("board"), ConfirmWide: f.Get("confirm_wide") != ""}
	if pfx, err := netip.ParsePrefix(target); err == nil {
		in.CIDR = pfx.String()
	} else if addr, err := netip.ParseAddr(target); err == nil {
		in.IP = addr.String()
	} else {
		return "", invalid(fmt.Sprintf("%q is not an IPv4 or IPv6 address or a CIDR range.", target))
	}
	if v := strings.TrimSpace(f.Get("since")); v != "" {
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return "", invalid(fmt.Sprintf("%q is not a time: write it as 2026-01-02T15:04 (UTC).", v))
			}
		}
		in.Since = t.UTC().Format(time.RFC3339)
	}
	out, err := s.staff.Purge(a.ctx, a.call, in)
	if err != nil {
		return "", err
	}
	if u := a.back; strings.HasPrefix(u, "/admin/posts/") {
		a.back = "/admin/" // the post's page is likely gone with it
	}
	where := "every board"
	if b := f.Get("board"); b != "" {
		where = "/" + b + "/"
	}
	return fmt.Sprintf("Purged %s on %s: %d post%s deleted.", target, where, out.Deleted, map[bool]string{true: "", false: "s"}[out.Deleted == 1]), nil
}

func (s *Service) pageHeld(w http.ResponseWriter, r *http.Request, p *adminPage) error {
	if err := need(p, "ban"); err != nil {
		return err
	}
	p.Title, p.Section, p.Back = "Held posts", "held", "/admin/held"
	posts, err := s.staff.ListHeld(r.Context(), readCall(r))
	if err != nil {
		return err
	}
	for i := range posts {
		p.Held = append(p.Held, s.newStaffPostView(&posts[i]))
	}
	s.adminRender(w, r, "a-held", http.StatusOK, p)
	return nil
}

// actHeld approves (approve=1) or rejects (approve=0) a held post.
func (s *Service) actHeld(w http.ResponseWriter, a *action) (string, error) {
	board := a.r.PathValue("board")
	no, err := strconv.ParseInt(a.r.PathValue("no"), 10, 64)
	if err != nil || !maniwani.ValidBoardName(board) {
		return "", notFound("No such post.")
	}
	approve := a.r.PostForm.Get("approve") == "1"
	if _, err := s.staff.DecideHeld(a.ctx, a.call, board, no, approve); err != nil {
		return "", err
	}
	if approve {
		return fmt.Sprintf("Approved /%s/ No.%d: it is published.", board, no), nil
	}
	return fmt.Sprintf("Rejected /%s/ No.%d: it is deleted.", board, no), nil
}
