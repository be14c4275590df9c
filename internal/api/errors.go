package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/errs"
)

// DRFError is an error in Django REST Framework's shape: either
// {"detail": "..."} or {"field": ["message", ...], ...}.
type DRFError struct {
	status     int
	detail     string
	fields     map[string][]string
	retryAfter int
}

func (e *DRFError) Error() string {
	if e.detail != "" {
		return e.detail
	}
	b, _ := json.Marshal(e.fields)
	return string(b)
}

// GetStatus implements huma.StatusError.
func (e *DRFError) GetStatus() int { return e.status }

// GetHeaders implements huma.HeadersError.
func (e *DRFError) GetHeaders() http.Header {
	h := http.Header{}
	switch {
	case e.status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", "Token")
	case e.retryAfter > 0:
		h.Set("Retry-After", fmt.Sprint(e.retryAfter))
	}
	return h
}

// MarshalJSON renders the DRF body.
func (e *DRFError) MarshalJSON() ([]byte, error) {
	if len(e.fields) > 0 {
		return json.Marshal(e.fields)
	}
	return json.Marshal(map[string]string{"detail": e.detail})
}

// Schema describes the DRF body for the OpenAPI document.
func (e *DRFError) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type:        huma.TypeObject,
		Description: `Django REST Framework error: {"detail": "..."} for request-level errors, or field name → list of messages for invalid input.`,
		Properties: map[string]*huma.Schema{
			"detail": {Type: huma.TypeString, Description: "What went wrong, for request-level errors."},
		},
		AdditionalProperties: &huma.Schema{Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeString}},
	}
}

func detailError(status int, detail string) *DRFError {
	return &DRFError{status: status, detail: detail}
}

// Standard DRF messages.
const (
	msgNotFound      = "Not found."
	msgForbidden     = "You do not have permission to perform this action."
	msgNotProvided   = "Authentication credentials were not provided."
	msgInvalidPage   = "Invalid page."
	msgInternal      = "Internal server error."
	msgBodyTooLarge  = "Request body is too large."
	msgRequiredField = "This field is required."
)

var kindStatus = map[errs.Kind]int{
	errs.Invalid:         http.StatusBadRequest,
	errs.Unauthenticated: http.StatusUnauthorized,
	errs.Forbidden:       http.StatusForbidden,
	errs.NotFound:        http.StatusNotFound,
	errs.Conflict:        http.StatusBadRequest,
	errs.Throttled:       http.StatusTooManyRequests,
	errs.Upstream:        http.StatusGatewayTimeout,
}

// fromDomain converts a domain error to its DRF form.
func fromDomain(e *errs.Error) *DRFError {
	status, ok := kindStatus[e.Kind]
	if !ok {
		return detailError(http.StatusInternalServerError, msgInternal)
	}
	if len(e.Fields) > 0 {
		return &DRFError{status: status, fields: e.Fields}
	}
	return &DRFError{status: status, detail: e.Message, retryAfter: e.RetryAfterSeconds}
}

// newError replaces huma.NewErrorWithContext: every error Huma produces
// (validation, body limits, handler errors) leaves in the DRF shape.
//
// Huma applies an error's headers (huma.HeadersError) only when a handler
// returns it directly; huma.WriteErr and the conversion of other handler
// errors (domain errors) skip them. The headers are set here instead, so a
// 401 carries WWW-Authenticate and a 429 Retry-After.
func newError(logger *slog.Logger) func(huma.Context, int, string, ...error) huma.StatusError {
	build := drfFromHuma(logger)
	return func(ctx huma.Context, status int, msg string, errList ...error) huma.StatusError {
		if status >= 500 && abandoned(ctx, errList) {
			return clientClosed()
		}
		if ctx != nil && isFusionAuthOp(ctx.Operation()) {
			return faFromHuma(status, msg, errList, func() {
				attrs := []any{"status", status, "message", msg, "method", ctx.Method(), "path", ctx.URL().Path}
				for _, err := range errList {
					if err != nil {
						attrs = append(attrs, "error", err.Error())
					}
				}
				logger.Error("request failed", attrs...)
			})
		}
		e := build(ctx, status, msg, errList...)
		if ctx != nil {
			for k, v := range e.GetHeaders() {
				for _, s := range v {
					ctx.SetHeader(k, s)
				}
			}
		}
		return e
	}
}

func drfFromHuma(logger *slog.Logger) func(huma.Context, int, string, ...error) *DRFError {
	return func(ctx huma.Context, status int, msg string, errList ...error) *DRFError {
		for _, err := range errList {
			if err == nil {
				continue
			}
			var drf *DRFError
			if errors.As(err, &drf) {
				return drf
			}
			if de, ok := errs.As(err); ok && de.Kind != errs.Internal {
				return fromDomain(de)
			}
		}
		switch {
		case status >= 500 && abandoned(ctx, errList):
			return clientClosed()
		case status >= 500:
			attrs := []any{"status", status, "message", msg}
			if ctx != nil {
				attrs = append(attrs, "method", ctx.Method(), "path", ctx.URL().Path)
			}
			for _, err := range errList {
				if err != nil {
					attrs = append(attrs, "error", err.Error())
				}
			}
			logger.Error("request failed", attrs...)
			return detailError(http.StatusInternalServerError, msgInternal)
		case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
			return validationError(status, msg, errList)
		case status == http.StatusRequestEntityTooLarge:
			return detailError(status, msgBodyTooLarge)
		case status == http.StatusUnsupportedMediaType:
			ct := ""
			if ctx != nil {
				ct = ctx.Header("Content-Type")
			}
			return detailError(status, fmt.Sprintf("Unsupported media type %q in request.", ct))
		case status == http.StatusNotFound:
			return detailError(status, msgNotFound)
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return detailError(status, msg)
	}
}

// abandoned reports whether a failure is the client's leaving: the request's
// context was cancelled (net/http does that when the connection closes), so
// the query or call that failed was interrupted, not broken. Without a
// request at hand, an error that is context.Canceled says the same.
func abandoned(ctx huma.Context, errList []error) bool {
	if ctx != nil {
		return errors.Is(ctx.Context().Err(), context.Canceled)
	}
	for _, err := range errList {
		if errors.Is(err, context.Canceled) {
			return true
		}
	}
	return false
}

// clientClosed is the answer to an abandoned request. Nobody reads it; it is
// not logged as a failure, and logRequests counts it as 499.
func clientClosed() *DRFError {
	return detailError(StatusClientClosedRequest, "Client closed request.")
}

// validationError maps Huma's located error details to DRF field errors.
// "body.name" → "name"; "query.page_size" → "page_size"; a body that is not
// valid JSON at all → {"detail": "JSON parse error - ..."}.
func validationError(status int, msg string, errList []error) *DRFError {
	fields := map[string][]string{}
	for _, err := range errList {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			if err != nil {
				fields["non_field_errors"] = append(fields["non_field_errors"], err.Error())
			}
			continue
		}
		if status == http.StatusBadRequest && d.Location == "body" {
			// Huma answers 400 (not 422) only when the body did not parse;
			// its message is the decoder's ("invalid character ...").
			return detailError(http.StatusBadRequest, "JSON parse error - "+d.Message)
		}
		loc := d.Location
		for _, p := range []string{"body.", "query.", "path.", "header."} {
			loc = strings.TrimPrefix(loc, p)
		}
		if strings.HasPrefix(d.Location, "query.") {
			// A repeated parameter (?state=a&state=b) is one field to DRF:
			// "state", not "state[1]".
			if i := strings.IndexByte(loc, '['); i > 0 {
				loc = loc[:i]
			}
		}
		message := d.Message
		switch {
		case loc == "body" && strings.HasPrefix(message, "expected required property "):
			// Huma reports a missing field at the parent object.
			name := strings.TrimSuffix(strings.TrimPrefix(message, "expected required property "), " to be present")
			loc, message = name, msgRequiredField
		case strings.HasPrefix(message, "unexpected property"):
			message = "Unexpected field."
		case loc == "body" || loc == "":
			loc = "non_field_errors"
		case strings.HasPrefix(message, "expected string to be RFC 5322 email"):
			message = "Enter a valid email address."
		case strings.HasPrefix(message, "expected string to be ") && len(message) > 22 && unicode.IsUpper(rune(message[22])):
			// A pattern whose patternDescription is DRF's own message.
			message = message[22:]
		}
		if strings.HasPrefix(d.Location, "body") && strings.Contains(strings.ToLower(message), "unmarshal") {
			return detailError(http.StatusBadRequest, "JSON parse error - "+message)
		}
		fields[loc] = append(fields[loc], humanize(message))
	}
	if len(fields) == 0 {
		if msg == "" {
			msg = "Invalid input."
		}
		if strings.Contains(strings.ToLower(msg), "unmarshal") || strings.Contains(strings.ToLower(msg), "json") {
			return detailError(http.StatusBadRequest, "JSON parse error - "+msg)
		}
		return detailError(http.StatusBadRequest, msg)
	}
	for k := range fields {
		sort.Strings(fields[k])
	}
	return &DRFError{status: http.StatusBadRequest, fields: fields}
}

// humanize makes Huma's validator messages read like DRF's: capitalised,
// ending in a full stop.
func humanize(m string) string {
	if m == "" {
		return m
	}
	m = strings.ToUpper(m[:1]) + m[1:]
	if !strings.HasSuffix(m, ".") {
		m += "."
	}
	return m
}

// writeDRF writes a DRF error outside Huma (mux 404/405, panics, auth).
func writeDRF(w http.ResponseWriter, e *DRFError) {
	for k, v := range e.GetHeaders() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	b, _ := e.MarshalJSON()
	_, _ = w.Write(b)
}
