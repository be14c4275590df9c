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
	// action is a valid UserAction with its 14 required keys (§5.2).
	action := func(edit func(m map[string]any)) string {
		m := map[string]any{
			"uuid": hex, "action_type": "pending_order", "title": "t", "description": "d", "urgency": "high",
			"is_temporarily_silenced": false, "is_effectively_silenced": false, "created": "2026-01-15T08:00:00Z",
			"modified": "2026-01-15T08:00:00.5+00:00", "related_object_name": "o", "related_object_type": "order",
			"corrective_actions": []any{map[string]any{"label": "Approve Order", "category": "approve", "severity": "low",
				"route_name": nil, "metadata": map[string]any{"order_uuid": hex}}},
			"days_until_due": nil, "route_params": map[string]any{},
		}
		edit(m)
		return mustJSON(t, m)
	}
	summary := `{"total": 3, "overdue": 0, "by_urgency": {"high": 1, "low": 2}, "by_type": {"pending_order": 3}}`
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

		// §5.2's rules.
		{"action ok", "UserAction", action(func(map[string]any) {}), nil},
		{"days_until_due int", "UserAction", action(func(m map[string]any) { m["days_until_due"] = -2 }), nil},
		{"days_until_due missing", "UserAction", action(func(m map[string]any) { delete(m, "days_until_due") }),
			[]string{"client $.days_until_due"}},
		{"days_until_due a string", "UserAction", action(func(m map[string]any) { m["days_until_due"] = "2" }),
			[]string{"strict $.days_until_due"}},
		{"corrective_actions empty", "UserAction", action(func(m map[string]any) { m["corrective_actions"] = []any{} }), nil},
		{"corrective_actions missing", "UserAction", action(func(m map[string]any) { delete(m, "corrective_actions") }),
			[]string{"client $.corrective_actions"}},
		{"corrective_actions null", "UserAction", action(func(m map[string]any) { m["corrective_actions"] = nil }),
			[]string{"client $.corrective_actions"}},
		{"corrective_actions an object", "UserAction", action(func(m map[string]any) { m["corrective_actions"] = map[string]any{} }),
			[]string{"client $.corrective_actions"}},
		{"corrective action without severity", "UserAction", action(func(m map[string]any) {
			m["corrective_actions"] = []any{map[string]any{"label": "x", "category": "view"}}
		}), []string{"client $.corrective_actions[0].severity"}},
		{"corrective action category", "UserAction", action(func(m map[string]any) {
			m["corrective_actions"] = []any{map[string]any{"label": "x", "category": "navigate", "severity": "safe"}}
		}), []string{"client $.corrective_actions[0].category"}},
		{"corrective action route_params null", "UserAction", action(func(m map[string]any) {
			m["corrective_actions"] = []any{map[string]any{"label": "x", "category": "view", "severity": "safe", "route_params": nil}}
		}), []string{"client $.corrective_actions[0].route_params"}},
		{"route_params missing", "UserAction", action(func(m map[string]any) { delete(m, "route_params") }),
			[]string{"client $.route_params"}},
		{"route_params null", "UserAction", action(func(m map[string]any) { m["route_params"] = nil }),
			[]string{"client $.route_params"}},
		{"route_params an array", "UserAction", action(func(m map[string]any) { m["route_params"] = []any{} }),
			[]string{"client $.route_params"}},
		{"urgency outside the enum", "UserAction", action(func(m map[string]any) { m["urgency"] = "critical" }),
			[]string{"client $.urgency"}},
		{"silence flags and dates", "UserAction", action(func(m map[string]any) {
			m["is_silenced"] = true
			m["silenced_until"] = nil
			m["due_date"] = nil
			m["resource_uuid"] = nil
		}), nil},
		{"optional uuid blank", "UserAction", action(func(m map[string]any) { m["project_uuid"] = "" }), []string{"strict $.project_uuid"}},
		{"summary ok", "UserActionSummary", summary, nil},
		{"by_urgency value a string", "UserActionSummary", strings.Replace(summary, `"high": 1`, `"high": "1"`, 1),
			[]string{"strict $.by_urgency.high"}},
		{"by_urgency value a float", "UserActionSummary", strings.Replace(summary, `"high": 1`, `"high": 1.0`, 1),
			[]string{"strict $.by_urgency.high"}},
		{"by_urgency null", "UserActionSummary", strings.Replace(summary, `{"high": 1, "low": 2}`, `null`, 1),
			[]string{"client $.by_urgency"}},
		{"by_type missing", "UserActionSummary", `{"total": 0, "overdue": 0, "by_urgency": {}}`, []string{"client $.by_type"}},
		{"execution metadata an object", "UserActionExecution",
			`{"id": 1, "corrective_action_label": "x", "executed_at": "2026-01-15T08:00:00Z", "execution_metadata": {}}`,
			[]string{"strict $.execution_metadata"}},
		{"provider never run", "UserActionProvider", `{"id": 1, "app_name": "a", "provider_class": "c", "action_type": "t",
			"last_execution": null, "last_execution_status": ""}`, nil},
		{"provider last_execution missing", "UserActionProvider", `{"id": 1, "app_name": "a", "provider_class": "c",
			"action_type": "t", "last_execution_status": ""}`, []string{"client $.last_execution"}},
		{"execute error", "ExecuteActionErrorResponse", `{"detail": "x", "error": "x"}`, nil},
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
		// duration_days is not nullable: a permanent silence leaves it out.
		v, _ = decodeJSON([]byte(`{"duration_days": null}`))
		if got := c.CheckRequest("SilenceActionRequest", v); len(got) != 1 || got[0].Path != "$.duration_days" {
			t.Errorf("got %v", got)
		}
		v, _ = decodeJSON([]byte(`{"provider_action_type": null}`))
		if got := c.CheckRequest("UpdateActionsRequest", v); len(got) != 0 {
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
