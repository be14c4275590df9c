package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/events"
)

// webhookReceiver is a real HTTP endpoint that records every delivery
// heed makes to it, by the event id in the webhook-id header, the moment the
// request arrives (before it answers). Some requests it answers slowly, and
// the first delivery of some events it refuses with 500, so that at any
// instant some deliveries are in flight and some are waiting to be retried.
type webhookReceiver struct {
	srv *httptest.Server

	mu         sync.Mutex
	requests   int            // every request that arrived
	received   map[string]int // event id → requests that carried it
	accepted   map[string]int // event id → requests answered 2xx
	refused    int            // requests answered 500 on purpose
	mismatched []string       // webhook-id header differing from the body's event id, or not a resource.version.created
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	r := &webhookReceiver{received: map[string]int{}, accepted: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		// The sender died mid-body: nothing arrived.
		return
	}
	id := req.Header.Get("webhook-id")
	var ev struct {
		Event struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"event"`
	}
	_ = json.Unmarshal(body, &ev)

	r.mu.Lock()
	r.requests++
	n := r.requests
	if id == "" || ev.Event.ID != id || ev.Event.Type != events.TypeResourceVersionCreate {
		r.mismatched = append(r.mismatched, fmt.Sprintf("webhook-id %q, body %s", id, body))
	}
	r.received[id]++
	refuse := r.received[id] == 1 && n%10 == 0
	if refuse {
		r.refused++
	} else {
		r.accepted[id]++
	}
	r.mu.Unlock()

	if n%7 == 0 {
		// A slow receiver keeps deliveries in flight (well inside the
		// webhook's 2 s read timeout).
		time.Sleep(150 * time.Millisecond)
	}
	if refuse {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// stats reads the receiver's counters.
func (r *webhookReceiver) stats() (requests, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, len(r.received)
}

// missing returns the ids in want that never arrived.
func (r *webhookReceiver) missing(want []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range want {
		if r.received[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// committedEventIDs reads the id of every event heed committed.
func committedEventIDs(t *testing.T, d *db.DB) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	if err := d.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT CAST(id AS TEXT) FROM webhook_events")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, strings.ToLower(id))
		}
		return rows.Err()
	}); err != nil {
		t.Fatalf("read webhook_events: %v", err)
	}
	return ids
}

// deliveryJobStates reads the state of each event's delivery job, as
// River stored it.
func deliveryJobStates(t *testing.T, d *db.DB) map[string]rivertype.JobState {
	t.Helper()
	jobs, err := riverExec(d).JobGetByKindMany(context.Background(), &riverdriver.JobGetByKindManyParams{Kind: []string{events.DeliverArgs{}.Kind()}})
	if err != nil {
		t.Fatalf("read delivery jobs: %v", err)
	}
	out := map[string]rivertype.JobState{}
	for _, j := range jobs {
		var a events.DeliverArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatalf("delivery job %d args %q: %v", j.ID, j.EncodedArgs, err)
		}
		out[a.EventID.String()] = j.State
	}
	return out
}

// createWebhook registers a global webhook for resource versions through
// the FusionAuth API (staff token sent bare).
func createWebhook(t *testing.T, c heedAPI, url string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"webhook": map[string]any{
		"url": url, "connectTimeout": 1000, "readTimeout": 2000, "global": true,
		"eventsEnabled": map[string]bool{events.TypeResourceVersionCreate: true},
	}})
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", apptest.Staff)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("POST /api/webhook: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/webhook: %d %s; want 200", resp.StatusCode, out)
	}
}

// TestWebhookDeliveriesSurviveSIGKILL kills heed while resource PATCHes
// commit events and their deliveries flow to a real receiver, restarts it
// on the same database, and checks the outbox's promise: every event
// committed in webhook_events reaches the receiver at least once, and the
// receiver never gets an event that was not committed.
func TestWebhookDeliveriesSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	// Writes acknowledged before the kill, and after the restart.
	const writesBeforeKill, writesAfterRestart = 150, 30
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		apptest.SeedDemo(t, url)
		d := openTestDB(t, url)
		recv := newWebhookReceiver(t)
		args := []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "json", "--pg-max-conns", "8",
			"--drain-grace", "100ms", "--webhook-allow-private", "--webhook-retry-schedule", "200ms,500ms,1s",
			"--webhook-overload-penalty", "1s"}
		client := &http.Client{Timeout: 30 * time.Second}

		first := startHeed(t, "heed-webhooks", nil, args...)
		c := heedAPI{base: "http://" + first.addr(t), client: client}
		createWebhook(t, c, recv.srv.URL+"/hook")
		var list []struct {
			UUID string `json:"uuid"`
		}
		if status, err := c.callList("/api/marketplace-resources/?state=OK", apptest.Alice, &list); err != nil || status != http.StatusOK || len(list) == 0 {
			t.Fatalf("list resources: %d %v, %d resources", status, err, len(list))
		}
		l := &crashLoad{writesAck: map[string][]string{}}
		for _, r := range list {
			l.resources = append(l.resources, r.UUID)
		}
		patch := func(c heedAPI, run int) (stop func()) {
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Go(func() { l.patcher(ctx, c, run, w) })
			}
			return func() {
				cancel()
				wg.Wait()
			}
		}

		// Writers go on while the kill lands: some of their transactions
		// commit unanswered, others roll back with the process.
		stopWriters := patch(c, 1)
		apptest.Eventually(t, startTimeout, fmt.Sprintf("%d acknowledged writes with deliveries flowing", writesBeforeKill), func() bool {
			first.mustBeAlive(t)
			w, _ := l.acked()
			_, distinct := recv.stats()
			return w >= writesBeforeKill && distinct > 0
		})
		if err := first.cmd.Process.Kill(); err != nil {
			t.Fatalf("SIGKILL %s: %v", first.name, err)
		}
		killedAt := time.Now()
		stopWriters()
		<-first.exited
		ackedAtKill, _ := l.acked()
		committedAtKill := len(committedEventIDs(t, d))
		_, receivedAtKill := recv.stats()
		unfinishedAtKill := countRows(t, d, "SELECT COUNT(*) FROM river_job WHERE kind = ? AND state NOT IN ('completed', 'cancelled', 'discarded')",
			events.DeliverArgs{}.Kind())
		t.Logf("%s: at the kill %d writes acknowledged, %d events committed, %d received, %d delivery jobs unfinished",
			d.Dialect(), ackedAtKill, committedAtKill, receivedAtKill, unfinishedAtKill)
		if receivedAtKill >= committedAtKill {
			t.Logf("%s: every committed event had arrived before the kill: no delivery was left to recover", d.Dialect())
		}

		second := startHeed(t, "heed-webhooks-restarted", nil, args...)
		c = heedAPI{base: "http://" + second.addr(t), client: client}
		bound := second.recoveryBound(t)
		// New events go out beside the recovered ones.
		stopWriters = patch(c, 2)
		apptest.Eventually(t, startTimeout, "writes after the restart", func() bool {
			second.mustBeAlive(t)
			w, _ := l.acked()
			return w >= ackedAtKill+writesAfterRestart
		})
		stopWriters()

		// What the events not yet arrived wait for, as River stored their
		// jobs once the restarted process has taken new writes.
		waiting := map[rivertype.JobState]int{}
		states := deliveryJobStates(t, d)
		for _, id := range recv.missing(committedEventIDs(t, d)) {
			waiting[states[id]]++
		}
		t.Logf("%s: %s after the kill, events not yet arrived by their delivery job's state: %v",
			d.Dialect(), time.Since(killedAt).Round(time.Millisecond), waiting)

		// A delivery whose job the kill left running waits for the job to be
		// rescued: at once on SQLite (at start-up), by River's rescuer within
		// the announced bound on PostgreSQL. A few seconds more cover the
		// retries of deliveries the receiver refused.
		var missing []string
		wait := time.Until(killedAt.Add(bound + 10*time.Second))
		apptest.Eventually(t, wait, fmt.Sprintf("every committed event to arrive (bound %s after the kill)", bound), func() bool {
			second.mustBeAlive(t)
			missing = recv.missing(committedEventIDs(t, d))
			return len(missing) == 0
		})
		allArrived := time.Since(killedAt)
		if d.Dialect() == db.SQLite {
			// Every job is workable again at once: the log drains too.
			apptest.Eventually(t, 20*time.Second, "every delivery to finish", func() bool {
				return countRows(t, d, "SELECT COUNT(*) FROM webhook_events WHERE pending > 0") == 0
			})
		}
		pending := countRows(t, d, "SELECT COUNT(*) FROM webhook_events WHERE pending > 0")
		second.terminate(t)
		second.wantGracefulExit(t)

		// The second process is gone: webhook_events is final.
		committed := committedEventIDs(t, d)
		isCommitted := make(map[string]bool, len(committed))
		for _, id := range committed {
			isCommitted[id] = true
		}
		missing = recv.missing(committed)
		recv.mu.Lock()
		defer recv.mu.Unlock()
		var uncommitted []string
		duplicates := 0
		for id := range recv.received {
			if !isCommitted[id] {
				uncommitted = append(uncommitted, id)
			}
		}
		for _, n := range recv.accepted {
			duplicates += n - 1
		}
		sort.Strings(uncommitted)
		writes, _ := l.acked()
		t.Logf("%s: writes acknowledged %d (%d before the kill); events committed %d (%d at the kill); deliveries received %d "+
			"carrying %d distinct events, %d of them refused on purpose and retried, %d duplicates of an accepted delivery; "+
			"missing %d, never committed %d; every event arrived %s after the kill (bound %s); events with deliveries still "+
			"pending at the stop %d; %d requests unanswered around the kill",
			d.Dialect(), writes, ackedAtKill, len(committed), committedAtKill, recv.requests, len(recv.received), recv.refused,
			duplicates, len(missing), len(uncommitted), allArrived.Round(time.Millisecond), bound, pending, l.failed)

		if len(l.unexpected) > 0 {
			t.Errorf("answers that were neither success nor a cut connection: %q", l.unexpected)
		}
		if len(committed) < writes {
			t.Errorf("%d events committed for %d acknowledged writes: every write is a version and an event", len(committed), writes)
		}
		if len(missing) > 0 {
			t.Errorf("%d committed events never reached the receiver, e.g. %s", len(missing), missing[0])
		}
		if len(uncommitted) > 0 {
			t.Errorf("the receiver got %d events that were never committed: %q", len(uncommitted), uncommitted)
		}
		if len(recv.mismatched) > 0 {
			t.Errorf("%d deliveries whose webhook-id is not their body's resource.version.created event id, e.g. %s",
				len(recv.mismatched), recv.mismatched[0])
		}
	})
}
