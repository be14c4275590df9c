package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/errs"
)

// The FusionAuth family's dialect, in one place: its error shape
// ({"fieldErrors", "generalErrors"}), empty 401/404/500 bodies, API-key
// auth (a staff token, sent bare), epoch-millisecond instants and dashed
// ids. Operations opt in with faOperation; the shared paths (the input
// boundary, auth, the mux's 404, panics) branch on the operation's
// metadata or, where there is no operation, on the path.

const (
	dialectKey       = "dialect"
	dialectFusionAut = "fusionauth"
)

func isFusionAuthOp(op *huma.Operation) bool {
	return op != nil && op.Metadata[dialectKey] == dialectFusionAut
}

// fusionAuthPrefixes are the FusionAuth family's paths. Waldur's lookalikes
// (/api/users/, /api/user-actions/) differ by their plural.
var fusionAuthPrefixes = []string{
	"/api/webhook", "/api/tenant", "/api/key", "/api/system", "/api/system-configuration", "/api/user-action",
	"/api/user-action-reason", "/api/user", "/api/application", "/api/email/template",
}

func isFusionAuthPath(p string) bool {
	for _, pre := range fusionAuthPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// FAError is FusionAuth's Errors object.
type FAError struct {
	status        int
	FieldErrors   map[string][]FAErrorItem `json:"fieldErrors,omitempty"`
	GeneralErrors []FAErrorItem            `json:"generalErrors,omitempty"`
}

// FAErrorItem is one error: a code such as "[blank]webhook.url", a message
// and, sometimes, data.
type FAErrorItem struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

func (e *FAError) Error() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// GetStatus implements huma.StatusError.
func (e *FAError) GetStatus() int { return e.status }

// Schema describes the Errors object for the OpenAPI document.
func (e *FAError) Schema(huma.Registry) *huma.Schema {
	item := &huma.Schema{Type: huma.TypeObject, Required: []string{"code", "message"}, Properties: map[string]*huma.Schema{
		"code":    {Type: huma.TypeString, Description: "[type]path, e.g. [blank]webhook.url, or a general code such as [WebhookTransactionException]."},
		"message": {Type: huma.TypeString},
		"data":    {Type: huma.TypeObject, AdditionalProperties: true},
	}}
	return &huma.Schema{
		Type:        huma.TypeObject,
		Description: "FusionAuth's Errors object.",
		Properties: map[string]*huma.Schema{
			"fieldErrors":   {Type: huma.TypeObject, AdditionalProperties: &huma.Schema{Type: huma.TypeArray, Items: item}},
			"generalErrors": {Type: huma.TypeArray, Items: item},
		},
	}
}

// emptyBody: FusionAuth answers these statuses with no body at all.
func emptyBody(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusMethodNotAllowed ||
		(status >= 500 && status != http.StatusGatewayTimeout)
}

func faField(field, code, msg string) *FAError {
	return &FAError{status: http.StatusBadRequest, FieldErrors: map[string][]FAErrorItem{
		field: {{Code: "[" + code + "]" + field, Message: msg}},
	}}
}

func faGeneral(status int, code, msg string) *FAError {
	return &FAError{status: status, GeneralErrors: []FAErrorItem{{Code: code, Message: msg}}}
}

// faFromDomain converts a domain error.
func faFromDomain(e *errs.Error) *FAError {
	status, ok := kindStatus[e.Kind]
	if !ok {
		return &FAError{status: http.StatusInternalServerError}
	}
	if e.Kind == errs.Forbidden {
		status = http.StatusUnauthorized // an API key without the right is a 401 to FusionAuth
	}
	out := &FAError{status: status}
	if len(e.Fields) > 0 {
		out.FieldErrors = map[string][]FAErrorItem{}
		for field, msgs := range e.Fields {
			for i, m := range msgs {
				code := "invalid"
				if i < len(e.Codes[field]) && e.Codes[field][i] != "" {
					code = e.Codes[field][i]
				}
				out.FieldErrors[field] = append(out.FieldErrors[field], FAErrorItem{Code: "[" + code + "]" + field, Message: m})
			}
		}
		return out
	}
	if !emptyBody(status) {
		code := e.Code
		if code == "" {
			code = "[" + strings.ToLower(http.StatusText(status)) + "]"
		}
		out.GeneralErrors = []FAErrorItem{{Code: code, Message: e.Message, Data: e.Data}}
	}
	return out
}

// faFromHuma builds the FusionAuth error for whatever Huma or a handler
// reported, as drfFromHuma does for the Waldur family.
func faFromHuma(status int, msg string, errList []error, internal func()) *FAError {
	for _, err := range errList {
		if err == nil {
			continue
		}
		var fa *FAError
		if errors.As(err, &fa) {
			return fa
		}
		if de, ok := errs.As(err); ok && de.Kind != errs.Internal {
			return faFromDomain(de)
		}
	}
	switch {
	case status >= 500:
		internal()
		return &FAError{status: http.StatusInternalServerError}
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		out := &FAError{status: http.StatusBadRequest}
		for _, err := range errList {
			var d *huma.ErrorDetail
			if !errors.As(err, &d) {
				continue
			}
			if status == http.StatusBadRequest && d.Location == "body" {
				return faGeneral(http.StatusBadRequest, "[invalidJSON]", "Invalid JSON in the request body: "+d.Message)
			}
			field := d.Location
			for _, p := range []string{"body.", "query.", "path.", "header."} {
				field = strings.TrimPrefix(field, p)
			}
			if out.FieldErrors == nil {
				out.FieldErrors = map[string][]FAErrorItem{}
			}
			out.FieldErrors[field] = append(out.FieldErrors[field], FAErrorItem{Code: "[invalid]" + field, Message: d.Message})
		}
		if len(out.FieldErrors) == 0 {
			return faGeneral(http.StatusBadRequest, "[invalid]", msg)
		}
		return out
	case status == http.StatusRequestEntityTooLarge:
		return faGeneral(status, "[tooLarge]", msgBodyTooLarge)
	case status == http.StatusUnsupportedMediaType:
		return faGeneral(status, "[invalidContentType]", "Send the body as application/json.")
	}
	return &FAError{status: status}
}

// faFromDRF converts the input boundary's refusal.
func faFromDRF(e *DRFError) *FAError {
	if e.detail != "" {
		return faGeneral(e.status, "[invalidJSON]", e.detail)
	}
	out := &FAError{status: e.status, FieldErrors: map[string][]FAErrorItem{}}
	keys := make([]string, 0, len(e.fields))
	for k := range e.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, m := range e.fields[k] {
			out.FieldErrors[k] = append(out.FieldErrors[k], FAErrorItem{Code: "[invalid]" + k, Message: m})
		}
	}
	return out
}

// writeFA writes a FusionAuth error outside Huma.
func writeFA(w http.ResponseWriter, e *FAError) {
	if emptyBody(e.status) {
		w.WriteHeader(e.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	b, _ := json.Marshal(e)
	_, _ = w.Write(b)
}

// faBodyless drops the body Huma writes for statuses FusionAuth answers
// empty (Huma always encodes its error model).
type faBodyless struct {
	http.ResponseWriter
	drop bool
}

func (w *faBodyless) WriteHeader(code int) {
	if emptyBody(code) {
		w.drop = true
		w.Header().Del("Content-Type")
		w.Header().Del("Content-Length")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *faBodyless) Write(b []byte) (int, error) {
	if w.drop {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *faBodyless) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// faAuthorized: FusionAuth API keys are staff tokens; anyone else gets 401.
func faAuthorized(u *auth.User) bool { return u != nil && u.IsStaff }

// faResponses makes the document tell the truth about FusionAuth
// operations: errors in the Errors shape, and no body where FusionAuth
// sends none. It runs after validationIs400.
func faResponses(api huma.API) {
	schema := (&FAError{}).Schema(api.OpenAPI().Components.Schemas)
	api.OpenAPI().Components.Schemas.Map()["FusionAuthErrors"] = schema
	ref := &huma.Schema{Ref: "#/components/schemas/FusionAuthErrors"}
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if !isFusionAuthOp(op) {
				continue
			}
			op.Security = authRequired
			for code, r := range op.Responses {
				if len(code) != 3 || code[0] < '4' {
					continue
				}
				c := *r
				status := int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
				if emptyBody(status) {
					c.Content = nil
				} else {
					c.Content = map[string]*huma.MediaType{"application/json": {Schema: ref}}
				}
				op.Responses[code] = &c
			}
		}
	}
}
