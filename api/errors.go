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
	errorPage.Execute(w, map[string]any{"Status": code, "Text": http.StatusText(code), "Message": maniwani.ErrorMessage(err),
		"Back": r.Referer(), "Heading": heading})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Text}} - Maniwani</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="errp"><h1>{{.Heading}}</h1><p>{{.Message}}</p>
<ul>{{if .Back}}<li><a href="{{.Back}}">Go back</a></li>{{end}}<li><a href="/">Home</a></li></ul></main></body></html>
`))
