package pb_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani/pubsub/pb"
)

// TestEventRoundTrip encodes an Event of every kind and decodes it back.
func TestEventRoundTrip(t *testing.T) {
	events := []*pb.Event{
		{Kind: &pb.Event_PostCreated{PostCreated: &pb.PostCreated{
			Board: "b", Thread: 12, No: 34, Time: 1700000000, Name: "Anonymous",
			Trip: "!Ep8pui8Vw2", PosterId: "a1b2c3d4", Sub: "hi",
			Com: `<span class="quote">&gt;text</span><br>`,
			File: &pb.File{
				Tim: 1700000000123, Filename: "cat", Ext: ".png", Fsize: 12345,
				Md5: "1B2M2Y8AsgTpgAmY7PhCfg==", W: 800, H: 600, TnW: 250, TnH: 187, Spoiler: true,
			},
		}}},
		{Kind: &pb.Event_PostCreated{PostCreated: &pb.PostCreated{Board: "b", Thread: 12, No: 35, Com: "no file"}}},
		{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{Board: "b", No: 35, Thread: 12, FileOnly: true}}},
		{Kind: &pb.Event_ThreadUpdated{ThreadUpdated: &pb.ThreadUpdated{Board: "b", No: 12, Sticky: true, Closed: true, Archived: true, MovedTo: "g"}}},
		{Kind: &pb.Event_BoardUpdated{BoardUpdated: &pb.BoardUpdated{Board: "b", Deleted: true}}},
		{Kind: &pb.Event_CacheInvalidation{CacheInvalidation: &pb.CacheInvalidation{Board: "b", SiteGen: 7, BoardGen: 5, Threads: []int64{12}, ThreadGens: []uint64{3}}}},
		{Kind: &pb.Event_ThumbnailResult{ThumbnailResult: &pb.ThumbnailResult{Board: "b", No: 34, Tim: 1700000000123, TnW: 250, TnH: 187, Ok: true}}},
		{Kind: &pb.Event_ThumbnailResult{ThumbnailResult: &pb.ThumbnailResult{Board: "b", No: 34, Error: "unsupported format"}}},
		{},
	}
	for _, e := range events {
		data, err := proto.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", e, err)
		}
		var got pb.Event
		if err := proto.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(%v): %v", e, err)
		}
		if !proto.Equal(e, &got) {
			t.Errorf("round trip: got %v, want %v", &got, e)
		}
	}

	// A post without a file decodes without one, not with an empty one.
	data, _ := proto.Marshal(events[1])
	var got pb.Event
	if err := proto.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.GetPostCreated().GetFile() != nil {
		t.Error("a post without a file came back with one")
	}
}

func TestThumbnailJobRoundTrip(t *testing.T) {
	j := &pb.ThumbnailJob{Board: "b", No: 34, Tim: 1700000000123, Sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Ext: ".webm", ContentType: "video/webm", Spoiler: true}
	data, err := proto.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var got pb.ThumbnailJob
	if err := proto.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(j, &got) {
		t.Errorf("got %v, want %v", &got, j)
	}
}
