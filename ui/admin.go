package ui

// The moderators' admin UI at /admin/: server-rendered pages over the staff
// API (the contract's Staff API). The ui keeps no session of its own: each
// page and each action is one or more calls of Deps.Staff (the api in one
// process, its client apart), each carrying what the staff API would read
// of the browser's request (maniwani.StaffCall: its session cookie, its
// address, and for a write the CSRF token from the form's hidden csrf
// field), whose answer the page shows.
//
// Routes (all answered with Cache-Control: no-store):
//
//	GET  /admin/                          dashboard
//	GET  /admin/login, POST /admin/login  the login form; POST /admin/logout
//	GET  /admin/reports                   the report queue, each post in place
//	POST /admin/reports/{id}/dismiss
//	GET  /admin/post?board=&no=           look a post up: to /admin/posts/{board}/{no}
//	GET  /admin/posts/{board}/{no}        a post with everything staff may do to it
//	POST /admin/posts/{board}/{no}/delete mode=post|file|ip-thread|ip-board
//	POST /admin/threads/{board}/{no}      set=sticky|unsticky|close|open
//	GET  /admin/ban                       the ban form (?board=&no= a post's address, ?ip=)
//	GET  /admin/bans, POST /admin/bans    the bans; POST /admin/bans/{id}/lift
//	GET  /admin/boards, POST /admin/boards
//	GET  /admin/boards/{board}, POST /admin/boards/{board}, POST /admin/boards/{board}/delete
//	GET  /admin/staff, POST /admin/staff, POST /admin/staff/{username}/delete
//	GET  /admin/log                       the moderation log
//	GET  /admin/filters, POST /admin/filters, POST /admin/filters/{id}/delete
//	POST /admin/purge                     every post of an address or range
//	GET  /admin/held, POST /admin/held/{board}/{no}  approve=1|0: the review queue
//
// A GET never changes anything. Every form posts back to /admin/..., and
// the answer is a 303 to the page it came from with ?done= or ?err= saying
// what happened (Post/Redirect/Get). The api's 401 sends the browser to the
// login form; its 403 is a page saying the role may not do that.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/maniwani/maniwani"
)

// adminRoutes adds the admin UI's routes to m.
func (s *Service) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /admin/login", s.handleLoginForm)
	m.HandleFunc("POST /admin/login", s.handleLogin)
	m.HandleFunc("POST /admin/logout", s.staffAction(s.actLogout))

	m.HandleFunc("GET /admin/{$}", s.staffPage(s.pageDashboard))
	m.HandleFunc("GET /admin/reports", s.staffPage(s.pageReports))
	m.HandleFunc("POST /admin/reports/{id}/dismiss", s.staffAction(s.actDismiss))
	m.HandleFunc("GET /admin/post", s.handlePostLookup)
	m.HandleFunc("GET /admin/posts/{board}/{no}", s.staffPage(s.pagePost))
	m.HandleFunc("POST /admin/posts/{board}/{no}/delete", s.staffAction(s.confirm(s.askDeletePost, s.actDeletePost)))
	m.HandleFunc("POST /admin/threads/{board}/{no}", s.staffAction(s.actThreadFlags))
	m.HandleFunc("GET /admin/ban", s.staffPage(s.pageBanForm))
	m.HandleFunc("GET /admin/bans", s.staffPage(s.pageBans))
	m.HandleFunc("POST /admin/bans", s.staffAction(s.actBan))
	m.HandleFunc("POST /admin/bans/{id}/lift", s.staffAction(s.actLift))
	m.HandleFunc("GET /admin/filebans", s.staffPage(s.pageFileBans))
	m.HandleFunc("POST /admin/filebans", s.staffAction(s.actFileBan))
	m.HandleFunc("POST /admin/filebans/{id}/lift", s.staffAction(s.actLiftFileBan))
	m.HandleFunc("GET /admin/boards", s.staffPage(s.pageBoards))
	m.HandleFunc("POST /admin/boards", s.staffAction(s.actCreateBoard))
	m.HandleFunc("GET /admin/boards/{board}", s.staffPage(s.pageBoard))
	m.HandleFunc("POST /admin/boards/{board}", s.staffAction(s.actEditBoard))
	// Deleting a board asks for its name typed in the form: its own second step.
	m.HandleFunc("POST /admin/boards/{board}/delete", s.staffAction(s.actDeleteBoard))
	m.HandleFunc("GET /admin/staff", s.staffPage(s.pageStaff))
	m.HandleFunc("POST /admin/staff", s.staffAction(s.actCreateStaff))
	m.HandleFunc("POST /admin/staff/{username}/delete", s.staffAction(s.confirm(func(a *action) (string, error) {
		return fmt.Sprintf("Delete the staff account %s?", a.r.PathValue("username")), nil
	}, s.actDeleteStaff)))
	m.HandleFunc("GET /admin/log", s.staffPage(s.pageLog))
	m.HandleFunc("GET /admin/filters", s.staffPage(s.pageFilters))
	m.HandleFunc("POST /admin/filters", s.staffAction(s.actCreateFilter))
	m.HandleFunc("POST /admin/filters/{id}/delete", s.staffAction(s.confirm(func(a *action) (string, error) {
		return fmt.Sprintf("Delete filter #%s?", a.r.PathValue("id")), nil
	}, s.actDeleteFilter)))
	m.HandleFunc("POST /admin/purge", s.staffAction(s.confirm(func(a *action) (string, error) {
		return fmt.Sprintf("Delete every post of %s%s?", strings.TrimSpace(a.r.PostForm.Get("target")),
			map[bool]string{true: " on every board", false: " on /" + a.r.PostForm.Get("board") + "/"}[a.r.PostForm.Get("board") == ""]), nil
	}, s.actPurge)))
	m.HandleFunc("GET /admin/held", s.staffPage(s.pageHeld))
	m.HandleFunc("POST /admin/held/{board}/{no}", s.staffAction(s.actHeld))
	// Anything else under /admin/ is the site's 404 page.
}

// invalid is a form's mistake, found before the api is asked.
func invalid(msg string) error { return &maniwani.Error{Kind: maniwani.KindInvalid, Message: msg} }

// notFound is what the ui knows is not there before the api is asked.
func notFound(msg string) error { return &maniwani.Error{Kind: maniwani.KindNotFound, Message: msg} }

// readCall is the staff call of the browser's request r that changes
// nothing.
func readCall(r *http.Request) maniwani.StaffCall { return maniwani.StaffCallOf(r, "") }

// staffPage makes a page's handler: it reads the session first (without
// one, the browser goes to the login form), then h fills the page and
// renders it, or fails.
func (s *Service) staffPage(h func(w http.ResponseWriter, r *http.Request, p *adminPage) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := &adminPage{Done: r.URL.Query().Get("done"), Err: r.URL.Query().Get("err")}
		var err error
		p.S, err = s.staff.Session(r.Context(), readCall(r))
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			if me := (*maniwani.Error)(nil); !errors.As(err, &me) {
				p.S = nil
			}
			s.adminError(w, r, p, err)
		}
	}
}

// action is a form posted to the admin UI.
type action struct {
	r    *http.Request
	ctx  context.Context
	call maniwani.StaffCall // with the form's CSRF token
	back string             // where the browser goes after: the form's page
}

// staffAction makes a form's handler: h does what the form asks and says
// what was done; the browser goes back to the form's page with that, or
// with what went wrong.
func (s *Service) staffAction(h func(w http.ResponseWriter, a *action) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.adminError(w, r, nil, invalid("The form could not be read."))
			return
		}
		a := &action{r: r, ctx: r.Context(), call: maniwani.StaffCallOf(r, r.PostForm.Get("csrf")),
			back: localAdminPath(r.PostForm.Get("back"), "/admin/")}
		done, err := h(w, a)
		switch kind := maniwani.ErrorKind(err); {
		case err == nil:
			if done != "" { // "": h answered itself
				s.seeOther(w, r, flash(a.back, "done", done))
			}
		case kind == maniwani.KindUnauthorized:
			s.seeOther(w, r, "/admin/login?next="+url.QueryEscape(a.back))
		case kind != maniwani.KindForbidden && maniwani.HTTPStatus(err) < 500:
			s.seeOther(w, r, flash(a.back, "err", maniwani.ErrorMessage(err)))
		default:
			s.adminError(w, r, nil, err)
		}
	}
}

// localAdminPath is p when it is a path of the admin UI, else def: the
// forms' back and the login's next never lead off the site.
func localAdminPath(p, def string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(p, "//") ||
		strings.Contains(p, "\\") || !strings.HasPrefix(u.Path, "/admin/") {
		return def
	}
	return p
}

// flash is path with key=msg in its query, in place of any done or err.
func flash(path, key, msg string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Del("done")
	q.Del("err")
	q.Set(key, msg)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Service) seeOther(w http.ResponseWriter, r *http.Request, to string) {
	noStore(w)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// noStore marks an answer as never to be kept: the admin's pages show what
// only staff may see, and change with every action.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// adminRender answers with the admin template name filled from p.
func (s *Service) adminRender(w http.ResponseWriter, r *http.Request, name string, code int, p *adminPage) {
	var buf bytes.Buffer
	if err := s.tpl.ExecuteTemplate(&buf, name, p); err != nil {
		s.log.Error("ui: render", "page", name, "path", r.URL.Path, "err", err)
		noStore(w)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// adminError answers a page or action that failed: without a session, the
// login form; otherwise a page that says what happened, at its status. p
// is the page's frame, or nil when no session was read.
func (s *Service) adminError(w http.ResponseWriter, r *http.Request, p *adminPage, err error) {
	// A fault of ours or the api's is for the log; the api busy or not
	// reached is said for people.
	if maniwani.ErrorKind(err) == maniwani.KindInternal {
		s.log.Error("ui: admin page failed", "path", r.URL.Path, "err", err)
	}
	kind, code, msg := maniwani.ErrorKind(err), maniwani.HTTPStatus(err), maniwani.ErrorMessage(err)
	if kind == maniwani.KindUnauthorized {
		next := "/admin/"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next = r.URL.RequestURI()
		}
		s.seeOther(w, r, "/admin/login?next="+url.QueryEscape(localAdminPath(next, "/admin/")))
		return
	}
	if p == nil {
		p = &adminPage{}
	}
	ev := &errorView{Status: code, Message: msg, Links: [][2]string{{"/admin/", "Dashboard"}}}
	switch {
	case kind == maniwani.KindForbidden:
		// The api's own words name the role ("A janitor may not do
		// this.") or the missing CSRF token; the ui's own refusals do not.
		ev.Heading = "Not allowed"
		if msg == "" || msg == http.StatusText(http.StatusForbidden)+"." {
			ev.Message = "Your role may not do this."
			if p.S != nil && p.S.Role != "" {
				ev.Message = "Your role (" + string(p.S.Role) + ") may not do this."
			}
		}
	case kind == maniwani.KindNotFound:
		ev.Heading = "Not found"
	case code >= 500:
		ev.Heading = "Something went wrong"
		ev.Message = "The staff API did not answer as it should. Please try again in a moment."
		if kind != maniwani.KindInternal { // the api is busy or not reached
			ev.Status = http.StatusBadGateway
		}
	default:
		ev.Heading = http.StatusText(code)
	}
	if r.Referer() != "" {
		if back := localAdminPath(refererPath(r), ""); back != "" {
			ev.Links = append([][2]string{{back, "Back"}}, ev.Links...)
		}
	}
	p.Title, p.Error = ev.Heading, ev
	s.adminRender(w, r, "a-error", ev.Status, p)
}

// refererPath is the path and query of the request's Referer.
func refererPath(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host {
		return ""
	}
	return u.RequestURI()
}

// confirm makes a destructive form's handler ask first: a form sent
// without confirm=yes gets a page with the question, and the same form
// again (its fields hidden, confirm=yes added) to send, or a way back. It
// is the same second step with JavaScript and without.
func (s *Service) confirm(question func(a *action) (string, error), h func(w http.ResponseWriter, a *action) (string, error)) func(w http.ResponseWriter, a *action) (string, error) {
	return func(w http.ResponseWriter, a *action) (string, error) {
		if a.r.PostForm.Get("confirm") == "yes" {
			return h(w, a)
		}
		q, err := question(a)
		if err != nil {
			return "", err
		}
		sess, err := s.staff.Session(a.ctx, readCall(a.r))
		if err != nil {
			return "", err
		}
		// The question is asked only of the form the session's own pages
		// sent: a form from elsewhere is refused as the api would.
		if got := a.r.PostForm.Get("csrf"); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
			return "", maniwani.Errorf(maniwani.KindForbidden, "The form's CSRF token is missing or wrong: reload the page and try again.")
		}
		c := &confirmView{Question: q, Action: a.r.URL.Path, Back: a.back}
		for k, vs := range a.r.PostForm {
			if k == "confirm" {
				continue
			}
			for _, v := range vs {
				c.Fields = append(c.Fields, [2]string{k, v})
			}
		}
		slices.SortFunc(c.Fields, func(x, y [2]string) int { return strings.Compare(x[0], y[0]) })
		s.adminRender(w, a.r, "a-confirm", http.StatusOK, &adminPage{Title: "Are you sure?", S: sess, Confirm: c})
		return "", nil
	}
}

// confirmView is the second step of a destructive form.
type confirmView struct {
	Question string
	Action   string
	Fields   [][2]string // the form's fields as sent, to send again
	Back     string
}
