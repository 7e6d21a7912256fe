package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// TestHeldThread: a held opening post starts no thread anyone sees (no
// thread, index, home page, quote or reply) until it is approved; then
// its thread is there at its number, bumped at the approval.
func TestHeldThread(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.HoldNewPosters, b.MaxThreads = true, 1
		s := openWithBoard(t, url, b)
		c := newClock()
		old := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: c.next(), File: testFile("aa")})
		if !old.Held {
			t.Fatal("a new poster's thread was not held")
		}
		// Published before the board held new posters? No: approved here.
		if _, err := s.ApproveHeld(ctx, "b", old.No, maniwani.LogEntry{Time: c.next(), Staff: "mod", Action: "approve held post"}); err != nil {
			t.Fatal(err)
		}
		op := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.2", Subject: "new", Time: c.next(), File: testFile("bb")})
		if !op.Held || op.No != old.No+1 || op.Resto != 0 {
			t.Fatalf("the second poster's thread: %+v", op)
		}

		invisible := func(when string) {
			t.Helper()
			if _, err := s.Thread(ctx, "b", op.No); maniwani.ErrorKind(err) != maniwani.KindNotFound {
				t.Errorf("%s: the held thread reads as %v", when, err)
			}
			if ts, err := s.Threads(ctx, "b", 0, 10, 5); err != nil || len(ts) != 1 || ts[0].No != old.No {
				t.Errorf("%s: the index has %+v, %v; want the approved thread alone", when, ts, err)
			}
			if ts, err := s.Latest(ctx, 10); err != nil || len(ts) != 1 || ts[0].No != old.No {
				t.Errorf("%s: the home page has %+v, %v", when, ts, err)
			}
			if _, err := s.ThreadOf(ctx, "b", op.No); maniwani.ErrorKind(err) != maniwani.KindNotFound {
				t.Errorf("%s: ThreadOf the held post: %v", when, err)
			}
			if q, err := s.ResolveQuotes(ctx, []maniwani.Ref{{Board: "b", No: op.No}}); err != nil || len(q) != 0 {
				t.Errorf("%s: a quote of the held post resolves: %v, %v", when, q, err)
			}
			_, err := s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.1", Body: "x", Time: c.next()})
			wantKind(t, err, maniwani.KindNotFound)
			err = s.CreateReport(ctx, maniwani.Report{Board: "b", No: op.No, Reason: "spam", IP: "10.0.0.9", Created: c.next()},
				store.Budget{Kind: "report", Key: "10.0.0.9", Max: 10, Window: time.Hour})
			wantKind(t, err, maniwani.KindNotFound)
		}
		invisible("held")

		held, err := s.HeldPosts(ctx, 100)
		if err != nil || len(held) != 1 || held[0].No != op.No || held[0].Board != "b" || held[0].IP != "10.0.0.2" ||
			held[0].File == nil || held[0].File.SHA256 != "bb" {
			t.Fatalf("held posts %+v, %v", held, err)
		}
		// A staff member's reading of it still works.
		if p, err := s.Post(ctx, "b", op.No); err != nil || p.Subject != "new" {
			t.Fatalf("staff's read of the held post: %+v, %v", p, err)
		}
		_, err = s.ApproveHeld(ctx, "b", old.No, maniwani.LogEntry{Time: c.next()})
		wantKind(t, err, maniwani.KindNotFound) // published already

		approvedAt := c.next()
		a, err := s.ApproveHeld(ctx, "b", op.No, maniwani.LogEntry{Time: approvedAt, Staff: "mod", Action: "approve held post"})
		if err != nil {
			t.Fatal(err)
		}
		if a.No != op.No || a.Resto != 0 || a.File == nil || fmt.Sprint(a.Archived) != fmt.Sprint([]int64{old.No}) {
			t.Fatalf("approved %+v, archived %v", a.Post, a.Archived)
		}
		v, err := s.Thread(ctx, "b", op.No)
		if err != nil || len(v.Posts) != 1 || !v.Bumped.Equal(approvedAt) || v.Posts[0].File == nil {
			t.Fatalf("the approved thread: %+v, %v", v, err)
		}
		if held, _ := s.HeldPosts(ctx, 100); len(held) != 0 {
			t.Fatalf("held after approval: %+v", held)
		}
		// Its poster is approved on the board now.
		if r := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.2", Time: c.next()}); r.Held {
			t.Fatal("an approved poster's reply was held")
		}
		entries, _ := s.Log(ctx, 1)
		if len(entries) != 1 || entries[0].Target != fmt.Sprintf("/b/%d", op.No) {
			t.Errorf("log %+v", entries)
		}
	})
}

// TestRejectHeld: a rejected post goes with its file and quotes, and its
// thread's counts stay as they were, as after a deletion of a held reply.
func TestRejectHeld(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		c := newClock()
		op := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: c.next()})
		b, _ := s.Board(ctx, "b")
		b.HoldNewPosters = true
		if err := s.UpdateBoard(ctx, *b); err != nil {
			t.Fatal(err)
		}
		rep := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.2", Time: c.next(), File: testFile("cc"),
			Quotes: []maniwani.Ref{{Board: "b", No: op.No}}})
		other := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.3", Time: c.next(), File: testFile("dd")})
		if !rep.Held || !other.Held {
			t.Fatal("new posters' replies were not held")
		}
		before, _ := s.Thread(ctx, "b", op.No)
		if before.Replies != 0 || before.Images != 0 || len(before.Posts) != 1 {
			t.Fatalf("the thread with held replies: %+v", before)
		}
		if _, err := s.ApproveHeld(ctx, "b", op.No, maniwani.LogEntry{Time: c.next()}); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Fatalf("approving a published post: %v", err)
		}
		gone, err := s.RejectHeld(ctx, "b", rep.No, maniwani.LogEntry{Time: c.next(), Staff: "mod", Action: "reject held post"})
		if err != nil || len(gone) != 1 || gone[0].SHA256 != "cc" || !gone[0].Last {
			t.Fatalf("rejected: files %+v, %v", gone, err)
		}
		if _, err := s.Post(ctx, "b", rep.No); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Fatalf("the rejected post: %v", err)
		}
		if n, _ := s.FileUsers(ctx, "cc"); n != 0 {
			t.Fatalf("the rejected post's file has %d users", n)
		}
		// A staff deletion of a held reply (its file only, then it) leaves
		// the counts of its thread alone: it was never counted.
		if _, _, err := s.DeleteFile(ctx, "b", other.No, maniwani.LogEntry{Time: c.next()}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StaffDelete(ctx, "b", other.No, store.ScopePost, maniwani.LogEntry{Time: c.next()}); err != nil {
			t.Fatal(err)
		}
		after, _ := s.Thread(ctx, "b", op.No)
		if after.Replies != 0 || after.Images != 0 {
			t.Fatalf("the thread after its held replies went: %d replies, %d images", after.Replies, after.Images)
		}
		if held, _ := s.HeldPosts(ctx, 100); len(held) != 0 {
			t.Fatalf("held %+v", held)
		}
		_, err = s.RejectHeld(ctx, "b", op.No, maniwani.LogEntry{Time: c.next()})
		wantKind(t, err, maniwani.KindNotFound)
	})
}

// TestHeldIndex: the index and a thread leave held replies out of their
// last replies and counts.
func TestHeldIndex(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		c := newClock()
		op := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: c.next()})
		r1 := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.2", Time: c.next()})
		b, _ := s.Board(ctx, "b")
		b.HoldNewPosters = true
		if err := s.UpdateBoard(ctx, *b); err != nil {
			t.Fatal(err)
		}
		h := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.3", Sage: true, Time: c.next()})
		if !h.Held {
			t.Fatal("not held")
		}
		ts, err := s.Threads(ctx, "b", 0, 10, 5)
		if err != nil || len(ts) != 1 || len(ts[0].Posts) != 2 || ts[0].Posts[1].No != r1.No || ts[0].Replies != 1 || ts[0].OmittedPosts != 0 {
			t.Fatalf("index %+v, %v", ts, err)
		}
		if _, err := s.ApproveHeld(ctx, "b", h.No, maniwani.LogEntry{Time: c.next()}); err != nil {
			t.Fatal(err)
		}
		ts, _ = s.Threads(ctx, "b", 0, 10, 5)
		if len(ts[0].Posts) != 3 || ts[0].Posts[2].No != h.No || ts[0].Replies != 2 || !ts[0].Bumped.Equal(r1.Time) {
			t.Fatalf("index after approval %+v (a sage reply bumps nothing)", ts)
		}
	})
}

// TestMigrationHeldPosts: an existing database takes the held column; its
// posts are published ones.
func TestMigrationHeldPosts(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		var before []store.Migration
		for _, m := range store.Migrations() {
			if m.ID == "0012_held_posts" {
				break
			}
			before = append(before, m)
		}
		if err := store.Migrate(ctx, db, before); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"DROP INDEX posts_held", "ALTER TABLE posts DROP COLUMN held",
			"ALTER TABLE boards DROP COLUMN hold_new_posters"} {
			if err := db.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		now := time.Now()
		for _, q := range []string{`INSERT INTO boards (name, title, max_threads, bump_limit, image_limit, max_file_size,
			cooldown_thread, cooldown_reply, poster_ids, last_no, created_us, modified_us)
			VALUES ('b', 'Test', 10, 300, 150, 4194304, 0, 0, false, 1, ?, ?)`,
			`INSERT INTO posts (board_id, no, thread_no, created_us, name, body, com, ip, ip_key)
			VALUES ((SELECT id FROM boards WHERE name = 'b'), 1, 1, ?, 'Anonymous', 'old', 'old', '10.0.0.1', '10.0.0.1')`,
			`INSERT INTO threads (board_id, no, bumped_us, modified_us) VALUES ((SELECT id FROM boards WHERE name = 'b'), 1, ?, ?)`,
		} {
			args := []any{now.UnixMicro(), now.UnixMicro()}
			if err := db.Exec(q, args[:countArgs(q)]...).Error; err != nil {
				t.Fatal(err)
			}
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		s := open(t, url)
		b, err := s.Board(ctx, "b")
		if err != nil || b.HoldNewPosters {
			t.Fatalf("board after the upgrade: %+v %v", b, err)
		}
		b.HoldNewPosters = true
		if err := s.UpdateBoard(ctx, *b); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Thread(ctx, "b", 1); err != nil || len(v.Posts) != 1 {
			t.Fatalf("the old thread: %+v, %v", v, err)
		}
		if r := post(t, s, store.NewPost{Board: "b", Resto: 1, IP: "10.0.0.1", Time: now.Add(time.Second)}); r.Held {
			t.Error("the poster of an old post was held")
		}
		if r := post(t, s, store.NewPost{Board: "b", Resto: 1, IP: "10.0.0.2", Time: now.Add(2 * time.Second)}); !r.Held {
			t.Error("a new poster was not held")
		}
	})
}

func countArgs(q string) int {
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
		}
	}
	return n
}
