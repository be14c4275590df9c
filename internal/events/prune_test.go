package events_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// TestPrune: with a retention of 30 days, Prune deletes finished events
// (succeeded or vetoed) older than that with their attempts, and keeps
// recent ones and old ones whose deliveries are still pending.
func TestPrune(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	cfg := fastConfig()
	cfg.LogRetentionDays = 30
	// Each database gets its own clock: the two run in parallel, and a
	// shared one moved by the other made Prune see the past (flaky).
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		clk := dbtest.NewClock(now)
		// No workers: an event under None stays pending, its job never run.
		e := startEnv(t, url, cfg, envOptions{Clock: clk.Now, NoWork: true})
		ctx := context.Background()
		rvc := events.TypeResourceVersionCreate
		accept := newReceiver(t, status(http.StatusOK))
		refuse := newReceiver(t, status(http.StatusServiceUnavailable))
		waits := tenant(t, e.Events, "waits", map[string]events.EventSetting{rvc: on(events.TxAny)})
		queues := tenant(t, e.Events, "queues", map[string]events.EventSetting{rvc: on(events.TxNone)})
		vetoing := tenant(t, e.Events, "vetoes", map[string]events.EventSetting{rvc: on(events.TxAny)})
		for _, h := range []struct {
			url     string
			tenants []uuid.UUID
		}{{accept.URL, []uuid.UUID{waits, queues}}, {refuse.URL, []uuid.UUID{vetoing}}} {
			hook(t, e.Events, h.url, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = h.tenants, map[string]bool{rvc: true}
			})
		}

		at := func(age time.Duration, tn uuid.UUID) uuid.UUID {
			t.Helper()
			clk.Set(now.Add(-age))
			p, err := publish(t, e.DB, e.Events, events.Event{Type: rvc, TenantID: tn, Fields: map[string]any{"age": age.String()}})
			if tn == vetoing {
				wantVeto(t, err)
				got := refuse.wait(t, 1)
				return uuid.MustParse(got[len(got)-1].eventID(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		const day = 24 * time.Hour
		oldDone := at(40*day, waits)
		oldVetoed := at(35*day, vetoing)
		oldPending := at(40*day, queues)
		recentDone := at(10*day, waits)
		edgeDone := at(29*day, waits)
		clk.Set(now)

		oldDoneLog := waitLog(t, e.Events, oldDone, "Succeeded", finished)
		waitLog(t, e.Events, oldVetoed, "Failed", func(l *events.EventLog) bool { return l.Result == events.ResultFailed })
		if l := waitLog(t, e.Events, oldPending, "logged", func(*events.EventLog) bool { return true }); l.Pending != 1 || l.Result != events.ResultRunning {
			t.Fatalf("the queued event is %s with %d pending; want Running with 1", l.Result, l.Pending)
		}
		if !oldDoneLog.Created.Equal(now.Add(-40 * day).Truncate(time.Microsecond)) {
			t.Fatalf("event created %v; the injected clock said %v", oldDoneLog.Created, now.Add(-40*day))
		}

		// Keeping forever is the default: nothing goes.
		keepAll := events.New(e.DB, fastConfig(), nil)
		if n, err := keepAll.Prune(ctx); err != nil || n != 0 {
			t.Fatalf("Prune without a retention = %d, %v; want 0", n, err)
		}

		n, err := e.Events.Prune(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want 2 (the old finished events)", n, err)
		}
		for _, id := range []uuid.UUID{oldDone, oldVetoed} {
			if _, err := e.Events.GetEventLog(ctx, id); errs.KindOf(err) != errs.NotFound {
				t.Errorf("old finished event %s: %v; want it pruned", id, err)
			}
		}
		if _, err := e.Events.GetAttemptLog(ctx, oldDoneLog.Attempts[0].ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("attempt of a pruned event: %v; want it pruned too", err)
		}
		for _, id := range []uuid.UUID{oldPending, recentDone, edgeDone} {
			if _, err := e.Events.GetEventLog(ctx, id); err != nil {
				t.Errorf("event %s: %v; want it kept", id, err)
			}
		}
		if n := countRows(t, e.DB, `SELECT COUNT(*) FROM webhook_attempts WHERE event_seq NOT IN (SELECT seq FROM webhook_events)`); n != 0 {
			t.Errorf("%d attempts left without their event", n)
		}
		if n, err := e.Events.Prune(ctx); err != nil || n != 0 {
			t.Errorf("a second Prune = %d, %v; want 0", n, err)
		}
	})
}
