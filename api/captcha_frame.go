package api

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	"github.com/maniwani/maniwani"
)

// The captcha without JavaScript. The pages are cached and so cannot carry
// a challenge for each visitor; a post form embeds this small page instead
// (in a noscript iframe): it shows a challenge, takes its answer, and once
// it is right gives the poster a bypass, so that the form's post, which
// carries the cookie, needs no captcha. It is the one page that may be
// framed, by the site's own pages only (maniwani.FramePolicy).

var captchaFrame = template.Must(template.New("frame").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Captcha</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="capf">{{if .Noop}}<p>No captcha is needed for this post.</p>
{{- else if .Solved}}<p class="ok">Solved. Your next {{.Posts}} posts within {{.Minutes}} minutes need no captcha: post now.</p>
{{- else}}{{with .Error}}<p class="err" role="alert">{{.}}</p>{{end}}
<form method="post" action="/captcha/frame"><input type="hidden" name="board" value="{{.Board}}">
{{- with .Thread}}<input type="hidden" name="thread_id" value="{{.}}">{{end}}<input type="hidden" name="t-challenge" value="{{.Token}}">
<img src="{{.Image}}" width="{{.Width}}" height="{{.Height}}" alt="Captcha: type the characters you see">
<input name="t-response" required autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" aria-label="The characters in the image"> <button>Verify</button>
<a href="/captcha/frame?board={{.Board}}{{with .Thread}}&amp;thread_id={{.}}{{end}}">Another one</a></form>{{end}}
</body></html>
`))

type frameView struct {
	Noop, Solved   bool
	Posts, Minutes int
	Error          string
	Board          string
	Thread         int64
	Token          string
	Image          template.URL // a data: URL, which html/template would refuse as a string
	Width, Height  int
}

// handleCaptchaFrame: GET /captcha/frame?board=B[&thread_id=N] shows a
// challenge; POST answers it (board, thread_id, t-challenge, t-response).
func (s *Service) handleCaptchaFrame(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", maniwani.FramePolicy)
	var board, thread string
	if r.Method == http.MethodPost {
		limitBody(w, r, 8<<10, "The request is too large.")
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, invalid("The form is not well-formed."), nil)
			return
		}
		board, thread = r.PostForm.Get("board"), r.PostForm.Get("thread_id")
	} else {
		board, thread = r.URL.Query().Get("board"), r.URL.Query().Get("thread_id")
	}
	b, resto, err := s.captchaQuery(r, board, thread)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	v := frameView{Board: b.Name, Thread: resto}
	if r.Method == http.MethodPost {
		now := s.now()
		err := s.redeem(r.Context(), b.Name, r.PostForm.Get("t-challenge"), r.PostForm.Get("t-response"), now)
		if err == nil {
			s.issueBypass(w, r, now)
			v.Solved, v.Posts, v.Minutes = true, s.cfg.BypassPosts, int(s.cfg.BypassLifetime/time.Minute)
			s.renderFrame(w, &v)
			return
		}
		if maniwani.ErrorKind(err) != maniwani.KindInvalid {
			s.fail(w, r, err, nil)
			return
		}
		v.Error = maniwani.ErrorMessage(err)
	}
	c, err := s.challengeFor(r, b, resto)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	if c.Token == "noop" {
		v.Noop, v.Error = true, ""
	} else {
		v.Token, v.Width, v.Height = c.Token, c.Width, c.Height
		v.Image = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))
	}
	s.renderFrame(w, &v)
}

func (s *Service) renderFrame(w http.ResponseWriter, v *frameView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := captchaFrame.Execute(w, v); err != nil {
		s.log.Error("captcha frame not written", "err", err)
	}
}
