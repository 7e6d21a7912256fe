package api

import (
	"net/http"
	"strconv"

	"github.com/maniwani/maniwani"
)

// The internal routes: what other services read of the api when they run
// apart (maniwani.Reader for the ui, maniwani.FileNames for media), as JSON
// of the domain types. They are never public: the router refuses
// InternalPrefix, and the api's port is not published.

// InternalPrefix starts every route between services.
const InternalPrefix = "/_internal/"

func (s *Service) registerInternal(m *http.ServeMux) {
	m.HandleFunc("GET /_internal/boards", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Boards(r.Context())
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/boards/{board}", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Board(r.Context(), r.PathValue("board"))
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/threads/{board}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset, _ := strconv.Atoi(q.Get("offset"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		last, _ := strconv.Atoi(q.Get("last"))
		v, err := s.Threads(r.Context(), r.PathValue("board"), offset, limit, last)
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/threads/{board}/{no}", func(w http.ResponseWriter, r *http.Request) {
		no, err := postNo(r)
		var v *maniwani.ThreadView
		if err == nil {
			v, err = s.Thread(r.Context(), r.PathValue("board"), no)
		}
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/posts/{board}/{no}/thread", func(w http.ResponseWriter, r *http.Request) {
		no, err := postNo(r)
		var thread int64
		if err == nil {
			thread, err = s.ThreadOf(r.Context(), r.PathValue("board"), no)
		}
		s.internalReply(w, r, thread, err)
	})
	m.HandleFunc("GET /_internal/posts/{board}/{no}/moved", func(w http.ResponseWriter, r *http.Request) {
		no, err := postNo(r)
		var v maniwani.MovedPost
		if err == nil {
			v, err = s.MovedTo(r.Context(), r.PathValue("board"), no)
		}
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/archive/{board}", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		v, err := s.Archive(r.Context(), r.PathValue("board"), limit)
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/latest", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		v, err := s.Latest(r.Context(), limit)
		s.internalReply(w, r, v, err)
	})
	m.HandleFunc("GET /_internal/files/{board}/{tim}", func(w http.ResponseWriter, r *http.Request) {
		tim, err := strconv.ParseInt(r.PathValue("tim"), 10, 64)
		var v maniwani.FileRef
		if err != nil {
			err = maniwani.Errorf(maniwani.KindNotFound, "%q is not a file name.", r.PathValue("tim"))
		} else {
			v, err = s.FileByName(r.Context(), r.PathValue("board"), tim)
		}
		s.internalReply(w, r, v, err)
	})
}

// internalReply answers v as JSON, or the error as maniwani.WriteError
// does, so the client gives it back with the same kind.
func (s *Service) internalReply(w http.ResponseWriter, r *http.Request, v any, err error) {
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		if maniwani.HTTPStatus(err) >= 500 {
			s.log.Error("internal request failed", "path", r.URL.Path, "err", err)
		}
		maniwani.WriteError(w, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
