package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Budgets of attempts (logins, reports, guesses at a post's password),
// counted in the database so that every api instance shares them. A slot is
// taken before the work it pays for, under a lock on its key, so attempts
// sent at once, to any instance, count each other: of N at once with M slots
// left, M go through.

type attemptRow struct {
	ID     int64  `gorm:"primaryKey"`
	Kind   string `gorm:"size:16;not null;index:attempts_key,priority:1"`
	Key    string `gorm:"size:64;not null;index:attempts_key,priority:2"`
	TimeUS int64  `gorm:"not null;index:attempts_key,priority:3;index"`
}

func (attemptRow) TableName() string { return "attempts" }

// Budget is one limit: at most Max attempts of Kind for Key in any Window.
type Budget struct {
	Kind   string // at most 16 bytes; a kind always has the same Max and Window
	Key    string // longer than 64 bytes, it is counted by its hash
	Max    int
	Window time.Duration // at most MaxWindow
}

// MaxWindow is the longest Window a Budget may have: attempts older than
// this are swept away whatever their kind.
const MaxWindow = 24 * time.Hour

// sweepEvery is how often one store sweeps out the attempts of keys not
// seen again (a key's own old attempts go each time it is counted).
const sweepEvery = 10 * time.Minute

// Slots are the attempts one Take took.
type Slots []Slot

// Slot is one attempt counted in a budget.
type Slot struct {
	ID        int64
	Kind, Key string // the budget's, as it is stored
}

// Spent is Take's error when a budget had no slot left.
type Spent struct {
	Budget Budget
	// Retry is how long until the budget has a slot again.
	Retry time.Duration
}

func (e *Spent) Error() string {
	return fmt.Sprintf("%s budget of %d in %v spent; a slot frees in %v", e.Budget.Kind, e.Budget.Max, e.Budget.Window, e.Retry)
}

// attemptLocks is the first key of the PostgreSQL advisory locks on
// budgets, a space of their own apart from Migrate's one-key lock.
const attemptLocks = 0x6c696d // "lim"

// Take takes a slot at t in every budget, or in none: when one is spent
// it returns a *Spent for it.
func (s *Store) Take(ctx context.Context, at time.Time, budgets ...Budget) (Slots, error) {
	if err := normalize(budgets); err != nil {
		return nil, err
	}
	// A spent budget is told by a read first: the refusals an attack is
	// made of then take no write (on SQLite, one at a time and synced) and
	// wait for no lock. Only a budget with room is taken, under the lock,
	// which counts again.
	for _, b := range budgets {
		if spent, err := s.spentNow(ctx, b, at); err != nil || spent != nil {
			if err != nil {
				return nil, err
			}
			return nil, spent
		}
	}
	var slots Slots
	var spent *Spent
	err := s.write(ctx, func(tx *gorm.DB) (err error) {
		// A spent budget commits too: its expired attempts go.
		slots, spent, err = s.take(tx, at, budgets...)
		return err
	})
	s.sweep(ctx, at)
	switch {
	case err != nil:
		return nil, err
	case spent != nil:
		return nil, spent
	}
	return slots, nil
}

// Spent tells, with reads only, whether b has no slot left at t: a *Spent
// then, nil while it has room.
func (s *Store) Spent(ctx context.Context, at time.Time, b Budget) (*Spent, error) {
	bs := []Budget{b}
	if err := normalize(bs); err != nil {
		return nil, err
	}
	return s.spentNow(ctx, bs[0], at)
}

// normalize checks budgets and puts a long key as its hash.
func normalize(budgets []Budget) error {
	for i := range budgets {
		b := &budgets[i]
		if b.Window <= 0 || b.Window > MaxWindow || len(b.Kind) > 16 {
			return fmt.Errorf("store: budget %q: window %v or kind out of bounds", b.Kind, b.Window)
		}
		if len(b.Key) > 64 {
			sum := sha256.Sum256([]byte(b.Key))
			b.Key = hex.EncodeToString(sum[:])
		}
	}
	return nil
}

// spentNow is spentOf read, for a budget this store found spent a moment
// ago, from memory: a flood of attempts on one key (24 wrong logins for one
// account at once, again and again) then costs one query in memoFor, not
// one each. The memory is short, since another api instance (each has its
// own) may hand a slot back before the window says; this one's Release
// forgets the budgets it hands slots back to.
func (s *Store) spentNow(ctx context.Context, b Budget, at time.Time) (*Spent, error) {
	if free, ok := s.spent.get(b, at); ok {
		return &Spent{Budget: b, Retry: max(free.Sub(at), time.Second)}, nil
	}
	spent, err := s.spentOf(s.db.WithContext(ctx), b, at.UnixMicro())
	if spent != nil {
		s.spent.put(b, at, at.Add(spent.Retry))
	}
	return spent, err
}

// memoFor is how long a budget found spent is taken as spent from memory.
const memoFor = 2 * time.Second

// spentMemo is the budgets found spent, by kind and key, with when each
// was found and when its slot frees; bounded, so that many keys cannot
// grow it.
type spentMemo struct {
	mu sync.Mutex
	m  map[[2]string][2]time.Time
}

const spentMemoMax = 10000

func (m *spentMemo) get(b Budget, at time.Time) (free time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[[2]string{b.Kind, b.Key}]
	if !ok || at.Before(e[0]) || at.Sub(e[0]) >= memoFor || !at.Before(e[1]) {
		return time.Time{}, false
	}
	return e[1], true
}

// forget drops what is remembered of the budgets of slots.
func (m *spentMemo) forget(slots Slots) {
	m.mu.Lock()
	for _, sl := range slots {
		delete(m.m, [2]string{sl.Kind, sl.Key})
	}
	m.mu.Unlock()
}

func (m *spentMemo) put(b Budget, at, free time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[[2]string][2]time.Time{}
	}
	if len(m.m) >= spentMemoMax {
		for k, e := range m.m {
			if at.Sub(e[0]) >= memoFor || at.Before(e[0]) {
				delete(m.m, k)
			}
		}
		if len(m.m) >= spentMemoMax {
			return // all current: this one is asked of the database again
		}
	}
	m.m[[2]string{b.Kind, b.Key}] = [2]time.Time{at, free}
}

// spentOf is a *Spent when b has no slot left at now (microseconds): Max
// attempts in its window already.
func (s *Store) spentOf(tx *gorm.DB, b Budget, now int64) (*Spent, error) {
	since := now - b.Window.Microseconds()
	q := func() *gorm.DB {
		return tx.Model(&attemptRow{}).Where("kind = ? AND key = ? AND time_us > ?", b.Kind, b.Key, since)
	}
	var n int64
	if err := q().Count(&n).Error; err != nil {
		return nil, err
	}
	if int(n) < b.Max {
		return nil, nil
	}
	// The slot frees when the attempt that fills the budget to Max leaves
	// the window.
	var first int64
	if err := q().Select("time_us").Order("time_us DESC").Offset(max(b.Max-1, 0)).Limit(1).Scan(&first).Error; err != nil {
		return nil, err
	}
	retry := time.Duration(first+b.Window.Microseconds()-now) * time.Microsecond
	return &Spent{Budget: b, Retry: max(retry, time.Second)}, nil
}

// take is Take inside a write transaction of the caller's, on budgets
// normalized.
func (s *Store) take(tx *gorm.DB, at time.Time, budgets ...Budget) (Slots, *Spent, error) {
	if err := s.lockBudgets(tx, budgets); err != nil {
		return nil, nil, err
	}
	now := at.UnixMicro()
	for _, b := range budgets {
		since := now - b.Window.Microseconds()
		if err := tx.Where("kind = ? AND key = ? AND time_us <= ?", b.Kind, b.Key, since).Delete(&attemptRow{}).Error; err != nil {
			return nil, nil, err
		}
		if spent, err := s.spentOf(tx, b, now); err != nil || spent != nil {
			return nil, spent, err
		}
	}
	slots := make(Slots, 0, len(budgets))
	for _, b := range budgets {
		row := attemptRow{Kind: b.Kind, Key: b.Key, TimeUS: now}
		if err := tx.Create(&row).Error; err != nil {
			return nil, nil, err
		}
		slots = append(slots, Slot{ID: row.ID, Kind: b.Kind, Key: b.Key})
	}
	return slots, nil, nil
}

// lockBudgets serialises the takers of the same budgets until the
// transaction ends. SQLite has one writer at a time already; PostgreSQL
// takes an advisory lock per budget, in one order so that two takers of
// the same two budgets never wait on each other.
func (s *Store) lockBudgets(tx *gorm.DB, budgets []Budget) error {
	if s.sqlite {
		return nil
	}
	keys := make([]int32, len(budgets))
	for i, b := range budgets {
		h := fnv.New32a()
		h.Write([]byte(b.Kind + "\x00" + b.Key))
		keys[i] = int32(h.Sum32())
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?, ?)", attemptLocks, k).Error; err != nil {
			return err
		}
	}
	return nil
}

// Release hands slots back: what they were taken for turned out not to
// count (a right password).
func (s *Store) Release(ctx context.Context, slots Slots) error {
	if len(slots) == 0 {
		return nil
	}
	s.spent.forget(slots) // their budgets, remembered as spent, have room now
	ids := make([]int64, len(slots))
	for i, sl := range slots {
		ids[i] = sl.ID
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Where("id IN ?", ids).Delete(&attemptRow{}).Error
	})
}

// sweep deletes, now and then, the attempts older than any window: those
// of keys that were not counted again.
func (s *Store) sweep(ctx context.Context, at time.Time) {
	last := s.lastSweep.Load()
	if at.UnixMicro()-last < sweepEvery.Microseconds() || !s.lastSweep.CompareAndSwap(last, at.UnixMicro()) {
		return
	}
	// Best effort: what is left is swept the next time.
	s.write(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
		return tx.Where("time_us < ?", at.Add(-MaxWindow).UnixMicro()).Delete(&attemptRow{}).Error
	})
}
