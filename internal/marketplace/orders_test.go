package marketplace_test

import (
	"net/http"
	"testing"
)

// testOrders walks orders through the approval flow over HTTP, waiting on
// GET for the River job to finish them.
func testOrders(t *testing.T, w *world) {
	t.Run("approved by a project manager", func(t *testing.T) {
		t.Parallel()
		// A gated order, so that executing can be seen before the job
		// finishes: the approval answers only {"detail"}.
		name := w.name("approved")
		o := w.order(t, w.member, w.gatedOffering, w.gatedPlan, name)
		wantField(t, o, "state", "pending-consumer")
		id := o["uuid"].(string)
		path := "/api/marketplace-orders/" + id + "/"
		res := o["marketplace_resource_uuid"].(string)
		wantField(t, w.get(t, "/api/marketplace-resources/"+res+"/"), "state", "Creating")

		// A member may place orders, not approve them, yet sees them.
		wantDetail(t, w.do(t, http.MethodPost, path+"approve_by_consumer/", w.member, nil), http.StatusForbidden, msgForbidden)
		wantField(t, w.do(t, http.MethodGet, path, w.member, nil).Want(t, http.StatusOK).Object(t), "state", "pending-consumer")
		// Another customer's user cannot even see it.
		wantDetail(t, w.do(t, http.MethodGet, path, w.stranger, nil), http.StatusNotFound, msgNotFound)
		wantDetail(t, w.do(t, http.MethodPost, path+"approve_by_consumer/", w.stranger, nil), http.StatusNotFound, msgNotFound)
		wantField(t, w.get(t, path), "state", "pending-consumer")

		wantAnswer(t, w.do(t, http.MethodPost, path+"approve_by_consumer/", w.manager, nil), http.StatusOK, "detail", msgApproved)
		got := w.get(t, path)
		wantField(t, got, "state", "executing")
		wantField(t, got, "consumer_reviewed_by", w.manager.name)

		w.gates.open(name + "/Create")
		done := w.waitOrder(t, id, "done")
		if done["completed_at"] == nil {
			t.Errorf("done order has no completed_at: %v", done)
		}
		wantField(t, done, "consumer_reviewed_by_username", w.manager.name)
		r := w.waitResource(t, res, "OK")
		wantField(t, r, "plan_uuid", w.gatedPlan)
		wantField(t, r, "cost", "1.00")
	})

	t.Run("rejected by the consumer", func(t *testing.T) {
		t.Parallel()
		id := w.pendingConsumerOrder(t)
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+id+"/reject_by_consumer/", w.manager, nil),
			http.StatusOK, "detail", msgRejected)
		o := w.get(t, "/api/marketplace-orders/"+id+"/")
		wantField(t, o, "state", "rejected")
		wantField(t, o, "consumer_reviewed_by", w.manager.name)
		if o["completed_at"] == nil {
			t.Errorf("rejected order has no completed_at: %v", o)
		}
		wantField(t, w.get(t, "/api/marketplace-resources/"+o["marketplace_resource_uuid"].(string)+"/"), "state", "Terminated")
	})

	t.Run("canceled by its creator", func(t *testing.T) {
		t.Parallel()
		id := w.pendingConsumerOrder(t)
		// Waldur answers a cancellation 202.
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+id+"/cancel/", w.member, nil),
			http.StatusAccepted, "detail", msgCanceled)
		o := w.get(t, "/api/marketplace-orders/"+id+"/")
		wantField(t, o, "state", "canceled")
		wantField(t, w.get(t, "/api/marketplace-resources/"+o["marketplace_resource_uuid"].(string)+"/"), "state", "Terminated")
	})

	t.Run("creators who may approve skip pending-consumer", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			who  user
			want string
		}{
			{w.staff, "executing"},
			{w.owner, "executing"},
			{w.manager, "executing"},
			{w.admin, "executing"},
			{w.member, "pending-consumer"},
		} {
			t.Run(c.who.name, func(t *testing.T) {
				o := w.order(t, c.who, w.offering, w.plan, w.name("by-"+c.who.name))
				wantField(t, o, "state", c.want)
				wantField(t, o, "created_by_username", c.who.name)
				if c.want == "executing" {
					wantField(t, o, "consumer_reviewed_by", c.who.name)
					w.waitOrder(t, o["uuid"].(string), "done")
				} else if o["consumer_reviewed_by"] != nil {
					t.Errorf("consumer_reviewed_by = %v, want null", o["consumer_reviewed_by"])
				}
			})
		}
	})

	t.Run("manual provider approval", func(t *testing.T) {
		t.Parallel()
		// The member's order needs the consumer first, then the provider.
		o := w.order(t, w.member, w.manualOffering, w.manualPlan, w.name("manual"))
		id := o["uuid"].(string)
		wantField(t, o, "state", "pending-consumer")
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+id+"/approve_by_consumer/", w.manager, nil),
			http.StatusOK, "detail", msgApproved)
		wantField(t, w.get(t, "/api/marketplace-orders/"+id+"/"), "state", "pending-provider")
		// The consumer cannot take the provider's step.
		wantDetail(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+id+"/approve_by_provider/", w.manager, nil),
			http.StatusForbidden, msgForbidden)
		wantField(t, w.get(t, "/api/marketplace-orders/"+id+"/"), "state", "pending-provider")

		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+id+"/approve_by_provider/", w.provider, nil),
			http.StatusOK, "detail", msgApproved)
		done := w.waitOrder(t, id, "done")
		wantField(t, done, "provider_reviewed_by_username", w.provider.name)
		w.waitResource(t, done["marketplace_resource_uuid"].(string), "OK")

		// Rejected by the provider, the resource never comes to be.
		rej := w.pendingProviderOrder(t)
		wantAnswer(t, w.do(t, http.MethodPost, "/api/marketplace-orders/"+rej+"/reject_by_provider/", w.provider, nil),
			http.StatusOK, "detail", msgRejected)
		o = w.get(t, "/api/marketplace-orders/"+rej+"/")
		wantField(t, o, "state", "rejected")
		wantField(t, o, "provider_reviewed_by", w.provider.name)
		wantField(t, w.get(t, "/api/marketplace-resources/"+o["marketplace_resource_uuid"].(string)+"/"), "state", "Terminated")
	})

	t.Run("invalid transitions change nothing", func(t *testing.T) {
		t.Parallel()
		// An order held in executing by the gated offering.
		held := w.order(t, w.manager, w.gatedOffering, w.gatedPlan, w.name("held"))
		wantField(t, held, "state", "executing")
		done := w.order(t, w.manager, w.offering, w.plan, w.name("done"))["uuid"].(string)
		w.waitOrder(t, done, "done")
		canceled := w.pendingConsumerOrder(t)
		w.do(t, http.MethodPost, "/api/marketplace-orders/"+canceled+"/cancel/", w.member, nil).Want(t, http.StatusAccepted)
		rejected := w.pendingConsumerOrder(t)
		w.do(t, http.MethodPost, "/api/marketplace-orders/"+rejected+"/reject_by_consumer/", w.manager, nil).Want(t, http.StatusOK)
		pendingProvider := w.pendingProviderOrder(t)
		pendingConsumer := w.pendingConsumerOrder(t)

		for _, c := range []struct {
			name, order, action string
			who                 user
			detail              string
		}{
			{"approve a done order", done, "approve_by_consumer", w.manager,
				"Order is in state done; approve_by_consumer needs pending-consumer."},
			{"cancel an executing order", held["uuid"].(string), "cancel", w.manager,
				"Order is in state executing; cancel needs pending-consumer or pending-provider or pending-project or pending-start-date."},
			{"reject a canceled order", canceled, "reject_by_consumer", w.manager,
				"Order is in state canceled; reject_by_consumer needs pending-consumer."},
			{"cancel a rejected order", rejected, "cancel", w.member,
				"Order is in state rejected; cancel needs pending-consumer or"},
			{"consumer-approve an order pending the provider", pendingProvider, "approve_by_consumer", w.owner,
				"Order is in state pending-provider; approve_by_consumer needs pending-consumer."},
			{"provider-approve an order pending the consumer", pendingConsumer, "approve_by_provider", w.provider,
				"Order is in state pending-consumer; approve_by_provider needs pending-provider."},
			{"provider-reject a done order", done, "reject_by_provider", w.staff,
				"Order is in state done; reject_by_provider needs pending-provider."},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := "/api/marketplace-orders/" + c.order + "/"
				before := w.body(t, path)
				wantDetail(t, w.do(t, http.MethodPost, path+c.action+"/", c.who, nil), http.StatusBadRequest, c.detail)
				if after := w.body(t, path); after != before {
					t.Errorf("order changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
		w.gates.open(held["resource_name"].(string) + "/Create")
		w.waitOrder(t, held["uuid"].(string), "done")
	})

	t.Run("a failing processor errs the order and the resource", func(t *testing.T) {
		t.Parallel()
		o := w.order(t, w.manager, w.failingOffering, w.failingPlan, w.name("doomed"))
		wantField(t, o, "state", "executing")
		erred := w.waitOrder(t, o["uuid"].(string), "erred")
		wantField(t, erred, "error_message", "backend exploded")
		if erred["completed_at"] == nil {
			t.Errorf("erred order has no completed_at: %v", erred)
		}
		r := w.get(t, "/api/marketplace-resources/"+o["marketplace_resource_uuid"].(string)+"/")
		wantField(t, r, "state", "Erred")
		wantField(t, r, "error_message", "backend exploded")
	})
}
