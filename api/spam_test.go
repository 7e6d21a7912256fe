package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// diskMedia is a media service on a disk store of the test's own, which
// asks d's store for names as in one process.
func diskMedia(t *testing.T, d *api.Deps) *media.Service {
	t.Helper()
	files, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := media.New(media.Config{}, media.Deps{Store: files, Names: d.Store})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// withMedia gives the api a disk media store and tmp for its uploads.
func withMedia(t *testing.T, tmp string) func(c *api.Config, d *api.Deps) {
	return func(c *api.Config, d *api.Deps) {
		d.Media = diskMedia(t, d)
		c.TempDir = tmp
	}
}

// postNamedFile posts the fields, then a file of that name and bytes, then
// the after fields.
func (s *site) postNamedFile(board, ip, filename, data string, before, after []string) answer {
	s.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for i := 0; i+1 < len(before); i += 2 {
		w.WriteField(before[i], before[i+1])
	}
	fw, _ := w.CreateFormFile("upfile", filename)
	fw.Write([]byte(data))
	for i := 0; i+1 < len(after); i += 2 {
		w.WriteField(after[i], after[i+1])
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.url+"/"+board+"/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return s.do(req)
}

func wantRefused(t *testing.T, what string, a answer, code int, says string) {
	t.Helper()
	msg, _ := a.json(t)["error"].(string)
	if a.code != code || !strings.Contains(msg, says) {
		t.Errorf("%s: answered %d %s, want %d %q", what, a.code, a.body, code, says)
	}
}

func TestFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		tmp := t.TempDir()
		g := maniwani.DefaultBoard()
		g.Name = "g"
		s := newSiteWith(t, kind, "127.0.0.1/32", withMedia(t, tmp), maniwani.DefaultBoard(), g)
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")

		// What a filter must be.
		for _, c := range []struct {
			name string
			in   map[string]any
			code int
			says string
		}{
			{"no pattern", map[string]any{"pattern": " ", "fields": []string{"com"}, "action": "reject"}, 400, "needs a pattern"},
			{"a bad regex", map[string]any{"pattern": "a(b", "regex": true, "fields": []string{"com"}, "action": "reject"}, 400, "not an RE2 regular expression"},
			{"a regex matching nothing at all", map[string]any{"pattern": "x*", "regex": true, "fields": []string{"com"}, "action": "reject"}, 400, "matches empty text"},
			{"too long a pattern", map[string]any{"pattern": strings.Repeat("a", api.MaxFilterPattern+1), "fields": []string{"com"}, "action": "reject"}, 400, "at most 256 bytes"},
			{"no fields", map[string]any{"pattern": "x", "action": "reject"}, 400, "which fields"},
			{"an unknown field", map[string]any{"pattern": "x", "fields": []string{"email"}, "action": "reject"}, 400, `"email" is not a field`},
			{"an unknown action", map[string]any{"pattern": "x", "fields": []string{"com"}, "action": "delete"}, 400, `"delete" is not an action`},
			{"a ban without a reason", map[string]any{"pattern": "x", "fields": []string{"com"}, "action": "ban", "ban_hours": 2}, 400, "needs a reason"},
			{"a ban without hours", map[string]any{"pattern": "x", "fields": []string{"com"}, "action": "ban", "reason": "r"}, 400, "needs ban_hours"},
			{"hours on a reject", map[string]any{"pattern": "x", "fields": []string{"com"}, "action": "reject", "ban_hours": 2}, 400, "ban filter only"},
			{"an unknown board", map[string]any{"board": "zz", "pattern": "x", "fields": []string{"com"}, "action": "reject"}, 404, "does not exist"},
			{"an unknown key", map[string]any{"pattern": "x", "fields": []string{"com"}, "action": "reject", "colour": "red"}, 400, "unknown field"},
		} {
			wantRefused(t, c.name, mod.call("POST", "/api/admin/filters", c.in, false), c.code, c.says)
		}
		if fs := mod.must("GET", "/api/admin/filters", nil)["filters"].([]any); len(fs) != 0 {
			t.Fatalf("refused filters were kept: %v", fs)
		}

		// reject: the reason, never the pattern; on its board only.
		f := mod.must("POST", "/api/admin/filters", map[string]any{"board": "b", "pattern": "cheap pills",
			"fields": []string{"com", "sub"}, "action": "reject", "reason": "spam"})
		if f["id"] == nil || f["staff"] != "mod" || f["action"] != "reject" || f["regex"] != false {
			t.Errorf("created filter %v", f)
		}
		a := s.post("b", "10.1.0.1", "com", "buy CHEAP PILLS now")
		wantRefused(t, "a comment matching a reject filter", a, 403, "refused: spam")
		if strings.Contains(strings.ToLower(string(a.body)), "cheap pills") {
			t.Errorf("the refusal gives the pattern away: %s", a.body)
		}
		wantRefused(t, "a subject matching it", s.post("b", "10.1.0.2", "sub", "Cheap Pills", "com", "hi"), 403, "spam")
		s.mustPost("b", "10.1.0.3", "name", "cheap pills", "com", "the name is not filtered")
		s.mustPost("g", "10.1.0.4", "com", "cheap pills on another board")

		// replace, global, a regex as written: before rendering, in the
		// stored text too; in a name, not in its tripcode's password.
		mod.must("POST", "/api/admin/filters", map[string]any{"pattern": "f[o0]+bar", "regex": true,
			"fields": []string{"com", "name"}, "action": "replace", "replacement": "nice"})
		no := s.mustPost("g", "10.1.1.1", "com", "this is f00bar and Foobar, **f0obar**", "name", "f00bar#f00bar")
		p := s.thread("g", no)[0]
		if com := p["com"].(string); !strings.Contains(com, "this is nice and Foobar, <strong>nice</strong>") {
			t.Errorf("replaced com %q", com)
		}
		if p["name"] != "nice" || p["trip"] == nil || p["trip"] == "" {
			t.Errorf("replaced name %v, trip %v", p["name"], p["trip"])
		}
		if got, err := s.store.Post(context.Background(), "g", no); err != nil || strings.Contains(got.Body, "f00bar") {
			t.Errorf("stored body %q %v", got.Body, err)
		}

		// The file's name, refused before its bytes are read (these are no
		// image at all), as are the fields sent before the file.
		mod.must("POST", "/api/admin/filters", map[string]any{"pattern": "warez", "fields": []string{"filename"},
			"action": "reject", "reason": "no warez"})
		wantRefused(t, "a file's name", s.postNamedFile("b", "10.1.2.1", "free-WAREZ.jpg", "not an image", nil, nil), 403, "no warez")
		wantRefused(t, "a comment before a file", s.postNamedFile("b", "10.1.2.2", "cat.jpg", "not an image",
			[]string{"com", "cheap pills"}, nil), 403, "spam")
		wantRefused(t, "a comment after a file", s.postNamedFile("b", "10.1.2.3", "cat.jpg", photo(t, false),
			nil, []string{"com", "cheap pills"}), 403, "spam")
		wantRefused(t, "a comment sent again after a file", s.postNamedFile("b", "10.1.2.6", "cat.jpg", photo(t, false),
			[]string{"com", "innocent"}, []string{"com", "cheap pills"}), 403, "spam")
		// Before any decode: with every decode slot held, a post whose file
		// needs one is refused by the filter, not as busy.
		release := api.HoldDecodes(s.svc)
		wantRefused(t, "a filtered post while decodes are busy", s.postNamedFile("b", "10.1.2.4", "cat.jpg", photo(t, true),
			nil, []string{"com", "cheap pills"}), 403, "spam")
		release()
		if a := s.postNamedFile("b", "10.1.2.5", "fine.jpg", photo(t, false), nil, []string{"com", "a fine picture"}); a.code != 201 {
			t.Errorf("a post no filter matches: %d %s", a.code, a.body)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("refused posts left %d files", len(ents))
		}

		// ban: refused, and the address (an IPv6 poster's /64) banned for
		// the filter's hours where the filter holds.
		ban := mod.must("POST", "/api/admin/filters", map[string]any{"board": "b", "pattern": "wipe-the-board",
			"fields": []string{"com", "name"}, "action": "ban", "reason": "wiper", "ban_hours": 2})
		wantRefused(t, "a post matching a ban filter", s.post("b", "2001:db8:5:6::1", "name", "WIPE-THE-BOARD", "com", "x"), 403, "wiper")
		wantRefused(t, "the same /64 later", s.post("b", "2001:db8:5:6:ffff::2", "com", "innocent"), 403, "You are banned")
		s.mustPost("g", "2001:db8:5:6::3", "com", "the ban holds on /b/ only")
		bans := mod.must("GET", "/api/admin/bans", nil)["bans"].([]any)
		if len(bans) != 1 {
			t.Fatalf("bans %v", bans)
		}
		b := bans[0].(map[string]any)
		wantEnd := s.clock().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		if b["cidr"] != "2001:db8:5:6::/64" || b["reason"] != "wiper" || b["board"] != "b" || b["expires"] != wantEnd ||
			b["staff"] != fmt.Sprintf("filter %v", ban["id"]) {
			t.Errorf("the filter's ban %v, want to end %s", b, wantEnd)
		}

		// Deleted, a filter holds no more; the list and the log say so.
		fs := mod.must("GET", "/api/admin/filters", nil)["filters"].([]any)
		if len(fs) != 4 || fs[0].(map[string]any)["pattern"] != "cheap pills" {
			t.Fatalf("filters %v", fs)
		}
		mod.must("DELETE", fmt.Sprintf("/api/admin/filters/%v", f["id"]), nil)
		s.mustPost("b", "10.1.3.1", "com", "cheap pills, now allowed")
		wantRefused(t, "deleting it again", mod.call("DELETE", fmt.Sprintf("/api/admin/filters/%v", f["id"]), nil, false), 404, "No filter")
		log := mod.must("GET", "/api/admin/log", nil)["log"].([]any)
		if e := log[0].(map[string]any); e["action"] != "delete filter" || e["target"] != fmt.Sprintf("filter %v", f["id"]) {
			t.Errorf("log %v", log[0])
		}
	})
}

// Instances of the api that share a database see each other's filters
// within FilterTTL; their own at once.
func TestFiltersAcrossInstances(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("mod", maniwani.RoleModerator)
		proxies, err := realip.Parse("127.0.0.1/32")
		if err != nil {
			t.Fatal(err)
		}
		other, err := api.New(api.Config{Proxies: proxies, Now: s.clock, FilterTTL: time.Minute},
			api.Deps{Store: s.store, Renderer: markdown.NewRenderer(markdown.RendererConfig{})})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(other.Handler())
		t.Cleanup(srv.Close)
		two := &site{t: t, url: srv.URL, store: s.store, svc: other}
		two.mustPost("b", "10.2.0.1", "com", "filters read: none yet")

		s.loginAs("mod").must("POST", "/api/admin/filters", map[string]any{"pattern": "spam", "fields": []string{"com"},
			"action": "reject"})
		wantRefused(t, "on the instance that made it", s.post("b", "10.2.0.2", "com", "spam"), 403, "refused by a filter")
		s.advance(59 * time.Second)
		two.mustPost("b", "10.2.0.3", "com", "spam, still taken within the TTL")
		s.advance(time.Second)
		wantRefused(t, "on the other instance after its TTL", two.post("b", "10.2.0.4", "com", "spam"), 403, "refused by a filter")
	})
}

// recorder keeps the invalidations the api makes.
type recorder struct {
	mu   sync.Mutex
	invs []maniwani.Invalidation
}

func (r *recorder) Invalidate(_ context.Context, inv maniwani.Invalidation) error {
	r.mu.Lock()
	r.invs = append(r.invs, inv)
	r.mu.Unlock()
	return nil
}

func TestPurge(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		bus := memory.New(memory.Config{})
		t.Cleanup(func() { bus.Close() })
		inv := &recorder{}
		g := maniwani.DefaultBoard()
		g.Name = "g"
		s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) { d.Bus, d.Invalidator = bus, inv },
			maniwani.DefaultBoard(), g)
		s.addStaff("mod", maniwani.RoleModerator)
		s.addStaff("adm", maniwani.RoleAdmin)
		mod, adm := s.loginAs("mod"), s.loginAs("adm")
		op := s.mustPost("b", "10.82.9.9", "com", "keep me")
		var wipes []int64
		for i := range 5 {
			wipes = append(wipes, s.mustPost("b", fmt.Sprintf("10.82.1.%d", i+1), "resto", fmt.Sprint(op), "com", fmt.Sprintf("wipe %d", i)))
		}
		other := s.mustPost("g", "10.82.1.1", "com", "on another board")

		for _, c := range []struct {
			name string
			who  *staffClient
			in   map[string]any
			code int
			says string
		}{
			{"nobody", mod, map[string]any{"board": "b"}, 400, "ip or cidr"},
			{"both", mod, map[string]any{"ip": "10.82.1.1", "cidr": "10.82.1.0/24"}, 400, "not both"},
			{"not an address", mod, map[string]any{"ip": "10.82.1"}, 400, "not an IP address"},
			{"a bad time", mod, map[string]any{"cidr": "10.82.1.0/24", "since": "yesterday"}, 400, "RFC 3339"},
			{"an unknown board", mod, map[string]any{"cidr": "10.82.1.0/24", "board": "zz"}, 404, "does not exist"},
			{"wide, by a moderator", mod, map[string]any{"cidr": "10.0.0.0/8", "confirm_wide": true}, 403, "only an admin"},
			{"wide, unconfirmed", adm, map[string]any{"cidr": "10.0.0.0/8"}, 400, "confirm_wide"},
			{"wide IPv6, unconfirmed", adm, map[string]any{"cidr": "2001:db8::/31"}, 400, "confirm_wide"},
		} {
			wantRefused(t, c.name, c.who.call("POST", "/api/admin/purge", c.in, false), c.code, c.says)
		}
		if n := len(s.thread("b", op)); n != 6 {
			t.Fatalf("refused purges deleted posts: %d left", n)
		}

		sub, err := bus.Subscribe(context.Background(), maniwani.BoardTopic("b"))
		if err != nil {
			t.Fatal(err)
		}
		// Since a time to come: nothing.
		if r := mod.must("POST", "/api/admin/purge", map[string]any{"cidr": "10.82.1.0/24", "board": "b",
			"since": s.clock().Add(time.Minute).Format(time.RFC3339)}); r["deleted"] != float64(0) {
			t.Fatalf("purge since later: %v", r)
		}
		r := mod.must("POST", "/api/admin/purge", map[string]any{"cidr": "10.82.1.0/24", "board": "b"})
		if r["deleted"] != float64(5) {
			t.Fatalf("purge answered %v, want deleted 5", r)
		}
		if ps := s.thread("b", op); len(ps) != 1 {
			t.Fatalf("after the purge the thread has %d posts", len(ps))
		}
		if len(s.thread("g", other)) != 1 {
			t.Fatal("the purge of /b/ took a post of /g/")
		}
		// Live viewers see each post go; the thread's cached pages go.
		for _, no := range wipes {
			m := <-sub.C()
			var ev pb.Event
			if err := proto.Unmarshal(m.Data, &ev); err != nil || ev.GetPostDeleted().GetNo() != no || ev.GetPostDeleted().GetThread() != op {
				t.Fatalf("event %v %v, want No.%d deleted", &ev, err, no)
			}
		}
		inv.mu.Lock()
		last := inv.invs[len(inv.invs)-1]
		inv.mu.Unlock()
		if last.Board != "b" || len(last.Threads) == 0 || last.Threads[0] != op {
			t.Errorf("last invalidation %+v", last)
		}
		log := mod.must("GET", "/api/admin/log", nil)["log"].([]any)[0].(map[string]any)
		if log["action"] != "purge" || log["target"] != "10.82.1.0/24 on /b/" || log["reason"] != "5 posts deleted" {
			t.Errorf("log %v", log)
		}
		// One address on every board; a wide range by a confirming admin.
		if r := mod.must("POST", "/api/admin/purge", map[string]any{"ip": "10.82.1.1"}); r["deleted"] != float64(1) {
			t.Fatalf("purge of an address everywhere: %v", r)
		}
		if r := adm.must("POST", "/api/admin/purge", map[string]any{"cidr": "10.0.0.0/8", "confirm_wide": true}); r["deleted"] != float64(1) {
			t.Fatalf("a confirmed wide purge: %v", r)
		}
	})
}

// unique_comments_minutes through the staff API and a post.
func TestUniqueComments(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		s.addStaff("adm", maniwani.RoleAdmin)
		adm := s.loginAs("adm")
		wantRefused(t, "a negative window", adm.call("PATCH", "/api/admin/boards/b", map[string]any{"unique_comments_minutes": -1}, false), 400, "unique_comments_minutes")
		if b := adm.must("PATCH", "/api/admin/boards/b", map[string]any{"unique_comments_minutes": 10}); b["unique_comments_minutes"] != float64(10) {
			t.Fatalf("the board's settings %v", b)
		}
		op := s.mustPost("b", "10.3.0.1", "com", "Exactly the Same   text")
		wantRefused(t, "the same comment", s.post("b", "10.3.0.2", "resto", fmt.Sprint(op), "com", "exactly the same\ntext"), 409, "already posted")
		s.advance(10 * time.Minute)
		s.mustPost("b", "10.3.0.2", "resto", fmt.Sprint(op), "com", "exactly the same text")
	})
}
