package maniwani

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// An error crosses HTTP (between services, and to the staff API's clients)
// as its status, its kind's name in ErrorKindHeader and the JSON
// {"error": message}: the public shape of a refusal, which the header
// leaves as it is, and which a HEAD answer, with no body, still carries.
// A kind travels by name, not number, so a kind added later reaches an
// older reader as a name it does not know, which it reads from the status
// instead (DecodeError).

// ErrorKindHeader carries the name of an error answer's kind.
const ErrorKindHeader = "X-Maniwani-Error-Kind"

// String is the kind's name on the wire.
func (k Kind) String() string {
	switch k {
	case KindInternal:
		return "internal"
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindForbidden:
		return "forbidden"
	case KindConflict:
		return "conflict"
	case KindTooMany:
		return "too_many"
	case KindUnavailable:
		return "unavailable"
	case KindUnauthorized:
		return "unauthorized"
	case KindTooLarge:
		return "too_large"
	}
	return "unknown"
}

// ParseKind is the kind named name; ok is false for a name it does not know.
func ParseKind(name string) (k Kind, ok bool) {
	for k := KindInternal; k <= KindTooLarge; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return KindInternal, false
}

// kindOfStatus is the kind an HTTP status stands for, for an answer whose
// kind is missing or unknown: the kind HTTPStatus maps to it; another 4xx is
// the request's fault (invalid); a gateway's 5xx means the service is not
// reached (unavailable); any other status is internal.
func kindOfStatus(code int) Kind {
	switch code {
	case http.StatusBadRequest:
		return KindInvalid
	case http.StatusUnauthorized:
		return KindUnauthorized
	case http.StatusForbidden:
		return KindForbidden
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusConflict:
		return KindConflict
	case http.StatusRequestEntityTooLarge:
		return KindTooLarge
	case http.StatusTooManyRequests:
		return KindTooMany
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return KindUnavailable
	}
	if code >= 400 && code < 500 {
		return KindInvalid
	}
	return KindInternal
}

// WriteError answers err: at HTTPStatus(err), with its kind in
// ErrorKindHeader and the JSON {"error": ErrorMessage(err)} and extra's
// fields besides, and Retry-After when err says when to try again (whole
// seconds, rounded up). Headers set on w before stay.
func WriteError(w http.ResponseWriter, err error, extra map[string]any) {
	body := make(map[string]any, len(extra)+1)
	for k, v := range extra {
		body[k] = v
	}
	body["error"] = ErrorMessage(err)
	h := w.Header()
	if d := RetryAfter(err); d > 0 && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	h.Set("Content-Type", "application/json")
	h.Set(ErrorKindHeader, ErrorKind(err).String())
	w.WriteHeader(HTTPStatus(err))
	json.NewEncoder(w).Encode(body)
}

// DecodeError is the error that an answer of code, header h and body (an
// answer of WriteError's, or a proxy's) stands for; nil for a 2xx. Its kind
// is the header's, or the status's when the header names none it knows;
// its message is the body's "error", or the status's text; a Retry-After in
// seconds makes it a *RetryLater.
func DecodeError(code int, h http.Header, body []byte) error {
	if code >= 200 && code <= 299 {
		return nil
	}
	kind, ok := ParseKind(h.Get(ErrorKindHeader))
	if !ok {
		kind = kindOfStatus(code)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = http.StatusText(code) + "."
	}
	var err error = &Error{Kind: kind, Message: e.Error}
	if secs, perr := strconv.Atoi(h.Get("Retry-After")); perr == nil && secs > 0 {
		err = &RetryLater{After: time.Duration(secs) * time.Second, Err: err}
	}
	return err
}

// ResponseError is DecodeError of resp, whose body it reads (up to 64 KB)
// but does not close; nil for a 2xx, whose body is left unread.
func ResponseError(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return DecodeError(resp.StatusCode, resp.Header, body)
}
