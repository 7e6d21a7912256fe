package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// CheckPost refuses what CreatePost would refuse, with the same kind and
// message, and takes what it would take; it changes nothing.
func TestCheckPost(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.MaxThreads, b.ImageLimit, b.CooldownThread, b.CooldownReply = 2, 1, 60, 10
		s := openWithBoard(t, url, b)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		archived := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: t0})
		full := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.2", Time: t0, File: testFile("aa")})
		post(t, s, store.NewPost{Board: "b", Resto: full.No, IP: "10.0.0.4", Time: t0.Add(time.Second), File: testFile("bb")})
		closed := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.3", Time: t0}) // pushes the first thread to the archive
		yes := true
		if err := s.UpdateThread(ctx, "b", closed.No, store.ThreadFlags{Closed: &yes}, t0); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(5 * time.Second)

		for _, c := range []struct {
			name string
			in   store.NewPost
			file bool
			kind maniwani.Kind // KindInternal: taken
		}{
			{"unknown board", store.NewPost{Board: "zz"}, false, maniwani.KindNotFound},
			{"unknown thread", store.NewPost{Board: "b", Resto: 999}, false, maniwani.KindNotFound},
			{"archived thread", store.NewPost{Board: "b", Resto: archived.No, IP: "10.1.0.1"}, false, maniwani.KindForbidden},
			{"closed thread", store.NewPost{Board: "b", Resto: closed.No, IP: "10.1.0.1"}, false, maniwani.KindForbidden},
			{"reply within the cooldown", store.NewPost{Board: "b", Resto: full.No, IP: "10.0.0.4"}, false, maniwani.KindTooMany},
			{"thread within the cooldown", store.NewPost{Board: "b", IP: "10.0.0.3"}, false, maniwani.KindTooMany},
			{"a file past the image limit", store.NewPost{Board: "b", Resto: full.No, IP: "10.1.0.2"}, true, maniwani.KindForbidden},
			{"a reply without a file", store.NewPost{Board: "b", Resto: full.No, IP: "10.1.0.3"}, false, maniwani.KindInternal},
			{"a thread with a file", store.NewPost{Board: "b", IP: "10.1.0.4"}, true, maniwani.KindInternal},
		} {
			c.in.Time, c.in.Body, c.in.Com = at, "x", "x"
			err := s.CheckPost(ctx, c.in, c.file)
			if c.kind == maniwani.KindInternal {
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
				continue
			}
			if maniwani.ErrorKind(err) != c.kind {
				t.Errorf("%s: %v, want kind %d", c.name, err, c.kind)
				continue
			}
			// CreatePost says the same.
			if c.file {
				c.in.File = testFile(fmt.Sprint("f", c.name))
			}
			_, cerr := s.CreatePost(ctx, c.in)
			if maniwani.ErrorKind(cerr) != c.kind || maniwani.ErrorMessage(cerr) != maniwani.ErrorMessage(err) {
				t.Errorf("%s: CheckPost says %q, CreatePost %v", c.name, maniwani.ErrorMessage(err), cerr)
			}
		}
		// Nothing was taken: the next post has the next number.
		next := post(t, s, store.NewPost{Board: "b", IP: "10.2.0.1", Time: at})
		if next.No != closed.No+1 {
			t.Errorf("next post is No.%d, want %d", next.No, closed.No+1)
		}
	})
}
