package store_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// The addresses of one IPv6 /64 are one poster for cooldowns, on each way a
// post is stored (a thread; a reply, which PostgreSQL stores in one
// statement; a reply with a file); the post keeps its whole address.
func TestCooldownIPv6Neighbours(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.CooldownThread, b.CooldownReply = 60, 10
		s := openWithBoard(t, url, b)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		op := post(t, s, store.NewPost{Board: "b", IP: "2001:db8:7:9::1", Time: t0})
		_, err := s.CreatePost(ctx, store.NewPost{Board: "b", IP: "2001:db8:7:9::2", Body: "x", Time: t0.Add(30 * time.Second)})
		wantKind(t, err, maniwani.KindTooMany)
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "2001:db8:7:9:ffff::3", Body: "x", Time: t0.Add(5 * time.Second)})
		wantKind(t, err, maniwani.KindTooMany)
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "2001:db8:7:9::4", Body: "x", Time: t0.Add(5 * time.Second), File: testFile("aa")})
		wantKind(t, err, maniwani.KindTooMany)

		// The next /64 is another poster; the whole address is kept.
		other := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "2001:db8:7:a::1", Time: t0.Add(5 * time.Second)})
		if p, err := s.Post(ctx, "b", other.No); err != nil || p.IP != "2001:db8:7:a::1" {
			t.Fatalf("stored address %q, %v", p.IP, err)
		}
		// A neighbour past the wait; IPv4 addresses stay each their own.
		reply := post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "2001:db8:7:9::5", Time: t0.Add(10 * time.Second)})
		if p, err := s.Post(ctx, "b", reply.No); err != nil || p.IP != "2001:db8:7:9::5" {
			t.Fatalf("stored address %q, %v", p.IP, err)
		}
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: t0.Add(11 * time.Second)})
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.2", Time: t0.Add(12 * time.Second)})
	})
}

// A database whose posts predate their cooldown key gets it on the next
// start, IPv6 posts keyed by their /64.
func TestMigrationKeysOldPosts(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		steps := store.Migrations()
		var before []store.Migration
		for _, m := range steps {
			if m.ID == "0007_post_ip_key" {
				break
			}
			before = append(before, m)
		}
		if len(before) == len(steps) {
			t.Fatal("no step 0007_post_ip_key")
		}
		if err := store.Migrate(ctx, db, before); err != nil {
			t.Fatal(err)
		}
		// The first step makes today's tables: take the key away again.
		for _, q := range []string{"DROP INDEX posts_board_ip_key", "ALTER TABLE posts DROP COLUMN ip_key"} {
			if err := db.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		now := time.Now()
		if err := db.Exec(`INSERT INTO boards (name, title, max_threads, bump_limit, image_limit, max_file_size,
			cooldown_thread, cooldown_reply, poster_ids, last_no, created_us, modified_us)
			VALUES ('b', 'Test', 10, 300, 150, 4194304, 60, 60, false, 3, ?, ?)`, now.UnixMicro(), now.UnixMicro()).Error; err != nil {
			t.Fatal(err)
		}
		for i, ip := range []string{"2001:db8:7:9::1", "10.0.0.1", "2001:db8::1"} {
			no := i + 1
			err := db.Exec(`INSERT INTO threads (board_id, no, bumped_us, modified_us) SELECT id, ?, ?, ? FROM boards`,
				no, now.UnixMicro(), now.UnixMicro()).Error
			if err == nil {
				err = db.Exec(`INSERT INTO posts (board_id, no, thread_no, created_us, name, body, com, ip)
					SELECT id, ?, ?, ?, 'Anonymous', 'x', 'x', ? FROM boards`, no, no, now.UnixMicro(), ip).Error
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}

		s := open(t, url)
		for i, c := range []struct {
			ip   string
			kind maniwani.Kind
		}{
			{"2001:db8:7:9::2", maniwani.KindTooMany}, // the /64 of post 1
			{"10.0.0.1", maniwani.KindTooMany},
			{"10.0.0.2", 0},
			{"2001:db8:0:0:ffff::9", maniwani.KindTooMany}, // the /64 of post 3
			{"2001:db8:0:1::1", 0},
		} {
			_, err := s.CreatePost(ctx, store.NewPost{Board: "b", IP: c.ip, Body: "x", Com: "x", Time: now.Add(time.Duration(i+1) * time.Second)})
			if got := maniwani.ErrorKind(err); got != c.kind || (c.kind == 0 && err != nil) {
				t.Errorf("a thread from %s after the upgrade: %v, want kind %d", c.ip, err, c.kind)
			}
		}
		p, err := s.Post(ctx, "b", 1)
		if err != nil || p.IP != "2001:db8:7:9::1" {
			t.Fatalf("post 1 after the upgrade: %v, %v", p, err)
		}
	})
}
