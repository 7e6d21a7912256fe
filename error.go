package maniwani

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what sort of failure an error is; each transport maps a kind to its
// status once (HTTP: HTTPStatus).
type Kind int

const (
	KindInternal     Kind = iota // a fault of ours; the message is not for the public
	KindInvalid                  // the request is wrong
	KindNotFound                 // what it names does not exist
	KindForbidden                // it is not allowed (a ban, a closed thread, a role)
	KindConflict                 // it clashes with what exists
	KindTooMany                  // slow down (cooldowns, rate limits)
	KindUnavailable              // a dependency is down; try again
	KindUnauthorized             // who you are is not known (no session)
	KindTooLarge                 // a file or body over its limit
)

// Error is an error with a kind and a message a person can read.
type Error struct {
	Kind    Kind
	Message string
	Err     error // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an error of a kind with a readable message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// HTTPStatus is the HTTP status of err's kind, the one mapping every HTTP
// transport uses; errors without a kind are 500.
func HTTPStatus(err error) int {
	switch ErrorKind(err) {
	case KindInvalid:
		return 400
	case KindUnauthorized:
		return 401
	case KindForbidden:
		return 403
	case KindNotFound:
		return 404
	case KindConflict:
		return 409
	case KindTooLarge:
		return 413
	case KindTooMany:
		return 429
	case KindUnavailable:
		return 503
	}
	return 500
}

// ErrorKind is the kind of err; errors that carry none are internal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage is what may be told to the client about err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e.Message
	}
	return "Internal error."
}

// RetryLater is a refusal that says when to try again (a limit spent, a
// server busy): over HTTP, its Retry-After.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }

// RetryAfter is how long err asks its client to wait before trying again;
// 0 when it does not say.
func RetryAfter(err error) time.Duration {
	var rl *RetryLater
	if errors.As(err, &rl) {
		return rl.After
	}
	return 0
}
