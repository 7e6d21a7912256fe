package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/testdb"
)

// The store's contract: every test here runs on SQLite and on PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, url string)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, testdb.URL(t, kind))
		})
	}
}

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testBoard(name string) maniwani.Board {
	return maniwani.Board{Name: name, Title: "Test", MaxThreads: 10, BumpLimit: 300, ImageLimit: 150,
		MaxFileSize: 4 << 20}
}

// openWithBoard opens a store holding one board with the given settings.
func openWithBoard(t *testing.T, url string, b maniwani.Board) *store.Store {
	t.Helper()
	s := open(t, url)
	if err := s.CreateBoard(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return s
}

// clock hands out strictly increasing times, a second apart, so bump order is
// deterministic.
type clock struct{ t time.Time }

func (c *clock) next() time.Time { c.t = c.t.Add(time.Second); return c.t }

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func post(t *testing.T, s *store.Store, p store.NewPost) *store.Created {
	t.Helper()
	if p.Body == "" {
		p.Body = "text"
		p.Com = "text"
	}
	out, err := s.CreatePost(context.Background(), p)
	if err != nil {
		t.Fatalf("post %+v: %v", p, err)
	}
	return out
}

func wantKind(t *testing.T, err error, kind maniwani.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error of kind %d, got none", kind)
	}
	if got := maniwani.ErrorKind(err); got != kind {
		t.Fatalf("want kind %d, got %d (%v)", kind, got, err)
	}
}

func TestMigrateInPlace(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		op := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: time.Now()})
		s.Close()

		// Opening again applies nothing and keeps the data.
		s = open(t, url)
		// A later step upgrades the database in place.
		steps := append(store.Migrations(), store.Migration{ID: "9999_test_column", Up: func(tx *gorm.DB) error {
			return tx.Exec("ALTER TABLE posts ADD COLUMN test_flag INTEGER NOT NULL DEFAULT 7").Error
		}})
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // the second run must be a no-op, not a duplicate column
			if err := store.Migrate(ctx, db, steps); err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
		}
		var flag int
		if err := db.Raw("SELECT test_flag FROM posts WHERE no = ?", op.No).Scan(&flag).Error; err != nil || flag != 7 {
			t.Fatalf("upgraded row: flag %d, %v", flag, err)
		}
		v, err := s.Thread(ctx, "b", op.No)
		if err != nil || len(v.Posts) != 1 {
			t.Fatalf("thread after upgrade: %v %v", v, err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
}

func TestBoards(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		wantKind(t, s.CreateBoard(ctx, testBoard("b")), maniwani.KindConflict)
		if err := s.CreateBoard(ctx, testBoard("a")); err != nil {
			t.Fatal(err)
		}
		bs, err := s.Boards(ctx)
		if err != nil || len(bs) != 2 || bs[0].Name != "a" || bs[1].Name != "b" {
			t.Fatalf("boards %v %v", bs, err)
		}
		_, err = s.Board(ctx, "zz")
		wantKind(t, err, maniwani.KindNotFound)
		b := testBoard("a")
		b.Title, b.CooldownReply = "Anime", 30
		if err := s.UpdateBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Board(ctx, "a")
		if got.Title != "Anime" || got.CooldownReply != 30 {
			t.Fatalf("updated board %+v", got)
		}
		wantKind(t, s.UpdateBoard(ctx, testBoard("zz")), maniwani.KindNotFound)
	})
}

func TestPostingNumbersAndBumps(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.BumpLimit = 2
		s := openWithBoard(t, url, b)
		c := newClock()
		t1 := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Subject: "one", Time: c.next()})
		t2 := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: c.next()})
		if t1.No != 1 || t2.No != 2 || t1.Resto != 0 {
			t.Fatalf("numbers %d %d resto %d", t1.No, t2.No, t1.Resto)
		}
		order := func() []int64 {
			vs, err := s.Threads(ctx, "b", 0, 15, 5)
			if err != nil {
				t.Fatal(err)
			}
			var nos []int64
			for _, v := range vs {
				nos = append(nos, v.No)
			}
			return nos
		}
		if o := order(); fmt.Sprint(o) != "[2 1]" {
			t.Fatalf("order %v", o)
		}
		// A reply bumps thread 1 above thread 2.
		r := post(t, s, store.NewPost{Board: "b", Resto: t1.No, Name: "Anonymous", Time: c.next()})
		if r.No != 3 || r.Resto != t1.No {
			t.Fatalf("reply %d resto %d", r.No, r.Resto)
		}
		if o := order(); fmt.Sprint(o) != "[1 2]" {
			t.Fatalf("after reply: %v", o)
		}
		// Sage does not bump.
		post(t, s, store.NewPost{Board: "b", Resto: t2.No, Name: "Anonymous", Sage: true, Time: c.next()})
		if o := order(); fmt.Sprint(o) != "[1 2]" {
			t.Fatalf("after sage: %v", o)
		}
		// Past the bump limit (2 replies) a reply no longer bumps.
		post(t, s, store.NewPost{Board: "b", Resto: t2.No, Name: "Anonymous", Time: c.next()}) // reply 2 bumps
		if o := order(); fmt.Sprint(o) != "[2 1]" {
			t.Fatalf("after bump: %v", o)
		}
		post(t, s, store.NewPost{Board: "b", Resto: t1.No, Name: "Anonymous", Time: c.next()}) // t1 back on top
		post(t, s, store.NewPost{Board: "b", Resto: t2.No, Name: "Anonymous", Time: c.next()}) // reply 3: past the limit
		if o := order(); fmt.Sprint(o) != "[1 2]" {
			t.Fatalf("past the bump limit: %v", o)
		}
		v, err := s.Thread(ctx, "b", t2.No)
		if err != nil {
			t.Fatal(err)
		}
		if v.Replies != 3 || len(v.Posts) != 4 || v.Posts[0].Subject != "" || v.Posts[1].Resto != t2.No {
			t.Fatalf("thread 2: replies %d posts %d", v.Replies, len(v.Posts))
		}
		for i := 1; i < len(v.Posts); i++ {
			if v.Posts[i].No <= v.Posts[i-1].No {
				t.Fatalf("posts out of order: %v", v.Posts)
			}
		}
	})
}

func TestRefusalsTakeNoNumber(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		c := newClock()
		op := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: c.next()})
		_, err := s.CreatePost(ctx, store.NewPost{Board: "b", Resto: 999, Body: "x", Time: c.next()})
		wantKind(t, err, maniwani.KindNotFound)
		_, err = s.CreatePost(ctx, store.NewPost{Board: "nope", Body: "x", Time: c.next()})
		wantKind(t, err, maniwani.KindNotFound)
		_, err = s.CreatePost(ctx, store.NewPost{Board: "nope", Resto: 1, Body: "x", Time: c.next()})
		wantKind(t, err, maniwani.KindNotFound)
		closed := true
		if err := s.UpdateThread(ctx, "b", op.No, store.ThreadFlags{Closed: &closed}, c.next()); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, Body: "x", Time: c.next()})
		wantKind(t, err, maniwani.KindForbidden)
		next := post(t, s, store.NewPost{Board: "b", Name: "Anonymous", Time: c.next()})
		if next.No != op.No+1 {
			t.Fatalf("a refused post took a number: next is %d after %d", next.No, op.No)
		}
		v, _ := s.Thread(ctx, "b", op.No)
		if v.Replies != 0 || len(v.Posts) != 1 || !v.Closed {
			t.Fatalf("closed thread changed: %+v", v.Thread)
		}
	})
}

func TestCooldowns(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.CooldownThread, b.CooldownReply = 60, 10
		s := openWithBoard(t, url, b)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		op := post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: t0})
		// Another thread from the same address too soon, then after the wait.
		_, err := s.CreatePost(ctx, store.NewPost{Board: "b", IP: "10.0.0.1", Body: "x", Time: t0.Add(59 * time.Second)})
		wantKind(t, err, maniwani.KindTooMany)
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.2", Time: t0.Add(time.Second)}) // another address is free
		// A reply 5 s after the thread: the reply cooldown counts from the last post of any kind.
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.1", Body: "x", Time: t0.Add(5 * time.Second)})
		wantKind(t, err, maniwani.KindTooMany)
		post(t, s, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.1", Time: t0.Add(10 * time.Second)})
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "10.0.0.1", Body: "x", Time: t0.Add(15 * time.Second)})
		wantKind(t, err, maniwani.KindTooMany)
		post(t, s, store.NewPost{Board: "b", IP: "10.0.0.1", Time: t0.Add(61 * time.Second)})
		// A cooldown on one board does not hold on another.
		other := b
		other.Name = "c"
		if err := s.CreateBoard(ctx, other); err != nil {
			t.Fatal(err)
		}
		post(t, s, store.NewPost{Board: "c", IP: "10.0.0.1", Time: t0.Add(62 * time.Second)})
	})
}

func TestArchiveOverflow(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.MaxThreads = 3
		s := openWithBoard(t, url, b)
		c := newClock()
		t1 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		t2 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		t3 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		sticky := true
		if err := s.UpdateThread(ctx, "b", t1.No, store.ThreadFlags{Sticky: &sticky}, c.next()); err != nil {
			t.Fatal(err)
		}
		post(t, s, store.NewPost{Board: "b", Resto: t2.No, Time: c.next()}) // t2 bumped: t3 is now the oldest non-sticky
		t4 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		if fmt.Sprint(t4.Archived) != fmt.Sprint([]int64{t3.No}) {
			t.Fatalf("CreatePost says it archived %v, want [%d]", t4.Archived, t3.No)
		}
		arch, err := s.Archived(ctx, "b")
		if err != nil || fmt.Sprint(arch) != fmt.Sprint([]int64{t3.No}) {
			t.Fatalf("archive %v %v, want [%d]", arch, err, t3.No)
		}
		vs, _ := s.Threads(ctx, "b", 0, 15, 5)
		var live []int64
		for _, v := range vs {
			live = append(live, v.No)
		}
		if fmt.Sprint(live) != fmt.Sprint([]int64{t1.No, t4.No, t2.No}) {
			t.Fatalf("live threads %v", live)
		}
		// The archived thread still reads, and takes no replies.
		v, err := s.Thread(ctx, "b", t3.No)
		if err != nil || !v.Archived || v.Archive.IsZero() {
			t.Fatalf("archived thread: %+v %v", v, err)
		}
		_, err = s.CreatePost(ctx, store.NewPost{Board: "b", Resto: t3.No, Body: "x", Time: c.next()})
		wantKind(t, err, maniwani.KindForbidden)
	})
}

func TestIndexPages(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		c := newClock()
		a := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		bb := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		for i := 0; i < 8; i++ {
			post(t, s, store.NewPost{Board: "b", Resto: a.No, Time: c.next()})
		}
		post(t, s, store.NewPost{Board: "b", Resto: bb.No, Time: c.next()})
		vs, err := s.Threads(ctx, "b", 0, 15, 5)
		if err != nil || len(vs) != 2 {
			t.Fatalf("threads %v %v", vs, err)
		}
		if vs[0].No != bb.No || len(vs[0].Posts) != 2 || vs[0].OmittedPosts != 0 {
			t.Fatalf("thread b: %+v", vs[0])
		}
		if vs[1].No != a.No || len(vs[1].Posts) != 6 || vs[1].OmittedPosts != 3 || vs[1].Posts[0].No != a.No {
			t.Fatalf("thread a: %d posts, %d omitted", len(vs[1].Posts), vs[1].OmittedPosts)
		}
		if last := vs[1].Posts[5].No; last != bb.No+8 {
			t.Fatalf("last reply shown is %d", last)
		}
		page2, err := s.Threads(ctx, "b", 1, 1, 5)
		if err != nil || len(page2) != 1 || page2[0].No != a.No {
			t.Fatalf("offset page: %v %v", page2, err)
		}
	})
}

// 16 posters x 100 replies to one thread: exactly 1,600 replies, numbered
// without gaps or repeats.
func TestConcurrentReplies(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		op := post(t, s, store.NewPost{Board: "b", Time: time.Now()})
		const posters, each = 16, 100
		var wg sync.WaitGroup
		errs := make(chan error, posters)
		for p := 0; p < posters; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					_, err := s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, Body: "r", Com: "r",
						IP: fmt.Sprintf("10.1.%d.%d", p, i), Time: time.Now()})
					if err != nil {
						errs <- err
						return
					}
				}
			}(p)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		v, err := s.Thread(ctx, "b", op.No)
		if err != nil {
			t.Fatal(err)
		}
		if v.Replies != posters*each || len(v.Posts) != posters*each+1 {
			t.Fatalf("replies %d, posts %d", v.Replies, len(v.Posts))
		}
		nos := make([]int64, 0, len(v.Posts))
		for _, p := range v.Posts {
			nos = append(nos, p.No)
		}
		sort.Slice(nos, func(i, j int) bool { return nos[i] < nos[j] })
		for i, n := range nos {
			if n != op.No+int64(i) {
				t.Fatalf("post %d is No.%d: a gap or a repeat", i, n)
			}
		}
		bd, _ := s.Board(ctx, "b")
		if bd.LastNo != op.No+posters*each {
			t.Fatalf("board counter %d", bd.LastNo)
		}
	})
}

func TestSecretIsStable(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		a, err := s.Secret(ctx)
		if err != nil || len(a) != 32 {
			t.Fatalf("secret %x %v", a, err)
		}
		s2 := open(t, url)
		b, err := s2.Secret(ctx)
		if err != nil || string(a) != string(b) {
			t.Fatalf("second instance got another secret")
		}
	})
}

func TestBanMatching(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		bans := []maniwani.Ban{
			{CIDR: "10.6.0.9", Reason: "single"},
			{CIDR: "192.168.0.0/16", Reason: "range", Expires: now.Add(time.Hour)},
			{CIDR: "2001:db8::/32", Reason: "v6 range"},
			{CIDR: "172.16.0.1", Reason: "expired", Expires: now.Add(-time.Second)},
			{CIDR: "172.16.0.2", Reason: "only g", Board: "g"},
			{CIDR: "onion:0123456789abcdef01234567", Reason: "onion"},
			{CIDR: "::/0", Reason: "every address", Board: "w"},
		}
		for _, b := range bans {
			b.Created = now.Add(-time.Hour)
			if _, err := s.CreateBan(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.CreateBan(ctx, maniwani.Ban{CIDR: "not an ip"})
		wantKind(t, err, maniwani.KindInvalid)
		_, err = s.CreateBan(ctx, maniwani.Ban{CIDR: "onion:" + strings.Repeat("0", 27)})
		wantKind(t, err, maniwani.KindInvalid) // wider than a ban's range holds
		cases := []struct{ ip, board, want string }{
			{"10.6.0.9", "b", "single"},
			{"10.6.0.10", "b", ""},
			{"192.168.44.1", "b", "range"},
			{"192.169.0.1", "b", ""},
			{"2001:db8:1::7", "b", "v6 range"},
			{"2001:db9::1", "b", ""},
			{"172.16.0.1", "b", ""},
			{"172.16.0.2", "b", ""},
			{"172.16.0.2", "g", "only g"},
			{"::ffff:10.6.0.9", "b", "single"},
			// An onion poster's key: its own ban holds, no range does.
			{"onion:0123456789abcdef01234567", "b", "onion"},
			{"onion:0123456789abcdef01234568", "b", ""},
			{"onion:ffffffffffffffffffffffff", "w", ""},
			{"10.0.0.1", "w", "every address"},
			{"ffff::1", "w", "every address"},
		}
		for _, c := range cases {
			ip := c.ip
			if a, err := netip.ParseAddr(ip); err == nil {
				ip = a.Unmap().String()
			}
			b, err := s.BanFor(ctx, ip, c.board, now)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if b != nil {
				got = b.Reason
			}
			if got != c.want {
				t.Errorf("%s on /%s/: ban %q, want %q", c.ip, c.board, got, c.want)
			}
		}
		if b, _ := s.BanFor(ctx, "192.168.44.1", "b", now.Add(2*time.Hour)); b != nil {
			t.Errorf("a ban held past its end")
		}
	})
}

func TestQuotesAndBacklinks(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		if err := s.CreateBoard(ctx, testBoard("g")); err != nil {
			t.Fatal(err)
		}
		c := newClock()
		t1 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		r1 := post(t, s, store.NewPost{Board: "b", Resto: t1.No, Time: c.next()})
		g1 := post(t, s, store.NewPost{Board: "g", Time: c.next()})
		got, err := s.ResolveQuotes(ctx, []maniwani.Ref{{Board: "b", No: t1.No}, {Board: "b", No: r1.No},
			{Board: "b", No: 999}, {Board: "g", No: g1.No}, {Board: "zz", No: 1}})
		want := map[maniwani.Ref]int64{{Board: "b", No: t1.No}: t1.No, {Board: "b", No: r1.No}: t1.No, {Board: "g", No: g1.No}: g1.No}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ResolveQuotes = %v, %v; want %v", got, err, want)
		}
		ex, err := s.BoardsExist(ctx, []string{"b", "zz", "g"})
		if err != nil || !ex["b"] || !ex["g"] || ex["zz"] {
			t.Fatalf("BoardsExist = %v, %v", ex, err)
		}
		// A reply quoting the OP and the first reply, and a post on /g/ quoting the OP.
		r2 := post(t, s, store.NewPost{Board: "b", Resto: t1.No, Time: c.next(),
			Quotes: []maniwani.Ref{{Board: "b", No: t1.No}, {Board: "b", No: r1.No}}})
		g2 := post(t, s, store.NewPost{Board: "g", Resto: g1.No, Time: c.next(), Quotes: []maniwani.Ref{{Board: "b", No: t1.No}}})
		bl, err := s.Backlinks(ctx, "b", t1.No)
		if err != nil {
			t.Fatal(err)
		}
		wantBL := map[int64][]maniwani.Ref{t1.No: {{Board: "b", No: r2.No}, {Board: "g", No: g2.No}}, r1.No: {{Board: "b", No: r2.No}}}
		if fmt.Sprint(bl) != fmt.Sprint(wantBL) {
			t.Fatalf("Backlinks = %v, want %v", bl, wantBL)
		}
		if bl, err := s.Backlinks(ctx, "g", g1.No); err != nil || len(bl) != 0 {
			t.Fatalf("backlinks of /g/: %v %v", bl, err)
		}
	})
}

// A database made before the quotes table gets it on the next start, and
// keeps its posts.
func TestMigrationAddsQuotes(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Migrate(ctx, db, store.Migrations()[:1]); err != nil {
			t.Fatal(err)
		}
		if db.Migrator().HasTable("quotes") {
			t.Fatal("the first step made the quotes table")
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		s := openWithBoard(t, url, testBoard("b"))
		op := post(t, s, store.NewPost{Board: "b", Time: time.Now()})
		post(t, s, store.NewPost{Board: "b", Resto: op.No, Time: time.Now(), Quotes: []maniwani.Ref{{Board: "b", No: op.No}}})
		if bl, err := s.Backlinks(ctx, "b", op.No); err != nil || len(bl[op.No]) != 1 {
			t.Fatalf("backlinks after the upgrade: %v %v", bl, err)
		}
	})
}

// Two api instances (two stores on one database) taking posts from one
// address at the same moment: the cooldown lets exactly one through.
func TestCooldownAcrossInstances(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.CooldownReply = 60
		s1 := openWithBoard(t, url, b)
		s2 := open(t, url)
		op := post(t, s1, store.NewPost{Board: "b", IP: "10.0.0.1", Time: time.Now()})
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, tooMany := 0, 0
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(s *store.Store) {
				defer wg.Done()
				_, err := s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, IP: "10.9.9.9", Body: "x", Com: "x", Time: time.Now()})
				mu.Lock()
				defer mu.Unlock()
				switch maniwani.ErrorKind(err) {
				case maniwani.KindTooMany:
					tooMany++
				default:
					if err != nil {
						t.Error(err)
					}
					ok++
				}
			}([]*store.Store{s1, s2}[i%2])
		}
		wg.Wait()
		if ok != 1 || tooMany != 15 {
			t.Fatalf("%d posts went through and %d were told to wait; want 1 and 15", ok, tooMany)
		}
		v, _ := s1.Thread(ctx, "b", op.No)
		if v.Replies != 1 {
			t.Fatalf("thread has %d replies", v.Replies)
		}
	})
}

func TestLatest(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		if err := s.CreateBoard(ctx, testBoard("g")); err != nil {
			t.Fatal(err)
		}
		c := newClock()
		a := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		g := post(t, s, store.NewPost{Board: "g", Time: c.next()})
		post(t, s, store.NewPost{Board: "b", Resto: a.No, Time: c.next()}) // a reply bumps, but does not make a newer thread
		b2 := post(t, s, store.NewPost{Board: "b", Time: c.next()})
		vs, err := s.Latest(ctx, 2)
		if err != nil || len(vs) != 2 {
			t.Fatalf("latest %v %v", vs, err)
		}
		if vs[0].Board != "b" || vs[0].No != b2.No || vs[1].Board != "g" || vs[1].No != g.No {
			t.Fatalf("latest: %s/%d, %s/%d", vs[0].Board, vs[0].No, vs[1].Board, vs[1].No)
		}
		if len(vs[0].Posts) != 1 || vs[0].Posts[0].No != b2.No || vs[0].Posts[0].Board != "b" {
			t.Fatalf("latest posts: %+v", vs[0].Posts)
		}
	})
}
