package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

func TestFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
		log := maniwani.LogEntry{Time: at, Staff: "mod", Action: "create filter", Reason: "reject"}
		want := maniwani.Filter{Board: "b", Pattern: "cheap pills", Fields: []maniwani.FilterField{maniwani.FieldCom, maniwani.FieldSubject},
			Action: maniwani.ActionBan, Reason: "spam", BanHours: 2, Staff: "mod", Created: at}
		id, err := s.CreateFilter(ctx, want, log)
		if err != nil {
			t.Fatal(err)
		}
		global := maniwani.Filter{Pattern: "f[o0]+", Regex: true, Fields: []maniwani.FilterField{maniwani.FieldName},
			Action: maniwani.ActionReplace, Replacement: "nice", Staff: "mod", Created: at}
		gid, err := s.CreateFilter(ctx, global, log)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateFilter(ctx, maniwani.Filter{Board: "zz", Pattern: "x", Fields: []maniwani.FilterField{maniwani.FieldCom},
			Action: maniwani.ActionReject, Created: at}, log)
		wantKind(t, err, maniwani.KindNotFound)

		fs, err := s.Filters(ctx)
		want.ID, global.ID = id, gid
		if err != nil || fmt.Sprintf("%+v", fs) != fmt.Sprintf("%+v", []maniwani.Filter{want, global}) {
			t.Fatalf("filters %+v, %v\nwant %+v", fs, err, []maniwani.Filter{want, global})
		}
		if err := s.DeleteFilter(ctx, id, maniwani.LogEntry{Time: at, Staff: "mod", Action: "delete filter"}); err != nil {
			t.Fatal(err)
		}
		wantKind(t, s.DeleteFilter(ctx, id, maniwani.LogEntry{Time: at}), maniwani.KindNotFound)
		if fs, _ := s.Filters(ctx); len(fs) != 1 || fs[0].ID != gid {
			t.Fatalf("after the delete: %+v", fs)
		}
		entries, _ := s.Log(ctx, 10)
		if len(entries) != 3 || entries[0].Target != fmt.Sprintf("filter %d", id) || entries[0].Reason != "cheap pills" ||
			entries[2].Target != fmt.Sprintf("filter %d", id) {
			t.Errorf("log %+v", entries)
		}
	})
}

func TestPurge(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		if err := s.CreateBoard(ctx, testBoard("g")); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
		sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
		op := post(t, s, store.NewPost{Board: "b", IP: "10.1.9.9", Time: sec(0)})
		wiperOP := post(t, s, store.NewPost{Board: "b", IP: "10.1.2.3", Time: sec(1)}) // takes its thread along
		post(t, s, store.NewPost{Board: "b", Resto: wiperOP.No, IP: "10.5.0.1", Time: sec(2)})
		var wipes []int64
		for i := range 3 {
			wipes = append(wipes, post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: fmt.Sprintf("10.1.2.%d", 10+i),
				Time: sec(3 + i), File: testFile(fmt.Sprintf("f%d", i))}).No)
		}
		post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.1.3.1", Time: sec(9)})         // outside the /24
		post(t, s, store.NewPost{Board: "g", IP: "10.1.2.3", Time: sec(10)})                      // another board
		post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "2001:db8:1:2::5", Time: sec(11)}) // IPv6
		post(t, s, store.NewPost{Board: "g", IP: "2001:db8:1:2:ffff::6", Time: sec(12)})          // the same /64
		post(t, s, store.NewPost{Board: "g", Resto: 0, IP: "2001:db8:1:3::1", Time: sec(13)})     // the next /64
		log := func(target string) maniwani.LogEntry {
			return maniwani.LogEntry{Time: sec(100), Staff: "mod", Action: "purge", Target: target}
		}

		// Since a time: the wiper's thread (at 1 s) is older.
		gone, n, err := s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("10.1.2.0/24"), Board: "b",
			Since: sec(4).UnixMicro()}, log("since"))
		if err != nil || n != 2 || len(gone) != 1 || fmt.Sprint(postNos(gone["b"])) != fmt.Sprint(wipes[1:]) {
			t.Fatalf("purge since: %v %d %+v", err, n, gone)
		}
		if len(gone["b"].Files) != 2 || fmt.Sprint(gone["b"].Threads) != fmt.Sprint([]int64{op.No, op.No}) {
			t.Errorf("purge since: files %+v, threads %v", gone["b"].Files, gone["b"].Threads)
		}
		// On one board: the rest of the /24 there, the wiper's thread with
		// the reply in it from elsewhere.
		gone, n, err = s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("10.1.2.0/24"), Board: "b"}, log("b"))
		if err != nil || n != 2 || fmt.Sprint(postNos(gone["b"])) != fmt.Sprint([]int64{wiperOP.No, wipes[0]}) ||
			fmt.Sprint(gone["b"].Ops) != fmt.Sprint([]int64{wiperOP.No}) {
			t.Fatalf("purge on /b/: %v %d %+v", err, n, gone)
		}
		if _, err := s.Thread(ctx, "b", wiperOP.No); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("the wiper's thread: %v", err)
		}
		v, err := s.Thread(ctx, "b", op.No)
		if err != nil || v.Replies != 2 || v.Images != 0 {
			t.Fatalf("the thread after the purge: %+v %v", v, err)
		}
		// Every board, IPv6 by its /64 (an IPv4-mapped range is IPv4).
		gone, n, err = s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("2001:db8:1:2::/64")}, log("v6"))
		if err != nil || n != 2 || len(gone) != 2 {
			t.Fatalf("purge of a /64 everywhere: %v %d %+v", err, n, gone)
		}
		gone, n, err = s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("::ffff:10.1.2.3/128")}, log("mapped"))
		if err != nil || n != 1 || len(gone["g"].Posts) != 1 {
			t.Fatalf("purge of a mapped address: %v %d %+v", err, n, gone)
		}
		// Nothing matched is no error; an unknown board is.
		if _, n, err := s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("192.0.2.0/24")}, log("none")); err != nil || n != 0 {
			t.Fatalf("purge of nobody: %d %v", n, err)
		}
		_, _, err = s.Purge(ctx, store.PurgeQuery{Range: netip.MustParsePrefix("10.0.0.0/8"), Board: "zz"}, log("zz"))
		wantKind(t, err, maniwani.KindNotFound)
		entries, _ := s.Log(ctx, 10)
		var got []string
		for _, e := range entries {
			got = append(got, e.Target+": "+e.Reason)
		}
		if want := "none: 0 posts deleted|mapped: 1 post deleted|v6: 2 posts deleted|b: 2 posts deleted|since: 2 posts deleted"; strings.Join(got, "|") != want {
			t.Errorf("log %q, want %q", strings.Join(got, "|"), want)
		}
	})
}

func postNos(d *store.StaffDeleted) []int64 {
	var out []int64
	for _, p := range d.Posts {
		out = append(out, p.No)
	}
	return out
}

// A new thread meets unique comments as a reply does (TestReplyRules), and
// so does the check before the costly work on a post.
func TestUniqueCommentsThreads(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.UniqueCommentsMinutes = 5
		s := openWithBoard(t, url, b)
		t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
		op := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Body: "Hello  there", Time: t0})
		_, err := s.CreatePost(ctx, store.NewPost{Board: "b", IP: "10.0.0.2", Body: "hello there", Time: t0.Add(time.Minute)})
		wantKind(t, err, maniwani.KindConflict)
		wantKind(t, s.CheckPost(ctx, store.NewPost{Board: "b", IP: "10.0.0.3", Body: "HELLO\nTHERE", Time: t0.Add(time.Minute)}, false),
			maniwani.KindConflict)
		wantKind(t, s.CheckPost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.3", Body: "hello there", Time: t0.Add(time.Minute)}, true),
			maniwani.KindConflict)
		// Without its comment yet (it comes after the file), the check
		// lets the post on; CreatePost checks again.
		if err := s.CheckPost(ctx, store.NewPost{Board: "b", IP: "10.0.0.3", Time: t0.Add(time.Minute)}, true); err != nil {
			t.Fatal(err)
		}
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.4", Body: "hello there", Time: t0.Add(5 * time.Minute)})
		if got, _ := s.Board(ctx, "b"); got.UniqueCommentsMinutes != 5 {
			t.Errorf("the board's setting: %d", got.UniqueCommentsMinutes)
		}
	})
}

// A database made before posts had a comment hash gets the column, its
// index and the board setting, and takes posts as before.
func TestMigrationUniqueComments(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		var before []store.Migration
		for _, m := range store.Migrations() {
			if m.ID == "0009_unique_comments" {
				break
			}
			before = append(before, m)
		}
		if err := store.Migrate(ctx, db, before); err != nil {
			t.Fatal(err)
		}
		// The first step makes today's tables: take the new parts away.
		for _, q := range []string{"DROP INDEX posts_board_comment", "ALTER TABLE posts DROP COLUMN comment_hash",
			"ALTER TABLE boards DROP COLUMN unique_comments_minutes"} {
			if err := db.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		now := time.Now()
		if err := db.Exec(`INSERT INTO boards (name, title, max_threads, bump_limit, image_limit, max_file_size,
			cooldown_thread, cooldown_reply, poster_ids, last_no, created_us, modified_us)
			VALUES ('b', 'Test', 10, 300, 150, 4194304, 0, 0, false, 0, ?, ?)`, now.UnixMicro(), now.UnixMicro()).Error; err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		s := open(t, url)
		b, err := s.Board(ctx, "b")
		if err != nil || b.UniqueCommentsMinutes != 0 {
			t.Fatalf("board after the upgrade: %+v %v", b, err)
		}
		b.UniqueCommentsMinutes = 1
		if err := s.UpdateBoard(ctx, *b); err != nil {
			t.Fatal(err)
		}
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Body: "once", Time: now})
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", IP: "10.0.0.2", Body: "once", Time: now.Add(time.Second)})
		wantKind(t, err, maniwani.KindConflict)
	})
}
