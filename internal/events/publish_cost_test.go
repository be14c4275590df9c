package events_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/events"
)

// TestPublishWithoutWebhooks: while no webhook is enabled, publishing an
// event the tenant enables costs one statement (every resource change
// publishes one inside its transaction) and writes nothing; once a webhook
// takes the type, the event goes to it.
func TestPublishWithoutWebhooks(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{NoWork: true}, func(t *testing.T, e *env) {
		ctx := context.Background()
		typ := events.TypeResourceVersionCreate
		tn := tenant(t, e.Events, "publish-cost", map[string]events.EventSetting{typ: on(events.TxNone)})
		ev := events.Event{Type: typ, TenantID: tn, LinkedObjectID: uuid.New(),
			Fields: events.ResourceVersionCreated{ObjectType: "resource", ChangedFields: []string{}}}
		try := func() (events.Published, bool, int64) {
			t.Helper()
			before := e.DB.Statements()
			p := mustPublish(t, e.DB, e.Events, ev)
			spent := e.DB.Statements() - before
			var wants bool
			if err := e.DB.InTx(ctx, func(tx *db.Tx) error {
				var err error
				wants, err = e.Events.Wants(ctx, tx, typ, tn)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return p, wants, spent
		}

		p, wants, spent := try()
		if p.Webhooks != 0 || p.ID != uuid.Nil || wants {
			t.Errorf("without webhooks: published %+v, Wants %t; want nothing", p, wants)
		}
		if spent != 1 {
			t.Errorf("without webhooks Publish ran %d statements, want 1", spent)
		}

		rc := newReceiver(t, nil)
		hook(t, e.Events, rc.URL+"/hook", func(w *events.Webhook) {
			w.Global = true
			w.EventsEnabled = map[string]bool{typ: true}
		})
		p, wants, _ = try()
		if p.Webhooks != 1 || p.ID == uuid.Nil || !wants {
			t.Errorf("with a webhook taking %s: published to %d webhooks, Wants %t; want 1 and true", typ, p.Webhooks, wants)
		}
	})
}
