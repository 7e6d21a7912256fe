package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/markdown"
	"github.com/maniwani/maniwani/pubsub/memory"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// picture is a made-up photo as seed picks it: a gradient under soft
// blobs of colour and a few hard-edged boxes.
func picture(seed uint64, w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 17))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	var blobs []struct {
		x, y, rad float64
		c         [3]float64
	}
	for range 12 {
		blobs = append(blobs, struct {
			x, y, rad float64
			c         [3]float64
		}{r.Float64() * float64(w), r.Float64() * float64(h), (0.05 + r.Float64()*0.3) * float64(w),
			[3]float64{r.Float64()*255 - 128, r.Float64()*255 - 128, r.Float64()*255 - 128}})
	}
	type box struct{ x0, y0, x1, y1 int }
	var boxes []box
	for range 4 {
		x0, y0 := r.IntN(w), r.IntN(h)
		boxes = append(boxes, box{x0, y0, x0 + r.IntN(w/3) + 8, y0 + r.IntN(h/3) + 8})
	}
	c0 := [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	for y := range h {
		for x := range w {
			var v [3]float64
			for c := range 3 {
				v[c] = c0[c] * (0.4 + 0.6*float64(y)/float64(h))
			}
			for _, b := range blobs {
				d := math.Hypot(float64(x)-b.x, float64(y)-b.y) / b.rad
				k := math.Exp(-d * d)
				for c := range 3 {
					v[c] += b.c[c] * k
				}
			}
			for i, b := range boxes {
				if x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1 {
					v[i%3] = 255 - v[i%3]
				}
			}
			o := img.PixOffset(x, y)
			for c := range 3 {
				img.Pix[o+c] = uint8(max(0, min(255, v[c])))
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

func encodeJPEG(t *testing.T, img image.Image, q int) string {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func encodePNG(t *testing.T, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func sha(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:])
}

// newMediaSite is a site that stores files, on disk, with the decode gate
// set by with (which may be nil) and a bus whose history the test reads.
func newMediaSite(t *testing.T, kind string, with func(*api.Config)) (*site, maniwani.Media, maniwani.Bus) {
	t.Helper()
	var m maniwani.Media
	bus := memory.New(memory.Config{})
	t.Cleanup(func() { bus.Close() })
	g := maniwani.DefaultBoard()
	g.Name, g.Title = "g", "Technology"
	s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
		m = diskMedia(t, d)
		c.TempDir, d.Media, d.Bus = t.TempDir(), m, bus
		if with != nil {
			with(c)
		}
	}, maniwani.DefaultBoard(), g)
	return s, m, bus
}

func (s *site) postFile(board, ip, resto, file string) answer {
	s.t.Helper()
	return s.postParts(board, ip, part{"resto", resto}, part{"com", "a picture"}, part{"upfile", file})
}

func (s *site) mustPostFile(board, ip, resto, file string) int64 {
	s.t.Helper()
	a := s.postFile(board, ip, resto, file)
	if a.code != 201 {
		s.t.Fatalf("posting a file on /%s/: %d %s", board, a.code, a.body)
	}
	return int64(a.json(s.t)["no"].(float64))
}

// wantBanned checks that a post of file was refused with the ban's reason.
func wantBanned(t *testing.T, what string, a answer, reason string) {
	t.Helper()
	if msg, _ := a.json(t)["error"].(string); a.code != 403 || !strings.Contains(msg, reason) {
		t.Errorf("%s: %d %s, want 403 with %q", what, a.code, a.body, reason)
	}
}

// A file banned from a post, with similar and delete: every post with it
// goes, on every board, its bytes go, and the file, a re-encoded copy and
// a re-saved one are refused while unrelated pictures are taken; lifted,
// they are taken again.
func TestFileBanFromPost(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s, m, bus := newMediaSite(t, kind, nil)
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		pic := picture(1, 640, 480)
		orig := encodeJPEG(t, pic, 92)
		copyQ70 := encodeJPEG(t, imaging.Resize(pic, 576, 432, imaging.Lanczos), 70)
		asPNG := encodePNG(t, imaging.Resize(pic, 320, 240, imaging.Box))

		op := s.mustPostFile("b", "10.1.0.1", "0", orig)
		keep := s.mustPost("b", "10.1.0.2", "com", "a thread without the file")
		reply := s.mustPostFile("b", "10.1.0.3", fmt.Sprint(keep), orig)
		other := s.mustPostFile("g", "10.1.0.4", "0", orig)
		unrelated := s.mustPostFile("g", "10.1.0.5", "0", encodeJPEG(t, picture(2, 640, 480), 92))

		b := mod.must("POST", "/api/admin/filebans", map[string]any{"board": "b", "no": op, "similar": true,
			"delete": true, "reason": "banned image"})
		if b["sha256"] != sha(orig) || b["similar"] != true || b["deleted"] != float64(3) || len(b["phash"].(string)) != 16 ||
			b["reason"] != "banned image" || b["staff"] != "mod" || b["id"] == nil || b["created"] == nil {
			t.Fatalf("the ban's answer: %v", b)
		}
		// Every post with the file went, on both boards; the rest stayed.
		if a := s.get(fmt.Sprintf("/b/thread/%d.json", op)); a.code != 404 {
			t.Errorf("the banned file's thread: %d", a.code)
		}
		if ps := s.thread("b", keep); len(ps) != 1 {
			t.Errorf("the thread of the reply with the file has %d posts, want its OP alone", len(ps))
		}
		if a := s.get(fmt.Sprintf("/g/thread/%d.json", other)); a.code != 404 {
			t.Errorf("the banned file's thread on /g/: %d", a.code)
		}
		if _, err := s.store.Post(ctx, "g", unrelated); err != nil {
			t.Errorf("the unrelated picture's post: %v", err)
		}
		// Its bytes are gone from media.
		if _, err := m.Stat(ctx, maniwani.FileRef{Board: "b", SHA256: sha(orig), Ext: ".jpg"}); maniwani.ErrorKind(err) != maniwani.KindNotFound {
			t.Errorf("the banned file's bytes: %v, want not found", err)
		}
		// Live viewers were told of each post.
		deleted := map[string]bool{}
		for _, board := range []string{"b", "g"} {
			msgs, err := bus.Replay(ctx, maniwani.BoardTopic(board), "", 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range msgs {
				var ev pb.Event
				if proto.Unmarshal(msg.Data, &ev) == nil && ev.GetPostDeleted() != nil {
					d := ev.GetPostDeleted()
					deleted[fmt.Sprintf("%s/%d/%d", d.Board, d.Thread, d.No)] = true
				}
			}
		}
		for _, want := range []string{fmt.Sprintf("b/%d/%d", op, op), fmt.Sprintf("b/%d/%d", keep, reply), fmt.Sprintf("g/%d/%d", other, other)} {
			if !deleted[want] {
				t.Errorf("no PostDeleted event %s among %v", want, deleted)
			}
		}
		// The log says who did it.
		log := mod.must("GET", "/api/admin/log", nil)["log"].([]any)
		if e := log[0].(map[string]any); e["action"] != "ban file and near copies, delete its posts" ||
			e["target"] != sha(orig) || e["staff"] != "mod" || e["reason"] != "banned image" {
			t.Errorf("the log's newest line: %v", e)
		}

		wantBanned(t, "the banned file again", s.postFile("b", "10.1.1.1", "0", orig), "banned image")
		wantBanned(t, "on another board", s.postFile("g", "10.1.1.2", "0", orig), "banned image")
		wantBanned(t, "a 90% resize at quality 70", s.postFile("b", "10.1.1.3", "0", copyQ70), "banned image")
		wantBanned(t, "a half-size PNG", s.postFile("b", "10.1.1.4", "0", asPNG), "banned image")
		for seed := uint64(3); seed < 8; seed++ {
			if a := s.postFile("b", fmt.Sprintf("10.1.2.%d", seed), "0", encodeJPEG(t, picture(seed, 640, 480), 85)); a.code != 201 {
				t.Errorf("unrelated picture %d: %d %s", seed, a.code, a.body)
			}
		}

		list := mod.must("GET", "/api/admin/filebans", nil)["file_bans"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["sha256"] != sha(orig) || list[0].(map[string]any)["deleted"] != nil {
			t.Fatalf("GET /api/admin/filebans: %v", list)
		}
		id := int64(list[0].(map[string]any)["id"].(float64))
		if a := mod.call("POST", "/api/admin/filebans", map[string]any{"sha256": sha(orig), "reason": "again"}, false); a.code != 409 {
			t.Errorf("banning a banned file again: %d %s", a.code, a.body)
		}
		mod.must("DELETE", fmt.Sprintf("/api/admin/filebans/%d", id), nil)
		if a := mod.call("DELETE", fmt.Sprintf("/api/admin/filebans/%d", id), nil, false); a.code != 404 {
			t.Errorf("lifting a lifted ban: %d %s", a.code, a.body)
		}
		if log := mod.must("GET", "/api/admin/log", nil)["log"].([]any); log[0].(map[string]any)["action"] != "lift file ban" {
			t.Errorf("the log's newest line: %v", log[0])
		}
		s.mustPostFile("b", "10.1.3.1", "0", orig)
		s.mustPostFile("b", "10.1.3.2", "0", copyQ70)
	})
}

// A ban by SHA-256 alone refuses those bytes and no others: a re-encoded
// copy is taken; without delete the posts stay. The staff API's refusals.
func TestFileBanBySHA(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, _, _ := newMediaSite(t, kind, nil)
		s.addStaff("mod", maniwani.RoleModerator)
		s.addStaff("jan", maniwani.RoleJanitor)
		mod := s.loginAs("mod")
		pic := picture(11, 400, 300)
		orig := encodeJPEG(t, pic, 90)
		op := s.mustPostFile("b", "10.2.0.1", "0", orig)
		text := s.mustPost("b", "10.2.0.2", "com", "no file here")

		b := mod.must("POST", "/api/admin/filebans", map[string]any{"sha256": strings.ToUpper(sha(orig)), "reason": "exact only"})
		if b["sha256"] != sha(orig) || b["similar"] != false || len(b["phash"].(string)) != 16 {
			t.Fatalf("the ban's answer: %v", b)
		}
		if _, ok := b["deleted"]; ok {
			t.Errorf("an answer without delete has deleted: %v", b)
		}
		if ps := s.thread("b", op); len(ps) != 1 {
			t.Errorf("without delete the post went")
		}
		wantBanned(t, "the banned bytes", s.postFile("b", "10.2.1.1", "0", orig), "exact only")
		if a := s.postFile("b", "10.2.1.2", "0", encodeJPEG(t, pic, 80)); a.code != 201 {
			t.Errorf("a re-encoded copy, without similar: %d %s", a.code, a.body)
		}
		// A file no post has can be banned in advance, but not as similar:
		// there is no image to hash.
		unknown := strings.Repeat("ab", 32)
		if b := mod.must("POST", "/api/admin/filebans", map[string]any{"sha256": unknown, "reason": "known bad"}); b["phash"] != "" {
			t.Errorf("a ban of bytes no post has: %v", b)
		}
		for _, c := range []struct {
			name string
			in   map[string]any
			code int
			want string
		}{
			{"no reason", map[string]any{"board": "b", "no": op}, 400, "reason"},
			{"nothing to ban", map[string]any{"reason": "x"}, 400, "Say which file"},
			{"both", map[string]any{"sha256": sha(orig), "board": "b", "no": op, "reason": "x"}, 400, "not both"},
			{"a bad hash", map[string]any{"sha256": "123", "reason": "x"}, 400, "64 hex"},
			{"a post without a file", map[string]any{"board": "b", "no": text, "reason": "x"}, 400, "has no file"},
			{"no such post", map[string]any{"board": "b", "no": 9999, "reason": "x"}, 404, "does not exist"},
			{"similar of a file no post has", map[string]any{"sha256": strings.Repeat("cd", 32), "similar": true, "reason": "x"}, 400, "similar needs"},
			{"an unknown field", map[string]any{"sha256": unknown, "reason": "x", "color": "red"}, 400, "not the JSON"},
		} {
			a := mod.call("POST", "/api/admin/filebans", c.in, false)
			if msg, _ := a.json(t)["error"].(string); a.code != c.code || !strings.Contains(msg, c.want) {
				t.Errorf("%s: %d %s, want %d %q", c.name, a.code, a.body, c.code, c.want)
			}
		}
		if a := s.loginAs("jan").call("POST", "/api/admin/filebans", map[string]any{"board": "b", "no": op, "reason": "x"}, false); a.code != 403 {
			t.Errorf("a janitor's file ban: %d %s", a.code, a.body)
		}
		if n := len(mod.must("GET", "/api/admin/filebans", nil)["file_bans"].([]any)); n != 2 {
			t.Errorf("%d file bans listed, want 2", n)
		}
	})
}

// Only an image is hashed, and only when a similar ban exists, and then
// within the decode gate: with every slot held, a post of a JPEG that
// needs no decode of its own is taken while no similar ban exists and is
// refused as busy once one does; a refusal by SHA-256 needs no slot; a
// video is never hashed.
func TestFileBanDecodeGate(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		tmp := t.TempDir()
		s, _, _ := newMediaSite(t, kind, func(c *api.Config) {
			c.TempDir, c.MaxDecodes, c.DecodeWait = tmp, 1, time.Nanosecond
		})
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		banned := encodeJPEG(t, picture(21, 320, 240), 90)
		exact := encodeJPEG(t, picture(22, 320, 240), 90)
		video, err := os.ReadFile("upload/testdata/tiny.webm")
		if err != nil {
			t.Fatal(err)
		}
		no := s.mustPostFile("b", "10.3.0.1", "0", banned)
		mod.must("POST", "/api/admin/filebans", map[string]any{"sha256": sha(exact), "reason": "exact"})

		release := api.HoldDecodes(s.svc)
		if a := s.postFile("b", "10.3.1.1", "0", encodeJPEG(t, picture(23, 320, 240), 90)); a.code != 201 {
			t.Errorf("no similar ban, every slot held: %d %s", a.code, a.body)
		}
		wantBanned(t, "an exact ban, every slot held", s.postFile("b", "10.3.1.2", "0", exact), "exact")
		release()

		mod.must("POST", "/api/admin/filebans", map[string]any{"board": "b", "no": no, "similar": true, "reason": "near"})
		release = api.HoldDecodes(s.svc)
		a := s.postFile("b", "10.3.2.1", "0", encodeJPEG(t, picture(24, 320, 240), 90))
		if a.code != 503 || a.header.Get("Retry-After") == "" {
			t.Errorf("a similar ban, every slot held: %d %s, want 503 busy", a.code, a.body)
		}
		wantBanned(t, "an exact ban, similar bans too, every slot held", s.postFile("b", "10.3.2.2", "0", exact), "exact")
		if a := s.postFile("b", "10.3.2.3", "0", string(video)); a.code != 201 {
			t.Errorf("a video, every slot held: %d %s", a.code, a.body)
		}
		release()
		if a := s.postFile("b", "10.3.3.1", "0", encodeJPEG(t, picture(24, 320, 240), 90)); a.code != 201 {
			t.Errorf("once a slot is free: %d %s", a.code, a.body)
		}
		wantBanned(t, "a copy, once a slot is free", s.postFile("b", "10.3.3.2", "0", encodeJPEG(t, picture(21, 300, 225), 75)), "near")
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("refused posts left %d files in the temporary folder", len(ents))
		}
	})
}

// Several api instances share the database: a ban made through one is
// refused by its SHA-256 through another at once, and as a near copy once
// the other's list of similar bans is older than its bound.
func TestFileBanOtherInstance(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s, m, _ := newMediaSite(t, kind, nil)
		s.addStaff("mod", maniwani.RoleModerator)
		mod := s.loginAs("mod")
		proxies, err := realip.Parse("127.0.0.1/32")
		if err != nil {
			t.Fatal(err)
		}
		other, err := api.New(api.Config{Proxies: proxies, TempDir: t.TempDir(), Now: s.clock},
			api.Deps{Store: s.store, Renderer: markdown.NewRenderer(markdown.RendererConfig{}), Media: m})
		if err != nil {
			t.Fatal(err)
		}
		two := &site{t: t, store: s.store, svc: other}
		two.url = httptestServer(t, other)
		pic := picture(31, 480, 360)
		orig := encodeJPEG(t, pic, 90)
		copyQ70 := encodeJPEG(t, imaging.Resize(pic, 432, 324, imaging.Lanczos), 70)
		no := s.mustPostFile("b", "10.4.0.1", "0", orig)
		// The other instance has read the (empty) list of similar bans.
		two.mustPostFile("b", "10.4.0.2", "0", encodeJPEG(t, picture(32, 480, 360), 90))
		mod.must("POST", "/api/admin/filebans", map[string]any{"board": "b", "no": no, "similar": true, "reason": "elsewhere"})
		wantBanned(t, "the exact file through the other instance", two.postFile("b", "10.4.1.1", "0", orig), "elsewhere")
		wantBanned(t, "a copy through the instance that banned it", s.postFile("b", "10.4.1.2", "0", copyQ70), "elsewhere")
		s.advance(5 * time.Second)
		wantBanned(t, "a copy through the other instance, after the bound", two.postFile("b", "10.4.1.3", "0", copyQ70), "elsewhere")
	})
}

func httptestServer(t *testing.T, svc *api.Service) string {
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
