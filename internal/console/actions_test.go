package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
)

var acRow = regexp.MustCompile(`<tr data-action="([0-9a-f]{32})"`)

// acRows are the action uuids a page lists, in order.
func acRows(body string) []string {
	var out []string
	for _, m := range acRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// acAPIActions are the uuids the API lists for token, in its order.
func acAPIActions(t *testing.T, h *apptest.Harness, token, query string) []string {
	t.Helper()
	return hexIDs(apiList(t, h, token, "/api/user-actions/?page_size=100"+query))
}

// acRowWith finds the first listed action offering the corrective action label.
func acRowWith(t *testing.T, body, label string) string {
	t.Helper()
	i := strings.Index(body, `data-label="`+label+`"`)
	if i < 0 {
		t.Fatalf("no %q button on the page", label)
	}
	rows := acRow.FindAllStringSubmatch(body[:i], -1)
	return rows[len(rows)-1][1]
}

func TestMyActions(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		t.Run("ranked as the API ranks", func(t *testing.T) {
			for _, who := range []struct{ user, token string }{{"alice", apptest.Alice}, {"bob", apptest.Bob}} {
				b := signIn(t, h, who.user, followRedirects)
				got, want := acRows(b.get("/console/actions/").Body), acAPIActions(t, h, who.token, "")
				if len(want) == 0 {
					t.Fatalf("%s has no actions in the demo data: nothing to compare", who.user)
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s: console lists %v, API %v", who.user, got, want)
				}
				got = acRows(b.get("/console/actions/?urgency=high").Body)
				if want := acAPIActions(t, h, who.token, "&urgency=high"); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s high: console lists %v, API %v", who.user, got, want)
				}
			}
		})
		t.Run("someone else's action is not found", func(t *testing.T) {
			alice := signIn(t, h, "alice", followRedirects)
			id := acRows(alice.get("/console/actions/").Body)[0]
			carol := signIn(t, h, "carol", followRedirects)
			for _, path := range []string{"/silence", "/unsilence", "/run"} {
				p := carol.submit("/console/actions/"+id+path, url.Values{"days": {"7"}, "label": {"Approve Order"}, "confirmed": {"1"}})
				if p.Status != http.StatusNotFound {
					t.Errorf("carol POST %s on alice's action: status %d, want 404", path, p.Status)
				}
			}
			if got := acRows(alice.get("/console/actions/").Body); len(got) == 0 || got[0] != id {
				t.Errorf("alice's action changed after carol's attempts: %v", got)
			}
		})
		t.Run("silence hides, unsilence shows", func(t *testing.T) {
			b := signIn(t, h, "bob", followRedirects)
			before := acRows(b.get("/console/actions/").Body)
			id := before[len(before)-1]
			// Without the form token nothing happens.
			if p := b.post("/console/actions/"+id+"/silence", url.Values{"days": {"7"}}); p.Status != http.StatusForbidden {
				t.Fatalf("silence without csrf: status %d, want 403", p.Status)
			}
			if got := acRows(b.get("/console/actions/").Body); len(got) != len(before) {
				t.Fatalf("refused silence changed the list: %v → %v", before, got)
			}
			p := b.submit("/console/actions/"+id+"/silence", url.Values{"days": {"7"}})
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "Silenced for 7 days.") {
				t.Fatalf("silence: status %d at %s, no flash", p.Status, p.URL)
			}
			if strings.Contains(strings.Join(acRows(p.Body), ","), id) {
				t.Fatal("the silenced action is still listed")
			}
			if ids := acAPIActions(t, h, apptest.Bob, ""); strings.Contains(strings.Join(ids, ","), id) {
				t.Fatal("the API still lists the silenced action")
			}
			all := b.get("/console/actions/?include_silenced=1").Body
			if !strings.Contains(all, `data-action="`+id+`" class="silenced"`) {
				t.Fatal("include silenced does not show it as silenced")
			}
			p = b.submit("/console/actions/"+id+"/unsilence", url.Values{"include_silenced": {"1"}})
			if p.URL.RawQuery != "include_silenced=1" || strings.Contains(p.Body, `data-action="`+id+`" class="silenced"`) {
				t.Fatalf("unsilence ended at %s, still silenced", p.URL)
			}
			if p := b.submit("/console/actions/"+id+"/silence", url.Values{"days": {"3650"}}); p.Status != http.StatusBadRequest {
				t.Fatalf("ten years of silence: status %d, want 400", p.Status)
			}
		})
		t.Run("bulk silence silences what the filter shows", func(t *testing.T) {
			b := signIn(t, h, "alice", followRedirects)
			low := acRows(b.get("/console/actions/?urgency=low").Body)
			rest := acAPIActions(t, h, apptest.Alice, "")
			if len(low) == 0 {
				t.Skip("alice has no low-urgency actions in the demo data")
			}
			p := b.submit("/console/actions/bulk-silence", url.Values{"urgency": {"low"}, "days": {"30"}})
			want := fmt.Sprintf("Silenced %d actions for 30 days.", len(low))
			if len(low) == 1 {
				want = "Silenced 1 action for 30 days."
			}
			if !strings.Contains(p.Body, want) || len(acRows(p.Body)) != 0 {
				t.Fatalf("bulk silence: %s, rows %v", p.URL, acRows(p.Body))
			}
			if after := acAPIActions(t, h, apptest.Alice, ""); len(after) != len(rest)-len(low) {
				t.Fatalf("alice had %d actions, silenced %d low ones, now has %d", len(rest), len(low), len(after))
			}
		})
		t.Run("approve order through its corrective action", func(t *testing.T) {
			b := signIn(t, h, "bob", followRedirects)
			list := b.get("/console/actions/").Body
			id := acRowWith(t, list, "Approve Order")
			confirm := b.submit("/console/actions/"+id+"/run", url.Values{"label": {"Approve Order"}})
			if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, `id="confirm-run"`) {
				t.Fatalf("no confirmation step: status %d\n%s", confirm.Status, confirm.Body)
			}
			order := regexp.MustCompile(`<dt>Order uuid</dt><dd>([0-9a-f]{32})</dd>`).FindStringSubmatch(confirm.Body)
			if order == nil {
				t.Fatal("the confirmation does not name the order")
			}
			if state := apiObject(t, h, apptest.Bob, "/api/marketplace-orders/"+order[1]+"/")["state"]; state != "pending-consumer" {
				t.Fatalf("the confirmation page already changed the order: %v", state)
			}
			done := b.submit("/console/actions/"+id+"/run", url.Values{"label": {"Approve Order"}, "confirmed": {"1"}})
			if !strings.Contains(done.Body, "Approve Order: Order approved.") {
				t.Fatalf("no result shown after approving:\n%s", done.Body)
			}
			if strings.Contains(strings.Join(acRows(done.Body), ","), id) {
				t.Fatal("the approved order's action is still listed")
			}
			apptest.Eventually(t, 30*time.Second, "the order leaves pending-consumer", func() bool {
				st := h.Do(http.MethodGet, "/api/marketplace-orders/"+order[1]+"/", apptest.Bob, nil).Object(t)["state"]
				return st != "pending-consumer"
			})
			ex := b.get("/console/actions/executions/").Body
			if !strings.Contains(ex, "Approve Order") || !strings.Contains(ex, "badge ok") {
				t.Fatal("the execution history does not show the approval")
			}
		})
	})
}
