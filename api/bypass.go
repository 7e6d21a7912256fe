package api

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/maniwani/maniwani/api/store"
)

// A solved captcha gives the poster a bypass, as jschan's block bypass: a
// cookie signed with the site secret (so it cannot be forged) that lets
// the next Config.BypassPosts posts within Config.BypassLifetime through
// without a captcha. Its posts are counted in the database as a budget
// (store.Take), so posts sent at once, to any api instance, count each
// other.

// BypassCookie is the name of the bypass's cookie.
const BypassCookie = "mw_bypass"

const bypassID = 12

// issueBypass gives the poster a new bypass, and says its id (what an
// onion poster is then keyed by: bypassToken).
func (s *Service) issueBypass(w http.ResponseWriter, r *http.Request, now time.Time) string {
	b := make([]byte, bypassID, bypassID+8+macLen)
	rand.Read(b)
	b = binary.BigEndian.AppendUint64(b, uint64(now.Add(s.cfg.BypassLifetime).Unix()))
	b = append(b, s.mac("bypass", b)...)
	http.SetCookie(w, &http.Cookie{Name: BypassCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.requestOverTLS(r),
		MaxAge: int(s.cfg.BypassLifetime / time.Second)})
	return base64.RawURLEncoding.EncodeToString(b[:bypassID])
}

// bypassToken is the id of the request's bypass, when it holds a valid
// one (spent or not): who an onion poster is (posterKey).
func (s *Service) bypassToken(r *http.Request) (string, bool) {
	b, ok := s.bypassBudget(r, s.now())
	return b.Key, ok
}

// bypassBudget is the budget of the request's bypass, if it holds a valid
// one: signed by this site and not expired.
func (s *Service) bypassBudget(r *http.Request, now time.Time) (store.Budget, bool) {
	c, err := r.Cookie(BypassCookie)
	if err != nil {
		return store.Budget{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) != bypassID+8+macLen || !hmac.Equal(b[bypassID+8:], s.mac("bypass", b[:bypassID+8])) {
		return store.Budget{}, false
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(b[bypassID:])), 0); !now.Before(exp) {
		return store.Budget{}, false
	}
	return store.Budget{Kind: "bypass", Key: base64.RawURLEncoding.EncodeToString(b[:bypassID]),
		Max: s.cfg.BypassPosts, Window: s.cfg.BypassLifetime}, true
}

// spendBypass spends one post of the request's bypass; it tells whether
// there was one to spend.
func (s *Service) spendBypass(r *http.Request, now time.Time) (bool, error) {
	bud, ok := s.bypassBudget(r, now)
	if !ok {
		return false, nil
	}
	_, err := s.store.Take(r.Context(), now, bud)
	if sp := (*store.Spent)(nil); errors.As(err, &sp) {
		return false, nil
	}
	return err == nil, err
}

// bypassLeft tells, without spending any, whether the request's bypass has
// posts left.
func (s *Service) bypassLeft(r *http.Request, now time.Time) (bool, error) {
	bud, ok := s.bypassBudget(r, now)
	if !ok {
		return false, nil
	}
	sp, err := s.store.Spent(r.Context(), now, bud)
	return err == nil && sp == nil, err
}
