package maniwani_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// Every kind survives a trip over HTTP with its message, and the body is
// the public shape of a refusal, nothing more.
func TestErrorWireRoundTrip(t *testing.T) {
	for k := maniwani.KindInternal; k <= maniwani.KindTooLarge; k++ {
		rec := httptest.NewRecorder()
		maniwani.WriteError(rec, fmt.Errorf("wrapped: %w", maniwani.Errorf(k, "It is %d.", k)), nil)
		name := rec.Header().Get(maniwani.ErrorKindHeader)
		if back, ok := maniwani.ParseKind(name); !ok || back != k {
			t.Errorf("kind %d travels as %q, which reads back as %d, %v", k, name, back, ok)
		}
		msg := fmt.Sprintf("It is %d.", k)
		if k == maniwani.KindInternal {
			msg = "Internal error."
		}
		if want := fmt.Sprintf(`{"error":%q}`+"\n", msg); rec.Body.String() != want {
			t.Errorf("kind %s: body %q, want %q", k, rec.Body, want)
		}
		err := maniwani.DecodeError(rec.Code, rec.Header(), rec.Body.Bytes())
		if maniwani.ErrorKind(err) != k || maniwani.ErrorMessage(err) != msg || maniwani.HTTPStatus(err) != rec.Code {
			t.Errorf("kind %s came back as %s %q at %d", k, maniwani.ErrorKind(err), maniwani.ErrorMessage(err), rec.Code)
		}
	}
}

func TestWriteErrorExtra(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "5")
	maniwani.WriteError(rec, maniwani.Errorf(maniwani.KindTooMany, "Wait."), map[string]any{"error": "not this", "wait": 5})
	if got := rec.Body.String(); got != `{"error":"Wait.","wait":5}`+"\n" || rec.Code != 429 || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("%d %q %v", rec.Code, got, rec.Header())
	}
}

// A kind this side does not know (one added by a newer service, in a
// rolling deploy) or no kind at all (a proxy's answer) is read from the
// status, and the message from the body when it has one.
func TestDecodeErrorUnknownKind(t *testing.T) {
	for _, c := range []struct {
		header string
		code   int
		body   string
		kind   maniwani.Kind
		msg    string
	}{
		{"gone_fishing", 404, `{"error":"No such post."}`, maniwani.KindNotFound, "No such post."},
		{"gone_fishing", 410, `{"error":"It went."}`, maniwani.KindInvalid, "It went."},
		{"gone_fishing", 500, `{"error":"Internal error."}`, maniwani.KindInternal, "Internal error."},
		{"", 429, `{"error":"Slow down."}`, maniwani.KindTooMany, "Slow down."},
		{"", 502, "<html>bad gateway</html>", maniwani.KindUnavailable, "Bad Gateway."},
		{"", 504, "", maniwani.KindUnavailable, "Gateway Timeout."},
		{"", 500, "oops", maniwani.KindInternal, "Internal error."},
		{"7", 403, "", maniwani.KindForbidden, "Forbidden."}, // an old reader's number
		{"not_found", 200, "", maniwani.KindInternal, ""},    // not an error at all
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set(maniwani.ErrorKindHeader, c.header)
		}
		err := maniwani.DecodeError(c.code, h, []byte(c.body))
		if c.code == 200 {
			if err != nil {
				t.Errorf("a 200 decodes to %v", err)
			}
			continue
		}
		if maniwani.ErrorKind(err) != c.kind || maniwani.ErrorMessage(err) != c.msg {
			t.Errorf("%q at %d %q: %s %q, want %s %q", c.header, c.code, c.body,
				maniwani.ErrorKind(err), maniwani.ErrorMessage(err), c.kind, c.msg)
		}
	}
}

func TestResponseError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			return
		}
		maniwani.WriteError(w, maniwani.Errorf(maniwani.KindNotFound, "No thumbnail yet."), nil)
	}))
	defer srv.Close()
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, srv.URL+"/x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = maniwani.ResponseError(resp)
		resp.Body.Close()
		want := "No thumbnail yet."
		if method == "HEAD" {
			want = "Not Found." // no body: the kind still came, in the header
		}
		var e *maniwani.Error
		if !errors.As(err, &e) || e.Kind != maniwani.KindNotFound || e.Message != want {
			t.Errorf("%s: %#v", method, err)
		}
	}
	resp, err := http.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := maniwani.ResponseError(resp); err != nil {
		t.Errorf("a 200 is %v", err)
	}
}

// A refusal that says when to try again says so over HTTP too.
func TestRetryAfterRoundTrip(t *testing.T) {
	rec := httptest.NewRecorder()
	maniwani.WriteError(rec, &maniwani.RetryLater{After: 1500 * time.Millisecond,
		Err: maniwani.Errorf(maniwani.KindTooMany, "Wait.")}, nil)
	if got := rec.Header().Get("Retry-After"); got != "2" || rec.Code != 429 {
		t.Fatalf("%d, Retry-After %q, want 429 and 2", rec.Code, got)
	}
	err := maniwani.DecodeError(rec.Code, rec.Header(), rec.Body.Bytes())
	if maniwani.RetryAfter(err) != 2*time.Second || maniwani.ErrorKind(err) != maniwani.KindTooMany || maniwani.ErrorMessage(err) != "Wait." {
		t.Errorf("came back as %v, after %v", err, maniwani.RetryAfter(err))
	}
	if maniwani.RetryAfter(maniwani.Errorf(maniwani.KindTooMany, "Wait.")) != 0 {
		t.Error("an error that says nothing of when says when")
	}
}
