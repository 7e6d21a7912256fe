package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// nextEvent is the next event on sub. The in-process bus publishes before
// the api answers, so the next event after an action is that action's:
// nothing came of the ones before.
func nextEvent(t *testing.T, sub maniwani.Subscription) *pb.Event {
	t.Helper()
	m := <-sub.C()
	var ev pb.Event
	if err := proto.Unmarshal(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// TestHeldPosts walks the review queue: a new poster's thread and reply
// are held (202), in no JSON, told to nobody and dropped from no cache;
// a moderator lists them, approves one (published at its number, with
// its event, and its poster approved) and rejects the other (gone with
// its file); the queue is bounded.
func TestHeldPosts(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		bus := memory.New(memory.Config{})
		t.Cleanup(func() { bus.Close() })
		inv := &recorder{}
		var media maniwani.Media
		s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
			withMedia(t, t.TempDir())(c, d)
			d.Bus, d.Invalidator, c.MaxHeld = bus, inv, 3
			media = d.Media
		})
		s.addStaff("mod", maniwani.RoleModerator)
		s.addStaff("jan", maniwani.RoleJanitor)
		s.addStaff("adm", maniwani.RoleAdmin)
		mod, adm := s.loginAs("mod"), s.loginAs("adm")
		old := s.mustPost("b", "10.5.0.1", "com", "before the queue")
		if b := adm.must("PATCH", "/api/admin/boards/b", map[string]any{"hold_new_posters": true}); b["hold_new_posters"] != true {
			t.Fatalf("the board's settings %v", b)
		}
		if bs := mod.must("GET", "/api/admin/boards", nil)["boards"].([]any); bs[0].(map[string]any)["hold_new_posters"] != true {
			t.Fatalf("boards %v", bs)
		}
		sub, err := bus.Subscribe(context.Background(), maniwani.BoardTopic("b"))
		if err != nil {
			t.Fatal(err)
		}
		inv.mu.Lock()
		invs := len(inv.invs)
		inv.mu.Unlock()

		// A new poster's thread, and another's reply with a file.
		a := s.post("b", "10.5.0.2", "sub", "held thread", "com", "a new poster >>1")
		if m := a.json(t); a.code != http.StatusAccepted || m["held"] != true || m["board"] != "b" || m["no"] != float64(old+1) {
			t.Fatalf("a new poster's thread answered %d %s", a.code, a.body)
		}
		heldOP := old + 1
		a = s.postNamedFile("b", "10.5.0.3", "cat.jpg", photo(t, false), []string{"resto", fmt.Sprint(old), "com", "held reply"}, nil)
		if a.code != http.StatusAccepted || a.json(t)["no"] != float64(old+2) {
			t.Fatalf("a new poster's reply answered %d %s", a.code, a.body)
		}
		heldReply := old + 2
		// A form post is answered with a page.
		ct, body := form(t, "resto", fmt.Sprint(old), "com", "from a browser")
		req, _ := http.NewRequest("POST", s.url+"/b/post", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", "10.5.0.4")
		if a := s.do(req); a.code != http.StatusAccepted || !strings.Contains(string(a.body), "awaits review") ||
			!strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Fatalf("a held form post answered %d %s", a.code, a.body)
		}
		formNo := old + 3

		// Seen by nobody.
		if ps := s.thread("b", old); len(ps) != 1 || ps[0]["replies"] != float64(0) || ps[0]["images"] != float64(0) {
			t.Fatalf("the thread with held replies: %v", ps)
		}
		if a := s.get(fmt.Sprintf("/b/thread/%d.json", heldOP)); a.code != 404 {
			t.Fatalf("the held thread's JSON answered %d", a.code)
		}
		for _, path := range []string{"/b/catalog.json", "/b/threads.json", "/b/1.json", "/b/archive.json"} {
			a := s.get(path)
			for _, no := range []int64{heldOP, heldReply, formNo} {
				if strings.Contains(string(a.body), fmt.Sprintf(`"no":%d`, no)) {
					t.Errorf("%s shows held No.%d: %s", path, no, a.body)
				}
			}
		}
		inv.mu.Lock()
		if len(inv.invs) != invs {
			t.Errorf("held posts dropped cached pages: %+v", inv.invs[invs:])
		}
		inv.mu.Unlock()

		// The queue, for moderators; a janitor may not.
		if a := s.loginAs("jan").call("GET", "/api/admin/held", nil, false); a.code != 403 {
			t.Errorf("a janitor's GET /api/admin/held answered %d", a.code)
		}
		q := mod.must("GET", "/api/admin/held", nil)["posts"].([]any)
		if len(q) != 3 {
			t.Fatalf("the queue %v", q)
		}
		first, second := q[0].(map[string]any), q[1].(map[string]any)
		if first["no"] != float64(heldOP) || first["thread"] != float64(heldOP) || first["board"] != "b" ||
			!strings.Contains(first["com"].(string), "a new poster") || first["file"] != nil || first["ip"] != "10.5.0.2" {
			t.Errorf("the held thread in the queue: %v", first)
		}
		file, _ := second["file"].(map[string]any)
		if second["no"] != float64(heldReply) || second["thread"] != float64(old) || file == nil || file["filename"] != "cat" {
			t.Fatalf("the held reply in the queue: %v", second)
		}

		// Refusals change nothing.
		wantRefused(t, "no decision", mod.call("POST", fmt.Sprintf("/api/admin/held/b/%d", heldOP), map[string]any{}, false), 400, "approve")
		wantRefused(t, "a published post", mod.call("POST", fmt.Sprintf("/api/admin/held/b/%d", old), map[string]any{"approve": true}, false),
			404, "not held")

		// Approved: published at its number, with its live event; its
		// thread's and the quoted thread's pages go.
		r := mod.must("POST", fmt.Sprintf("/api/admin/held/b/%d", heldOP), map[string]any{"approve": true})
		if r["approved"] != true || r["no"] != float64(heldOP) || r["thread"] != float64(heldOP) {
			t.Fatalf("approval answered %v", r)
		}
		ev := nextEvent(t, sub)
		if pc := ev.GetPostCreated(); pc.GetNo() != heldOP || pc.GetThread() != heldOP || !strings.Contains(pc.GetCom(), "a new poster") {
			t.Fatalf("the first event after the held posts is %v, want the approved No.%d", ev, heldOP)
		}
		if ps := s.thread("b", heldOP); len(ps) != 1 || ps[0]["sub"] != "held thread" {
			t.Fatalf("the approved thread: %v", ps)
		}
		inv.mu.Lock()
		last := inv.invs[len(inv.invs)-1]
		inv.mu.Unlock()
		if last.Board != "b" || fmt.Sprint(last.Threads) != fmt.Sprint([]int64{heldOP, old}) {
			t.Errorf("approval dropped %+v, want its thread and the quoted one", last)
		}
		// Its poster is approved on the board now.
		s.advance(time.Duration(maniwani.DefaultBoard().CooldownReply) * time.Second)
		s.mustPost("b", "10.5.0.2", "resto", fmt.Sprint(heldOP), "com", "no longer held")
		if ev := nextEvent(t, sub); ev.GetPostCreated().GetNo() != formNo+1 {
			t.Fatalf("the approved poster's next post: event %v", ev)
		}

		// Rejected: gone, with its file, and nobody told.
		sha := file["sha256"].(string)
		ref := maniwani.FileRef{Board: "b", Tim: int64(file["tim"].(float64)), SHA256: sha, Ext: ".jpg"}
		if _, err := media.Stat(context.Background(), ref); err != nil {
			t.Fatalf("the held reply's file is not in media: %v", err)
		}
		r = mod.must("POST", fmt.Sprintf("/api/admin/held/b/%d", heldReply), map[string]any{"approve": false})
		if r["approved"] != false || r["no"] != float64(heldReply) {
			t.Fatalf("rejection answered %v", r)
		}
		if _, err := media.Stat(context.Background(), ref); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("the rejected post's file is still in media: %v", err)
		}
		if a := mod.call("GET", fmt.Sprintf("/api/admin/posts/b/%d", heldReply), nil, false); a.code != 404 {
			t.Errorf("the rejected post answered %d", a.code)
		}
		if q := mod.must("GET", "/api/admin/held", nil)["posts"].([]any); len(q) != 1 || q[0].(map[string]any)["no"] != float64(formNo) {
			t.Errorf("the queue after its decisions: %v", q)
		}
		log := mod.must("GET", "/api/admin/log", nil)["log"].([]any)
		if e := log[0].(map[string]any); e["action"] != "reject held post" || e["target"] != fmt.Sprintf("/b/%d", heldReply) {
			t.Errorf("log %v", log[0])
		}

		// The queue holds MaxHeld: past it new posters are refused.
		s.mustHeld("b", "10.5.1.1")
		s.mustHeld("b", "10.5.1.2")
		wantRefused(t, "a new poster with the queue full", s.post("b", "10.5.1.3", "resto", fmt.Sprint(old), "com", "one more"),
			http.StatusTooManyRequests, "too many wait")
		s.mustPost("b", "10.5.0.1", "resto", fmt.Sprint(old), "com", "an approved poster still posts")
		if ps := s.thread("b", old); len(ps) != 2 {
			t.Errorf("the thread after all: %d posts", len(ps))
		}
	})
}

// mustHeld posts a reply to No.1 from ip and wants it held.
func (s *site) mustHeld(board, ip string) {
	s.t.Helper()
	if a := s.post(board, ip, "resto", "1", "com", "new poster "+ip); a.code != http.StatusAccepted {
		s.t.Fatalf("a new poster's post answered %d %s", a.code, a.body)
	}
}
