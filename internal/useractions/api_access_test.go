package useractions_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/useractions/provider"
)

// TestUserActionsIsolation: a user sees, silences, unsilences and executes
// only their own actions, and sees only their own executions; anyone
// else's are not found (404, not 403), staff included.
func TestUserActionsIsolation(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		u, v := w.newUser(t, "u", nil), w.newUser(t, "v", nil)
		w.probe.set(nil, probeAction(u, 1, "u's", provider.High, nil), probeAction(v, 1, "v's", provider.High, nil),
			probeAction(v, 2, "v's silenced", provider.Low, nil))
		w.detect(t)
		mine, theirs := w.actions(t, u)[0], byTitle(t, w.actions(t, v))
		w.do(t, http.MethodPost, "/api/user-actions/"+theirs["v's silenced"]+"/silence/", v, nil).Want(t, http.StatusOK)
		// v's own API action works, and is recorded for v.
		r := w.execute(t, v, map[string]any{"uuid": theirs["v's"]}, "Poke", nil).Want(t, http.StatusOK).Object(t)
		wantField(t, r, "message", "Probed.")
		vExec := w.executions(t, v)
		if len(vExec) != 1 {
			t.Fatalf("v has %d executions", len(vExec))
		}
		theirExecution := idOf(vExec[0]["id"])
		snapshot := func() string {
			return strings.Join(titles(w.actions(t, v, "include_silenced", "true")), "; ")
		}
		before := snapshot()

		for _, who := range []uaUser{u, w.staff} {
			for _, id := range []string{theirs["v's"], theirs["v's silenced"]} {
				base := "/api/user-actions/" + id + "/"
				wantDetail(t, w.do(t, http.MethodGet, base, who, nil), http.StatusNotFound, false)
				wantDetail(t, w.do(t, http.MethodGet, base+"?include_silenced=true", who, nil), http.StatusNotFound, false)
				wantDetail(t, w.do(t, http.MethodPost, base+"silence/", who, map[string]any{"duration_days": 3}), http.StatusNotFound, false)
				wantDetail(t, w.do(t, http.MethodPost, base+"unsilence/", who, nil), http.StatusNotFound, false)
				for _, label := range []string{"Look", "Poke"} {
					wantDetail(t, w.execute(t, who, map[string]any{"uuid": id}, label, nil), http.StatusNotFound, true)
				}
			}
			wantDetail(t, w.do(t, http.MethodGet, "/api/user-action-executions/"+theirExecution+"/", who, nil), http.StatusNotFound, false)
			if ex := w.executions(t, who); len(ex) != 0 {
				t.Errorf("%s sees executions %v", who.name, ex)
			}
			if n := resultCount(t, w.do(t, http.MethodHead, "/api/user-action-executions/", who, nil).Want(t, http.StatusOK)); n != 0 {
				t.Errorf("%s counts %d executions", who.name, n)
			}
			for _, a := range w.actions(t, who, "include_silenced", "true") {
				if a["uuid"] == theirs["v's"] || a["uuid"] == theirs["v's silenced"] {
					t.Errorf("%s lists v's %q", who.name, a["title"])
				}
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("v's actions changed:\nbefore %s\nafter  %s", before, after)
		}
		w.probe.mu.Lock()
		executed := slices.Clone(w.probe.executed)
		w.probe.mu.Unlock()
		if want := []string{v.name + "/probe:1/Poke"}; !slices.Equal(executed, want) {
			t.Errorf("the probe executed %v, want only v's %v", executed, want)
		}
		if n := len(w.executions(t, v)); n != 1 {
			t.Errorf("v has %d executions, want the 1 of their own", n)
		}
		// u's own action is u's to act on.
		w.execute(t, u, mine, "Look", nil).Want(t, http.StatusOK)
		if ex := w.executions(t, u); len(ex) != 1 || ex[0]["action_uuid"] != mine["uuid"] {
			t.Errorf("u's executions %v", ex)
		}
		for _, p := range []string{"/api/user-action-executions/abc/", "/api/user-action-executions/0/", "/api/user-action-executions/99999/"} {
			wantDetail(t, w.do(t, http.MethodGet, p, u, nil), http.StatusNotFound, false)
		}
	})
}

// TestUserActionsProviders: the provider registry and the update endpoints
// are staff only; update_actions answers 202 and detection runs.
func TestUserActionsProviders(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm := w.newTeam(t)
		alice := w.newUser(t, "alice", nil)
		w.detect(t)

		t.Run("staff only", func(t *testing.T) {
			list := w.do(t, http.MethodGet, "/api/user-action-providers/", w.staff, nil).Want(t, http.StatusOK).List(t)
			got := map[string]map[string]any{}
			for _, p := range list {
				got[p["action_type"].(string)] = p
			}
			if len(list) != 4 || got["pending_order"] == nil || got["expiring_resource"] == nil || got["account_restriction"] == nil || got[probeType] == nil {
				t.Fatalf("providers %v", list)
			}
			for typ, class := range map[string]string{"account_restriction": "actioning.RestrictionProvider", "pending_order": "marketplace.PendingOrderProvider",
				"expiring_resource": "marketplace.ExpiringResourceProvider", probeType: "useractions_test.probeProvider"} {
				p := got[typ]
				wantField(t, p, "provider_class", class)
				wantField(t, p, "is_enabled", true)
				wantField(t, p, "schedule", "0 */6 * * *")
				wantField(t, p, "last_execution", w.clock.Now().Format(time.RFC3339))
				if !strings.HasPrefix(p["last_execution_status"].(string), "COMPLETED: ") {
					t.Errorf("%s's status %q", typ, p["last_execution_status"])
				}
			}
			wantField(t, got["pending_order"], "app_name", "marketplace")
			if n := resultCount(t, w.do(t, http.MethodHead, "/api/user-action-providers/", w.staff, nil).Want(t, http.StatusOK)); n != 4 {
				t.Errorf("HEAD providers: %d", n)
			}
			id := idOf(got["pending_order"]["id"])
			wantField(t, w.get(t, "/api/user-action-providers/"+id+"/"), "action_type", "pending_order")
			for _, p := range []string{"/api/user-action-providers/99999/", "/api/user-action-providers/pending_order/"} {
				wantDetail(t, w.do(t, http.MethodGet, p, w.staff, nil), http.StatusNotFound, false)
			}

			for _, c := range []struct {
				method, path string
				body         any
			}{
				{http.MethodGet, "/api/user-action-providers/", nil},
				{http.MethodHead, "/api/user-action-providers/", nil},
				{http.MethodGet, "/api/user-action-providers/" + id + "/", nil},
				{http.MethodPatch, "/api/user-action-providers/" + id + "/", map[string]any{"is_enabled": false}},
				{http.MethodPost, "/api/user-actions/update_actions/", map[string]any{}},
				{http.MethodPost, "/api/users/" + alice.uuid + "/update_actions/", nil},
				{http.MethodPost, "/api/users/" + tm.manager.uuid + "/update_actions/", map[string]any{"provider_action_type": "pending_order"}},
			} {
				for _, who := range []uaUser{alice, tm.owner} {
					r := w.do(t, c.method, c.path, who, c.body)
					if c.method == http.MethodHead {
						r.Want(t, http.StatusForbidden)
						continue
					}
					wantDetail(t, r, http.StatusForbidden, false)
				}
			}
			wantField(t, w.get(t, "/api/user-action-providers/"+id+"/"), "is_enabled", true)
			wantFieldErrors(t, w.do(t, http.MethodPost, "/api/user-actions/update_actions/", w.staff,
				map[string]any{"provider_action_type": "no_such_thing"}), "provider_action_type")
			wantDetail(t, w.do(t, http.MethodPost, "/api/users/0123456789abcdef0123456789abcdef/update_actions/", w.staff, nil),
				http.StatusNotFound, false)
		})

		t.Run("update_actions runs detection", func(t *testing.T) {
			// An order waits long enough without anything changing: only a
			// detection run notices.
			o := w.pendingOrder(t, tm, 30*time.Hour)
			if a := actionAbout(t, w.actions(t, tm.manager), o.UUID); a != nil {
				t.Fatalf("detected before any run")
			}
			runs := w.probe.runs()
			r := w.do(t, http.MethodPost, "/api/user-actions/update_actions/", w.staff, nil).Want(t, http.StatusAccepted)
			if got := strings.TrimSpace(string(r.Body)); got != `{"status":"scheduled","message":"User actions update has been scheduled","provider_action_type":null}` {
				t.Errorf("update_actions answered %s", got)
			}
			// The probe runs last: once it has, so have the others.
			w.sig.until(t, "a detection run", func() bool { return w.probe.runs() > runs })
			for _, u := range []uaUser{tm.owner, tm.manager, tm.admin} {
				mustAction(t, w.actions(t, u), o.UUID)
			}

			// One user's run: the manager's only (the probe, run last for
			// them too, signals its end).
			o2 := w.pendingOrder(t, tm, 30*time.Hour)
			r = w.do(t, http.MethodPost, "/api/users/"+tm.manager.uuid+"/update_actions/", w.staff, nil).Want(t, http.StatusAccepted)
			if got := strings.TrimSpace(string(r.Body)); got != `{"status":"scheduled","message":"User actions update for `+tm.manager.name+
				` has been scheduled","provider_action_type":null}` {
				t.Errorf("users update_actions answered %s", got)
			}
			w.sig.until(t, "the manager's run", func() bool { return actionAbout(t, w.actions(t, tm.manager), o2.UUID) != nil })
			if a := actionAbout(t, w.actions(t, tm.admin), o2.UUID); a != nil {
				t.Errorf("a run for the manager detected the admin's action")
			}
			// Named providers only.
			r = w.do(t, http.MethodPost, "/api/user-actions/update_actions/", w.staff, map[string]any{"provider_action_type": "expiring_resource"}).
				Want(t, http.StatusAccepted)
			wantField(t, r.Object(t), "provider_action_type", "expiring_resource")
		})

	})
}

// TestUserActionsDisabledProvider: a provider staff disabled is run neither
// by update_actions (the job the schedule runs too) nor on changes, and
// runs again once enabled. Its own world: update_actions is asked for once
// here, as a second identical request while the first still runs is folded
// into it.
func TestUserActionsDisabledProvider(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm := w.newTeam(t)
		stale := w.pendingOrder(t, tm, 30*time.Hour)
		w.detect(t)
		mustAction(t, w.actions(t, tm.admin), stale.UUID)
		lastRun := w.get(t, "/api/user-action-providers/"+w.providerID(t, "pending_order")+"/")["last_execution"]
		w.clock.Advance(time.Hour)
		w.setEnabled(t, "pending_order", false)
		w.setEnabled(t, "expiring_resource", false)

		// Not on changes: an approved order keeps its action, an end date
		// moved into the window brings none.
		w.do(t, http.MethodPost, "/api/marketplace-orders/"+hexOf(stale.UUID)+"/approve_by_consumer/", tm.manager, nil).Want(t, http.StatusOK)
		mustAction(t, w.actions(t, tm.admin), stale.UUID)
		res := w.resource(t, tm, w.prepaid, w.prepaidPlan, 3)
		if a := actionAbout(t, w.actions(t, tm.admin), res); a != nil {
			t.Errorf("the disabled provider detected on a change")
		}
		// Not by the scheduled job either.
		fresh := w.pendingOrder(t, tm, 30*time.Hour)
		runs := w.probe.runs()
		w.do(t, http.MethodPost, "/api/user-actions/update_actions/", w.staff, nil).Want(t, http.StatusAccepted)
		w.sig.until(t, "a detection run", func() bool { return w.probe.runs() > runs })
		list := w.actions(t, tm.admin)
		if actionAbout(t, list, fresh.UUID) != nil || actionAbout(t, list, res) != nil || actionAbout(t, list, stale.UUID) == nil {
			t.Errorf("after a run with both providers disabled: %v", titles(list))
		}
		p := w.get(t, "/api/user-action-providers/"+w.providerID(t, "pending_order")+"/")
		wantField(t, p, "last_execution", lastRun)
		wantField(t, p, "is_enabled", false)

		// Enabled again, they catch up at the next run.
		w.setEnabled(t, "pending_order", true)
		w.setEnabled(t, "expiring_resource", true)
		w.detect(t)
		list = w.actions(t, tm.admin)
		if actionAbout(t, list, fresh.UUID) == nil || actionAbout(t, list, res) == nil || actionAbout(t, list, stale.UUID) != nil {
			t.Errorf("after a run with both providers enabled again: %v", titles(list))
		}
		wantField(t, w.get(t, "/api/user-action-providers/"+w.providerID(t, "pending_order")+"/"), "last_execution",
			w.clock.Now().Format(time.RFC3339))
	})
}
