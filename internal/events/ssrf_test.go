package events_test

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/events"
)

// TestPrivateAddressesRefused: without AllowPrivate, a webhook cannot name
// a loopback, private, link-local or localhost address, and a name that
// resolves to one is refused when dialled (the check runs on the address
// actually connected to).
func TestPrivateAddressesRefused(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.AllowPrivate = false
	cfg.RetrySchedule = []time.Duration{100 * time.Millisecond}
	eachEnv(t, cfg, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, u := range []string{
			"http://127.0.0.1:8080/hook", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
			"http://[::1]:8080/", "http://localhost:8080/", "http://LOCALHOST./", "http://api.localhost/",
			"http://192.168.1.10/", "http://100.64.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
		} {
			_, err := e.Events.CreateWebhook(ctx, events.Webhook{URL: u, ConnectTimeout: time.Second, ReadTimeout: time.Second})
			if codes := fieldCodes(t, err)["webhook.url"]; !slices.Equal(codes, []string{"invalid"}) {
				t.Errorf("CreateWebhook(%s): codes %v (%v); want [invalid]webhook.url", u, codes, err)
			}
		}
		if ws, err := e.Events.ListWebhooks(ctx); err != nil || len(ws) != 0 {
			t.Fatalf("refused webhooks were stored: %d (%v)", len(ws), err)
		}
		// A public address is fine (nothing is dialled on create).
		if _, err := e.Events.CreateWebhook(ctx, events.Webhook{URL: "https://93.184.215.14/hook", ConnectTimeout: time.Second, ReadTimeout: time.Second}); err != nil {
			t.Errorf("CreateWebhook to a public address: %v", err)
		}

		// A webhook to the name localhost, stored by a permissive heed over
		// the same database, then delivered by this one: the dialer refuses
		// the resolved loopback address, and the receiver hears nothing.
		rc := newReceiver(t, nil)
		_, port, err := net.SplitHostPort(rc.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		permissive := events.New(e.DB, fastConfig(), nil)
		w := hook(t, permissive, "http://localhost:"+port+"/hook", func(w *events.Webhook) {
			w.Global, w.EventsEnabled = true, map[string]bool{events.TypeOrderStateChanged: true}
		})
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: events.TypeOrderStateChanged, Fields: map[string]any{"state": "x"}})
		lg := waitLog(t, e.Events, p.ID, "given up", finished)
		if lg.Result != events.ResultFailed || len(lg.Attempts) != 2 {
			t.Fatalf("delivery to localhost: %s after %d attempts; want Failed after 2", lg.Result, len(lg.Attempts))
		}
		for _, a := range lg.Attempts {
			if a.WebhookID != w.ID || a.Result != events.AttemptFailure || !strings.Contains(a.Exception, events.ErrPrivateAddress.Error()) {
				t.Errorf("attempt %+v; want a Failure naming the private-address refusal", a)
			}
		}
		if n := len(rc.all()); n != 0 {
			t.Errorf("the loopback receiver got %d requests", n)
		}
		// The name does reach the receiver for anyone not checking.
		resp, err := http.Post(w.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("the receiver is not reachable as %s: %v", w.URL, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(rc.all()) != 1 {
			t.Errorf("plain POST to %s: %d, %d requests received", w.URL, resp.StatusCode, len(rc.all()))
		}
	})
}
