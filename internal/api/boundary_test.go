package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestInputBoundary checks the refusals of the input boundary on both
// databases: each is a DRF 400 naming the field or parameter, and the state
// the request would have touched is unchanged. Before the boundary,
// PostgreSQL answered 500 to the NUL and year-0 cases (SQLSTATE 22021,
// 22008) and SQLite stored them.
func TestInputBoundary(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		res := do(t, h, http.MethodGet, "/api/marketplace-resources/?name=hpc-sequencing", apptest.Alice, nil).Want(t, http.StatusOK).List(t)
		if len(res) != 1 {
			t.Fatalf("demo resource hpc-sequencing: %d found", len(res))
		}
		resPath := "/api/marketplace-resources/" + res[0]["uuid"].(string) + "/"
		orders := do(t, h, http.MethodGet, "/api/marketplace-orders/?state=pending-consumer", apptest.Bob, nil).Want(t, http.StatusOK).List(t)
		if len(orders) == 0 {
			t.Fatal("no pending demo order")
		}
		orderPath := "/api/marketplace-orders/" + orders[0]["uuid"].(string) + "/"
		customer := do(t, h, http.MethodGet, "/api/customers/", apptest.Alice, nil).Want(t, http.StatusOK).List(t)[0]["uuid"].(string)

		snapshot := func() map[string]any {
			return map[string]any{
				"customers": do(t, h, http.MethodGet, "/api/customers/?page_size=300", apptest.Staff, nil).Want(t, http.StatusOK).List(t),
				"users":     usersSnapshot(t, h),
				"resource":  do(t, h, http.MethodGet, resPath, apptest.Staff, nil).Want(t, http.StatusOK).Object(t),
				"order":     do(t, h, http.MethodGet, orderPath, apptest.Staff, nil).Want(t, http.StatusOK).Object(t),
			}
		}
		nul := "This field may not be null."
		cases := []struct {
			name, method, path, token, body string
			want                            string // exact DRF body
		}{
			{"NUL in a body string", "POST", "/api/customers/", apptest.Staff, `{"name":"a\u0000b"}`,
				`{"name":["Null characters are not allowed."]}`},
			{"NUL in a list filter", "GET", "/api/customers/?name=%00", apptest.Staff, "",
				`{"name":["Null characters are not allowed."]}`},
			{"NUL in the unauthenticated login", "POST", "/api-auth/password/", "", `{"username":"alice\u0000","password":"x"}`,
				`{"username":["Null characters are not allowed."]}`},
			{"NUL inside free-form attributes", "POST", "/api/marketplace-orders/", apptest.Alice,
				`{"project":"` + customer + `","offering":"` + customer + `","attributes":{"name":"x","deep":["\u0000"]}}`,
				`{"attributes":["Null characters are not allowed."]}`},
			{"invalid UTF-8 in a query", "GET", "/api/customers/?name=%ff", apptest.Staff, "",
				`{"name":["Invalid UTF-8."]}`},
			{"year 0 in a body date", "PATCH", resPath, apptest.Staff, `{"end_date":"0000-01-01"}`,
				`{"end_date":["Date must be between 0001-01-01 and 9999-12-31."]}`},
			{"year 0 in a date filter", "GET", "/api/marketplace-resources/?end_date_before=0000-01-01", apptest.Staff, "",
				`{"end_date_before":["Date must be between 0001-01-01 and 9999-12-31."]}`},
			{"five-digit year", "PATCH", resPath, apptest.Staff, `{"end_date":"10009-12-28"}`, ""},
			{"null for a non-nullable string", "PATCH", resPath, apptest.Staff, `{"description":null}`,
				`{"description":["` + nul + `"]}`},
			{"null for a non-nullable customer field", "POST", "/api/customers/", apptest.Staff, `{"name":"N","email":null}`,
				`{"email":["` + nul + `"]}`},
			{"null for renew's extension", "POST", resPath + "renew/", apptest.Alice, `{"extension_days":null}`,
				`{"extension_days":["` + nul + `"]}`},
			{"malformed body to an action that takes none", "POST", orderPath + "approve_by_consumer/", apptest.Bob, `{not json`, ""},
			{"all-zero uuid is no object", "POST", "/api/projects/", apptest.Alice,
				`{"customer":"00000000000000000000000000000000","name":"p"}`,
				`{"customer":["Invalid hyperlink - Object does not exist."]}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot()
				var body any
				if c.body != "" {
					body = c.body
				}
				r := do(t, h, c.method, c.path, c.token, body)
				if c.want != "" {
					wantJSON(t, r, http.StatusBadRequest, c.want)
				} else if r.Status != http.StatusBadRequest || !strings.HasPrefix(string(r.Body), "{") {
					t.Fatalf("status %d, want a DRF 400; body %s", r.Status, r.Body)
				}
				if diff := cmp.Diff(before, snapshot()); diff != "" {
					t.Errorf("a refused request changed state (-before +after):\n%s", diff)
				}
			})
		}

		// DRF ignores keys a serializer does not declare; Waldur's clients
		// send some (category on offerings, first_name on users, ...).
		t.Run("unknown keys are ignored, declared ones kept", func(t *testing.T) {
			r := do(t, h, http.MethodPost, "/api/customers/", apptest.Staff,
				`{"name":"Ignoring Inc","native_name":"whatever","blocked":false}`).Want(t, http.StatusCreated).Object(t)
			if r["name"] != "Ignoring Inc" {
				t.Errorf("name %v", r["name"])
			}
			if _, ok := r["native_name"]; ok {
				t.Errorf("undeclared key echoed: %v", r)
			}
		})
	})
}

// TestQueryParametersAreNeverNull: a query string cannot carry null, so no
// parameter may be declared nullable (Huma declared repeated ones as
// ["array","null"]).
func TestQueryParametersAreNeverNull(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, dbtest.NewURL(t, db.SQLite), apptest.Options{NoDemo: true})
	_, raw := fetchDoc(t, h)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string         `json:"name"`
				Schema map[string]any `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				n++
				if ts, ok := p.Schema["type"].([]any); ok {
					t.Errorf("%s %s parameter %s has type %v", method, path, p.Name, ts)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d parameters in the document", n)
	}
}
