package apifuzz

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// document is the part of the OpenAPI 3.1 document the fuzzer reads.
// Schemas stay generic maps: JSON Schema 2020-12 allows "type" to be a
// string or a list.
type document struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

// operation is one method on one path of the document.
type operation struct {
	Key    string // "POST /api/customers/"
	Method string
	Path   string // template, e.g. /api/customers/{uuid}/
	Params []param
	// Body is the request body schema, nil when the operation takes none.
	Body         map[string]any
	BodyRequired bool
	Responses    map[string]*response
	Tags         []string
	// FA marks an operation of the FusionAuth family (isFusionAuthPath):
	// its answers follow FusionAuth's dialect, not DRF's.
	FA bool
}

type param struct {
	Name     string         `json:"name"`
	In       string         `json:"in"`
	Required bool           `json:"required"`
	Schema   map[string]any `json:"schema"`
}

type response struct {
	Headers map[string]map[string]any `json:"headers"`
	Content map[string]struct {
		Schema map[string]any `json:"schema"`
	} `json:"content"`
}

var httpMethods = []string{"get", "head", "post", "put", "patch", "delete"}

// operations lists every operation of the document, sorted by key.
func (d *document) operations() ([]*operation, error) {
	var out []*operation
	for path, item := range d.Paths {
		for method, raw := range item {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var op struct {
				Parameters  []param `json:"parameters"`
				RequestBody *struct {
					Required bool `json:"required"`
					Content  map[string]struct {
						Schema map[string]any `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
				Responses map[string]*response `json:"responses"`
				Tags      []string             `json:"tags"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			o := &operation{
				Key: strings.ToUpper(method) + " " + path, Method: strings.ToUpper(method), Path: path,
				Params: op.Parameters, Responses: op.Responses, Tags: op.Tags, FA: isFusionAuthPath(path),
			}
			if op.RequestBody != nil {
				o.BodyRequired = op.RequestBody.Required
				if s := op.RequestBody.Content["application/json"].Schema; s != nil {
					o.Body = s
				} else {
					o.Body = map[string]any{}
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (o *operation) param(name, in string) *param {
	for i := range o.Params {
		if o.Params[i].Name == name && o.Params[i].In == in {
			return &o.Params[i]
		}
	}
	return nil
}

// mutating reports whether the operation may change the database.
func (o *operation) mutating() bool {
	return o.Method != "GET" && o.Method != "HEAD"
}

// resolve follows $ref to a component schema.
func (d *document) resolve(s map[string]any) map[string]any {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
}

// types lists the JSON types a schema allows (empty: any).
func types(s map[string]any) []string {
	switch ty := s["type"].(type) {
	case string:
		return []string{ty}
	case []any:
		var out []string
		for _, x := range ty {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

func nullable(s map[string]any) bool { return slices.Contains(types(s), "null") }

// mainType is the first non-null type of a schema ("" for any).
func mainType(s map[string]any) string {
	for _, t := range types(s) {
		if t != "null" {
			return t
		}
	}
	return ""
}

func jsonType(v any) []string {
	switch v := v.(type) {
	case nil:
		return []string{"null"}
	case bool:
		return []string{"boolean"}
	case float64:
		if v == math.Trunc(v) {
			return []string{"number", "integer"}
		}
		return []string{"number"}
	case json.Number: // beyond float64
		if strings.ContainsAny(string(v), ".eE") {
			return []string{"number"}
		}
		return []string{"number", "integer"}
	case string:
		return []string{"string"}
	case []any:
		return []string{"array"}
	case map[string]any:
		return []string{"object"}
	}
	return []string{fmt.Sprintf("%T", v)}
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

var (
	patternCache sync.Map // string → *regexp.Regexp
	dashedUUID   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

func compiled(p string) (*regexp.Regexp, error) {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	patternCache.Store(p, re)
	return re, nil
}

// validate checks v against schema s: the subset of JSON Schema 2020-12
// that heed's document uses (types, enum, properties, required,
// additionalProperties, items, pattern, lengths, ranges, and the formats
// date-time, date, uuid, uri and int64).
func (d *document) validate(where string, s map[string]any, v any) []string {
	return d.validateAs(where, s, v, false)
}

// validateAs is validate; inRequest reads the schema as a request's:
// a required property that is readOnly need not be sent (OpenAPI's rule
// for readOnly).
func (d *document) validateAs(where string, s map[string]any, v any, inRequest bool) []string {
	s = d.resolve(s)
	if s == nil {
		return []string{where + ": unresolvable schema"}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[key].([]any); ok {
			var first []string
			for i, a := range alts {
				as, _ := a.(map[string]any)
				errs := d.validateAs(where, as, v, inRequest)
				if len(errs) == 0 {
					first = nil
					break
				}
				if i == 0 {
					first = errs
				}
			}
			if first != nil {
				return first
			}
		}
	}
	if ts := types(s); len(ts) > 0 {
		ok := false
		for _, jt := range jsonType(v) {
			if slices.Contains(ts, jt) {
				ok = true
			}
		}
		if !ok {
			return []string{fmt.Sprintf("%s: %s value, schema allows %v", where, jsonType(v)[0], ts)}
		}
	}
	var errs []string
	if enum, ok := s["enum"].([]any); ok && v != nil {
		if !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
			errs = append(errs, fmt.Sprintf("%s: %s not in enum %v", where, short(v), enum))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if ps, _ := props[r].(map[string]any); inRequest && ps["readOnly"] == true {
				continue
			}
			if _, ok := v[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q missing", where, r))
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			x := v[k]
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, d.validateAs(where+"."+k, ps, x, inRequest)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: undeclared property %q", where, k))
				}
			case map[string]any:
				errs = append(errs, d.validateAs(where+"."+k, ap, x, inRequest)...)
			}
		}
	case []any:
		if n, ok := num(s["minItems"]); ok && len(v) < int(n) {
			errs = append(errs, fmt.Sprintf("%s: fewer than %v items", where, n))
		}
		if n, ok := num(s["maxItems"]); ok && len(v) > int(n) {
			errs = append(errs, fmt.Sprintf("%s: more than %v items", where, n))
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, d.validateAs(fmt.Sprintf("%s[%d]", where, i), items, x, inRequest)...)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok {
			if re, err := compiled(p); err != nil {
				errs = append(errs, fmt.Sprintf("%s: pattern %q does not compile: %v", where, p, err))
			} else if !re.MatchString(v) {
				errs = append(errs, fmt.Sprintf("%s: %s does not match %s", where, short(v), p))
			}
		}
		if n, ok := num(s["minLength"]); ok && utf8.RuneCountInString(v) < int(n) {
			errs = append(errs, fmt.Sprintf("%s: shorter than %v", where, n))
		}
		if n, ok := num(s["maxLength"]); ok && utf8.RuneCountInString(v) > int(n) {
			errs = append(errs, fmt.Sprintf("%s: longer than %v", where, n))
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s is not a date-time", where, short(v)))
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s is not a date", where, short(v)))
			}
		case "uuid":
			if !dashedUUID.MatchString(v) {
				errs = append(errs, fmt.Sprintf("%s: %s is not an RFC 4122 uuid", where, short(v)))
			}
		case "uri":
			if u, err := url.Parse(v); err != nil || !u.IsAbs() {
				errs = append(errs, fmt.Sprintf("%s: %s is not an absolute URI", where, short(v)))
			}
		}
	case json.Number:
		errs = append(errs, fmt.Sprintf("%s: %s is beyond what a float64 holds", where, v))
	case float64:
		if f, _ := s["format"].(string); f == "int64" && (v >= 1<<63 || v < -(1<<63)) {
			errs = append(errs, fmt.Sprintf("%s: %v is beyond int64", where, v))
		}
		if f, _ := s["format"].(string); f == "int32" && (v >= 1<<31 || v < -(1<<31)) {
			errs = append(errs, fmt.Sprintf("%s: %v is beyond int32", where, v))
		}
		if n, ok := num(s["minimum"]); ok && v < n {
			errs = append(errs, fmt.Sprintf("%s: %v below minimum %v", where, v, n))
		}
		if n, ok := num(s["maximum"]); ok && v > n {
			errs = append(errs, fmt.Sprintf("%s: %v above maximum %v", where, v, n))
		}
		if f, _ := s["format"].(string); (f == "int64" || f == "int32") && v != math.Trunc(v) {
			errs = append(errs, fmt.Sprintf("%s: %v is not an integer", where, v))
		}
	}
	return errs
}

// decodeLoose decodes JSON keeping numbers that do not fit a float64 as
// json.Number (1e400), and every other number as float64.
func decodeLoose(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return floats(v), nil
}

func floats(v any) any {
	switch v := v.(type) {
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v
	case map[string]any:
		for k, x := range v {
			v[k] = floats(x)
		}
	case []any:
		for i, x := range v {
			v[i] = floats(x)
		}
	}
	return v
}

// requestViolations lists what in a request the document forbids: path
// and query values against their parameters' schemas, and the body against
// the request body's. A server that answers 2xx to such a request accepts
// more than its contract says (or the contract says less than it checks).
func (d *document) requestViolations(r *request) []string {
	var out []string
	strParam := func(where string, s map[string]any, v string) {
		s = d.resolve(s)
		if mainType(s) == "array" {
			s, _ = s["items"].(map[string]any)
			s = d.resolve(s)
		}
		if mainType(s) == "string" || mainType(s) == "" {
			out = append(out, d.validate(where, s, v)...)
		}
	}
	for _, k := range sortedKeys(r.pathVals) {
		if p := r.op.param(k, "path"); p != nil {
			strParam("path "+k, p.Schema, r.pathVals[k])
		}
	}
	count := map[string]int{}
	for _, q := range r.query {
		count[q.name]++
	}
	for _, q := range r.query {
		p := r.op.param(q.name, "query")
		// An empty filter is no filter (django-filter), and which of the
		// values of a repeated single-valued parameter counts is the
		// server's choice: neither is held against it.
		if p == nil || q.value == "" || count[q.name] > 1 && mainType(d.resolve(p.Schema)) != "array" {
			continue
		}
		if r.op.FA && faAbsentQuery(q.value) {
			continue
		}
		strParam("query "+q.name, p.Schema, q.value)
	}
	if r.op.Body == nil {
		return out
	}
	b := r.bodyBytes()
	if b == nil || len(strings.TrimSpace(string(b))) == 0 && !r.op.BodyRequired {
		// No body, or an empty one, where the body is optional.
		return out
	}
	if !utf8.Valid(b) {
		return append(out, "body: not valid UTF-8")
	}
	v, err := decodeLoose(b)
	if err != nil {
		return append(out, "body: not JSON: "+err.Error())
	}
	if r.op.FA {
		// FusionAuth reads a null property as an absent one, and its
		// request objects are its response models, whose readOnly
		// properties (active, insertInstant) a request leaves out.
		v = dropNullProperties(v)
		return append(out, d.validateAs("body", r.op.Body, v, true)...)
	}
	return append(out, d.validate("body", r.op.Body, v)...)
}

// short renders a value for a message, cut to a readable length.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "…"
	}
	return string(b)
}

// drfShape returns why body is not a Django REST Framework error: it must
// be {"detail": "<string>"} or a non-empty object whose every value is a
// non-empty list of strings.
func drfShape(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "body is not JSON: " + err.Error()
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf("body is a JSON %s, not an object", jsonType(v)[0])
	}
	if len(m) == 0 {
		return "body is an empty object"
	}
	if d, ok := m["detail"].(string); ok {
		// execute_action's failures also carry Waldur's "error" (issue 12).
		if e, isErr := m["error"].(string); len(m) == 2 && isErr && e != "" {
			return ""
		}
		if len(m) != 1 {
			return "detail object has other keys too"
		}
		if d == "" {
			return "detail is empty"
		}
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l, ok := m[k].([]any)
		if !ok {
			return fmt.Sprintf("field %q is a JSON %s, not a list of strings", k, jsonType(m[k])[0])
		}
		if len(l) == 0 {
			return fmt.Sprintf("field %q has no messages", k)
		}
		for _, x := range l {
			if s, ok := x.(string); !ok || s == "" {
				return fmt.Sprintf("field %q has a message that is not a non-empty string: %s", k, short(x))
			}
		}
	}
	return ""
}

// fieldErrorKeys returns the keys of a DRF field-error body (nil for a
// detail body or anything else).
func fieldErrorKeys(body []byte) []string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	if _, ok := m["detail"].(string); ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// knownErrorKey reports whether a field-error key names something the
// operation accepts: a parameter, a body property (or a path below one, as
// in "options.x" or "components[0].type"), or DRF's non_field_errors.
func (d *document) knownErrorKey(op *operation, key string) bool {
	if key == "non_field_errors" {
		return true
	}
	first := key
	if i := strings.IndexAny(first, ".["); i > 0 {
		first = first[:i]
	}
	for _, p := range op.Params {
		if p.Name == first {
			return true
		}
	}
	if op.Body != nil {
		if props, ok := d.resolve(op.Body)["properties"].(map[string]any); ok {
			if _, ok := props[first]; ok {
				return true
			}
		}
	}
	return false
}

// propertyNames lists every property name declared anywhere in the
// document, for parameters such as ?field= that take one.
func (d *document) propertyNames() []string {
	set := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k := range props {
					set[k] = true
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, s := range d.Components.Schemas {
		walk(s)
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// orderingFields reads the fields an ordering parameter lists in its
// description ("Ordering: name, created." or "… Fields: a, b.").
func orderingFields(desc string) []string {
	if _, after, ok := strings.Cut(desc, "Fields:"); ok {
		desc = after
	} else if _, after, ok := strings.Cut(desc, "Ordering:"); ok {
		desc = after
	}
	var out []string
	for _, f := range strings.Split(desc, ",") {
		f = strings.Trim(strings.TrimSpace(f), ".")
		if regexp.MustCompile(`^[a-z_]+$`).MatchString(f) {
			out = append(out, f)
		}
	}
	return out
}
