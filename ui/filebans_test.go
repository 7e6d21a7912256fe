package ui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/media"
	"github.com/maniwani/maniwani/media/disk"
)

// postImage posts a new thread with a w x h JPEG whose pixels seed picks,
// as a poster does, and returns its number.
func (s *site) postImage(seed, w, h int) int64 {
	s.t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8((i/4%w)*seed + (i/4/w)*3)
	}
	var pic bytes.Buffer
	if err := jpeg.Encode(&pic, img, nil); err != nil {
		s.t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("com", "a picture")
	fw, _ := mw.CreateFormFile("upfile", "pic.jpg")
	fw.Write(pic.Bytes())
	mw.Close()
	req := httptest.NewRequest("POST", "/b/post", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	s.ips++
	req.RemoteAddr = fmt.Sprintf("10.2.%d.%d:1234", s.ips/250, s.ips%250+1)
	w2 := httptest.NewRecorder()
	s.api.ServeHTTP(w2, req)
	var v struct{ No int64 }
	if w2.Code != 201 || json.Unmarshal(w2.Body.Bytes(), &v) != nil {
		s.t.Fatalf("posting an image: %d %s", w2.Code, w2.Body)
	}
	return v.No
}

// A moderator bans a post's file from its page, with near copies and its
// posts deleted, sees the ban listed and lifts it; a janitor is offered no
// file ban.
func TestAdminFileBan(t *testing.T) {
	s := newAdminSiteWith(t, "", func(c *api.Config, d *api.Deps) {
		files, err := disk.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if d.Media, err = media.New(media.Config{}, media.Deps{Store: files, Names: d.Store}); err != nil {
			t.Fatal(err)
		}
		c.TempDir = t.TempDir()
	})
	no := s.postImage(1, 320, 240)
	text, _ := s.post("b", 0, "com", "no file")
	b := s.browser("10.3.0.1")
	b.login("admin", adminPassword)

	postPath := fmt.Sprintf("/admin/posts/b/%d", no)
	page := b.page(postPath)
	for _, want := range []string{`action="/admin/filebans"`, `name="post_no" value="` + fmt.Sprint(no) + `"`,
		`name="similar" value="1" checked`, `name="delete" value="1"`, "Ban the file"} {
		if !strings.Contains(page, want) {
			t.Errorf("the post's page lacks %q", want)
		}
	}
	if page := b.page(fmt.Sprintf("/admin/posts/b/%d", text)); strings.Contains(page, `action="/admin/filebans"`) {
		t.Errorf("a post without a file offers a file ban")
	}
	if _, msg := b.submit("/admin/filebans", "post_board", "b", "post_no", fmt.Sprint(no), "back", postPath); msg != "error: A file ban needs a reason." {
		t.Errorf("without a reason: %q", msg)
	}
	to, msg := b.submit("/admin/filebans", "post_board", "b", "post_no", fmt.Sprint(no), "similar", "1", "delete", "1",
		"reason", "not here", "back", postPath)
	if to != "/admin/filebans" || msg != fmt.Sprintf("Banned the file of /b/ No.%d and its near copies; deleted 1 post with it.", no) {
		t.Errorf("the ban sent the browser to %s with %q", to, msg)
	}
	list := b.page("/admin/filebans")
	if !strings.Contains(list, "not here") || !strings.Contains(list, `id="fileban1"`) || !strings.Contains(list, "<td>yes</td>") {
		t.Errorf("the file bans page:\n%s", list)
	}
	if a := b.do("GET", postPath, nil); a.code != 404 {
		t.Errorf("the deleted post's page: %d", a.code)
	}
	if _, msg := b.submit("/admin/filebans/1/lift", "back", "/admin/filebans"); msg != "Lifted file ban #1." {
		t.Errorf("lifting: %q", msg)
	}
	if list := b.page("/admin/filebans"); !strings.Contains(list, "No file is banned.") {
		t.Errorf("after the lift:\n%s", list)
	}
	// By SHA-256, from the file bans page.
	if _, msg := b.submit("/admin/filebans", "sha256", strings.Repeat("0a", 32), "reason", "known", "back", "/admin/filebans"); msg != "Banned the file "+strings.Repeat("0a", 32)+"." {
		t.Errorf("a ban by SHA-256: %q", msg)
	}

	b.page("/admin/staff")
	if _, msg := b.submit("/admin/staff", "username", "jan", "password", "janitor-password", "role", "janitor"); msg != "Added jan as janitor." {
		t.Fatalf("add a janitor: %q", msg)
	}
	other := s.postImage(2, 320, 240)
	jan := s.browser("10.3.0.2")
	jan.login("jan", "janitor-password")
	if page := jan.page(fmt.Sprintf("/admin/posts/b/%d", other)); strings.Contains(page, `action="/admin/filebans"`) || strings.Contains(page, `href="/admin/filebans"`) {
		t.Errorf("a janitor is offered file bans")
	}
}
