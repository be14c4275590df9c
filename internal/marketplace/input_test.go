package marketplace_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// testInvalidInput sends malformed bodies, wrong types, missing fields,
// unknown uuids and bad filters: each gets a DRF-shaped 4xx and changes
// nothing (what it would have changed is read before and after).
func testInvalidInput(t *testing.T, w *world) {
	res := w.okResources(t, w.manager, 1)[0]
	resPath := "/api/marketplace-resources/" + res + "/"
	w.do(t, http.MethodPatch, resPath, w.manager, map[string]any{"end_date": "2030-01-15"}).Want(t, http.StatusOK)
	unknown := hexUUID(uuid.New())
	order := func(extra map[string]any) map[string]any {
		b := map[string]any{"project": w.project, "offering": w.offering, "plan": w.plan, "attributes": map[string]any{"name": "x"}}
		for k, v := range extra {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}

	// What a case must leave as it was.
	orders := func(t testing.TB) string { return strconv.Itoa(w.count(t, "/api/marketplace-orders/")) }
	resource := func(t testing.TB) string { return w.body(t, resPath) }
	projectUsers := func(t testing.TB) string { return strings.Join(w.usersOf(t, "projects", w.project), " ") }
	customers := func(t testing.TB) string { return strconv.Itoa(w.count(t, "/api/customers/")) }
	plans := func(t testing.TB) string {
		return strconv.Itoa(w.count(t, query("/api/marketplace-plans/", "offering_uuid", w.offering)))
	}
	offerings := func(t testing.TB) string { return strconv.Itoa(w.count(t, "/api/marketplace-provider-offerings/")) }
	nothing := func(testing.TB) string { return "" }

	for _, c := range []struct {
		name         string
		method, path string
		who          user
		body         any
		// fields are the DRF field errors of a 400; without them the
		// answer is {"detail": ...} with status and a detail containing
		// detail.
		fields []string
		// messages, when set, are the first field's exact messages.
		messages []string
		status   int
		detail   string
		same     func(testing.TB) string
	}{
		{name: "malformed JSON", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: `{"project": "` + w.project + `", `, status: http.StatusBadRequest, detail: "JSON parse error", same: orders},
		{name: "limits not an object", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"limits": "abc"}), fields: []string{"limits"}, same: orders},
		{name: "negative limit", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"limits": map[string]any{"cpu": -1}}), fields: []string{"limits"}, same: orders},
		{name: "limit not a number", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"limits": map[string]any{"cpu": "many"}}), fields: []string{"limits.cpu"}, same: orders},
		{name: "attributes not an object", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"attributes": "x"}), fields: []string{"attributes"}, same: orders},
		{name: "order without project", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"project": nil}), fields: []string{"project"}, same: orders},
		{name: "order without a resource name", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"attributes": map[string]any{}}), fields: []string{"attributes"}, same: orders},
		{name: "order for an unknown project", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"project": unknown}), fields: []string{"project"}, same: orders},
		{name: "order for an unknown offering", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"offering": unknown}), fields: []string{"offering"}, same: orders},
		{name: "project that is not a uuid", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"project": "zzz"}), fields: []string{"project"}, same: orders},
		{name: "plan of another offering", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"plan": w.manualPlan}), fields: []string{"plan"}, same: orders},
		{name: "unknown order type", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"type": "Resize"}), fields: []string{"type"}, same: orders},
		{name: "update order changing nothing", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: map[string]any{"type": "Update", "resource": res}, fields: []string{"non_field_errors"}, same: orders},
		{name: "update order to another offering's plan", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: map[string]any{"type": "Update", "resource": res, "plan": w.manualPlan}, fields: []string{"plan"}, same: orders},
		{name: "null for a non-nullable field", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"request_comment": json.RawMessage("null")}), fields: []string{"request_comment"},
			messages: []string{"This field may not be null."}, same: orders},
		{name: "NUL in a string", method: http.MethodPost, path: "/api/marketplace-orders/", who: w.manager,
			body: order(map[string]any{"request_comment": "a\x00b"}), fields: []string{"request_comment"},
			messages: []string{"Null characters are not allowed."}, same: orders},

		{name: "unknown role name", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body: map[string]any{"user": w.stranger.uuid, "role": "PROJECT.KING"}, fields: []string{"role"}, same: projectUsers},
		{name: "customer role on a project", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body: map[string]any{"user": w.stranger.uuid, "role": "CUSTOMER.OWNER"}, fields: []string{"role"}, same: projectUsers},
		{name: "expiration time in the past", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body:   map[string]any{"user": w.stranger.uuid, "role": "PROJECT.MEMBER", "expiration_time": "2001-01-01T00:00:00Z"},
			fields: []string{"expiration_time"}, same: projectUsers},
		{name: "expiration time not a time", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body:   map[string]any{"user": w.stranger.uuid, "role": "PROJECT.MEMBER", "expiration_time": "soon"},
			fields: []string{"expiration_time"}, same: projectUsers},
		{name: "grant without role", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body: map[string]any{"user": w.stranger.uuid}, fields: []string{"role"}, same: projectUsers},
		{name: "grant to an unknown user", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body: map[string]any{"user": unknown, "role": "PROJECT.MEMBER"}, fields: []string{"user"}, same: projectUsers},
		{name: "grant a role held already", method: http.MethodPost, path: "/api/projects/" + w.project + "/add_user/", who: w.manager,
			body: map[string]any{"user": w.member.uuid, "role": "PROJECT.MEMBER"}, fields: []string{"non_field_errors"}, same: projectUsers},
		{name: "revoke a role not held", method: http.MethodPost, path: "/api/projects/" + w.project + "/delete_user/", who: w.manager,
			body: map[string]any{"user": w.stranger.uuid, "role": "PROJECT.MEMBER"}, fields: []string{"non_field_errors"}, same: projectUsers},
		{name: "grant on an unknown project", method: http.MethodPost, path: "/api/projects/" + unknown + "/add_user/", who: w.staff,
			body: map[string]any{"user": w.stranger.uuid, "role": "PROJECT.MEMBER"}, status: http.StatusNotFound, detail: msgNotFound,
			same: projectUsers},

		{name: "renew to a date before the current end date", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"end_date": "2029-06-01"}, fields: []string{"end_date"}, same: resource},
		{name: "renew to a past date", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"end_date": "2001-06-01"}, fields: []string{"end_date"}, same: resource},
		{name: "renew with end_date and extension_days", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"end_date": "2031-01-01", "extension_days": 10}, fields: []string{"non_field_errors"}, same: resource},
		{name: "renew with nothing", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{}, fields: []string{"extension_months"}, same: resource},
		{name: "renew by a word of days", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"extension_days": "thirty"}, fields: []string{"extension_days"}, same: resource},
		{name: "renew by no days", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"extension_days": 0}, fields: []string{"extension_days"}, same: resource},
		{name: "renew by no months", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"extension_months": 0}, fields: []string{"extension_months"}, same: resource},
		{name: "renew by a null of months", method: http.MethodPost, path: resPath + "renew/", who: w.manager,
			body: map[string]any{"extension_months": json.RawMessage("null")}, fields: []string{"extension_months"},
			messages: []string{"This field may not be null."}, same: resource},
		{name: "null name on PATCH", method: http.MethodPatch, path: resPath, who: w.manager,
			body: map[string]any{"name": json.RawMessage("null")}, fields: []string{"name"},
			messages: []string{"This field may not be null."}, same: resource},
		{name: "NUL in a description", method: http.MethodPatch, path: resPath, who: w.manager,
			body: map[string]any{"description": "x\x00"}, fields: []string{"description"},
			messages: []string{"Null characters are not allowed."}, same: resource},
		{name: "end_date in the wrong format", method: http.MethodPatch, path: resPath, who: w.manager,
			body: map[string]any{"end_date": "31-12-2026"}, fields: []string{"end_date"}, same: resource},
		{name: "blank name", method: http.MethodPatch, path: resPath, who: w.manager,
			body: map[string]any{"name": ""}, fields: []string{"name"}, same: resource},
		{name: "PUT without name", method: http.MethodPut, path: resPath, who: w.manager,
			body: map[string]any{"description": "x"}, fields: []string{"name"}, same: resource},
		{name: "slug with a space", method: http.MethodPost, path: resPath + "set_slug/", who: w.staff,
			body: map[string]any{"slug": "bad slug!"}, fields: []string{"slug"}, same: resource},
		{name: "flag not a boolean", method: http.MethodPost, path: resPath + "set_paused/", who: w.staff,
			body: map[string]any{"paused": "yes"}, fields: []string{"paused"}, same: resource},
		{name: "PATCH an unknown resource", method: http.MethodPatch, path: "/api/marketplace-resources/" + unknown + "/", who: w.staff,
			body: map[string]any{"name": "x"}, status: http.StatusNotFound, detail: msgNotFound, same: resource},
		{name: "terminate a resource that is not a uuid", method: http.MethodPost, path: "/api/marketplace-resources/zzz/terminate/", who: w.staff,
			status: http.StatusNotFound, detail: msgNotFound, same: orders},
		{name: "approve an unknown order", method: http.MethodPost, path: "/api/marketplace-orders/" + unknown + "/approve_by_consumer/", who: w.staff,
			status: http.StatusNotFound, detail: msgNotFound, same: orders},

		{name: "customer without name", method: http.MethodPost, path: "/api/customers/", who: w.staff,
			body: map[string]any{"email": "x@example.com"}, fields: []string{"name"}, same: customers},
		{name: "customer with a bad slug", method: http.MethodPost, path: "/api/customers/", who: w.staff,
			body: map[string]any{"name": "X", "slug": "no spaces please"}, fields: []string{"slug"}, same: customers},
		{name: "price not a number", method: http.MethodPost, path: "/api/marketplace-plans/", who: w.staff,
			body: map[string]any{"offering": w.offering, "name": "P", "unit_price": "abc"}, fields: []string{"unit_price"}, same: plans},
		{name: "price as a JSON number", method: http.MethodPost, path: "/api/marketplace-plans/", who: w.staff,
			body: map[string]any{"offering": w.offering, "name": "P", "unit_price": 10}, fields: []string{"unit_price"}, same: plans},
		{name: "unknown offering type", method: http.MethodPost, path: "/api/marketplace-provider-offerings/", who: w.staff,
			body: map[string]any{"customer": w.providerCustomer, "name": "O", "type": "teleporter"}, fields: []string{"type"}, same: offerings},

		// A bad filter is named as it was sent.
		{name: "resources filtered by a bad project uuid", method: http.MethodGet, path: "/api/marketplace-resources/?project_uuid=zzz",
			who: w.staff, fields: []string{"project_uuid"}, same: nothing},
		{name: "resources filtered by a bad project URL", method: http.MethodGet, path: "/api/marketplace-resources/?project=zzz",
			who: w.staff, fields: []string{"project"}, same: nothing},
		{name: "orders filtered by a bad project uuid", method: http.MethodGet, path: "/api/marketplace-orders/?project_uuid=zzz",
			who: w.staff, fields: []string{"project_uuid"}, same: nothing},
		{name: "projects filtered by a bad customer uuid", method: http.MethodGet, path: "/api/projects/?customer_uuid=zzz",
			who: w.staff, fields: []string{"customer_uuid"}, same: nothing},
		{name: "projects filtered by a bad customer URL", method: http.MethodGet, path: "/api/projects/?customer=zzz",
			who: w.staff, fields: []string{"customer"}, same: nothing},
		{name: "orders filtered by an unknown state", method: http.MethodGet, path: "/api/marketplace-orders/?state=bogus",
			who: w.staff, fields: []string{"state"}, same: nothing},
		{name: "resources filtered by an unknown state", method: http.MethodGet, path: "/api/marketplace-resources/?state=OK&state=bogus",
			who: w.staff, fields: []string{"state"}, same: nothing},
		{name: "resources filtered by a bad date", method: http.MethodGet, path: "/api/marketplace-resources/?end_date_before=yesterday",
			who: w.staff, fields: []string{"end_date_before"}, same: nothing},
		{name: "an unknown order", method: http.MethodGet, path: "/api/marketplace-orders/" + unknown + "/",
			who: w.staff, status: http.StatusNotFound, detail: msgNotFound, same: nothing},
		{name: "a page past the end", method: http.MethodGet, path: "/api/marketplace-orders/?page=999",
			who: w.staff, status: http.StatusNotFound, detail: "Invalid page.", same: nothing},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.same(t)
			r := w.do(t, c.method, c.path, c.who, c.body)
			if c.fields != nil {
				got := wantFields(t, r, c.fields...)
				if c.messages != nil && !slices.Equal(got[c.fields[0]], c.messages) {
					t.Errorf("%s: messages %q, want %q", c.fields[0], got[c.fields[0]], c.messages)
				}
			} else {
				wantDetail(t, r, c.status, c.detail)
			}
			if after := c.same(t); after != before {
				t.Errorf("changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// Keys a serializer does not declare are ignored, as DRF does (Waldur's
	// clients send some): the order is placed as if they were absent.
	t.Run("unknown fields are ignored", func(t *testing.T) {
		name := w.name("unknown-fields")
		before := w.count(t, "/api/marketplace-orders/")
		o := w.do(t, http.MethodPost, "/api/marketplace-orders/", w.manager, map[string]any{
			"project": w.project, "offering": w.offering, "plan": w.plan, "attributes": map[string]any{"name": name},
			"colour": "blue", "type_hint": map[string]any{"x": 1},
		}).Want(t, http.StatusCreated).Object(t)
		for _, k := range []string{"colour", "type_hint"} {
			if _, ok := o[k]; ok {
				t.Errorf("the order answers the undeclared key %s: %v", k, o)
			}
		}
		wantField(t, o, "type", "Create")
		if !reflect.DeepEqual(o["attributes"], map[string]any{"name": name}) {
			t.Errorf("attributes %v, want only the name", o["attributes"])
		}
		if after := w.count(t, "/api/marketplace-orders/"); after != before+1 {
			t.Errorf("%d orders after one was placed, %d before", after, before)
		}
		w.waitOrder(t, o["uuid"].(string), "done")
	})
}
