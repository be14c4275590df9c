package apifuzz

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/events"
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

	t.Run("FusionAuth shape", func(t *testing.T) {
		js := http.Header{"Content-Type": {"application/json"}}
		for _, c := range []struct {
			status int
			header http.Header
			body   string
			ok     bool
		}{
			{400, js, `{"fieldErrors":{"webhook.url":[{"code":"[blank]webhook.url","message":"m"}]}}`, true},
			{400, js, `{"generalErrors":[{"code":"[invalidJSON]","message":"m","data":{"k":1}}]}`, true},
			{400, js, `{"fieldErrors":{"a":[{"code":"[x]a","message":"m"}]},"generalErrors":[{"code":"[y]","message":"n"}]}`, true},
			{504, js, `{"generalErrors":[{"code":"[WebhookTransactionException]","message":"m"}]}`, true},
			{401, http.Header{}, ``, true},
			{404, http.Header{}, ``, true},
			{401, js, ``, false},
			{401, http.Header{}, `{"detail":"x"}`, false},
			{400, http.Header{}, `{"generalErrors":[{"code":"[x]","message":"m"}]}`, false},
			{400, js, `{"detail":"x"}`, false},
			{400, js, `{"name":["x"]}`, false},
			{400, js, `{}`, false},
			{400, js, `{"fieldErrors":{}}`, false},
			{400, js, `{"fieldErrors":{"a":[]}}`, false},
			{400, js, `{"fieldErrors":{"a":[{"code":"[x]b","message":"m"}]}}`, false},
			{400, js, `{"fieldErrors":{"a":[{"code":"x","message":"m"}]}}`, false},
			{400, js, `{"fieldErrors":{"a":[{"code":"[]a","message":"m"}]}}`, false},
			{400, js, `{"generalErrors":[{"code":"[x]","message":""}]}`, false},
			{400, js, `{"generalErrors":[{"code":"[x]","message":"m","extra":1}]}`, false},
			{400, js, `{"generalErrors":[]}`, false},
		} {
			if got := faShape(c.status, c.header, []byte(c.body)) == ""; got != c.ok {
				t.Errorf("faShape(%d, %v, %s) accepts: %v, want %v", c.status, c.header, c.body, got, c.ok)
			}
		}
		veto := &operation{FA: true, Responses: map[string]*response{"504": {}}}
		waldur := &operation{Responses: map[string]*response{"504": {}}}
		for _, c := range []struct {
			op   *operation
			body string
			ok   bool
		}{
			{veto, `{"generalErrors":[{"code":"[WebhookTransactionException]","message":"m","data":{"webhooks":[]}}]}`, true},
			{veto, `{"generalErrors":[{"code":"[Other]","message":"m"}]}`, false},
			{waldur, `{"detail":"` + events.MsgWebhookTransaction + `"}`, true},
			{waldur, `{"detail":"Gateway timeout."}`, false},
			{&operation{Responses: map[string]*response{}}, `{"detail":"` + events.MsgWebhookTransaction + `"}`, false},
		} {
			res := &result{status: 504, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(c.body)}
			if got := vetoed(c.op, res); got != c.ok {
				t.Errorf("vetoed(FA %v, %s) = %v", c.op.FA, c.body, got)
			}
		}
		if got := splitFAPath("tenant.eventConfiguration.events[order.state-changed].transactionType"); !slices.Equal(got,
			[]string{"tenant", "eventConfiguration", "events", "[order.state-changed]", "transactionType"}) {
			t.Errorf("splitFAPath: %q", got)
		}
		if got := pathStems("/api/email/template/{id}"); !slices.Equal(got, []string{"emailTemplate", "template", "email"}) {
			t.Errorf("pathStems: %q", got)
		}
		for p, fa := range map[string]bool{"/api/webhook": true, "/api/webhook/{id}": true, "/api/user/action": true,
			"/api/users/": false, "/api/user-actions/": false, "/api/webhooks/": false, "/.well-known/jwks.json": false} {
			if isFusionAuthPath(p) != fa {
				t.Errorf("isFusionAuthPath(%s) = %v", p, !fa)
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

	t.Run("FusionAuth error paths", func(t *testing.T) {
		d := &document{}
		d.Components.Schemas = map[string]map[string]any{
			"Hook": {"type": "object", "additionalProperties": true, "properties": map[string]any{
				"url":       map[string]any{"type": "string"},
				"tenantIds": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"headers":   map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"events": map[string]any{"type": "object", "additionalProperties": map[string]any{
					"type": "object", "properties": map[string]any{"enabled": map[string]any{"type": "boolean"}}}},
				"data": map[string]any{"type": "object"},
			}},
		}
		fop := &operation{Key: "PUT /api/webhook/{id}", Method: "PUT", Path: "/api/webhook/{id}", FA: true,
			Params: []param{{Name: "id", In: "path"}},
			Body:   map[string]any{"type": "object", "properties": map[string]any{"webhook": map[string]any{"$ref": "#/components/schemas/Hook"}}}}
		search := &operation{Key: "GET /api/webhook/search", Method: "GET", Path: "/api/webhook/search", FA: true,
			Params: []param{{Name: "orderBy", In: "query"}}}
		for _, c := range []struct {
			op   *operation
			key  string
			want bool
		}{
			{fop, "webhook", true}, {fop, "webhook.url", true}, {fop, "webhook.tenantIds", true}, {fop, "webhook.tenantIds[2]", true},
			{fop, "webhook.headers.X-Custom", true}, {fop, "webhook.events[user.action].enabled", true},
			{fop, "webhook.events.user.action.enabled", true}, {fop, "webhook.data.anything.below", true},
			{fop, "webhookId", true}, {fop, "id", true},
			{fop, "webhook.bogus", false}, {fop, "webhook.url.x", false}, {fop, "tenantId", false}, {fop, "body", false},
			{fop, "non_field_errors", false}, {fop, "webhook.tenantIds.x", false},
			{search, "orderBy", true}, {search, "search.orderBy", true}, {search, "search.description", false},
		} {
			if got := d.knownFAErrorKey(c.op, c.key); got != c.want {
				t.Errorf("%s: knownFAErrorKey(%q) = %v, want %v", c.op.Key, c.key, got, c.want)
			}
		}
		r := &request{op: fop, hasBody: true, body: map[string]any{"webhook": map[string]any{"bogus": 1, "events": map[string]any{"a.b": nil}}}}
		if !r.sentFAPath("webhook.bogus") || r.sentFAPath("webhook.other") {
			t.Errorf("sentFAPath")
		}
		if !d.dottedKeyMisplaced(fop, r, "webhook.events.id") || d.dottedKeyMisplaced(fop, r, "other.id") {
			t.Errorf("dottedKeyMisplaced")
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
