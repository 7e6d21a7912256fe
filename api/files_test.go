package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/media"
)

// watchedMedia is media that counts what the api asks of it, and loses the
// bytes of the next Save once it is done, as the deletion of the last other
// post with those bytes would between the save and the commit.
type watchedMedia struct {
	*media.Service
	mu        sync.Mutex
	saves     int
	originals int
	loseNext  bool
	last      maniwani.FileRef
}

func (m *watchedMedia) Save(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	err := m.Service.Save(ctx, f, r, size)
	m.mu.Lock()
	m.saves++
	m.last = f
	lose := m.loseNext
	m.loseNext = false
	m.mu.Unlock()
	if err == nil && lose {
		err = m.Service.Remove(ctx, f, true)
	}
	return err
}

func (m *watchedMedia) Original(ctx context.Context, f maniwani.FileRef) (maniwani.Blob, error) {
	m.mu.Lock()
	m.originals++
	m.mu.Unlock()
	return m.Service.Original(ctx, f)
}

// After a post with a file is committed, the api makes sure its bytes are
// still stored, and stores them again when they went meanwhile, without
// reading them back from media.
func TestFileBytesKeptAfterCommit(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		m := &watchedMedia{}
		s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
			m.Service = diskMedia(t, d)
			d.Media, c.TempDir = m, t.TempDir()
		})
		if a := s.postParts("b", "10.0.0.1", part{"upfile", photo(t, false)}); a.code != 201 {
			t.Fatalf("a post with a file: %d %s", a.code, a.body)
		}
		m.mu.Lock()
		m.loseNext = true
		m.mu.Unlock()
		if a := s.postParts("b", "10.0.0.2", part{"upfile", photo(t, true)}); a.code != 201 {
			t.Fatalf("a post whose bytes are lost before the commit: %d %s", a.code, a.body)
		}
		m.mu.Lock()
		saves, originals, last := m.saves, m.originals, m.last
		m.mu.Unlock()
		if _, err := m.Stat(ctx, last); err != nil {
			t.Fatalf("the lost bytes are not stored again: %v", err)
		}
		if saves != 3 || originals != 0 {
			t.Errorf("two posts with files saved %d times and read %d originals back; want 3 and 0", saves, originals)
		}
	})
}

// seededPhoto is a small JPEG of its own bytes for each seed.
func seededPhoto(t *testing.T, seed int) string {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*seed + seed)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A board's max_files: a post carries up to that many files, each stored
// and named as one is; the JSON shows the first in the post's fields and
// the rest in extra_files; one file too many is refused before it is
// read, and so is the same file twice; the thread counts every file as
// an image, for its image limit too; deleting the post drops them all.
func TestSeveralFiles(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		tmp := t.TempDir()
		mf := maniwani.DefaultBoard()
		mf.Name, mf.MaxFiles, mf.ImageLimit = "mf", 3, 4
		s := newSiteWith(t, kind, "127.0.0.1/32", withMedia(t, tmp), maniwani.DefaultBoard(), mf)
		a := s.postParts("mf", "10.3.0.1", part{"com", "three files"}, part{"upfile", seededPhoto(t, 1)},
			part{"upfile", seededPhoto(t, 2)}, part{"upfile", seededPhoto(t, 3)})
		if a.code != 201 {
			t.Fatalf("a post of three files: %d %s", a.code, a.body)
		}
		op := int64(a.json(t)["no"].(float64))
		p := s.thread("mf", op)[0]
		extra, _ := p["extra_files"].([]any)
		if p["tim"] == nil || len(extra) != 2 {
			t.Fatalf("the post's files: tim %v, extra_files %v", p["tim"], extra)
		}
		// A reply's files count as the thread's images, each.
		if a := s.postParts("mf", "10.3.0.2", part{"resto", fmt.Sprint(op)}, part{"upfile", seededPhoto(t, 11)},
			part{"upfile", seededPhoto(t, 12)}); a.code != 201 {
			t.Fatalf("a reply of two files: %d %s", a.code, a.body)
		}
		if p := s.thread("mf", op)[0]; p["images"] != 2.0 {
			t.Errorf("a reply of two files makes %v images", p["images"])
		}
		tims := []int64{int64(p["tim"].(float64))}
		for _, e := range extra {
			f := e.(map[string]any)
			if f["md5"] == nil || f["w"] != 40.0 || f["tn_w"] != 40.0 || f["ext"] != ".jpg" {
				t.Errorf("an extra file: %v", f)
			}
			tims = append(tims, int64(f["tim"].(float64)))
		}
		shas := map[string]bool{}
		for _, tim := range tims {
			ref, err := s.store.FileByName(ctx, "mf", tim)
			if err != nil {
				t.Fatalf("file %d: %v", tim, err)
			}
			shas[ref.SHA256] = true
		}
		if len(shas) != 3 {
			t.Errorf("three files are %d different bytes", len(shas))
		}
		for _, c := range []struct {
			name, board, why string
			parts            []part
		}{
			// The fourth is not even an image: it is refused for being one too many.
			{"one too many", "mf", "at most 3 files", []part{{"upfile", seededPhoto(t, 4)}, {"upfile", seededPhoto(t, 5)},
				{"upfile", seededPhoto(t, 6)}, {"upfile", "not read"}}},
			{"two on a board of one", "b", "one file", []part{{"upfile", seededPhoto(t, 7)}, {"upfile", "not read"}}},
			{"the same twice", "mf", "twice", []part{{"upfile", seededPhoto(t, 8)}, {"upfile", seededPhoto(t, 8)}}},
			{"past the image limit", "mf", "limit of 4 images", []part{{"resto", fmt.Sprint(op)},
				{"upfile", seededPhoto(t, 9)}, {"upfile", seededPhoto(t, 10)}, {"upfile", seededPhoto(t, 13)}}},
		} {
			a := s.postParts(c.board, "10.3.1.1", c.parts...)
			if a.code != 400 && a.code != 403 || !strings.Contains(a.json(t)["error"].(string), c.why) {
				t.Errorf("%s: %d %s, want a refusal saying %q", c.name, a.code, a.body, c.why)
			}
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%d temporary files left", len(ents))
		}
		if p := s.thread("mf", op)[0]; p["images"] != 2.0 {
			t.Errorf("after the refusals the thread has %v images", p["images"])
		}
		s.addStaff("mod", maniwani.RoleModerator)
		s.loginAs("mod").must("DELETE", fmt.Sprintf("/api/admin/posts/mf/%d", op), nil)
		for _, tim := range tims {
			if _, err := s.store.FileByName(ctx, "mf", tim); maniwani.ErrorKind(err) != maniwani.KindNotFound {
				t.Errorf("file %d after the post was deleted: %v", tim, err)
			}
		}
	})
}
