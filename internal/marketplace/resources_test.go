package marketplace_test

import (
	"net/http"
	"testing"
)

// testResources covers the orders a resource takes after it exists
// (terminate, update) and renewal.
func testResources(t *testing.T, w *world) {
	t.Run("terminate", func(t *testing.T) {
		t.Parallel()
		// A gated resource, so that Terminating can be seen before the
		// job finishes.
		name := w.name("doomed")
		created := w.order(t, w.manager, w.gatedOffering, w.gatedPlan, name)
		id := created["marketplace_resource_uuid"].(string)
		w.gates.open(name + "/Create")
		w.waitOrder(t, created["uuid"].(string), "done")
		wantField(t, w.get(t, "/api/marketplace-resources/"+id+"/"), "state", "OK")

		out := w.do(t, http.MethodPost, "/api/marketplace-resources/"+id+"/terminate/", w.manager,
			map[string]any{"request_comment": "no longer needed"}).Want(t, http.StatusOK).Object(t)
		if len(out) != 1 {
			t.Errorf("terminate answered %v, want only order_uuid", out)
		}
		orderID, _ := out["order_uuid"].(string)
		if len(orderID) != 32 {
			t.Fatalf("order_uuid %q is not a 32-hex uuid", orderID)
		}
		o := w.get(t, "/api/marketplace-orders/"+orderID+"/")
		wantField(t, o, "type", "Terminate")
		wantField(t, o, "state", "executing")
		wantField(t, o, "marketplace_resource_uuid", id)
		wantField(t, o, "request_comment", "no longer needed")
		wantField(t, o, "created_by_username", w.manager.name)
		wantField(t, w.get(t, "/api/marketplace-resources/"+id+"/"), "state", "Terminating")

		// A second termination while the first runs is refused.
		wantDetail(t, w.do(t, http.MethodPost, "/api/marketplace-resources/"+id+"/terminate/", w.manager, nil),
			http.StatusBadRequest, "Resource already has an order in progress: "+orderID+".")
		if n := w.count(t, query("/api/marketplace-orders/", "resource_uuid", id, "type", "Terminate")); n != 1 {
			t.Errorf("%d Terminate orders, want 1", n)
		}

		w.gates.open(name + "/Terminate")
		w.waitOrder(t, orderID, "done")
		wantField(t, w.get(t, "/api/marketplace-resources/"+id+"/"), "state", "Terminated")
	})

	t.Run("update order changes plan and cost", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		r := w.get(t, "/api/marketplace-resources/"+id+"/")
		wantField(t, r, "plan_uuid", w.plan)
		wantField(t, r, "cost", "10.00")

		o := w.do(t, http.MethodPost, "/api/marketplace-orders/", w.manager, map[string]any{
			"type": "Update", "resource": id, "plan": w.largePlan,
		}).Want(t, http.StatusCreated).Object(t)
		wantField(t, o, "type", "Update")
		wantField(t, o, "state", "executing")
		wantField(t, o, "cost", "25.00")
		w.waitOrder(t, o["uuid"].(string), "done")

		r = w.get(t, "/api/marketplace-resources/"+id+"/")
		wantField(t, r, "state", "OK")
		wantField(t, r, "plan_uuid", w.largePlan)
		wantField(t, r, "plan_name", "Large")
		wantField(t, r, "cost", "25.00")
	})

	t.Run("renew", func(t *testing.T) {
		t.Parallel()
		id := w.okResources(t, w.manager, 1)[0]
		path := "/api/marketplace-resources/" + id + "/"
		wantField(t, w.do(t, http.MethodPatch, path, w.manager, map[string]any{"end_date": "2030-01-15"}).
			Want(t, http.StatusOK).Object(t), "end_date", "2030-01-15")

		wantDetail(t, w.do(t, http.MethodPost, path+"renew/", w.member, map[string]any{"extension_days": 30}),
			http.StatusForbidden, msgForbidden)
		wantField(t, w.get(t, path), "end_date", "2030-01-15")

		// Renew answers the Update order it placed; the date moves when
		// the order completes.
		o := w.waitOrder(t, orderUUIDOf(t, w.do(t, http.MethodPost, path+"renew/", w.manager, map[string]any{"extension_days": 30})), "done")
		wantField(t, o, "type", "Update")
		wantField(t, o, "marketplace_resource_uuid", id)
		wantField(t, o, "created_by_username", w.manager.name)
		r := w.get(t, path)
		wantField(t, r, "end_date", "2030-02-14")
		wantField(t, r, "state", "OK")

		// An explicit later date works too.
		w.waitOrder(t, orderUUIDOf(t, w.do(t, http.MethodPost, path+"renew/", w.admin, map[string]any{"end_date": "2031-06-30"})), "done")
		wantField(t, w.get(t, path), "end_date", "2031-06-30")
	})
}
