package maniwani

import "context"

// Reader is what the pages read of the boards. The api implements it (over
// its database) in one process; its HTTP client does when the ui runs apart.
// Errors carry kinds: an unknown board or thread is KindNotFound.
type Reader interface {
	// Boards lists every board, by name.
	Boards(ctx context.Context) ([]Board, error)
	// Board reads one board's settings.
	Board(ctx context.Context, name string) (*Board, error)
	// Threads reads the board's live threads in index order (stickies
	// first, then the most recently bumped), from offset, at most limit,
	// each with its opening post and its last `last` replies.
	Threads(ctx context.Context, board string, offset, limit, last int) ([]ThreadView, error)
	// Thread reads a thread, live or archived, with all its posts.
	Thread(ctx context.Context, board string, no int64) (*ThreadView, error)
	// Latest reads the newest live threads of every board, newest first,
	// with their opening posts only.
	Latest(ctx context.Context, limit int) ([]ThreadView, error)
	// ThreadOf tells the thread of the board's post no (a link to a
	// reply's number leads to its thread).
	ThreadOf(ctx context.Context, board string, no int64) (int64, error)
	// MovedTo tells where the board's post no went when staff moved its
	// thread to another board; KindNotFound when it was never moved.
	MovedTo(ctx context.Context, board string, no int64) (MovedPost, error)
	// Archive reads the board's archived threads, the most recently
	// archived first, at most limit, each with its opening post only.
	Archive(ctx context.Context, board string, limit int) ([]ThreadView, error)
}

// MovedPost is where a post of a moved thread is now.
type MovedPost struct {
	Board  string
	Thread int64
	No     int64
}
