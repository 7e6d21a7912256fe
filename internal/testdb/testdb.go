// Package testdb gives tests a database of their own: a fresh SQLite file, or
// a fresh PostgreSQL database on the server the environment names, dropped
// when the test ends. Without PostgreSQL a test skips, except under CI=true,
// where a missing server is a failure.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver for the admin connection
)

// AdminURL is where tests create their databases:
// MANIWANI_TEST_POSTGRES_URL, or the local server as its superuser.
func AdminURL() string {
	if u := os.Getenv("MANIWANI_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Kinds are the databases every store test runs on.
var Kinds = []string{"sqlite", "postgres"}

// URL returns the URL of a fresh, empty database of the kind.
func URL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return "sqlite://" + filepath.Join(t.TempDir(), "maniwani.db")
	case "postgres":
		return Postgres(t)
	}
	t.Fatalf("testdb: unknown kind %q", kind)
	return ""
}

// Postgres creates a database and returns its URL; it is dropped at cleanup.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI=true: %v", admin, err)
		}
		t.Skipf("PostgreSQL at %s is not reachable (run scripts/services.sh): %v", admin, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "maniwani_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}
