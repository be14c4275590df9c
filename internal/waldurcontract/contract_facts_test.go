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

	// Operations of §2–§4: 8 user, 16 customer/project, 49 marketplace.
	bySection := map[string]int{}
	for _, op := range c.Ops {
		major, _, _ := strings.Cut(op.Section, ".")
		bySection[major]++
	}
	if got, want := bySection, map[string]int{"2": 8, "3": 16, "4": 49}; !mapsEqual(got, want) {
		t.Errorf("operations per section = %v, want %v", got, want)
	}
	if len(c.Ops) != 73 {
		t.Errorf("%d operations, want 73", len(c.Ops))
	}
	if c.Op("user_actions_list") != nil {
		t.Errorf("§5 operations must not be read")
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
