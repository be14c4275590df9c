package actioning_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/events"
)

// wantVeto fails unless r is FusionAuth's 504 for a change the
// transactional webhooks refused, naming the failed webhook (heed's
// generalErrors[0].data, compat §9 #166).
func wantVeto(t testing.TB, what string, r *apptest.Response, failed *events.Webhook) {
	t.Helper()
	if r.Status != http.StatusGatewayTimeout {
		t.Fatalf("%s: status %d, want 504; body %s", what, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var e faError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("%s: decode %s: %v", what, r.Body, err)
	}
	if len(e.GeneralErrors) != 1 || e.GeneralErrors[0].Code != "[WebhookTransactionException]" ||
		e.GeneralErrors[0].Message != events.MsgWebhookTransaction || len(e.FieldErrors) != 0 {
		t.Fatalf("%s: body %s", what, r.Body)
	}
	hooks, _ := e.GeneralErrors[0].Data["webhooks"].([]any)
	if len(hooks) != 1 {
		t.Fatalf("%s: data %v, want the one failed webhook", what, e.GeneralErrors[0].Data)
	}
	h := hooks[0].(map[string]any)
	if h["webhookId"] != failed.ID.String() || h["statusCode"] != float64(http.StatusInternalServerError) {
		t.Errorf("%s: failed webhook %v, want %s with 500", what, h, failed.ID)
	}
}

// setLevel PATCHes the default tenant's user.action transaction level.
func (e *env) setLevel(t *testing.T, level events.TransactionType) {
	t.Helper()
	r := e.fa(http.MethodPatch, "/api/tenant/"+events.DefaultTenantID.String(), map[string]any{"tenant": map[string]any{
		"eventConfiguration": map[string]any{"events": map[string]any{
			events.TypeUserAction: map[string]any{"enabled": true, "transactionType": string(level)}}}}}).Want(t, http.StatusOK)
	evs := sub(t, sub(t, sub(t, obj(t, r.Body), "tenant"), "eventConfiguration"), "events")
	if got := sub(t, evs, events.TypeUserAction); str(got, "transactionType") != string(level) || got["enabled"] != true {
		t.Fatalf("tenant user.action configuration %v, want %s", got, level)
	}
	if other := sub(t, evs, events.TypeOrderStateChanged); other["enabled"] != true {
		t.Fatalf("PATCH lost the other event types: %v", evs)
	}
}

// failedEvents returns the Webhook Event Log's Failed user.action events
// whose payload contains s.
func (e *env) failedEvents(t *testing.T, s string) []map[string]any {
	t.Helper()
	r := e.fa(http.MethodPost, "/api/system/webhook-event-log/search", map[string]any{"search": map[string]any{
		"eventResult": "Failed", "eventType": events.TypeUserAction, "event": s, "numberOfResults": 100}}).Want(t, http.StatusOK)
	var out struct {
		WebhookEventLogs []map[string]any `json:"webhookEventLogs"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.WebhookEventLogs
}

// TestTransactionalVeto: under a transactional level that the webhooks do
// not meet, taking, modifying and cancelling an action answer 504 and
// leave no trace (no instance, no change, no login prevention, no email,
// no job), while the Webhook Event Log keeps the Failed event; a vetoed
// end phase is retried and commits nothing until accepted; the
// definition's own level applies when the tenant's is None (compat §6.3,
// §7.4, §9 #2287/#2281).
func TestTransactionalVeto(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		okRc, badRc := newReceiver(t), newReceiver(t)
		badRc.status.Store(http.StatusInternalServerError)
		okHook := e.hook(okRc.URL())
		bad := e.hook(badRc.URL())
		bob, carol, admin := e.Users["bob"], e.Users["carol"], e.Users["admin"].String()
		restrict := str(e.definition(map[string]any{"name": "Restrict", "temporal": true, "preventLogin": true, "userEmailingEnabled": true,
			"startEmailTemplateId": e.template("start"), "modifyEmailTemplateId": e.template("modify"),
			"cancelEmailTemplateId": e.template("cancel"), "endEmailTemplateId": e.template("end")}), "id")
		hour := func() int64 { return ms(time.Now().Add(time.Hour + time.Minute)) }
		takeBody := func(user, comment string) map[string]any {
			return map[string]any{"broadcast": true, "action": map[string]any{"userActionId": restrict, "actioneeUserId": user,
				"actionerUserId": admin, "comment": comment, "emailUser": true, "expiry": hour()}}
		}

		// Under the tenant's None a failing webhook changes nothing.
		x := e.take(true, sub(t, takeBody(bob.String(), "committed"), "action"))
		if m := e.SMTP.Next(t, waitFor); m.Subject != "[start] Restrict: committed" {
			t.Fatalf("first email %q", m.Subject)
		}
		e.waldur(http.MethodGet, "/api/users/me/", "demo-bob-token", nil).Want(t, http.StatusForbidden)

		e.setLevel(t, events.TxAbsoluteMajority)
		emailJobs, endJobs, deliveries := e.jobs("user_action_email"), e.jobs("user_action_end"), e.jobs("webhook_delivery")
		rows := e.count(`SELECT COUNT(*) FROM user_action_instances`)
		history := e.count(`SELECT COUNT(*) FROM user_action_history`)
		unchanged := func(what string) {
			t.Helper()
			if n := e.jobs("user_action_email"); n != emailJobs {
				t.Errorf("%s: %d email jobs, want %d", what, n, emailJobs)
			}
			if n := e.jobs("user_action_end"); n != endJobs {
				t.Errorf("%s: %d end jobs, want %d", what, n, endJobs)
			}
			// A level not met retries nothing (compat §7.4).
			if n := e.jobs("webhook_delivery"); n != deliveries {
				t.Errorf("%s: %d delivery jobs, want %d", what, n, deliveries)
			}
			if n := e.count(`SELECT COUNT(*) FROM user_action_instances`); n != rows {
				t.Errorf("%s: %d instances, want %d", what, n, rows)
			}
			if n := e.count(`SELECT COUNT(*) FROM user_action_history`); n != history {
				t.Errorf("%s: %d history rows, want %d", what, n, history)
			}
		}

		// take, vetoed
		wantVeto(t, "take", e.fa(http.MethodPost, "/api/user/action", takeBody(carol.String(), "vetoed")), bad)
		unchanged("vetoed take")
		if l := e.instances(carol, ""); len(l) != 0 {
			t.Errorf("carol's actions after the veto: %v", l)
		}
		e.waldur(http.MethodGet, "/api/users/me/", "demo-carol-token", nil).Want(t, http.StatusOK)
		e.waldur(http.MethodPost, "/api-auth/password/", "", map[string]string{"username": "carol", "password": "demo-carol-password"}).
			Want(t, http.StatusOK)
		// Both webhooks were called inside the transaction; the log keeps
		// the Failed event after the rollback.
		okRc.wait(t, "vetoed take", func(ev map[string]any) bool { return str(ev, "comment") == "vetoed" })
		eventually(t, waitFor, "the vetoed take's Failed event", func() bool { return len(e.failedEvents(t, "vetoed")) == 1 })
		logged := e.failedEvents(t, "vetoed")[0]
		if ev := sub(t, sub(t, logged, "event"), "event"); str(ev, "actioneeUserId") != carol.String() || str(ev, "phase") != "start" {
			t.Errorf("Failed event %v", ev)
		}
		if str(logged, "transactionType") != string(events.TxAbsoluteMajority) {
			t.Errorf("Failed event level %v", logged["transactionType"])
		}

		// modify and cancel, vetoed: the instance is as it was.
		before := e.instance(str(x, "id"))
		wantVeto(t, "modify", e.fa(http.MethodPut, "/api/user/action/"+str(x, "id"), map[string]any{"broadcast": true,
			"action": map[string]any{"actionerUserId": admin, "comment": "vetoed modify", "emailUser": true, "expiry": hour() + 3_600_000}}), bad)
		wantVeto(t, "cancel", e.fa(http.MethodDelete, "/api/user/action/"+str(x, "id"), map[string]any{"broadcast": true,
			"action": map[string]any{"actionerUserId": admin, "comment": "vetoed cancel", "emailUser": true}}), bad)
		unchanged("vetoed modify and cancel")
		after := e.instance(str(x, "id"))
		if b, a := jsonOf(t, before), jsonOf(t, after); b != a {
			t.Errorf("the instance changed:\n before %s\n after  %s", b, a)
		}
		if l := e.instances(bob, "&active=true"); !containsID(l, str(x, "id")) {
			t.Errorf("bob's active actions %v lack the one whose cancel was vetoed", l)
		}
		if r := e.waldur(http.MethodGet, "/api/users/me/", "demo-bob-token", nil); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "Restrict") {
			t.Errorf("bob after the vetoed cancel: %d %s, want 403 naming Restrict", r.Status, r.Body)
		}
		eventually(t, waitFor, "the vetoed modify and cancel's Failed events", func() bool {
			return len(e.failedEvents(t, "vetoed modify")) == 1 && len(e.failedEvents(t, "vetoed cancel")) == 1
		})

		// Positive control: with only the healthy webhook the level is met;
		// the take commits and its email is the first to arrive since the
		// first one, so the vetoed emails were never sent.
		if err := e.App.Events.DeleteWebhook(t.Context(), bad.ID); err != nil {
			t.Fatal(err)
		}
		e.take(true, sub(t, takeBody(carol.String(), "after"), "action"))
		if m := e.SMTP.Next(t, waitFor); m.Subject != "[start] Restrict: after" {
			t.Errorf("email after the vetoes: %q, want the committed take's", m.Subject)
		}
		if extra := e.SMTP.Pending(); len(extra) != 0 {
			t.Errorf("unexpected emails: %v", subjects(extra))
		}
		e.waldur(http.MethodGet, "/api/users/me/", "demo-carol-token", nil).Want(t, http.StatusForbidden)

		// end, vetoed: the end job fails and retries; until a webhook
		// accepts the end, nothing of it is committed (no endEventSent, no
		// end email).
		y := str(e.take(true, map[string]any{"userActionId": restrict, "actioneeUserId": bob.String(), "actionerUserId": admin,
			"comment": "ending", "emailUser": true, "expiry": ms(time.Now().Add(2 * time.Second))}), "id")
		if m := e.SMTP.Next(t, waitFor); m.Subject != "[start] Restrict: ending" {
			t.Errorf("email %q, want the short action's start", m.Subject)
		}
		okRc.status.Store(http.StatusInternalServerError)
		emailJobs = e.jobs("user_action_email")
		okRc.wait(t, "vetoed end", of(y, "end"))
		if in := e.instance(y); in["endEventSent"] != false {
			t.Errorf("endEventSent %v after a vetoed end, want false", in["endEventSent"])
		}
		if n := e.jobs("user_action_email"); n != emailJobs {
			t.Errorf("%d email jobs after a vetoed end, want %d", n, emailJobs)
		}
		okRc.status.Store(http.StatusOK)
		eventually(t, waitFor, "the end's retry to commit", func() bool { return e.instance(y)["endEventSent"] == true })
		if m := e.SMTP.Next(t, waitFor); m.Subject != "[end] Restrict: ending" {
			t.Errorf("email %q, want the end", m.Subject)
		}
		if ends := okRc.matching(of(y, "end")); len(ends) < 2 {
			t.Errorf("%d end events, want the vetoed one and the committed one", len(ends))
		}
		if extra := e.SMTP.Pending(); len(extra) != 0 {
			t.Errorf("unexpected emails: %v", subjects(extra))
		}

		// The definition's own level applies when the tenant says None.
		e.setLevel(t, events.TxNone)
		okRc.status.Store(http.StatusInternalServerError)
		audit := str(e.definition(map[string]any{"name": "Audit", "transactionType": "Any"}), "id")
		note := str(e.definition(map[string]any{"name": "Note"}), "id")
		instant := func(def, comment string) *apptest.Response {
			return e.fa(http.MethodPost, "/api/user/action", map[string]any{"broadcast": true, "action": map[string]any{
				"userActionId": def, "actioneeUserId": e.Users["alice"].String(), "actionerUserId": admin, "comment": comment}})
		}
		wantVeto(t, "take of an Any action", instant(audit, "audit vetoed"), okHook)
		instant(note, "note under None").Want(t, http.StatusOK)
		okRc.status.Store(http.StatusOK)
		instant(audit, "audit committed").Want(t, http.StatusOK)
		var comments []string
		for _, in := range e.instances(e.Users["alice"], "") {
			comments = append(comments, str(in.(map[string]any), "comment"))
		}
		if strings.Join(comments, ",") != "note under None,audit committed" {
			t.Errorf("alice's actions %v, want the Note and the committed Audit", comments)
		}
	})
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containsID(l []any, id string) bool {
	for _, in := range l {
		if str(in.(map[string]any), "id") == id {
			return true
		}
	}
	return false
}
