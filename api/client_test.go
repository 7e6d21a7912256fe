package api_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
)

// The client reads over HTTP what the service reads itself: a ui apart sees
// the pages a ui in one process sees. Errors keep their kinds.
func TestClientMatchesService(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	op := s.mustPost("b", "10.1.0.1", "com", "hello", "sub", "subject")
	s.mustPost("b", "10.1.0.2", "resto", "1", "com", ">>1 reply")
	ctx := context.Background()
	c := api.NewClient(s.url, "")
	direct := s.svc

	boards, err := c.Boards(ctx)
	want, _ := direct.Boards(ctx)
	if err != nil || !reflect.DeepEqual(boards, want) {
		t.Fatalf("boards %+v %v, want %+v", boards, err, want)
	}
	b, err := c.Board(ctx, "b")
	if err != nil || b.Name != "b" || b.Title != want[0].Title {
		t.Fatalf("board %+v %v", b, err)
	}
	th, err := c.Thread(ctx, "b", op)
	wantTh, _ := direct.Thread(ctx, "b", op)
	if err != nil || !reflect.DeepEqual(th, wantTh) || len(th.Posts) != 2 || th.Posts[0].IP != "" {
		t.Fatalf("thread %+v %v\nwant %+v", th, err, wantTh)
	}
	ths, err := c.Threads(ctx, "b", 0, 15, 5)
	wantThs, _ := direct.Threads(ctx, "b", 0, 15, 5)
	if err != nil || !reflect.DeepEqual(ths, wantThs) {
		t.Fatalf("threads %+v %v", ths, err)
	}
	latest, err := c.Latest(ctx, 10)
	if err != nil || len(latest) != 1 || latest[0].No != op {
		t.Fatalf("latest %+v %v", latest, err)
	}
	if th, err := c.ThreadOf(ctx, "b", op+1); err != nil || th != op {
		t.Fatalf("thread of the reply: %d %v", th, err)
	}
	if _, err := c.ThreadOf(ctx, "b", 999); maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("thread of a missing post: %v", err)
	}
	_, err = c.Thread(ctx, "b", 999)
	if maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("missing thread: %v", err)
	}
	_, err = c.FileByName(ctx, "b", 12345)
	if maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("missing file: %v", err)
	}
	down := api.NewClient("http://127.0.0.1:1", "")
	if _, err := down.Boards(ctx); maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Fatalf("api down: %v", err)
	}
}
