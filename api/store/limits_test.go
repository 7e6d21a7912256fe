package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// Takers at once, through two stores on one database as two api
// instances: exactly the budget's slots are taken.
func TestTakeConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s1, s2 := open(t, url), open(t, url)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		b := store.Budget{Kind: "test", Key: "k", Max: 5, Window: time.Minute}
		var mu sync.Mutex
		var wg sync.WaitGroup
		taken, spent := 0, 0
		for i := range 30 {
			wg.Go(func() {
				_, err := []*store.Store{s1, s2}[i%2].Take(ctx, at, b)
				var sp *store.Spent
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					taken++
				case errors.As(err, &sp):
					spent++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if taken != 5 || spent != 25 {
			t.Fatalf("30 takers at once of a budget of 5: %d took a slot, %d were told it is spent", taken, spent)
		}
	})
}

// A budget's slots free as its attempts leave the window or are released;
// several budgets are taken all or none; keys and kinds are apart.
func TestTakeWindowAndRelease(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		user := store.Budget{Kind: "user", Key: "mod", Max: 2, Window: time.Minute}
		addr := store.Budget{Kind: "addr", Key: "10.0.0.1", Max: 3, Window: time.Hour}
		take := func(at time.Time, bs ...store.Budget) (store.Slots, *store.Spent) {
			t.Helper()
			slots, err := s.Take(ctx, at, bs...)
			var sp *store.Spent
			if err != nil && !errors.As(err, &sp) {
				t.Fatal(err)
			}
			return slots, sp
		}
		if _, sp := take(t0, user, addr); sp != nil {
			t.Fatal(sp)
		}
		first, sp := take(t0.Add(20*time.Second), user, addr)
		if sp != nil || len(first) != 2 {
			t.Fatalf("second take: %v %v", first, sp)
		}
		// user is spent: neither budget is taken.
		_, sp = take(t0.Add(30*time.Second), user, addr)
		if sp == nil || sp.Budget.Kind != "user" || sp.Retry != 30*time.Second {
			t.Fatalf("third take: %+v, want user spent until the first attempt is a minute old (30 s)", sp)
		}
		if _, sp := take(t0.Add(30*time.Second), addr); sp != nil {
			t.Fatalf("addr after an all-or-none refusal: %v (the refused take spent a slot of it)", sp)
		}
		// Another key, another kind: their own budgets.
		for _, b := range []store.Budget{{Kind: "user", Key: "other", Max: 2, Window: time.Minute},
			{Kind: "other", Key: "mod", Max: 2, Window: time.Minute}} {
			if _, sp := take(t0.Add(30*time.Second), b); sp != nil {
				t.Errorf("%s/%s: %v", b.Kind, b.Key, sp)
			}
		}
		// The first attempt leaves the window.
		if _, sp := take(t0.Add(61*time.Second), user); sp != nil {
			t.Fatalf("a minute on: %v", sp)
		}
		if _, sp := take(t0.Add(62*time.Second), user); sp == nil {
			t.Fatal("user not spent again")
		}
		// A release hands a slot back.
		if err := s.Release(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, sp := take(t0.Add(62*time.Second), user); sp != nil {
			t.Fatalf("after a release: %v", sp)
		}
		// A long key is counted by its hash.
		long := store.Budget{Kind: "user", Key: fmt.Sprint(make([]byte, 300)), Max: 1, Window: time.Minute}
		take(t0, long)
		if _, sp := take(t0, long); sp == nil {
			t.Fatal("a 300-byte key's budget of 1 took two")
		}
		if _, err := s.Take(ctx, t0, store.Budget{Kind: "x", Key: "k", Max: 1, Window: 48 * time.Hour}); err == nil {
			t.Error("a window past MaxWindow was taken")
		}
	})
}

// A budget found spent is taken as spent from memory for a moment: a flood
// on one key costs one query in that time, not one each. Past the moment,
// or after a Release here, the database is asked again.
func TestSpentRemembered(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s, other := open(t, url), open(t, url)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		b := store.Budget{Kind: "user", Key: "admin", Max: 1, Window: time.Minute}
		spent := func(st *store.Store, at time.Time) bool {
			t.Helper()
			_, err := st.Take(ctx, at, b)
			var sp *store.Spent
			if err != nil && !errors.As(err, &sp) {
				t.Fatal(err)
			}
			return sp != nil
		}
		slots, err := other.Take(ctx, t0, b)
		if err != nil {
			t.Fatal(err)
		}
		if !spent(s, t0.Add(time.Second)) {
			t.Fatal("a budget of 1 with one attempt in it is not spent")
		}
		// The other instance hands its slot back: this one does not hear
		// of it for a moment, then does.
		if err := other.Release(ctx, slots); err != nil {
			t.Fatal(err)
		}
		if !spent(s, t0.Add(2*time.Second)) {
			t.Error("a budget found spent a second ago was asked of the database again")
		}
		mine, err := s.Take(ctx, t0.Add(4*time.Second), b)
		if err != nil {
			t.Fatalf("a budget found spent 3 s ago is still taken as spent after its slot was handed back: %v", err)
		}
		// This instance's own Release forgets what it remembered.
		if !spent(s, t0.Add(5*time.Second)) {
			t.Fatal("the slot taken at 4 s is not counted")
		}
		if err := s.Release(ctx, mine); err != nil {
			t.Fatal(err)
		}
		if spent(s, t0.Add(5500*time.Millisecond)) {
			t.Error("after this instance handed the slot back, the budget is still taken as spent from memory")
		}
		// A release forgets only its own budgets: another, found spent,
		// stays remembered (the other instance's hand-back is not heard).
		c := store.Budget{Kind: "user", Key: "carol", Max: 1, Window: time.Minute}
		cs, err := other.Take(ctx, t0.Add(6*time.Second), c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Take(ctx, t0.Add(6*time.Second), c); err == nil {
			t.Fatal("carol's budget of 1 took two")
		}
		if err := other.Release(ctx, cs); err != nil {
			t.Fatal(err)
		}
		d := store.Budget{Kind: "user", Key: "dave", Max: 1, Window: time.Minute}
		ds, err := s.Take(ctx, t0.Add(6100*time.Millisecond), d)
		if err != nil {
			t.Fatal(err)
		}
		s.Release(ctx, ds)
		if _, err := s.Take(ctx, t0.Add(6200*time.Millisecond), c); err == nil {
			t.Error("releasing dave's slot forgot that carol's budget was found spent")
		}
	})
}

// Reports sent at once from one address, through two instances: the
// address's budget holds.
func TestReportsConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s1 := openWithBoard(t, url, testBoard("b"))
		s2 := open(t, url)
		op := post(t, s1, store.NewPost{Board: "b", IP: "10.0.0.1", Time: time.Now()})
		limit := store.Budget{Kind: "report", Key: "10.0.0.2", Max: 5, Window: time.Minute}
		var mu sync.Mutex
		var wg sync.WaitGroup
		ok, spent := 0, 0
		for i := range 40 {
			wg.Go(func() {
				err := []*store.Store{s1, s2}[i%2].CreateReport(ctx, maniwani.Report{Board: "b", No: op.No, IP: "10.0.0.2", Created: time.Now()}, limit)
				var sp *store.Spent
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &sp):
					spent++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		rs, err := s1.Reports(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 5 || spent != 35 || len(rs) != 5 {
			t.Fatalf("40 reports at once: %d stored (%d listed), %d refused; want 5 and 35", ok, len(rs), spent)
		}
		// A report of no post takes no slot.
		err = s1.CreateReport(ctx, maniwani.Report{Board: "b", No: 999, IP: "10.0.0.3", Created: time.Now()},
			store.Budget{Kind: "report", Key: "10.0.0.3", Max: 1, Window: time.Minute})
		wantKind(t, err, maniwani.KindNotFound)
		err = s1.CreateReport(ctx, maniwani.Report{Board: "b", No: op.No, IP: "10.0.0.3", Created: time.Now()},
			store.Budget{Kind: "report", Key: "10.0.0.3", Max: 1, Window: time.Minute})
		if err != nil {
			t.Fatalf("a report after one of no post: %v", err)
		}
	})
}
