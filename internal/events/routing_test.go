package events_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/events"
)

// TestRouting: an event reaches a webhook only when its tenant enables the
// type, the webhook is global or lists the tenant, enables the type and is
// enabled (FusionAuth compat §6.6). An event nobody receives writes no
// Webhook Event Log row.
func TestRouting(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		svc := e.Events
		rvc, osc, ua := events.TypeResourceVersionCreate, events.TypeOrderStateChanged, events.TypeUserAction

		// tA enables resource.version.created and user.action, and has
		// order.state-changed configured but off; tB enables only
		// resource.version.created; tC enables nothing; tD enables only
		// order.state-changed.
		tA := tenant(t, svc, "A", map[string]events.EventSetting{
			rvc: on(events.TxNone), ua: on(events.TxNone), osc: {Enabled: false, TransactionType: events.TxNone}})
		tB := tenant(t, svc, "B", map[string]events.EventSetting{rvc: on(events.TxNone)})
		tC := tenant(t, svc, "C", nil)
		tD := tenant(t, svc, "D", map[string]events.EventSetting{osc: on(events.TxNone)})

		recv := map[string]*receiver{}
		for _, n := range []string{"global", "a", "b", "typeOff", "disabled", "noTenant", "globalTypeOff"} {
			recv[n] = newReceiver(t, nil)
		}
		hooks := map[string]*events.Webhook{
			"global": hook(t, svc, recv["global"].URL, func(w *events.Webhook) {
				w.Global, w.EventsEnabled = true, map[string]bool{rvc: true}
			}),
			"a": hook(t, svc, recv["a"].URL, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = []uuid.UUID{tA}, map[string]bool{rvc: true, osc: true}
			}),
			"b": hook(t, svc, recv["b"].URL, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = []uuid.UUID{tB}, map[string]bool{rvc: true}
			}),
			// Lists tA and tB but has the type switched off.
			"typeOff": hook(t, svc, recv["typeOff"].URL, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = []uuid.UUID{tA, tB}, map[string]bool{rvc: false, osc: true}
			}),
			"disabled": hook(t, svc, recv["disabled"].URL, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = []uuid.UUID{tA, tB, tD}, map[string]bool{rvc: true, osc: true}
			}),
			// Not global and no tenants: FusionAuth's unused webhook.
			"noTenant": hook(t, svc, recv["noTenant"].URL, func(w *events.Webhook) {
				w.EventsEnabled = map[string]bool{rvc: true, osc: true, ua: true}
			}),
			"globalTypeOff": hook(t, svc, recv["globalTypeOff"].URL, func(w *events.Webhook) {
				w.Global, w.EventsEnabled = true, map[string]bool{osc: true}
			}),
		}
		base, err := svc.WebhookForMerge(ctx, hooks["disabled"].ID)
		if err != nil {
			t.Fatal(err)
		}
		base.Enabled = false
		if w, err := svc.UpdateWebhook(ctx, base.ID, *base); err != nil || w.Enabled {
			t.Fatalf("disable webhook: %+v, %v", w, err)
		}

		cases := []struct {
			name   string
			tenant uuid.UUID
			typ    string
			want   []string // webhooks that receive it
		}{
			{"tenant A enables the type", tA, rvc, []string{"global", "a"}},
			{"tenant B enables the type", tB, rvc, []string{"global", "b"}},
			{"the default tenant enables every type", events.DefaultTenantID, rvc, []string{"global"}},
			{"the tenant has the type configured but off", tA, osc, nil},
			{"the tenant does not configure the type", tC, rvc, nil},
			{"the tenant enables it but only the global webhook takes it", tD, osc, []string{"globalTypeOff"}},
			{"the tenant enables it but no webhook does", tA, ua, nil},
		}
		type sent struct {
			id   uuid.UUID
			want []string
		}
		var delivered []sent
		for _, c := range cases {
			linked := uuid.New()
			p := mustPublish(t, e.DB, svc, events.Event{Type: c.typ, TenantID: c.tenant, LinkedObjectID: linked,
				Fields: map[string]any{"case": c.name}})
			if p.Webhooks != len(c.want) {
				t.Errorf("%s: Published.Webhooks = %d, want %d", c.name, p.Webhooks, len(c.want))
			}
			rows := countRows(t, e.DB, `SELECT COUNT(*) FROM webhook_events WHERE linked_object_id = ?`, linked.String())
			if len(c.want) == 0 {
				if p.ID != uuid.Nil || rows != 0 {
					t.Errorf("%s: nobody receives it, yet Published.ID = %s and %d webhook_events rows", c.name, p.ID, rows)
				}
				continue
			}
			if rows != 1 {
				t.Errorf("%s: %d webhook_events rows, want 1", c.name, rows)
			}
			delivered = append(delivered, sent{p.ID, c.want})
		}

		// Wait until every delivery has ended, so the receivers' records
		// are final: nothing else is left to send.
		wantAt := map[string][]string{}
		for _, s := range delivered {
			lg := waitLog(t, svc, s.id, "all deliveries finished", finished)
			if lg.Result != events.ResultSucceeded {
				t.Errorf("event %s: result %s, want Succeeded", s.id, lg.Result)
			}
			var gotHooks, wantHooks []string
			for _, id := range lg.WebhookIDs {
				gotHooks = append(gotHooks, id.String())
			}
			for _, n := range s.want {
				wantHooks = append(wantHooks, hooks[n].ID.String())
				wantAt[n] = append(wantAt[n], s.id.String())
			}
			sort.Strings(gotHooks)
			sort.Strings(wantHooks)
			if !slices.Equal(gotHooks, wantHooks) {
				t.Errorf("event %s went to webhooks %v, want %v", s.id, gotHooks, wantHooks)
			}
		}
		// River marks a job completed shortly after its Work returned.
		eventually(t, "every delivery job completed", func() bool {
			return countRows(t, e.DB, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_delivery' AND state <> 'completed'`) == 0
		})
		for name, rc := range recv {
			var got []string
			for _, d := range rc.all() {
				got = append(got, d.eventID(t))
			}
			sort.Strings(got)
			want := wantAt[name]
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("webhook %q received events %v, want %v", name, got, want)
			}
		}
		if n := countRows(t, e.DB, `SELECT COUNT(*) FROM webhook_events`); n != len(delivered) {
			t.Errorf("%d webhook_events rows, want %d (one per delivered event, none for the others)", n, len(delivered))
		}
	})
}
