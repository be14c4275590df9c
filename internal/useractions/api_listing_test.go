package useractions_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/useractions/provider"
)

// probeAction is an action of the probe provider for u about probe object
// id, titled title.
func probeAction(u uaUser, id int64, title string, urg provider.Urgency, due *time.Time) provider.Action {
	return provider.Action{
		UserID: u.u.ID, Object: provider.ObjectRef{Type: probeType, ID: id}, RelatedObjectName: title, Title: title,
		Urgency: urg, DueDate: due, RouteName: "probe.details", RouteParams: map[string]any{"id": id},
		CorrectiveActions: []provider.CorrectiveAction{
			provider.Navigate("Look", provider.View, provider.Safe, "probe.details", map[string]any{"id": id}),
			{Label: "Poke", Category: provider.Repair, Severity: provider.SevMed, Method: "POST", APIEndpoint: true},
		},
	}
}

func at(t time.Time) *time.Time { return &t }

// byTitle maps each action's title to its uuid.
func byTitle(t testing.TB, list []map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range list {
		title := a["title"].(string)
		if _, dup := out[title]; dup {
			t.Fatalf("two actions titled %q", title)
		}
		out[title] = a["uuid"].(string)
	}
	return out
}

// names are the list's titles in order, with the expiring resource's
// action called "res".
func names(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a["title"].(string)
		if a["action_type"] == "expiring_resource" {
			out[i] = "res"
		}
	}
	return out
}

// TestUserActionsListing covers the list, the summary and their filters
// and orderings on one user's actions: seven of the probe provider and one
// expiring resource (a second action type).
func TestUserActionsListing(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		tm := w.newTeam(t)
		u := tm.member
		t0 := w.clock.Now()
		day := 24 * time.Hour
		// res: medium, due at midnight five days on, created at t0.
		w.resource(t, tm, w.prepaid, w.prepaidPlan, 5)
		w.probe.set(nil,
			probeAction(u, 1, "p1", provider.High, at(t0.Add(2*day))),
			probeAction(u, 2, "p2", provider.High, nil),
			probeAction(u, 3, "p3", provider.Medium, at(t0.Add(-day))),
			probeAction(u, 4, "p4", provider.Low, at(t0.Add(10*day))),
			probeAction(u, 5, "p5", provider.Medium, at(t0.Add(2*day))))
		w.detect(t)
		t1 := w.clock.Advance(time.Hour)
		w.probe.set(nil, probeAction(u, 6, "p6", provider.High, at(t0.Add(2*day))), probeAction(u, 7, "p7", provider.Low, nil))
		w.detect(t)
		list := func(t testing.TB, kv ...string) []string {
			t.Helper()
			return names(w.actions(t, u, kv...))
		}
		if got := list(t); len(got) != 8 {
			t.Fatalf("setup: %d actions %v, want 8", len(got), got)
		}

		t.Run("ordering", func(t *testing.T) {
			for _, c := range []struct {
				o    string
				want string
			}{
				// High, medium, low; soonest due first, none last; newest first.
				{"", "p6 p1 p2 p3 p5 res p4 p7"},
				{"bogus", "p6 p1 p2 p3 p5 res p4 p7"},
				// -urgency is most urgent first (Waldur's intent, not its text sort).
				{"-urgency", "p1 p2 p6 res p3 p5 p4 p7"},
				{"urgency", "p7 p4 p5 p3 res p6 p2 p1"},
				{"due_date", "p3 p1 p5 p6 res p4 p2 p7"},
				{"-due_date", "p7 p2 p4 res p6 p5 p1 p3"},
				{"created", "res p1 p2 p3 p4 p5 p6 p7"},
				{"-created", "p7 p6 p5 p4 p3 p2 p1 res"},
				{"action_type", "res p1 p2 p3 p4 p5 p6 p7"},
				{"-action_type,due_date", "p3 p1 p5 p6 p4 p2 p7 res"},
			} {
				var kv []string
				if c.o != "" {
					kv = []string{"o", c.o}
				}
				if got := strings.Join(list(t, kv...), " "); got != c.want {
					t.Errorf("o=%s: %s, want %s", c.o, got, c.want)
				}
			}
			// Pages follow the same order and never overlap.
			var paged []string
			for page := 1; page <= 3; page++ {
				r := w.do(t, http.MethodGet, uaQuery("/api/user-actions/", "page_size", "3", "page", fmt.Sprint(page)), u, nil).Want(t, http.StatusOK)
				if n := resultCount(t, r); n != 8 {
					t.Fatalf("page %d: X-Result-Count %d, want 8", page, n)
				}
				paged = append(paged, names(r.List(t))...)
			}
			if got := strings.Join(paged, " "); got != "p6 p1 p2 p3 p5 res p4 p7" {
				t.Errorf("three pages of 3: %s", got)
			}
		})

		t.Run("filters", func(t *testing.T) {
			ts := func(t time.Time) string { return t.Format(time.RFC3339) }
			for _, c := range []struct {
				kv   []string
				want string
			}{
				{[]string{"urgency", "high"}, "p6 p1 p2"},
				{[]string{"urgency", "medium"}, "p3 p5 res"},
				{[]string{"urgency", "low"}, "p4 p7"},
				{[]string{"action_type", "expiring_resource"}, "res"},
				{[]string{"action_type", "probe", "urgency", "medium"}, "p3 p5"},
				{[]string{"action_type", "pending_order"}, ""},
				{[]string{"overdue", "true"}, "p3"},
				{[]string{"overdue", "TRUE"}, "p3"},
				{[]string{"overdue", "1"}, "p3"},
				// Not overdue: due later, or never.
				{[]string{"overdue", "false"}, "p6 p1 p2 p5 res p4 p7"},
				{[]string{"overdue", "0"}, "p6 p1 p2 p5 res p4 p7"},
				// Due by now plus N days, overdue ones included, undated ones not.
				{[]string{"due_within_days", "0"}, "p3"},
				{[]string{"due_within_days", "1.5"}, "p3"},
				{[]string{"due_within_days", "2.5"}, "p6 p1 p3 p5"},
				{[]string{"due_within_days", "10"}, "p6 p1 p3 p5 res p4"},
				{[]string{"created_after", ts(t1)}, "p6 p7"},
				{[]string{"created_after", ts(t0.Add(time.Second))}, "p6 p7"},
				{[]string{"created_before", ts(t0)}, "p1 p2 p3 p5 res p4"},
				{[]string{"created_after", ts(t0), "created_before", ts(t0)}, "p1 p2 p3 p5 res p4"},
				{[]string{"created_after", ts(t1.Add(time.Second))}, ""},
				{[]string{"urgency", "high", "due_within_days", "2.5", "o", "created"}, "p1 p6"},
			} {
				if got := strings.Join(list(t, c.kv...), " "); got != c.want {
					t.Errorf("%v: %q, want %q", c.kv, got, c.want)
				}
			}
			for _, c := range []struct{ field, value string }{
				{"urgency", "urgent"}, {"urgency", "HIGH"}, {"overdue", "maybe"}, {"include_silenced", "yes"},
				{"is_silenced", "2"}, {"due_within_days", "soon"}, {"due_within_days", "-1"}, {"due_within_days", "99999"},
				{"created_after", "yesterday"}, {"created_before", "2031-13-01T00:00:00Z"}, {"user_uuid", "nobody"},
			} {
				wantFieldErrors(t, w.do(t, http.MethodGet, uaQuery("/api/user-actions/", c.field, c.value), u, nil), c.field)
				wantFieldErrors(t, w.do(t, http.MethodGet, uaQuery("/api/user-actions/summary/", c.field, c.value), u, nil), c.field)
			}
		})

		t.Run("summary and HEAD", func(t *testing.T) {
			// p3 is overdue.
			if got, want := summary(t, w, u), `{"total":8,"overdue":1,"by_urgency":{"high":3,"low":2,"medium":3},"by_type":{"expiring_resource":1,"probe":7}}`; got != want {
				t.Errorf("summary %s, want %s", got, want)
			}
			// Every urgency key is there, with 0 for none.
			if got, want := summary(t, w, u, "urgency", "high"), `{"total":3,"overdue":0,"by_urgency":{"high":3,"low":0,"medium":0},"by_type":{"probe":3}}`; got != want {
				t.Errorf("summary of high ones %s, want %s", got, want)
			}
			if got, want := summary(t, w, tm.owner, "action_type", "probe"), `{"total":0,"overdue":0,"by_urgency":{"high":0,"low":0,"medium":0},"by_type":{}}`; got != want {
				t.Errorf("empty summary %s, want %s", got, want)
			}
			for _, c := range []struct {
				path string
				want int
			}{
				{"/api/user-actions/", 8},
				{"/api/user-actions/?urgency=low", 2},
				{"/api/user-actions/?page_size=1", 8},
				{"/api/user-actions/summary/", 8},
				{"/api/user-actions/summary/?action_type=probe&overdue=true", 1},
			} {
				r := w.do(t, http.MethodHead, c.path, u, nil).Want(t, http.StatusOK)
				if n := resultCount(t, r); n != c.want || len(r.Body) != 0 {
					t.Errorf("HEAD %s: X-Result-Count %d, body %q; want %d and no body", c.path, n, r.Body, c.want)
				}
			}
			if r := w.do(t, http.MethodHead, "/api/user-actions/summary/?urgency=nope", u, nil); r.Status != http.StatusBadRequest {
				t.Errorf("HEAD summary with a bad filter: %d", r.Status)
			}
		})

		t.Run("silenced ones", func(t *testing.T) {
			ids := byTitle(t, w.actions(t, u))
			w.do(t, http.MethodPost, "/api/user-actions/"+ids["p4"]+"/silence/", u, nil).Want(t, http.StatusOK)
			w.do(t, http.MethodPost, "/api/user-actions/"+ids["p7"]+"/silence/", u, map[string]any{"duration_days": 3}).Want(t, http.StatusOK)
			defer func() {
				for _, p := range []string{"p4", "p7"} {
					w.do(t, http.MethodPost, "/api/user-actions/"+ids[p]+"/unsilence/", u, nil).Want(t, http.StatusOK)
				}
			}()
			for _, c := range []struct {
				kv   []string
				want string
			}{
				{nil, "p6 p1 p2 p3 p5 res"},
				{[]string{"include_silenced", "false"}, "p6 p1 p2 p3 p5 res"},
				{[]string{"include_silenced", "true"}, "p6 p1 p2 p3 p5 res p4 p7"},
				{[]string{"include_silenced", "True"}, "p6 p1 p2 p3 p5 res p4 p7"},
				{[]string{"include_silenced", "1"}, "p6 p1 p2 p3 p5 res p4 p7"},
				// is_silenced is the permanent flag, among what is shown.
				{[]string{"is_silenced", "true"}, ""},
				{[]string{"is_silenced", "true", "include_silenced", "true"}, "p4"},
				{[]string{"is_silenced", "false", "include_silenced", "true"}, "p6 p1 p2 p3 p5 res p7"},
				{[]string{"include_silenced", "true", "urgency", "low"}, "p4 p7"},
			} {
				if got := strings.Join(list(t, c.kv...), " "); got != c.want {
					t.Errorf("%v: %q, want %q", c.kv, got, c.want)
				}
			}
			if got := summary(t, w, u); !strings.HasPrefix(got, `{"total":6,`) {
				t.Errorf("summary counts silenced actions: %s", got)
			}
			if got := summary(t, w, u, "include_silenced", "true"); !strings.HasPrefix(got, `{"total":8,`) {
				t.Errorf("summary with include_silenced: %s", got)
			}
		})

		t.Run("modified moves only on a change", func(t *testing.T) {
			before := w.actions(t, u)
			t2 := w.clock.Advance(time.Hour)
			w.probe.set([]int64{u.u.ID},
				probeAction(u, 1, "p1 changed", provider.High, at(t0.Add(2*day))),
				probeAction(u, 2, "p2", provider.High, nil),
				probeAction(u, 3, "p3", provider.Medium, at(t0.Add(-day))),
				probeAction(u, 4, "p4", provider.Low, at(t0.Add(10*day))),
				probeAction(u, 5, "p5", provider.Medium, at(t0.Add(2*day))),
				probeAction(u, 6, "p6", provider.High, at(t0.Add(2*day))),
				probeAction(u, 7, "p7", provider.Low, nil))
			w.detect(t)
			after := w.actions(t, u)
			if got := strings.Join(names(after), " "); got != "p6 p1 changed p2 p3 p5 res p4 p7" {
				t.Fatalf("after the change: %s", got)
			}
			for i, a := range after {
				b := before[i]
				wantField(t, a, "uuid", b["uuid"])
				wantField(t, a, "created", b["created"])
				if a["title"] == "p1 changed" {
					wantField(t, a, "modified", t2.Format(time.RFC3339))
				} else {
					wantField(t, a, "modified", b["modified"])
				}
			}
			if got := list(t, "o", "-modified"); got[0] != "p1 changed" {
				t.Errorf("o=-modified: %v", got)
			}
		})

		t.Run("staff may list another user's", func(t *testing.T) {
			theirs := strings.Join(uuids(w.actions(t, u)), " ")
			owners := strings.Join(uuids(w.actions(t, tm.owner)), " ")
			for _, c := range []struct {
				who  uaUser
				kv   []string
				want string
			}{
				{w.staff, []string{"user_uuid", u.uuid}, theirs},
				{w.staff, []string{"user_uuid", u.u.UUID.String()}, theirs},
				{w.staff, nil, ""},
				// For anyone else the parameter changes nothing: their own.
				{tm.owner, []string{"user_uuid", u.uuid}, owners},
			} {
				if got := strings.Join(uuids(w.actions(t, c.who, c.kv...)), " "); got != c.want {
					t.Errorf("%v as %s: %s, want %s", c.kv, c.who.name, got, c.want)
				}
			}
			if got := summary(t, w, w.staff, "user_uuid", u.uuid, "urgency", "high"); !strings.HasPrefix(got, `{"total":3,`) {
				t.Errorf("staff's summary of another user's high actions: %s", got)
			}
			if got := summary(t, w, tm.owner, "user_uuid", u.uuid); !strings.HasPrefix(got, `{"total":1,`) {
				t.Errorf("the owner's summary with another's user_uuid: %s", got)
			}
		})

		t.Run("anonymous", func(t *testing.T) {
			id := byTitle(t, w.actions(t, u))["p1 changed"]
			for _, p := range []string{"/api/user-actions/", "/api/user-actions/summary/", "/api/user-actions/" + id + "/",
				"/api/user-action-executions/", "/api/user-action-providers/"} {
				wantDetail(t, w.do(t, http.MethodGet, p, uaUser{}, nil), http.StatusUnauthorized, false)
			}
			for _, p := range []string{"silence", "unsilence", "execute_action"} {
				wantDetail(t, w.do(t, http.MethodPost, "/api/user-actions/"+id+"/"+p+"/", uaUser{}, map[string]any{"action_label": "Look"}),
					http.StatusUnauthorized, false)
			}
			if got := w.actions(t, u, "include_silenced", "true"); slices.ContainsFunc(got, func(a map[string]any) bool { return a["is_effectively_silenced"] == true }) {
				t.Errorf("an anonymous request silenced an action")
			}
		})
	})
}

// summary is the summary body as who sees it.
func summary(t testing.TB, w *uaWorld, who uaUser, kv ...string) string {
	t.Helper()
	return strings.TrimSpace(string(w.do(t, http.MethodGet, uaQuery("/api/user-actions/summary/", kv...), who, nil).Want(t, http.StatusOK).Body))
}
