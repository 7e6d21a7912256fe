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
	var v maniwani.StaffFilters
	if _, err := s.staffCall(r, http.MethodGet, "/api/admin/filters", "", nil, &v); err != nil {
		return err
	}
	p.Filters = v.Filters
	p.Boards, _ = s.read.Boards(r.Context())
	s.adminRender(w, r, "a-filters", http.StatusOK, p)
	return nil
}

func (s *Service) actCreateFilter(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	in := map[string]any{"board": f.Get("board"), "pattern": f.Get("pattern"), "regex": f.Get("regex") != "",
		"fields": f["fields"], "action": f.Get("action"), "reason": strings.TrimSpace(f.Get("reason"))}
	if in["fields"] == nil {
		in["fields"] = []string{}
	}
	if f.Get("action") == string(maniwani.ActionReplace) {
		in["replacement"] = f.Get("replacement")
	}
	if f.Get("action") == string(maniwani.ActionBan) {
		h, err := strconv.Atoi(strings.TrimSpace(f.Get("ban_hours")))
		if err != nil || h < 1 {
			return "", invalid("A ban filter needs its length: a whole number of hours.")
		}
		in["ban_hours"] = h
	}
	var out maniwani.StaffFilter
	if err := a.call(s, http.MethodPost, "/api/admin/filters", in, &out); err != nil {
		return "", err
	}
	return fmt.Sprintf("Added filter #%d.", out.ID), nil
}

func (s *Service) actDeleteFilter(w http.ResponseWriter, a *action) (string, error) {
	id, err := strconv.ParseInt(a.r.PathValue("id"), 10, 64)
	if err != nil {
		return "", invalid("No such filter.")
	}
	if err := a.call(s, http.MethodDelete, "/api/admin/filters/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		return "", err
	}
	return fmt.Sprintf("Deleted filter #%d.", id), nil
}

// actPurge deletes every post of an address or range, on one board or
// all, since a time when one is given (the form's datetime-local, in UTC).
func (s *Service) actPurge(w http.ResponseWriter, a *action) (string, error) {
	f := a.r.PostForm
	target := strings.TrimSpace(f.Get("target"))
	in := map[string]any{"board": f.Get("board")}
	if pfx, err := netip.ParsePrefix(target); err == nil {
		in["cidr"] = pfx.String()
	} else if addr, err := netip.ParseAddr(target); err == nil {
		in["ip"] = addr.String()
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
		in["since"] = t.UTC().Format(time.RFC3339)
	}
	if f.Get("confirm_wide") != "" {
		in["confirm_wide"] = true
	}
	var out maniwani.StaffPurged
	if err := a.call(s, http.MethodPost, "/api/admin/purge", in, &out); err != nil {
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
	var v maniwani.StaffHeld
	if _, err := s.staffCall(r, http.MethodGet, "/api/admin/held", "", nil, &v); err != nil {
		return err
	}
	for i := range v.Posts {
		p.Held = append(p.Held, s.newStaffPostView(&v.Posts[i]))
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
	var out maniwani.StaffHeldDone
	if err := a.call(s, http.MethodPost, fmt.Sprintf("/api/admin/held/%s/%d", board, no), map[string]any{"approve": approve}, &out); err != nil {
		return "", err
	}
	if approve {
		return fmt.Sprintf("Approved /%s/ No.%d: it is published.", board, no), nil
	}
	return fmt.Sprintf("Rejected /%s/ No.%d: it is deleted.", board, no), nil
}
