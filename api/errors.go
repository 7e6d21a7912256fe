package api

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// limitBody caps r's body at n bytes, as http.MaxBytesReader does (the
// connection is closed after the answer), and makes reading past the cap an
// error of kind KindTooLarge saying msg: the one place the api turns
// http.MaxBytesError into a kind.
func limitBody(w http.ResponseWriter, r *http.Request, n int64, msg string) {
	r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, n), msg: msg}
}

type cappedBody struct {
	io.ReadCloser
	msg string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		err = &maniwani.Error{Kind: maniwani.KindTooLarge, Message: b.msg, Err: err}
	}
	return n, err
}

// wantsJSON tells whether the client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers a refused or failed request: JSON to clients that take it, a
// page to a browser's form post. Faults of ours are logged, not shown; a
// refusal for now (busy) says when to try again.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	s.failForm(w, r, err, extra, nil)
}

// failForm is fail for a post's form: a browser's form post refused gets
// the form back with what was typed in it (never the file, the password
// or the captcha), and the reason beside the field it is about.
func (s *Service) failForm(w http.ResponseWriter, r *http.Request, err error, extra map[string]any, f *postForm) {
	if sp := (*store.Spent)(nil); errors.As(err, &sp) {
		err = spentError(sp)
	}
	code := maniwani.HTTPStatus(err)
	var later *maniwani.RetryLater
	switch {
	case errors.As(err, &later): // shedding load, as meant: the request counts show it
		s.log.Debug("request refused for now", "method", r.Method, "path", r.URL.Path, "err", err)
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		// The client left (or the server is stopping) while the request
		// waited: no fault of ours, and nobody hears the answer.
		s.log.Debug("request ended by its client", "method", r.Method, "path", r.URL.Path, "err", err)
	case code >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	setRetryAfter(w, err)
	if r.Method == http.MethodGet || wantsJSON(r) || strings.HasPrefix(r.URL.Path, "/api/") {
		maniwani.WriteError(w, err, extra)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	heading := "Your post was not accepted"
	switch {
	case strings.HasSuffix(r.URL.Path, "/delete"):
		heading = "The post was not deleted"
	case strings.HasSuffix(r.URL.Path, "/report"):
		heading = "The report was not sent"
	}
	v := map[string]any{"Status": code, "Text": http.StatusText(code), "Message": maniwani.ErrorMessage(err),
		"Back": r.Referer(), "Heading": heading, "Board": r.PathValue("board")}
	if f != nil && strings.HasSuffix(r.URL.Path, "/post") && maniwani.ValidBoardName(r.PathValue("board")) {
		field := "form"
		if fe := (*fieldError)(nil); errors.As(err, &fe) {
			field = fe.field
		}
		v["Form"] = refusedForm{Action: r.URL.Path, Resto: f.resto, Name: f.name, Email: f.email, Sub: f.sub,
			Com: f.com, Spoiler: f.spoiler, Field: field, Files: f.maxFiles, Captcha: f.captcha}
	}
	errorPage.Execute(w, v)
}

// refusedForm is a refused post's form as the refusal page gives it back.
type refusedForm struct {
	Action                string
	Resto                 int64
	Name, Email, Sub, Com string
	Spoiler               bool
	Field                 string // the field the refusal is about; "form" for none of them
	Files                 int    // the board's max_files
	Captcha               bool   // the board may ask for a captcha
}

// fieldError is a refusal about one field of the post form (com, name,
// sub, email, upfile, t-response), which the refusal page shows beside it.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// aboutField says that err is about the form's field; nil stays nil.
func aboutField(field string, err error) error {
	if err == nil {
		return nil
	}
	if fe := (*fieldError)(nil); errors.As(err, &fe) {
		return err
	}
	return &fieldError{field: field, err: err}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>{{.Text}} - Maniwani</title><link rel="stylesheet" href="/static/style.css"><link rel="icon" href="/static/icon.svg"></head>
<body><nav class="top" aria-label="Site"><a href="/" class="home">Maniwani</a>{{with .Board}} <a href="/{{.}}/">/{{.}}/</a> <a href="/{{.}}/catalog">Catalog</a>{{end}}</nav>
{{- with .Form}}{{$f := .}}
<main class="errp rf"><h1>{{$.Heading}}</h1>{{if eq .Field "form"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
<form class="pf" action="{{.Action}}" method="post" enctype="multipart/form-data">{{if .Resto}}<input type="hidden" name="resto" value="{{.Resto}}">{{end}}
<div class="fr"><label for="f-name">Name</label><input id="f-name" name="name" maxlength="100" placeholder="Anonymous" value="{{.Name}}"></div>{{if eq .Field "name"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
<div class="fr"><label for="f-email">Options</label><input id="f-email" name="email" maxlength="100" value="{{.Email}}"></div>{{if eq .Field "email"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
{{if not .Resto}}<div class="fr"><label for="f-sub">Subject</label><input id="f-sub" name="sub" maxlength="100" value="{{.Sub}}"></div>{{if eq .Field "sub"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
{{end}}<div class="fr"><label for="f-com">Comment</label><textarea id="f-com" name="com" rows="6">{{.Com}}</textarea></div>{{if eq .Field "com"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
{{if .Captcha}}<div class="fr"><span>Captcha</span><iframe class="capf" src="/captcha/frame?board={{$.Board}}{{if .Resto}}&amp;thread_id={{.Resto}}{{end}}" title="Captcha, if this board needs one" loading="lazy"></iframe></div>{{end}}{{if eq .Field "t-response"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
<div class="fr"><label for="f-file">{{if gt .Files 1}}Files{{else}}File{{end}}</label><input id="f-file" type="file" name="upfile" accept="image/*,video/webm,video/mp4"{{if gt .Files 1}} multiple{{end}}></div>{{if eq .Field "upfile"}}<p class="fe" role="alert">{{$.Message}}</p>{{end}}
<div class="fr"><span></span><label class="ck"><input type="checkbox" name="spoiler" value="on"{{if .Spoiler}} checked{{end}}> Spoiler the file</label></div>
<div class="fr"><label for="f-pwd">Password</label><input id="f-pwd" type="password" name="pwd" maxlength="100" autocomplete="off" placeholder="to delete your post later"></div>
<div class="fr"><span></span><button type="submit">Post again</button></div>
</form>
<ul><li><a href="/{{$.Board}}/{{if .Resto}}thread/{{.Resto}}{{end}}">Back to {{if .Resto}}the thread{{else}}/{{$.Board}}/{{end}}</a></li><li><a href="/">Home</a></li></ul></main>
{{- else}}
<main class="errp"><h1>{{.Heading}}</h1><p>{{.Message}}</p>
<ul>{{if .Back}}<li><a href="{{.Back}}">Go back</a></li>{{end}}<li><a href="/">Home</a></li></ul></main>{{end}}</body></html>
`))
