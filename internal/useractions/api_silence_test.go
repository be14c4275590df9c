package useractions_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/useractions/provider"
)

// TestUserActionsSilence covers silence, unsilence and bulk_silence: the
// duration's bounds, permanent and temporary silences (the latter ending by
// itself as time passes), silence surviving re-detection, and bulk silence
// touching only the caller's matching actions.
func TestUserActionsSilence(t *testing.T) {
	t.Parallel()
	eachUAWorld(t, func(t *testing.T, w *uaWorld) {
		u, v := w.newUser(t, "u", nil), w.newUser(t, "v", nil)
		// v has the same actions as u: same objects, same everything.
		report := func(title2 string, urg2 provider.Urgency) {
			var acts []provider.Action
			for _, who := range []uaUser{u, v} {
				acts = append(acts,
					probeAction(who, 1, "a1", provider.High, nil),
					probeAction(who, 2, title2, urg2, nil),
					probeAction(who, 3, "a3", provider.Medium, nil),
					probeAction(who, 4, "a4", provider.Low, nil),
					probeAction(who, 5, "a5", provider.High, nil))
			}
			w.probe.set([]int64{u.u.ID, v.u.ID}, acts...)
		}
		report("a2", provider.Low)
		w.detect(t)
		ids := byTitle(t, w.actions(t, u))
		theirs := byTitle(t, w.actions(t, v))
		path := func(title, what string) string { return "/api/user-actions/" + ids[title] + "/" + what }
		get := func(t testing.TB, title string) map[string]any {
			t.Helper()
			return w.do(t, http.MethodGet, path(title, "?include_silenced=true"), u, nil).Want(t, http.StatusOK).Object(t)
		}
		visible := func(t testing.TB, who uaUser) string {
			t.Helper()
			return strings.Join(names(w.actions(t, who, "o", "created")), " ")
		}

		t.Run("duration bounds", func(t *testing.T) {
			for _, body := range []any{
				map[string]any{"duration_days": 0}, map[string]any{"duration_days": 366}, map[string]any{"duration_days": -1},
				map[string]any{"duration_days": nil}, map[string]any{"duration_days": "7"}, map[string]any{"duration_days": 1.5},
			} {
				wantFieldErrors(t, w.do(t, http.MethodPost, path("a1", "silence/"), u, body), "duration_days")
				wantFieldErrors(t, w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/", u, body), "duration_days")
			}
			if got := visible(t, u); got != "a1 a2 a3 a4 a5" {
				t.Fatalf("refused silences silenced something: %s", got)
			}
			for _, days := range []int{1, 365} {
				r := w.do(t, http.MethodPost, path("a1", "silence/"), u, map[string]any{"duration_days": days}).Want(t, http.StatusOK)
				wantField(t, r.Object(t), "duration_days", days)
				w.do(t, http.MethodPost, path("a1", "unsilence/"), u, nil).Want(t, http.StatusOK)
			}
		})

		t.Run("temporary silence ends by itself", func(t *testing.T) {
			silencedAt := w.clock.Now()
			r := w.do(t, http.MethodPost, path("a1", "silence/"), u, map[string]any{"duration_days": 2}).Want(t, http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != `{"status":"silenced","duration_days":2}` {
				t.Fatalf("silence answered %s", got)
			}
			until := silencedAt.AddDate(0, 0, 2)
			a := get(t, "a1")
			wantField(t, a, "is_silenced", false)
			wantField(t, a, "is_temporarily_silenced", true)
			wantField(t, a, "is_effectively_silenced", true)
			wantField(t, a, "silenced_until", until.Format(time.RFC3339))
			if got := visible(t, u); got != "a2 a3 a4 a5" {
				t.Fatalf("visible while silenced: %s", got)
			}
			// Hidden from the detail and from silence unless asked for.
			wantDetail(t, w.do(t, http.MethodGet, path("a1", ""), u, nil), http.StatusNotFound, false)
			wantDetail(t, w.do(t, http.MethodPost, path("a1", "silence/"), u, nil), http.StatusNotFound, false)

			w.clock.Advance(2*24*time.Hour - time.Second)
			if got := visible(t, u); got != "a2 a3 a4 a5" {
				t.Fatalf("a second before the end: %s", got)
			}
			w.clock.Advance(time.Second)
			if got := visible(t, u); got != "a1 a2 a3 a4 a5" {
				t.Fatalf("after the silence ended: %s", got)
			}
			a = get(t, "a1")
			wantField(t, a, "is_temporarily_silenced", false)
			wantField(t, a, "is_effectively_silenced", false)
			wantField(t, w.do(t, http.MethodGet, path("a1", ""), u, nil).Want(t, http.StatusOK).Object(t), "uuid", ids["a1"])
			// The daily cleanup then forgets the end.
			w.clock.Advance(time.Second)
			if n, err := w.h.App.Actions.CleanupExpiredSilences(t.Context()); err != nil || n != 1 {
				t.Fatalf("cleanup cleared %d (%v), want 1", n, err)
			}
			wantField(t, get(t, "a1"), "silenced_until", nil)
		})

		t.Run("permanent silence and unsilence", func(t *testing.T) {
			for _, body := range []any{nil, map[string]any{}} {
				r := w.do(t, http.MethodPost, path("a2", "silence/"), u, body).Want(t, http.StatusOK)
				if got := strings.TrimSpace(string(r.Body)); got != `{"status":"silenced","duration_days":null}` {
					t.Fatalf("silence answered %s", got)
				}
				w.clock.Advance(400 * 24 * time.Hour)
				a := get(t, "a2")
				wantField(t, a, "is_silenced", true)
				wantField(t, a, "is_effectively_silenced", true)
				wantField(t, a, "silenced_until", nil)
				if got := visible(t, u); got != "a1 a3 a4 a5" {
					t.Fatalf("400 days after a permanent silence: %s", got)
				}
				// Unsilence finds it though it is hidden.
				r = w.do(t, http.MethodPost, path("a2", "unsilence/"), u, nil).Want(t, http.StatusOK)
				if got := strings.TrimSpace(string(r.Body)); got != `{"status":"unsilenced"}` {
					t.Fatalf("unsilence answered %s", got)
				}
				wantField(t, get(t, "a2"), "is_effectively_silenced", false)
			}
			// Unsilencing what is not silenced is harmless; what is not there,
			// or not the caller's, is not found.
			w.do(t, http.MethodPost, path("a2", "unsilence/"), u, nil).Want(t, http.StatusOK)
			for _, id := range []string{theirs["a2"], "0123456789abcdef0123456789abcdef", "not-a-uuid"} {
				wantDetail(t, w.do(t, http.MethodPost, "/api/user-actions/"+id+"/unsilence/", u, nil), http.StatusNotFound, false)
			}
			if got := visible(t, u); got != "a1 a2 a3 a4 a5" {
				t.Fatalf("after unsilencing: %s", got)
			}
		})

		t.Run("silence survives re-detection", func(t *testing.T) {
			w.do(t, http.MethodPost, path("a2", "silence/"), u, nil).Want(t, http.StatusOK)
			w.do(t, http.MethodPost, path("a3", "silence/"), u, map[string]any{"duration_days": 30}).Want(t, http.StatusOK)
			until := get(t, "a3")["silenced_until"]
			// a2 changes title and urgency; a3 is detected again unchanged.
			w.clock.Advance(time.Hour)
			report("a2 now high", provider.High)
			w.detect(t)
			a := get(t, "a2")
			wantField(t, a, "title", "a2 now high")
			wantField(t, a, "urgency", "high")
			wantField(t, a, "is_silenced", true)
			a3 := get(t, "a3")
			wantField(t, a3, "silenced_until", until)
			wantField(t, a3, "is_temporarily_silenced", true)
			if got := visible(t, u); got != "a1 a4 a5" {
				t.Fatalf("after re-detection: %s", got)
			}
			// Once the condition clears the row goes, silence and all; when it
			// comes back it is a new, unsilenced action.
			w.probe.set([]int64{u.u.ID}, probeAction(u, 1, "a1", provider.High, nil), probeAction(u, 4, "a4", provider.Low, nil),
				probeAction(u, 5, "a5", provider.High, nil))
			w.detect(t)
			wantDetail(t, w.do(t, http.MethodGet, path("a2", "?include_silenced=true"), u, nil), http.StatusNotFound, false)
			report("a2", provider.Low)
			w.detect(t)
			again := byTitle(t, w.actions(t, u))
			if got := visible(t, u); got != "a1 a4 a5 a2 a3" {
				t.Fatalf("after the conditions came back: %s", got)
			}
			if again["a2"] == ids["a2"] || again["a3"] == ids["a3"] || again["a1"] != ids["a1"] {
				t.Fatalf("uuids before %v, after %v: only a2 and a3 should be new", ids, again)
			}
			ids = again
		})

		t.Run("bulk silence touches only the caller's matching actions", func(t *testing.T) {
			r := w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/?urgency=high", u, map[string]any{"duration_days": 14}).Want(t, http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != `{"status":"bulk_silenced","count":2,"duration_days":14}` {
				t.Fatalf("bulk silence answered %s", got)
			}
			if got := visible(t, u); got != "a4 a2 a3" {
				t.Fatalf("u's visible actions after silencing the high ones: %s", got)
			}
			for _, title := range []string{"a1", "a5"} {
				wantField(t, get(t, title), "is_temporarily_silenced", true)
			}
			// v's identical actions are untouched.
			if got := visible(t, v); got != "a1 a2 a3 a4 a5" {
				t.Fatalf("v's actions after u's bulk silence: %s", got)
			}
			// A bad duration silences nothing.
			wantFieldErrors(t, w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/", u, map[string]any{"duration_days": 400}), "duration_days")
			wantFieldErrors(t, w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/?urgency=critical", u, nil), "urgency")
			if got := visible(t, u); got != "a4 a2 a3" {
				t.Fatalf("a refused bulk silence silenced: %s", got)
			}
			// Staff naming v still silence only their own (none).
			r = w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/?user_uuid="+v.uuid, w.staff, nil).Want(t, http.StatusOK)
			wantField(t, r.Object(t), "count", 0)
			// Without filters or duration: the rest of u's, for good.
			r = w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/", u, nil).Want(t, http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != `{"status":"bulk_silenced","count":3,"duration_days":null}` {
				t.Fatalf("bulk silence answered %s", got)
			}
			if got := visible(t, u); got != "" {
				t.Fatalf("u still sees %s", got)
			}
			wantField(t, get(t, "a4"), "is_silenced", true)
			if got := visible(t, v); got != "a1 a2 a3 a4 a5" {
				t.Fatalf("v's actions after u's bulk silences: %s", got)
			}
			// Nothing left to match.
			wantField(t, w.do(t, http.MethodPost, "/api/user-actions/bulk_silence/", u, nil).Want(t, http.StatusOK).Object(t), "count", 0)
		})
	})
}
