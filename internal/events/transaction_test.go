package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/marketplace"
)

// fusionAuthMet is FusionAuth's TransactionType.success, written out
// independently (in integers) from the compat reference §7.4.
func fusionAuthMet(level events.TransactionType, n, s int) bool {
	switch level {
	case events.TxAny:
		return s > 0
	case events.TxSimpleMajority:
		return 2*s >= n
	case events.TxSuperMajority:
		return 3*s >= 2*n
	case events.TxAbsoluteMajority:
		return s == n
	}
	return true
}

func TestTransactionTypeMet(t *testing.T) {
	t.Parallel()
	for _, level := range events.TransactionTypes {
		for n := 1; n <= 7; n++ {
			for s := 0; s <= n; s++ {
				if got, want := level.Met(n, s), fusionAuthMet(level, n, s); got != want {
					t.Errorf("%s.Met(n=%d, s=%d) = %v, want %v", level, n, s, got, want)
				}
			}
		}
	}
}

// TestTransactionalLevels drives resource changes through the marketplace
// with the default tenant's resource.version.created set to each level and
// n webhooks of which s accept: the change commits exactly when FusionAuth's
// rule says so. A vetoed change leaves nothing behind (the resource, its
// history and River's queue are as before) yet its Failed event is logged
// with every attempt; through the Waldur API the veto is a 504.
func TestTransactionalLevels(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		h, staff, resID := startTransactional(t, url)
		a := h.App
		ctx := context.Background()
		ok := newReceiver(t, status(http.StatusOK))
		bad := newReceiver(t, status(http.StatusInternalServerError))
		rvc := events.TypeResourceVersionCreate
		setLevel := func(level events.TransactionType) { setVersionLevel(t, a.Events, level) }
		versions := func() int {
			return countRows(t, a.DB, `SELECT COUNT(*) FROM versions WHERE object_uuid = ?`, resID.String())
		}
		allDeliveryJobs := func() int {
			return countRows(t, a.DB, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_delivery'`)
		}
		// eventFor finds the single logged event whose body carries marker.
		eventFor := func(marker string) *events.EventLog {
			t.Helper()
			found, total, err := a.Events.SearchEventLogs(ctx, events.EventLogSearch{Event: marker, NumberOfResults: 10})
			if err != nil || total != 1 {
				t.Fatalf("event log search for %q: %d events (%v); want exactly 1", marker, total, err)
			}
			lg, err := a.Events.GetEventLog(ctx, found[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			return lg
		}

		step := 0
		for _, level := range []events.TransactionType{events.TxAny, events.TxSimpleMajority, events.TxSuperMajority, events.TxAbsoluteMajority, events.TxNone} {
			setLevel(level)
			for n := 1; n <= 4; n++ {
				for s := 0; s <= n; s++ {
					if level == events.TxNone && (s > 0 || n != 2) {
						continue // None commits whatever happens: one case is enough
					}
					step++
					name := fmt.Sprintf("%s n=%d s=%d", level, n, s)
					var hooks []*events.Webhook
					for i := range n {
						target := ok.URL
						if i >= s {
							target = bad.URL
						}
						hooks = append(hooks, hook(t, a.Events, fmt.Sprintf("%s/%d/%d", target, step, i), func(w *events.Webhook) {
							w.TenantIDs = []uuid.UUID{events.DefaultTenantID}
							w.EventsEnabled = map[string]bool{rvc: true}
						}))
					}
					before, err := a.Market.GetResource(ctx, staff, marketplace.ConsumerView, resID)
					if err != nil {
						t.Fatal(err)
					}
					v0, j0 := versions(), allDeliveryJobs()
					marker := fmt.Sprintf("txn-%s-%d", uuid.NewString()[:8], step)
					_, err = a.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, resID, marketplace.ResourceUpdate{Description: &marker})
					after, gerr := a.Market.GetResource(ctx, staff, marketplace.ConsumerView, resID)
					if gerr != nil {
						t.Fatal(gerr)
					}
					lg := eventFor(marker)
					if len(lg.WebhookIDs) != n || lg.TransactionType != level {
						t.Errorf("%s: event logged for %d webhooks at level %s, want %d at %s", name, len(lg.WebhookIDs), lg.TransactionType, n, level)
					}
					// A transactional level calls every webhook in the request.
					if level != events.TxNone && len(lg.Attempts) != n {
						t.Errorf("%s: %d attempts logged with the change, want %d", name, len(lg.Attempts), n)
					}
					if level == events.TxNone {
						if err != nil || after.Description != marker || lg.Result == events.ResultFailed {
							t.Errorf("%s: err %v, description %q, log %s; None must commit", name, err, after.Description, lg.Result)
						}
					} else if fusionAuthMet(level, n, s) {
						if err != nil {
							t.Errorf("%s: the change failed (%v); the level is met", name, err)
						} else {
							wantResult := events.ResultSucceeded
							if s < n {
								wantResult = events.ResultRunning // the failed ones are retried
							}
							if after.Description != marker || versions() != v0+1 || lg.Result != wantResult ||
								lg.SuccessfulAttempts != s || lg.FailedAttempts != n-s {
								t.Errorf("%s: committed change: description %q, %d new versions, log %s %d/%d; want %q, 1, %s %d/%d",
									name, after.Description, versions()-v0, lg.Result, lg.SuccessfulAttempts, lg.FailedAttempts, marker, wantResult, s, n-s)
							}
							// One retry job per failed webhook, none for the others.
							if jobs := deliveryJobs(t, a.DB, lg.ID); len(jobs) != n-s {
								t.Errorf("%s: %d delivery jobs for the event, want %d (one per failed webhook)", name, len(jobs), n-s)
							}
						}
					} else {
						wantVeto(t, err)
						if !reflect.DeepEqual(before, after) {
							t.Errorf("%s: vetoed change altered the resource:\nbefore %+v\nafter  %+v", name, before, after)
						}
						if versions() != v0 {
							t.Errorf("%s: vetoed change recorded %d history versions", name, versions()-v0)
						}
						if j := allDeliveryJobs(); j != j0 {
							t.Errorf("%s: vetoed change left %d delivery jobs", name, j-j0)
						}
						if jobs := deliveryJobs(t, a.DB, lg.ID); len(jobs) != 0 {
							t.Errorf("%s: vetoed event has River jobs %v", name, jobs)
						}
						okN := 0
						for _, at := range lg.Attempts {
							if at.Result == events.AttemptSuccess {
								okN++
							}
						}
						if lg.Result != events.ResultFailed || okN != s || lg.Pending != 0 {
							t.Errorf("%s: vetoed event logged %s with %d successful attempts, %d pending; want Failed, %d, 0",
								name, lg.Result, okN, lg.Pending, s)
						}
					}
					for _, w := range hooks {
						if err := a.Events.DeleteWebhook(ctx, w.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		}

		// Through the Waldur API: one failing webhook under AbsoluteMajority.
		setLevel(events.TxAbsoluteMajority)
		hook(t, a.Events, bad.URL+"/http", func(w *events.Webhook) {
			w.TenantIDs = []uuid.UUID{events.DefaultTenantID}
			w.EventsEnabled = map[string]bool{rvc: true}
		})
		before := h.Do(http.MethodGet, "/api/marketplace-resources/"+resID.String()+"/", apptest.Staff, nil).Want(t, http.StatusOK)
		v0 := versions()
		r := h.Do(http.MethodPatch, "/api/marketplace-resources/"+resID.String()+"/", apptest.Staff,
			map[string]any{"description": "vetoed over HTTP"})
		r.Want(t, http.StatusGatewayTimeout)
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || body["detail"] != events.MsgWebhookTransaction {
			t.Errorf("504 body %s; want {\"detail\": %q}", r.Body, events.MsgWebhookTransaction)
		}
		after := h.Do(http.MethodGet, "/api/marketplace-resources/"+resID.String()+"/", apptest.Staff, nil).Want(t, http.StatusOK)
		if string(before.Body) != string(after.Body) || versions() != v0 {
			t.Errorf("the vetoed PATCH changed the resource or its history:\nbefore %s\nafter  %s", before.Body, after.Body)
		}
		if lg := eventFor("vetoed over HTTP"); lg.Result != events.ResultFailed || len(lg.Attempts) != 1 || lg.Attempts[0].StatusCode != 500 {
			t.Errorf("the vetoed PATCH's event: %s with %d attempts; want Failed with one 500", lg.Result, len(lg.Attempts))
		}
	})
}

// startTransactional starts heed on url and returns it with the staff
// user and a live demo resource, whose changes publish
// resource.version-create.
func startTransactional(t *testing.T, url string) (*apptest.Harness, *auth.User, uuid.UUID) {
	t.Helper()
	h := startHeed(t, url, fastConfig())
	ctx := context.Background()
	staff, err := h.App.Users.Authenticate(ctx, apptest.Staff)
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := h.App.Market.ListResources(ctx, staff, marketplace.ConsumerView,
		marketplace.ResourceFilter{States: []string{"OK"}, Ordering: "created"}, db.Page{Limit: 1})
	if err != nil || len(live) == 0 {
		t.Fatalf("no live resource in the demo data (%v)", err)
	}
	return h, staff, live[0].UUID
}

// setVersionLevel sets the default tenant's transaction level for
// resource.version-create.
func setVersionLevel(t *testing.T, s *events.Service, level events.TransactionType) {
	t.Helper()
	ctx := context.Background()
	cur, err := s.GetTenant(ctx, events.DefaultTenantID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Events[events.TypeResourceVersionCreate] = on(level)
	if _, err := s.UpdateTenant(ctx, cur.ID, *cur); err != nil {
		t.Fatal(err)
	}
}

// TestTransactionalGoneDisablesWebhook: a webhook that answers 410 Gone to
// a call made inside the request is disabled as a delivery job would
// disable it, whether the change commits (no retry is scheduled for it)
// or is vetoed (the change rolls back, the receiver's answer stands).
func TestTransactionalGoneDisablesWebhook(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		h, staff, resID := startTransactional(t, url)
		a := h.App
		ctx := context.Background()
		rvc := events.TypeResourceVersionCreate
		setVersionLevel(t, a.Events, events.TxAny)
		ok := newReceiver(t, status(http.StatusOK))
		gone := newReceiver(t, status(http.StatusGone))
		newHook := func(target string) *events.Webhook {
			return hook(t, a.Events, target, func(w *events.Webhook) {
				w.TenantIDs = []uuid.UUID{events.DefaultTenantID}
				w.EventsEnabled = map[string]bool{rvc: true}
			})
		}
		wantDisabled := func(what string, w *events.Webhook) {
			t.Helper()
			got, err := a.Events.GetWebhook(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Enabled || got.DisabledAt == nil || !strings.Contains(got.DisabledReason, "410") {
				t.Errorf("%s: webhook enabled=%v disabledAt=%v reason=%q; want disabled for its 410", what, got.Enabled, got.DisabledAt, got.DisabledReason)
			}
		}
		describe := func(text string) error {
			_, err := a.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, resID, marketplace.ResourceUpdate{Description: &text})
			return err
		}

		// Met (one success under Any): the change commits, the 410 webhook
		// is disabled with it, and nothing is retried.
		okHook, goneHook := newHook(ok.URL+"/met"), newHook(gone.URL+"/met")
		if err := describe("met with a 410"); err != nil {
			t.Fatalf("the change failed (%v); Any is met", err)
		}
		wantDisabled("committed change", goneHook)
		found, total, err := a.Events.SearchEventLogs(ctx, events.EventLogSearch{Event: "met with a 410", NumberOfResults: 10})
		if err != nil || total != 1 {
			t.Fatalf("event log: %d events (%v); want 1", total, err)
		}
		if jobs := deliveryJobs(t, a.DB, found[0].ID); len(jobs) != 0 {
			t.Errorf("delivery jobs %v after a 410 and a success; want none", jobs)
		}
		lg, err := a.Events.GetEventLog(ctx, found[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if lg.Result != events.ResultFailed || lg.Pending != 0 || lg.SuccessfulAttempts != 1 || lg.FailedAttempts != 1 {
			t.Errorf("event log %s, %d pending, %d/%d attempts; want Failed, 0 pending, 1 ok and 1 failed",
				lg.Result, lg.Pending, lg.SuccessfulAttempts, lg.FailedAttempts)
		}
		for _, w := range []*events.Webhook{okHook, goneHook} {
			if err := a.Events.DeleteWebhook(ctx, w.ID); err != nil {
				t.Fatal(err)
			}
		}

		// Vetoed (no success under Any): the change rolls back, the webhook
		// is disabled all the same.
		goneHook = newHook(gone.URL + "/vetoed")
		wantVeto(t, describe("vetoed by a 410"))
		wantDisabled("vetoed change", goneHook)
		if n := len(gone.all()); n != 2 {
			t.Errorf("the 410 receiver was called %d times, want 2 (once per change)", n)
		}
	})
}
