package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A moderator's filters and purges through the admin UI's forms.
func TestAdminFiltersAndPurge(t *testing.T) {
	s := newAdminSite(t)
	adm := s.browser("10.3.0.1")
	adm.login("admin", adminPassword)
	adm.page("/admin/staff")
	if _, msg := adm.submit("/admin/staff", "username", "mod", "password", "moderator-password", "role", "moderator"); !strings.HasPrefix(msg, "Added mod") {
		t.Fatalf("add a moderator: %q", msg)
	}
	b := s.browser("10.3.0.2")
	b.login("mod", "moderator-password")

	page := b.page("/admin/filters")
	if !strings.Contains(page, `href="/admin/filters" aria-current="page"`) || !strings.Contains(page, "No filters.") {
		t.Fatalf("filters page:\n%s", page)
	}
	for _, c := range []struct {
		fields []string
		want   string
	}{
		{[]string{"pattern", "a(b", "regex", "1", "fields", "com", "action", "reject"}, "error: The pattern is not an RE2 regular expression"},
		{[]string{"pattern", "x", "fields", "com", "action", "ban", "reason", "r"}, "error: A ban filter needs its length"},
		{[]string{"pattern", "x", "action", "reject"}, "error: Say which fields"},
	} {
		if _, msg := b.submit("/admin/filters", append(c.fields, "back", "/admin/filters")...); !strings.HasPrefix(msg, c.want) {
			t.Errorf("%v: %q, want %q", c.fields, msg, c.want)
		}
	}
	to, msg := b.submit("/admin/filters", "back", "/admin/filters", "pattern", "cheap pills", "fields", "com", "fields", "sub",
		"board", "b", "action", "reject", "reason", "spam")
	if to != "/admin/filters" || msg != "Added filter #1." {
		t.Fatalf("add a filter: %s %q", to, msg)
	}
	if _, msg := b.submit("/admin/filters", "pattern", "wiper", "fields", "name", "action", "ban", "reason", "wiping", "ban_hours", "3"); msg != "Added filter #2." {
		t.Fatalf("add a ban filter: %q", msg)
	}
	page = b.page("/admin/filters")
	for _, want := range []string{"<code>cheap pills</code>", "com, sub", "/b/", "ban for 3 h", "wiping", `action="/admin/filters/1/delete"`} {
		if !strings.Contains(page, want) {
			t.Errorf("filters page lacks %q:\n%s", want, page)
		}
	}
	if code, body := s.postFrom("10.5.0.1", "b", 0, "CHEAP pills here"); code != http.StatusForbidden || !strings.Contains(body, "spam") {
		t.Errorf("a post the filter matches: %d %s", code, body)
	}
	if _, msg := b.submit("/admin/filters/1/delete", "back", "/admin/filters", "confirm", "yes"); msg != "Deleted filter #1." {
		t.Errorf("delete: %q", msg)
	}
	th, _ := s.post("b", 0, "com", "cheap pills, allowed again")

	// Purge beside a post: its address, on its board; from the dashboard,
	// a range on every board.
	var nos []int64
	for i := range 3 {
		code, body := s.postFrom(fmt.Sprintf("10.6.0.%d", i+1), "b", th, fmt.Sprintf("wipe %d", i))
		if code != http.StatusSeeOther && code != http.StatusCreated {
			t.Fatalf("reply: %d %s", code, body)
		}
		nos = append(nos, th+int64(i)+1)
	}
	post := b.page(fmt.Sprintf("/admin/posts/b/%d", nos[0]))
	if !strings.Contains(post, "Purge every post of 10.6.0.1") || !strings.Contains(post, `<option value="">on every board</option>`) {
		t.Fatalf("no purge beside the post:\n%s", post)
	}
	to, msg = b.submit("/admin/purge", "target", "10.6.0.1", "board", "b", "since", "", "back", fmt.Sprintf("/admin/posts/b/%d", nos[0]), "confirm", "yes")
	if to != "/admin/" || msg != "Purged 10.6.0.1 on /b/: 1 post deleted." {
		t.Errorf("purge an address: %s %q", to, msg)
	}
	s.report("b", nos[1], "wiper", "10.7.0.1")
	if reps := b.page("/admin/reports"); !strings.Contains(reps, "Purge every post of 10.6.0.2") {
		t.Errorf("no purge beside a reported post:\n%s", reps)
	}
	dash := b.page("/admin/")
	if !strings.Contains(dash, "Purge an address or range") {
		t.Fatalf("no purge on the dashboard:\n%s", dash)
	}
	if _, msg := b.submit("/admin/purge", "target", "10.6.0.0/24", "since", "yesterday", "confirm", "yes"); !strings.HasPrefix(msg, "error: \"yesterday\" is not a time") {
		t.Errorf("a bad time: %q", msg)
	}
	// Too wide for a moderator: the page that says so, as for a ban.
	if a := b.do("POST", "/admin/purge", url.Values{"csrf": {b.csrf}, "target": {"10.0.0.0/8"}, "confirm": {"yes"}}); a.code != http.StatusForbidden ||
		!strings.Contains(a.body, "only an admin") {
		t.Errorf("a wide purge by a moderator: %d\n%s", a.code, a.body)
	}
	b.page("/admin/") // refresh the token
	if _, msg := b.submit("/admin/purge", "target", "10.6.0.0/24", "board", "", "since", "2020-01-02T03:04", "confirm", "yes"); msg != "Purged 10.6.0.0/24 on every board: 2 posts deleted." {
		t.Errorf("purge a range: %q", msg)
	}
	if coms := s.threadCom("b", th); len(coms) != 1 {
		t.Errorf("the thread has %d posts after the purges, want 1", len(coms))
	}
	if log := b.page("/admin/log"); !strings.Contains(log, "<td>purge</td><td>10.6.0.0/24 on every board since 2020-01-02T03:04:00Z</td><td>2 posts deleted</td>") {
		t.Errorf("the log:\n%s", log)
	}
}

// A moderator's review queue: the board's form holds new posters, whose
// posts wait on /admin/held, unseen on the board's pages, until approved
// (in the thread) or rejected (gone).
func TestAdminHeld(t *testing.T) {
	s := newAdminSite(t)
	th, _ := s.post("b", 0, "com", "an old thread")
	adm := s.browser("10.3.0.1")
	adm.login("admin", adminPassword)
	if page := adm.page("/admin/boards/b"); !strings.Contains(page, `name="hold_new_posters" value="1">`) {
		t.Fatalf("the board's form has no unticked hold_new_posters:\n%s", page)
	}
	if _, msg := adm.submit("/admin/boards/b", "settings", "1", "hold_new_posters", "1", "back", "/admin/boards/b"); !strings.HasPrefix(msg, "Saved") {
		t.Fatalf("hold new posters: %q", msg)
	}
	if page := adm.page("/admin/boards/b"); !strings.Contains(page, `name="hold_new_posters" value="1" checked`) {
		t.Fatalf("the board's form after saving:\n%s", page)
	}

	code, body := s.postFrom("10.8.0.1", "b", th, "a newcomer's first words")
	if code != http.StatusAccepted || !strings.Contains(body, "awaits review") {
		t.Fatalf("a new poster's post: %d %s", code, body)
	}
	if code, _ := s.postFrom("10.8.0.2", "b", th, "a newcomer's spam"); code != http.StatusAccepted {
		t.Fatalf("another new poster's post: %d", code)
	}
	for _, path := range []string{"/b/", fmt.Sprintf("/b/thread/%d", th), "/b/catalog"} {
		if page := s.page(path); strings.Contains(page, "newcomer") {
			t.Errorf("%s shows a held post:\n%s", path, page)
		}
	}
	page := adm.page("/admin/held")
	for _, want := range []string{`href="/admin/held" aria-current="page"`, "a newcomer&#39;s first words", "10.8.0.1",
		fmt.Sprintf("a reply to No.%d", th), fmt.Sprintf(`action="/admin/held/b/%d"`, th+1), `value="1">Approve</button>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the held posts' page lacks %q:\n%s", want, page)
		}
	}
	if to, msg := adm.submit(fmt.Sprintf("/admin/held/b/%d", th+1), "approve", "1", "back", "/admin/held"); to != "/admin/held" ||
		msg != fmt.Sprintf("Approved /b/ No.%d: it is published.", th+1) {
		t.Errorf("approve: %s %q", to, msg)
	}
	if _, msg := adm.submit(fmt.Sprintf("/admin/held/b/%d", th+2), "approve", "0", "back", "/admin/held"); msg != fmt.Sprintf("Rejected /b/ No.%d: it is deleted.", th+2) {
		t.Errorf("reject: %q", msg)
	}
	if _, msg := adm.submit(fmt.Sprintf("/admin/held/b/%d", th+2), "approve", "1", "back", "/admin/held"); !strings.HasPrefix(msg, "error: ") {
		t.Errorf("approving a rejected post: %q", msg)
	}
	if page := adm.page("/admin/held"); !strings.Contains(page, "No posts wait for review.") {
		t.Errorf("the queue after its decisions:\n%s", page)
	}
	if got := s.threadCom("b", th); len(got) != 2 || !strings.Contains(got[1], "first words") {
		t.Errorf("the thread after review: %q", got)
	}
}
