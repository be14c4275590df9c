package actioning_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLoginPrevention: an active action whose definition has preventLogin
// keeps its actionee out — token authentication and password login answer
// 403 naming the action — until it expires or is cancelled; overlapping
// actions keep them out until the last one lapses; soft-deleting the
// definition leaves its instances in force, hard-deleting it lifts them.
func TestLoginPrevention(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		admin := e.Users["admin"].String()
		lock := str(e.definition(map[string]any{"name": "Suspend", "temporal": true, "preventLogin": true}), "id")
		ban := str(e.definition(map[string]any{"name": "Ban", "temporal": true, "preventLogin": true}), "id")
		quiet := str(e.definition(map[string]any{"name": "Quiet", "temporal": true}), "id")

		type who struct{ name, token, password string }
		alice := who{"alice", "demo-alice-token", "demo-alice-password"}
		bob := who{"bob", "demo-bob-token", "demo-bob-password"}
		carol := who{"carol", "demo-carol-token", "demo-carol-password"}
		take := func(u who, def string, expiry int64) string {
			t.Helper()
			return str(e.take(false, map[string]any{"userActionId": def, "actioneeUserId": e.Users[u.name].String(),
				"actionerUserId": admin, "expiry": expiry}), "id")
		}
		// state returns the status of GET /api/users/me/ and of a password
		// login, failing unless both agree; a 403 must name the action.
		state := func(u who, action string) int {
			t.Helper()
			me := e.waldur(http.MethodGet, "/api/users/me/", u.token, nil)
			login := e.waldur(http.MethodPost, "/api-auth/password/", "", map[string]string{"username": u.name, "password": u.password})
			if me.Status != login.Status {
				t.Fatalf("%s: /api/users/me/ %d %s but password login %d %s", u.name, me.Status, me.Body, login.Status, login.Body)
			}
			if me.Status == http.StatusForbidden {
				for _, r := range [][]byte{me.Body, login.Body} {
					if !strings.Contains(string(r), `\"`+action+`\"`) {
						t.Errorf("%s: 403 %s does not name %q", u.name, r, action)
					}
				}
			}
			return me.Status
		}
		want := func(u who, status int, action string) {
			t.Helper()
			if got := state(u, action); got != status {
				t.Fatalf("%s: status %d, want %d (%s)", u.name, got, status, action)
			}
		}
		// lapse waits until the user's token is accepted again, failing if
		// it is accepted before the expiry.
		lapse := func(u who, expiry int64) {
			t.Helper()
			eventually(t, waitFor, u.name+"'s lock to lapse", func() bool {
				if e.waldur(http.MethodGet, "/api/users/me/", u.token, nil).Status != http.StatusOK {
					return false
				}
				if done := ms(time.Now()); done < expiry {
					t.Errorf("%s accepted by %d, before the expiry %d", u.name, done, expiry)
				}
				return true
			})
			want(u, http.StatusOK, "")
		}
		preventing := func(u who) int { return len(e.instances(e.Users[u.name], "&preventingLogin=true")) }

		// An action without preventLogin keeps nobody out.
		take(alice, quiet, ms(time.Now().Add(time.Hour)))
		want(alice, http.StatusOK, "")

		// alice: a lock, modified to lapse in 2 s (a modify into the past is
		// refused and changes nothing).
		aliceLock := take(alice, lock, ms(time.Now().Add(time.Hour)))
		want(alice, http.StatusForbidden, "Suspend")
		if n := preventing(alice); n != 1 {
			t.Errorf("alice: %d actions preventing login, want 1", n)
		}
		if c := codes(t, e.fa(http.MethodPut, "/api/user/action/"+aliceLock, map[string]any{"action": map[string]any{
			"actionerUserId": admin, "expiry": ms(time.Now().Add(-time.Second))}})); strings.Join(c, ",") != "[invalid]action.expiry" {
			t.Errorf("modify into the past: %v", c)
		}
		soon := ms(time.Now().Add(2 * time.Second))
		e.fa(http.MethodPut, "/api/user/action/"+aliceLock, map[string]any{"action": map[string]any{"actionerUserId": admin, "expiry": soon}}).
			Want(t, http.StatusOK)
		want(alice, http.StatusForbidden, "Suspend")

		// bob: overlapping locks; the later expiry rules, and he stays out
		// after the earlier one lapses.
		early := ms(time.Now().Add(2 * time.Second))
		late := ms(time.Now().Add(4 * time.Second))
		take(bob, ban, late)
		take(bob, lock, early)
		want(bob, http.StatusForbidden, "Ban")

		// carol, meanwhile: for ever; soft-deleting the definition leaves
		// it in force, hard-deleting it lifts it.
		exile := str(e.definition(map[string]any{"name": "Exile", "temporal": true, "preventLogin": true}), "id")
		forever := take(carol, exile, 1<<63-1)
		want(carol, http.StatusForbidden, "Exile")
		if r := e.waldur(http.MethodGet, "/api/users/me/", carol.token, nil); !strings.Contains(string(r.Body), "until it is cancelled") {
			t.Errorf("carol, exiled for ever: %s", r.Body)
		}
		e.fa(http.MethodDelete, "/api/user-action/"+exile, nil).Want(t, http.StatusOK)
		want(carol, http.StatusForbidden, "Exile")
		e.fa(http.MethodDelete, "/api/user-action/"+exile+"?hardDelete=true", nil).Want(t, http.StatusOK)
		want(carol, http.StatusOK, "")
		wantEmpty(t, "the hard-deleted definition's instance", e.fa(http.MethodGet, "/api/user/action/"+forever, nil), http.StatusNotFound)
		if l := e.instances(e.Users["carol"], ""); len(l) != 0 {
			t.Errorf("carol's actions after the hard delete: %v", l)
		}
		// Renaming a definition renames what the 403 names; turning its
		// preventLogin off lets its actionees in.
		curfew := str(e.definition(map[string]any{"name": "Curfew", "temporal": true, "preventLogin": true}), "id")
		take(carol, curfew, ms(time.Now().Add(time.Hour)))
		want(carol, http.StatusForbidden, "Curfew")
		e.fa(http.MethodPatch, "/api/user-action/"+curfew, map[string]any{"userAction": map[string]any{"name": "Night curfew"}}).Want(t, http.StatusOK)
		want(carol, http.StatusForbidden, "Night curfew")
		e.fa(http.MethodPatch, "/api/user-action/"+curfew, map[string]any{"userAction": map[string]any{"preventLogin": false}}).Want(t, http.StatusOK)
		want(carol, http.StatusOK, "")

		// The short locks lapse by themselves.
		lapse(alice, soon)
		if n := preventing(alice); n != 0 {
			t.Errorf("alice: %d actions preventing login after the expiry, want 0", n)
		}
		eventually(t, waitFor, "bob's earlier lock to lapse", func() bool { return time.Now().UnixMilli() > early })
		if time.Now().UnixMilli() < late-500 {
			want(bob, http.StatusForbidden, "Ban")
		}
		lapse(bob, late)

		// A cancel lets the user in at once.
		id := take(alice, lock, ms(time.Now().Add(time.Hour)))
		want(alice, http.StatusForbidden, "Suspend")
		e.fa(http.MethodDelete, "/api/user/action/"+id, map[string]any{"action": map[string]any{"actionerUserId": admin}}).Want(t, http.StatusOK)
		want(alice, http.StatusOK, "")
		// Cancelling the later of two leaves the earlier in force, named.
		earlier := take(bob, lock, ms(time.Now().Add(time.Hour)))
		later := take(bob, ban, ms(time.Now().Add(2*time.Hour)))
		want(bob, http.StatusForbidden, "Ban")
		e.fa(http.MethodDelete, "/api/user/action/"+later, map[string]any{"action": map[string]any{"actionerUserId": admin}}).Want(t, http.StatusOK)
		want(bob, http.StatusForbidden, "Suspend")
		e.fa(http.MethodDelete, "/api/user/action/"+earlier, map[string]any{"action": map[string]any{"actionerUserId": admin}}).Want(t, http.StatusOK)
		want(bob, http.StatusOK, "")
	})
}
