package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
)

// part is a field of a multipart post; an upfile's value is its bytes.
type part struct{ name, value string }

// postParts sends a JSON-answered post of the parts, in their order.
func (s *site) postParts(board, ip string, parts ...part) answer {
	s.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		var err error
		if p.name == "upfile" {
			var fw interface{ Write([]byte) (int, error) }
			if fw, err = w.CreateFormFile("upfile", "photo.jpg"); err == nil {
				_, err = fw.Write([]byte(p.value))
			}
		} else {
			err = w.WriteField(p.name, p.value)
		}
		if err != nil {
			s.t.Fatal(err)
		}
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.url+"/"+board+"/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return s.do(req)
}

// photo is a small JPEG; turned, with an EXIF orientation of 6 (a quarter
// turn), which the api decodes, turns and encodes again.
func photo(t *testing.T, turned bool) string {
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	if !turned {
		return b.String()
	}
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01") // big-endian, IFD0 at 8, one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)   // Orientation, SHORT, 1: 6
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = append(tiff, 0, 6, 0, 0, 0, 0, 0, 0)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(app1)+2))
	return string(b.Bytes()[:2]) + string(seg) + string(app1) + string(b.Bytes()[2:])
}

// Ban, cooldown, the thread's state and the board's limits are decided
// before a post's file is decoded: with every decode slot held, so that a
// post that came to its decode would be refused as busy, the refusals
// that do not need the file still come, whether resto comes before the
// file or after it.
func TestChecksBeforeDecode(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		tmp := t.TempDir()
		onePerThread := maniwani.DefaultBoard()
		onePerThread.Name, onePerThread.ImageLimit = "i", 1
		s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
			d.Media = diskMedia(t, d)
			c.TempDir, c.MaxDecodes, c.DecodeWait = tmp, 1, time.Nanosecond
		}, maniwani.DefaultBoard(), onePerThread)
		turned, plain := photo(t, true), photo(t, false)
		op := s.mustPost("b", "10.0.0.1", "com", "op")
		resto := fmt.Sprint(op)
		closed := s.mustPost("b", "10.0.0.2", "com", "to be closed")
		yes := true
		if err := s.store.UpdateThread(context.Background(), "b", closed, store.ThreadFlags{Closed: &yes}, s.clock()); err != nil {
			t.Fatal(err)
		}
		full := s.mustPost("i", "10.0.0.1", "com", "op")
		if a := s.postParts("i", "10.0.0.3", part{"resto", fmt.Sprint(full)}, part{"upfile", plain}); a.code != 201 {
			t.Fatalf("the thread's one image: %d %s", a.code, a.body)
		}
		if _, err := s.store.CreateBan(context.Background(), maniwani.Ban{CIDR: "10.9.0.0/16", Reason: "spam",
			Created: s.clock()}); err != nil {
			t.Fatal(err)
		}
		if a := s.postParts("b", "10.0.1.1", part{"resto", resto}, part{"upfile", turned}); a.code != 201 {
			t.Fatalf("a turned JPEG: %d %s", a.code, a.body)
		}
		if p := s.thread("b", op)[1]; p["w"] != float64(32) || p["h"] != float64(64) {
			t.Fatalf("the turned JPEG is %vx%v, want 32x64", p["w"], p["h"])
		}

		release := api.HoldDecodes(s.svc)
		// A post that comes to its decode now is refused as busy...
		a := s.postParts("b", "10.0.2.1", part{"upfile", turned})
		if a.code != 503 || a.header.Get("Retry-After") != "5" || !strings.Contains(a.json(t)["error"].(string), "busy") {
			t.Fatalf("with every decode slot held: %d, Retry-After %q, %s; want 503, 5", a.code, a.header.Get("Retry-After"), a.body)
		}
		// ...but one whose file needs no decode is not.
		if a := s.postParts("b", "10.0.2.2", part{"resto", resto}, part{"upfile", plain}); a.code != 201 {
			t.Errorf("a JPEG that needs no decode: %d %s", a.code, a.body)
		}
		for _, c := range []struct {
			name   string
			board  string
			ip     string
			parts  []part
			code   int
			reason string
		}{
			{"cooldown, resto before the file", "b", "10.0.1.1", []part{{"resto", resto}, {"com", "again"}, {"upfile", turned}}, 429, "wait"},
			{"cooldown, resto after the file", "b", "10.0.1.1", []part{{"upfile", turned}, {"com", "again"}, {"resto", resto}}, 429, "wait"},
			{"closed thread", "b", "10.0.3.1", []part{{"resto", fmt.Sprint(closed)}, {"upfile", turned}}, 403, "closed"},
			{"closed thread, resto after the file", "b", "10.0.3.2", []part{{"upfile", turned}, {"resto", fmt.Sprint(closed)}}, 403, "closed"},
			{"unknown thread", "b", "10.0.3.3", []part{{"resto", "9999"}, {"upfile", turned}}, 404, "does not exist"},
			{"image limit", "i", "10.0.3.4", []part{{"resto", fmt.Sprint(full)}, {"upfile", turned}}, 403, "limit of 1 image;"},
			{"banned", "b", "10.9.0.1", []part{{"resto", resto}, {"upfile", turned}}, 403, "spam"},
			{"resto changed after the file", "b", "10.0.3.5", []part{{"resto", resto}, {"upfile", turned}, {"resto", fmt.Sprint(closed)}}, 403, "closed"},
		} {
			a := s.postParts(c.board, c.ip, c.parts...)
			if msg, _ := a.json(t)["error"].(string); a.code != c.code || !strings.Contains(msg, c.reason) {
				t.Errorf("%s: answered %d %s, want %d %q", c.name, a.code, a.body, c.code, c.reason)
			}
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("refused posts left %d files in the temporary folder: %s", len(ents), filepath.Join(tmp, ents[0].Name()))
		}
		release()
		if a := s.postParts("b", "10.0.2.1", part{"upfile", turned}); a.code != 201 {
			t.Errorf("once a slot is free: %d %s", a.code, a.body)
		}
	})
}
