package media_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
)

// The client does over HTTP what the service does in process, errors with
// their kinds: the api and thumbnailer work the same with media apart.
func TestClient(t *testing.T) {
	st, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	names := newFakeNames()
	svc, err := media.New(media.Config{}, media.Deps{Store: st, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	c := media.NewClient(srv.URL, "")
	ctx := context.Background()
	f, data := file(t, "b", 1700000000000, ".png", 100_000)
	if err := c.Save(ctx, f, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	wrong := f
	wrong.SHA256 = "00" + f.SHA256[2:]
	if err := c.Save(ctx, wrong, bytes.NewReader(data), int64(len(data))); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Fatalf("bytes that are not their sum: %v", err)
	}
	b, err := c.Original(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if !bytes.Equal(got, data) || b.Info().Size != int64(len(data)) {
		t.Fatalf("original: %d bytes", len(got))
	}
	if ok, err := c.HasThumb(ctx, f); ok || err != nil {
		t.Fatalf("thumb before: %v %v", ok, err)
	}
	if err := c.SaveThumb(ctx, f, bytes.NewReader([]byte("jpeg")), 4); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasThumb(ctx, f); !ok || err != nil {
		t.Fatalf("thumb after: %v %v", ok, err)
	}
	if err := c.Remove(ctx, f, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Original(ctx, f); maniwani.ErrorKind(err) != maniwani.KindNotFound {
		t.Fatalf("after remove: %v", err)
	}
	srv.Close()
	if _, err := c.HasThumb(ctx, f); maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Fatalf("media down: %v", err)
	}
	if _, err := c.Stat(ctx, f); maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Fatalf("Stat with media down: %v", err)
	}
}
