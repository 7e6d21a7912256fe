// A batch: what one fan-out sends, its frames for each stream, plain and
// chunked, made once for all the clients.

package live

import "go.opentelemetry.io/otel/trace"

// batch is what one fan-out sends: items, and what of them each stream
// shows, joined into one write, as it is and as a chunk: made once for all
// the clients.
type batch struct {
	items          []*item
	plain, chunked frameSet
	spans          []trace.Span // the items' delivery spans, ended by the sweep that gives it out
}

// frameSet is a batch's bytes for each stream.
type frameSet struct {
	board  []byte           // the board stream's
	thread map[int64][]byte // the streams of the threads the items are about
	other  []byte           // any other thread's stream (reloads)
}

func newBatch(items []*item) *batch {
	join := func(st stream) []byte {
		if len(items) == 1 {
			return st.frames(items[0])
		}
		var out []byte
		for _, it := range items {
			out = append(out, st.frames(it)...)
		}
		return out
	}
	b := &batch{items: items}
	b.plain = frameSet{board: join(stream{}), other: join(stream{thread: -1}), thread: map[int64][]byte{}}
	b.chunked = frameSet{board: chunk(b.plain.board), other: chunk(b.plain.other), thread: map[int64][]byte{}}
	for _, it := range items {
		if _, ok := b.plain.thread[it.thread]; it.thread > 0 && !ok {
			f := join(stream{thread: it.thread})
			b.plain.thread[it.thread], b.chunked.thread[it.thread] = f, chunk(f)
		}
	}
	return b
}

// frames is what the stream shows of the batch, chunked or not; nil:
// nothing.
func (b *batch) frames(st stream, chunked bool) []byte {
	fs := &b.plain
	if chunked {
		fs = &b.chunked
	}
	f := fs.board
	if st.thread != 0 {
		var ok bool
		if f, ok = fs.thread[st.thread]; !ok {
			f = fs.other
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}
