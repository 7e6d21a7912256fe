package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani/internal/realip"
)

// Migration is one step of the schema. Steps run in order, each in its own
// transaction, and each only once per database: the ids applied are kept in
// schema_migrations, so an existing database is upgraded in place.
//
// The first step creates the tables from the row types as they are now; a
// later step that changes a row type must therefore check first (HasColumn,
// HasIndex) so that it also runs cleanly on a database the first step made.
type Migration struct {
	ID string
	Up func(tx *gorm.DB) error
}

type migrationRow struct {
	ID        string `gorm:"primaryKey;size:128"`
	AppliedUS int64  `gorm:"not null"`
}

func (migrationRow) TableName() string { return "schema_migrations" }

// Migrations is the schema's history, oldest first. Append; never edit or
// reorder a step that has shipped.
func Migrations() []Migration {
	return []Migration{
		{ID: "0001_initial", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&boardRow{}, &threadRow{}, &postRow{}, &fileRow{},
				&banRow{}, &reportRow{}, &staffRow{}, &modLogRow{}, &settingRow{})
		}},
		{ID: "0002_quotes", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&quoteRow{})
		}},
		{ID: "0003_files", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			if !m.HasColumn(&boardRow{}, "FileTypes") {
				if err := m.AddColumn(&boardRow{}, "FileTypes"); err != nil {
					return err
				}
			}
			if !m.HasIndex(&fileRow{}, "files_board_tim") {
				return m.CreateIndex(&fileRow{}, "files_board_tim")
			}
			return nil
		}},
		{ID: "0004_sessions", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&sessionRow{}, &loginFailureRow{})
		}},
		{ID: "0005_thumb_failed", Up: func(tx *gorm.DB) error {
			if tx.Migrator().HasColumn(&fileRow{}, "ThumbFailed") {
				return nil
			}
			return tx.Migrator().AddColumn(&fileRow{}, "ThumbFailed")
		}},
		// Budgets of attempts, taken before the work (Take). The old
		// login_failures table is left for instances of the previous
		// version that still run during an upgrade; it is no longer read.
		{ID: "0006_attempts", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&attemptRow{})
		}},
		{ID: "0007_post_ip_key", Up: addIPKey},
		{ID: "0008_filters", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&filterRow{})
		}},
		// Posts made before it have no hash: they count as no comment for
		// unique_comments_minutes, whose window is minutes anyway.
		{ID: "0009_unique_comments", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			if !m.HasColumn(&boardRow{}, "UniqueCommentsMinutes") {
				if err := m.AddColumn(&boardRow{}, "UniqueCommentsMinutes"); err != nil {
					return err
				}
			}
			if !m.HasColumn(&postRow{}, "CommentHash") {
				if err := m.AddColumn(&postRow{}, "CommentHash"); err != nil {
					return err
				}
			}
			if !m.HasIndex(&postRow{}, "posts_board_comment") {
				return m.CreateIndex(&postRow{}, "posts_board_comment")
			}
			return nil
		}},
		{ID: "0010_file_bans", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&fileBanRow{})
		}},
		{ID: "0011_captcha", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			for _, col := range []string{"Captcha", "CaptchaAutoThreads", "CaptchaAutoPosts", "CaptchaAutoMinutes",
				"CaptchaRaised", "CaptchaRaisedUntilUS"} {
				if !m.HasColumn(&boardRow{}, col) {
					if err := m.AddColumn(&boardRow{}, col); err != nil {
						return err
					}
				}
			}
			return m.AutoMigrate(&captchaUsedRow{})
		}},
		// Posts made before it are published ones (held false), and count
		// as approved posts of their keys. The index leads with held: the
		// queue (held, a board's) is small, whatever the board's size.
		{ID: "0012_held_posts", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			if !m.HasColumn(&boardRow{}, "HoldNewPosters") {
				if err := m.AddColumn(&boardRow{}, "HoldNewPosters"); err != nil {
					return err
				}
			}
			if !m.HasColumn(&postRow{}, "Held") {
				if err := m.AddColumn(&postRow{}, "Held"); err != nil {
					return err
				}
			}
			if !m.HasIndex(&postRow{}, "posts_held") {
				return m.CreateIndex(&postRow{}, "posts_held")
			}
			return nil
		}},
		{ID: "0013_approved_posters", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&approvedPosterRow{})
		}},
		{ID: "0014_row_versions", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			for _, row := range []any{&postRow{}, &fileRow{}} {
				if !m.HasColumn(row, "Version") {
					if err := m.AddColumn(row, "Version"); err != nil {
						return err
					}
				}
			}
			for _, q := range versionTriggers(tx.Dialector.Name()) {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		}},
		{ID: "0015_moved_posts", Up: func(tx *gorm.DB) error {
			return tx.Migrator().AutoMigrate(&movedPostRow{})
		}},
		// Several files a post: a file's place in its post joins the
		// unique index that allowed one a post.
		{ID: "0016_files_per_post", Up: func(tx *gorm.DB) error {
			m := tx.Migrator()
			if !m.HasColumn(&boardRow{}, "MaxFiles") {
				if err := m.AddColumn(&boardRow{}, "MaxFiles"); err != nil {
					return err
				}
			}
			if !m.HasColumn(&fileRow{}, "Idx") {
				if err := m.AddColumn(&fileRow{}, "Idx"); err != nil {
					return err
				}
			}
			if m.HasIndex(&fileRow{}, "files_board_post") {
				if err := m.DropIndex(&fileRow{}, "files_board_post"); err != nil {
					return err
				}
			}
			if !m.HasIndex(&fileRow{}, "files_board_post_idx") {
				return m.CreateIndex(&fileRow{}, "files_board_post_idx")
			}
			return nil
		}},
	}
}

// addIPKey gives every post its cooldown key (postRow.IPKey) and indexes
// it for the cooldown's query. realip.Key is the one definition of a key
// (SQL on both databases could not compute a /64 alike), so the distinct
// IPv6 addresses are keyed here, into a temporary table, and each post is
// written once: an IPv4 post (its own key) by one statement, an IPv6 one
// by another that looks its key up.
func addIPKey(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&postRow{}, "IPKey") {
		if err := m.AddColumn(&postRow{}, "IPKey"); err != nil {
			return err
		}
	}
	var v6 []string
	if err := tx.Model(&postRow{}).Distinct("ip").Where("ip LIKE ?", "%:%").Pluck("ip", &v6).Error; err != nil {
		return err
	}
	err := tx.Exec("CREATE TEMPORARY TABLE ip_keys (ip VARCHAR(45) PRIMARY KEY, ip_key VARCHAR(45) NOT NULL)").Error
	if err != nil {
		return err
	}
	const batch = 500
	for len(v6) > 0 {
		n := min(len(v6), batch)
		args := make([]any, 0, 2*n)
		for _, ip := range v6[:n] {
			args = append(args, ip, realip.Key(ip))
		}
		q := "INSERT INTO ip_keys (ip, ip_key) VALUES (?, ?)" + strings.Repeat(", (?, ?)", n-1)
		if err := tx.Exec(q, args...).Error; err != nil {
			return err
		}
		v6 = v6[n:]
	}
	for _, q := range []string{
		"UPDATE posts SET ip_key = ip WHERE ip_key = '' AND ip NOT LIKE '%:%'",
		// COALESCE: an older api instance may still be posting meanwhile.
		"UPDATE posts SET ip_key = COALESCE((SELECT k.ip_key FROM ip_keys k WHERE k.ip = posts.ip), ip) WHERE ip_key = '' AND ip LIKE '%:%'",
		"DROP TABLE ip_keys",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	if !m.HasIndex(&postRow{}, "posts_board_ip_key") {
		return m.CreateIndex(&postRow{}, "posts_board_ip_key")
	}
	return nil
}

// migrateLock is the PostgreSQL advisory lock key that lets one api
// instance migrate while others starting at the same moment wait.
const migrateLock = 0x6d616e69 // "mani"

// Migrate applies the steps not yet applied, on one connection; on
// PostgreSQL it holds an advisory lock meanwhile, so api instances that start
// together apply each step once.
func Migrate(ctx context.Context, db *gorm.DB, steps []Migration) error {
	return db.WithContext(ctx).Connection(func(c *gorm.DB) error {
		// A fresh session per statement: conditions must not pile up on c.
		conn := c.Session(&gorm.Session{NewDB: true})
		if conn.Dialector.Name() == "postgres" {
			if err := conn.Exec("SELECT pg_advisory_lock(?)", migrateLock).Error; err != nil {
				return fmt.Errorf("lock for migration: %w", err)
			}
			defer conn.Exec("SELECT pg_advisory_unlock(?)", migrateLock)
		}
		if err := conn.Migrator().AutoMigrate(&migrationRow{}); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, m := range steps {
			var n int64
			if err := conn.Model(&migrationRow{}).Where("id = ?", m.ID).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			err := conn.Transaction(func(tx *gorm.DB) error {
				// Fresh sessions: gorm's migrator leaves state on the statement.
				if err := m.Up(tx.Session(&gorm.Session{NewDB: true})); err != nil {
					return err
				}
				return tx.Session(&gorm.Session{NewDB: true}).Create(&migrationRow{ID: m.ID, AppliedUS: time.Now().UnixMicro()}).Error
			})
			if err != nil {
				return fmt.Errorf("migration %s: %w", m.ID, err)
			}
		}
		return nil
	})
}
