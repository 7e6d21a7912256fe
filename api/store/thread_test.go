package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// A thread read with the posts kept from earlier reads is the thread read
// whole, through every kind of change a post goes through (a reply with or
// without a file, a ban's message, a thumbnail made, a file or a post
// deleted by staff or poster, sticky and lock), on both databases; and a
// read after one change reads only the changed post's row.
func TestThreadKeptPosts(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		ref := open(t, url) // reads whole, every time
		c := newClock()
		r := rand.New(rand.NewPCG(3, 4))
		op := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: c.next(), File: testFile("f0")})
		nos := []int64{}
		sha := map[int64]string{op.No: "f0"}
		extra := map[int64]string{} // a post's last file, when it has several
		reply := func(i int) int64 {
			p := store.NewPost{Board: "b", Resto: op.No, Name: "Anonymous", Time: c.next(), IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250),
				Body: fmt.Sprint("reply ", i), Com: fmt.Sprint("reply ", i), PasswordHash: "pw"}
			if i%3 == 0 {
				sha[int64(i)] = fmt.Sprint("f", i)
				p.File = testFile(sha[int64(i)])
			}
			if i%6 == 0 { // several files: a change of any is seen
				p.Extra = []maniwani.File{*testFile(fmt.Sprint("f", i, "e1")), *testFile(fmt.Sprint("f", i, "e2"))}
			}
			no := post(t, s, p).No
			if p.File != nil {
				sha[no] = sha[int64(i)]
			}
			if p.Extra != nil {
				extra[no] = p.Extra[1].SHA256
			}
			nos = append(nos, no)
			return no
		}
		for i := range 30 {
			reply(i + 1)
		}
		check := func(what string, wantRows int64) {
			t.Helper()
			before := store.PostRowsRead(s)
			got, err := s.Thread(ctx, "b", op.No)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			rows := store.PostRowsRead(s) - before
			store.ForgetThreads(ref)
			want, err := ref.Thread(ctx, "b", op.No)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				for i := range min(len(got.Posts), len(want.Posts)) {
					if !reflect.DeepEqual(got.Posts[i], want.Posts[i]) {
						t.Fatalf("after %s: post %d is %+v (file %+v), read whole %+v (file %+v)", what, i,
							got.Posts[i], got.Posts[i].File, want.Posts[i], want.Posts[i].File)
					}
				}
				t.Fatalf("after %s: %d posts, read whole %d; thread %+v, whole %+v", what, len(got.Posts), len(want.Posts), got.Thread, want.Thread)
			}
			if wantRows >= 0 && rows != wantRows {
				t.Errorf("after %s: %d post rows read, want %d", what, rows, wantRows)
			}
		}
		check("the first read", 31)
		check("no change", 0)
		e := maniwani.LogEntry{Staff: "mod", Action: "test"}
		closed, thumbed := false, map[int64]bool{}
		gone := func(no int64) { // deleted: not changed again
			delete(sha, no)
			for i := range nos {
				if nos[i] == no {
					nos = append(nos[:i], nos[i+1:]...)
					break
				}
			}
		}
		for step := range 40 {
			no := nos[r.IntN(len(nos))]
			var what string
			rows := int64(1)
			var err error
			switch r.IntN(8) {
			case 0:
				what = "a reply"
				if closed {
					rows = 0
					break
				}
				reply(100 + step)
			case 1:
				_, err = s.MarkBanned(ctx, "b", no)
				what = "a ban's message"
			case 2:
				what = "a thumbnail made"
				if x := extra[no]; x != "" && sha[no] != "" {
					what = "a thumbnail of a post's third file made"
					_, err = s.ThumbnailMade(ctx, x)
					delete(extra, no)
					break
				}
				if sha[no] == "" || thumbed[no] {
					rows = 0
					break
				}
				_, err = s.ThumbnailMade(ctx, sha[no])
				thumbed[no] = true
			case 3:
				what = "a file deleted"
				if sha[no] == "" {
					rows = 0
					break
				}
				e.Time = c.next()
				_, _, err = s.DeleteFile(ctx, "b", no, e)
				delete(sha, no)
				delete(extra, no)
			case 4:
				e.Time = c.next()
				_, err = s.StaffDelete(ctx, "b", no, store.ScopePost, e)
				what, rows = "a deletion by staff", 0
				gone(no)
			case 5:
				_, err = s.DeletePost(ctx, "b", no, "pw", c.next())
				what, rows = "a deletion by its poster", 0
				gone(no)
			case 6:
				st := r.IntN(2) == 0
				err = s.UpdateThread(ctx, "b", op.No, store.ThreadFlags{Sticky: &st}, c.next())
				what, rows = "sticky", 0
			case 7:
				closed = r.IntN(2) == 0
				err = s.UpdateThread(ctx, "b", op.No, store.ThreadFlags{Closed: &closed}, c.next())
				what, rows = "lock", 0
			}
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			check(fmt.Sprintf("step %d, %s of No.%d", step, what, no), rows)
		}
	})
}

// Any write of a post's or a file's row moves its version, so a kept post
// is read again: even a statement of a writer that the store does not
// have, and one that writes back a version read before.
func TestThreadKeptPostsAnyWriter(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		c := newClock()
		op := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: c.next(), File: testFile("aa")})
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := db.DB(); err == nil {
			t.Cleanup(func() { sqlDB.Close() })
		}
		if _, err := s.Thread(ctx, "b", op.No); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ sql, want string }{
			{"UPDATE posts SET name = 'Renamed' WHERE no = ?", "Renamed"},
			{"UPDATE posts SET name = 'Again', version = 0 WHERE no = ?", "Again"},
			{"UPDATE files SET filename = 'dog' WHERE post_no = ?", "dog"},
			{"UPDATE files SET filename = 'cow', version = 0 WHERE post_no = ?", "cow"},
		} {
			if err := db.Exec(c.sql, op.No).Error; err != nil {
				t.Fatal(err)
			}
			v, err := s.Thread(ctx, "b", op.No)
			if err != nil {
				t.Fatal(err)
			}
			if p := v.Posts[0]; p.Name != c.want && p.File.Filename != c.want {
				t.Errorf("after %s: name %q, file %q; want %q", c.sql, p.Name, p.File.Filename, c.want)
			}
		}
	})
}
