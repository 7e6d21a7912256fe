package api

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// Only well-formed tokens in date count as a browser's devices: a made-up
// cookie is dropped before it costs the login a lookup of the account, and
// a token of one account is not another's.
func TestDeviceTokens(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s := &Service{secret: []byte("secret"), now: func() time.Time { return now }}
	admin := &maniwani.Staff{ID: 1, Username: "admin"}
	good := s.deviceCookie(nil, admin, "", false).Value
	old := func() string {
		was := s.now
		defer func() { s.now = was }()
		s.now = func() time.Time { return now.Add(-deviceLifetime - time.Hour) }
		return s.deviceCookie(nil, admin, "", false).Value
	}()
	garbage := base64.RawURLEncoding.EncodeToString(make([]byte, deviceRawLen-1))
	for _, c := range []struct {
		cookie string
		want   int
	}{
		{"not base64!", 0},
		{garbage, 0},
		{old, 0},
		{"x.." + good + ".y", 1},
		{good + "." + good + "." + good + "." + good + "." + good, maxDevices},
	} {
		if got := s.deviceTokens([]string{c.cookie}); len(got) != c.want {
			t.Errorf("cookie %.40q: %d tokens, want %d", c.cookie, len(got), c.want)
		}
	}
	tokens := s.deviceTokens([]string{good})
	if id, tok := s.device(tokens, admin); id == "" || tok != good {
		t.Errorf("admin's own token: %q %q", id, tok)
	}
	if id, _ := s.device(tokens, &maniwani.Staff{ID: 2, Username: "mod"}); id != "" {
		t.Error("admin's token passed for another account")
	}
}
