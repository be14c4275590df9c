package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/events"
)

// usReceiver is a webhook receiver that records the event ids it got.
type usReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	ids []string
}

func usNewReceiver(t testing.TB) *usReceiver {
	rc := &usReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		_ = json.Unmarshal(b, &body)
		rc.mu.Lock()
		rc.ids = append(rc.ids, body.Event.ID)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *usReceiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}

var usEventRow = regexp.MustCompile(`<tr data-event="([0-9a-f-]{36})">`)

// TestEventsLogAndReplay: an action staff take in the console reaches a
// webhook and shows in the event log with its attempt; a replay delivers
// the same event again and shows as a second attempt. Others get 404.
func TestEventsLogAndReplay(t *testing.T) {
	t.Parallel()
	// Webhooks may reach the test's loopback receiver.
	allowPrivate := func(c *app.Config) { c.Webhooks.AllowPrivate = true }
	apptest.Each(t, apptest.Options{Configure: allowPrivate}, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		rc := usNewReceiver(t)
		if _, err := h.App.Events.CreateWebhook(ctx, events.Webhook{URL: rc.srv.URL, Description: "test receiver", Global: true,
			ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second, EventsEnabled: map[string]bool{events.TypeUserAction: true}}); err != nil {
			t.Fatal(err)
		}
		staff := signIn(t, h, "admin", stopAtRedirects)
		if text := pageText(staff.get("/console/events/").want(t, http.StatusOK).Body); !strings.Contains(text, "No event matches") {
			t.Fatalf("empty event log: %s", text)
		}

		carolPage := "/console/users/" + hexID(demoUser(t, h, "carol")) + "/"
		warn := usChoice(t, staff.get(carolPage).want(t, http.StatusOK).Body, "Warn: hard")
		staff.submitOK(carolPage+"actions", url.Values{"action": {warn}}, carolPage)
		apptest.Eventually(t, 15*time.Second, "the webhook to receive the action", func() bool { return len(rc.got()) == 1 })

		list := staff.get("/console/events/?type=user.action").want(t, http.StatusOK).Body
		m := usEventRow.FindStringSubmatch(list)
		if m == nil || strings.Count(list, "data-event=") != 1 {
			t.Fatalf("event log: %s", pageText(list))
		}
		id := m[1]
		if id != rc.got()[0] {
			t.Fatalf("logged event %s, delivered %s", id, rc.got()[0])
		}
		if other := staff.get("/console/events/?type=order.state-changed").want(t, http.StatusOK).Body; strings.Contains(other, "data-event=") {
			t.Errorf("order events filter shows the action: %s", pageText(other))
		}
		eventPage := "/console/events/" + id + "/"
		apptest.Eventually(t, 15*time.Second, "the attempt to be logged", func() bool {
			return strings.Count(staff.get(eventPage).want(t, http.StatusOK).Body, `<td data-label="Attempt">`) == 1
		})
		page := staff.get(eventPage).want(t, http.StatusOK).Body
		if text := pageText(page); !strings.Contains(text, `"option": "hard"`) || !strings.Contains(text, "test receiver") {
			t.Fatalf("event page: %s", text)
		}

		alice := signIn(t, h, "alice", stopAtRedirects)
		alice.get(eventPage).want(t, http.StatusNotFound)
		if p := alice.submit(eventPage+"replay", nil); p.Status != http.StatusNotFound {
			t.Errorf("alice replays: %d, want 404", p.Status)
		}
		if p := staff.post(eventPage+"replay", url.Values{}); p.Status != http.StatusForbidden {
			t.Errorf("replay without csrf: %d, want 403", p.Status)
		}

		p := staff.submitOK(eventPage+"replay", nil, eventPage)
		if text := pageText(p.Body); !strings.Contains(text, "Replay queued: 1 delivery") {
			t.Fatalf("after replay: %s", text)
		}
		apptest.Eventually(t, 15*time.Second, "the replay to arrive", func() bool { return len(rc.got()) == 2 })
		if got := rc.got(); got[1] != id {
			t.Errorf("replayed event id %s, want %s", got[1], id)
		}
		apptest.Eventually(t, 15*time.Second, "the replay's attempt to be logged", func() bool {
			return strings.Count(staff.get(eventPage).want(t, http.StatusOK).Body, `<td data-label="Attempt">`) == 2
		})
		if p := staff.submit(eventPage+"replay", url.Values{"webhook": {"not-a-uuid"}}); p.Status != http.StatusBadRequest {
			t.Errorf("replay to a malformed webhook: %d, want 400", p.Status)
		}
		staff.get("/console/events/"+strings.Repeat("0", 32)+"/").want(t, http.StatusNotFound)
	})
}
