package pb_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// A post made into its event and back keeps every field the public JSON
// shows, and an opening post's event names itself as its thread.
func TestPostConversion(t *testing.T) {
	at := time.Unix(1700000000, 0)
	op := maniwani.Post{Board: "b", No: 12, Time: at, Name: "Anonymous", Trip: "!Ep8pui8Vw2",
		PosterID: "a1b2c3d4", Subject: "hi", Com: `<span class="quote">&gt;text</span>`,
		File: &maniwani.File{Tim: 1700000000123, Filename: "cat", Ext: ".png", Size: 12345,
			MD5: "1B2M2Y8AsgTpgAmY7PhCfg==", Width: 800, Height: 600, ThumbW: 250, ThumbH: 187, Spoiler: true}}
	reply := maniwani.Post{Board: "b", No: 35, Resto: 12, Time: at, Name: "Bob", Com: "no file"}
	for _, c := range []struct {
		p      maniwani.Post
		thread int64
	}{{op, 12}, {reply, 12}} {
		p := c.p
		e := pb.NewPostCreated(&p)
		if e.Thread != c.thread {
			t.Errorf("No.%d: thread %d, want %d", p.No, e.Thread, c.thread)
		}
		got := pb.ToPost(e)
		if !got.Time.Equal(p.Time) {
			t.Errorf("No.%d: time %v, want %v", p.No, got.Time, p.Time)
		}
		got.Time = p.Time // the same instant; its location is not the post's
		if !reflect.DeepEqual(got, &p) {
			t.Errorf("No.%d: back from its event as\n%+v\nwant\n%+v", p.No, got, &p)
		}
	}

	// What the event must not carry.
	secret := op
	secret.Body, secret.Sage, secret.IP, secret.PasswordHash = "raw", true, "10.0.0.1", "hash"
	secret.File = &maniwani.File{SHA256: "e3b0c442", Thumbnail: true}
	if got := pb.ToPost(pb.NewPostCreated(&secret)); got.Body != "" || got.Sage || got.IP != "" ||
		got.PasswordHash != "" || got.File.SHA256 != "" || got.File.Thumbnail {
		t.Errorf("the event carried a private field: %+v", got)
	}
}
