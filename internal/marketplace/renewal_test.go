package marketplace_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// testRenewal covers renew as Waldur has it: an Update order whose
// completion moves the end date, placed only through renew (it needs
// ORDER.APPROVE), one order in flight per resource.
func testRenewal(t *testing.T, w *world) {
	resourcePath := func(id string) string { return "/api/marketplace-resources/" + id + "/" }
	renew := func(t testing.TB, who user, id string, body map[string]any) *apptest.Response {
		t.Helper()
		return w.do(t, http.MethodPost, resourcePath(id)+"renew/", who, body)
	}
	withEnd := func(t testing.TB, id, end string) {
		t.Helper()
		wantField(t, w.do(t, http.MethodPatch, resourcePath(id), w.manager, map[string]any{"end_date": end}).
			Want(t, http.StatusOK).Object(t), "end_date", end)
	}
	orders := func(t testing.TB, id string) int {
		t.Helper()
		return w.count(t, query("/api/marketplace-orders/", "resource_uuid", id))
	}
	// done renews as who and waits for the order; it returns the order.
	done := func(t testing.TB, who user, id string, body map[string]any) map[string]any {
		t.Helper()
		o := w.waitOrder(t, orderUUIDOf(t, renew(t, who, id, body)), "done")
		wantField(t, o, "type", "Update")
		wantField(t, o, "marketplace_resource_uuid", id)
		wantField(t, o, "created_by_username", who.name)
		// The renewer may approve: the consumer step is theirs.
		wantField(t, o, "consumer_reviewed_by_username", who.name)
		if want := map[string]any{marketplace.RenewalAttribute: body}; !jsonEqual(o["attributes"], want) {
			t.Errorf("renewal order attributes %v, want %v", o["attributes"], want)
		}
		wantField(t, w.get(t, resourcePath(id)), "state", "OK")
		return o
	}

	t.Run("by months", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		// Waldur's client sends only extension_months (and a comment).
		o := done(t, w.manager, id, map[string]any{"extension_months": 1})
		wantField(t, o, "request_comment", "")
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2030-02-15")
		o = w.waitOrder(t, orderUUIDOf(t, renew(t, w.admin, id, map[string]any{"extension_months": 120, "request_comment": "ten years"})), "done")
		wantField(t, o, "request_comment", "ten years")
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2040-02-15")
	})

	t.Run("by months from a month's last day", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-31")
		// Clamped to the month's end, as relativedelta and PostgreSQL's
		// interval do (time.AddDate gave 2030-03-03).
		done(t, w.manager, id, map[string]any{"extension_months": 1})
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2030-02-28")
		done(t, w.manager, id, map[string]any{"extension_months": 1})
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2030-03-28")
	})

	t.Run("by days", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		done(t, w.manager, id, map[string]any{"extension_days": 45})
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2030-03-01")
	})

	t.Run("to a date", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		done(t, w.owner, id, map[string]any{"end_date": "2031-06-30"})
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2031-06-30")
	})

	t.Run("from no end date, counting from today", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		wantField(t, w.get(t, resourcePath(id)), "end_date", nil)
		before := time.Now().UTC()
		done(t, w.manager, id, map[string]any{"extension_days": 10})
		after := time.Now().UTC()
		got := w.get(t, resourcePath(id))["end_date"]
		if a, b := before.AddDate(0, 0, 10).Format(marketplace.DateLayout), after.AddDate(0, 0, 10).Format(marketplace.DateLayout); got != a && got != b {
			t.Errorf("end_date %v, want %s (today plus 10 days)", got, a)
		}
	})

	t.Run("invalid requests place no order", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"months and days", map[string]any{"extension_months": 1, "extension_days": 1}, "non_field_errors"},
			{"months and a date", map[string]any{"extension_months": 1, "end_date": "2031-01-01"}, "non_field_errors"},
			{"days and a date", map[string]any{"extension_days": 1, "end_date": "2031-01-01"}, "non_field_errors"},
			{"all three", map[string]any{"extension_months": 1, "extension_days": 1, "end_date": "2031-01-01"}, "non_field_errors"},
			{"nothing: Waldur's field is required", map[string]any{}, "extension_months"},
			{"no months", map[string]any{"extension_months": 0}, "extension_months"},
			{"121 months", map[string]any{"extension_months": 121}, "extension_months"},
			{"negative months", map[string]any{"extension_months": -1}, "extension_months"},
			{"a fraction of months", map[string]any{"extension_months": 1.5}, "extension_months"},
			{"months as a word", map[string]any{"extension_months": "one"}, "extension_months"},
			{"3651 days", map[string]any{"extension_days": 3651}, "extension_days"},
			{"a date before the end date", map[string]any{"end_date": "2030-01-14"}, "end_date"},
			{"the end date itself", map[string]any{"end_date": "2030-01-15"}, "end_date"},
		} {
			t.Run(c.name, func(t *testing.T) {
				resource, n := w.body(t, resourcePath(id)), orders(t, id)
				wantFields(t, renew(t, w.manager, id, c.body), c.field)
				if after := w.body(t, resourcePath(id)); after != resource {
					t.Errorf("resource changed:\nbefore %s\nafter  %s", resource, after)
				}
				if after := orders(t, id); after != n {
					t.Errorf("%d orders after a refused renewal, %d before", after, n)
				}
			})
		}
	})

	t.Run("a terminated resource cannot be renewed", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		w.waitOrder(t, orderUUIDOf(t, w.do(t, http.MethodPost, resourcePath(id)+"terminate/", w.manager, nil)), "done")
		wantField(t, w.get(t, resourcePath(id)), "state", "Terminated")
		resource, n := w.body(t, resourcePath(id)), orders(t, id)
		// A Conflict, which Waldur's clients see as a 400.
		wantDetail(t, renew(t, w.manager, id, map[string]any{"extension_months": 1}),
			http.StatusBadRequest, "Terminated resources cannot be renewed.")
		if after := w.body(t, resourcePath(id)); after != resource {
			t.Errorf("resource changed:\nbefore %s\nafter  %s", resource, after)
		}
		if after := orders(t, id); after != n {
			t.Errorf("%d orders after a refused renewal, %d before", after, n)
		}
	})

	t.Run("needs ORDER.APPROVE", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		resource, n := w.body(t, resourcePath(id)), orders(t, id)
		// The member sees the resource and may place orders, not renew.
		wantDetail(t, renew(t, w.member, id, map[string]any{"extension_months": 1}), http.StatusForbidden, msgForbidden)
		wantDetail(t, renew(t, w.support, id, map[string]any{"extension_months": 1}), http.StatusForbidden, msgForbidden)
		wantDetail(t, renew(t, w.stranger, id, map[string]any{"extension_months": 1}), http.StatusNotFound, msgNotFound)
		if after := w.body(t, resourcePath(id)); after != resource {
			t.Errorf("resource changed:\nbefore %s\nafter  %s", resource, after)
		}
		if after := orders(t, id); after != n {
			t.Errorf("%d orders after refused renewals, %d before", after, n)
		}
	})

	t.Run("Updating while the order runs, one order in flight", func(t *testing.T) {
		t.Parallel()
		// A gated resource holds the renewal in executing.
		name := w.name("renewed")
		created := w.order(t, w.manager, w.gatedOffering, w.gatedPlan, name)
		id := created["marketplace_resource_uuid"].(string)
		w.gates.open(name + "/Create")
		w.waitOrder(t, created["uuid"].(string), "done")
		withEnd(t, id, "2030-01-15")

		renewal := orderUUIDOf(t, renew(t, w.manager, id, map[string]any{"extension_months": 2}))
		wantField(t, w.get(t, "/api/marketplace-orders/"+renewal+"/"), "state", "executing")
		r := w.get(t, resourcePath(id))
		wantField(t, r, "state", "Updating")
		wantField(t, r, "end_date", "2030-01-15")
		n := orders(t, id)
		for _, c := range []struct {
			name, path string
			body       any
		}{
			{"a second renewal", resourcePath(id) + "renew/", map[string]any{"extension_months": 1}},
			{"a termination", resourcePath(id) + "terminate/", nil},
			{"an update order", "/api/marketplace-orders/", map[string]any{"type": "Update", "resource": id, "limits": map[string]any{"cpu": 2}}},
		} {
			wantDetail(t, w.do(t, http.MethodPost, c.path, w.manager, c.body), http.StatusBadRequest,
				"Resource already has an order in progress: ")
		}
		if after := orders(t, id); after != n {
			t.Errorf("%d orders after refused ones, %d before", after, n)
		}

		w.gates.open(name + "/Update")
		w.waitOrder(t, renewal, "done")
		r = w.get(t, resourcePath(id))
		wantField(t, r, "state", "OK")
		wantField(t, r, "end_date", "2030-03-15")
	})

	t.Run("waits for the provider's approval", func(t *testing.T) {
		t.Parallel()
		created := w.pendingProviderOrder(t)
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+created+"/approve_by_provider/", w.provider, nil),
			http.StatusOK, "detail", msgApproved)
		id := w.waitOrder(t, created, "done")["marketplace_resource_uuid"].(string)
		withEnd(t, id, "2030-01-15")
		resource := w.body(t, resourcePath(id))

		renewal := orderUUIDOf(t, renew(t, w.manager, id, map[string]any{"extension_months": 1}))
		o := w.get(t, "/api/marketplace-orders/"+renewal+"/")
		wantField(t, o, "state", "pending-provider")
		wantField(t, o, "consumer_reviewed_by_username", w.manager.name)
		// Pending, it changes nothing yet, and holds off other orders.
		if after := w.body(t, resourcePath(id)); after != resource {
			t.Errorf("a pending renewal changed the resource:\nbefore %s\nafter  %s", resource, after)
		}
		n := orders(t, id)
		wantDetail(t, renew(t, w.manager, id, map[string]any{"extension_months": 1}),
			http.StatusBadRequest, "Resource already has an order in progress: "+renewal+".")
		wantDetail(t, w.do(t, http.MethodPost, resourcePath(id)+"terminate/", w.manager, nil),
			http.StatusBadRequest, "Resource already has an order in progress: "+renewal+".")
		if after := orders(t, id); after != n {
			t.Errorf("%d orders after refused ones, %d before", after, n)
		}
		// Only the provider approves it.
		wantDetail(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+renewal+"/approve_by_provider/", w.manager, nil),
			http.StatusForbidden, msgForbidden)
		wantField(t, w.get(t, resourcePath(id)), "end_date", "2030-01-15")

		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+renewal+"/approve_by_provider/", w.provider, nil),
			http.StatusOK, "detail", msgApproved)
		o = w.waitOrder(t, renewal, "done")
		wantField(t, o, "provider_reviewed_by_username", w.provider.name)
		r := w.get(t, resourcePath(id))
		wantField(t, r, "end_date", "2030-02-15")
		wantField(t, r, "state", "OK")

		// Rejected, a renewal changes nothing and frees the resource.
		resource = w.body(t, resourcePath(id))
		rejected := orderUUIDOf(t, renew(t, w.manager, id, map[string]any{"extension_days": 10}))
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+rejected+"/reject_by_provider/", w.provider, nil),
			http.StatusOK, "detail", msgRejected)
		wantField(t, w.get(t, "/api/marketplace-orders/"+rejected+"/"), "state", "rejected")
		if after := w.body(t, resourcePath(id)); after != resource {
			t.Errorf("a rejected renewal changed the resource:\nbefore %s\nafter  %s", resource, after)
		}
		// And a canceled one too (Waldur answers 202).
		canceled := orderUUIDOf(t, renew(t, w.manager, id, map[string]any{"extension_days": 10}))
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+canceled+"/cancel/", w.manager, nil),
			http.StatusAccepted, "detail", msgCanceled)
		wantField(t, w.get(t, "/api/marketplace-orders/"+canceled+"/"), "state", "canceled")
		if after := w.body(t, resourcePath(id)); after != resource {
			t.Errorf("a canceled renewal changed the resource:\nbefore %s\nafter  %s", resource, after)
		}
	})

	t.Run("an order placed directly cannot renew", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		withEnd(t, id, "2030-01-15")
		renewal := map[string]any{"extension_days": 365}

		// The member may place orders but not renew: the key is dropped,
		// the order still does what else it asks once approved.
		o := w.do(t, http.MethodPost, "/api/marketplace-orders/", w.member, map[string]any{
			"type": "Update", "resource": id, "plan": w.largePlan,
			"attributes": map[string]any{marketplace.RenewalAttribute: renewal, "note": "kept"},
		}).Want(t, http.StatusCreated).Object(t)
		if want := map[string]any{"note": "kept"}; !jsonEqual(o["attributes"], want) {
			t.Errorf("member's update order attributes %v, want %v", o["attributes"], want)
		}
		wantField(t, o, "state", "pending-consumer")
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+o["uuid"].(string)+"/approve_by_consumer/", w.manager, nil),
			http.StatusOK, "detail", msgApproved)
		w.waitOrder(t, o["uuid"].(string), "done")
		r := w.get(t, resourcePath(id))
		wantField(t, r, "plan_uuid", w.largePlan)
		wantField(t, r, "end_date", "2030-01-15")

		// Not even for one who could renew.
		o = w.do(t, http.MethodPost, "/api/marketplace-orders/", w.manager, map[string]any{
			"type": "Update", "resource": id, "limits": map[string]any{"cpu": 4},
			"attributes": map[string]any{marketplace.RenewalAttribute: map[string]any{"end_date": "2035-01-01"}},
		}).Want(t, http.StatusCreated).Object(t)
		if !jsonEqual(o["attributes"], map[string]any{}) {
			t.Errorf("manager's update order attributes %v, want {}", o["attributes"])
		}
		w.waitOrder(t, o["uuid"].(string), "done")
		r = w.get(t, resourcePath(id))
		wantField(t, r, "end_date", "2030-01-15")
		if !jsonEqual(r["limits"], map[string]any{"cpu": 4}) {
			t.Errorf("limits %v, want the update order's", r["limits"])
		}

		// Nor a Create order: the new resource has no end date.
		name := w.name("created-renewed")
		o = w.do(t, http.MethodPost, "/api/marketplace-orders/", w.manager, map[string]any{
			"project": w.project, "offering": w.offering, "plan": w.plan,
			"attributes": map[string]any{"name": name, marketplace.RenewalAttribute: renewal},
		}).Want(t, http.StatusCreated).Object(t)
		if want := map[string]any{"name": name}; !jsonEqual(o["attributes"], want) {
			t.Errorf("create order attributes %v, want %v", o["attributes"], want)
		}
		w.waitOrder(t, o["uuid"].(string), "done")
		r = w.get(t, resourcePath(o["marketplace_resource_uuid"].(string)))
		wantField(t, r, "end_date", nil)
		if !jsonEqual(r["attributes"], map[string]any{"name": name}) {
			t.Errorf("created resource attributes %v, want only the name", r["attributes"])
		}
	})
}

// jsonEqual compares decoded JSON with a Go value by their JSON forms.
func jsonEqual(got, want any) bool {
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && string(g) == string(w)
}
