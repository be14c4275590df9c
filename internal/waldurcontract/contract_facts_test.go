package waldurcontract

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestParseContract checks the parser against facts the document states.
func TestParseContract(t *testing.T) {
	c := loadContract(t)

	// Operations of §2–§5: 8 user, 16 customer/project, 49 marketplace,
	// 18 user actions (§5.1's table; §5.3 only points back at it).
	bySection := map[string]int{}
	for _, op := range c.Ops {
		major, _, _ := strings.Cut(op.Section, ".")
		bySection[major]++
	}
	if got, want := bySection, map[string]int{"2": 8, "3": 16, "4": 49, "5": 18}; !mapsEqual(got, want) {
		t.Errorf("operations per section = %v, want %v", got, want)
	}
	if len(c.Ops) != 91 {
		t.Errorf("%d operations, want 91", len(c.Ops))
	}
	if c.Op("override_settings") != nil || c.Op("override_settings_retrieve") != nil {
		t.Errorf("§5.3's settings operations are not in a table and must not be read")
	}

	op := func(name string) *Operation {
		t.Helper()
		o := c.Op(name)
		if o == nil {
			t.Fatalf("operation %s not parsed", name)
		}
		return o
	}
	for _, tc := range []struct {
		op, method, path, body, statuses string
		syncAll                          bool
	}{
		{"users_list", "GET", "/api/users/", "", "200→array of User", true},
		{"users_count", "HEAD", "/api/users/", "", "200→X-Result-Count", false},
		{"users_me_count", "HEAD", "/api/users/me/", "", "200→X-Result-Count", false},
		{"users_create", "POST", "/api/users/", "UserRequest", "201→User", false},
		{"api_auth_password", "POST", "/api-auth/password/", "ObtainAuthTokenRequest", "200→CoreAuthToken, 401→None", false},
		{"customers_add_user", "POST", "/api/customers/{uuid}/add_user/", "UserRoleCreateRequest", "201→UserRoleExpirationTime, 400→None", false},
		{"projects_delete_user", "POST", "/api/projects/{uuid}/delete_user/", "UserRoleDeleteRequest", "200→None", false},
		{"marketplace_public_offerings_retrieve", "GET", "/api/marketplace-public-offerings/{uuid}/", "", "200→PublicOfferingDetails", false},
		{"marketplace_orders_cancel", "POST", "/api/marketplace-orders/{uuid}/cancel/", "", "202→None", false},
		{"marketplace_orders_approve_by_consumer", "POST", "/api/marketplace-orders/{uuid}/approve_by_consumer/", "", "200→OrderInfoResponse", false},
		{"marketplace_resources_renew", "POST", "/api/marketplace-resources/{uuid}/renew/", "ResourceRenewRequest", "200→OrderUUID", false},
		{"marketplace_provider_resources_set_slug", "POST", "/api/marketplace-provider-resources/{uuid}/set_slug/", "ResourceSlugRequest", "200→Status", false},
		{"marketplace_resources_update", "PUT", "/api/marketplace-resources/{uuid}/", "ResourceUpdateRequest", "200→ResourceUpdate", false},
		{"marketplace_resources_history_list", "GET", "/api/marketplace-resources/{uuid}/history/", "", "200→array of VersionHistory", true},
		{"marketplace_resources_history_at_retrieve", "GET", "/api/marketplace-resources/{uuid}/history/at/", "",
			"200→VersionHistory, 400→MarketplaceResourcesHistoryAtRetrieveResponse400", false},
		// §5.1, every row.
		{"user_actions_list", "GET", "/api/user-actions/", "", "200→array of UserAction", true},
		{"user_actions_count", "HEAD", "/api/user-actions/", "", "200→X-Result-Count", false},
		{"user_actions_retrieve", "GET", "/api/user-actions/{uuid}/", "", "200→UserAction", false},
		{"user_actions_summary_retrieve", "GET", "/api/user-actions/summary/", "", "200→UserActionSummary", false},
		{"user_actions_summary_count", "HEAD", "/api/user-actions/summary/", "", "200→X-Result-Count", false},
		{"user_actions_silence", "POST", "/api/user-actions/{uuid}/silence/", "SilenceActionRequest", "200→SilenceActionResponse", false},
		{"user_actions_unsilence", "POST", "/api/user-actions/{uuid}/unsilence/", "", "200→Status", false},
		{"user_actions_bulk_silence", "POST", "/api/user-actions/bulk_silence/", "SilenceActionRequest", "200→BulkSilenceResponse", false},
		// The 404 error model is declared but unreachable (not bold); the
		// 500 is returned, not raised.
		{"user_actions_execute_action", "POST", "/api/user-actions/{uuid}/execute_action/", "ExecuteActionRequest",
			"200→ExecuteActionResponse, 500→ExecuteActionErrorResponse", false},
		{"user_actions_update_actions", "POST", "/api/user-actions/update_actions/", "UpdateActionsRequest", "202→UpdateActionsResponse", false},
		{"user_action_executions_list", "GET", "/api/user-action-executions/", "", "200→array of UserActionExecution", true},
		{"user_action_executions_count", "HEAD", "/api/user-action-executions/", "", "200→X-Result-Count", false},
		{"user_action_executions_retrieve", "GET", "/api/user-action-executions/{id}/", "", "200→UserActionExecution", false},
		{"user_action_providers_list", "GET", "/api/user-action-providers/", "", "200→array of UserActionProvider", true},
		{"user_action_providers_count", "HEAD", "/api/user-action-providers/", "", "200→X-Result-Count", false},
		{"user_action_providers_retrieve", "GET", "/api/user-action-providers/{id}/", "", "200→UserActionProvider", false},
		{"users_update_actions", "POST", "/api/users/{uuid}/update_actions/", "UpdateActionsRequest", "202→UpdateActionsResponse", false},
		{"users_send_notification", "POST", "/api/users/{uuid}/send_notification/", "", "202→SendNotificationResponse", false},
	} {
		o := op(tc.op)
		if o.Method != tc.method || o.Path != tc.path || o.Body != tc.body || o.statusList() != tc.statuses || o.SyncAll != tc.syncAll {
			t.Errorf("%s = %s %s body %q [%s] sync_all=%v; want %s %s body %q [%s] sync_all=%v", tc.op,
				o.Method, o.Path, o.Body, o.statusList(), o.SyncAll, tc.method, tc.path, tc.body, tc.statuses, tc.syncAll)
		}
	}
	if c.Op("marketplace_provider_resources_renew") != nil {
		t.Errorf("renew exists only on the consumer path")
	}
	// Every list has a sync_all and (except history) a count twin.
	for _, o := range c.Ops {
		if o.IsList() != o.SyncAll {
			t.Errorf("%s: list=%v sync_all=%v", o.Name, o.IsList(), o.SyncAll)
		}
		if o.IsList() && c.countFor(o) == nil && !strings.Contains(o.Path, "/history/") {
			t.Errorf("%s has no count operation", o.Name)
		}
	}

	// §5's query parameters, the only ones the parser reads.
	for name, params := range map[string]string{
		"user_actions_list": "action_type:string created_after:date-time created_before:date-time due_within_days:number " +
			"include_silenced:bool is_silenced:bool o:string overdue:bool page:int page_size:int urgency:UrgencyEnum user_uuid:uuid",
		"user_action_executions_list": "o:string page:int page_size:int",
		"user_action_providers_list":  "page:int page_size:int",
	} {
		var got []string
		for _, q := range op(name).Query {
			got = append(got, q.Name+":"+q.Type.String())
		}
		if strings.Join(got, " ") != params {
			t.Errorf("%s query = %v, want %s", name, got, params)
		}
	}
	for _, o := range c.Ops {
		if o.Query != nil && o.Section[0] != '5' {
			t.Errorf("%s: query parameters read outside §5", o.Name)
		}
	}

	model := func(name string) *Model {
		t.Helper()
		m := c.Models[name]
		if m == nil {
			t.Fatalf("model %s not parsed", name)
		}
		return m
	}
	// Key counts the document states, and those checked by hand.
	for name, keys := range map[string]int{
		"User": 61, "UserMe": 62, "UserRequest": 38, "PatchedUserRequest": 37, "Customer": 63, "CustomerRequest": 44,
		"Project": 53, "ProjectRequest": 20, "ProviderOfferingDetails": 83, "PublicOfferingDetails": 84,
		"OfferingCreateRequest": 34, "OrderDetails": 95, "Resource": 86, "ProviderPlanDetails": 22,
		"UserRoleDetails": 12, "ResourceUpdate": 3, "PatchedResourceUpdateRequest": 3, "Status": 1, "OrderUUID": 1,
		"VersionHistory": 5, "BaseProviderPlan": 21, "BasePublicPlan": 21, "OrganizationGroup": 7, "NestedPlanComponent": 9,
		"OfferingComponent": 26, "IssueReference": 2, "OfferingComponentRequest": 22, "OfferingOptionsRequest": 2,
		// §5.2, every table.
		"UserAction": 28, "CorrectiveAction": 10, "UserActionSummary": 4, "UserActionExecution": 6, "UserActionProvider": 8,
		"SilenceActionRequest": 1, "SilenceActionResponse": 2, "BulkSilenceResponse": 3, "ExecuteActionRequest": 1,
		"ExecuteActionResponse": 4, "ExecuteActionErrorResponse": 1, "UpdateActionsRequest": 1, "UpdateActionsResponse": 3,
		"SendNotificationResponse": 2,
	} {
		if got := len(model(name).Fields); got != keys {
			t.Errorf("%s has %d keys, want %d", name, got, keys)
		}
	}
	req := model("ProviderPlanDetails").Required()
	if len(req) != 15 {
		t.Errorf("ProviderPlanDetails has %d required keys %v, want 15", len(req), req)
	}
	for _, f := range []string{"components", "future_prices", "init_price", "is_active", "minimal_price", "organization_groups",
		"plan_type", "prices", "quotas", "resources_count", "switch_price", "url", "uuid", "name", "offering"} {
		if !slices.Contains(req, f) {
			t.Errorf("ProviderPlanDetails.%s should be required", f)
		}
	}
	// Required keys of §5.2's models, counted by hand from the tables.
	for name, want := range map[string]string{
		"UserAction": "uuid action_type title description urgency is_temporarily_silenced is_effectively_silenced created " +
			"modified related_object_name related_object_type corrective_actions days_until_due route_params",
		"CorrectiveAction":           "label category severity",
		"UserActionSummary":          "total by_urgency by_type overdue",
		"UserActionExecution":        "id corrective_action_label executed_at",
		"UserActionProvider":         "id app_name provider_class action_type last_execution last_execution_status",
		"SilenceActionRequest":       "",
		"SilenceActionResponse":      "status",
		"BulkSilenceResponse":        "status count",
		"ExecuteActionRequest":       "action_label",
		"ExecuteActionResponse":      "action",
		"ExecuteActionErrorResponse": "error",
		"Status":                     "status",
		"UpdateActionsRequest":       "",
		"UpdateActionsResponse":      "status message",
		"SendNotificationResponse":   "status message",
	} {
		if got := strings.Join(model(name).Required(), " "); got != want {
			t.Errorf("%s requires [%s], want [%s]", name, got, want)
		}
	}
	if n := len(model("UserAction").Required()); n != 14 {
		t.Errorf("UserAction has %d required keys, want 14", n)
	}

	for _, tc := range []struct {
		model, field, typ  string
		required, nullable bool
	}{
		{"UserRoleExpirationTime", "expiration_time", "date-time", true, true},
		{"User", "ip_address", "string", false, true},
		{"UserMe", "ip_address", "string", false, false},
		{"User", "permissions", "[Permission]", false, false},
		{"UserMe", "permissions", "[MePermission]", false, false},
		{"UserMe", "profile_completeness", "ProfileCompleteness", false, false},
		{"User", "gender", `"" or GenderEnum`, false, true},
		{"Customer", "country", `"" or CountryEnum`, false, false},
		{"Resource", "usage_limit_restriction", `"" or UsageLimitRestrictionEnum`, false, false},
		{"Resource", "renewal_date", "{string: date}", false, true},
		{"Resource", "order_in_progress", "OrderDetails", false, true},
		{"Resource", "state", "ResourceState", false, false},
		{"OrderDetails", "plan", "string", false, false},
		{"OrderDetails", "plan_uuid", "uuid", false, true},
		{"OrderDetails", "state", "OrderState", false, false},
		{"ProviderPlanDetails", "quotas", "{string: int}", true, false},
		{"ProviderPlanDetails", "max_amount", "int", false, true},
		{"ProviderPlanDetails", "unit", "BillingUnit", false, false},
		{"PublicOfferingDetails", "plans", "[BasePublicPlan]", false, false},
		{"PublicOfferingDetails", "promotion_campaigns", "[NestedCampaign]", false, false},
		{"ProviderOfferingDetails", "integration_status", "[IntegrationStatus]", false, true},
		{"VersionHistory", "revision_user", "object", true, true},
		{"OrderCreateRequest", "attributes", "object", false, false},
		{"ResourceUpdate", "name", "string", true, false},
		{"PatchedResourceUpdateRequest", "name", "string", false, false},
		{"PatchedResourceUpdateRequest", "end_date", "date", false, true},
		{"ResourceSlugRequest", "slug", "string", true, false},
		{"ResourcePausedRequest", "paused", "bool", false, false},
		{"OrderUUID", "order_uuid", "uuid", true, false},
		{"ResourceRenewRequest", "extension_months", "int", true, false},
		{"UserRequest", "email", "string", true, false},
		{"OfferingCreateRequest", "category", "string", true, false},
		{"OfferingComponentRequest", "billing_type", "BillingTypeEnum", true, false},
		{"OfferingComponentRequest", "limit_period", "LimitPeriodEnum", false, true},
		{"OrganizationGroup", "parent", "string", false, true},
		{"PaymentProfile", "is_active", "bool", false, true},
		{"ProjectMetadataAnswer", "answer", "any", false, false},
		{"UserAction", "uuid", "uuid", true, false},
		{"UserAction", "urgency", "UrgencyEnum", true, false},
		{"UserAction", "days_until_due", "int", true, true},
		{"UserAction", "corrective_actions", "[CorrectiveAction]", true, false},
		{"UserAction", "route_params", "object", true, false},
		{"UserAction", "due_date", "date-time", false, true},
		{"UserAction", "is_silenced", "bool", false, false},
		{"UserAction", "silenced_until", "date-time", false, true},
		{"UserAction", "route_name", "string", false, false},
		{"UserAction", "resource_uuid", "uuid", false, true},
		{"CorrectiveAction", "category", "CorrectiveActionCategoryEnum", true, false},
		{"CorrectiveAction", "severity", "CorrectiveActionSeverityEnum", true, false},
		{"CorrectiveAction", "permissions_required", "[string]", false, false},
		{"CorrectiveAction", "route_name", "string", false, true},
		{"CorrectiveAction", "metadata", "object", false, false},
		{"UserActionSummary", "by_urgency", "{string: int}", true, false},
		{"UserActionSummary", "by_type", "{string: int}", true, false},
		{"UserActionExecution", "id", "int", true, false},
		{"UserActionExecution", "execution_metadata", "string", false, false},
		{"UserActionProvider", "last_execution", "date-time", true, true},
		{"SilenceActionRequest", "duration_days", "int", false, false},
		{"SilenceActionResponse", "duration_days", "int", false, true},
		{"ExecuteActionResponse", "metadata", "object", false, false},
		{"UpdateActionsRequest", "provider_action_type", "string", false, true},
	} {
		f := model(tc.model).Field(tc.field)
		if f == nil {
			t.Errorf("%s.%s not parsed", tc.model, tc.field)
			continue
		}
		if f.Type.String() != tc.typ || f.Required != tc.required || f.Nullable != tc.nullable {
			t.Errorf("%s.%s = %s required=%v nullable=%v; want %s required=%v nullable=%v", tc.model, tc.field,
				f.Type, f.Required, f.Nullable, tc.typ, tc.required, tc.nullable)
		}
	}
	for _, gone := range []string{"secret_options", "service_attributes", "backend_id_rules", "integration_status"} {
		if model("PublicOfferingDetails").Field(gone) != nil {
			t.Errorf("PublicOfferingDetails should drop %s", gone)
		}
	}
	for _, m := range []string{"User", "Customer", "Project", "Resource", "OrderDetails", "ProviderOfferingDetails", "UserRoleDetails"} {
		if r := model(m).Required(); len(r) != 0 {
			t.Errorf("%s has required keys %v, want none", m, r)
		}
	}

	for name, n := range map[string]int{
		"OrderState": 9, "RequestTypes": 4, "ResourceState": 6, "OfferingState": 5, "BillingUnit": 6, "CoreStates": 8,
		"GenderEnum": 3, "CountryEnum": 250, "OecdFos2007CodeEnum": 43, "ProjectKindEnum": 3, "UsageLimitRestrictionEnum": 2,
		"MarketplaceServiceProviderUserOEnum": 24, "AgentTypeEnum": 6,
		"UrgencyEnum": 3, "CorrectiveActionCategoryEnum": 12, "CorrectiveActionSeverityEnum": 5,
	} {
		e := c.Enums[name]
		if e == nil {
			t.Errorf("enum %s not parsed", name)
			continue
		}
		if len(e.Values) != n {
			t.Errorf("enum %s has %d values, want %d", name, len(e.Values), n)
		}
	}
	if e := c.Enums["OrderState"]; e != nil && !slices.Contains(e.Values, "pending-consumer") {
		t.Errorf("OrderState = %v", e.Values)
	}
	if e := c.Enums["CountryEnum"]; e != nil && (!slices.Contains(e.Values, "EU") || !slices.Contains(e.Values, "EE")) {
		t.Errorf("CountryEnum lacks EU or EE")
	}
	// Names the document references without defining them: the client
	// still needs a JSON object there.
	if !slices.Equal(c.Opaque, knownOpaque) {
		t.Errorf("opaque names = %v, want %v", c.Opaque, knownOpaque)
	}
	for _, name := range []string{"Permission", "MePermission", "ProfileCompleteness", "ObtainAuthTokenRequest", "CoreAuthToken"} {
		if slices.Contains(c.Opaque, name) || c.Models[name] == nil {
			t.Errorf("%s should be a defined model", name)
		}
	}
	if got := model("ObtainAuthTokenRequest").Required(); !slices.Equal(got, []string{"username", "password"}) {
		t.Errorf("ObtainAuthTokenRequest requires %v", got)
	}
	// Every model and request body an operation names is defined (or opaque).
	for _, o := range c.Ops {
		for _, r := range o.Accepted {
			if r.Model != "" && c.Models[r.Model] == nil && !slices.Contains(c.Opaque, r.Model) {
				t.Errorf("%s: response model %s unknown", o.Name, r.Model)
			}
		}
	}
	t.Logf("%d operations, %d models, %d enums, %d opaque names", len(c.Ops), len(c.Models), len(c.Enums), len(c.Opaque))
}

// knownOpaque are the names the document references without defining them.
// The client parses each with from_dict, so the checker requires a JSON
// object there. A new name here usually means a definition was renamed.
var knownOpaque = []string{
	"MarketplaceProviderResourcesHistoryAtRetrieveResponse400", "MarketplaceResourcesHistoryAtRetrieveResponse400",
	"MergedPluginOptions", "MergedPluginOptionsRequest", "MergedSecretOptions", "NestedOfferingAccessSubnet",
	"NestedPartition", "NestedQoS", "NestedSoftwareCatalog", "OfferingComponentLimitRequest",
	"OpenStackCreateFloatingIPRequest", "OpenStackCreateInstancePortRequest", "OpenStackDataVolumeRequest",
	"OpenStackSecurityGroupHyperlinkRequest", "OpenStackServerGroupHyperlinkRequest",
	"OpenStackTenantSecurityGroupRequest", "OptionField", "OptionFieldRequest", "PaymentProfileAttributes",
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestParseContractNoticesDrift edits the document in ways the parser must
// refuse rather than read silently wrong.
func TestParseContractNoticesDrift(t *testing.T) {
	b, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, tc := range []struct{ name, old, new string }{
		{"stated key count", "(response of list/retrieve/create/partial_update), 61 keys", "(response of list/retrieve/create/partial_update), 60 keys"},
		{"unknown type", "`uuid`:uuid, `username`:string", "`uuid`:uuid4, `username`:string"},
		{"enum note disagrees", "| `unit` | BillingUnit | o | — | values: `day`,", "| `unit` | BillingUnit | o | — | values: `week`,"},
		{"undefined enum", "- `OrderState`: ", "- `OrderStates`: "},
		{"difference count", "with three differences", "with two differences"},
		{"unreadable status", "**201**→`User`", "**201**→User"},
		{"same keys count", "the same three keys, all optional", "the same four keys, all optional"},
		{"country count", "`CountryEnum`: 250 values", "`CountryEnum`: 251 values"},
		{"§5 enum note disagrees", "| `urgency` | UrgencyEnum | R | — | values: `high`, `low`, `medium` |",
			"| `urgency` | UrgencyEnum | R | — | values: `high`, `low` |"},
		{"§5 unreadable status", "**202**→`SendNotificationResponse`", "**202**→SendNotificationResponse"},
		{"§5 query of an unknown operation", "- `user_action_providers_list`: `page`:int", "- `user_action_provider_list`: `page`:int"},
		{"§5 query type", "`due_within_days`:number", "`due_within_days`:float"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(doc, tc.old) {
				t.Fatalf("document has no %q", tc.old)
			}
			// Refused, or (a renamed enum) read as a new undefined name.
			c, err := ParseContract(strings.Replace(doc, tc.old, tc.new, 1))
			if err == nil && slices.Equal(c.Opaque, knownOpaque) {
				t.Errorf("parser accepted the edit %q → %q", tc.old, tc.new)
			}
		})
	}
}
