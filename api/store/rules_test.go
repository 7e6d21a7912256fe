package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/testdb"
)

// A reply is stored by one of two paths: the rules in Go (every post on
// SQLite; threads and replies with a file on PostgreSQL) or replySQL, one
// statement that restates them in SQL (replies without a file on
// PostgreSQL). TestReplyRules runs every rule through each path the
// database has, and on PostgreSQL wants both paths to come to the same
// posts, thread and board.

// replyPath is one way a reply is stored.
type replyPath struct {
	name string
	post func(s *store.Store, ctx context.Context, in store.NewPost) (*store.Created, error)
}

func replyPaths(kind string) []replyPath {
	paths := []replyPath{{"go", store.CreatePostInGo}}
	if kind == "postgres" {
		paths = append(paths, replyPath{"statement", store.CreateReplyInStatement})
	}
	return paths
}

// ruleEnv is one rule's board on a store, and the path under test.
type ruleEnv struct {
	t     *testing.T
	ctx   context.Context
	s     *store.Store
	board string
	path  replyPath
	ip    int // the last address handed out by addr
}

var ruleT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// at is ruleT0 plus d.
func at(d time.Duration) time.Time { return ruleT0.Add(d) }

// addr is an address no other post of the rule has, so that no cooldown
// holds unless the rule means one to.
func (e *ruleEnv) addr() string { e.ip++; return fmt.Sprintf("10.0.%d.%d", e.ip/256, e.ip%256) }

// thread starts a thread on the rule's board (always in Go).
func (e *ruleEnv) thread(ip string, when time.Time) int64 {
	e.t.Helper()
	return post(e.t, e.s, store.NewPost{Board: e.board, IP: ip, Time: when}).No
}

// reply stores a reply to no by the path under test.
func (e *ruleEnv) reply(no int64, ip string, when time.Time) *store.Created {
	e.t.Helper()
	out, err := e.path.post(e.s, e.ctx, store.NewPost{Board: e.board, Resto: no, IP: ip, Body: "r", Com: "r", Time: when})
	if err != nil {
		e.t.Fatalf("setup reply to No.%d: %v", no, err)
	}
	return out
}

// otherBoard makes a second board with the rule's settings.
func (e *ruleEnv) otherBoard(b maniwani.Board) string {
	e.t.Helper()
	b.Name = e.board + "x"
	if err := e.s.CreateBoard(e.ctx, b); err != nil {
		e.t.Fatal(err)
	}
	return b.Name
}

// hold makes board hold new posters from now on: what setup posted
// before is published, so its posters are approved.
func (e *ruleEnv) hold(board string) {
	e.t.Helper()
	b, err := e.s.Board(e.ctx, board)
	if err != nil {
		e.t.Fatal(err)
	}
	b.HoldNewPosters = true
	if err := e.s.UpdateBoard(e.ctx, *b); err != nil {
		e.t.Fatal(err)
	}
}

// heldReply stores a reply by the path under test and wants it held.
func (e *ruleEnv) heldReply(no int64, ip string, when time.Time) int64 {
	e.t.Helper()
	if c := e.reply(no, ip, when); !c.Held {
		e.t.Fatalf("setup: the reply No.%d of %s was not held", c.No, ip)
		return 0
	} else {
		return c.No
	}
}

// approve approves a held post, as a moderator does.
func (e *ruleEnv) approve(board string, no int64, when time.Time) {
	e.t.Helper()
	if _, err := e.s.ApproveHeld(e.ctx, board, no, maniwani.LogEntry{Time: when, Staff: "mod", Action: "approve"}); err != nil {
		e.t.Fatal(err)
	}
}

// view is the thread no of the rule's board, or nil when there is none.
func (e *ruleEnv) view(no int64) *maniwani.ThreadView {
	e.t.Helper()
	v, err := e.s.Thread(e.ctx, e.board, no)
	if maniwani.ErrorKind(err) == maniwani.KindNotFound {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// outcome is what a rule's reply came to.
type outcome struct {
	in            store.NewPost
	got           *store.Created
	err           error
	before, after *maniwani.ThreadView // the thread replied to; nil when it does not exist
}

type replyRule struct {
	name  string
	board func(b *maniwani.Board) // changes to testBoard's settings
	// setup makes what the reply meets and returns the thread it goes to.
	setup func(e *ruleEnv, b maniwani.Board) int64
	// reply changes the reply sent: by default a comment from an address
	// of its own to the thread setup returned, at 100 s.
	reply func(p *store.NewPost)
	want  maniwani.Kind // 0: stored
	held  bool          // stored held for review, not published
	check func(t *testing.T, e *ruleEnv, o outcome)
}

func onlyThread(e *ruleEnv, _ maniwani.Board) int64 { return e.thread(e.addr(), at(0)) }

func cooldown(reply int) func(b *maniwani.Board) {
	return func(b *maniwani.Board) { b.CooldownReply, b.CooldownThread = reply, 600 }
}

func unique(minutes int) func(b *maniwani.Board) {
	return func(b *maniwani.Board) { b.UniqueCommentsMinutes = minutes }
}

// heldBoard is a thread started by an address of its own on a board that
// holds new posters from then on.
func heldBoard(e *ruleEnv, _ maniwani.Board) int64 {
	no := e.thread(e.addr(), at(0))
	e.hold(e.board)
	return no
}

func from(ip string, when time.Duration) func(p *store.NewPost) {
	return func(p *store.NewPost) { p.IP, p.Time = ip, at(when) }
}

var replyRules = []replyRule{
	// Where a reply may go.
	{name: "an unknown board is refused", setup: onlyThread,
		reply: func(p *store.NewPost) { p.Board = "nope" }, want: maniwani.KindNotFound},
	{name: "an unknown thread is refused", setup: onlyThread,
		reply: func(p *store.NewPost) { p.Resto = 999 }, want: maniwani.KindNotFound},
	{name: "a thread of another board is not this board's", setup: func(e *ruleEnv, b maniwani.Board) int64 {
		other := e.otherBoard(b)
		e.thread(e.addr(), at(0))
		var no int64
		for i := range 3 {
			no = post(e.t, e.s, store.NewPost{Board: other, IP: e.addr(), Time: at(time.Duration(i+1) * time.Second)}).No
		}
		return no // No.3 is a thread on the other board only
	}, want: maniwani.KindNotFound},
	{name: "a closed thread is refused", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := e.thread(e.addr(), at(0))
		yes := true
		if err := e.s.UpdateThread(e.ctx, e.board, no, store.ThreadFlags{Closed: &yes}, at(time.Second)); err != nil {
			e.t.Fatal(err)
		}
		return no
	}, want: maniwani.KindForbidden},
	{name: "an archived thread is refused, even reopened", board: func(b *maniwani.Board) { b.MaxThreads = 1 },
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			e.thread(e.addr(), at(time.Second)) // pushes no to the archive, which closes it
			reopen := false
			if err := e.s.UpdateThread(e.ctx, e.board, no, store.ThreadFlags{Closed: &reopen}, at(2*time.Second)); err != nil {
				e.t.Fatal(err)
			}
			if v := e.view(no); !v.Archived || v.Closed {
				e.t.Fatalf("setup: thread archived %v, closed %v; want archived and open", v.Archived, v.Closed)
			}
			return no
		}, want: maniwani.KindForbidden},

	// The reply cooldown: the poster's last post of any kind on the board.
	{name: "cooldown: the same address too soon is refused", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(0)) },
		reply: from("10.7.0.1", 5500*time.Millisecond), want: maniwani.KindTooMany,
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if !strings.Contains(o.err.Error(), "wait 5 more seconds") { // 4.5 s, rounded up
				t.Errorf("refused with %q", o.err)
			}
		}},
	{name: "cooldown: a microsecond short is too soon", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(0)) },
		reply: from("10.7.0.1", 10*time.Second-time.Microsecond), want: maniwani.KindTooMany},
	{name: "cooldown: ends after exactly its seconds", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(0)) },
		reply: from("10.7.0.1", 10*time.Second)},
	{name: "cooldown: another address is free", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(0)) },
		reply: from("10.7.0.2", time.Second)},
	{name: "cooldown: counts the poster's last reply", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			e.reply(no, "10.7.0.1", at(20*time.Second))
			return no
		}, reply: from("10.7.0.1", 29*time.Second), want: maniwani.KindTooMany},
	{name: "cooldown: counts posts in the board's other threads", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			e.thread("10.7.0.1", at(0))
			return e.thread(e.addr(), at(time.Second))
		}, reply: from("10.7.0.1", 5*time.Second), want: maniwani.KindTooMany},
	{name: "cooldown: holds on its own board only", board: cooldown(10),
		setup: func(e *ruleEnv, b maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			post(e.t, e.s, store.NewPost{Board: e.otherBoard(b), IP: "10.7.0.1", Time: at(4 * time.Second)})
			return no
		}, reply: from("10.7.0.1", 5*time.Second)},
	{name: "cooldown: an IPv6 /64 is one poster", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("2001:db8:1:2::1", at(0)) },
		reply: from("2001:db8:1:2:ffff::9", 5*time.Second), want: maniwani.KindTooMany},
	{name: "cooldown: the next IPv6 /64 is another poster", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("2001:db8:1:2::1", at(0)) },
		reply: from("2001:db8:1:3::1", 5*time.Second)},
	{name: "cooldown: the stored reply counts for its /64", board: cooldown(10), setup: onlyThread,
		reply: from("2001:db8:1:2::1", 5*time.Second),
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			_, err := e.path.post(e.s, e.ctx, store.NewPost{Board: e.board, Resto: o.in.Resto, IP: "2001:db8:1:2::2",
				Body: "x", Com: "x", Time: at(10 * time.Second)})
			wantKind(t, err, maniwani.KindTooMany)
		}},
	{name: "cooldown: zero seconds is none, even after a post stamped later", board: cooldown(0),
		// Another api instance's clock may be ahead.
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(time.Second)) },
		reply: from("10.7.0.1", 0)},
	{name: "cooldown: a post without an address has none", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("", at(0)) },
		reply: from("", time.Second)},
	{name: "cooldown: a reply waits the reply cooldown, not the thread one", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 { return e.thread("10.7.0.1", at(0)) },
		reply: from("10.7.0.1", 11*time.Second)},

	// Unique comments: the same text (case and white space aside) on the
	// board within its window, from any address. The thread's text is
	// "text".
	{name: "unique comments: the same comment from another address is refused", board: unique(10), setup: onlyThread,
		reply: func(p *store.NewPost) { p.Body = "  TEXT\n" }, want: maniwani.KindConflict,
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if !strings.Contains(o.err.Error(), "already posted") {
				t.Errorf("refused with %q", o.err)
			}
		}},
	{name: "unique comments: a microsecond short of the window is within it", board: unique(10), setup: onlyThread,
		reply: from("10.7.0.1", 10*time.Minute-time.Microsecond), want: maniwani.KindConflict},
	{name: "unique comments: end after exactly their minutes", board: unique(10), setup: onlyThread,
		reply: from("10.7.0.1", 10*time.Minute)},
	{name: "unique comments: another comment is free", board: unique(10), setup: onlyThread,
		reply: func(p *store.NewPost) { p.Body = "text, and more" }},
	{name: "unique comments: off, the same comment is taken", setup: onlyThread},
	{name: "unique comments: hold on their own board only", board: unique(10),
		setup: func(e *ruleEnv, b maniwani.Board) int64 {
			post(e.t, e.s, store.NewPost{Board: e.otherBoard(b), IP: e.addr(), Body: "elsewhere", Time: at(time.Second)})
			return e.thread(e.addr(), at(0))
		}, reply: func(p *store.NewPost) { p.Body = "Elsewhere" }},
	{name: "unique comments: a reply with no comment is no one's copy", board: unique(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			post(e.t, e.s, store.NewPost{Board: e.board, Resto: no, IP: e.addr(), Body: " ", Time: at(time.Second), File: testFile("ab")})
			return no
		}, reply: func(p *store.NewPost) { p.Body = "\n \t" }},
	{name: "unique comments: the stored reply counts for the next one", board: unique(10), setup: onlyThread,
		reply: func(p *store.NewPost) { p.Body = "new words" },
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			_, err := e.path.post(e.s, e.ctx, store.NewPost{Board: e.board, Resto: o.in.Resto, IP: e.addr(),
				Body: "New\tWORDS", Com: "x", Time: at(200 * time.Second)})
			wantKind(t, err, maniwani.KindConflict)
		}},

	// Holding new posters: a key with no approved (or published) post on
	// the board has its reply held; it takes its number, and its thread is
	// as it was.
	{name: "hold: a new poster's reply is held", setup: heldBoard, held: true},
	{name: "hold: a sage reply is held alike", setup: heldBoard, reply: func(p *store.NewPost) { p.Sage = true }, held: true},
	{name: "hold: a poster with a published post on the board is not held",
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread("10.7.0.1", at(0))
			e.hold(e.board)
			return no
		}, reply: from("10.7.0.1", 100*time.Second),
		check: func(t *testing.T, e *ruleEnv, o outcome) { wantBumped(t, o, o.in.Time) }},
	{name: "hold: an approved poster is not held", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := heldBoard(e, maniwani.Board{})
		e.approve(e.board, e.heldReply(no, "10.7.0.1", at(10*time.Second)), at(20*time.Second))
		return no
	}, reply: from("10.7.0.1", 100*time.Second)},
	{name: "hold: a held post approves nobody", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := heldBoard(e, maniwani.Board{})
		e.heldReply(no, "10.7.0.1", at(10*time.Second))
		return no
	}, reply: from("10.7.0.1", 100*time.Second), held: true},
	{name: "hold: an approval holds on its own board only", setup: func(e *ruleEnv, b maniwani.Board) int64 {
		other := e.otherBoard(b)
		e.hold(other)
		op := post(e.t, e.s, store.NewPost{Board: other, IP: "10.7.0.1", Time: at(time.Second)})
		if !op.Held {
			e.t.Fatal("setup: a new poster's thread was not held")
		}
		e.approve(other, op.No, at(2*time.Second))
		return heldBoard(e, b)
	}, reply: from("10.7.0.1", 100*time.Second), held: true},
	{name: "hold: an IPv6 /64 is one poster", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := e.thread("2001:db8:1:2::1", at(0))
		e.hold(e.board)
		return no
	}, reply: from("2001:db8:1:2:ffff::9", 100*time.Second)},
	{name: "hold: the next IPv6 /64 is a new poster", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := e.thread("2001:db8:1:2::1", at(0))
		e.hold(e.board)
		return no
	}, reply: from("2001:db8:1:3::1", 100*time.Second), held: true},
	{name: "hold: a post without an address is held", setup: heldBoard, reply: from("", 100*time.Second), held: true},
	{name: "hold: a held reply counts for the cooldown", board: cooldown(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := heldBoard(e, maniwani.Board{})
			e.heldReply(no, "10.7.0.1", at(95*time.Second))
			return no
		}, reply: from("10.7.0.1", 100*time.Second), want: maniwani.KindTooMany},
	{name: "hold: a held reply counts for unique comments", board: unique(10),
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := heldBoard(e, maniwani.Board{})
			e.heldReply(no, e.addr(), at(95*time.Second)) // "r"
			return no
		}, reply: func(p *store.NewPost) { p.Body = "R" }, want: maniwani.KindConflict},
	{name: "hold: a full queue refuses a new poster", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := heldBoard(e, maniwani.Board{})
		e.heldReply(no, e.addr(), at(10*time.Second))
		e.heldReply(no, e.addr(), at(20*time.Second))
		return no
	}, reply: func(p *store.NewPost) { p.MaxHeld = 2 }, want: maniwani.KindTooMany,
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if !strings.Contains(o.err.Error(), "wait for a moderator's review") {
				t.Errorf("refused with %q", o.err)
			}
		}},
	{name: "hold: a queue one short of full takes a new poster", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := heldBoard(e, maniwani.Board{})
		e.heldReply(no, e.addr(), at(10*time.Second))
		return no
	}, reply: func(p *store.NewPost) { p.MaxHeld = 2 }, held: true},
	{name: "hold: a full queue takes an approved poster", setup: func(e *ruleEnv, _ maniwani.Board) int64 {
		no := e.thread("10.7.0.1", at(0))
		e.hold(e.board)
		e.heldReply(no, e.addr(), at(10*time.Second))
		return no
	}, reply: func(p *store.NewPost) { p.IP, p.MaxHeld = "10.7.0.1", 1 }},
	{name: "hold: a held reply's quotes are no backlinks yet", setup: heldBoard,
		reply: func(p *store.NewPost) { p.Quotes = []maniwani.Ref{{Board: p.Board, No: p.Resto}} }, held: true,
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if bl, err := e.s.Backlinks(e.ctx, e.board, o.in.Resto); err != nil || len(bl) != 0 {
				t.Errorf("backlinks %v, %v; want none", bl, err)
			}
			e.approve(e.board, o.got.No, at(200*time.Second))
			bl, err := e.s.Backlinks(e.ctx, e.board, o.in.Resto)
			want := map[int64][]maniwani.Ref{o.in.Resto: {{Board: e.board, No: o.got.No}}}
			if err != nil || fmt.Sprint(bl) != fmt.Sprint(want) {
				t.Errorf("backlinks once approved %v, %v; want %v", bl, err, want)
			}
		}},
	{name: "hold: an approved reply counts and bumps at its approval", setup: heldBoard, held: true,
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			e.approve(e.board, o.got.No, at(300*time.Second))
			v := e.view(o.in.Resto)
			if v.Replies != o.before.Replies+1 || !v.Bumped.Equal(at(300*time.Second)) || v.Posts[len(v.Posts)-1].No != o.got.No {
				t.Errorf("approved: thread has %d replies, bumped %v, last post No.%d; want %d, %v, No.%d",
					v.Replies, v.Bumped, v.Posts[len(v.Posts)-1].No, o.before.Replies+1, at(300*time.Second), o.got.No)
			}
		}},

	// Bumps.
	{name: "a reply bumps its thread", setup: onlyThread,
		check: func(t *testing.T, e *ruleEnv, o outcome) { wantBumped(t, o, o.in.Time) }},
	{name: "sage does not bump", setup: onlyThread, reply: func(p *store.NewPost) { p.Sage = true },
		check: func(t *testing.T, e *ruleEnv, o outcome) { wantBumped(t, o, o.before.Bumped) }},
	{name: "the reply that reaches the bump limit bumps", board: func(b *maniwani.Board) { b.BumpLimit = 2 },
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			e.reply(no, e.addr(), at(time.Second))
			return no
		}, check: func(t *testing.T, e *ruleEnv, o outcome) { wantBumped(t, o, o.in.Time) }},
	{name: "past the bump limit a reply does not bump", board: func(b *maniwani.Board) { b.BumpLimit = 2 },
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			e.reply(no, e.addr(), at(time.Second))
			e.reply(no, e.addr(), at(2*time.Second))
			return no
		}, check: func(t *testing.T, e *ruleEnv, o outcome) { wantBumped(t, o, at(2*time.Second)) }},

	// Poster IDs (the stored post is checked against what was sent).
	{name: "a board with poster IDs keeps the poster's ID in the thread", board: func(b *maniwani.Board) { b.PosterIDs = true },
		setup: onlyThread, reply: func(p *store.NewPost) { p.PosterID = func(thread int64) string { return fmt.Sprintf("id%d", thread) } },
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if want := fmt.Sprintf("id%d", o.in.Resto); o.got.PosterID != want {
				t.Errorf("poster ID %q, want %q", o.got.PosterID, want)
			}
		}},
	{name: "a board without poster IDs keeps none", setup: onlyThread,
		reply: func(p *store.NewPost) { p.PosterID = func(int64) string { return "id" } },
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			if o.got.PosterID != "" {
				t.Errorf("poster ID %q on a board without them", o.got.PosterID)
			}
		}},

	// The image limit holds files only; a reply without one counts none.
	{name: "a reply without a file goes to a thread at its image limit", board: func(b *maniwani.Board) { b.ImageLimit = 1 },
		setup: func(e *ruleEnv, _ maniwani.Board) int64 {
			no := e.thread(e.addr(), at(0))
			post(e.t, e.s, store.NewPost{Board: e.board, Resto: no, IP: e.addr(), Time: at(time.Second), File: testFile("ab")})
			return no
		}, check: func(t *testing.T, e *ruleEnv, o outcome) {
			if o.after.Images != 1 {
				t.Errorf("images %d, want 1", o.after.Images)
			}
		}},

	// What is stored.
	{name: "the reply keeps what was sent", setup: onlyThread, reply: func(p *store.NewPost) {
		p.Name, p.Trip, p.Subject, p.Body, p.Com = "Name", "!trip", "Subject", "> body", "<span>&gt; body</span>"
		p.IP, p.PasswordHash, p.Time = "2001:db8::7", "hash", at(100*time.Second+123*time.Microsecond)
	}},
	{name: "the reply's quotes are kept as backlinks", setup: onlyThread,
		reply: func(p *store.NewPost) { p.Quotes = []maniwani.Ref{{Board: p.Board, No: p.Resto}, {Board: "g", No: 7}} },
		check: func(t *testing.T, e *ruleEnv, o outcome) {
			bl, err := e.s.Backlinks(e.ctx, e.board, o.in.Resto)
			want := map[int64][]maniwani.Ref{o.in.Resto: {{Board: e.board, No: o.got.No}}}
			if err != nil || fmt.Sprint(bl) != fmt.Sprint(want) {
				t.Errorf("backlinks %v, %v; want %v", bl, err, want)
			}
		}},
}

// wantBumped wants the thread replied to bumped at when.
func wantBumped(t *testing.T, o outcome, when time.Time) {
	t.Helper()
	if !o.after.Bumped.Equal(when) {
		t.Errorf("thread bumped at %v, want %v", o.after.Bumped, when)
	}
}

// TestReplyRules runs each posting rule of a reply on each path: a refused
// reply changes nothing and takes no number; a stored one takes the board's
// next number, counts one more reply on its thread and is stored as sent.
func TestReplyRules(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			seen := map[string]string{} // rule: what the first path came to
			for _, path := range replyPaths(kind) {
				s := open(t, testdb.URL(t, kind))
				for i, rule := range replyRules {
					t.Run(path.name+"/"+rule.name, func(t *testing.T) {
						got := runRule(t, s, path, fmt.Sprintf("r%d", i), rule)
						if first, ok := seen[rule.name]; !ok {
							seen[rule.name] = got
						} else if got != first {
							t.Errorf("paths differ:\n%s: %s\n%s: %s", replyPaths(kind)[0].name, first, path.name, got)
						}
					})
				}
			}
		})
	}
}

// runRule runs rule on its own board of s and tells what came of it.
func runRule(t *testing.T, s *store.Store, path replyPath, board string, rule replyRule) string {
	ctx := context.Background()
	b := testBoard(board)
	if rule.board != nil {
		rule.board(&b)
	}
	if err := s.CreateBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	e := &ruleEnv{t: t, ctx: ctx, s: s, board: board, path: path}
	no := rule.setup(e, b)
	in := store.NewPost{Board: board, Resto: no, Name: "Anonymous", Body: "text", Com: "text",
		IP: e.addr(), Time: at(100 * time.Second)}
	if rule.reply != nil {
		rule.reply(&in)
	}
	boardBefore, err := s.Board(ctx, board)
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{in: in, before: e.view(no)}
	o.got, o.err = path.post(s, ctx, in)
	err = o.err
	o.after = e.view(no)
	boardAfter, berr := s.Board(ctx, board)
	if berr != nil {
		t.Fatal(berr)
	}
	// JSON, to show what pointers (a post's file) point to.
	thread, _ := json.Marshal(o.after)
	what := fmt.Sprintf("board's number %d; thread %s", boardAfter.LastNo, thread)

	if rule.want != 0 {
		wantKind(t, err, rule.want)
		if boardAfter.LastNo != boardBefore.LastNo || !boardAfter.Modified.Equal(boardBefore.Modified) {
			t.Errorf("a refused reply changed the board: number %d -> %d, modified %v -> %v",
				boardBefore.LastNo, boardAfter.LastNo, boardBefore.Modified, boardAfter.Modified)
		}
		if fmt.Sprintf("%+v", o.after) != fmt.Sprintf("%+v", o.before) {
			t.Errorf("a refused reply changed the thread:\n%+v\n%+v", o.before, o.after)
		}
		if rule.check != nil {
			rule.check(t, e, o)
		}
		return err.Error() + "; " + what
	}
	if err != nil {
		t.Fatalf("reply refused: %v", err)
	}
	if o.got.Held != rule.held {
		t.Errorf("reply held %v, want %v", o.got.Held, rule.held)
	}
	want := maniwani.Post{Board: board, No: boardBefore.LastNo + 1, Resto: no, Time: in.Time, Name: in.Name,
		Trip: in.Trip, Subject: in.Subject, Body: in.Body, Com: in.Com, Sage: in.Sage, IP: in.IP,
		PasswordHash: in.PasswordHash}
	if b.PosterIDs && in.PosterID != nil {
		want.PosterID = in.PosterID(no)
	}
	if fmt.Sprintf("%+v", o.got.Post) != fmt.Sprintf("%+v", want) {
		t.Errorf("reply answered\n%+v\nwant\n%+v", o.got.Post, want)
	}
	if stored, err := s.Post(ctx, board, o.got.No); err != nil || fmt.Sprintf("%+v", *stored) != fmt.Sprintf("%+v", want) {
		t.Errorf("reply stored as\n%+v (%v)\nwant\n%+v", stored, err, want)
	}
	if boardAfter.LastNo != want.No || !boardAfter.Modified.Equal(in.Time) {
		t.Errorf("board's number %d, modified %v; want %d, %v", boardAfter.LastNo, boardAfter.Modified, want.No, in.Time)
	}
	if rule.held {
		// Nobody sees it: its thread is as it was.
		if fmt.Sprintf("%+v", o.after) != fmt.Sprintf("%+v", o.before) {
			t.Errorf("a held reply changed its thread:\n%+v\n%+v", o.before, o.after)
		}
		if rule.check != nil {
			rule.check(t, e, o)
		}
		return fmt.Sprintf("held No.%d %+v; %s", o.got.No, want, what)
	}
	if o.after.Replies != o.before.Replies+1 || o.after.Images != o.before.Images || !o.after.Modified.Equal(in.Time) {
		t.Errorf("thread has %d replies, %d images, modified %v; want %d, %d, %v", o.after.Replies, o.after.Images,
			o.after.Modified, o.before.Replies+1, o.before.Images, in.Time)
	}
	if last := o.after.Posts[len(o.after.Posts)-1]; last.No != want.No {
		t.Errorf("the thread's last post is No.%d, want No.%d", last.No, want.No)
	}
	if rule.check != nil {
		rule.check(t, e, o)
	}
	return fmt.Sprintf("No.%d %+v; %s", o.got.No, want, what)
}
