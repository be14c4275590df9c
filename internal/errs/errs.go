// Package errs defines the error kinds that domain code returns and that each
// API family maps to its own wire format (DRF for the Waldur family,
// fieldErrors for the FusionAuth family).
package errs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind classifies an error for transport mapping.
type Kind int

const (
	// Internal is anything unexpected; its message is never shown to clients.
	Internal Kind = iota
	// Invalid means the request is malformed or breaks a rule; maps to 400.
	Invalid
	// Unauthenticated means no or bad credentials; maps to 401.
	Unauthenticated
	// Forbidden means the caller may see the object but not do this; maps to 403.
	Forbidden
	// NotFound means the object does not exist or the caller may not see it; maps to 404.
	NotFound
	// Conflict means the object's state forbids the change; maps to 409 or the
	// family's equivalent.
	Conflict
	// Throttled means too many attempts; maps to 429.
	Throttled
	// Upstream means a party the change depends on refused it (a
	// transactional webhook): nothing was committed; maps to 504.
	Upstream
)

// Error is a domain error with a kind, a message for clients and optional
// per-field messages.
type Error struct {
	Kind    Kind
	Message string
	// Fields holds per-field messages, keyed by the field's wire name.
	Fields map[string][]string
	// Codes gives each field message's machine code ("blank", "missing",
	// "invalid", "duplicate", "tooLong"), parallel to Fields. The FusionAuth
	// family shows it as "[code]field"; the Waldur family ignores it.
	Codes map[string][]string
	// Code is a request-level machine code (FusionAuth's general errors,
	// e.g. "[WebhookTransactionException]"); Data goes with it.
	Code string
	Data map[string]any
	// RetryAfterSeconds is set for Throttled errors.
	RetryAfterSeconds int
	Err               error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s: %s;", k, strings.Join(e.Fields[k], " "))
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of the given kind.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error for one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: Invalid, Message: msg, Fields: map[string][]string{field: {msg}}}
}

// Coded builds an Invalid error for one field with a machine code.
func Coded(code, field, format string, args ...any) *Error {
	return (&Error{Kind: Invalid}).Add(code, field, format, args...)
}

// Add records another field error on e (an Invalid error) and returns e,
// so validation can collect every problem before answering.
func (e *Error) Add(code, field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if e.Fields == nil {
		e.Fields = map[string][]string{}
	}
	if e.Codes == nil {
		e.Codes = map[string][]string{}
	}
	if e.Message == "" {
		e.Message = msg
	}
	e.Fields[field] = append(e.Fields[field], msg)
	e.Codes[field] = append(e.Codes[field], code)
	return e
}

// OrNil returns e when it holds field errors and nil otherwise (the end of
// a validation that collected with Add).
func (e *Error) OrNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// NotFoundf is a shorthand for the most common error.
func NotFoundf(format string, args ...any) *Error { return E(NotFound, format, args...) }

// KindOf returns the kind of err, or Internal for errors that are not *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Wrap annotates *errp with the operation name when it is non-nil, keeping
// the kind visible to errors.As. Use as `defer errs.Wrap(&err, "Op(%v)", x)`.
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
