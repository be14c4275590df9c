package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
)

const carolToken = "demo-carol-token"

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// formats checks what schemaChecker.check leaves alone, walking schema and
// value together: the string formats "date" and "uri", and properties an
// object schema with declared properties but no additionalProperties keyword
// does not name (JSON Schema allows them; heed never means to send them).
func (c schemaChecker) formats(where string, s map[string]any, v any) []string {
	s = c.resolve(s)
	var errs []string
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		_, hasAP := s["additionalProperties"]
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, c.formats(where+"."+k, ps, x)...)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, c.formats(where+"."+k, ap, x)...)
			} else if !hasAP && len(props) > 0 {
				errs = append(errs, fmt.Sprintf("%s: property %q is not among the declared ones", where, k))
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, c.formats(fmt.Sprintf("%s[%d]", where, i), items, x)...)
			}
		}
	case string:
		switch s["format"] {
		case "date":
			if _, err := time.Parse(time.DateOnly, v); err != nil || !dateOnly.MatchString(v) {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date", where, v))
			}
		case "uri":
			if u, err := url.Parse(v); err != nil || !u.IsAbs() {
				errs = append(errs, fmt.Sprintf("%s: %q is not an absolute URI", where, v))
			}
		}
	}
	return errs
}

// bodyErrors validates a decoded body against the schema the document
// declares for method, path and status (nil when it is valid).
func (c schemaChecker) bodyErrors(t testing.TB, method, path string, status int, v any) []string {
	t.Helper()
	key, op := c.doc.find(t, method, path)
	resp := op.Responses[fmt.Sprint(status)]
	if resp == nil {
		t.Fatalf("%s declares no %d", key, status)
	}
	s := resp.Content["application/json"].Schema
	return append(c.check("body", s, v), c.formats("body", s, v)...)
}

func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %.200s", err, b)
	}
	return v
}

// TestMarketplaceResponsesMatchSchema checks real marketplace and history
// responses, on the demo data, against the schemas the OpenAPI document
// declares for their operation and status.
func TestMarketplaceResponsesMatchSchema(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		doc, _ := fetchDoc(t, h)
		c := schemaChecker{doc: doc}

		// call sends a request and checks the response in a subtest: the
		// status is the expected one, and the body (exactly the declared
		// properties when exact) validates against the declared schema.
		call := func(method, path, token string, body any, status int, exact bool) *apptest.Response {
			t.Helper()
			r := do(t, h, method, path, token, body)
			name := fmt.Sprintf("%s %s %d", method, path, status)
			t.Run(name, func(t *testing.T) {
				if r.Status != status {
					t.Fatalf("status %d, want %d; body %.400s", r.Status, status, r.Body)
				}
				p, _, _ := strings.Cut(path, "?")
				c.response(t, method, p, r, exact)
				// response ran check; formats adds "date" and "uri".
				_, op := c.doc.find(t, method, p)
				for _, e := range c.formats("body", op.Responses[fmt.Sprint(r.Status)].Content["application/json"].Schema, decodeAny(t, r.Body)) {
					t.Error(e)
				}
			})
			return r
		}
		list := func(path, token string) []map[string]any {
			t.Helper()
			r := call(http.MethodGet, path, token, nil, http.StatusOK, true)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, r.Status)
			}
			return r.List(t)
		}
		byName := func(l []map[string]any, name string) string {
			t.Helper()
			for _, x := range l {
				if x["name"] == name {
					return x["uuid"].(string)
				}
			}
			t.Fatalf("no %q in %d items", name, len(l))
			return ""
		}
		unknown := strings.Repeat("ab", 16)

		// Lists and retrieves, as staff and as a customer owner.
		for _, tok := range []string{apptest.Staff, apptest.Alice} {
			for _, p := range []string{
				"/api/customers/", "/api/projects/", "/api/marketplace-provider-offerings/", "/api/marketplace-plans/",
				"/api/marketplace-orders/", "/api/marketplace-resources/",
			} {
				l := list(p, tok)
				if len(l) > 0 {
					call(http.MethodGet, p+l[0]["uuid"].(string)+"/", tok, nil, http.StatusOK, true)
				}
			}
		}
		provRes := list("/api/marketplace-provider-resources/", apptest.Staff)
		call(http.MethodGet, "/api/marketplace-provider-resources/"+provRes[0]["uuid"].(string)+"/", apptest.Staff, nil, http.StatusOK, true)
		list("/api/marketplace-orders/?page_size=2", apptest.Bob)
		list("/api/marketplace-resources/?state=OK", carolToken)

		customers := list("/api/customers/", apptest.Staff)
		research := byName(customers, "Alice Research")
		provider := byName(customers, "Cloud Provider")
		projects := list("/api/projects/", apptest.Alice)
		genomics := byName(projects, "Genomics")
		offerings := list("/api/marketplace-provider-offerings/", apptest.Alice)
		hpc := byName(offerings, "Prepaid HPC allocation")
		plans := list("/api/marketplace-plans/", apptest.Alice)
		hpcPlan := byName(plans, "Standard allocation")
		list("/api/customers/"+research+"/list_users/", apptest.Alice)
		call(http.MethodGet, "/api/customers/"+provider+"/list_users/", apptest.Staff, nil, http.StatusOK, false) // may be empty
		list("/api/projects/"+genomics+"/list_users/", apptest.Bob)

		// Orders: place one (201), approve a pending one (200).
		call(http.MethodPost, "/api/marketplace-orders/", apptest.Bob, map[string]any{
			"project": genomics, "offering": hpc, "plan": hpcPlan,
			"attributes": map[string]any{"name": "schema-order"}, "limits": map[string]int64{"cpu_hours": 10},
			"request_comment": "schema check",
		}, http.StatusCreated, true)
		var pending string
		for _, o := range list("/api/marketplace-orders/", apptest.Bob) {
			if o["state"] == "pending-consumer" && o["created_by_username"] == "carol" {
				pending = o["uuid"].(string)
				break
			}
		}
		if pending == "" {
			t.Fatalf("no pending-consumer order of carol's in the demo data")
		}
		call(http.MethodPost, "/api/marketplace-orders/"+pending+"/approve_by_consumer/", apptest.Bob, nil, http.StatusOK, true)

		// Resources: PATCH, renew, terminate, on both endpoint families.
		resources := list("/api/marketplace-resources/", apptest.Alice)
		annotation := byName(resources, "hpc-annotation")
		assembly := byName(resources, "hpc-assembly")
		bucket := byName(resources, "archive-bucket")
		call(http.MethodPatch, "/api/marketplace-resources/"+annotation+"/", apptest.Alice,
			map[string]any{"description": "schema check", "options": map[string]any{"k": "v"}}, http.StatusOK, true)
		call(http.MethodPatch, "/api/marketplace-resources/"+annotation+"/", apptest.Alice,
			map[string]any{"end_date": ""}, http.StatusOK, true) // end_date null
		call(http.MethodPatch, "/api/marketplace-provider-resources/"+annotation+"/", apptest.Staff,
			map[string]any{"name": "hpc-annotation"}, http.StatusOK, true)
		call(http.MethodPost, "/api/marketplace-resources/"+annotation+"/renew/", apptest.Alice,
			map[string]any{"extension_days": 30}, http.StatusOK, true)
		call(http.MethodPost, "/api/marketplace-resources/"+assembly+"/renew/", apptest.Alice,
			map[string]any{"end_date": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}, http.StatusOK, true)
		call(http.MethodPost, "/api/marketplace-resources/"+bucket+"/terminate/", apptest.Alice, nil, http.StatusOK, true)

		// History, on every tracked object kind; revert on resources (staff).
		for _, p := range []string{
			"/api/marketplace-resources/" + assembly, "/api/marketplace-provider-resources/" + assembly,
			"/api/customers/" + research, "/api/projects/" + genomics,
			"/api/marketplace-provider-offerings/" + hpc, "/api/marketplace-plans/" + hpcPlan,
		} {
			versions := list(p+"/history/", apptest.Staff)
			list(p+"/history/?page_size=1", apptest.Support)
			newest, oldest := versions[0], versions[len(versions)-1]
			mid := versions[len(versions)/2]
			id := func(v map[string]any) string { return fmt.Sprint(int64(v["id"].(float64))) }
			at := url.QueryEscape(mid["revision_date"].(string))
			call(http.MethodGet, p+"/history/at/?timestamp="+at, apptest.Staff, nil, http.StatusOK, true)
			call(http.MethodGet, p+"/history/at/?timestamp="+url.QueryEscape(time.Now().UTC().Format(time.RFC3339)), apptest.Support, nil, http.StatusOK, true)
			call(http.MethodGet, p+"/history/"+id(oldest)+"/", apptest.Staff, nil, http.StatusOK, true)
			call(http.MethodGet, p+"/history/"+id(newest)+"/diff/", apptest.Staff, nil, http.StatusOK, true)
			call(http.MethodGet, p+"/history/"+id(oldest)+"/diff/", apptest.Staff, nil, http.StatusOK, true) // compared_to null
			call(http.MethodGet, p+"/history/"+id(newest)+"/diff/?to="+id(oldest), apptest.Staff, nil, http.StatusOK, true)
			// Errors: 400 field errors, 403, 404.
			call(http.MethodGet, p+"/history/at/", apptest.Staff, nil, http.StatusBadRequest, false)
			call(http.MethodGet, p+"/history/at/?timestamp=yesterday", apptest.Staff, nil, http.StatusBadRequest, false)
			call(http.MethodGet, p+"/history/?field=nope", apptest.Staff, nil, http.StatusBadRequest, false)
			call(http.MethodGet, p+"/history/", apptest.Alice, nil, http.StatusForbidden, false)
			call(http.MethodGet, p+"/history/999999999/", apptest.Staff, nil, http.StatusNotFound, false)
			if strings.Contains(p, "resources/") {
				call(http.MethodPost, p+"/history/"+id(mid)+"/revert/", apptest.Staff, nil, http.StatusOK, true)
				call(http.MethodPost, p+"/history/"+id(mid)+"/revert/", apptest.Support, nil, http.StatusForbidden, false)
			}
		}

		// Error bodies against the declared error schema.
		call(http.MethodPost, "/api/marketplace-orders/", apptest.Bob, map[string]any{"project": "nope", "offering": hpc}, http.StatusBadRequest, false)
		call(http.MethodPost, "/api/marketplace-orders/", apptest.Bob, map[string]any{"type": "Destroy"}, http.StatusBadRequest, false)
		call(http.MethodPatch, "/api/marketplace-resources/"+annotation+"/", apptest.Alice, map[string]any{"name": 7}, http.StatusBadRequest, false)
		call(http.MethodPost, "/api/marketplace-resources/"+annotation+"/renew/", apptest.Alice, map[string]any{"extension_days": 0}, http.StatusBadRequest, false)
		call(http.MethodPost, "/api/marketplace-resources/"+annotation+"/renew/", carolToken, map[string]any{"extension_days": 1}, http.StatusForbidden, false)
		call(http.MethodPost, "/api/marketplace-orders/"+pending+"/approve_by_consumer/", carolToken, nil, http.StatusForbidden, false)
		call(http.MethodGet, "/api/customers/"+research+"/history/", "", nil, http.StatusUnauthorized, false)
		for _, p := range []string{
			"/api/customers/", "/api/projects/", "/api/marketplace-provider-offerings/", "/api/marketplace-plans/",
			"/api/marketplace-orders/", "/api/marketplace-resources/", "/api/marketplace-provider-resources/",
		} {
			call(http.MethodGet, p+unknown+"/", apptest.Alice, nil, http.StatusNotFound, false)
		}
		call(http.MethodGet, "/api/customers/"+unknown+"/list_users/", apptest.Alice, nil, http.StatusNotFound, false)
		call(http.MethodPost, "/api/marketplace-resources/"+unknown+"/terminate/", apptest.Alice, nil, http.StatusNotFound, false)

		// The checker catches corrupted responses.
		real := do(t, h, http.MethodGet, "/api/marketplace-resources/"+annotation+"/", apptest.Alice, nil).Want(t, http.StatusOK).Body
		hist := do(t, h, http.MethodGet, "/api/marketplace-resources/"+assembly+"/history/", apptest.Staff, nil).Want(t, http.StatusOK).Body
		for _, m := range []struct {
			name, method, path string
			body               []byte
			mutate             func(v any)
		}{
			{"extra property", "GET", "/api/marketplace-resources/x/", real, func(v any) { v.(map[string]any)["bogus"] = 1 }},
			{"missing property", "GET", "/api/marketplace-resources/x/", real, func(v any) { delete(v.(map[string]any), "state") }},
			{"unknown state", "GET", "/api/marketplace-resources/x/", real, func(v any) { v.(map[string]any)["state"] = "Happy" }},
			{"dashed uuid", "GET", "/api/marketplace-resources/x/", real, func(v any) {
				m := v.(map[string]any)
				m["project_uuid"] = dashed(m["project_uuid"].(string))
			}},
			{"null name", "GET", "/api/marketplace-resources/x/", real, func(v any) { v.(map[string]any)["name"] = nil }},
			{"bad date", "GET", "/api/marketplace-resources/x/", real, func(v any) { v.(map[string]any)["end_date"] = "next week" }},
			{"relative url", "GET", "/api/marketplace-resources/x/", real, func(v any) { v.(map[string]any)["project"] = "/api/projects/" }},
			{"user as string", "GET", "/api/marketplace-resources/x/history/", hist, func(v any) { v.([]any)[0].(map[string]any)["revision_user"] = "admin" }},
			{"extra in user", "GET", "/api/marketplace-resources/x/history/", hist, func(v any) {
				l := v.([]any)
				for _, x := range l {
					if u, ok := x.(map[string]any)["revision_user"].(map[string]any); ok {
						u["email"] = "a@b"
						return
					}
				}
				l[0].(map[string]any)["revision_user"] = map[string]any{"uuid": "x"}
			}},
		} {
			v := decodeAny(t, m.body)
			if errs := c.bodyErrors(t, m.method, m.path, 200, v); len(errs) != 0 {
				t.Fatalf("%s: the uncorrupted body fails: %v", m.name, errs)
			}
			m.mutate(v)
			if len(c.bodyErrors(t, m.method, m.path, 200, v)) == 0 {
				t.Errorf("checker accepts a body with a %s", m.name)
			}
		}
	})
}
