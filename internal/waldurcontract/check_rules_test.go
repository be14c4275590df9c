package waldurcontract

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestChecker pins the checker to §1's rules on the contract's own models.
func TestChecker(t *testing.T) {
	c := loadContract(t)
	const hex = "0123456789abcdef0123456789abcdef"
	const dashed = "01234567-89ab-cdef-0123-456789abcdef"
	plan := func(edit func(m map[string]any)) string {
		m := map[string]any{
			"url": "http://x/api/marketplace-plans/" + hex + "/", "uuid": hex, "name": "p", "is_active": true,
			"init_price": 0, "switch_price": 0, "organization_groups": []any{}, "components": []any{},
			"offering": "http://x/o/", "prices": map[string]any{}, "future_prices": map[string]any{},
			"quotas": map[string]any{}, "resources_count": 0, "plan_type": "limit", "minimal_price": "0.00",
		}
		edit(m)
		return mustJSON(t, m)
	}
	for _, tc := range []struct {
		name, model, body string
		want              []string // "sev path" prefixes, in any order; none means no violation
	}{
		{"plan ok", "ProviderPlanDetails", plan(func(map[string]any) {}), nil},
		{"plan without keys", "ProviderPlanDetails", `{"uuid": "` + hex + `", "url": "u", "name": "n", "offering": "o"}`, []string{
			"client $.is_active", "client $.init_price", "client $.switch_price", "client $.organization_groups",
			"client $.components", "client $.prices", "client $.future_prices", "client $.quotas",
			"client $.resources_count", "client $.plan_type", "client $.minimal_price"}},
		{"unknown keys are fine", "ProviderPlanDetails", plan(func(m map[string]any) { m["extra"] = []any{nil} }), nil},
		{"dashed uuid", "ProviderPlanDetails", plan(func(m map[string]any) { m["uuid"] = dashed }), nil},
		{"bad uuid", "ProviderPlanDetails", plan(func(m map[string]any) { m["uuid"] = "42" }), []string{"client $.uuid"}},
		{"uuid not a string", "ProviderPlanDetails", plan(func(m map[string]any) { m["uuid"] = 42 }), []string{"client $.uuid"}},
		{"required array null", "ProviderPlanDetails", plan(func(m map[string]any) { m["organization_groups"] = nil }),
			[]string{"client $.organization_groups"}},
		{"map null", "ProviderPlanDetails", plan(func(m map[string]any) { m["quotas"] = nil }), []string{"client $.quotas"}},
		{"map of int holds a string", "ProviderPlanDetails", plan(func(m map[string]any) { m["quotas"] = map[string]any{"cpu": "1"} }),
			[]string{"strict $.quotas.cpu"}},
		{"scalar of the wrong type", "ProviderPlanDetails", plan(func(m map[string]any) { m["init_price"] = "0.00" }),
			[]string{"strict $.init_price"}},
		{"scalar null", "ProviderPlanDetails", plan(func(m map[string]any) { m["plan_type"] = nil }), []string{"strict $.plan_type"}},
		{"nullable scalar null", "ProviderPlanDetails", plan(func(m map[string]any) { m["max_amount"] = nil }), nil},
		{"enum out of range", "ProviderPlanDetails", plan(func(m map[string]any) { m["unit"] = "week" }), []string{"client $.unit"}},
		{"optional enum null", "ProviderPlanDetails", plan(func(m map[string]any) { m["unit"] = nil }), []string{"client $.unit"}},
		{"nested item not an object", "ProviderPlanDetails", plan(func(m map[string]any) { m["components"] = []any{"cpu"} }),
			[]string{"client $.components[0]"}},
		{"nested item enum", "ProviderPlanDetails", plan(func(m map[string]any) {
			m["components"] = []any{map[string]any{"type": "cpu", "discount_aggregation": "total"}}
		}), []string{"client $.components[0].discount_aggregation"}},

		{"expiration_time present and null", "UserRoleExpirationTime", `{"expiration_time": null}`, nil},
		{"expiration_time missing", "UserRoleExpirationTime", `{}`, []string{"client $.expiration_time"}},
		{"nullable date-time unparsable", "UserRoleExpirationTime", `{"expiration_time": "soon"}`, []string{"strict $.expiration_time"}},
		{"date-time forms", "UserRoleDetails", `{"created": "2024-01-15T08:00:00.123456+00:00", "expiration_time": "2024-01-15"}`, nil},
		{"date-time Z", "UserRoleDetails", `{"created": "2024-01-15T08:00:00Z"}`, nil},
		{"date-time bad", "UserRoleDetails", `{"created": "15/01/2024"}`, []string{"client $.created"}},
		{"date-time null", "UserRoleDetails", `{"created": null}`, []string{"client $.created"}},

		{"terminate order plan null", "OrderDetails", `{"type": "Terminate", "plan": null, "plan_uuid": null, "state": "done"}`,
			[]string{"strict $.plan"}},
		{"order state", "OrderDetails", `{"state": "approved"}`, []string{"client $.state"}},
		{"order issue nullable", "OrderDetails", `{"issue": null, "limits": {"cpu": 1}}`, nil},
		{"order nested lenient", "OrderDetails", `{"issue": "KEY-1"}`, []string{"strict $.issue"}},

		{"blank country", "Customer", `{"country": ""}`, nil},
		{"country", "Customer", `{"country": "EE"}`, nil},
		{"unknown country", "Customer", `{"country": "XX"}`, []string{"client $.country"}},
		{"country null", "Customer", `{"country": null}`, []string{"client $.country"}},
		{"gender nullable union", "User", `{"gender": null, "ip_address": null}`, nil},
		{"ip_address not nullable on me", "UserMe", `{"ip_address": null}`, []string{"strict $.ip_address"}},
		{"permissions items", "User", `{"permissions": [{"scope_uuid": "x"}]}`, []string{"client $.permissions[0].scope_uuid"}},

		{"optional array of objects null", "Resource", `{"endpoints": null}`, []string{"strict $.endpoints"}},
		{"array of strings null", "Resource", `{"available_actions": null}`, []string{"strict $.available_actions"}},
		{"free object", "Resource", `{"attributes": [], "options": null}`, []string{"client $.attributes"}},
		{"nullable nested order unparsable", "Resource", `{"order_in_progress": {"state": "nope"}}`,
			[]string{"strict $.order_in_progress.state"}},
		{"end date", "Resource", `{"end_date": "2024-02-30"}`, []string{"strict $.end_date"}},
		{"renewal dates", "Resource", `{"renewal_date": {"a": "2024-01-01"}}`, nil},
		{"usage limit restriction", "Resource", `{"usage_limit_restriction": ""}`, nil},

		{"history user null", "VersionHistory", `{"id": 1, "revision_date": "2024-01-01T00:00:00Z", "revision_user": null,
			"revision_comment": "", "serialized_data": {}}`, nil},
		{"history id string", "VersionHistory", `{"id": "1", "revision_date": "2024-01-01T00:00:00Z", "revision_user": null,
			"revision_comment": "", "serialized_data": {}}`, []string{"strict $.id"}},
		{"top level array", "Status", `[{"status": "OK"}]`, []string{"client $"}},
		{"opaque", "MarketplaceResourcesHistoryAtRetrieveResponse400", `{"timestamp": ["bad"]}`, nil},
		{"opaque not an object", "MarketplaceResourcesHistoryAtRetrieveResponse400", `"bad"`, []string{"client $"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got := c.CheckModel(tc.model, v)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tc.want), violationLines(got))
			}
			for _, w := range tc.want {
				sev, path, _ := strings.Cut(w, " ")
				found := false
				for _, g := range got {
					if g.Sev.String() == sev && g.Path == path {
						found = true
					}
				}
				if !found {
					t.Errorf("want [%s] %s; got:\n%s", sev, path, violationLines(got))
				}
			}
		})
	}

	t.Run("request bodies", func(t *testing.T) {
		v, _ := decodeJSON([]byte(`{"role": "PROJECT.MEMBER", "user": "` + dashed + `", "extra": 1}`))
		got := c.CheckRequest("UserRoleCreateRequest", v)
		if len(got) != 1 || got[0].Sev != TestBug || got[0].Path != "$.extra" {
			t.Errorf("got %v", got)
		}
		v, _ = decodeJSON([]byte(`{"name": "x"}`))
		if got := c.CheckRequest("ProjectRequest", v); len(got) != 1 || got[0].Path != "$.customer" {
			t.Errorf("got %v", got)
		}
	})
}

func TestPythonUUID(t *testing.T) {
	for s, ok := range map[string]bool{
		"01234567-89ab-cdef-0123-456789abcdef": true, "0123456789abcdef0123456789ABCDEF": true,
		"{01234567-89ab-cdef-0123-456789abcdef}": true, "urn:uuid:01234567-89ab-cdef-0123-456789abcdef": true,
		"0123456789abcdef0123456789abcde": false, "0123456789abcdef0123456789abcdeg": false, "": false,
	} {
		if pythonUUID(s) != ok {
			t.Errorf("pythonUUID(%q) = %v", s, !ok)
		}
	}
}

func violationLines(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  - " + v.String() + "\n")
	}
	return b.String()
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
