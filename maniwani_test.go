package maniwani_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

func TestValidBoardName(t *testing.T) {
	for name, want := range map[string]bool{
		"b": true, "g": true, "vg2": true, "abcdefghijklmnop": true,
		"": false, "abcdefghijklmnopq": false, "B": false, "a-b": false, "a/b": false, "ü": false,
		"admin": false, "api": false, "live": false, "media": false, "static": false, "metrics": false,
		"captcha": false, // /captcha is the captcha's, never a board's (nor cached as one)
	} {
		if got := maniwani.ValidBoardName(name); got != want {
			t.Errorf("ValidBoardName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", maniwani.Errorf(maniwani.KindTooMany, "wait %d s", 5))
	if maniwani.ErrorKind(err) != maniwani.KindTooMany || maniwani.ErrorMessage(err) != "wait 5 s" {
		t.Fatalf("kind %v message %q", maniwani.ErrorKind(err), maniwani.ErrorMessage(err))
	}
	plain := errors.New("dial tcp: refused")
	if maniwani.ErrorKind(plain) != maniwani.KindInternal || maniwani.ErrorMessage(plain) != "Internal error." {
		t.Fatalf("an internal error's message leaks: %q", maniwani.ErrorMessage(plain))
	}
}

func TestMessageIDs(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0}, {"1-0", "1-1", -1}, {"2-0", "1-9", 1}, {"10-0", "9-0", 1},
		{"", "0-0", -1}, {"junk", "0-0", -1}, {"0-0", "junk", 1}, {"", "", 0},
	}
	for _, c := range cases {
		if got := maniwani.CompareIDs(c.a, c.b); got != c.want {
			t.Errorf("CompareIDs(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if ms, seq, err := maniwani.ParseID("1700000000123-7"); err != nil || ms != 1700000000123 || seq != 7 {
		t.Errorf("ParseID: %d %d %v", ms, seq, err)
	}
	for _, bad := range []string{"", "1", "a-1", "1-a", "-1", "1--1"} {
		if _, _, err := maniwani.ParseID(bad); maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("ParseID(%q) = %v, want an invalid-kind error", bad, err)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	for kind, want := range map[maniwani.Kind]int{
		maniwani.KindInvalid: 400, maniwani.KindUnauthorized: 401, maniwani.KindForbidden: 403,
		maniwani.KindNotFound: 404, maniwani.KindConflict: 409, maniwani.KindTooLarge: 413,
		maniwani.KindTooMany: 429, maniwani.KindUnavailable: 503, maniwani.KindInternal: 500,
	} {
		if got := maniwani.HTTPStatus(fmt.Errorf("wrapped: %w", maniwani.Errorf(kind, "x"))); got != want {
			t.Errorf("kind %d: %d, want %d", kind, got, want)
		}
	}
	if got := maniwani.HTTPStatus(errors.New("plain")); got != 500 {
		t.Errorf("an error without a kind: %d", got)
	}
}

func TestOwner(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/", "ui"}, {"GET", "/b/", "ui"}, {"HEAD", "/b/thread/1", "ui"}, {"GET", "/static/x.css", "ui"},
		{"GET", "/admin/", "ui"}, {"POST", "/admin/login", "ui"},
		{"GET", "/b/thread/1.json", "api"}, {"GET", "/boards.json", "api"}, {"POST", "/b/post", "api"},
		{"GET", "/api/admin/boards", "api"}, {"GET", "/_internal/boards", "api"},
		{"GET", "/live/b", "live"}, {"GET", "/media/b/1.png", "media"}, {"PUT", "/_internal/media/src/x", "media"},
		{"POST", "/render", "markdown"},
		{"GET", "/captcha", "api"}, {"GET", "/captcha/frame", "api"}, {"POST", "/captcha/frame", "api"},
	} {
		if got := maniwani.Owner(c.method, c.path); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.path, got, c.want)
		}
	}
}

// Equal is what a kept rendering of a post is checked against: a field it
// did not compare would serve an old rendering after that field changed.
func TestPostEqualSeesEveryField(t *testing.T) {
	base := maniwani.Post{Board: "b", No: 2, Resto: 1, Time: time.Unix(5, 0), Name: "n", Trip: "!t", PosterID: "id",
		Subject: "s", Body: "body", Com: "com", IP: "10.0.0.1", PasswordHash: "h",
		File: &maniwani.File{Tim: 7, Filename: "f"}, Extra: []maniwani.File{{Tim: 8}}}
	if c := base.Clone(); !base.Equal(&c) {
		t.Fatal("a post is not equal to its clone")
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		c := base.Clone()
		f := reflect.ValueOf(&c).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Pointer: // File
			c.File.Thumbnail = !c.File.Thumbnail
		case reflect.Slice: // Extra
			c.Extra[0].Spoiler = true
		case reflect.Struct: // Time
			f.Set(reflect.ValueOf(c.Time.Add(time.Microsecond)))
		default:
			t.Fatalf("field %s of kind %s: teach this test to change it", typ.Field(i).Name, f.Kind())
		}
		if base.Equal(&c) {
			t.Errorf("Equal does not see a change of %s", typ.Field(i).Name)
		}
	}
	c := base.Clone()
	c.Extra[0].Tim = 99
	if base.Extra[0].Tim != 8 || base.File == c.File {
		t.Error("a clone shares its files with the post")
	}
}
