package actioning_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/mail/mailtest"
)

// waitFor bounds every wait on a delivery, an email or a state change.
const waitFor = 15 * time.Second

// staffKey is the FusionAuth API key: the demo staff token, sent bare.
const staffKey = apptest.Staff

// env is a whole heed (demo data, job workers, HTTP server) whose
// webhooks may reach the test's loopback receivers and whose email goes to
// a real SMTP listener in the test process.
type env struct {
	*apptest.Harness
	SMTP *mailtest.Server
	// Users are the demo users' FusionAuth ids (heed uuids) by username.
	Users map[string]uuid.UUID
}

// eachEnv runs fn on a fresh env per database, in parallel.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		fn(t, startEnv(t, url))
	})
}

// startEnv runs heed as apptest.Start does, plus SMTPURL (the mailtest
// server) and webhooks to private addresses.
// Time is the wall clock: end phases are River jobs scheduled at the
// expiry, which an injected clock would not move.
func startEnv(t *testing.T, url string) *env {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{})
	ctx := context.Background()
	h := apptest.Start(t, url, apptest.Options{
		// The end phases come from their jobs; tests run the sweep
		// themselves.
		Schedules: map[string]string{"user_action_end_sweep": "off"},
		Configure: func(c *app.Config) {
			c.SMTPURL, c.MailFrom = smtp.URL, "heed@example.org"
			c.Webhooks = events.Config{AllowPrivate: true, RetrySchedule: []time.Duration{time.Second}, OverloadPenalty: 100 * time.Millisecond}
		},
	})
	a := h.App
	e := &env{Harness: h, SMTP: smtp, Users: map[string]uuid.UUID{}}
	for _, name := range []string{"admin", "alice", "bob", "carol"} {
		u, err := a.Users.UserByUsername(ctx, name)
		if err != nil {
			t.Fatalf("demo user %s: %v", name, err)
		}
		e.Users[name] = u.UUID
	}
	return e
}

// fa sends a FusionAuth-dialect request with the staff API key. body is
// nil, a string (sent as is) or a value sent as JSON.
func (e *env) fa(method, path string, body any) *apptest.Response {
	e.T.Helper()
	return e.faAs(staffKey, method, path, body)
}

// faAs is fa with another Authorization value ("" sends none).
func (e *env) faAs(key, method, path string, body any) *apptest.Response {
	e.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.T.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	return e.Send(req)
}

// waldur sends a request in heed's own dialect (Authorization: Token …).
func (e *env) waldur(method, path, token string, body any) *apptest.Response {
	e.T.Helper()
	return e.Do(method, path, token, body)
}

// obj decodes a JSON object keeping numbers exact (expiries near 2^63).
func obj(t testing.TB, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// sub returns m[k] as an object.
func sub(t testing.TB, m map[string]any, k string) map[string]any {
	t.Helper()
	v, ok := m[k].(map[string]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want an object in %v", k, m[k], m[k], m)
	}
	return v
}

// str returns m[k] as a string ("" when absent).
func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// num returns m[k] as an int64, failing when it is not an integer.
func num(t testing.TB, m map[string]any, k string) int64 {
	t.Helper()
	n, ok := m[k].(json.Number)
	if !ok {
		t.Fatalf("%q is %T (%v), want a number in %v", k, m[k], m[k], m)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("%q = %s: %v", k, n, err)
	}
	return v
}

// ms is t in epoch milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// create POSTs body to path and returns the object under key.
func (e *env) create(path, key string, body any) map[string]any {
	e.T.Helper()
	return sub(e.T, obj(e.T, e.fa(http.MethodPost, path, body).Want(e.T, http.StatusOK).Body), key)
}

// definition creates a user action from the given fields.
func (e *env) definition(fields map[string]any) map[string]any {
	e.T.Helper()
	return e.create("/api/user-action", "userAction", map[string]any{"userAction": fields})
}

// template creates an email template for one phase: its subject and text
// name the phase, the action, the comment and the duration.
func (e *env) template(phase string) string {
	e.T.Helper()
	t := e.create("/api/email/template", "emailTemplate", map[string]any{"emailTemplate": map[string]any{
		"name":                fmt.Sprintf("%s %s", phase, uuid.NewString()[:8]),
		"defaultSubject":      "[" + phase + "] {{.LocalizedAction}}: {{.Comment}}",
		"defaultTextTemplate": "Hello {{.Actionee.FullName}}, " + phase + " {{.LocalizedAction}} ({{.Comment}}) for {{.LocalizedDuration}}.",
		"defaultHtmlTemplate": "<p>" + phase + " {{.LocalizedAction}}: {{.Comment}} for {{.LocalizedDuration}}</p>",
		"fromEmail":           "moderator@example.com",
		"defaultFromName":     "Moderator",
		"localizedSubjects":   map[string]string{"de": "[" + phase + "] {{.LocalizedAction}} (de): {{.Comment}}"},
	}})
	return str(t, "id")
}

// take takes an action and returns the instance.
func (e *env) take(broadcast bool, action map[string]any) map[string]any {
	e.T.Helper()
	return e.create("/api/user/action", "action", map[string]any{"broadcast": broadcast, "action": action})
}

// instance retrieves one action instance.
func (e *env) instance(id string) map[string]any {
	e.T.Helper()
	return sub(e.T, obj(e.T, e.fa(http.MethodGet, "/api/user/action/"+id, nil).Want(e.T, http.StatusOK).Body), "action")
}

// instances lists a user's actions (query: extra parameters).
func (e *env) instances(user uuid.UUID, query string) []any {
	e.T.Helper()
	m := obj(e.T, e.fa(http.MethodGet, "/api/user/action?userId="+user.String()+query, nil).Want(e.T, http.StatusOK).Body)
	l, ok := m["actions"].([]any)
	if !ok {
		e.T.Fatalf("actions is %T: %v", m["actions"], m)
	}
	return l
}

// count runs a COUNT(*) query.
func (e *env) count(q string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.Reader().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.T.Fatalf("%s: %v", q, err)
	}
	return n
}

// jobs counts the River jobs of a kind, in any state.
func (e *env) jobs(kind string) int {
	e.T.Helper()
	return e.count(`SELECT COUNT(*) FROM river_job WHERE kind = ?`, kind)
}

// jobsFor counts the River jobs of a kind whose arguments contain s.
func (e *env) jobsFor(kind, s string) int {
	e.T.Helper()
	args := "CAST(args AS TEXT)"
	switch e.App.DB.Dialect() {
	case db.Postgres:
		args = "args::text"
	case db.SQLite:
		args = "json(args)" // riversqlite stores args as JSONB
	}
	return e.count(`SELECT COUNT(*) FROM river_job WHERE kind = ? AND `+args+` LIKE ?`, kind, "%"+s+"%")
}

// hook subscribes a global webhook to user.action events.
func (e *env) hook(url string) *events.Webhook {
	e.T.Helper()
	w, err := e.App.Events.CreateWebhook(context.Background(), events.Webhook{
		URL: url, ConnectTimeout: time.Second, ReadTimeout: 3 * time.Second, Global: true,
		EventsEnabled: map[string]bool{events.TypeUserAction: true},
	})
	if err != nil {
		e.T.Fatalf("create webhook: %v", err)
	}
	return w
}

// received is one user.action event as a webhook got it.
type received struct {
	At    time.Time
	Event map[string]any
	Raw   []byte
}

// receiver is a real webhook endpoint. It answers with status (200 unless
// set; read when a request arrives, so a test that saw the request may
// change it for the next one) and keeps each event once (deliveries are at
// least once).
type receiver struct {
	srv     *httptest.Server
	status  atomic.Int32
	mu      sync.Mutex
	seen    map[string]bool
	got     []received
	arrived chan struct{} // closed and replaced at each new event
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{seen: map[string]bool{}, arrived: make(chan struct{})}
	r.status.Store(http.StatusOK)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at, status := time.Now(), int(r.status.Load())
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var body struct {
			Event map[string]any `json:"event"`
		}
		if err := d.Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		if id := str(body.Event, "id"); !r.seen[id] {
			r.seen[id] = true
			r.got = append(r.got, received{At: at, Event: body.Event, Raw: raw})
			close(r.arrived)
			r.arrived = make(chan struct{})
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL }

// matching returns the events for which keep holds, in arrival order.
func (r *receiver) matching(keep func(ev map[string]any) bool) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if keep(g.Event) {
			out = append(out, g)
		}
	}
	return out
}

// of keeps the events of one instance, optionally of one phase ("-" for
// none).
func of(instance, phase string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		if str(ev, "actionId") != instance {
			return false
		}
		switch phase {
		case "":
			return true
		case "-":
			_, has := ev["phase"]
			return !has
		}
		return str(ev, "phase") == phase
	}
}

// wait returns the first event for which keep holds, failing after
// waitFor.
func (r *receiver) wait(t testing.TB, what string, keep func(map[string]any) bool) received {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.arrived
		r.mu.Unlock()
		if got := r.matching(keep); len(got) > 0 {
			return got[0]
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %s event within %s", what, waitFor)
		}
	}
}

// eventually polls cond (every 20 ms) until it holds, failing after
// timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// wantKeys fails unless m has every key of want and none of absent.
func wantKeys(t testing.TB, what string, m map[string]any, want, absent []string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: %q missing in %v", what, k, m)
		}
	}
	for _, k := range absent {
		if v, ok := m[k]; ok {
			t.Errorf("%s: %q = %v, want it absent", what, k, v)
		}
	}
}

// faError is a FusionAuth Errors body.
type faError struct {
	FieldErrors   map[string][]faErrorItem `json:"fieldErrors"`
	GeneralErrors []faErrorItem            `json:"generalErrors"`
}

type faErrorItem struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

// codes returns every code in a 400 Errors body, sorted; it fails unless
// the response is a FusionAuth-shaped 400.
func codes(t testing.TB, r *apptest.Response) []string {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json (the TS client parses nothing else); body %s", ct, r.Body)
	}
	var e faError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("decode Errors %q: %v", r.Body, err)
	}
	var out []string
	for field, items := range e.FieldErrors {
		for _, it := range items {
			if it.Message == "" {
				t.Errorf("field %s: code %s has no message", field, it.Code)
			}
			if !strings.HasSuffix(it.Code, "]"+field) {
				t.Errorf("field %s: code %s does not name the field", field, it.Code)
			}
			out = append(out, it.Code)
		}
	}
	for _, it := range e.GeneralErrors {
		out = append(out, it.Code)
	}
	slices.Sort(out)
	return out
}

// wantEmpty fails unless r has the status and an empty body.
func wantEmpty(t testing.TB, what string, r *apptest.Response, status int) {
	t.Helper()
	if r.Status != status || len(r.Body) != 0 {
		t.Errorf("%s: %d %q, want %d with an empty body", what, r.Status, r.Body, status)
	}
}
