// Package store keeps the api's data in a relational database through gorm:
// SQLite (pure Go, the embedded default) or PostgreSQL. Every write is one
// transaction; the row of a board's post counter is the one serial point of
// that board.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
)

// Config says which database to use and how to pool connections to it.
type Config struct {
	// URL is postgres://... (or postgresql://...) or sqlite://path.
	URL string
	// MaxOpenConns bounds the pool; 0 picks a default for the database.
	MaxOpenConns int
	// Trace makes the statements of traced requests spans of their
	// traces (sqlTracer); off, nothing of it runs.
	Trace bool
}

// Store is the api's database.
type Store struct {
	db     *gorm.DB
	sqlite bool
	// writeMu orders this process's write transactions on SQLite, which has
	// one writer at a time: waiting on a Go mutex is fair and quick, where
	// SQLite's busy handler polls with growing sleeps. Between processes the
	// busy timeout still applies.
	writeMu sync.Mutex
	// boards orders this process's posts to one board on PostgreSQL before
	// they reach the board's row lock: one session per process waits on the
	// row instead of all of them, whose wake-ups at each commit would eat
	// the CPU the lock holder needs.
	boards boardLocks
	// lastSweep is when this store last swept out old attempts (unix µs).
	lastSweep atomic.Int64
	// lastCaptchaSweep is when it last swept out expired used challenges.
	lastCaptchaSweep atomic.Int64
	// spent remembers, for a moment, the budgets found spent (see Take).
	spent spentMemo
	// threads keeps the posts of the threads last read (thread.go).
	threads *lru.Cache[keptThread]
	// postRowsRead counts the post rows Thread read whole, for its tests.
	postRowsRead atomic.Int64
}

// boardLocks are a fixed set of locks, a board hashed to one: bounded
// memory whatever board names posts are sent to, at the price of two boards
// now and then sharing a lock.
type boardLocks struct {
	seed  maphash.Seed
	slots [256]chan struct{}
}

func newBoardLocks() boardLocks {
	l := boardLocks{seed: maphash.MakeSeed()}
	for i := range l.slots {
		l.slots[i] = make(chan struct{}, 1)
	}
	return l
}

// lock takes the board's lock, or gives up when ctx ends.
func (l *boardLocks) lock(ctx context.Context, board string) (unlock func(), err error) {
	ch := l.slots[maphash.String(l.seed, board)%uint64(len(l.slots))]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, maniwani.Errorf(maniwani.KindUnavailable, "The board is busy; try again.")
	}
}

// Open connects to the database and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	var dial gorm.Dialector
	s := &Store{boards: newBoardLocks(), threads: newThreadCache()}
	maxConns := cfg.MaxOpenConns
	switch {
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		dial = postgres.Open(cfg.URL)
		if maxConns == 0 {
			maxConns = 40
		}
	case strings.HasPrefix(cfg.URL, "sqlite://"):
		path := strings.TrimPrefix(cfg.URL, "sqlite://")
		if path == "" {
			return nil, errors.New("store: sqlite:// needs a file path")
		}
		// WAL lets readers work beside the writer; synchronous=FULL makes a
		// commit durable before the poster is answered; _txlock=immediate
		// takes the write lock at BEGIN, so a transaction never fails half
		// way on an upgrade from reader to writer.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
		dial = sqlite.Open(dsn)
		s.sqlite = true
		if maxConns == 0 {
			maxConns = 8
		}
	default:
		return nil, fmt.Errorf("store: database URL must start with postgres:// or sqlite://, got %q", Redact(cfg.URL))
	}
	db, err := gorm.Open(dial, &gorm.Config{
		SkipDefaultTransaction: true, // writes open their own transactions
		// No gorm-level prepared statements: inside a transaction they are
		// prepared again on its connection and deallocated at commit, round
		// trips spent while the board's row is locked. pgx caches statements
		// per connection by itself.
		PrepareStmt: false,
		Logger:      logger.Discard,
		NowFunc:     func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", Redact(cfg.URL), err)
	}
	if cfg.Trace {
		system := "postgresql"
		if s.sqlite {
			system = "sqlite"
		}
		if err := db.Use(sqlTracer{system: system}); err != nil {
			return nil, err
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", Redact(cfg.URL), err)
	}
	s.db = db
	if err := Migrate(ctx, db, Migrations()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping tells whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// write runs fn in one transaction.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.sqlite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return s.db.WithContext(ctx).Transaction(fn)
}

// Redact hides the password of a database URL so that it can be logged. A
// sqlite:// URL is a file path with no credentials, one that net/url may
// refuse or re-escape (a space, a Windows drive), so it is kept as it is.
// Any other goes through url.URL.Redacted, with the password= parameter
// that pgx also takes hidden too; one that is not a URL is not shown.
func Redact(s string) string {
	if strings.HasPrefix(s, "sqlite://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(not a URL, hidden)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Secret is the site's secret for keyed hashes (secure tripcodes, poster
// IDs, post passwords). It is made once, on first use, and kept in the
// database so that every api instance uses the same one.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	const key = "secret"
	var row settingRow
	err := s.db.WithContext(ctx).Where("key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		b := make([]byte, 32)
		rand.Read(b)
		row = settingRow{Key: key, Value: hex.EncodeToString(b)}
		// Two instances may race to make it: the loser keeps the winner's.
		err = s.write(ctx, func(tx *gorm.DB) error {
			return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
		})
		if err == nil {
			err = s.db.WithContext(ctx).Where("key = ?", key).Take(&row).Error
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: site secret: %w", err)
	}
	return hex.DecodeString(row.Value)
}

func notFound(format string, args ...any) error {
	return maniwani.Errorf(maniwani.KindNotFound, format, args...)
}

func usToTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func timeToUS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
