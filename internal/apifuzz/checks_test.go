package apifuzz

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestCheckers: the checks the fuzz run relies on catch what they should
// and pass what they should, without a server.
func TestCheckers(t *testing.T) {
	t.Run("DRF shape", func(t *testing.T) {
		for body, ok := range map[string]bool{
			`{"detail":"Not found."}`:                 true,
			`{"name":["This field is required."]}`:    true,
			`{"a":["x","y"],"b":["z"]}`:               true,
			`{"detail":["a field named detail"]}`:     true,
			`{"detail":"x","code":"not_found"}`:       false,
			`{"detail":"x","error":"x"}`:              true,
			`{"detail":"x","error":1}`:                false,
			`{"detail":""}`:                           false,
			`{}`:                                      false,
			`[]`:                                      false,
			`{"name":"not a list"}`:                   false,
			`{"name":[]}`:                             false,
			`{"name":[1]}`:                            false,
			`{"title":"Bad Request","status":400}`:    false,
			`not json`:                                false,
			`{"errors":[{"message":"x"}],"detail":1}`: false,
		} {
			if got := drfShape([]byte(body)) == ""; got != ok {
				t.Errorf("drfShape(%s) accepts: %v, want %v", body, got, ok)
			}
		}
	})

	doc := &document{}
	doc.Components.Schemas = map[string]map[string]any{
		"Thing": {
			"type": "object", "additionalProperties": false, "required": []any{"uuid", "end"},
			"properties": map[string]any{
				"uuid":  map[string]any{"type": "string", "pattern": "^[0-9a-f]{32}$"},
				"end":   map[string]any{"type": []any{"string", "null"}, "format": "date"},
				"count": map[string]any{"type": "integer", "format": "int64", "minimum": 1.0, "maximum": 10.0},
				"url":   map[string]any{"type": "string", "format": "uri"},
				"state": map[string]any{"type": "string", "enum": []any{"OK", "Erred"}},
			},
		},
	}
	ref := map[string]any{"$ref": "#/components/schemas/Thing"}
	t.Run("schema", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null}`:                    "",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":"2024-02-29","count":10}`: "",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":"2024-02-30"}`:            "is not a date",
			`{"uuid":"01234567-89ab-cdef-0123-456789abcdef","end":null}`:                "does not match",
			`{"end":null}`: "required property",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"x":1}`:                        "undeclared property",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"count":11}`:                   "above maximum",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"count":1.5}`:                  "integer",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"url":"/api/x/"}`:              "absolute URI",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"state":"Gone"}`:               "not in enum",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"count":1e400}`:                "body.count:",
			`{"uuid":"0123456789abcdef0123456789abcdef","end":null,"count":99999999999999999999}`: "beyond int64",
		} {
			v, err := decodeLoose([]byte(body))
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			errs := strings.Join(doc.validate("body", ref, v), "; ")
			if want == "" && errs != "" || want != "" && !strings.Contains(errs, want) {
				t.Errorf("validate(%s) = %q, want %q", body, errs, want)
			}
		}
	})

	op := &operation{Key: "POST /api/things/", Method: "POST", Path: "/api/things/", Body: ref,
		Params: []param{{Name: "state", In: "query", Schema: map[string]any{"type": "string", "enum": []any{"OK", ""}}}}}
	t.Run("request violations", func(t *testing.T) {
		r := &request{op: op, hasBody: true, body: map[string]any{"uuid": "0123456789abcdef0123456789abcdef", "end": nil}}
		if v := doc.requestViolations(r); len(v) != 0 {
			t.Errorf("valid request: %v", v)
		}
		r.query = []queryParam{{"state", "Gone"}}
		if v := doc.requestViolations(r); len(v) != 1 {
			t.Errorf("bad enum in query: %v", v)
		}
		r.query = []queryParam{{"state", "Gone"}, {"state", "OK"}}
		if v := doc.requestViolations(r); len(v) != 0 {
			t.Errorf("a repeated single-valued parameter is the server's to pick: %v", v)
		}
		r.query = nil
		r.body = map[string]any{"uuid": nil, "end": nil}
		if v := doc.requestViolations(r); len(v) != 1 || !strings.Contains(v[0], "null") {
			t.Errorf("null for a non-nullable field: %v", v)
		}
		raw := `{"uuid":"0123456789abcdef0123456789abcdef","end":null,"count":1e400}`
		r.rawBody = &raw
		if v := doc.requestViolations(r); len(v) != 1 {
			t.Errorf("huge number: %v", v)
		}
	})

	t.Run("causes", func(t *testing.T) {
		f := &fuzzer{doc: doc}
		r := &request{op: op, hasBody: true, ctype: "application/json", pathVals: map[string]string{},
			body:  map[string]any{"uuid": "a\x00", "end": "0000-01-01", "count": json.Number("1e400"), "bogus": nil},
			query: []queryParam{{"state", "\xff"}}}
		got := f.causes(r)
		for _, want := range []string{"NUL in body.uuid", "year 0000 in body.end", "huge number in body.count",
			"unknown key in body.bogus", "invalid UTF-8 in query state"} {
			if !slices.Contains(got, want) {
				t.Errorf("causes lack %q: %v", want, got)
			}
		}
		// A minimal cause is a subset of the raw request's features.
		if !subset([]string{"NUL in body.uuid"}, got) || subset([]string{"NUL in body.end"}, got) {
			t.Errorf("subset")
		}
	})

	t.Run("encoding", func(t *testing.T) {
		r := &request{op: op, hasBody: true, body: map[string]any{
			"b": json.Number("1e400"), "a": rawJSON(`"x` + "\xff" + `"`), "c": "<&>", "d": []any{nil, true, int64(3)},
		}}
		if got, want := string(r.bodyBytes()), `{"a":"x`+"\xff"+`","b":1e400,"c":"<&>","d":[null,true,3]}`; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
		if got := shellQuote("a\x00'b"); got != `$'a\x00\'b'` {
			t.Errorf("shellQuote: %s", got)
		}
		if got := normalise(`body[3].end: "10009-12-28" is not a date (UTF-8)`); got != `body[].end: "…" is not a date (UTF-8)` {
			t.Errorf("normalise: %s", got)
		}
	})
}
