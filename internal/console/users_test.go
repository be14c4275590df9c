package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/apptest"
)

// TestUsersPermissions: the users pages are for staff and support; plain
// users get 404 for them, for the event log and for the jobs dashboard;
// support sees users read-only (no tokens of others, no actioning).
func TestUsersPermissions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		carol := hexID(demoUser(t, h, "carol"))
		alice := signIn(t, h, "alice", stopAtRedirects)
		for _, path := range []string{"/console/users/", "/console/users/" + carol + "/", "/console/users/" + hexID(demoUser(t, h, "alice")) + "/",
			"/console/events/", "/console/jobs/", "/console/jobs/api/states"} {
			alice.get(path).want(t, http.StatusNotFound)
		}
		if p := alice.submit("/console/users/"+carol+"/actions", url.Values{"action": {"x|"}}); p.Status != http.StatusNotFound {
			t.Errorf("alice takes an action: %d, want 404", p.Status)
		}
		if p := alice.get("/console/resources/"); strings.Contains(p.Body, `href="/console/users/"`) {
			t.Error("alice's menu links to the users page")
		}

		support := signIn(t, h, "support", stopAtRedirects)
		list := pageText(support.get("/console/users/").want(t, http.StatusOK).Body)
		for _, name := range []string{"admin", "alice", "bob", "carol", "support"} {
			if !strings.Contains(list, name) {
				t.Errorf("support's users list lacks %s: %s", name, list)
			}
		}
		page := support.get("/console/users/"+carol+"/").want(t, http.StatusOK).Body
		if strings.Contains(page, "tokens-table") || strings.Contains(page, "Action this user") {
			t.Errorf("support sees carol's tokens or the action form: %s", pageText(page))
		}
		support.get("/console/events/").want(t, http.StatusNotFound)
		support.get("/console/jobs/").want(t, http.StatusNotFound)
		if p := support.submit("/console/users/"+carol+"/actions", url.Values{"action": {"x|"}}); p.Status != http.StatusNotFound {
			t.Errorf("support takes an action: %d, want 404", p.Status)
		}

		staff := signIn(t, h, "admin", stopAtRedirects)
		found := staff.get("/console/users/?q=carol").want(t, http.StatusOK).Body
		if n := strings.Count(found, "data-user="); n != 1 || !strings.Contains(found, `data-user="carol"`) {
			t.Errorf("search carol: %d rows: %s", n, pageText(found))
		}
		// Any part of a username, name or email, any case; LIKE's
		// wildcards match themselves.
		for q, want := range map[string][]string{"ARO": {"carol"}, "Bob Man": {"bob"}, "@example.com": {"admin", "alice", "bob", "carol", "support"}, "%": nil, "_": nil} {
			body := staff.get("/console/users/?q="+url.QueryEscape(q)).want(t, http.StatusOK).Body
			if n := strings.Count(body, "data-user="); n != len(want) {
				t.Errorf("search %q: %d rows, want %v", q, n, want)
			}
			for _, u := range want {
				if !strings.Contains(body, `data-user="`+u+`"`) {
					t.Errorf("search %q does not find %s", q, u)
				}
			}
		}
		staff.get("/console/users/?q=%00").want(t, http.StatusBadRequest)
		if none := pageText(staff.get("/console/users/?q=nobody").want(t, http.StatusOK).Body); !strings.Contains(none, "No user matches") {
			t.Errorf("search nobody: %s", none)
		}
		staff.get("/console/users/"+strings.Repeat("0", 32)+"/").want(t, http.StatusNotFound)
		staff.get("/console/users/not-a-uuid/").want(t, http.StatusNotFound)
	})
}

var usInstanceRow = regexp.MustCompile(`<tr data-instance="([0-9a-f-]{36})">`)

// TestUsersActionLock: staff locks carol out; her open console session is
// refused at once (and deleted), her sign-in says why; cancelling the lock
// lets her sign in again. A form without its csrf token changes nothing.
func TestUsersActionLock(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		carolID := demoUser(t, h, "carol")
		carolPage := "/console/users/" + hexID(carolID) + "/"
		staff := signIn(t, h, "admin", stopAtRedirects)
		carol := signIn(t, h, "carol", stopAtRedirects)

		page := staff.get(carolPage).want(t, http.StatusOK).Body
		if !strings.Contains(page, "console session") {
			t.Errorf("carol's page does not list her console session: %s", pageText(page))
		}
		lock := usChoice(t, page, "Lock")

		// Without the csrf field: refused, nothing taken.
		if p := staff.post(carolPage+"actions", url.Values{"action": {lock}, "amount": {"1"}, "unit": {"hours"}}); p.Status != http.StatusForbidden {
			t.Fatalf("post without csrf: %d, want 403", p.Status)
		}
		if list, err := h.App.Actioning.ListInstances(ctx, actioning.InstanceFilter{UserID: carolID}); err != nil || len(list) != 0 {
			t.Fatalf("after the refused post carol has %d actions (%v), want none", len(list), err)
		}

		// A lasting action needs a duration: the form comes back with why.
		p := staff.submit(carolPage+"actions", url.Values{"action": {lock}, "amount": {""}, "comment": {"kept"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(pageText(p.Body), "Duration or expiry") || !strings.Contains(p.Body, ">kept</textarea>") {
			t.Fatalf("lock without duration: %d: %s", p.Status, pageText(p.Body))
		}

		// An end after year 9999 (here by its offset) is refused by the
		// service, with the form kept; nothing is taken.
		p = staff.submit(carolPage+"actions", url.Values{"action": {lock}, "expiry": {"9999-12-31T23:00:00-05:00"}, "comment": {"kept"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(pageText(p.Body), "before year 10000") || !strings.Contains(p.Body, ">kept</textarea>") {
			t.Fatalf("lock until year 10000: %d: %s", p.Status, pageText(p.Body))
		}
		if list, err := h.App.Actioning.ListInstances(ctx, actioning.InstanceFilter{UserID: carolID}); err != nil || len(list) != 0 {
			t.Fatalf("after the refused lock carol has %d actions (%v), want none", len(list), err)
		}

		p = staff.submitOK(carolPage+"actions", url.Values{"action": {lock}, "amount": {"2"}, "unit": {"hours"},
			"comment": {"Shared their password"}, "notify": {"1"}}, carolPage)
		if text := pageText(p.Body); !strings.Contains(text, "Lock taken on carol") || !strings.Contains(text, "sign-in prevented by Lock") {
			t.Fatalf("after the lock: %s", text)
		}
		m := usInstanceRow.FindStringSubmatch(p.Body[strings.Index(p.Body, "current-actions"):])
		if m == nil {
			t.Fatalf("no current action row: %s", pageText(p.Body))
		}
		instance := m[1]

		// carol's open session ended with the lock, before she comes back.
		if page := staff.get(carolPage).want(t, http.StatusOK).Body; strings.Contains(page, "console session") {
			t.Errorf("carol's session outlived the lock: %s", pageText(page))
		}
		r := carol.get("/console/resources/")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/signin") {
			t.Fatalf("carol's session after the lock: %d to %q", r.Status, r.Location)
		}
		again := newClient(t, h, stopAtRedirects).trySignIn("carol", "demo-carol-password")
		if again.Status != http.StatusForbidden || !strings.Contains(pageText(again.Body), `Login is prevented by the action "Lock"`) {
			t.Fatalf("carol signs in while locked: %d: %s", again.Status, pageText(again.Body))
		}

		// Change it: an end in the past is refused with the reason; a later
		// one is taken and recorded.
		actionPage := carolPage + "actions/" + instance + "/"
		p = staff.submit(actionPage+"modify", url.Values{"expiry_local": {"2020-01-01T00:00"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(pageText(p.Body), "must be in the future") {
			t.Fatalf("modify into the past: %d: %s", p.Status, pageText(p.Body))
		}
		end := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Minute)
		p = staff.submitOK(actionPage+"modify", url.Values{"expiry": {end.Format(time.RFC3339)}, "comment": {"longer"}}, carolPage)
		if text := pageText(p.Body); !strings.Contains(text, "Lock changed on carol, until "+end.Format("2006-01-02 15:04 UTC")) {
			t.Fatalf("after modify: %s", text)
		}
		if text := pageText(staff.get(actionPage).want(t, http.StatusOK).Body); !strings.Contains(text, "Shared their password") || !strings.Contains(text, "longer") {
			t.Errorf("the action's page lacks its history: %s", text)
		}

		// Cancel: carol signs in again.
		p = staff.submitOK(actionPage+"cancel", url.Values{"comment": {"sorted out"}}, carolPage)
		if text := pageText(p.Body); !strings.Contains(text, "Lock cancelled on carol") || strings.Contains(text, "sign-in prevented") {
			t.Fatalf("after cancel: %s", text)
		}
		if !strings.Contains(p.Body, "badge instance-cancelled") {
			t.Errorf("the cancelled lock is not among past actions: %s", pageText(p.Body))
		}
		signIn(t, h, "carol", stopAtRedirects)
		// A cancelled action cannot change again.
		if p := staff.submit(actionPage+"cancel", nil); p.Status != http.StatusNotFound {
			t.Errorf("cancel twice: %d, want 404", p.Status)
		}
		// Nor can another user's action be reached through carol's page.
		bobs, err := h.App.Actioning.ListInstances(ctx, actioning.InstanceFilter{UserID: demoUser(t, h, "bob")})
		if err != nil || len(bobs) == 0 {
			t.Fatalf("bob's actions: %v, %d", err, len(bobs))
		}
		if p := staff.submit(carolPage+"actions/"+bobs[0].ID.String()+"/cancel", nil); p.Status != http.StatusNotFound {
			t.Errorf("cancel bob's action through carol's page: %d, want 404", p.Status)
		}
	})
}

// usChoice finds the value of the action select's entry whose label
// starts with label.
func usChoice(t testing.TB, page, label string) string {
	t.Helper()
	m := regexp.MustCompile(`<option value="([0-9a-f-]{36}\|[^"]*)"[^>]*>` + regexp.QuoteMeta(label)).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %q in the action select: %s", label, page)
	}
	return m[1]
}

// TestUsersInstantAction: an action with options (Warn: soft) takes no
// duration; the duration fields are ignored for it, and it is listed as
// done among past actions.
func TestUsersInstantAction(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		page := "/console/users/" + hexID(demoUser(t, h, "alice")) + "/"
		staff := signIn(t, h, "admin", stopAtRedirects)
		body := staff.get(page).want(t, http.StatusOK).Body
		warn := usChoice(t, body, "Warn: soft")
		reason := regexp.MustCompile(`<option value="([0-9a-f-]{36})"[^>]*>Spam`).FindStringSubmatch(body)
		if reason == nil {
			t.Fatalf("no Spam reason: %s", body)
		}
		p := staff.submitOK(page+"actions", url.Values{"action": {warn}, "reason": {reason[1]}, "amount": {"3"}, "unit": {"days"}, "comment": {"first warning"}}, page)
		text := pageText(p.Body)
		if !strings.Contains(text, "Warn taken on alice (soft).") || !strings.Contains(p.Body, "badge instance-done") || !strings.Contains(text, "Spam") {
			t.Fatalf("after warning alice: %s", text)
		}
		// Email is refused for an action that does not allow it: the form
		// says so.
		p = staff.submit(page+"actions", url.Values{"action": {warn}, "email": {"1"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(pageText(p.Body), "does not allow emailing the user") {
			t.Fatalf("warn with email: %d: %s", p.Status, pageText(p.Body))
		}
	})
}

var usTokenRow = regexp.MustCompile(`<tr data-token="(\d+)">\s*<td data-label="What">([^<]*)`)

// TestUsersRevokeToken: staff revokes bob's API token from his page and
// the API refuses it at once; deactivating a user (through the API) ends
// their console sessions.
func TestUsersRevokeToken(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		bobID := demoUser(t, h, "bob")
		bobPage := "/console/users/" + hexID(bobID) + "/"
		h.Do(http.MethodGet, "/api/users/me/", apptest.Bob, nil).Want(t, http.StatusOK)
		staff := signIn(t, h, "admin", stopAtRedirects)
		rows := usTokenRow.FindAllStringSubmatch(staff.get(bobPage).want(t, http.StatusOK).Body, -1)
		if len(rows) != 1 {
			t.Fatalf("bob's tokens: %q", rows)
		}
		p := staff.submitOK(bobPage+"tokens/"+rows[0][1]+"/revoke", nil, bobPage)
		if text := pageText(p.Body); !strings.Contains(text, "Token revoked") || strings.Contains(p.Body, `data-token="`+rows[0][1]+`"`) {
			t.Fatalf("after revoking: %s", text)
		}
		h.Do(http.MethodGet, "/api/users/me/", apptest.Bob, nil).Want(t, http.StatusUnauthorized)
		if p := staff.submit(bobPage+"tokens/"+rows[0][1]+"/revoke", nil); p.Status != http.StatusNotFound {
			t.Errorf("revoke twice: %d, want 404", p.Status)
		}

		// Support may not revoke others' tokens (the page offers none).
		carolID := demoUser(t, h, "carol")
		carol := signIn(t, h, "carol", stopAtRedirects)
		support := signIn(t, h, "support", stopAtRedirects)
		var carolSession string
		for _, r := range usTokenRow.FindAllStringSubmatch(staff.get("/console/users/"+hexID(carolID)+"/").want(t, http.StatusOK).Body, -1) {
			if strings.Contains(r[2], "console session") || r[2] == "" {
				carolSession = r[1]
			}
		}
		if p := support.submit("/console/users/"+hexID(carolID)+"/tokens/"+carolSession+"/revoke", nil); p.Status != http.StatusNotFound {
			t.Errorf("support revokes carol's session: %d, want 404", p.Status)
		}
		carol.get("/console/resources/").want(t, http.StatusOK)

		// Deactivation ends her sessions.
		h.Do(http.MethodPatch, "/api/users/"+hexID(carolID)+"/", apptest.Staff, map[string]any{"is_active": false}).Want(t, http.StatusOK)
		if r := carol.get("/console/resources/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/signin") {
			t.Fatalf("deactivated carol's session: %d to %q", r.Status, r.Location)
		}
		if text := pageText(staff.get("/console/users/"+hexID(carolID)+"/").want(t, http.StatusOK).Body); strings.Contains(text, "console session") || !strings.Contains(text, "deactivated") {
			t.Errorf("carol's page after deactivation: %s", text)
		}
	})
}
