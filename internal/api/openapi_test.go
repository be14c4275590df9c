package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/heed-dev/heed/internal/apptest"
)

// oaDoc is the part of an OpenAPI 3.1 document the tests walk. Schemas stay
// generic maps: JSON Schema 2020-12 allows "type" to be a string or a list.
type oaDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Info       struct{ Title, Version string }       `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]map[string]any `json:"schemas"`
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
	} `json:"components"`
}

type oaOperation struct {
	OperationID string                 `json:"operationId"`
	Tags        []string               `json:"tags"`
	Security    []map[string][]string  `json:"security"`
	Responses   map[string]*oaResponse `json:"responses"`
}

type oaResponse struct {
	Description string                    `json:"description"`
	Headers     map[string]map[string]any `json:"headers"`
	Content     map[string]struct {
		Schema map[string]any `json:"schema"`
	} `json:"content"`
}

var httpMethods = []string{"get", "head", "post", "put", "patch", "delete", "options", "trace"}

// operations returns every operation keyed by "METHOD /path".
func (d *oaDoc) operations(t testing.TB) map[string]*oaOperation {
	t.Helper()
	out := map[string]*oaOperation{}
	for path, item := range d.Paths {
		for key, raw := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			out[strings.ToUpper(key)+" "+path] = &op
		}
	}
	return out
}

// find returns the operation serving method and a concrete path.
func (d *oaDoc) find(t testing.TB, method, path string) (string, *oaOperation) {
	t.Helper()
	segs := strings.Split(path, "/")
	var found []string
	for key := range d.operations(t) {
		m, tmpl, _ := strings.Cut(key, " ")
		if m != method {
			continue
		}
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i := range ts {
			if ts[i] != segs[i] && !(strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}")) {
				match = false
				break
			}
		}
		if match {
			found = append(found, key)
		}
	}
	// A literal segment beats a parameter: /api/users/me/ over /api/users/{uuid}/.
	slices.SortFunc(found, func(a, b string) int { return strings.Count(a, "{") - strings.Count(b, "{") })
	if len(found) == 0 {
		t.Fatalf("no operation in the document for %s %s", method, path)
	}
	return found[0], d.operations(t)[found[0]]
}

func fetchDoc(t testing.TB, h *apptest.Harness) (*oaDoc, []byte) {
	t.Helper()
	r := do(t, h, http.MethodGet, "/api/schema/", "", nil).Want(t, http.StatusOK)
	var doc oaDoc
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("document does not decode: %v", err)
	}
	return &doc, r.Body
}

// fusionAuthPrefixes mirrors fusionAuthPrefixes in fusionauth.go: the
// paths of the FusionAuth family (no trailing slash, FusionAuth's error
// dialect); everything else under /api/ is Waldur-style. The document does
// not carry an operation's dialect (Huma does not serialise Metadata), so
// the path decides, as it does in heed; TestOpenAPIDocument checks that it
// agrees with the operations' "FusionAuth: …" tags.
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

// faEmptyStatus mirrors emptyBody in fusionauth.go: FusionAuth answers
// these statuses with no body at all.
func faEmptyStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusMethodNotAllowed ||
		(status >= 500 && status != http.StatusGatewayTimeout)
}

const faErrorsRef = "#/components/schemas/FusionAuthErrors"

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		r := do(t, h, http.MethodGet, "/api/schema/", "", nil).Want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/vnd.oai.openapi+json" {
			t.Errorf("Content-Type %q", ct)
		}
		doc, raw := fetchDoc(t, h)
		if !strings.HasPrefix(doc.OpenAPI, "3.1") {
			t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
		}
		if doc.Info.Title != "heed" || doc.Info.Version == "" {
			t.Errorf("info %+v", doc.Info)
		}
		// The served document is the server's own, not a stale copy.
		want, err := json.Marshal(h.App.Server.OpenAPI())
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		_ = json.Unmarshal(want, &a)
		_ = json.Unmarshal(raw, &b)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("served document differs from Server.OpenAPI() (-want +got):\n%s", diff)
		}

		ops := doc.operations(t)
		for _, key := range []string{
			"GET /api/users/me/", "GET /api/users/", "HEAD /api/users/", "POST /api/users/",
			"GET /api/users/{uuid}/", "PATCH /api/users/{uuid}/", "POST /api-auth/password/",
		} {
			if ops[key] == nil {
				t.Errorf("document lacks %s", key)
			}
		}
		ids := map[string]string{}
		for _, key := range sortedKeys(ops) {
			op := ops[key]
			method, path, _ := strings.Cut(key, " ")
			fa := isFusionAuthPath(path)
			t.Run(key, func(t *testing.T) {
				if strings.HasPrefix(path, "/api/") {
					tagged := slices.ContainsFunc(op.Tags, func(tag string) bool { return strings.HasPrefix(tag, "FusionAuth:") })
					if tagged != fa {
						t.Errorf("tags %v, but the path says FusionAuth family: %v (update fusionAuthPrefixes, here and in fusionauth.go)", op.Tags, fa)
					}
				}
				if fa && len(op.Security) == 0 {
					t.Errorf("FusionAuth operation without security: it takes an API key")
				}
				if op.OperationID == "" {
					t.Errorf("no operationId")
				} else if prev, dup := ids[op.OperationID]; dup {
					t.Errorf("operationId %q also used by %s", op.OperationID, prev)
				}
				ids[op.OperationID] = key

				var ok2xx bool
				for status, resp := range op.Responses {
					if !strings.HasPrefix(status, "2") {
						continue
					}
					// HEAD and 204 No Content answer without a body by
					// definition; a schema for them would be a lie.
					if method == http.MethodHead || status == "204" {
						ok2xx = true
						if len(resp.Content) != 0 {
							t.Errorf("%s %s response declares a body", method, status)
						}
						continue
					}
					if s := resp.Content["application/json"].Schema; len(s) > 0 {
						ok2xx = true
					}
					// FusionAuth deletes an object with a 200 and no body.
					if fa && method == http.MethodDelete && len(resp.Content) == 0 {
						ok2xx = true
					}
				}
				if !ok2xx {
					t.Errorf("no 2xx response with a JSON schema (or 204): %v", sortedKeys(op.Responses))
				}
				if len(op.Security) > 0 && op.Responses["401"] == nil {
					t.Errorf("secured operation does not declare 401: %v", sortedKeys(op.Responses))
				}
				for _, req := range op.Security {
					for scheme := range req {
						if doc.Components.SecuritySchemes[scheme] == nil {
							t.Errorf("security scheme %q is not defined", scheme)
						}
					}
				}
				// Validation failures leave as 400 (Waldur) on the wire; a
				// 422 in the document would be a lie.
				if op.Responses["422"] != nil {
					t.Errorf("declares 422, which heed never sends")
				}
				for status, resp := range op.Responses {
					for ct, media := range resp.Content {
						if ct != "application/json" {
							t.Errorf("%s response content type %q", status, ct)
						}
						if len(media.Schema) == 0 {
							t.Errorf("%s response without a schema", status)
						}
					}
					if method == http.MethodHead {
						// A HEAD response has no body, errors included.
						if len(resp.Content) != 0 {
							t.Errorf("HEAD %s response declares a body", status)
						}
						continue
					}
					isErr := strings.HasPrefix(status, "4") || strings.HasPrefix(status, "5")
					code, _ := strconv.Atoi(status)
					switch {
					case isErr && fa && faEmptyStatus(code):
						if len(resp.Content) != 0 {
							t.Errorf("error response %s declares a body; FusionAuth sends none", status)
						}
					case isErr && fa:
						if ref, _ := resp.Content["application/json"].Schema["$ref"].(string); ref != faErrorsRef {
							t.Errorf("error response %s is not FusionAuth's Errors object (%s): %v", status, faErrorsRef, resp.Content["application/json"].Schema)
						}
					case isErr:
						if resp.Content["application/json"].Schema == nil {
							t.Errorf("error response %s has no JSON body schema", status)
						}
					}
					for name, hdr := range resp.Headers {
						if strings.EqualFold(name, "Link") && strings.Contains(fmt.Sprint(hdr), "describedBy") {
							t.Errorf("%s declares a describedBy Link header", status)
						}
					}
				}
				// Waldur-family paths end with "/"; FusionAuth-family ones,
				// as FusionAuth's, do not.
				switch {
				case fa:
					if strings.HasSuffix(path, "/") {
						t.Errorf("FusionAuth-family path %q ends with /", path)
					}
				case strings.HasPrefix(path, "/api/"):
					if !strings.HasSuffix(path, "/") {
						t.Errorf("Waldur-family path %q does not end with /", path)
					}
				case strings.HasPrefix(path, "/api-auth/") && !strings.HasSuffix(path, "/"):
					t.Errorf("path %q does not end with /", path)
				}
			})
		}

		// Every {parameter} in a path template is a declared path
		// parameter. Huma silently ignores parameters in embedded
		// unexported structs (every PATCH /api/users/{uuid}/ answered 404
		// that way); the document shows the mistake.
		for _, key := range sortedKeys(ops) {
			_, path, _ := strings.Cut(key, " ")
			var withParams struct {
				Parameters []struct{ Name, In string } `json:"parameters"`
			}
			method, _, _ := strings.Cut(key, " ")
			if err := json.Unmarshal(doc.Paths[path][strings.ToLower(method)], &withParams); err != nil {
				t.Fatal(err)
			}
			for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(withParams.Parameters, func(p struct{ Name, In string }) bool {
					return p.Name == m[1] && p.In == "path"
				}) {
					t.Errorf("%s does not declare its path parameter %q", key, m[1])
				}
			}
		}

		// No schema anywhere grows a "$schema" property (Huma's default
		// config adds one; it breaks both wire formats), and every $ref resolves.
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch v := v.(type) {
			case map[string]any:
				if props, ok := v["properties"].(map[string]any); ok {
					if _, bad := props["$schema"]; bad {
						t.Errorf("%s declares a $schema property", where)
					}
				}
				if ref, ok := v["$ref"].(string); ok {
					name, found := strings.CutPrefix(ref, "#/components/schemas/")
					if !found || doc.Components.Schemas[name] == nil {
						t.Errorf("%s: $ref %q does not resolve", where, ref)
					}
				}
				for k, x := range v {
					walk(where+"/"+k, x)
				}
			case []any:
				for i, x := range v {
					walk(where+"/"+strconv.Itoa(i), x)
				}
			}
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			t.Fatal(err)
		}
		walk("#", generic)

		for _, name := range []string{"tokenAuth", "bearerAuth"} {
			if doc.Components.SecuritySchemes[name] == nil {
				t.Errorf("security scheme %s missing", name)
			}
		}

		t.Run("yaml", func(t *testing.T) {
			r := do(t, h, http.MethodGet, "/api/schema/?format=yaml", "", nil).Want(t, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "application/yaml" {
				t.Errorf("Content-Type %q", ct)
			}
			body := string(r.Body)
			if strings.HasPrefix(strings.TrimSpace(body), "{") {
				t.Fatalf("YAML requested, JSON served")
			}
			var top []string
			sc := bufio.NewScanner(strings.NewReader(body))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				if line != "" && line[0] != ' ' && line[0] != '-' && line[0] != '#' {
					key, _, found := strings.Cut(line, ":")
					if !found {
						t.Fatalf("top-level line %q is not a mapping key", line)
					}
					top = append(top, key)
				}
			}
			var jsonTop map[string]json.RawMessage
			_ = json.Unmarshal(raw, &jsonTop)
			slices.Sort(top)
			if diff := cmp.Diff(sortedKeys(jsonTop), top); diff != "" {
				t.Errorf("YAML top-level keys differ from JSON (-json +yaml):\n%s", diff)
			}
			if !strings.Contains(body, "\nopenapi: "+doc.OpenAPI+"\n") {
				t.Errorf("YAML lacks openapi: %s", doc.OpenAPI)
			}
			for path := range doc.Paths {
				if !strings.Contains(body, "\n  "+path+":\n") && !strings.Contains(body, "\n  \""+path+"\":\n") {
					t.Errorf("YAML lacks path %s", path)
				}
			}
		})
		t.Run("unknown format", func(t *testing.T) {
			wantJSON(t, do(t, h, http.MethodGet, "/api/schema/?format=xml", "", nil), http.StatusNotFound, msgNotFound)
		})
	})
}

// schemaChecker validates JSON values against the document's schemas: the
// subset of JSON Schema 2020-12 that heed's document uses.
type schemaChecker struct {
	doc *oaDoc
}

func (c schemaChecker) resolve(s map[string]any) map[string]any {
	for i := 0; i < 10; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = c.doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
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
	case string:
		return []string{"string"}
	case []any:
		return []string{"array"}
	case map[string]any:
		return []string{"object"}
	}
	return []string{fmt.Sprintf("%T", v)}
}

func (c schemaChecker) check(where string, s map[string]any, v any) []string {
	s = c.resolve(s)
	if s == nil {
		return []string{where + ": unresolvable schema"}
	}
	var errs []string
	var types []string
	switch ty := s["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	if len(types) > 0 {
		ok := false
		for _, jt := range jsonType(v) {
			if slices.Contains(types, jt) {
				ok = true
			}
		}
		if !ok {
			return []string{fmt.Sprintf("%s: %s value, schema allows %v", where, jsonType(v)[0], types)}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q missing", where, r))
			}
		}
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, c.check(where+"."+k, ps, x)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: undeclared property %q", where, k))
				}
			case map[string]any:
				errs = append(errs, c.check(where+"."+k, ap, x)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, c.check(fmt.Sprintf("%s[%d]", where, i), items, x)...)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", where, v, p))
		}
		if n, ok := s["minLength"].(float64); ok && utf8.RuneCountInString(v) < int(n) {
			errs = append(errs, fmt.Sprintf("%s: shorter than %v", where, n))
		}
		if n, ok := s["maxLength"].(float64); ok && utf8.RuneCountInString(v) > int(n) {
			errs = append(errs, fmt.Sprintf("%s: longer than %v", where, n))
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", where, v))
			}
		case "uuid":
			if !regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`).MatchString(v) {
				errs = append(errs, fmt.Sprintf("%s: %q is not an RFC 4122 uuid", where, v))
			}
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(v)) {
			errs = append(errs, fmt.Sprintf("%s: %q not in %v", where, v, enum))
		}
	}
	return errs
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

// exactProperties fails unless every object in body (a single object or
// the items of a list) has exactly the properties its schema declares.
func (c schemaChecker) exactProperties(t testing.TB, s map[string]any, body any) {
	t.Helper()
	s = c.resolve(s)
	if items, ok := s["items"].(map[string]any); ok {
		l, _ := body.([]any)
		if len(l) == 0 {
			t.Errorf("empty list: nothing to compare")
		}
		for _, x := range l {
			c.exactProperties(t, items, x)
		}
		return
	}
	props, _ := s["properties"].(map[string]any)
	obj, ok := body.(map[string]any)
	if !ok {
		t.Fatalf("body %v is not an object", body)
	}
	// Optional properties exist: a field Waldur's client declares
	// non-nullable is left out rather than sent as null (contract §1 rule 3).
	// So: every sent key is declared, and every required key is sent.
	for k := range obj {
		if _, ok := props[k]; !ok {
			t.Errorf("sent property %q is not declared", k)
		}
	}
	for _, k := range asStrings(s["required"]) {
		if _, ok := obj[k]; !ok {
			t.Errorf("required property %q not sent", k)
		}
	}
}

// response checks a real response against the document: its status is
// declared for the operation, declared headers are present, the body
// validates against the declared schema (with exactly its properties when
// exact), and neither Huma's $schema property nor a describedBy link appears.
// On the FusionAuth family a 401 carries no challenge, a status declared
// without a body (401, 404, 500, a delete's 200) has none and no
// Content-Type, and error codes read [type]path.
func (c schemaChecker) response(t testing.TB, method, path string, r *apptest.Response, exact bool) {
	t.Helper()
	fa := isFusionAuthPath(path)
	key, op := c.doc.find(t, method, path)
	resp := op.Responses[strconv.Itoa(r.Status)]
	if resp == nil {
		t.Fatalf("%s sent %d, which the document does not declare (declared: %v)", key, r.Status, sortedKeys(op.Responses))
	}
	for name := range resp.Headers {
		if _, ok := r.Header[http.CanonicalHeaderKey(name)]; !ok {
			t.Errorf("declared header %s missing", name)
		}
	}
	if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if r.Status == http.StatusUnauthorized && !fa && r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if strings.Contains(r.Header.Get("Link"), "describedBy") {
		t.Errorf("describedBy link: %s", r.Header.Get("Link"))
	}
	if method == http.MethodHead {
		if len(r.Body) != 0 {
			t.Errorf("HEAD body %q", r.Body)
		}
		return
	}
	schema := resp.Content["application/json"].Schema
	if schema == nil && fa {
		if len(r.Body) != 0 {
			t.Errorf("%s %d declares no body, got %.200s", key, r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			t.Errorf("%d without a body, but with Content-Type %q", r.Status, ct)
		}
		return
	}
	if schema == nil {
		t.Fatalf("%s %d declares no JSON body, got %s", key, r.Status, r.Body)
	}
	if fa && r.Status >= 400 {
		for _, e := range faErrorProblems(r.Body) {
			t.Error(e)
		}
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if m, ok := v.(map[string]any); ok {
		if _, bad := m["$schema"]; bad {
			t.Errorf("body has a $schema property")
		}
	}
	for _, e := range c.check("body", schema, v) {
		t.Error(e)
	}
	if exact {
		c.exactProperties(t, schema, v)
	}
}

// TestResponsesMatchSchema sends real requests and checks each response
// against the document: the status is declared, the body validates against
// the declared schema, declared headers are present, and Huma's $schema
// property and describedBy link never appear.
func TestResponsesMatchSchema(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		doc, _ := fetchDoc(t, h)
		c := schemaChecker{doc: doc}
		alice, bob := uuidOf(t, h, "alice"), uuidOf(t, h, "bob")
		huge := `{"username":"` + strings.Repeat("x", 1<<20) + `"}`
		login := func(pw string) string {
			return `{"username":"alice","password":"` + pw + `"}`
		}
		type req struct {
			method, path, token, body string
			status                    int
			exact                     bool // body has exactly the schema's properties
		}
		reqs := []req{
			{"GET", "/api/users/me/", apptest.Alice, "", 200, true},
			{"GET", "/api/users/me/", apptest.Staff, "", 200, true},
			{"GET", "/api/users/me/", "", "", 401, false},
			{"GET", "/api/users/me/", "wrong", "", 401, false},
			{"GET", "/api/users/?page_size=2", apptest.Staff, "", 200, true},
			{"GET", "/api/users/", apptest.Alice, "", 200, true},
			{"GET", "/api/users/?username=nobody", apptest.Staff, "", 200, false},
			{"GET", "/api/users/?is_active=maybe", apptest.Staff, "", 400, false},
			{"GET", "/api/users/?page=9", apptest.Staff, "", 404, false},
			{"GET", "/api/users/", "", "", 401, false},
			{"HEAD", "/api/users/?page_size=1", apptest.Staff, "", 200, false},
			{"HEAD", "/api/users/?page=9", apptest.Staff, "", 404, false},
			{"GET", "/api/users/" + alice + "/", apptest.Alice, "", 200, true},
			{"GET", "/api/users/" + bob + "/", apptest.Alice, "", 404, false},
			{"GET", "/api/users/" + bob + "/", "", "", 401, false},
			{"POST", "/api/users/", apptest.Staff, `{"username":"schema-check-1","preferred_languages":["fi"]}`, 201, true},
			{"POST", "/api/users/", apptest.Staff, `{"username":"schema-check-1"}`, 400, false},
			{"POST", "/api/users/", apptest.Staff, `{"username":`, 400, false},
			{"POST", "/api/users/", apptest.Staff, `{"username":"x","is_staff":"yes"}`, 400, false},
			{"POST", "/api/users/", apptest.Staff, huge, 413, false},
			{"POST", "/api/users/", apptest.Alice, `{"username":"schema-check-2"}`, 403, false},
			{"POST", "/api/users/", "", `{"username":"schema-check-2"}`, 401, false},
			{"PATCH", "/api/users/" + bob + "/", apptest.Staff, `{"full_name":"B"}`, 200, true},
			{"PATCH", "/api/users/" + bob + "/", apptest.Staff, `{"is_staff":"yes"}`, 400, false},
			{"PATCH", "/api/users/" + bob + "/", apptest.Staff, huge, 413, false},
			{"PATCH", "/api/users/" + bob + "/", apptest.Alice, `{"full_name":"B"}`, 404, false},
			{"PATCH", "/api/users/" + alice + "/", apptest.Alice, `{"full_name":"B"}`, 403, false},
			{"PATCH", "/api/users/" + bob + "/", "", `{"full_name":"B"}`, 401, false},
			{"POST", "/api-auth/password/", "", login("demo-alice-password"), 200, true},
			{"POST", "/api-auth/password/", "", `{"username":"alice"}`, 400, false},
			{"POST", "/api-auth/password/", "", login("wrong"), 401, false},
			// 429 is checked in TestLoginThrottle: five more bcrypt
			// comparisons cost a minute under -race.
		}
		for _, rq := range reqs {
			var body any
			if rq.body != "" {
				body = rq.body
			}
			path, _, _ := strings.Cut(rq.path, "?")
			name := fmt.Sprintf("%s %s %d", rq.method, rq.path, rq.status)
			if len(name) > 80 {
				name = name[:80]
			}
			r := do(t, h, rq.method, rq.path, rq.token, body)
			t.Run(name, func(t *testing.T) {
				if r.Status != rq.status {
					t.Fatalf("status %d, want %d; body %.300s", r.Status, rq.status, r.Body)
				}
				c.response(t, rq.method, path, r, rq.exact)
			})
		}

		// The FusionAuth family, in its dialect: API keys sent bare (or
		// as Waldur's "Token <t>"), Errors bodies, empty 401/404 and
		// delete answers.
		faCall := func(method, path, authz string, body any, status int, exact bool) *apptest.Response {
			t.Helper()
			r := doHeader(t, h, method, path, authz, body)
			name := fmt.Sprintf("%s %s %d", method, path, status)
			t.Run(name, func(t *testing.T) {
				if r.Status != status {
					t.Fatalf("status %d, want %d; body %.300s", r.Status, status, r.Body)
				}
				p, _, _ := strings.Cut(path, "?")
				c.response(t, method, p, r, exact)
			})
			return r
		}
		hook := map[string]any{"webhook": map[string]any{
			"url": "https://hooks.example.invalid/schema-check", "connectTimeout": 1000, "readTimeout": 2000,
			"eventsEnabled": map[string]bool{"order.state-changed": true}, "global": true,
		}}
		var made struct {
			Webhook struct{ ID string } `json:"webhook"`
		}
		if err := json.Unmarshal(faCall(http.MethodPost, "/api/webhook", apptest.Staff, hook, 200, true).Body, &made); err != nil || made.Webhook.ID == "" {
			t.Fatalf("no webhook created: %v", err)
		}
		hookPath := "/api/webhook/" + made.Webhook.ID
		faCall(http.MethodGet, hookPath, apptest.Staff, nil, 200, true)
		faCall(http.MethodGet, hookPath, "Token "+apptest.Staff, nil, 200, true)
		faCall(http.MethodGet, "/api/webhook", apptest.Staff, nil, 200, true)
		faCall(http.MethodGet, "/api/tenant", apptest.Staff, nil, 200, true)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `{}`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `{"webhook":{"url":"ftp://x","connectTimeout":1,"readTimeout":1}}`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `{"webhook":{"url":7}}`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `[]`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `{"webhook":`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, `{"\u0000":1}`, 400, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Staff, huge, 413, false)
		faCall(http.MethodPost, "/api/webhook", "", hook, 401, false)
		faCall(http.MethodPost, "/api/webhook", apptest.Alice, hook, 401, false)
		faCall(http.MethodGet, "/api/webhook/"+dashed(strings.Repeat("ab", 16)), apptest.Staff, nil, 404, false)
		faCall(http.MethodGet, "/api/webhook/not-a-uuid", apptest.Staff, nil, 404, false)
		faCall(http.MethodDelete, hookPath, apptest.Staff, nil, 200, false)
		faCall(http.MethodDelete, hookPath, apptest.Staff, nil, 404, false)
		for body, ok := range map[string]bool{
			`{"fieldErrors":{"webhook.url":[{"code":"[blank]webhook.url","message":"m"}]}}`: true,
			`{"generalErrors":[{"code":"[invalidJSON]","message":"m"}]}`:                    true,
			`{"fieldErrors":{"webhook.url":[{"code":"[blank]webhook","message":"m"}]}}`:     false,
			`{"fieldErrors":{"webhook.url":[{"code":"blank","message":"m"}]}}`:              false,
			`{"generalErrors":[{"code":"[x]","message":""}]}`:                               false,
			`{"fieldErrors":{"a":[]}}`:                                                      false,
			`{"fieldErrors":{"body":[{"code":"[invalid]body","message":"m"}]}}`:             false,
			`{}`: false,
		} {
			if got := len(faErrorProblems([]byte(body))) == 0; got != ok {
				t.Errorf("faErrorProblems(%s) accepts: %v, want %v", body, got, ok)
			}
		}

		// The checker itself catches what it should.
		user := doc.Components.Schemas["User"]
		if user == nil {
			t.Fatalf("no User schema")
		}
		good := do(t, h, http.MethodGet, "/api/users/me/", apptest.Alice, nil).Object(t)
		for name, mutate := range map[string]func(m map[string]any){
			"extra property":   func(m map[string]any) { m["password"] = "x" },
			"missing property": func(m map[string]any) { delete(m, "email") },
			"wrong type":       func(m map[string]any) { m["is_staff"] = "yes" },
			"dashed uuid":      func(m map[string]any) { m["uuid"] = dashed(m["uuid"].(string)) },
			"bad timestamp":    func(m map[string]any) { m["created"] = "yesterday" },
		} {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			mutate(m)
			if len(c.check("user", user, m)) == 0 {
				t.Errorf("checker accepts a user with a %s", name)
			}
		}
	}, "alice")
}

// faErrorProblems checks what FusionAuth's Errors schema cannot say: at
// least one error, every code [type]path with a message, and every field
// error filed under the path its code names.
func faErrorProblems(body []byte) []string {
	var e struct {
		FieldErrors   map[string][]struct{ Code, Message string } `json:"fieldErrors"`
		GeneralErrors []struct{ Code, Message string }            `json:"generalErrors"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return []string{fmt.Sprintf("not an Errors object: %v", err)}
	}
	var out []string
	n := len(e.GeneralErrors)
	check := func(field, code, msg string) {
		end := strings.Index(code, "]")
		switch {
		case !strings.HasPrefix(code, "[") || end < 2:
			out = append(out, fmt.Sprintf("code %q is not [type]path", code))
		case field != "" && code[end+1:] != field:
			out = append(out, fmt.Sprintf("fieldErrors[%q] holds the code %q", field, code))
		}
		if strings.TrimSpace(msg) == "" {
			out = append(out, fmt.Sprintf("code %q has no message", code))
		}
	}
	for _, g := range e.GeneralErrors {
		check("", g.Code, g.Message)
	}
	for _, field := range sortedKeys(e.FieldErrors) {
		if field == "non_field_errors" || field == "body" || field == "" {
			out = append(out, fmt.Sprintf("fieldErrors[%q] names no field: DRF's or Huma's name for the whole body", field))
		}
		if len(e.FieldErrors[field]) == 0 {
			out = append(out, fmt.Sprintf("fieldErrors[%q] is empty", field))
		}
		for _, f := range e.FieldErrors[field] {
			n++
			check(field, f.Code, f.Message)
		}
	}
	if n == 0 {
		out = append(out, "an Errors object with no error")
	}
	return out
}

var assetRef = regexp.MustCompile(`(?i)\b(src|href)\s*=\s*["']([^"']+)["']`)

// TestDocsPageOffline: /api/docs/ is served with every asset from heed
// itself, so it works with no network.
func TestDocsPageOffline(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		r := do(t, h, http.MethodGet, "/api/docs/", "", nil).Want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q", ct)
		}
		html := string(r.Body)
		if !strings.Contains(html, "<html") {
			t.Fatalf("not an HTML page: %.200s", html)
		}
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}`).FindString(html); m != "" {
			t.Errorf("page references an external URL: %s", m)
		}

		base, _ := url.Parse(h.URL + "/api/docs/")
		var scripts, styles int
		for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
			ref := m[2]
			t.Run(ref, func(t *testing.T) {
				u, err := url.Parse(ref)
				if err != nil {
					t.Fatalf("bad URL %q: %v", ref, err)
				}
				if u.Scheme != "" || u.Host != "" {
					t.Fatalf("asset %q is not served by heed", ref)
				}
				abs := base.ResolveReference(u)
				req, _ := http.NewRequest(http.MethodGet, abs.String(), nil)
				a := send(t, h.Client, req).Want(t, http.StatusOK)
				if len(a.Body) == 0 {
					t.Errorf("%s is empty", abs.Path)
				}
				ct := a.Header.Get("Content-Type")
				switch {
				case strings.HasSuffix(u.Path, ".js"):
					scripts++
					if !strings.Contains(ct, "javascript") {
						t.Errorf("%s Content-Type %q", abs.Path, ct)
					}
				case strings.HasSuffix(u.Path, ".css"):
					styles++
					if !strings.HasPrefix(ct, "text/css") {
						t.Errorf("%s Content-Type %q", abs.Path, ct)
					}
				}
			})
		}
		if scripts == 0 || styles == 0 {
			t.Errorf("found %d scripts and %d stylesheets; the page must load Swagger UI", scripts, styles)
		}

		// The page loads heed's own document.
		m := regexp.MustCompile(`"swaggerJsonUrl":"([^"]+)"`).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("page names no OpenAPI document")
		}
		if m[1] != "/api/schema/" {
			t.Errorf("page loads %q, want /api/schema/", m[1])
		}
		do(t, h, http.MethodGet, m[1], "", nil).Want(t, http.StatusOK)
	})
}
