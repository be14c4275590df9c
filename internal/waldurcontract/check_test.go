package waldurcontract

// The checker: §1's parse rules, applied the way the generated client's
// from_dict applies them, plus a stricter level for what the client lets
// through silently but is still untrue to the contract.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Severity says who notices a violation.
type Severity int

const (
	// Client: the generated client raises (KeyError, ValueError, TypeError,
	// UnexpectedStatus) or, for sync_all, loops or stops early.
	Client Severity = iota
	// Strict: the client copes (unchecked scalar, lenient nullable field),
	// but the value contradicts the contract.
	Strict
	// Scenario: accepted by the contract, but not what this call should have
	// produced (e.g. a wrong password answered 200).
	Scenario
	// TestBug: the request the test built breaks the request model.
	TestBug
)

func (s Severity) String() string {
	return [...]string{"client", "strict", "scenario", "test bug"}[s]
}

// Violation is one broken rule at a JSON path.
type Violation struct {
	Sev  Severity
	Path string
	Rule string
	Got  string // the offending value, shown briefly; "" when none
}

func (v Violation) String() string {
	s := "[" + v.Sev.String() + "] "
	if v.Path != "" {
		s += v.Path + ": "
	}
	s += v.Rule
	if v.Got != "" {
		s += "; got " + v.Got
	}
	return s
}

// decodeJSON decodes a body with numbers kept as json.Number.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

type checker struct {
	c   *Contract
	out []Violation
	// request: checking a body the test sends; unknown keys are reported.
	request bool
}

// CheckModel checks v (decoded with UseNumber) as the model named name.
func (c *Contract) CheckModel(name string, v any) []Violation {
	k := &checker{c: c}
	k.ref("$", name, v, false)
	return k.out
}

// CheckRequest checks a request body the test built against its model:
// every violation there is the test's fault.
func (c *Contract) CheckRequest(name string, v any) []Violation {
	k := &checker{c: c, request: true}
	k.ref("$", name, v, false)
	for i := range k.out {
		k.out[i].Sev = TestBug
	}
	return k.out
}

// add records a violation; inside a lenient position (a nullable converted
// field, which the client keeps unparsed when it does not parse) a client
// violation is only a strict one.
func (k *checker) add(path string, sev Severity, lenient bool, got string, format string, args ...any) {
	if lenient && sev == Client {
		sev = Strict
	}
	k.out = append(k.out, Violation{Sev: sev, Path: path, Rule: fmt.Sprintf(format, args...), Got: got})
}

// converted says whether the client converts values of t (UUID(), isoparse,
// Enum(), from_dict) rather than passing them through.
func (k *checker) converted(t *Type) bool {
	switch t.Kind {
	case TUUID, TDateTime, TDate, TObject, TMap, TBlankOrRef, TRef:
		return true
	case TArray:
		return k.converted(t.Elem)
	}
	return false
}

func (k *checker) ref(path, name string, v any, lenient bool) {
	if e := k.c.Enums[name]; e != nil {
		s, ok := v.(string)
		if !ok || !slices.Contains(e.Values, s) {
			k.add(path, Client, lenient, show(v), "not a %s value (%s)", name, enumValues(e))
		}
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		k.add(path, Client, lenient, show(v), "must be a JSON object (%s)", name)
		return
	}
	m := k.c.Models[name]
	if m == nil { // opaque: all the contract says is "an object"
		return
	}
	for _, f := range m.Fields {
		val, present := obj[f.Name]
		p := path + "." + f.Name
		if !present {
			if f.Required {
				k.add(p, Client, lenient, "", "required key missing (%s.%s)", name, f.Name)
			}
			continue
		}
		k.field(p, f, val, lenient)
	}
	if k.request {
		for key := range obj {
			if m.Field(key) == nil {
				k.add(path+"."+key, Client, false, "", "not a key of %s", name)
			}
		}
	}
}

func (k *checker) field(path string, f *Field, v any, lenient bool) {
	if v == nil {
		if f.Nullable {
			return
		}
		switch {
		case f.Type.Kind == TArray && k.converted(f.Type.Elem) && !f.Required:
			k.add(path, Strict, lenient, "", "null in a non-nullable array (the client reads it as [])")
		case k.converted(f.Type):
			k.add(path, Client, lenient, "", "null in a non-nullable %s field", f.Type)
		default:
			k.add(path, Strict, lenient, "", "null in a non-nullable %s field", f.Type)
		}
		return
	}
	k.value(path, f.Type, v, lenient || (f.Nullable && k.converted(f.Type)))
}

// value checks a non-null value of type t.
func (k *checker) value(path string, t *Type, v any, lenient bool) {
	if v == nil { // inside arrays and maps: items are never nullable
		sev := Strict
		if k.converted(t) {
			sev = Client
		}
		k.add(path, sev, lenient, "", "null where a %s is due", t)
		return
	}
	switch t.Kind {
	case TString:
		if _, ok := v.(string); !ok {
			k.add(path, Strict, lenient, show(v), "want a string")
		}
	case TInt:
		n, ok := v.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
			k.add(path, Strict, lenient, show(v), "want an integer")
		}
	case TNumber:
		if _, ok := v.(json.Number); !ok {
			k.add(path, Strict, lenient, show(v), "want a number")
		}
	case TBool:
		if _, ok := v.(bool); !ok {
			k.add(path, Strict, lenient, show(v), "want a boolean")
		}
	case TAny, TFile:
	case TUUID:
		if s, ok := v.(string); !ok || !pythonUUID(s) {
			k.add(path, Client, lenient, show(v), "UUID() raises: want a uuid")
		}
	case TDateTime:
		if s, ok := v.(string); !ok || !isoDateTime(s) {
			k.add(path, Client, lenient, show(v), "isoparse() raises: want an ISO 8601 date-time")
		}
	case TDate:
		if s, ok := v.(string); !ok || !isoDate(s) {
			k.add(path, Client, lenient, show(v), "want a date (YYYY-MM-DD)")
		}
	case TObject:
		if _, ok := v.(map[string]any); !ok {
			k.add(path, Client, lenient, show(v), "must be a JSON object")
		}
	case TMap:
		obj, ok := v.(map[string]any)
		if !ok {
			k.add(path, Client, lenient, show(v), "must be a JSON object (%s)", t)
			return
		}
		for _, key := range sortedKeys(obj) {
			k.value(path+"."+key, t.Elem, obj[key], lenient)
		}
	case TArray:
		arr, ok := v.([]any)
		if !ok {
			sev := Strict
			if k.converted(t.Elem) {
				sev = Client
			}
			k.add(path, sev, lenient, show(v), "must be a JSON array (%s)", t)
			return
		}
		for i, item := range arr {
			k.value(fmt.Sprintf("%s[%d]", path, i), t.Elem, item, lenient)
		}
	case TBlankOrRef:
		if s, ok := v.(string); ok && s == "" {
			return
		}
		k.ref(path, t.Name, v, lenient)
	case TRef:
		k.ref(path, t.Name, v, lenient)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func enumValues(e *Enum) string {
	if len(e.Values) > 12 {
		return fmt.Sprintf("%d values", len(e.Values))
	}
	return strings.Join(e.Values, ", ")
}

// show renders a JSON value briefly, for messages.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	switch v.(type) {
	case map[string]any:
		return "object " + s
	case []any:
		return "array " + s
	case string:
		return "string " + s
	case bool:
		return "boolean " + s
	case json.Number:
		return "number " + s
	}
	return s
}

// pythonUUID reports whether Python's UUID(s) accepts s: it drops "urn:",
// "uuid:", surrounding braces and every hyphen, then wants 32 hex digits.
func pythonUUID(s string) bool {
	s = strings.ReplaceAll(s, "urn:", "")
	s = strings.ReplaceAll(s, "uuid:", "")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// isoDate accepts YYYY-MM-DD with a real calendar date.
func isoDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// reISODateTime covers what dateutil's isoparse reads: a date (extended or
// basic), optionally a separator and a time of hour, minutes and seconds
// with a fraction, optionally Z or a ±HH[:MM] offset.
var reISODateTime = regexp.MustCompile(`^(\d{4})-?(\d{2})-?(\d{2})` +
	`(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$`)

func isoDateTime(s string) bool {
	m := reISODateTime.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	if !isoDate(m[1] + "-" + m[2] + "-" + m[3]) {
		return false
	}
	for i, limit := range map[int]int{4: 24, 5: 59, 6: 59} {
		if m[i] != "" {
			if n, _ := strconv.Atoi(m[i]); n > limit {
				return false
			}
		}
	}
	return true
}
