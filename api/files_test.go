package api_test

import (
	"context"
	"io"
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
