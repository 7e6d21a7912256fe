package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/markdown"
)

// renderPost renders a body as the api does at post time: its quotes
// resolved against the store; it returns the com and the quotes that exist.
func renderPost(t *testing.T, s *store.Store, board string, thread int64, body string) (string, []maniwani.Ref) {
	t.Helper()
	ctx := context.Background()
	in := maniwani.RenderInput{Board: board, Thread: thread, Body: body}
	refs := markdown.Refs(board, body)
	threads, err := s.ResolveQuotes(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	in.Threads = threads
	var quotes []maniwani.Ref
	for _, r := range refs {
		if _, ok := threads[r]; ok {
			quotes = append(quotes, r)
		}
	}
	com, err := markdown.NewRenderer(markdown.RendererConfig{}).Render(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return com, quotes
}

// Moving a thread rewrites the quotes its bodies make, as the renderer
// reads them, and nothing else: >>N in code or after a backslash is text,
// and stays as typed. The com rewritten is the com the body rewritten
// renders to on the destination.
func TestMoveThreadQuotes(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		if err := s.CreateBoard(ctx, testBoard("g")); err != nil {
			t.Fatal(err)
		}
		c := newClock()
		add := func(board string, resto int64, body string) *store.Created {
			com, quotes := renderPost(t, s, board, resto, body)
			return post(t, s, store.NewPost{Board: board, Resto: resto, Body: body, Com: com, Quotes: quotes, Time: c.next()})
		}
		g1 := add("g", 0, "g's own") // g's numbers run ahead of b's
		add("g", g1.No, "a reply")
		op := add("b", 0, "to be moved")
		other := add("b", 0, "stays")
		r1 := add("b", op.No, fmt.Sprintf(">>%d", op.No))
		body := fmt.Sprintf(">>%d real\n[code]x = a >>%d[/code]\n```\n>>%d\n```\n\\>>%d escaped `>>%d`\n"+
			">>%d across\n>>999 dead\n>>>%d after a >\n>>>/b/%d typed across",
			op.No, op.No, r1.No, op.No, op.No, other.No, r1.No, other.No)
		add("b", op.No, body)

		m, err := s.MoveThread(ctx, "b", op.No, "g", maniwani.LogEntry{Time: c.next(), Staff: "mod", Action: "move thread"})
		if err != nil {
			t.Fatal(err)
		}
		newOP, newR1 := m.Numbers[op.No], m.Numbers[r1.No]
		if m.NewNo != 3 || newOP != 3 || newR1 != 4 {
			t.Fatalf("moved: %+v", m)
		}
		v, err := s.Thread(ctx, "g", m.NewNo)
		if err != nil || len(v.Posts) != 3 {
			t.Fatalf("moved thread: %v %v", v, err)
		}
		wantBody := fmt.Sprintf(">>%d real\n[code]x = a >>%d[/code]\n```\n>>%d\n```\n\\>>%d escaped `>>%d`\n"+
			">>>/b/%d across\n>>>/b/999 dead\n>>>%d after a >\n>>>/b/%d typed across",
			newOP, op.No, r1.No, op.No, op.No, other.No, newR1, other.No)
		for i, want := range []string{"to be moved", fmt.Sprintf(">>%d", newOP), wantBody} {
			p := v.Posts[i]
			if p.Body != want {
				t.Errorf("post %d's body:\n%s\nwant\n%s", p.No, p.Body, want)
			}
			com, _ := renderPost(t, s, "g", m.NewNo, want)
			if p.Com != com {
				t.Errorf("post %d's com:\n%s\nwant, as its body renders on /g/,\n%s", p.No, p.Com, com)
			}
		}
		if !strings.Contains(v.Posts[2].Com, fmt.Sprintf("x = a &gt;&gt;%d", op.No)) {
			t.Errorf("code in the com changed: %s", v.Posts[2].Com)
		}
		// The quotes table follows: the moved posts are quoted at their new numbers.
		bl, err := s.Backlinks(ctx, "g", m.NewNo)
		want := map[int64][]maniwani.Ref{newOP: {{Board: "g", No: newR1}, {Board: "g", No: newR1 + 1}},
			newR1: {{Board: "g", No: newR1 + 1}}}
		if err != nil || fmt.Sprint(bl) != fmt.Sprint(want) {
			t.Errorf("backlinks after the move = %v, %v; want %v", bl, err, want)
		}
	})
}
