package useractions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// startWithWebhooks runs heed as apptest.Start does (no demo, workers on,
// the test's clock), and lets webhooks reach the test's loopback receiver
// (HEED_WEBHOOK_ALLOW_PRIVATE).
func startWithWebhooks(t *testing.T, dbURL string, clock *uaClock) *apptest.Harness {
	t.Helper()
	return apptest.Start(t, dbURL, apptest.Options{NoDemo: true, Clock: clock.Now,
		Configure: func(c *app.Config) { c.Webhooks = events.Config{AllowPrivate: true} }})
}

// delivered is one event as a webhook received it: the envelope's fields
// and the event's own, side by side.
type delivered map[string]any

func (d delivered) str(k string) string { s, _ := d[k].(string); return s }

// receiver is a webhook endpoint that keeps what it is sent, once per
// event id (deliveries are at least once).
type receiver struct {
	srv  *httptest.Server
	sig  uaSignal
	mu   sync.Mutex
	seen map[string]bool
	got  []delivered
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Event delivered `json:"event"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		if id := body.Event.str("id"); !r.seen[id] {
			r.seen[id] = true
			r.got = append(r.got, body.Event)
		}
		r.mu.Unlock()
		r.sig.fire()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) of(typ string) []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivered
	for _, e := range r.got {
		if e.str("type") == typ {
			out = append(out, e)
		}
	}
	return out
}

// wait returns the events of typ once n have arrived (failing after
// uaWait), and fails when more than n did.
func (r *receiver) wait(t testing.TB, typ string, n int) []delivered {
	t.Helper()
	r.sig.until(t, fmt.Sprintf("%d %s events (have %d)", n, typ, len(r.of(typ))), func() bool { return len(r.of(typ)) >= n })
	got := r.of(typ)
	if len(got) != n {
		t.Fatalf("%d %s events, want %d: %v", len(got), typ, n, got)
	}
	return got
}

// subscribe creates a global webhook to r for types.
func subscribe(t testing.TB, ev *events.Service, url string, types ...string) {
	t.Helper()
	on := map[string]bool{}
	for _, typ := range types {
		on[typ] = true
	}
	if _, err := ev.CreateWebhook(context.Background(), events.Webhook{
		URL: url, ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second, Global: true, EventsEnabled: on,
	}); err != nil {
		t.Fatalf("create webhook: %v", err)
	}
}

// actionIDs maps the pending-order action about order of each of users to
// its owner, by the action's dashed uuid.
func (w *uaWorld) actionIDs(t testing.TB, order uuid.UUID, users ...uaUser) map[string]uaUser {
	t.Helper()
	out := map[string]uaUser{}
	for _, u := range users {
		a := mustAction(t, w.actions(t, u, "action_type", "pending_order", "include_silenced", "true"), order)
		out[uuid.MustParse(a["uuid"].(string)).String()] = u
	}
	return out
}

// wantAbout requires evs to be exactly one event per action of ids, each
// about that action, its owner and order, with the fields detection
// stored.
func wantAbout(t testing.TB, evs []delivered, ids map[string]uaUser, order *marketplace.Order, due time.Time) map[string]delivered {
	t.Helper()
	by := map[string]delivered{}
	for _, e := range evs {
		id := e.str("linkedObjectId")
		u, ok := ids[id]
		if !ok || by[id] != nil {
			t.Fatalf("event %v is not about one of the actions %v", e, ids)
		}
		by[id] = e
		want := map[string]any{
			"userActionId": id, "userId": u.u.UUID.String(), "actionType": "pending_order",
			"title": "Approve pending order: Prepaid", "urgency": "medium", "relatedObjectType": "order",
			"relatedObjectId": order.UUID.String(), "tenantId": events.DefaultTenantID.String(),
			"dueInstant": float64(due.UnixMilli()),
		}
		for k, v := range want {
			if e[k] != v {
				t.Errorf("%s event %s: %s = %v, want %v", e.str("type"), id, k, e[k], v)
			}
		}
	}
	if len(by) != len(ids) {
		t.Fatalf("events about %d actions, want %d", len(by), len(ids))
	}
	return by
}

// TestUserActionEvents: with a webhook subscribed, detection announces the
// actions it creates, the approval that clears a pending order announces
// them resolved (from the approval's own re-detection), silencing
// announces each action silenced with its end, and the dangling cleanup
// announces what it resolves but not actions of types no provider has.
func TestUserActionEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		clock := newUAClock()
		w := newUAWorld(t, startWithWebhooks(t, dbURL, clock), clock)
		ctx := context.Background()
		heed := w.h.App
		rcv := newReceiver(t)
		subscribe(t, heed.Events, rcv.srv.URL,
			events.TypeUserActionCreated, events.TypeUserActionResolved, events.TypeUserActionSilenced)

		tm := w.newTeam(t)
		approvers := []uaUser{tm.owner, tm.manager, tm.admin}
		first := w.pendingOrder(t, tm, 25*time.Hour)
		firstDue := clock.Now().Add(-25 * time.Hour).Add(7 * 24 * time.Hour)
		w.detect(t)
		firstIDs := w.actionIDs(t, first.UUID, approvers...)

		t.Run("detection announces created actions", func(t *testing.T) {
			for _, e := range wantAbout(t, rcv.wait(t, events.TypeUserActionCreated, 3), firstIDs, first, firstDue) {
				if _, ok := e["silencedUntilInstant"]; ok {
					t.Errorf("created event %v has silencedUntilInstant", e)
				}
			}
			// A day later the actions say so (updated in place), and again
			// nothing is created: nothing announced. The outbox row would
			// be written in detection's transaction, so counting is final.
			clock.Advance(24 * time.Hour)
			reports, err := heed.Actions.Update(ctx, "pending_order", nil)
			if err != nil || len(reports) != 1 {
				t.Fatalf("detect: %v, %v", reports, err)
			}
			wantCounts(t, reports[0], 0, 3, 0)
			if n := outboxCount(t, heed.DB, events.TypeUserActionCreated); n != 3 {
				t.Errorf("%d created events written after updating the actions, want the 3 of their creation", n)
			}
		})

		t.Run("approval announces them resolved", func(t *testing.T) {
			if _, err := heed.Market.Transition(ctx, tm.manager.u, first.UUID, marketplace.ApproveByConsumer); err != nil {
				t.Fatalf("approve: %v", err)
			}
			if n := len(w.actions(t, tm.owner, "action_type", "pending_order")); n != 0 {
				t.Fatalf("the owner still has %d pending-order actions after the approval", n)
			}
			wantAbout(t, rcv.wait(t, events.TypeUserActionResolved, 3), firstIDs, first, firstDue)
			if n := len(rcv.of(events.TypeUserActionCreated)); n != 3 {
				t.Errorf("%d created events, want the first detection's 3 only", n)
			}
		})

		second := w.pendingOrder(t, tm, 25*time.Hour)
		secondDue := clock.Now().Add(-25 * time.Hour).Add(7 * 24 * time.Hour)
		w.detect(t)
		secondIDs := w.actionIDs(t, second.UUID, approvers...)
		wantAbout(t, rcv.wait(t, events.TypeUserActionCreated, 6)[3:], secondIDs, second, secondDue)
		idOf := func(u uaUser) string {
			for id, v := range secondIDs {
				if v.name == u.name {
					return id
				}
			}
			t.Fatalf("no action of %s", u.name)
			return ""
		}

		t.Run("silencing announces each action silenced", func(t *testing.T) {
			silencedAt := clock.Now()
			w.do(t, http.MethodPost, "/api/user-actions/"+idOf(tm.manager)+"/silence/", tm.manager, map[string]any{"duration_days": 3}).
				Want(t, http.StatusOK)
			got := rcv.wait(t, events.TypeUserActionSilenced, 1)
			e := wantAbout(t, got, map[string]uaUser{idOf(tm.manager): tm.manager}, second, secondDue)[idOf(tm.manager)]
			if want := float64(silencedAt.AddDate(0, 0, 3).UnixMilli()); e["silencedUntilInstant"] != want {
				t.Errorf("silencedUntilInstant %v, want %v", e["silencedUntilInstant"], want)
			}

			// Bulk silence, for good: the owner's one action, without an end.
			n, err := heed.Actions.BulkSilence(ctx, tm.owner.u, useractions.Filter{ActionType: "pending_order"}, nil)
			if err != nil || n != 1 {
				t.Fatalf("bulk silence: %d, %v; want 1", n, err)
			}
			got = rcv.wait(t, events.TypeUserActionSilenced, 2)
			e = wantAbout(t, got[1:], map[string]uaUser{idOf(tm.owner): tm.owner}, second, secondDue)[idOf(tm.owner)]
			if _, ok := e["silencedUntilInstant"]; ok {
				t.Errorf("silenced for good, yet silencedUntilInstant %v", e["silencedUntilInstant"])
			}
			// Nothing left to silence: nothing announced.
			if n, err := heed.Actions.BulkSilence(ctx, tm.owner.u, useractions.Filter{ActionType: "pending_order"}, nil); err != nil || n != 0 {
				t.Fatalf("second bulk silence: %d, %v; want 0", n, err)
			}
		})

		t.Run("cleanup announces what it resolves", func(t *testing.T) {
			// An action of a type no provider has any more: dropped quietly.
			orphan := uuid.New()
			w.sql(t, `INSERT INTO user_actions (uuid, user_id, action_type, object_type, object_id, title, urgency, urgency_rank,
				content_hash, created, modified) VALUES (?, ?, 'retired', 'order', ?, 'Old', 'low', 2, 'x', ?, ?)`,
				orphan.String(), tm.admin.u.ID, second.ID, clock.Now(), clock.Now())
			// An inactive user's action: resolved, as detection would.
			w.sql(t, "UPDATE users SET is_active = ? WHERE id = ?", false, tm.admin.u.ID)
			// The cleanup of an engine with heed's marketplace providers and
			// the probe: the app's account_restriction provider names in
			// ObjectTables a table whose id is not the object id
			// (user_action_instances is keyed by num), which the dangling
			// check cannot use (PostgreSQL refuses uuid = bigint).
			svc := useractions.New(heed.DB, heed.Jobs, useractions.DefaultSettings(), nil)
			svc.Events = heed.Events
			svc.Register(heed.Market.PendingOrders(0))
			svc.Register(heed.Market.ExpiringResources(nil))
			svc.Register(w.probe)
			n, err := svc.CleanupDangling(ctx)
			if err != nil || n != 2 {
				t.Fatalf("cleanup: %d, %v; want 2 deleted", n, err)
			}
			// The outbox row is written in the cleanup's transaction, so its
			// absence is final.
			var orphanEvents int
			if err := heed.DB.Reader().QueryRow(ctx, "SELECT COUNT(*) FROM webhook_events WHERE linked_object_id = ?",
				orphan.String()).Scan(&orphanEvents); err != nil {
				t.Fatal(err)
			}
			if orphanEvents != 0 {
				t.Errorf("%d events about the retired type's action, want none", orphanEvents)
			}
			got := rcv.wait(t, events.TypeUserActionResolved, 4)
			wantAbout(t, got[3:], map[string]uaUser{idOf(tm.admin): tm.admin}, second, secondDue)
		})
	})
}

// outboxCount counts the events of typ written so far (delivered or not).
func outboxCount(t testing.TB, d *db.DB, typ string) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRow(context.Background(), "SELECT COUNT(*) FROM webhook_events WHERE event_type = ?", typ).Scan(&n); err != nil {
		t.Fatalf("count %s events: %v", typ, err)
	}
	return n
}

// TestUserActionEventsCostNothingUnheard: with an events service but no
// webhook taking user-action events, detection runs the statements it ran
// without one, whatever it writes, plus one listener check per event type
// it has something to announce for: the same for 3 actions as for 40, and
// none at all when nothing changed.
func TestUserActionEventsCostNothingUnheard(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		ev := events.New(e.d, events.Config{}, slog.New(slog.DiscardHandler))
		// A webhook that takes other types does not count as listening.
		subscribe(t, ev, "https://hooks.example.com/heed", events.TypeOrderStateChanged)
		p := &setProvider{typ: "counted"}
		e.svc.Register(p)
		var users []*auth.User
		for i := range 40 {
			users = append(users, e.user(t, fmt.Sprintf("u%d", i), nil))
		}
		report := func(n int) {
			var acts []provider.Action
			for _, u := range users[:n] {
				acts = append(acts, about(u, u, "check "+u.Username))
			}
			p.report(acts...)
		}
		empty := func() {
			if err := e.d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, "DELETE FROM user_actions")
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		detect := func(withEvents bool) int64 {
			t.Helper()
			e.svc.Events = nil
			if withEvents {
				e.svc.Events = ev
			}
			before := e.d.Statements()
			e.update(t, "counted")
			return e.d.Statements() - before
		}
		// cost[withEvents][scenario]
		cost := map[bool]map[string]int64{}
		for _, withEvents := range []bool{false, true} {
			cost[withEvents] = map[string]int64{}
			for _, n := range []int{3, 40} {
				empty()
				report(n)
				cost[withEvents][fmt.Sprintf("create %d", n)] = detect(withEvents)
				cost[withEvents][fmt.Sprintf("unchanged %d", n)] = detect(withEvents)
				report(0)
				cost[withEvents][fmt.Sprintf("resolve %d", n)] = detect(withEvents)
			}
		}
		// What one listener check costs.
		var check int64
		if err := e.d.InTx(ctx, func(tx *db.Tx) error {
			before := e.d.Statements()
			ok, err := ev.Wants(ctx, tx, events.TypeUserActionCreated, events.DefaultTenantID)
			check = e.d.Statements() - before
			if ok {
				t.Error("Wants: true without a webhook taking the type")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var scenarios []string
		for s := range cost[false] {
			scenarios = append(scenarios, s)
		}
		sort.Strings(scenarios)
		for _, s := range scenarios {
			extra := int64(0)
			if !strings.HasPrefix(s, "unchanged") {
				extra = check
			}
			if got, want := cost[true][s], cost[false][s]+extra; got != want {
				t.Errorf("%s: %d statements with events, want %d (%d without, %d per listener check)", s, got, want, cost[false][s], check)
			}
		}
		for _, s := range []string{"create", "unchanged", "resolve"} {
			if a, b := cost[true][s+" 3"], cost[true][s+" 40"]; a != b {
				t.Errorf("%s: %d statements for 3 actions, %d for 40", s, a, b)
			}
		}
		var outbox int
		if err := e.d.Reader().QueryRow(ctx, "SELECT COUNT(*) FROM webhook_events").Scan(&outbox); err != nil {
			t.Fatal(err)
		}
		if outbox != 0 {
			t.Errorf("%d events written with nobody listening", outbox)
		}
	})
}
