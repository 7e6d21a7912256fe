package live

import (
	"bytes"
	"encoding/json"
	"log/slog"

	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// item is one bus message made into SSE frames, once for all the clients
// of a hub. It is shared: read it, do not change it.
type item struct {
	id           string
	reload       bool   // the hub could not resume: clients have to reload
	thread       int64  // the thread the event is about; 0: none
	boardFrames  []byte // what the board stream sends; nil: nothing
	threadFrames []byte // what the stream of thread sends; nil: nothing

	// What the delivery's span tells: the trace the event came in, and
	// the post it is about.
	trace *pb.TraceContext
	kind  string
	board string
	no    int64
}

// postEvent is a post event's data: the public post object plus its board.
type postEvent struct {
	Board string `json:"board"`
	*maniwani.PostJSON
}

type deleteEvent struct {
	Board string `json:"board"`
	No    int64  `json:"no"`
}

type updateEvent struct {
	Board  string `json:"board"`
	No     int64  `json:"no"`
	Sticky bool   `json:"sticky"`
	Closed bool   `json:"closed"`
}

// render decodes a message of a board topic into the frames of each stream.
// A message that is not an event live shows (or not an event at all) gives
// an item with no frames, which still moves the client's last ID.
func render(log *slog.Logger, m maniwani.Message) *item {
	it := &item{id: m.ID}
	var ev pb.Event
	if err := proto.Unmarshal(m.Data, &ev); err != nil {
		log.Warn("live: undecodable event", "topic", m.Topic, "id", m.ID, "err", err)
		return it
	}
	it.trace = ev.Trace
	switch k := ev.Kind.(type) {
	case *pb.Event_PostCreated:
		pc := k.PostCreated
		it.kind, it.board, it.no = "post", pc.Board, pc.No
		data := encode(postEvent{Board: pc.Board, PostJSON: maniwani.NewPostJSON(pb.ToPost(pc))})
		post := frame("post", m.ID, data)
		it.thread, it.threadFrames, it.boardFrames = pc.Thread, post, post
		if pc.No == pc.Thread {
			it.boardFrames = append(frame("thread", m.ID, data), post...)
		}
	case *pb.Event_PostDeleted:
		pd := k.PostDeleted
		it.kind, it.board, it.no = "delete", pd.Board, pd.No
		f := frame("delete", m.ID, encode(deleteEvent{Board: pd.Board, No: pd.No}))
		it.thread, it.threadFrames, it.boardFrames = pd.Thread, f, f
	case *pb.Event_ThreadUpdated:
		tu := k.ThreadUpdated
		it.kind, it.board, it.no = "update", tu.Board, tu.No
		f := frame("update", m.ID, encode(updateEvent{Board: tu.Board, No: tu.No, Sticky: tu.Sticky, Closed: tu.Closed}))
		it.thread, it.threadFrames, it.boardFrames = tu.No, f, f
	}
	return it
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // com is HTML; as the api writes it
	_ = enc.Encode(v)        // the event types always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// frame is one SSE event. data is one line: JSON from encode escapes the
// line breaks inside strings.
func frame(event, id string, data []byte) []byte {
	b := make([]byte, 0, len(event)+len(id)+len(data)+24)
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\nid: "...)
	b = append(b, id...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
