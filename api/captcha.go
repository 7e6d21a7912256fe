package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/captcha"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
)

// The captcha, as 4chan's endpoint serves it: GET /captcha?board=B
// [&thread_id=N] answers a challenge, or "noop" when the post needs none.
//
// A challenge is a signed token, not a row: making one (the flood an
// attacker can cause) writes nothing but its budget. It carries its id, its
// expiry and two MACs of the site secret: one over the board, id and expiry
// (so a made-up or another board's token is refused without a query), one
// over the id and the answer (so the answer is checked without being kept
// anywhere, and cannot be recovered from the token without the secret, as a
// plain hash of six characters could be). Answering it, rightly or not,
// records its id in the database (UseChallenge), which every api instance
// shares: a challenge is good once.

// Captcha defaults, when Config leaves them zero.
const (
	DefaultCaptchaTTL = 5 * time.Minute
	// DefaultBypassPosts and DefaultBypassLifetime bound what one solved
	// captcha buys: the posts after it that need none, within a time.
	DefaultBypassPosts    = 20
	DefaultBypassLifetime = time.Hour
)

// noopTTL is how long a "noop" answer holds: the board's mode can change.
const noopTTL = 60

// Challenges made per address key, before each is made (1 ms of CPU).
const (
	maxChallenges    = 30
	challengesWindow = 10 * time.Minute
)

func challengeBudget(ip string) store.Budget {
	return store.Budget{Kind: "captcha", Key: realip.Key(ip), Max: maxChallenges, Window: challengesWindow}
}

// A challenge token's bytes: id, expiry (unix seconds), the board MAC, the
// answer MAC.
const (
	challengeID  = 12
	macLen       = 16
	challengeLen = challengeID + 8 + 2*macLen
)

// mac is a MAC of the site secret over a purpose and parts, cut to macLen.
func (s *Service) mac(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)[:macLen]
}

// sealChallenge makes the token of a challenge for board.
func (s *Service) sealChallenge(board string, id []byte, exp time.Time, answer string) string {
	b := make([]byte, 0, challengeLen)
	b = append(b, id...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, s.mac("captcha-board", []byte(board), b[:challengeID+8])...)
	b = append(b, s.mac("captcha-answer", id, []byte(captcha.Normal(answer)))...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// A refused captcha. Each is the poster's to fix: 400, nothing changed.
var (
	errCaptchaNeeded  = maniwani.Errorf(maniwani.KindInvalid, "This post needs the captcha solved: get one and type its characters.")
	errCaptchaInvalid = maniwani.Errorf(maniwani.KindInvalid, "That captcha is not valid here; get a new one.")
	errCaptchaExpired = maniwani.Errorf(maniwani.KindInvalid, "That captcha has expired; get a new one.")
	errCaptchaUsed    = maniwani.Errorf(maniwani.KindInvalid, "That captcha was used already; get a new one.")
	errCaptchaWrong   = maniwani.Errorf(maniwani.KindInvalid, "The captcha's answer is wrong; try a new one.")
)

// redeem answers the challenge token for board with response, once: a
// token of another board, made up, expired or used already is refused, and
// a wrong answer uses the challenge up as a right one does.
func (s *Service) redeem(ctx context.Context, board, token, response string, now time.Time) error {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != challengeLen {
		return errCaptchaInvalid
	}
	id, signed := b[:challengeID], b[:challengeID+8]
	boardMAC, answerMAC := b[challengeID+8:challengeID+8+macLen], b[challengeID+8+macLen:]
	if !hmac.Equal(boardMAC, s.mac("captcha-board", []byte(board), signed)) {
		return errCaptchaInvalid
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[challengeID:])), 0)
	if !now.Before(exp) {
		return errCaptchaExpired
	}
	first, err := s.store.UseChallenge(ctx, base64.RawURLEncoding.EncodeToString(id), exp, now)
	if err != nil {
		return err
	}
	if !first {
		return errCaptchaUsed
	}
	if response == "" || !hmac.Equal(answerMAC, s.mac("captcha-answer", id, []byte(captcha.Normal(response)))) {
		return errCaptchaWrong
	}
	return nil
}

// challenge is a captcha as the client is sent it: Token "noop" when the
// post needs none, TTL in seconds.
type challenge struct {
	Token         string
	TTL           int
	PNG           []byte
	Width, Height int
}

// challengeFor is the challenge for a post to board b in thread resto
// (0: a new thread) by the request's poster: noop when neither the
// board's mode nor a DNS blocklist (DNSBLCaptcha) needs one for it, or
// the poster is staff or holds a bypass with posts left; otherwise a new one, taken from the poster's budget.
func (s *Service) challengeFor(r *http.Request, b *maniwani.Board, resto int64) (*challenge, error) {
	now := s.now()
	noop := &challenge{Token: "noop", TTL: noopTTL}
	ip := s.cfg.Proxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
	if !(b.CaptchaAt(now).Needs(resto) || s.newOnionPoster(r) || s.blocklistCaptcha(r.Context(), ip)) || s.isStaff(r) {
		return noop, nil
	}
	if left, err := s.bypassLeft(r, now); err != nil || left {
		return noop, err
	}
	if _, err := s.store.Take(r.Context(), now, challengeBudget(ip)); err != nil {
		return nil, err
	}
	m, err := s.captcha()
	if err != nil {
		return nil, err
	}
	c, err := m.New(s.cfg.CaptchaRand)
	if err != nil {
		return nil, err
	}
	id := make([]byte, challengeID)
	rand.Read(id)
	exp := now.Add(s.cfg.CaptchaTTL)
	return &challenge{Token: s.sealChallenge(b.Name, id, exp, c.Answer), TTL: int(s.cfg.CaptchaTTL / time.Second),
		PNG: c.PNG, Width: c.Width, Height: c.Height}, nil
}

// captchaQuery reads /captcha's board and thread_id.
func (s *Service) captchaQuery(r *http.Request, board, thread string) (*maniwani.Board, int64, error) {
	if !maniwani.ValidBoardName(board) {
		return nil, 0, maniwani.Errorf(maniwani.KindNotFound, "Board /%s/ does not exist.", clip(board, 20))
	}
	var resto int64
	if thread != "" {
		n, err := strconv.ParseInt(thread, 10, 64)
		if err != nil || n < 1 {
			return nil, 0, invalid("thread_id must be a thread number, not %q.", clip(thread, 20))
		}
		resto = n
	}
	b, err := s.store.Board(r.Context(), board)
	return b, resto, err
}

// handleCaptcha: GET /captcha?board=B[&thread_id=N], never cached.
func (s *Service) handleCaptcha(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	b, resto, err := s.captchaQuery(r, q.Get("board"), q.Get("thread_id"))
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	c, err := s.challengeFor(r, b, resto)
	if err != nil {
		var sp *store.Spent
		if errors.As(err, &sp) { // 4chan's clients read cd: the seconds to wait
			s.fail(w, r, err, map[string]any{"cd": int((sp.Retry + time.Second - 1) / time.Second)})
			return
		}
		s.fail(w, r, err, nil)
		return
	}
	out := map[string]any{"challenge": c.Token, "ttl": c.TTL}
	if c.Token != "noop" {
		// img: a []byte is base64 in JSON
		out["cd"], out["img"], out["img_width"], out["img_height"] = 0, c.PNG, c.Width, c.Height
	}
	writeJSON(w, http.StatusOK, out)
}

// passCaptcha lets a post to board b in thread resto through the captcha:
// when the mode in force (raised now if a flood is on) needs one, or a DNS
// blocklist lists the poster's address (DNSBLCaptcha), or the poster comes
// over Tor with no token yet (newOnionPoster), the poster is staff, or
// spends a post of a bypass, or answers the challenge rightly, which gives
// them a new bypass. It says the new bypass's id, if it gave one.
func (s *Service) passCaptcha(w http.ResponseWriter, r *http.Request, b *maniwani.Board, resto int64, token, response string) (string, error) {
	now := s.now()
	if s.newOnionPoster(r) {
		if token == "" {
			return "", errOnionNeedsCaptcha()
		}
		if err := s.redeem(r.Context(), b.Name, token, response, now); err != nil {
			return "", err
		}
		return s.issueBypass(w, r, now), nil
	}
	mode, err := s.captchaMode(r.Context(), b, resto, now)
	if err != nil {
		return "", err
	}
	listed := func() bool { // asked only when the mode needs no captcha
		return s.blocklistCaptcha(r.Context(), s.cfg.Proxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For")))
	}
	if !(mode.Needs(resto) || listed()) || s.isStaff(r) {
		return "", nil
	}
	if ok, err := s.spendBypass(r, now); err != nil || ok {
		return "", err
	}
	if token == "" {
		return "", errCaptchaNeeded
	}
	if err := s.redeem(r.Context(), b.Name, token, response, now); err != nil {
		return "", err
	}
	// Set now, so that a post refused after this (a cooldown) still
	// leaves the poster their solved captcha's worth.
	return s.issueBypass(w, r, now), nil
}

// isStaff tells whether the request comes from a logged-in staff member.
func (s *Service) isStaff(r *http.Request) bool {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return false
	}
	_, err = s.store.SessionByHash(r.Context(), tokenHash(c.Value), s.now(), s.cfg.SessionIdle, s.cfg.SessionMax)
	return err == nil
}
