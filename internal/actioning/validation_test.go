package actioning_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/apptest"
)

// snapshot is everything a bad request could change, as the API lists it
// (instants included, so an update shows) and as row counts.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	paths := []string{"/api/user-action", "/api/user-action?inactive=true", "/api/user-action-reason", "/api/application",
		"/api/application?inactive=true", "/api/email/template", "/api/tenant/7c1f3b0e-5d4a-4c86-9a3e-2b6f0d8e9a01"}
	for _, u := range []string{"admin", "alice", "bob", "carol"} {
		paths = append(paths, "/api/user/action?userId="+e.Users[u].String(), "/api/user/"+e.Users[u].String())
	}
	for _, p := range paths {
		b.WriteString(p + " ")
		b.Write(e.fa(http.MethodGet, p, nil).Want(t, http.StatusOK).Body)
		b.WriteString("\n")
	}
	for _, table := range []string{"user_action_definitions", "user_action_reasons", "user_action_instances", "user_action_history",
		"applications", "email_templates", "river_job", "webhook_events", "tenants", "users", "tokens"} {
		fmt.Fprintf(&b, "%s %d\n", table, e.count(`SELECT COUNT(*) FROM `+table))
	}
	return b.String()
}

// badRequest is one request heed must refuse without changing anything.
type badRequest struct {
	method, path string
	body         any
	// codes are the FusionAuth codes of the 400 (sorted); empty means
	// status with an empty body.
	codes  []string
	status int
}

// TestBadInput sends bad requests to every FusionAuth endpoint of the
// package — user actions, reasons, actioning, applications, email
// templates — and checks the FusionAuth-shaped answer (400 with the
// reference's [type]path codes, 401 and 404 with empty bodies), and that
// none of them changes anything (compat §1, §3, §4, §5.4).
func TestBadInput(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		admin, alice, bob := e.Users["admin"].String(), e.Users["alice"].String(), e.Users["bob"].String()
		tmpl := e.template("start")
		hold := str(e.definition(map[string]any{"name": "Hold", "temporal": true}), "id")
		poll := str(e.definition(map[string]any{"name": "Poll", "options": []map[string]any{{"name": "A"}, {"name": "B"}}}), "id")
		old := str(e.definition(map[string]any{"name": "Old", "temporal": true}), "id")
		e.fa(http.MethodDelete, "/api/user-action/"+old, nil).Want(t, http.StatusOK)
		reason := str(e.create("/api/user-action-reason", "userActionReason", map[string]any{"userActionReason": map[string]any{
			"text": "Taken", "code": "taken"}}), "id")
		other := str(e.create("/api/user-action-reason", "userActionReason", map[string]any{"userActionReason": map[string]any{
			"text": "Other", "code": "other"}}), "id")
		app := str(e.create("/api/application", "application", map[string]any{"application": map[string]any{"name": "App"}}), "id")
		hour := ms(time.Now().Add(time.Hour))
		active := str(e.take(false, map[string]any{"userActionId": hold, "actioneeUserId": alice, "actionerUserId": admin, "expiry": hour}), "id")
		instant := str(e.take(false, map[string]any{"userActionId": poll, "actioneeUserId": alice, "actionerUserId": admin, "option": "A"}), "id")
		cancelled := str(e.take(false, map[string]any{"userActionId": hold, "actioneeUserId": alice, "actionerUserId": admin, "expiry": hour}), "id")
		e.fa(http.MethodDelete, "/api/user/action/"+cancelled, map[string]any{"action": map[string]any{"actionerUserId": admin}}).Want(t, http.StatusOK)
		unknown := uuid.NewString()

		ua := func(f map[string]any) map[string]any { return map[string]any{"userAction": f} }
		reasonBody := func(f map[string]any) map[string]any { return map[string]any{"userActionReason": f} }
		act := func(f map[string]any) map[string]any { return map[string]any{"action": f} }
		take := func(def string, f map[string]any) map[string]any {
			a := map[string]any{"userActionId": def, "actioneeUserId": alice, "actionerUserId": admin}
			for k, v := range f {
				a[k] = v
			}
			return act(a)
		}
		appBody := func(f map[string]any) map[string]any { return map[string]any{"application": f} }
		tmplBody := func(f map[string]any) map[string]any { return map[string]any{"emailTemplate": f} }
		c := func(codes ...string) []string { slices.Sort(codes); return codes }
		P, G, U, D, X := http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch

		cases := []badRequest{
			// user actions
			{P, "/api/user-action", map[string]any{}, c("[missing]userAction"), 0},
			{P, "/api/user-action", ua(map[string]any{}), c("[blank]userAction.name"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "  "}), c("[blank]userAction.name"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": strings.Repeat("n", 192)}), c("[tooLong]userAction.name"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "hOLD"}), c("[duplicate]userAction.name"), 0},
			{P, "/api/user-action/" + hold, ua(map[string]any{"name": "Fresh"}), c("[duplicate]userActionId"), 0},
			{P, "/api/user-action/not-a-uuid", ua(map[string]any{"name": "Fresh"}), c("[invalid]userActionId"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "preventLogin": true}), c("[invalid]userAction.preventLogin"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "temporal": true, "options": []map[string]any{{"name": "x"}}}),
				c("[invalid]userAction.options"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "options": []map[string]any{{"name": ""}, {"name": "x"}, {"name": "X"}}}),
				c("[blank]userAction.options[0].name", "[duplicate]userAction.options[2].name"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "userEmailingEnabled": true}), c("[missing]userAction.startEmailTemplateId"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "temporal": true, "userEmailingEnabled": true, "startEmailTemplateId": tmpl}),
				c("[missing]userAction.modifyEmailTemplateId", "[missing]userAction.cancelEmailTemplateId", "[missing]userAction.endEmailTemplateId"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "startEmailTemplateId": unknown}), c("[invalid]userAction.startEmailTemplateId"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "endEmailTemplateId": "nope"}), c("[invalid]userAction.endEmailTemplateId"), 0},
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh", "transactionType": "All"}), c("[invalid]userAction.transactionType"), 0},
			{P, "/api/user-action", `{"userAction": {"name": "Fresh"`, c("[invalidJSON]"), 0},
			{U, "/api/user-action/" + hold, map[string]any{}, c("[missing]userAction"), 0},
			{U, "/api/user-action/" + hold, ua(map[string]any{"name": ""}), c("[blank]userAction.name"), 0},
			{U, "/api/user-action/" + hold, ua(map[string]any{"name": "poll", "temporal": true}), c("[duplicate]userAction.name"), 0},
			{X, "/api/user-action/" + poll, ua(map[string]any{"preventLogin": true}), c("[invalid]userAction.preventLogin"), 0},
			{X, "/api/user-action/" + poll, ua(map[string]any{"temporal": true}), c("[invalid]userAction.options"), 0},
			{X, "/api/user-action/" + hold, ua(map[string]any{"userEmailingEnabled": true}), c("[missing]userAction.startEmailTemplateId",
				"[missing]userAction.modifyEmailTemplateId", "[missing]userAction.cancelEmailTemplateId", "[missing]userAction.endEmailTemplateId"), 0},
			{G, "/api/user-action/" + unknown, nil, nil, http.StatusNotFound},
			{G, "/api/user-action/not-a-uuid", nil, nil, http.StatusNotFound},
			{U, "/api/user-action/" + unknown, ua(map[string]any{"name": "Fresh"}), nil, http.StatusNotFound},
			{U, "/api/user-action/" + unknown + "?reactivate=true", nil, nil, http.StatusNotFound},
			{X, "/api/user-action/" + unknown, ua(map[string]any{"name": "Fresh"}), nil, http.StatusNotFound},
			{D, "/api/user-action/" + unknown, nil, nil, http.StatusNotFound},
			{D, "/api/user-action/" + unknown + "?hardDelete=true", nil, nil, http.StatusNotFound},

			// reasons
			{P, "/api/user-action-reason", map[string]any{}, c("[missing]userActionReason"), 0},
			{P, "/api/user-action-reason", reasonBody(map[string]any{}), c("[blank]userActionReason.code", "[blank]userActionReason.text"), 0},
			{P, "/api/user-action-reason", reasonBody(map[string]any{"text": "t", "code": " "}), c("[blank]userActionReason.code"), 0},
			{P, "/api/user-action-reason", reasonBody(map[string]any{"text": "t", "code": "taken"}), c("[duplicate]userActionReason.code"), 0},
			{P, "/api/user-action-reason", reasonBody(map[string]any{"text": "t", "code": strings.Repeat("c", 256)}), c("[tooLong]userActionReason.code"), 0},
			{P, "/api/user-action-reason", reasonBody(map[string]any{"text": strings.Repeat("t", 256), "code": "long"}), c("[tooLong]userActionReason.text"), 0},
			{P, "/api/user-action-reason/" + reason, reasonBody(map[string]any{"text": "t", "code": "fresh"}), c("[duplicate]userActionReasonId"), 0},
			{U, "/api/user-action-reason/" + other, reasonBody(map[string]any{"text": "Other", "code": "taken"}), c("[duplicate]userActionReason.code"), 0},
			{U, "/api/user-action-reason/" + other, map[string]any{}, c("[missing]userActionReason"), 0},
			{X, "/api/user-action-reason/" + other, reasonBody(map[string]any{"code": ""}), c("[blank]userActionReason.code"), 0},
			{G, "/api/user-action-reason/" + unknown, nil, nil, http.StatusNotFound},
			{U, "/api/user-action-reason/" + unknown, reasonBody(map[string]any{"text": "t", "code": "fresh"}), nil, http.StatusNotFound},
			{X, "/api/user-action-reason/" + unknown, reasonBody(map[string]any{"text": "t"}), nil, http.StatusNotFound},
			{D, "/api/user-action-reason/" + unknown, nil, nil, http.StatusNotFound},

			// actioning: take
			{P, "/api/user/action", map[string]any{}, c("[missing]action"), 0},
			{P, "/api/user/action", map[string]any{"broadcast": true}, c("[missing]action"), 0},
			{P, "/api/user/action", act(map[string]any{}), c("[missing]action.userActionId", "[missing]action.actioneeUserId", "[missing]action.actionerUserId"), 0},
			{P, "/api/user/action", take(unknown, map[string]any{"expiry": hour}), c("[invalid]action.userActionId"), 0},
			{P, "/api/user/action", take("x", map[string]any{"expiry": hour}), c("[invalid]action.userActionId"), 0},
			{P, "/api/user/action", take(old, map[string]any{"expiry": hour}), c("[invalid]action.userActionId"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "actioneeUserId": unknown, "actionerUserId": unknown}),
				c("[invalid]action.actioneeUserId", "[invalid]action.actionerUserId"), 0},
			{P, "/api/user/action", take(hold, nil), c("[missing]action.expiry"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": ms(time.Now().Add(-time.Minute))}), c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": -5}), c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": 1.5e12 + 0.5}), c("[invalid]action.expiry"), 0},
			// After year 9999 and short of forever: no schedule could hold its end.
			{P, "/api/user/action", take(hold, map[string]any{"expiry": actioning.MaxExpiry + 1}), c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": int64(1) << 62}), c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "option": "A"}), c("[invalid]action.option"), 0},
			{P, "/api/user/action", take(poll, map[string]any{"expiry": hour}), c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", take(poll, map[string]any{"option": "C"}), c("[invalid]action.option"), 0},
			{P, "/api/user/action", take(poll, map[string]any{"option": "a"}), c("[invalid]action.option"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "notifyUser": true}), c("[invalid]action.notifyUser"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "emailUser": true}), c("[invalid]action.emailUser"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "reasonId": unknown}), c("[invalid]action.reasonId"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "applicationIds": []string{app, unknown}}), c("[invalid]action.applicationIds"), 0},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour, "applicationIds": []string{"x"}}), c("[invalid]action.applicationIds"), 0},
			{P, "/api/user/action/" + bob, take(hold, map[string]any{"expiry": hour}), c("[invalid]action.actioneeUserId"), 0},
			{P, "/api/user/action", `{"action": {"userActionId": "` + hold + `", "actioneeUserId": "` + alice + `", "actionerUserId": "` + admin +
				`", "expiry": "soon"}}`, c("[invalid]action.expiry"), 0},
			{P, "/api/user/action", `{"action": null}`, c("[missing]action"), 0},
			{P, "/api/user/action", `[]`, c("[invalidJSON]"), 0},
			// actioning: retrieve
			{G, "/api/user/action", nil, c("[missing]userId"), 0},
			{G, "/api/user/action?userId=undefined", nil, c("[missing]userId"), 0},
			{G, "/api/user/action?userId=" + alice + "&active=true&preventingLogin=true", nil, c("[invalid]preventingLogin"), 0},
			{G, "/api/user/action?userId=" + alice + "&active=false&preventingLogin=true", nil, c("[invalid]preventingLogin"), 0},
			{G, "/api/user/action?userId=" + alice + "&active=perhaps", nil, c("[invalid]active"), 0},
			{G, "/api/user/action?userId=" + unknown, nil, nil, http.StatusNotFound},
			{G, "/api/user/action?userId=not-a-uuid", nil, nil, http.StatusNotFound},
			{G, "/api/user/action/" + unknown, nil, nil, http.StatusNotFound},
			// actioning: modify and cancel
			{U, "/api/user/action/" + active, map[string]any{}, c("[missing]action"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin}), c("[missing]action.expiry"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"expiry": hour + 1000}), c("[missing]action.actionerUserId"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": unknown, "expiry": hour + 1000}), c("[invalid]action.actionerUserId"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "expiry": ms(time.Now().Add(-time.Second))}), c("[invalid]action.expiry"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "expiry": actioning.MaxExpiry + 1}), c("[invalid]action.expiry"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "expiry": hour + 1000, "emailUser": true}), c("[invalid]action.emailUser"), 0},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "expiry": hour + 1000, "notifyUser": true}), c("[invalid]action.notifyUser"), 0},
			{D, "/api/user/action/" + active, act(map[string]any{}), c("[missing]action.actionerUserId"), 0},
			{D, "/api/user/action/" + active, map[string]any{}, c("[missing]action"), 0},
			{D, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "emailUser": true}), c("[invalid]action.emailUser"), 0},
			{U, "/api/user/action/" + unknown, act(map[string]any{"actionerUserId": admin, "expiry": hour}), nil, http.StatusNotFound},
			{U, "/api/user/action/not-a-uuid", act(map[string]any{"actionerUserId": admin, "expiry": hour}), nil, http.StatusNotFound},
			{U, "/api/user/action/" + instant, act(map[string]any{"actionerUserId": admin, "expiry": hour}), nil, http.StatusNotFound},
			{U, "/api/user/action/" + cancelled, act(map[string]any{"actionerUserId": admin, "expiry": hour}), nil, http.StatusNotFound},
			{D, "/api/user/action/" + unknown, act(map[string]any{"actionerUserId": admin}), nil, http.StatusNotFound},
			{D, "/api/user/action/" + instant, act(map[string]any{"actionerUserId": admin}), nil, http.StatusNotFound},
			{D, "/api/user/action/" + cancelled, act(map[string]any{"actionerUserId": admin}), nil, http.StatusNotFound},

			// applications
			{P, "/api/application", map[string]any{}, c("[missing]application"), 0},
			{P, "/api/application", appBody(map[string]any{}), c("[blank]application.name"), 0},
			{P, "/api/application", appBody(map[string]any{"name": "A2", "tenantId": unknown}), c("[invalid]application.tenantId"), 0},
			{P, "/api/application", appBody(map[string]any{"name": "A2", "tenantId": "x"}), c("[invalid]application.tenantId"), 0},
			{P, "/api/application/" + app, appBody(map[string]any{"name": "A2"}), c("[duplicate]applicationId"), 0},
			{U, "/api/application/" + app, appBody(map[string]any{"name": " "}), c("[blank]application.name"), 0},
			{U, "/api/application/" + app, map[string]any{}, c("[missing]application"), 0},
			{X, "/api/application/" + app, appBody(map[string]any{"name": ""}), c("[blank]application.name"), 0},
			{G, "/api/application/" + unknown, nil, nil, http.StatusNotFound},
			{U, "/api/application/" + unknown, appBody(map[string]any{"name": "A2"}), nil, http.StatusNotFound},
			{U, "/api/application/" + unknown + "?reactivate=true", nil, nil, http.StatusNotFound},
			{X, "/api/application/" + unknown, appBody(map[string]any{"name": "A2"}), nil, http.StatusNotFound},
			{D, "/api/application/" + unknown, nil, nil, http.StatusNotFound},
			{D, "/api/application/" + unknown + "?hardDelete=true", nil, nil, http.StatusNotFound},

			// email templates
			{P, "/api/email/template", map[string]any{}, c("[missing]emailTemplate"), 0},
			{P, "/api/email/template", tmplBody(map[string]any{}),
				c("[blank]emailTemplate.name", "[blank]emailTemplate.defaultSubject", "[blank]emailTemplate.defaultTextTemplate"), 0},
			{P, "/api/email/template", tmplBody(map[string]any{"name": "T", "defaultSubject": "{{.Broken", "defaultTextTemplate": "x"}),
				c("[invalid]emailTemplate.defaultSubject"), 0},
			{P, "/api/email/template", tmplBody(map[string]any{"name": "T", "defaultSubject": "s", "defaultHtmlTemplate": "{{if}}"}),
				c("[invalid]emailTemplate.defaultHtmlTemplate"), 0},
			{P, "/api/email/template/" + tmpl, tmplBody(map[string]any{"name": "T", "defaultSubject": "s", "defaultTextTemplate": "x"}),
				c("[duplicate]emailTemplateId"), 0},
			{U, "/api/email/template/" + tmpl, tmplBody(map[string]any{"name": "", "defaultSubject": "s", "defaultTextTemplate": "x"}),
				c("[blank]emailTemplate.name"), 0},
			{X, "/api/email/template/" + tmpl, tmplBody(map[string]any{"defaultSubject": " "}), c("[blank]emailTemplate.defaultSubject"), 0},
			{G, "/api/email/template/" + unknown, nil, nil, http.StatusNotFound},
			{U, "/api/email/template/" + unknown, tmplBody(map[string]any{"name": "T", "defaultSubject": "s", "defaultTextTemplate": "x"}), nil, http.StatusNotFound},
			{X, "/api/email/template/" + unknown, tmplBody(map[string]any{"name": "T"}), nil, http.StatusNotFound},
			{D, "/api/email/template/" + unknown, nil, nil, http.StatusNotFound},
		}
		// A template an action uses cannot go (heed's [inUse]).
		e.definition(map[string]any{"name": "Uses template", "startEmailTemplateId": tmpl})
		cases = append(cases, badRequest{D, "/api/email/template/" + tmpl, nil, c("[inUse]emailTemplateId"), 0})

		// 401 with an empty body: no key, a non-staff user's token, an
		// unknown key; with valid bodies, so only the key is wrong.
		good := []struct {
			method, path string
			body         any
		}{
			{P, "/api/user-action", ua(map[string]any{"name": "Fresh"})},
			{G, "/api/user-action", nil},
			{G, "/api/user-action/" + hold, nil},
			{U, "/api/user-action/" + hold, ua(map[string]any{"name": "Hold", "temporal": true})},
			{X, "/api/user-action/" + hold, ua(map[string]any{"name": "Held"})},
			{D, "/api/user-action/" + hold + "?hardDelete=true", nil},
			{P, "/api/user-action-reason", reasonBody(map[string]any{"text": "t", "code": "fresh"})},
			{G, "/api/user-action-reason", nil},
			{D, "/api/user-action-reason/" + reason, nil},
			{P, "/api/user/action", take(hold, map[string]any{"expiry": hour})},
			{G, "/api/user/action?userId=" + alice, nil},
			{G, "/api/user/action/" + active, nil},
			{U, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin, "expiry": hour + 1000})},
			{D, "/api/user/action/" + active, act(map[string]any{"actionerUserId": admin})},
			{P, "/api/application", appBody(map[string]any{"name": "A2"})},
			{G, "/api/application", nil},
			{D, "/api/application/" + app + "?hardDelete=true", nil},
			{P, "/api/email/template", tmplBody(map[string]any{"name": "T", "defaultSubject": "s", "defaultTextTemplate": "x"})},
			{G, "/api/email/template/" + tmpl, nil},
			{X, "/api/email/template/" + tmpl, tmplBody(map[string]any{"name": "T2"})},
		}

		before := e.snapshot(t)
		for _, bc := range cases {
			name := fmt.Sprintf("%s %s %v", bc.method, bc.path, bc.body)
			r := e.fa(bc.method, bc.path, bc.body)
			switch {
			case bc.status != 0:
				wantEmpty(t, name, r, bc.status)
			default:
				if got := codes(t, r); !slices.Equal(got, bc.codes) {
					t.Errorf("%s: codes %v, want %v; body %s", name, got, bc.codes, r.Body)
				}
			}
		}
		for _, g := range good {
			for _, key := range []string{"", apptest.Alice, apptest.Support, "demo-no-such-key", "Token demo-no-such-key"} {
				wantEmpty(t, fmt.Sprintf("%s %s with key %q", g.method, g.path, key), e.faAs(key, g.method, g.path, g.body), http.StatusUnauthorized)
			}
		}
		if after := e.snapshot(t); after != before {
			t.Errorf("bad requests changed something:\n%s", diffLines(before, after))
		}
	})
}

// diffLines lists the lines of b that differ from a's.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}
