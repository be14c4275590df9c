package actioning_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/events"
)

// envelope and identity fields every user.action event carries (compat
// §6.4), whatever the phase.
var everyPhase = []string{"type", "id", "createInstant", "tenantId", "action", "localizedAction", "actionId",
	"actioneeUserId", "actioneeId", "applicationIds", "linkedObjectId", "notifyUser", "emailedUser"}

// TestPhasesReachWebhooks takes, modifies and cancels temporal actions and
// takes an instantaneous one through the FusionAuth API, and checks what a
// webhook receives for each phase (compat §5, §6): the fields of each
// phase, the end phase within 2 s of the expiry, endEventSent, a modify
// moving the end to the new expiry, a cancel preventing the end, and the
// end following the action's sendEndEvent rather than broadcast, also for
// a soft-deleted definition.
func TestPhasesReachWebhooks(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		e.hook(rc.URL())
		alice, admin, carol := e.Users["alice"].String(), e.Users["admin"].String(), e.Users["carol"].String()
		silence := str(e.definition(map[string]any{"name": "Silence", "temporal": true, "userNotificationsEnabled": true,
			"localizedNames": map[string]string{"en": "Silenced", "de": "Stumm"}}), "id")
		survey := str(e.definition(map[string]any{"name": "Survey",
			"options": []map[string]any{{"name": "Bad", "localizedNames": map[string]string{"en": "Malbona"}}, {"name": "Good"}}}), "id")
		reason := str(e.create("/api/user-action-reason", "userActionReason", map[string]any{"userActionReason": map[string]any{
			"text": "Misconduct", "code": "c-123", "localizedTexts": map[string]string{"en": "Bad conduct"}}}), "id")
		app := str(e.create("/api/application", "application", map[string]any{"application": map[string]any{"name": "Forum"}}), "id")
		pause := str(e.definition(map[string]any{"name": "Pause", "temporal": true, "userNotificationsEnabled": true}), "id")
		noEnd := str(e.definition(map[string]any{"name": "Endless", "temporal": true, "sendEndEvent": false, "userNotificationsEnabled": true}), "id")

		// Temporal actions expiring in 3 s (from each take, as requests may
		// be slow): one modified at once, one cancelled at once, one on a
		// definition soft-deleted at once, one without sendEndEvent.
		temporal := func(def string, broadcast bool, comment string) (map[string]any, int64) {
			exp := ms(time.Now().Add(3 * time.Second))
			in := e.take(broadcast, map[string]any{"userActionId": def, "actioneeUserId": alice, "actionerUserId": admin,
				"comment": comment, "expiry": exp, "notifyUser": true, "reasonId": reason})
			return in, exp
		}
		modified, oldExpiry := temporal(silence, true, "first")
		// The new expiry is at least 3 s after the old one.
		newExpiry := ms(time.Now().Add(6 * time.Second))
		mod := obj(t, e.fa(http.MethodPut, "/api/user/action/"+str(modified, "id"), map[string]any{"broadcast": true,
			"action": map[string]any{"actionerUserId": carol, "comment": "second", "expiry": newExpiry}}).Want(t, http.StatusOK).Body)

		cancelled, cancelledExpiry := temporal(silence, true, "to cancel")
		before := ms(time.Now())
		cancel := obj(t, e.fa(http.MethodDelete, "/api/user/action/"+str(cancelled, "id"), map[string]any{"broadcast": true,
			"eventInfo": map[string]any{"userAgent": "moderation-bot", "ipAddress": "203.0.113.9"},
			"action":    map[string]any{"actionerUserId": carol, "comment": "cancelled"}}).Want(t, http.StatusOK).Body)
		after := ms(time.Now())

		// The quiet action is taken without broadcast, and its definition
		// is soft-deleted: its instances go on and still end (compat §3).
		quiet, quietExpiry := temporal(pause, false, "quiet")
		e.fa(http.MethodDelete, "/api/user-action/"+pause, nil).Want(t, http.StatusOK)
		// Without sendEndEvent there is no end event, and no endEventSent.
		silent, silentExpiry := temporal(noEnd, true, "no end")
		wantKeys(t, "take without sendEndEvent", silent, []string{"expiry"}, []string{"endEventSent"})

		// The take response (compat §5.3): no history, endEventSent false,
		// the reason by value, names localized for the actionee.
		if num(t, modified, "expiry") != oldExpiry || modified["endEventSent"] != false || str(modified, "localizedName") != "Silenced" ||
			str(modified, "reasonCode") != "c-123" || str(modified, "localizedReason") != "Bad conduct" || modified["emailUserOnEnd"] != false ||
			modified["notifyUserOnEnd"] != true {
			t.Errorf("take response %v", modified)
		}
		wantKeys(t, "take response", modified, []string{"id", "insertInstant", "applicationIds", "actionerUserId"}, []string{"history", "option"})

		if a := sub(t, mod, "action"); num(t, a, "expiry") != newExpiry || str(a, "comment") != "second" || str(a, "actionerUserId") != carol {
			t.Errorf("modify response %v", a)
		} else if items := sub(t, a, "history")["historyItems"].([]any); len(items) != 1 ||
			num(t, items[0].(map[string]any), "expiry") != oldExpiry || str(items[0].(map[string]any), "comment") != "first" ||
			str(items[0].(map[string]any), "actionerUserId") != admin ||
			num(t, items[0].(map[string]any), "createInstant") != num(t, modified, "insertInstant") {
			t.Errorf("modify history %v, want the replaced state, set at the take (%v)", items, modified["insertInstant"])
		}

		cancelAt := num(t, sub(t, cancel, "action"), "expiry")
		if cancelAt < before || cancelAt > after {
			t.Errorf("cancel set expiry %d, want the cancel instant in [%d, %d]", cancelAt, before, after)
		}
		if items, _ := sub(t, sub(t, cancel, "action"), "history")["historyItems"].([]any); len(items) != 1 ||
			num(t, items[0].(map[string]any), "expiry") != cancelledExpiry {
			t.Errorf("cancel history %v, want the replaced expiry %d", items, cancelledExpiry)
		}

		// Older Go clients name the actionee in the path.
		survey1 := e.create("/api/user/action/"+alice, "action", map[string]any{"broadcast": true, "action": map[string]any{
			"userActionId": survey, "actionerUserId": admin, "comment": "asked", "option": "Bad", "applicationIds": []string{app, app}}})
		if str(survey1, "actioneeUserId") != alice {
			t.Errorf("take by path: actionee %v, want %s", survey1["actioneeUserId"], alice)
		}
		wantKeys(t, "instantaneous take", survey1, []string{"option", "localizedOption"}, []string{"expiry", "endEventSent"})
		// Instantaneous actions cannot be modified or cancelled.
		wantEmpty(t, "modify an instantaneous action", e.fa(http.MethodPut, "/api/user/action/"+str(survey1, "id"),
			map[string]any{"action": map[string]any{"actionerUserId": admin, "expiry": newExpiry}}), http.StatusNotFound)
		wantEmpty(t, "cancel an instantaneous action", e.fa(http.MethodDelete, "/api/user/action/"+str(survey1, "id"),
			map[string]any{"action": map[string]any{"actionerUserId": admin}}), http.StatusNotFound)

		// start
		start := rc.wait(t, "start", of(str(modified, "id"), "start")).Event
		wantKeys(t, "start", start, append(everyPhase, "expiry", "localizedDuration", "actionerUserId", "actionerId", "comment", "info",
			"reason", "reasonCode", "localizedReason", "phase"), []string{"option", "localizedOption", "email"})
		if str(start, "type") != events.TypeUserAction || str(start, "tenantId") != events.DefaultTenantID.String() ||
			str(start, "action") != "Silence" || str(start, "localizedAction") != "Silenced" ||
			str(start, "actioneeUserId") != alice || str(start, "actioneeId") != alice || str(start, "linkedObjectId") != alice ||
			str(start, "actionerUserId") != admin || str(start, "actionerId") != admin || str(start, "comment") != "first" ||
			num(t, start, "expiry") != oldExpiry || start["notifyUser"] != true || start["emailedUser"] != false ||
			str(start, "reason") != "Misconduct" || str(start, "reasonCode") != "c-123" || str(start, "localizedReason") != "Bad conduct" ||
			!strings.HasSuffix(str(start, "localizedDuration"), "second") && !strings.HasSuffix(str(start, "localizedDuration"), "seconds") {
			t.Errorf("start event %v", start)
		}
		if str(sub(t, start, "info"), "ipAddress") == "" {
			t.Errorf("start event info %v: want the caller's ipAddress", start["info"])
		}
		if apps, _ := start["applicationIds"].([]any); apps == nil || len(apps) != 0 {
			t.Errorf("start applicationIds %v, want []", start["applicationIds"])
		}

		// modify
		m := rc.wait(t, "modify", of(str(modified, "id"), "modify")).Event
		wantKeys(t, "modify", m, append(everyPhase, "expiry", "localizedDuration", "info", "phase"), []string{"option", "email"})
		if num(t, m, "expiry") != newExpiry || str(m, "comment") != "second" || str(m, "actionerUserId") != carol || m["notifyUser"] != false {
			t.Errorf("modify event %v", m)
		}

		// cancel
		c := rc.wait(t, "cancel", of(str(cancelled, "id"), "cancel")).Event
		wantKeys(t, "cancel", c, append(everyPhase, "expiry", "info", "phase"), []string{"localizedDuration", "option"})
		if num(t, c, "expiry") != cancelAt || str(c, "comment") != "cancelled" || str(c, "actionerUserId") != carol {
			t.Errorf("cancel event %v", c)
		}
		if info := sub(t, c, "info"); str(info, "userAgent") != "moderation-bot" || str(info, "ipAddress") != "203.0.113.9" {
			t.Errorf("cancel event info %v, want the request's eventInfo", info)
		}

		// no phase
		s := rc.wait(t, "instantaneous", of(str(survey1, "id"), "-")).Event
		wantKeys(t, "instantaneous", s, append(everyPhase, "option", "localizedOption", "info", "comment"),
			[]string{"phase", "expiry", "localizedDuration"})
		if str(s, "option") != "Bad" || str(s, "localizedOption") != "Malbona" || str(s, "action") != "Survey" {
			t.Errorf("instantaneous event %v", s)
		}
		if apps, _ := s["applicationIds"].([]any); len(apps) != 1 || apps[0] != app {
			t.Errorf("instantaneous applicationIds %v, want [%s] (de-duplicated)", s["applicationIds"], app)
		}

		// end: without broadcast there is no start, but the action's
		// sendEndEvent still sends the end.
		endWithin := func(what string, got received, expiry int64) {
			t.Helper()
			at := ms(got.At)
			if at < expiry || at > expiry+2000 {
				t.Errorf("%s end arrived %d ms after the expiry, want within [0, 2000]", what, at-expiry)
			}
			ev := got.Event
			wantKeys(t, what+" end", ev, append(everyPhase, "expiry", "phase", "actionerUserId", "comment"), []string{"info", "localizedDuration", "option"})
			if num(t, ev, "expiry") != expiry {
				t.Errorf("%s end expiry %v, want %d", what, ev["expiry"], expiry)
			}
		}
		q := rc.wait(t, "quiet end", of(str(quiet, "id"), "end"))
		endWithin("quiet", q, quietExpiry)
		if got := rc.matching(of(str(quiet, "id"), "start")); len(got) != 0 {
			t.Errorf("a start without broadcast reached the webhook: %v", got[0].Event)
		}
		if str(q.Event, "comment") != "quiet" || str(q.Event, "actionerUserId") != admin || q.Event["notifyUser"] != true || str(q.Event, "action") != "Pause" {
			t.Errorf("quiet end %v: want the instance's comment, actioner and notifyUserOnEnd", q.Event)
		}

		// The modified action ends at its new expiry, not the old one.
		end := rc.wait(t, "modified end", of(str(modified, "id"), "end"))
		endWithin("modified", end, newExpiry)
		if str(end.Event, "comment") != "second" || str(end.Event, "actionerUserId") != carol || end.Event["notifyUser"] != false {
			t.Errorf("modified end %v: want the latest comment and actioner", end.Event)
		}
		if n := len(rc.matching(of(str(modified, "id"), "end"))); n != 1 {
			t.Errorf("%d end events for the modified action, want 1", n)
		}
		// Neither the cancelled action nor the one without sendEndEvent
		// ends, even 2 s after their expiries (usually gone by now).
		eventually(t, waitFor, "2 s past the last expiry", func() bool {
			return time.Now().UnixMilli() > max(cancelledExpiry, silentExpiry)+2000
		})
		if got := rc.matching(of(str(cancelled, "id"), "end")); len(got) != 0 {
			t.Errorf("a cancelled action ended: %v", got[0].Event)
		}
		rc.wait(t, "start without sendEndEvent", of(str(silent, "id"), "start"))
		if got := rc.matching(of(str(silent, "id"), "end")); len(got) != 0 {
			t.Errorf("an action without sendEndEvent sent an end: %v", got[0].Event)
		}

		// endEventSent follows.
		eventually(t, waitFor, "endEventSent on the modified action", func() bool { return e.instance(str(modified, "id"))["endEventSent"] == true })
		if got := e.instance(str(quiet, "id")); got["endEventSent"] != true {
			t.Errorf("quiet endEventSent %v, want true", got["endEventSent"])
		}
		if got := e.instance(str(cancelled, "id")); got["endEventSent"] != false || num(t, got, "expiry") != cancelAt {
			t.Errorf("cancelled action %v: want endEventSent false and the cancel instant as expiry", got)
		}
		if got := e.instance(str(silent, "id")); got["endEventSent"] != nil {
			t.Errorf("endEventSent %v without sendEndEvent, want it absent", got["endEventSent"])
		}
		// Nothing is active any more; all five are inactive.
		if l := e.instances(e.Users["alice"], "&active=true"); len(l) != 0 {
			t.Errorf("active actions %v, want none", l)
		}
		if l := e.instances(e.Users["alice"], "&active=false"); len(l) != 5 {
			t.Errorf("%d inactive actions, want 5", len(l))
		}
		// Instances keep their reason by value (compat §4).
		e.fa(http.MethodPut, "/api/user-action-reason/"+reason, map[string]any{"userActionReason": map[string]any{
			"text": "Changed", "code": "c-124"}}).Want(t, http.StatusOK)
		if got := e.instance(str(modified, "id")); str(got, "reason") != "Misconduct" || str(got, "reasonCode") != "c-123" {
			t.Errorf("after editing the reason: %v", got)
		}
		e.fa(http.MethodDelete, "/api/user-action-reason/"+reason, nil).Want(t, http.StatusOK)
		if got := e.instance(str(modified, "id")); str(got, "reason") != "Misconduct" || str(got, "localizedReason") != "Bad conduct" {
			t.Errorf("after deleting the reason: %v", got)
		}
		// The sweep finds nothing left to end.
		if n, err := e.App.Actioning.Sweep(context.Background()); err != nil || n != 0 {
			t.Errorf("Sweep = %d, %v; want 0, nil", n, err)
		}
	})
}

// TestForeverExpiry: the "never expires" instant that JavaScript sends
// (9223372036854776000, beyond int64) is accepted and echoed as 2^63-1,
// the event carries it without a localizedDuration, and no end is ever
// scheduled (compat §1, §6.4).
func TestForeverExpiry(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		e.hook(rc.URL())
		alice, admin := e.Users["alice"].String(), e.Users["admin"].String()
		ban := str(e.definition(map[string]any{"name": "Ban", "temporal": true}), "id")

		const js = "9223372036854776000"
		const forever = "9223372036854775807"
		for _, sent := range []string{js, forever, "9.223372036854776e18", "9223372036854775000"} {
			body := `{"broadcast": true, "action": {"userActionId": "` + ban + `", "actioneeUserId": "` + alice +
				`", "actionerUserId": "` + admin + `", "comment": "for ever", "expiry": ` + sent + `}}`
			r := e.fa(http.MethodPost, "/api/user/action", body).Want(t, http.StatusOK)
			if !strings.Contains(string(r.Body), `"expiry":`+forever) {
				t.Fatalf("expiry %s: response %s, want expiry %s", sent, r.Body, forever)
			}
			id := str(sub(t, obj(t, r.Body), "action"), "id")
			if got := e.fa(http.MethodGet, "/api/user/action/"+id, nil).Want(t, http.StatusOK); !strings.Contains(string(got.Body), `"expiry":`+forever) {
				t.Errorf("expiry %s: retrieve %s", sent, got.Body)
			}
			ev := rc.wait(t, "start", of(id, "start"))
			if n := num(t, ev.Event, "expiry"); n != 1<<63-1 {
				t.Errorf("expiry %s: event expiry %d", sent, n)
			}
			if !strings.Contains(string(ev.Raw), `"expiry":`+forever) {
				t.Errorf("expiry %s: event body %s", sent, ev.Raw)
			}
			wantKeys(t, "forever start", ev.Event, []string{"expiry"}, []string{"localizedDuration"})
		}
		list := e.instances(e.Users["alice"], "&active=true")
		if len(list) != 4 {
			t.Fatalf("%d active actions, want 4 that never expire", len(list))
		}

		// A modify to a finite expiry brings a duration back; one to
		// forever again drops it.
		id := str(list[0].(map[string]any), "id")
		finite := ms(time.Now().Add(3*time.Hour + time.Minute))
		e.fa(http.MethodPut, "/api/user/action/"+id, map[string]any{"broadcast": true,
			"action": map[string]any{"actionerUserId": admin, "expiry": finite, "comment": "3 hours"}}).Want(t, http.StatusOK)
		m := rc.wait(t, "finite modify", func(ev map[string]any) bool {
			return of(id, "modify")(ev) && str(ev, "comment") == "3 hours"
		}).Event
		if str(m, "localizedDuration") != "3 hours" {
			t.Errorf("modify to 3 hours: localizedDuration %q", str(m, "localizedDuration"))
		}
		r := e.fa(http.MethodPut, "/api/user/action/"+id, `{"broadcast": true, "action": {"actionerUserId": "`+admin+
			`", "expiry": `+js+`, "comment": "back to forever"}}`).Want(t, http.StatusOK)
		if !strings.Contains(string(r.Body), `"expiry":`+forever) {
			t.Errorf("modify to forever: %s", r.Body)
		}
		m = rc.wait(t, "forever modify", func(ev map[string]any) bool {
			return of(id, "modify")(ev) && str(ev, "comment") == "back to forever"
		}).Event
		wantKeys(t, "forever modify", m, []string{"expiry"}, []string{"localizedDuration"})

		// Only the finite expiry ever had an end job; it is now a no-op.
		var expiries, created []int64
		for _, it := range sub(t, e.instance(id), "history")["historyItems"].([]any) {
			expiries = append(expiries, num(t, it.(map[string]any), "expiry"))
			created = append(created, num(t, it.(map[string]any), "createInstant"))
		}
		if !slices.Equal(expiries, []int64{1<<63 - 1, finite}) {
			t.Errorf("history expiries %v, want [forever, %d]", expiries, finite)
		}
		// Each item's createInstant is when its state was set: the take,
		// then the first modify.
		if len(created) != 2 || created[0] != num(t, list[0].(map[string]any), "insertInstant") || created[1] < created[0] {
			t.Errorf("history createInstants %v, want [the take's insertInstant, the first modify's]", created)
		}
		if n := e.jobsFor("user_action_end", id); n != 1 {
			t.Errorf("%d end jobs, want 1 (the finite expiry's)", n)
		}
	})
}

// TestSweepEndsLostJobs: when an instance's end job is lost, the sweep
// (the leader's minute backstop, switched off in these tests and run here
// by hand) finds the expired, unended instance and its end follows.
func TestSweepEndsLostJobs(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		e.hook(rc.URL())
		def := str(e.definition(map[string]any{"name": "Timeout", "temporal": true}), "id")
		exp := ms(time.Now().Add(1500 * time.Millisecond))
		id := str(e.take(true, map[string]any{"userActionId": def, "actioneeUserId": e.Users["alice"].String(),
			"actionerUserId": e.Users["admin"].String(), "expiry": exp}), "id")
		// Lose the end job: delete it whenever it is not running.
		eventually(t, waitFor, "the end job to be deleted", func() bool {
			if err := e.App.DB.InTx(context.Background(), func(tx *db.Tx) error {
				_, err := tx.Exec(context.Background(), `DELETE FROM river_job WHERE kind = 'user_action_end' AND state <> 'running'`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return e.jobsFor("user_action_end", id) == 0
		})
		eventually(t, waitFor, "the expiry to be 1.5 s gone", func() bool { return time.Now().UnixMilli() > exp+1500 })
		if got := rc.matching(of(id, "end")); len(got) != 0 || e.instance(id)["endEventSent"] != false {
			t.Fatalf("the end came without its job: %v", got)
		}
		if n, err := e.App.Actioning.Sweep(context.Background()); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1, nil", n, err)
		}
		end := rc.wait(t, "swept end", of(id, "end")).Event
		if num(t, end, "expiry") != exp {
			t.Errorf("swept end expiry %v, want %d", end["expiry"], exp)
		}
		eventually(t, waitFor, "endEventSent", func() bool { return e.instance(id)["endEventSent"] == true })
		if n, err := e.App.Actioning.Sweep(context.Background()); err != nil || n != 0 {
			t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
		}
		if got := rc.matching(of(id, "end")); len(got) != 1 {
			t.Errorf("%d end events, want 1", len(got))
		}
	})
}
