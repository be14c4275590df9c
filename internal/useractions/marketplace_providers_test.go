package useractions_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

var (
	categories = []string{"view", "approve", "reject", "extend", "terminate", "backup", "migrate", "contact", "escalate", "configure", "repair", "monitor"}
	severities = []string{"safe", "low", "medium", "high", "critical"}
)

// wantCorrective requires the corrective action labelled label with these
// properties, and every corrective action of a to use the client's enums.
func wantCorrective(t testing.TB, a map[string]any, label, category, severity, method string, api, confirm bool) map[string]any {
	t.Helper()
	for _, c := range a["corrective_actions"].([]any) {
		ca := c.(map[string]any)
		if !slices.Contains(categories, ca["category"].(string)) || !slices.Contains(severities, ca["severity"].(string)) {
			t.Errorf("corrective action %v: category or severity outside the client's enums", ca)
		}
	}
	ca := corrective(a, label)
	if ca == nil {
		t.Fatalf("no %q among %v", label, labels(a))
	}
	for k, v := range map[string]any{"category": category, "severity": severity, "method": method, "api_endpoint": api, "confirmation_required": confirm} {
		wantField(t, ca, k, v)
	}
	return ca
}

// TestUserActionsPendingOrders: orders waiting in pending-consumer longer
// than 24 hours become actions of everyone who may approve them (project
// roles and customer owners), urgent by how long they have waited (3 days
// high, 1 day medium), and leave every list as soon as they move on.
func TestUserActionsPendingOrders(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm, other := w.newTeam(t), w.newTeam(t)
		ages := []time.Duration{12 * time.Hour, 23 * time.Hour, 25 * time.Hour, 49 * time.Hour, 73 * time.Hour, 240 * time.Hour}
		orders := make([]*marketplace.Order, len(ages))
		for i, age := range ages {
			orders[i] = w.pendingOrder(t, tm, age)
		}
		// Waiting for the provider is not the consumer's to approve.
		manual := w.order(t, tm, tm.manager, w.manual, w.manualPlan)
		if manual.State != marketplace.OrderPendingProvider {
			t.Fatalf("manual order is %s", manual.State)
		}
		w.backdate(t, manual.UUID, w.clock.Now().Add(-96*time.Hour))
		w.pendingOrder(t, other, 96*time.Hour)
		w.detect(t)

		want := []struct {
			urgency, waited string
		}{{}, {}, {"medium", "1 day"}, {"medium", "2 days"}, {"high", "3 days"}, {"high", "10 days"}}
		for _, u := range []uaUser{tm.owner, tm.manager, tm.admin} {
			list := w.actions(t, u, "action_type", "pending_order")
			if len(list) != 4 {
				t.Fatalf("%s has %d pending-order actions, want 4: %v", u.name, len(list), titles(list))
			}
			for i, o := range orders {
				a := actionAbout(t, list, o.UUID)
				if want[i].urgency == "" {
					if a != nil {
						t.Errorf("%s has an action for an order waiting %s", u.name, ages[i])
					}
					continue
				}
				if a == nil {
					t.Fatalf("%s has no action for the order waiting %s", u.name, ages[i])
				}
				wantField(t, a, "urgency", want[i].urgency)
				wantField(t, a, "description", "Order has been pending approval for "+want[i].waited+".")
				wantField(t, a, "due_date", w.clock.Now().Add(-ages[i]).Add(7*24*time.Hour).Format(time.RFC3339))
			}
		}
		for _, u := range []uaUser{tm.member, w.staff, other.member} {
			if n := len(w.actions(t, u, "action_type", "pending_order")); n != 0 {
				t.Errorf("%s, who may not approve, has %d pending-order actions", u.name, n)
			}
		}
		if n := len(w.actions(t, other.owner)); n != 1 {
			t.Errorf("the other team's owner has %d actions, want their own order's", n)
		}

		t.Run("fields and corrective actions", func(t *testing.T) {
			o := orders[2]
			a := mustAction(t, w.actions(t, tm.manager), o.UUID)
			for k, v := range map[string]any{
				"action_type": "pending_order", "title": "Approve pending order: Prepaid", "related_object_type": "order",
				"related_object_name": o.ResourceName, "route_name": "marketplace-orders.details",
				"order_type": "Create", "offering_name": "Prepaid", "offering_uuid": hexOf(w.prepaid), "offering_type": "basic",
				"project_uuid": hexOf(tm.project), "organization_uuid": hexOf(tm.customer), "resource_uuid": hexOf(*o.ResourceUUID),
				"resource_name": o.ResourceName, "days_until_due": 6, "is_silenced": false,
			} {
				wantField(t, a, k, v)
			}
			wantField(t, a["route_params"].(map[string]any), "order_uuid", hexOf(o.UUID))
			if !strings.HasPrefix(a["project_name"].(string), "Project ") || !strings.HasPrefix(a["organization_name"].(string), "Consumer ") {
				t.Errorf("context names %q, %q", a["project_name"], a["organization_name"])
			}
			if got := strings.Join(labels(a), ", "); got != "View Order Details, Approve Order, Reject Order, Contact Customer" {
				t.Errorf("corrective actions: %s", got)
			}
			view := wantCorrective(t, a, "View Order Details", "view", "safe", "GET", false, false)
			wantField(t, view, "route_name", "marketplace-orders.details")
			wantField(t, view["route_params"].(map[string]any), "order_uuid", hexOf(o.UUID))
			approve := wantCorrective(t, a, "Approve Order", "approve", "low", "POST", true, true)
			wantField(t, approve, "permissions_required", []any{"ORDER.APPROVE"})
			wantField(t, approve["metadata"].(map[string]any), "estimated_cost", "10.00")
			reject := wantCorrective(t, a, "Reject Order", "reject", "high", "POST", true, true)
			wantField(t, reject["metadata"].(map[string]any), "customer_contact", tm.member.name+"@example.com")
			contact := wantCorrective(t, a, "Contact Customer", "contact", "safe", "GET", false, false)
			wantField(t, contact["metadata"].(map[string]any), "email", tm.member.name+"@example.com")
		})

		t.Run("time passing raises urgency in place", func(t *testing.T) {
			before := w.actions(t, tm.owner, "action_type", "pending_order")
			now := w.clock.Advance(24 * time.Hour)
			// The 23-hour order now waits 47 hours, the 49-hour one 73.
			w.detect(t)
			after := w.actions(t, tm.owner, "action_type", "pending_order")
			a, b := mustAction(t, before, orders[3].UUID), mustAction(t, after, orders[3].UUID)
			wantField(t, b, "urgency", "high")
			wantField(t, b, "description", "Order has been pending approval for 3 days.")
			wantField(t, b, "uuid", a["uuid"])
			wantField(t, b, "created", a["created"])
			wantField(t, b, "modified", now.Format(time.RFC3339))
			wantField(t, mustAction(t, after, orders[1].UUID), "urgency", "medium")
			wantField(t, mustAction(t, after, orders[0].UUID), "urgency", "medium")
			if len(after) != 6 {
				t.Errorf("%d actions after a day, want 6", len(after))
			}
		})

		t.Run("pending_order_hours", func(t *testing.T) {
			// Waldur's test_configurable_pending_order_hours: with 12 hours, an
			// order waiting 15 is an action (low: under a day); with 48, one
			// waiting 30 is not.
			fresh := w.newTeam(t)
			o15, o30 := w.pendingOrder(t, fresh, 15*time.Hour), w.pendingOrder(t, fresh, 30*time.Hour)
			found := func(hours int) map[uuid.UUID]provider.Urgency {
				out := map[uuid.UUID]provider.Urgency{}
				err := w.h.App.DB.ReadTx(context.Background(), func(c db.Conn) error {
					acts, err := w.h.App.Market.PendingOrders(hours).Detect(context.Background(), c, w.clock.Now(),
						provider.Scope{Users: []int64{fresh.manager.u.ID}})
					for _, a := range acts {
						for _, o := range []*marketplace.Order{o15, o30} {
							if a.Object.ID == o.ID {
								out[o.UUID] = a.Urgency
							}
						}
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			if got := found(12); got[o15.UUID] != provider.Low || got[o30.UUID] != provider.Medium {
				t.Errorf("with 12 hours: %v", got)
			}
			if got := found(48); len(got) != 0 {
				t.Errorf("with 48 hours: %v", got)
			}
		})

		t.Run("an order that moves on leaves every list at once", func(t *testing.T) {
			for _, c := range []struct {
				order  *marketplace.Order
				who    uaUser
				action string
				status int
			}{
				{orders[3], tm.manager, "approve_by_consumer", http.StatusOK},
				{orders[4], tm.owner, "reject_by_consumer", http.StatusOK},
				// The member placed it and may cancel it (Waldur answers 202).
				{orders[5], tm.member, "cancel", http.StatusAccepted},
			} {
				w.do(t, http.MethodPost, "/api/marketplace-orders/"+hexOf(c.order.UUID)+"/"+c.action+"/", c.who, nil).Want(t, c.status)
				for _, u := range []uaUser{tm.owner, tm.manager, tm.admin} {
					if a := actionAbout(t, w.actions(t, u), c.order.UUID); a != nil {
						t.Errorf("after %s, %s still has %v", c.action, u.name, a["title"])
					}
				}
			}
			if n := len(w.actions(t, tm.admin, "action_type", "pending_order")); n != 3 {
				t.Errorf("%d pending-order actions left, want 3", n)
			}
		})

		t.Run("the daily cleanup removes actions whose order is gone", func(t *testing.T) {
			if n, err := w.h.App.Actions.CleanupDangling(t.Context()); err != nil || n != 0 {
				t.Fatalf("nothing dangles yet, cleanup deleted %d (%v)", n, err)
			}
			// Nothing in heed deletes orders; an operator might.
			w.sql(t, "DELETE FROM orders WHERE id = ?", orders[2].ID)
			if n, err := w.h.App.Actions.CleanupDangling(t.Context()); err != nil || n != 3 {
				t.Fatalf("cleanup deleted %d (%v), want the order's 3 actions", n, err)
			}
			for _, u := range []uaUser{tm.owner, tm.manager, tm.admin} {
				list := w.actions(t, u, "action_type", "pending_order")
				if actionAbout(t, list, orders[2].UUID) != nil || len(list) != 2 {
					t.Errorf("%s's actions after the cleanup: %v", u.name, titles(list))
				}
			}
		})
	})
}

// TestUserActionsExpiringResources: OK resources of prepaid offerings whose
// end date falls within the offering's reminder schedule (default 30, 14,
// 7, 1 days) become actions of everyone with a role on the project or its
// customer, urgent by the schedule, the last day included, unless an order
// for the resource is open.
func TestUserActionsExpiringResources(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm, other := w.newTeam(t), w.newTeam(t)
		type res struct {
			offering, plan uuid.UUID
			days           int
			urgency, desc  string
		}
		noEnd := -2000
		cases := []res{
			{w.prepaid, w.prepaidPlan, 0, "high", "Resource expires today."},
			{w.prepaid, w.prepaidPlan, 1, "high", "Resource expires tomorrow."},
			{w.prepaid, w.prepaidPlan, 2, "medium", "Resource will expire in 2 days."},
			{w.prepaid, w.prepaidPlan, 7, "medium", "Resource will expire in 7 days."},
			{w.prepaid, w.prepaidPlan, 8, "low", "Resource will expire in 8 days."},
			{w.prepaid, w.prepaidPlan, 15, "low", "Resource will expire in 15 days."},
			{w.prepaid, w.prepaidPlan, 30, "low", "Resource will expire in 30 days."},
			{w.prepaid, w.prepaidPlan, 31, "", ""},
			{w.prepaid, w.prepaidPlan, -1, "", ""},
			{w.prepaid, w.prepaidPlan, noEnd, "", ""},
			// Waldur's per-offering schedule tests: 85→low, 55→low, 25→medium,
			// 10→medium, 5→high; outside the largest reminder, nothing.
			{w.annual, w.annualPlan, 85, "low", "Resource will expire in 85 days."},
			{w.annual, w.annualPlan, 55, "low", "Resource will expire in 55 days."},
			{w.annual, w.annualPlan, 25, "medium", "Resource will expire in 25 days."},
			{w.annual, w.annualPlan, 10, "medium", "Resource will expire in 10 days."},
			{w.annual, w.annualPlan, 5, "high", "Resource will expire in 5 days."},
			{w.annual, w.annualPlan, 91, "", ""},
			// Nothing prepaid, nothing to renew.
			{w.usage, w.usagePlan, 5, "", ""},
		}
		ids := make([]uuid.UUID, len(cases))
		for i, c := range cases {
			ids[i] = w.resource(t, tm, c.offering, c.plan, c.days)
		}
		w.resource(t, other, w.prepaid, w.prepaidPlan, 3)
		// Created as each end date was set; a full run agrees.
		w.detect(t)
		today := w.clock.today()
		for _, u := range []uaUser{tm.owner, tm.manager, tm.admin, tm.member} {
			list := w.actions(t, u, "action_type", "expiring_resource")
			if len(list) != 12 {
				t.Fatalf("%s has %d expiring-resource actions, want 12: %v", u.name, len(list), titles(list))
			}
			for i, c := range cases {
				a := actionAbout(t, list, ids[i])
				if c.urgency == "" {
					if a != nil {
						t.Errorf("%s has an action for a resource of %s ending in %d days", u.name, c.offering, c.days)
					}
					continue
				}
				if a == nil {
					t.Fatalf("%s has no action for the resource ending in %d days", u.name, c.days)
				}
				wantField(t, a, "urgency", c.urgency)
				wantField(t, a, "description", c.desc)
				wantField(t, a, "due_date", today.AddDate(0, 0, c.days).Format(time.RFC3339))
				wantField(t, a, "days_until_due", c.days)
			}
		}
		if n := len(w.actions(t, w.staff)); n != 0 {
			t.Errorf("staff, with no role, has %d actions", n)
		}

		t.Run("the default schedule is configurable", func(t *testing.T) {
			// Waldur's test_reminder_schedule_defaults_to_global_config: an
			// offering with no reminders of its own follows the global
			// schedule; one with its own keeps them.
			found := func(def []int) map[int64]provider.Urgency {
				out := map[int64]provider.Urgency{}
				err := w.h.App.DB.ReadTx(context.Background(), func(c db.Conn) error {
					acts, err := w.h.App.Market.ExpiringResources(def).Detect(context.Background(), c, w.clock.Now(),
						provider.Scope{Users: []int64{tm.manager.u.ID}})
					for _, a := range acts {
						out[a.Object.ID] = a.Urgency
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			byDays := func(got map[int64]provider.Urgency) string {
				var out []string
				for i, c := range cases {
					r, err := w.h.App.Market.GetResource(context.Background(), w.staff.u, marketplace.ConsumerView, ids[i])
					if err != nil {
						t.Fatal(err)
					}
					if u, ok := got[r.ID]; ok {
						out = append(out, fmt.Sprintf("%s/%d:%s", map[uuid.UUID]string{w.prepaid: "prepaid", w.annual: "annual"}[c.offering], c.days, u))
					}
				}
				return strings.Join(out, " ")
			}
			if got, want := byDays(found([]int{60, 30, 7})),
				"prepaid/0:high prepaid/1:high prepaid/2:high prepaid/7:high prepaid/8:medium prepaid/15:medium prepaid/30:medium prepaid/31:low "+
					"annual/85:low annual/55:low annual/25:medium annual/10:medium annual/5:high"; got != want {
				t.Errorf("with the global schedule 60, 30, 7:\n got %s\nwant %s", got, want)
			}
		})

		t.Run("fields and corrective actions", func(t *testing.T) {
			id := ids[2]
			a := mustAction(t, w.actions(t, tm.manager), id)
			for k, v := range map[string]any{
				"action_type": "expiring_resource", "related_object_type": "resource", "route_name": "marketplace-resource-details",
				"offering_name": "Prepaid", "offering_uuid": hexOf(w.prepaid), "resource_uuid": hexOf(id),
				"project_uuid": hexOf(tm.project), "organization_uuid": hexOf(tm.customer), "order_type": "",
			} {
				wantField(t, a, k, v)
			}
			wantField(t, a, "title", "Resource expiring: "+a["resource_name"].(string))
			wantField(t, a["route_params"].(map[string]any), "resource_uuid", hexOf(id))
			// Whoever may approve orders may renew; whoever may terminate may.
			for _, u := range []uaUser{tm.owner, tm.manager, tm.admin} {
				a := mustAction(t, w.actions(t, u), id)
				if got := strings.Join(labels(a), ", "); got != "View Resource, Renew Resource, Create Backup, Migrate Resource, Terminate Resource" {
					t.Errorf("%s's corrective actions: %s", u.name, got)
				}
				wantCorrective(t, a, "View Resource", "view", "safe", "GET", false, false)
				wantCorrective(t, a, "Renew Resource", "extend", "low", "POST", true, false)
				wantCorrective(t, a, "Create Backup", "backup", "medium", "GET", false, false)
				wantCorrective(t, a, "Migrate Resource", "migrate", "medium", "GET", false, false)
				wantCorrective(t, a, "Terminate Resource", "terminate", "high", "POST", true, true)
			}
			m := mustAction(t, w.actions(t, tm.member), id)
			if got := strings.Join(labels(m), ", "); got != "View Resource, Create Backup, Migrate Resource" {
				t.Errorf("the member's corrective actions: %s", got)
			}
		})

		t.Run("an open order hides the resource", func(t *testing.T) {
			id := ids[3]
			before := mustAction(t, w.actions(t, tm.admin), id)
			// The member asks for more: an Update order waiting for approval.
			o, err := w.h.App.Market.CreateOrder(context.Background(), tm.member.u, marketplace.OrderInput{
				Type: marketplace.OrderTypeUpdate, Resource: &id, Limits: map[string]int64{"cpu_hours": 20}})
			if err != nil || o.State != marketplace.OrderPendingConsumer {
				t.Fatalf("update order: %+v, %v", o, err)
			}
			for _, u := range []uaUser{tm.owner, tm.manager, tm.admin, tm.member} {
				if a := actionAbout(t, w.actions(t, u, "action_type", "expiring_resource"), id); a != nil {
					t.Errorf("%s still has the action of a resource with an open order", u.name)
				}
			}
			w.detect(t)
			if a := actionAbout(t, w.actions(t, tm.admin, "action_type", "expiring_resource"), id); a != nil {
				t.Errorf("a full run brought back the action of a resource with an open order")
			}
			w.do(t, http.MethodPost, "/api/marketplace-orders/"+hexOf(o.UUID)+"/reject_by_consumer/", tm.manager, nil).Want(t, http.StatusOK)
			after := mustAction(t, w.actions(t, tm.admin), id)
			if after["uuid"] == before["uuid"] {
				t.Errorf("the action came back with its old uuid")
			}
			wantField(t, after, "urgency", "medium")

			// A termination waiting for the provider is open too.
			r := w.resource(t, tm, w.manual, w.manualPlan, -2000)
			w.setEnd(t, tm, r, 4)
			mustAction(t, w.actions(t, tm.member), r)
			term := w.do(t, http.MethodPost, "/api/marketplace-resources/"+hexOf(r)+"/terminate/", tm.manager, nil).Want(t, http.StatusOK)
			o2 := term.Object(t)["order_uuid"].(string)
			wantField(t, w.do(t, http.MethodGet, "/api/marketplace-orders/"+o2+"/", w.staff, nil).Want(t, http.StatusOK).Object(t), "state", "pending-provider")
			if a := actionAbout(t, w.actions(t, tm.member), r); a != nil {
				t.Errorf("the action of a resource being terminated is still listed")
			}
		})

		t.Run("end date changes and time passing", func(t *testing.T) {
			// Moved out of the window through the API: gone at once; back in:
			// there again.
			id := ids[4]
			w.do(t, http.MethodPatch, "/api/marketplace-resources/"+hexOf(id)+"/", tm.manager,
				map[string]any{"end_date": today.AddDate(0, 0, 45).Format(marketplace.DateLayout)}).Want(t, http.StatusOK)
			if a := actionAbout(t, w.actions(t, tm.member), id); a != nil {
				t.Errorf("still listed after its end date moved 45 days out")
			}
			w.do(t, http.MethodPatch, "/api/marketplace-resources/"+hexOf(id)+"/", tm.manager,
				map[string]any{"end_date": today.AddDate(0, 0, 6).Format(marketplace.DateLayout)}).Want(t, http.StatusOK)
			wantField(t, mustAction(t, w.actions(t, tm.member), id), "urgency", "medium")

			// A day on: tomorrow becomes today, today becomes the past.
			before := w.actions(t, tm.member, "action_type", "expiring_resource")
			w.clock.Advance(24 * time.Hour)
			w.detect(t)
			after := w.actions(t, tm.member, "action_type", "expiring_resource")
			a := mustAction(t, after, ids[1])
			wantField(t, a, "description", "Resource expires today.")
			wantField(t, a, "urgency", "high")
			wantField(t, a, "uuid", mustAction(t, before, ids[1])["uuid"])
			wantField(t, mustAction(t, after, ids[2]), "description", "Resource expires tomorrow.")
			wantField(t, mustAction(t, after, ids[2]), "urgency", "high")
			if a := actionAbout(t, after, ids[0]); a != nil {
				t.Errorf("a resource that ended yesterday is still listed: %v", a["description"])
			}
			// 31 days left is 30 now, 91 is 90: both within their schedules.
			wantField(t, mustAction(t, after, ids[7]), "urgency", "low")
			wantField(t, mustAction(t, after, ids[15]), "urgency", "low")
			if len(after) != len(before)+1 {
				t.Errorf("%d actions after a day, %d before (one ended, two came in)", len(after), len(before))
			}
		})

		t.Run("a rename shows at once, a description edit changes nothing", func(t *testing.T) {
			// The provider watches name, state and end date only
			// (FieldWatcher): the title follows a rename in the same
			// request; a description edit leaves the action as it was.
			id := ids[3]
			w.do(t, http.MethodPatch, "/api/marketplace-resources/"+hexOf(id)+"/", tm.manager,
				map[string]any{"name": "renamed-expiring"}).Want(t, http.StatusOK)
			a := mustAction(t, w.actions(t, tm.member), id)
			wantField(t, a, "title", "Resource expiring: renamed-expiring")
			w.do(t, http.MethodPatch, "/api/marketplace-resources/"+hexOf(id)+"/", tm.manager,
				map[string]any{"description": "edited"}).Want(t, http.StatusOK)
			wantField(t, mustAction(t, w.actions(t, tm.member), id), "modified", a["modified"])
		})

		t.Run("the daily cleanup removes actions whose resource is gone", func(t *testing.T) {
			id := ids[5]
			mustAction(t, w.actions(t, tm.owner), id)
			w.sql(t, "DELETE FROM orders WHERE resource_id = (SELECT id FROM resources WHERE uuid = ?)", id.String())
			w.sql(t, "DELETE FROM resources WHERE uuid = ?", id.String())
			if n, err := w.h.App.Actions.CleanupDangling(t.Context()); err != nil || n != 4 {
				t.Fatalf("cleanup deleted %d (%v), want the resource's 4 actions", n, err)
			}
			for _, u := range []uaUser{tm.owner, tm.manager, tm.admin, tm.member} {
				if a := actionAbout(t, w.actions(t, u), id); a != nil {
					t.Errorf("%s still has %v", u.name, a["title"])
				}
			}
			if n := len(w.actions(t, other.owner)); n != 1 {
				t.Errorf("the other team's owner lost their action: %d", n)
			}
		})
	})
}

// TestUserActionsDemo: after --demo, alice (customer owner) and bob
// (project manager) have pending-order and expiring-resource actions of
// every urgency; carol (member) has the expiring ones, without renew or
// terminate.
func TestUserActionsDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{NoWork: true}, func(t *testing.T, h *apptest.Harness) {
		w := &uaWorld{h: h}
		for _, c := range []struct {
			token string
			want  string
		}{
			{apptest.Alice, "expiring_resource/high expiring_resource/low expiring_resource/medium pending_order/high pending_order/medium"},
			// The demo mutes bob (notifyUser): account_restriction.
			{apptest.Bob, "account_restriction/medium expiring_resource/high expiring_resource/low expiring_resource/medium pending_order/high pending_order/medium"},
			{"demo-carol-token", "expiring_resource/high expiring_resource/low expiring_resource/medium"},
		} {
			u := uaUser{name: c.token, token: c.token}
			list := w.actions(t, u)
			var got []string
			for _, a := range list {
				got = append(got, fmt.Sprintf("%v/%v", a["action_type"], a["urgency"]))
				if a["action_type"] == "expiring_resource" {
					hasRenew := corrective(a, "Renew Resource") != nil
					if hasRenew != (c.token != "demo-carol-token") {
						t.Errorf("%s: %v has Renew Resource: %v", c.token, a["title"], hasRenew)
					}
				}
			}
			slices.Sort(got)
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("%s's actions: %s, want %s", c.token, s, c.want)
			}
			s := summary(t, w, u)
			for _, k := range []string{"high", "medium", "low"} {
				if strings.Contains(s, `"`+k+`":0`) {
					t.Errorf("%s's summary has no %s action: %s", c.token, k, s)
				}
			}
		}
	})
}
