package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// Device cookies (OWASP's defence against lockout by strangers): each
// successful login gives the browser a token, signed with the site's
// secret, naming the account and a random device id. A login that carries
// a valid one for its account is counted on that device's own budget, so
// wrong passwords sent from elsewhere, which spend the account's budget,
// do not keep the account's own browsers out.

// DeviceCookie names the cookie holding a browser's device tokens.
const DeviceCookie = maniwani.StaffDeviceCookie

const (
	// deviceLifetime is how long a token stays valid, checked here
	// whatever the browser keeps.
	deviceLifetime = 365 * 24 * time.Hour
	// maxDevices bounds the tokens one browser keeps, one per account
	// logged in from it.
	maxDevices   = 4
	deviceIDLen  = 16
	deviceMACLen = 16
	deviceRawLen = deviceIDLen + 8 + deviceMACLen // id, issued (unix seconds), MAC
)

// deviceMAC signs a token's id and issue time for one account: a token of
// a deleted account is worth nothing to a new one of the same name.
func (s *Service) deviceMAC(st *maniwani.Staff, idIssued []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("device\x00" + strconv.FormatInt(st.ID, 10) + "\x00" + st.Username + "\x00"))
	m.Write(idIssued)
	return m.Sum(nil)[:deviceMACLen]
}

// deviceToken is a token the browser sent, as sent and decoded.
type deviceToken struct {
	text string
	raw  []byte
}

// deviceTokens are the tokens the browser sent (cookies, the values of its
// device cookies) that are well formed and in date, at most maxDevices: a
// garbled or made-up cookie is dropped here, before it costs a lookup of
// the account.
func (s *Service) deviceTokens(cookies []string) []deviceToken {
	now := s.now()
	var out []deviceToken
	for _, c := range cookies {
		for _, t := range strings.Split(c, ".") {
			if len(out) == maxDevices {
				return out
			}
			raw, err := base64.RawURLEncoding.DecodeString(t)
			if err != nil || len(raw) != deviceRawLen {
				continue
			}
			issued := time.Unix(int64(binary.BigEndian.Uint64(raw[deviceIDLen:])), 0)
			if now.Sub(issued) > deviceLifetime || issued.After(now.Add(time.Minute)) {
				continue
			}
			out = append(out, deviceToken{text: t, raw: raw})
		}
	}
	return out
}

// device is the id (hex) of the token among tokens that is st's, and the
// token itself, or "" when none is.
func (s *Service) device(tokens []deviceToken, st *maniwani.Staff) (id, token string) {
	if st == nil {
		return "", ""
	}
	for _, t := range tokens {
		if hmac.Equal(t.raw[deviceIDLen+8:], s.deviceMAC(st, t.raw[:deviceIDLen+8])) {
			return hex.EncodeToString(t.raw[:deviceIDLen]), t.text
		}
	}
	return "", ""
}

// deviceCookie gives the browser a new token for st, in place of old (its
// previous one, if any), keeping its tokens of other accounts (tokens).
func (s *Service) deviceCookie(tokens []deviceToken, st *maniwani.Staff, old string, secure bool) *http.Cookie {
	raw := make([]byte, deviceIDLen+8, deviceRawLen)
	rand.Read(raw[:deviceIDLen])
	binary.BigEndian.PutUint64(raw[deviceIDLen:], uint64(s.now().Unix()))
	raw = append(raw, s.deviceMAC(st, raw)...)
	keep := []string{base64.RawURLEncoding.EncodeToString(raw)}
	for _, t := range tokens {
		if t.text != old && len(keep) < maxDevices {
			keep = append(keep, t.text)
		}
	}
	return &http.Cookie{Name: DeviceCookie, Value: strings.Join(keep, "."), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure,
		MaxAge: int(deviceLifetime / time.Second)}
}
