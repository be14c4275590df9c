package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

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
			field, code := d.Location, "invalid"
			for _, p := range []string{"body.", "query.", "path.", "header."} {
				field = strings.TrimPrefix(field, p)
			}
			if field == "body" || field == "" {
				// The body as a whole names no field: a top-level
				// property it lacks is [missing]<property>, anything
				// else (an array, a string) is not the request's JSON.
				m := requiredProperty.FindStringSubmatch(d.Message)
				if m == nil {
					return faGeneral(http.StatusBadRequest, "[invalidJSON]", "Invalid JSON in the request body: "+d.Message)
				}
				field, code = m[1], "missing"
			}
			if out.FieldErrors == nil {
				out.FieldErrors = map[string][]FAErrorItem{}
			}
			out.FieldErrors[field] = append(out.FieldErrors[field], FAErrorItem{Code: "[" + code + "]" + field, Message: d.Message})
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

// requiredProperty reads the property out of Huma's
// validation.MsgExpectedRequiredProperty.
var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present$`)

// faFromDRF converts the input boundary's refusal. DRF's non_field_errors
// (a problem with the body as a whole, such as a NUL in a top-level key)
// names no field: FusionAuth reports it as a general error.
func faFromDRF(e *DRFError) *FAError {
	if e.detail != "" {
		return faGeneral(e.status, "[invalidJSON]", e.detail)
	}
	out := &FAError{status: e.status}
	keys := make([]string, 0, len(e.fields))
	for k := range e.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, m := range e.fields[k] {
			if k == "non_field_errors" {
				out.GeneralErrors = append(out.GeneralErrors, FAErrorItem{Code: "[invalid]", Message: m})
				continue
			}
			if out.FieldErrors == nil {
				out.FieldErrors = map[string][]FAErrorItem{}
			}
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

// faTenantHeader scopes a FusionAuth request to one tenant.
const faTenantHeader = "X-FusionAuth-TenantId"

type faTenantKey struct{}

// faTenantScope returns the tenant the request is scoped to (uuid.Nil when
// the header is absent). heed decides (fusionauth-compat §1): an object of
// another tenant is treated as if it did not exist; global objects
// (definitions, reasons, webhooks, keys, templates) ignore the header.
func faTenantScope(ctx context.Context) (uuid.UUID, error) {
	v, _ := ctx.Value(faTenantKey{}).(string)
	if faQueryValue(v) == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(strings.TrimSpace(v))
	if err != nil {
		return uuid.Nil, errs.Coded("invalid", "tenantId", "The %s header is not a UUID.", faTenantHeader)
	}
	return id, nil
}

// faOutsideTenant reports whether the request's tenant scope excludes an
// object of tenant t.
func faOutsideTenant(ctx context.Context, t uuid.UUID) (bool, error) {
	scope, err := faTenantScope(ctx)
	return scope != uuid.Nil && scope != t, err
}

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
			op.Parameters = append(op.Parameters, &huma.Param{Name: faTenantHeader, In: "header",
				Description: "Scopes the request to one tenant: objects of other tenants are treated as if they did not exist.",
				Schema:      &huma.Schema{Type: huma.TypeString, Format: "uuid"}})
			if op.RequestBody != nil && op.Responses["413"] == nil {
				// A body over the limit is refused as [tooLarge].
				op.Responses["413"] = &huma.Response{Description: http.StatusText(http.StatusRequestEntityTooLarge)}
			}
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
