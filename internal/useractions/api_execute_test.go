package useractions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// execute runs the corrective action label of action a as u.
func (w *uaWorld) execute(t testing.TB, u uaUser, a map[string]any, label string, params map[string]any) *apptest.Response {
	t.Helper()
	body := map[string]any{"action_label": label}
	if params != nil {
		body["parameters"] = params
	}
	return w.do(t, http.MethodPost, "/api/user-actions/"+a["uuid"].(string)+"/execute_action/", u, body)
}

// executions lists u's executions, newest first.
func (w *uaWorld) executions(t testing.TB, u uaUser) []map[string]any {
	t.Helper()
	return w.do(t, http.MethodGet, "/api/user-action-executions/?page_size=300", u, nil).Want(t, http.StatusOK).List(t)
}

// get reads an API object as staff.
func (w *uaWorld) get(t testing.TB, path string) map[string]any {
	t.Helper()
	return w.do(t, http.MethodGet, path, w.staff, nil).Want(t, http.StatusOK).Object(t)
}

func (w *uaWorld) orderOf(t testing.TB, id any) map[string]any {
	t.Helper()
	s, ok := id.(string)
	if !ok {
		s = hexOf(id.(uuid.UUID))
	}
	return w.get(t, "/api/marketplace-orders/"+s+"/")
}

func (w *uaWorld) resourceOf(t testing.TB, id uuid.UUID) map[string]any {
	t.Helper()
	return w.get(t, "/api/marketplace-resources/"+hexOf(id)+"/")
}

// waitOrder waits until the order is done, woken by each change.
func (w *uaWorld) waitOrder(t testing.TB, id any, want string) map[string]any {
	t.Helper()
	var o map[string]any
	w.sig.until(t, "order to be "+want, func() bool {
		o = w.orderOf(t, id)
		return o["state"] == want
	})
	return o
}

// providerID is the registry id of a provider, as staff lists it.
func (w *uaWorld) providerID(t testing.TB, actionType string) string {
	t.Helper()
	for _, p := range w.do(t, http.MethodGet, "/api/user-action-providers/", w.staff, nil).Want(t, http.StatusOK).List(t) {
		if p["action_type"] == actionType {
			return idOf(p["id"])
		}
	}
	t.Fatalf("no provider %s", actionType)
	return ""
}

// idOf renders a JSON number id for a path.
func idOf(v any) string { return strconv.FormatInt(int64(v.(float64)), 10) }

// execMeta is what an execution's corrective action returned: Waldur's
// client reads execution_metadata as JSON text; heed's metadata carries
// the same as an object.
func execMeta(t testing.TB, ex map[string]any) map[string]any {
	t.Helper()
	text, ok := ex["execution_metadata"].(string)
	var m map[string]any
	if !ok || json.Unmarshal([]byte(text), &m) != nil {
		t.Fatalf("execution_metadata %v is not JSON text", ex["execution_metadata"])
	}
	if fmt.Sprint(m) != fmt.Sprint(ex["metadata"]) {
		t.Fatalf("execution_metadata %s and metadata %v differ", text, ex["metadata"])
	}
	return m
}

// setEnabled turns a provider on or off through the API, as staff.
func (w *uaWorld) setEnabled(t testing.TB, actionType string, on bool) {
	t.Helper()
	r := w.do(t, http.MethodPatch, "/api/user-action-providers/"+w.providerID(t, actionType)+"/", w.staff, map[string]any{"is_enabled": on})
	wantField(t, r.Want(t, http.StatusOK).Object(t), "is_enabled", on)
}

// TestUserActionsExecute: corrective actions that act really act, through
// the same service calls as their endpoints, as the caller and with the
// caller's permissions; every attempt that reaches an action is recorded,
// and the record outlives the action.
func TestUserActionsExecute(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm := w.newTeam(t)
		approveMe, rejectMe, lookAtMe := w.pendingOrder(t, tm, 30*time.Hour), w.pendingOrder(t, tm, 30*time.Hour), w.pendingOrder(t, tm, 30*time.Hour)
		w.detect(t)
		gone := func(t testing.TB, id uuid.UUID, users ...uaUser) {
			t.Helper()
			for _, u := range users {
				if a := actionAbout(t, w.actions(t, u, "include_silenced", "true"), id); a != nil {
					t.Errorf("%s still has %q", u.name, a["title"])
				}
			}
		}

		t.Run("Approve Order approves it", func(t *testing.T) {
			a := mustAction(t, w.actions(t, tm.manager), approveMe.UUID)
			r := w.execute(t, tm.manager, a, "Approve Order", nil).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "action", "completed")
			wantField(t, r, "message", "Order approved.")
			wantField(t, r["metadata"].(map[string]any), "order_uuid", hexOf(approveMe.UUID))
			o := w.orderOf(t, approveMe.UUID)
			if o["state"] == "pending-consumer" {
				t.Fatalf("order still pending after Approve Order")
			}
			wantField(t, o, "consumer_reviewed_by_username", tm.manager.name)
			// Gone from the very next list, everyone's.
			gone(t, approveMe.UUID, tm.owner, tm.manager, tm.admin)
			ex := w.executions(t, tm.manager)
			if len(ex) != 1 {
				t.Fatalf("%d executions, want 1", len(ex))
			}
			for k, v := range map[string]any{
				"corrective_action_label": "Approve Order", "success": true, "error_message": "", "action_uuid": a["uuid"],
				"action_type": "pending_order", "action_title": "Approve pending order: Prepaid", "related_object_type": "order",
				"executed_at": w.clock.Now().Format(time.RFC3339),
			} {
				wantField(t, ex[0], k, v)
			}
			wantField(t, execMeta(t, ex[0]), "order_uuid", hexOf(approveMe.UUID))
			// The order is processed; the execution outlives the action.
			w.waitOrder(t, approveMe.UUID, "done")
			one := w.do(t, http.MethodGet, "/api/user-action-executions/"+idOf(ex[0]["id"])+"/", tm.manager, nil).
				Want(t, http.StatusOK).Object(t)
			wantField(t, one, "action_uuid", a["uuid"])
			wantField(t, one, "action_title", "Approve pending order: Prepaid")
		})

		t.Run("Reject Order rejects it", func(t *testing.T) {
			a := mustAction(t, w.actions(t, tm.admin), rejectMe.UUID)
			r := w.execute(t, tm.admin, a, "Reject Order", nil).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "message", "Order rejected.")
			o := w.orderOf(t, rejectMe.UUID)
			wantField(t, o, "state", "rejected")
			wantField(t, o, "consumer_reviewed_by_username", tm.admin.name)
			wantField(t, w.resourceOf(t, *rejectMe.ResourceUUID), "state", "Terminated")
			gone(t, rejectMe.UUID, tm.owner, tm.manager, tm.admin)
			wantField(t, w.executions(t, tm.admin)[0], "corrective_action_label", "Reject Order")
		})

		t.Run("navigate actions answer where to go", func(t *testing.T) {
			a := mustAction(t, w.actions(t, tm.owner), lookAtMe.UUID)
			r := w.execute(t, tm.owner, a, "View Order Details", nil).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "action", "navigate")
			wantField(t, r, "route_name", "marketplace-orders.details")
			wantField(t, r, "route_params", map[string]any{"order_uuid": hexOf(lookAtMe.UUID)})
			r = w.execute(t, tm.owner, a, "Contact Customer", nil).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "action", "navigate")
			wantField(t, r, "route_params", map[string]any{"order_uuid": hexOf(lookAtMe.UUID), "tab": "contact"})
			wantField(t, r["metadata"].(map[string]any), "email", tm.member.name+"@example.com")
			ex := w.executions(t, tm.owner)
			if len(ex) != 2 || ex[0]["corrective_action_label"] != "Contact Customer" || ex[1]["corrective_action_label"] != "View Order Details" ||
				ex[0]["success"] != true || ex[1]["success"] != true {
				t.Fatalf("executions %v", ex)
			}
			// Navigating changes nothing.
			wantField(t, w.orderOf(t, lookAtMe.UUID), "state", "pending-consumer")
			mustAction(t, w.actions(t, tm.owner), lookAtMe.UUID)
		})

		t.Run("refused requests record nothing", func(t *testing.T) {
			a := mustAction(t, w.actions(t, tm.owner), lookAtMe.UUID)
			before := len(w.executions(t, tm.owner))
			if got := wantDetail(t, w.execute(t, tm.owner, a, "Approve order", nil), http.StatusNotFound, true); got != "Action not found or not permitted" {
				t.Errorf("unknown label: %q", got)
			}
			wantDetail(t, w.execute(t, tm.owner, map[string]any{"uuid": hexOf(uuid.New())}, "Approve Order", nil), http.StatusNotFound, true)
			wantFieldErrors(t, w.execute(t, tm.owner, a, "", nil), "action_label")
			wantFieldErrors(t, w.do(t, http.MethodPost, "/api/user-actions/"+a["uuid"].(string)+"/execute_action/", tm.owner, map[string]any{}), "action_label")
			if after := len(w.executions(t, tm.owner)); after != before {
				t.Errorf("%d executions after refused requests, %d before", after, before)
			}
			wantField(t, w.orderOf(t, lookAtMe.UUID), "state", "pending-consumer")
		})

		t.Run("the order moved on in between", func(t *testing.T) {
			// Approved through the API: the action is gone, so is the
			// corrective action.
			stale := mustAction(t, w.actions(t, tm.owner), lookAtMe.UUID)
			before := len(w.executions(t, tm.owner))
			w.do(t, http.MethodPost, "/api/marketplace-orders/"+hexOf(lookAtMe.UUID)+"/approve_by_consumer/", tm.manager, nil).Want(t, http.StatusOK)
			wantDetail(t, w.execute(t, tm.owner, stale, "Approve Order", nil), http.StatusNotFound, true)
			if after := len(w.executions(t, tm.owner)); after != before {
				t.Errorf("executing a vanished action was recorded")
			}
			wantField(t, w.orderOf(t, lookAtMe.UUID), "consumer_reviewed_by_username", tm.manager.name)
			// The navigations recorded on the vanished action are still there.
			for _, ex := range w.executions(t, tm.owner)[:2] {
				wantField(t, ex, "action_uuid", stale["uuid"])
				wantField(t, ex, "action_type", "pending_order")
				wantField(t, ex, "action_title", stale["title"])
				wantField(t, ex, "related_object_type", "order")
			}

			// With detection off the action stays, and executing it fails:
			// a 409 with detail and error, recorded as a failure.
			o := w.pendingOrder(t, tm, 30*time.Hour)
			w.detect(t)
			a := mustAction(t, w.actions(t, tm.admin), o.UUID)
			w.setEnabled(t, "pending_order", false)
			defer w.setEnabled(t, "pending_order", true)
			w.do(t, http.MethodPost, "/api/marketplace-orders/"+hexOf(o.UUID)+"/approve_by_consumer/", tm.manager, nil).Want(t, http.StatusOK)
			mustAction(t, w.actions(t, tm.admin), o.UUID)
			msg := wantDetail(t, w.execute(t, tm.admin, a, "Approve Order", nil), http.StatusConflict, true)
			if !strings.Contains(msg, "pending-consumer") {
				t.Errorf("message %q does not say the order is no longer pending", msg)
			}
			ex := w.executions(t, tm.admin)[0]
			wantField(t, ex, "corrective_action_label", "Approve Order")
			wantField(t, ex, "success", false)
			wantField(t, ex, "error_message", msg)
			wantField(t, ex, "action_uuid", a["uuid"])
			wantField(t, w.orderOf(t, o.UUID), "consumer_reviewed_by_username", tm.manager.name)
		})

		t.Run("Renew Resource renews, and the action follows", func(t *testing.T) {
			// Manual: the renewal waits for the provider, so it is seen open.
			id := w.resource(t, tm, w.manual, w.manualPlan, 1)
			a := mustAction(t, w.actions(t, tm.manager), id)
			wantField(t, a, "urgency", "high")
			r := w.execute(t, tm.manager, a, "Renew Resource", map[string]any{"extension_days": 10}).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "action", "completed")
			order := r["metadata"].(map[string]any)["order_uuid"].(string)
			wantField(t, w.orderOf(t, order), "state", "pending-provider")
			// While the renewal is open the resource has no action.
			gone(t, id, tm.manager, tm.member)
			w.do(t, http.MethodPost, "/api/marketplace-orders/"+order+"/approve_by_provider/", w.staff, nil).Want(t, http.StatusOK)
			o := w.waitOrder(t, order, "done")
			wantField(t, o, "type", "Update")
			wantField(t, o, "created_by_username", tm.manager.name)
			end := w.clock.today().AddDate(0, 0, 11)
			wantField(t, w.resourceOf(t, id), "end_date", end.Format(marketplace.DateLayout))
			b := mustAction(t, w.actions(t, tm.manager), id)
			wantField(t, b, "urgency", "low")
			wantField(t, b, "description", "Resource will expire in 11 days.")
			wantField(t, b, "due_date", end.Format(time.RFC3339))
			ex := w.executions(t, tm.manager)[0]
			wantField(t, ex, "corrective_action_label", "Renew Resource")
			wantField(t, execMeta(t, ex), "order_uuid", order)

			// A month on (the default) takes it out of the 30-day window.
			id = w.resource(t, tm, w.prepaid, w.prepaidPlan, 5)
			a = mustAction(t, w.actions(t, tm.admin), id)
			r = w.execute(t, tm.admin, a, "Renew Resource", nil).Want(t, http.StatusOK).Object(t)
			w.waitOrder(t, r["metadata"].(map[string]any)["order_uuid"], "done")
			wantField(t, w.resourceOf(t, id), "end_date", w.clock.today().AddDate(0, 1, 5).Format(marketplace.DateLayout))
			gone(t, id, tm.owner, tm.manager, tm.admin, tm.member)
		})

		t.Run("Terminate Resource places a Terminate order", func(t *testing.T) {
			id := w.resource(t, tm, w.prepaid, w.prepaidPlan, 7)
			a := mustAction(t, w.actions(t, tm.manager), id)
			r := w.execute(t, tm.manager, a, "Terminate Resource", nil).Want(t, http.StatusOK).Object(t)
			wantField(t, r, "message", "Termination order placed.")
			o := w.waitOrder(t, r["metadata"].(map[string]any)["order_uuid"], "done")
			wantField(t, o, "type", "Terminate")
			wantField(t, o, "created_by_username", tm.manager.name)
			wantField(t, o, "marketplace_resource_uuid", hexOf(id))
			wantField(t, w.resourceOf(t, id), "state", "Terminated")
			gone(t, id, tm.owner, tm.manager, tm.admin, tm.member)
		})

		t.Run("without the permission", func(t *testing.T) {
			id := w.resource(t, tm, w.prepaid, w.prepaidPlan, 3)
			orders := func(t testing.TB) int {
				t.Helper()
				return resultCount(t, w.do(t, http.MethodGet, "/api/marketplace-orders/?resource_uuid="+hexOf(id), w.staff, nil).Want(t, http.StatusOK))
			}
			n := orders(t)
			// The member sees the resource's action, not what they may not do.
			a := mustAction(t, w.actions(t, tm.member), id)
			for _, label := range []string{"Renew Resource", "Terminate Resource"} {
				wantDetail(t, w.execute(t, tm.member, a, label, nil), http.StatusNotFound, true)
			}
			if ex := w.executions(t, tm.member); len(ex) != 0 {
				t.Errorf("refused labels were recorded: %v", ex)
			}
			// The admin is made a member: the action still offers what the
			// admin could do when it was detected, but the service refuses.
			b := mustAction(t, w.actions(t, tm.admin), id)
			if err := w.h.App.Market.DeleteUser(context.Background(), w.staff.u, marketplace.ScopeProject, tm.project, tm.admin.u.UUID,
				marketplace.ProjectAdmin); err != nil {
				t.Fatal(err)
			}
			w.grant(t, tm, tm.admin, marketplace.ScopeProject, marketplace.ProjectMember)
			if corrective(b, "Renew Resource") == nil {
				t.Fatalf("the admin's action offers no renewal: %v", labels(b))
			}
			for _, label := range []string{"Renew Resource", "Terminate Resource"} {
				msg := wantDetail(t, w.execute(t, tm.admin, b, label, nil), http.StatusConflict, true)
				ex := w.executions(t, tm.admin)[0]
				wantField(t, ex, "corrective_action_label", label)
				wantField(t, ex, "success", false)
				wantField(t, ex, "error_message", msg)
			}
			if after := orders(t); after != n {
				t.Errorf("%d orders for the resource after refused executions, %d before", after, n)
			}
			wantField(t, w.resourceOf(t, id), "state", "OK")
		})
	})
}
