// Package errs holds Portal's one error type. Domain code returns *Error with a Code; HTTPStatus is the one
// mapping of codes to status codes, and the transports render the bodies (Backstage's, OFREP's, pages).
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error by what the caller should do about it.
type Code string

const (
	Invalid         Code = "invalid"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	Unauthenticated Code = "unauthenticated"
	Forbidden       Code = "forbidden"
	NotModified     Code = "not_modified"
	// PreconditionFailed is a conditional write (If-Match) whose condition no longer holds.
	PreconditionFailed Code = "precondition_failed"
	// TooManyRequests is a caller over its rate limit.
	TooManyRequests Code = "too_many_requests"
	Unavailable     Code = "unavailable"
	NotImplemented  Code = "not_implemented"
	Internal        Code = "internal"
)

// Error is an error with a code and a message fit to show to the caller.
type Error struct {
	Code    Code
	Message string
	// Err is the underlying cause, kept for logs and errors.Is; it is never shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to a cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal for any other non-nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the message of the first *Error in err's chain, or a generic message for others,
// so that internal details never reach a caller.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// HTTPStatus is the HTTP status an error code is answered with, the same on the API and the pages.
func HTTPStatus(code Code) int {
	switch code {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotModified:
		return http.StatusNotModified
	case PreconditionFailed:
		return http.StatusPreconditionFailed
	case TooManyRequests:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	case NotImplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
