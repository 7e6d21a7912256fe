package live

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/memory"
)

// fakeReader answers what live asks of the api. Its zero value says every
// board exists and every number is a thread.
type fakeReader struct {
	maniwani.Reader // the methods live does not call

	mu      sync.Mutex
	boards  map[string]bool // nil: every board
	threads map[int64]int64 // a post's thread; nil: every number is a thread
	err     error           // answered instead, when set
	gate    chan struct{}   // when set, each question waits for it to close
	asked   map[stream]int  // questions, by stream
	calls   atomic.Int64
}

func (f *fakeReader) note(st stream) error {
	f.calls.Add(1)
	f.mu.Lock()
	if f.asked == nil {
		f.asked = map[stream]int{}
	}
	f.asked[st]++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.boards != nil && !f.boards[st.board] {
		return maniwani.Errorf(maniwani.KindNotFound, "Board /%s/ does not exist.", st.board)
	}
	return nil
}

func (f *fakeReader) Board(ctx context.Context, name string) (*maniwani.Board, error) {
	if err := f.note(stream{board: name}); err != nil {
		return nil, err
	}
	return &maniwani.Board{Name: name}, nil
}

func (f *fakeReader) ThreadOf(ctx context.Context, board string, no int64) (int64, error) {
	if err := f.note(stream{board: board, thread: no}); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.threads == nil {
		return no, nil
	}
	if t, ok := f.threads[no]; ok {
		return t, nil
	}
	return 0, maniwani.Errorf(maniwani.KindNotFound, "Post No.%d does not exist on /%s/.", no, board)
}

func (f *fakeReader) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// A stream of a board or thread that does not exist is a 404 at once, and
// subscribes to nothing; one the Reader cannot tell about opens.
func TestUnknownStreams(t *testing.T) {
	read := &fakeReader{boards: map[string]bool{"g": true}, threads: map[int64]int64{1: 1, 3: 1}}
	s, srv := startWith(t, Deps{Bus: memory.New(memory.Config{}), Reader: read}, Config{}, nil)
	for path, want := range map[string]int{
		"/live/nope": 404, "/live/nope/1": 404, "/live/g/2": 404, "/live/g/3": 404, // 3 is a reply
		"/live/g": 200, "/live/g/1": 200,
	} {
		c, code := tryDial(t, srv.URL+path, nil)
		if code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
		if c != nil {
			c.close()
		}
	}
	s.mu.Lock()
	_, ok := s.hubs["nope"]
	s.mu.Unlock()
	if ok {
		t.Error("a board that does not exist got a hub")
	}
	read.set(func() { read.err = maniwani.Errorf(maniwani.KindUnavailable, "The api is unavailable.") })
	if _, code := tryDial(t, srv.URL+"/live/other", nil); code != http.StatusOK {
		t.Errorf("with the api down: %d, want 200 (the stream opens)", code)
	}
}

// known asks once for a burst, keeps a yes for ExistsFor and a no for
// MissingFor, and keeps at most its bound of answers.
func TestKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		read := &fakeReader{threads: map[int64]int64{1: 1}, gate: make(chan struct{})}
		k := newKnown(read, slog.New(slog.DiscardHandler), time.Minute, time.Second, 4)
		g1 := stream{board: "g", thread: 1}

		var wg sync.WaitGroup
		var yes atomic.Int64
		for range 50 {
			wg.Go(func() {
				if ok, err := k.exists(ctx, g1); ok && err == nil {
					yes.Add(1)
				}
			})
		}
		synctest.Wait() // all 50 wait for the one question
		close(read.gate)
		wg.Wait()
		if n := read.calls.Load(); n != 1 || yes.Load() != 50 {
			t.Fatalf("50 streams at once: %d questions, %d yes; want 1 and 50", n, yes.Load())
		}

		// A no is kept a second: a thread made meanwhile shows up after it.
		g2 := stream{board: "g", thread: 2}
		if ok, err := k.exists(ctx, g2); ok || err != nil {
			t.Fatalf("thread 2: %v %v, want no", ok, err)
		}
		read.set(func() { read.threads[2] = 2 })
		time.Sleep(999 * time.Millisecond)
		if ok, _ := k.exists(ctx, g2); ok {
			t.Fatal("a no was not kept")
		}
		time.Sleep(2 * time.Millisecond)
		if ok, _ := k.exists(ctx, g2); !ok {
			t.Fatal("thread 2 unknown after the no's second")
		}

		// The yes for thread 1 is kept a minute from when it was asked.
		time.Sleep(58 * time.Second)
		k.exists(ctx, g1)
		if n := read.asked[g1]; n != 1 {
			t.Fatalf("thread 1 asked %d times within its minute", n)
		}
		time.Sleep(2 * time.Second)
		k.exists(ctx, g1)
		if n := read.asked[g1]; n != 2 {
			t.Fatalf("thread 1 asked %d times after its minute, want 2", n)
		}

		// Made-up numbers do not grow the answers past the bound.
		for i := range 100 {
			k.exists(ctx, stream{board: "g", thread: int64(1000 + i)})
		}
		if n := len(k.answers); n > 4 {
			t.Fatalf("%d answers kept, want at most 4", n)
		}

		// A client that leaves while the question is asked: the others
		// still get the answer.
		read.set(func() { read.gate = make(chan struct{}) })
		g3 := stream{board: "g", thread: 3}
		cctx, cancel := context.WithCancel(ctx)
		gone := make(chan error, 1)
		go func() { _, err := k.exists(cctx, g3); gone <- err }()
		synctest.Wait()
		var other error
		wg.Go(func() { _, other = k.exists(ctx, g3) })
		synctest.Wait()
		cancel()
		if err := <-gone; err != context.Canceled {
			t.Fatalf("the client that left: %v", err)
		}
		close(read.gate)
		wg.Wait()
		if other != nil {
			t.Fatalf("the client that stayed: %v", other)
		}
	})
}
