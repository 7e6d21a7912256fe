package store_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

func testFile(sha string) *maniwani.File {
	return &maniwani.File{Filename: "cat", Ext: ".png", Size: 1234, MD5: "1B2M2Y8AsgTpgAmY7PhCfg==",
		SHA256: sha, Width: 640, Height: 480, ThumbW: 250, ThumbH: 187}
}

func TestFiles(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		b := testBoard("b")
		b.ImageLimit = 2
		s := openWithBoard(t, url, b)
		at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		op := post(t, s, store.NewPost{Board: "b", Time: at, File: testFile("aa")})
		if op.File == nil || op.File.Tim != at.UnixMilli() || op.File.Filename != "cat" {
			t.Fatalf("op file %+v", op.File)
		}
		// Two files within one millisecond still get names of their own.
		r1 := post(t, s, store.NewPost{Board: "b", Resto: op.No, Time: at, File: testFile("aa")})
		r2 := post(t, s, store.NewPost{Board: "b", Resto: op.No, Time: at, File: testFile("bb")})
		if r1.File.Tim != at.UnixMilli()+1 || r2.File.Tim != at.UnixMilli()+2 {
			t.Fatalf("tims %d %d after %d", r1.File.Tim, r2.File.Tim, op.File.Tim)
		}
		// The image limit counts replies' files: two taken, the third refused,
		// a reply without a file still welcome.
		_, err := s.CreatePost(ctx, store.NewPost{Board: "b", Resto: op.No, Time: at, Body: "x", Com: "x", File: testFile("cc")})
		wantKind(t, err, maniwani.KindForbidden)
		post(t, s, store.NewPost{Board: "b", Resto: op.No, Time: at})

		v, err := s.Thread(ctx, "b", op.No)
		if err != nil || v.Images != 2 || v.Replies != 3 {
			t.Fatalf("thread %+v %v", v, err)
		}
		if f := v.Posts[1].File; f == nil || *f != *r1.File {
			t.Fatalf("stored file %+v, want %+v", f, r1.File)
		}
		ref, err := s.FileByName(ctx, "b", r2.File.Tim)
		if err != nil || ref.SHA256 != "bb" || ref.Ext != ".png" {
			t.Fatalf("by name: %+v %v", ref, err)
		}
		_, err = s.FileByName(ctx, "b", 1)
		wantKind(t, err, maniwani.KindNotFound)

		// Thumbnails: all three files lack one; making "aa" marks both its users.
		missing, err := s.WithoutThumbnail(ctx, 10)
		if err != nil || len(missing) != 3 || missing[0].Tim != r2.File.Tim {
			t.Fatalf("without thumbnail: %+v %v", missing, err)
		}
		refs, err := s.ThumbnailMade(ctx, "aa")
		if err != nil || len(refs) != 2 || refs[0] != (maniwani.Ref{Board: "b", No: op.No}) {
			t.Fatalf("thumbnail made: %+v %v", refs, err)
		}
		if missing, _ := s.WithoutThumbnail(ctx, 10); len(missing) != 1 {
			t.Fatalf("still without thumbnail: %+v", missing)
		}
		// Bytes that cannot be thumbnailed are not asked for again.
		if err := s.ThumbnailFailed(ctx, "bb"); err != nil {
			t.Fatal(err)
		}
		if missing, _ := s.WithoutThumbnail(ctx, 10); len(missing) != 0 {
			t.Fatalf("a failed thumbnail asked again: %+v", missing)
		}

		// Deleting tells when the last user of some bytes is gone.
		pw := "hash"
		own := post(t, s, store.NewPost{Board: "b", Time: at, File: testFile("dd"), PasswordHash: pw})
		d, err := s.DeletePost(ctx, "b", own.No, pw, at)
		if err != nil || len(d.Files) != 1 || !d.Files[0].Last || d.Files[0].SHA256 != "dd" || d.Files[0].Tim != own.File.Tim {
			t.Fatalf("deleted %+v %v", d, err)
		}
		if n, _ := s.FileUsers(ctx, "aa"); n != 2 {
			t.Fatalf("users of aa: %d", n)
		}
	})
}

// A deleted thread's files go with it; bytes another post uses are not last.
func TestDeleteThreadFiles(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openWithBoard(t, url, testBoard("b"))
		at := time.Now()
		keep := post(t, s, store.NewPost{Board: "b", Time: at, File: testFile("aa")})
		op := post(t, s, store.NewPost{Board: "b", Time: at, File: testFile("aa"), PasswordHash: "pw"})
		post(t, s, store.NewPost{Board: "b", Resto: op.No, Time: at, File: testFile("bb")})
		d, err := s.DeletePost(ctx, "b", op.No, "pw", at)
		if err != nil || len(d.Files) != 2 {
			t.Fatalf("deleted %+v %v", d, err)
		}
		for _, f := range d.Files {
			if want := f.SHA256 == "bb"; f.Last != want {
				t.Fatalf("%s: last %v", f.SHA256, f.Last)
			}
		}
		if _, err := s.FileByName(ctx, "b", keep.File.Tim); err != nil {
			t.Fatal(err)
		}
	})
}

// A database from before 0003 gets the board's file types and the unique
// file names in place.
func TestMigrationAddsFileTypes(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := gorm.Open(dialectorFor(t, url))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Migrate(ctx, db, store.Migrations()[:2]); err != nil {
			t.Fatal(err)
		}
		// What the first step made before 0003 existed.
		if err := db.Exec("DROP INDEX files_board_tim").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("ALTER TABLE boards DROP COLUMN file_types").Error; err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		b := testBoard("b")
		b.FileTypes = []string{".jpg", ".webm"}
		s := openWithBoard(t, url, b)
		got, err := s.Board(ctx, "b")
		if err != nil || len(got.FileTypes) != 2 || got.FileTypes[1] != ".webm" {
			t.Fatalf("board after the upgrade: %+v %v", got, err)
		}
	})
}
