package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// The staff API: /api/admin/..., JSON, behind a session cookie, never cached.

// SessionCookie is the name of the staff session's cookie.
const SessionCookie = maniwani.StaffSessionCookie

// Session lifetimes when Config leaves them zero.
const (
	DefaultSessionIdle = 2 * time.Hour
	DefaultSessionMax  = 12 * time.Hour
)

// staffRequest is an admitted staff call: who made it, and with what.
type staffRequest struct {
	staff maniwani.Staff
	token string // the session's token, which the CSRF token derives from
	call  maniwani.StaffCall
}

// admitStaff admits a staff call: a valid session (401), a role with perm (""
// for any role; 403) and, for a state change (write), the session's CSRF
// token (403), in that order.
func (s *Service) admitStaff(ctx context.Context, call maniwani.StaffCall, perm maniwani.Permission, write bool) (*staffRequest, error) {
	if call.Session == "" {
		return nil, maniwani.Errorf(maniwani.KindUnauthorized, "Log in first.")
	}
	sess, err := s.store.SessionByHash(ctx, tokenHash(call.Session), s.now(), s.cfg.SessionIdle, s.cfg.SessionMax)
	if err != nil {
		return nil, err
	}
	if perm != "" && !sess.Staff.Role.Can(perm) {
		return nil, maniwani.Errorf(maniwani.KindForbidden, "A %s may not do this.", sess.Staff.Role)
	}
	if write && !hmac.Equal([]byte(call.CSRFToken), []byte(s.csrfToken(call.Session))) {
		return nil, maniwani.Errorf(maniwani.KindForbidden, "The request lacks its CSRF token; reload the page.")
	}
	return &staffRequest{staff: sess.Staff, token: call.Session, call: call}, nil
}

// staffOnly admits a request to the staff API (admitStaff), its CSRF token in
// X-CSRF-Token, a state change being any method but GET and HEAD.
func (s *Service) staffOnly(perm maniwani.Permission, h func(http.ResponseWriter, *http.Request, *staffRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		limitBody(w, r, 64<<10, "The request is too large.")
		st, err := s.admitStaff(r.Context(), maniwani.StaffCallOf(r, r.Header.Get("X-CSRF-Token")), perm,
			r.Method != http.MethodGet && r.Method != http.MethodHead)
		if err != nil {
			s.fail(w, r, err, nil)
			return
		}
		h(w, r, st)
	}
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// csrfToken is derived from the session token, so it needs no storage and
// dies with the session.
func (s *Service) csrfToken(session string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readJSON decodes a staff request's JSON body into v.
func readJSON(r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return invalid("Send the request as application/json.")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if maniwani.ErrorKind(err) == maniwani.KindTooLarge { // limitBody's
			return err
		}
		return invalid("The request is not the JSON expected: %v.", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("The request holds more than one JSON value.")
	}
	return nil
}

func (s *Service) logEntry(st *staffRequest, action, target, reason string) maniwani.LogEntry {
	return maniwani.LogEntry{Time: s.now(), Staff: st.staff.Username, Action: action, Target: target, Reason: reason}
}

func (s *Service) addLog(ctx context.Context, e maniwani.LogEntry) {
	if err := s.store.AddLog(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("moderation log not written", "action", e.Action, "target", e.Target, "err", err)
	}
}

// handleLogin: POST /api/admin/login {"username","password"}.
func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	limitBody(w, r, 16<<10, "The request is too large.")
	var in maniwani.StaffLogin
	if err := readJSON(r, &in); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	sess, cookies, err := s.login(r.Context(), maniwani.StaffCallOf(r, ""), in)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	setCookies(w, cookies)
	writeJSON(w, http.StatusOK, sess)
}

func setCookies(w http.ResponseWriter, cookies []*http.Cookie) {
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
}

// login checks a login's credentials and opens its session.
//
// Each attempt takes a slot in its budgets (limits.go) before its password
// is hashed: a browser the account has logged in from before is counted
// on its own device's budget, any other on the account's and on its
// address's. A wrong password keeps its slots; a right one hands them
// back, so the budgets count failures (and checks under way).
func (s *Service) login(ctx context.Context, call maniwani.StaffCall, in maniwani.StaffLogin) (*maniwani.StaffSession, []*http.Cookie, error) {
	ip := s.cfg.Proxies.ClientIP(call.RemoteAddr, call.ForwardedFor)
	var st *maniwani.Staff
	looked := false
	lookUp := func() error {
		looked = true
		if !validUsername(in.Username) { // no other name can exist
			return nil
		}
		var err error
		if st, err = s.store.StaffByName(ctx, in.Username); err != nil && maniwani.ErrorKind(err) != maniwani.KindNotFound {
			return err
		}
		return nil
	}
	// A device token is checked against its account, so a browser that
	// sends one has the account looked up first; one that sends none (any
	// attacker's) is counted first, and a refusal costs no lookup.
	tokens := s.deviceTokens(call.Devices)
	if len(tokens) > 0 {
		if err := lookUp(); err != nil {
			return nil, nil, err
		}
	}
	device, oldToken := s.device(tokens, st)
	budgets := []store.Budget{userBudget(in.Username), loginIPBudget(ip)}
	if device != "" {
		budgets = []store.Budget{deviceBudget(device)}
	}
	slots, err := s.store.Take(ctx, s.now(), budgets...)
	if err == nil && !looked {
		err = lookUp()
	}
	if err != nil {
		s.release(ctx, slots)
		return nil, nil, err
	}
	// An unknown name costs the same hashing as a wrong password: the
	// answer's time does not tell which names exist.
	ok := false
	err = s.hashes.do(ctx, func() {
		hash := s.dummyHash()
		if st != nil {
			hash = st.PasswordHash
		}
		ok = CheckPassword(hash, in.Password) && st != nil
	})
	if err != nil {
		// Not checked, so not counted; and a refusal for now, which a
		// flood of logins meets in every one of its requests, is not
		// logged as a fault.
		s.release(ctx, slots)
		return nil, nil, err
	}
	if !ok {
		s.log.Warn("staff login failed", "username", in.Username, "ip", ip, "device", device != "")
		return nil, nil, maniwani.Errorf(maniwani.KindUnauthorized, "Wrong username or password.")
	}
	s.release(ctx, slots)
	b := make([]byte, 32) // 256 bits
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := s.store.CreateSession(ctx, tokenHash(token), st.ID, s.now()); err != nil {
		return nil, nil, err
	}
	secure := s.callOverTLS(call)
	cookies := []*http.Cookie{{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure, MaxAge: int(s.cfg.SessionMax / time.Second)},
		s.deviceCookie(tokens, st, oldToken, secure)}
	s.log.Info("staff logged in", "username", st.Username)
	sess := s.session(st, token)
	return &sess, cookies, nil
}

// callOverTLS tells whether the client of a staff call reached us over HTTPS
// (overTLS): its cookies are Secure then.
func (s *Service) callOverTLS(call maniwani.StaffCall) bool {
	return s.overTLS(call.TLS, call.RemoteAddr, call.ForwardedProto)
}

// requestOverTLS tells whether the client of r reached us over HTTPS
// (overTLS).
func (s *Service) requestOverTLS(r *http.Request) bool {
	return s.overTLS(r.TLS != nil, r.RemoteAddr, r.Header.Get("X-Forwarded-Proto"))
}

// overTLS tells whether a client reached us over HTTPS: directly (tls),
// or through a trusted proxy (the peer) that says so (proto).
func (s *Service) overTLS(tls bool, peer, proto string) bool {
	return tls || (s.cfg.Proxies.Trusted(peer) && proto == "https")
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	cookies, err := s.logout(r.Context(), st)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	setCookies(w, cookies)
	w.WriteHeader(http.StatusNoContent)
}

// logout ends st's session.
func (s *Service) logout(ctx context.Context, st *staffRequest) ([]*http.Cookie, error) {
	if err := s.store.DeleteSession(ctx, tokenHash(st.token)); err != nil {
		return nil, err
	}
	return []*http.Cookie{{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.callOverTLS(st.call), MaxAge: -1}}, nil
}

func (s *Service) handleSession(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	writeJSON(w, http.StatusOK, s.session(&st.staff, st.token))
}

// session is the staff API's answer about the session of token.
func (s *Service) session(st *maniwani.Staff, token string) maniwani.StaffSession {
	return maniwani.StaffSession{CSRFToken: s.csrfToken(token), Permissions: st.Role.Permissions(),
		Role: st.Role, Username: st.Username}
}

// adminRoute is one route of the staff API and what it needs.
type adminRoute struct {
	Method, Path string
	Perm         maniwani.Permission // "" for any staff member
	h            func(http.ResponseWriter, *http.Request, *staffRequest)
}

// adminRoutes is the staff API, as a table so tests can walk every route
// (login, which needs no session, is apart).
func (s *Service) adminRoutes() []adminRoute {
	return []adminRoute{
		{"POST", "/api/admin/logout", "", s.handleLogout},
		{"GET", "/api/admin/session", "", s.handleSession},
		{"GET", "/api/admin/boards", "", s.handleAdminBoards},
		{"POST", "/api/admin/boards", maniwani.PermBoards, s.handleCreateBoard},
		{"PATCH", "/api/admin/boards/{board}", maniwani.PermBoards, s.handleUpdateBoard},
		{"DELETE", "/api/admin/boards/{board}", maniwani.PermBoards, s.handleDeleteBoard},
		{"GET", "/api/admin/posts/{board}/{no}", maniwani.PermDelete, s.handleAdminPost},
		{"DELETE", "/api/admin/posts/{board}/{no}", maniwani.PermDelete, s.handleAdminDeletePost},
		{"PATCH", "/api/admin/threads/{board}/{no}", maniwani.PermThreads, s.handleAdminThread},
		{"GET", "/api/admin/bans", maniwani.PermBan, s.handleBans},
		{"POST", "/api/admin/bans", maniwani.PermBan, s.handleCreateBan},
		{"DELETE", "/api/admin/bans/{id}", maniwani.PermBan, s.handleDeleteBan},
		{"GET", "/api/admin/filebans", maniwani.PermBan, s.handleFileBans},
		{"POST", "/api/admin/filebans", maniwani.PermBan, s.handleCreateFileBan},
		{"DELETE", "/api/admin/filebans/{id}", maniwani.PermBan, s.handleDeleteFileBan},
		{"GET", "/api/admin/reports", maniwani.PermReports, s.handleReports},
		{"DELETE", "/api/admin/reports/{id}", maniwani.PermReports, s.handleDismissReport},
		{"GET", "/api/admin/staff", maniwani.PermStaff, s.handleStaff},
		{"POST", "/api/admin/staff", maniwani.PermStaff, s.handleCreateStaff},
		{"DELETE", "/api/admin/staff/{username}", maniwani.PermStaff, s.handleDeleteStaff},
		{"GET", "/api/admin/log", maniwani.PermLog, s.handleLog},
		// Filters can ban, so they are for those who may ban; a purge
		// deletes by address, so it is for those who see addresses.
		{"GET", "/api/admin/filters", maniwani.PermBan, s.handleFilters},
		{"POST", "/api/admin/filters", maniwani.PermBan, s.handleCreateFilter},
		{"DELETE", "/api/admin/filters/{id}", maniwani.PermBan, s.handleDeleteFilter},
		{"POST", "/api/admin/purge", maniwani.PermIPs, s.handlePurge},
		// Approving a held post approves its poster: a judgement of
		// posters, as a ban is.
		{"GET", "/api/admin/held", maniwani.PermBan, s.handleHeld},
		{"POST", "/api/admin/held/{board}/{no}", maniwani.PermBan, s.handleHeldDecide},
	}
}

func (s *Service) registerAdmin(m *http.ServeMux) {
	m.HandleFunc("POST /api/admin/login", s.handleLogin)
	for _, rt := range s.adminRoutes() {
		m.HandleFunc(rt.Method+" "+rt.Path, s.staffOnly(rt.Perm, rt.h))
	}
	// Anything else under /api/admin is unknown, but only to staff: the
	// session is checked first, so the route list is not public.
	m.HandleFunc("/api/admin/", s.staffOnly("", func(w http.ResponseWriter, r *http.Request, _ *staffRequest) {
		s.fail(w, r, maniwani.Errorf(maniwani.KindNotFound, "No such staff API route."), nil)
	}))
}

// bodyOf reads a staff request's JSON body as an In.
func bodyOf[In any](r *http.Request) (In, error) {
	var in In
	return in, readJSON(r, &in)
}

// answer answers a staff request: v as JSON at code (nothing for 204), or
// err.
func (s *Service) answer(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	switch {
	case err != nil:
		s.fail(w, r, err, nil)
	case code == http.StatusNoContent:
		w.WriteHeader(code)
	default:
		writeJSON(w, code, v)
	}
}
