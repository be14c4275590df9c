package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// The input boundary: checks every request makes before Huma decodes it,
// the same on both databases, so that no value one engine would store and
// the other reject reaches SQL (design.md §7). Huma validates types, enums,
// lengths and patterns from the document; what it does not check is here:
//
//   - NUL characters in any string (PostgreSQL refuses them in text and
//     jsonb; SQLite stores them and LIKE then matches everything), and
//     invalid UTF-8 in bodies and query strings;
//   - null for a field the document declares non-nullable (Huma treats a
//     null optional field as absent);
//   - years outside 1–9999 in date and date-time fields (Go parses year
//     0000; neither database nor Python's client represents it);
//   - a body sent to an action that takes none must at least be JSON.
//
// Unknown body fields are ignored, as Django REST Framework does: Waldur's
// clients send keys heed does not declare (ignoreUnknownBodyFields).

const (
	msgNullChars   = "Null characters are not allowed."
	msgNotNull     = "This field may not be null."
	msgYearRange   = "Date must be between 0001-01-01 and 9999-12-31." // as the domain words it
	msgInvalidUTF8 = "Invalid UTF-8."
)

// checkInput returns a DRF error for a request that breaks the boundary, or
// nil after restoring the body for Huma to decode.
func checkInput(op *huma.Operation, reg huma.Registry, r *http.Request) *DRFError {
	fields := map[string][]string{}
	for name, values := range r.URL.Query() {
		for _, v := range values {
			switch {
			case strings.ContainsRune(v, 0):
				addOnce(fields, name, msgNullChars)
			case !utf8.ValidString(v):
				addOnce(fields, name, msgInvalidUTF8)
			case queryDateOutOfRange(op, name, v):
				addOnce(fields, name, msgYearRange)
			}
		}
	}
	if len(fields) > 0 {
		return fieldErrors(fields)
	}
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil || int64(len(raw)) > limit {
		return nil // Huma answers the size or read error in its own words
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && !strings.HasSuffix(mt, "json") {
			return nil // Huma refuses content types it cannot read
		}
	}
	if !utf8.Valid(raw) {
		return detailError(http.StatusBadRequest, "JSON parse error - "+msgInvalidUTF8)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if op.RequestBody == nil {
			return detailError(http.StatusBadRequest, "JSON parse error - "+err.Error())
		}
		return nil // Huma reports the parse error with its position
	}
	var schema *huma.Schema
	if op.RequestBody != nil {
		if mt := op.RequestBody.Content["application/json"]; mt != nil {
			schema = mt.Schema
		}
	}
	walkInput(reg, schema, "", v, fields, isFusionAuthOp(op))
	if len(fields) > 0 {
		return fieldErrors(fields)
	}
	return nil
}

func fieldErrors(fields map[string][]string) *DRFError {
	for k := range fields {
		sort.Strings(fields[k])
	}
	return &DRFError{status: http.StatusBadRequest, fields: fields}
}

func addOnce(fields map[string][]string, name, msg string) {
	for _, m := range fields[name] {
		if m == msg {
			return
		}
	}
	fields[name] = append(fields[name], msg)
}

func resolve(reg huma.Registry, s *huma.Schema) *huma.Schema {
	for s != nil && s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	return s
}

// walkInput checks v against schema s (which may be nil: free-form JSON);
// errors are reported under the top-level field, DRF's granularity for
// most of heed's inputs.
//
// nullOK: FusionAuth's clients send null for "no value", and FusionAuth
// takes it as absent; Huma does the same for optional fields.
func walkInput(reg huma.Registry, s *huma.Schema, field string, v any, fields map[string][]string, nullOK bool) {
	s = resolve(reg, s)
	name := field
	if name == "" {
		name = "non_field_errors"
	}
	switch x := v.(type) {
	case nil:
		if field != "" && s != nil && !s.Nullable && s.Type != "null" && !nullOK {
			addOnce(fields, name, msgNotNull)
		}
	case string:
		if strings.ContainsRune(x, 0) {
			addOnce(fields, name, msgNullChars)
		} else if s != nil && (s.Format == "date" || s.Format == "date-time") && yearOutOfRange(x) {
			addOnce(fields, name, msgYearRange)
		}
	case []any:
		var items *huma.Schema
		if s != nil {
			items = s.Items
		}
		for _, e := range x {
			walkInput(reg, items, name, e, fields, nullOK)
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) {
				addOnce(fields, name, msgNullChars)
				continue
			}
			var ps *huma.Schema
			if s != nil {
				if p, ok := s.Properties[k]; ok {
					ps = p
				} else if ap, ok := s.AdditionalProperties.(*huma.Schema); ok {
					ps = ap
				}
			}
			child := name
			if field == "" {
				child = k
			}
			if ps == nil {
				// Free-form (or undeclared, hence ignored) values still
				// must not carry NUL into a jsonb column.
				walkInput(reg, nil, child, e, fields, nullOK)
				continue
			}
			walkInput(reg, ps, child, e, fields, nullOK)
		}
	}
}

// yearOutOfRange reports a date or date-time whose year is 0000 or has more
// than four digits; other malformed values are left to the format check.
func yearOutOfRange(s string) bool {
	if len(s) < 5 {
		return false
	}
	if s[:4] == "0000" && s[4] == '-' {
		return true
	}
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	return digits > 4 && digits < len(s) && s[digits] == '-'
}

func queryDateOutOfRange(op *huma.Operation, name, v string) bool {
	for _, p := range op.Parameters {
		if p.In == "query" && p.Name == name && p.Schema != nil {
			f := p.Schema.Format
			if p.Schema.Items != nil && f == "" {
				f = p.Schema.Items.Format
			}
			return (f == "date" || f == "date-time") && yearOutOfRange(v)
		}
	}
	return false
}

// ignoreUnknownBodyFields lets every request body schema accept keys it
// does not declare, as DRF serializers do; Huma's default refuses them.
// Declared keys are still validated.
func ignoreUnknownBodyFields(api huma.API) {
	reg := api.OpenAPI().Components.Schemas
	seen := map[*huma.Schema]bool{}
	var open func(s *huma.Schema)
	open = func(s *huma.Schema) {
		s = resolve(reg, s)
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if s.Type == huma.TypeObject && len(s.Properties) > 0 {
			if b, ok := s.AdditionalProperties.(bool); ok && !b {
				s.AdditionalProperties = true
			}
		}
		for _, p := range s.Properties {
			open(p)
		}
		open(s.Items)
	}
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.RequestBody == nil {
				continue
			}
			for _, mt := range op.RequestBody.Content {
				open(mt.Schema)
			}
		}
	}
}
