package events_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// verifyStandard checks a Standard Webhooks signature header the way a
// receiver would, written from the spec rather than from heed's signer:
// HMAC-SHA256 over "id.timestamp.body", keyed with the base64 decoding of
// the secret after whsec_, any of the space-separated v1 signatures.
func verifyStandard(secret, id, timestamp string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// TestSignStandardVector: heed's signer and the test's verifier both agree
// with the Standard Webhooks spec's test vector.
func TestSignStandardVector(t *testing.T) {
	t.Parallel()
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	got, err := events.SignStandard(secret, id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("SignStandard = %q, want %q", got, want)
	}
	if !verifyStandard(secret, id, strconv.Itoa(ts), []byte(body), want) {
		t.Error("the test's verifier rejects the spec's vector")
	}
	if verifyStandard(secret, id, strconv.Itoa(ts+1), []byte(body), want) {
		t.Error("the test's verifier accepts the vector under another timestamp")
	}
	if _, err := events.SignStandard("whsec_not base64!", id, ts, []byte(body)); err == nil {
		t.Error("SignStandard accepted a secret that is not base64")
	}
}

// TestDeliveryShape: one POST per webhook with FusionAuth's body and
// headers, signed both ways, each signature verified independently of
// heed's code.
func TestDeliveryShape(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		hmacSecret := base64.RawURLEncoding.EncodeToString(raw)
		key, err := e.Events.ImportKey(ctx, events.Key{Name: "webhook signing", Algorithm: "HS256", Secret: hmacSecret})
		if err != nil {
			t.Fatal(err)
		}
		if key.Kid == "" {
			t.Fatal("imported key has no kid")
		}
		_, _ = rand.Read(raw[:24])
		secret := "whsec_" + base64.StdEncoding.EncodeToString(raw[:24])
		rc := newReceiver(t, nil)
		w := hook(t, e.Events, rc.URL+"/hook", func(w *events.Webhook) {
			w.Global = true
			w.EventsEnabled = map[string]bool{events.TypeResourceVersionCreate: true}
			w.Headers = map[string]string{"X-Heed-Test": "yes", "X-Second": "two words"}
			w.Username, w.Password = "receiver", "pa:ss"
			w.Secret = secret
			w.SignatureEnabled, w.SigningKeyID = true, key.ID
		})
		linked := uuid.New()
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: events.TypeResourceVersionCreate, LinkedObjectID: linked,
			Fields: events.ResourceVersionCreated{ObjectType: "resource", ObjectID: linked.String(), VersionID: 7,
				ChangedFields: []string{"description"}, State: map[string]any{"description": "héllo \u2028 <&>"}}})
		if p.Webhooks != 1 {
			t.Fatalf("Published.Webhooks = %d, want 1", p.Webhooks)
		}
		d := rc.wait(t, 1)[0]
		attemptTime := time.Now()

		if d.Method != http.MethodPost || d.Path != "/hook" {
			t.Errorf("request %s %s, want POST /hook", d.Method, d.Path)
		}
		if ct := d.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if d.Header.Get("X-Heed-Test") != "yes" || d.Header.Get("X-Second") != "two words" {
			t.Errorf("configured headers missing: %v", d.Header)
		}
		req := http.Request{Header: d.Header}
		if u, pw, ok := req.BasicAuth(); !ok || u != "receiver" || pw != "pa:ss" {
			t.Errorf("basic auth %q %q %v, want receiver / pa:ss", u, pw, ok)
		}
		if !bytes.Equal(d.Body, p.Body) {
			t.Errorf("sent body differs from the published one:\n got %s\nwant %s", d.Body, p.Body)
		}

		// The body: {"event": {...}} and nothing else.
		var top map[string]json.RawMessage
		if err := json.Unmarshal(d.Body, &top); err != nil || len(top) != 1 || top["event"] == nil {
			t.Fatalf("body is not {\"event\": {...}}: %s (%v)", d.Body, err)
		}
		var ev map[string]any
		if err := json.Unmarshal(top["event"], &ev); err != nil {
			t.Fatal(err)
		}
		wantFields := map[string]any{
			"type": events.TypeResourceVersionCreate, "id": p.ID.String(),
			"createInstant": float64(p.CreateInstant.UnixMilli()), "tenantId": events.DefaultTenantID.String(),
			"linkedObjectId": linked.String(), "objectId": linked.String(), "versionId": float64(7),
		}
		for k, want := range wantFields {
			if ev[k] != want {
				t.Errorf("event.%s = %v (%T), want %v", k, ev[k], ev[k], want)
			}
		}
		if ci := time.UnixMilli(int64(ev["createInstant"].(float64))); attemptTime.Sub(ci) > time.Minute || ci.Sub(attemptTime) > time.Minute {
			t.Errorf("createInstant %v is not about now (%v)", ci, attemptTime)
		}
		if st, _ := ev["state"].(map[string]any); st["description"] != "héllo \u2028 <&>" {
			t.Errorf("event.state = %v", ev["state"])
		}

		// Standard Webhooks.
		id, ts, sig := d.Header.Get("webhook-id"), d.Header.Get("webhook-timestamp"), d.Header.Get("webhook-signature")
		if id != p.ID.String() {
			t.Errorf("webhook-id %q, want the event id %s", id, p.ID)
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || attemptTime.Sub(time.Unix(sec, 0)) > time.Minute || time.Unix(sec, 0).Sub(attemptTime) > time.Minute {
			t.Errorf("webhook-timestamp %q is not the attempt's Unix time (%d)", ts, attemptTime.Unix())
		}
		if !verifyStandard(secret, id, ts, d.Body, sig) {
			t.Errorf("webhook-signature %q does not verify", sig)
		}
		tampered := bytes.Clone(d.Body)
		tampered[len(tampered)/2] ^= 1
		if verifyStandard(secret, id, ts, tampered, sig) {
			t.Error("the signature verifies over a tampered body")
		}

		// FusionAuth's JWT, verified with golang-jwt.
		token := d.Header.Get("X-FusionAuth-Signature-JWT")
		claims := jwt.MapClaims{}
		parsed, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
			return []byte(hmacSecret), nil
		}, jwt.WithValidMethods([]string{"HS256"}))
		if err != nil || !parsed.Valid {
			t.Fatalf("X-FusionAuth-Signature-JWT %q does not verify: %v", token, err)
		}
		if kid := parsed.Header["kid"]; kid != key.Kid {
			t.Errorf("JWT kid %v, want the key's %q", kid, key.Kid)
		}
		sum := sha256.Sum256(d.Body)
		if got, want := claims["request_body_sha256"], base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("request_body_sha256 = %v, want %s", got, want)
		}
		if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return []byte(hmacSecret + "x"), nil },
			jwt.WithValidMethods([]string{"HS256"})); err == nil {
			t.Error("the JWT verifies with another secret")
		}

		lg := waitLog(t, e.Events, p.ID, "delivered", finished)
		if lg.Result != events.ResultSucceeded || len(lg.Attempts) != 1 || lg.Attempts[0].StatusCode != 200 ||
			lg.Attempts[0].WebhookID != w.ID || lg.Attempts[0].URL != w.URL || !bytes.Equal(lg.Body, p.Body) {
			t.Errorf("event log %+v; want Succeeded with one 200 attempt to %s and the sent body", lg, w.URL)
		}
	})
}

// blockUntilGone holds a request until the client gives up on it (or the
// test ends), standing for a receiver slower than any timeout.
func blockUntilGone(done <-chan struct{}) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
		w.WriteHeader(http.StatusOK)
	}
}

// TestReadTimeoutCountsAsFailure: a receiver slower than the webhook's
// timeouts is a failed attempt, logged with its exception, both when the
// tenant waits for the webhook (the change is vetoed) and for an ordinary
// delivery job.
func TestReadTimeoutCountsAsFailure(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		done := make(chan struct{})
		rc := newReceiver(t, blockUntilGone(done))
		t.Cleanup(func() { close(done) }) // before the receiver closes
		rvc := events.TypeResourceVersionCreate
		tx := tenant(t, e.Events, "transactional", map[string]events.EventSetting{rvc: on(events.TxAny)})
		plain := tenant(t, e.Events, "plain", map[string]events.EventSetting{rvc: on(events.TxNone)})
		const connect, read = 200 * time.Millisecond, 300 * time.Millisecond
		w := hook(t, e.Events, rc.URL, func(w *events.Webhook) {
			w.ConnectTimeout, w.ReadTimeout = connect, read
			w.TenantIDs, w.EventsEnabled = []uuid.UUID{tx, plain}, map[string]bool{rvc: true}
		})

		checkAttempt := func(a *events.AttemptLog) {
			t.Helper()
			took := a.End.Sub(a.Start)
			if a.Result != events.AttemptFailure || a.StatusCode != 0 || a.Exception == "" || a.WebhookID != w.ID {
				t.Errorf("attempt %+v; want a Failure with an exception and no status", a)
			}
			if took < read || took > connect+read+2*time.Second {
				t.Errorf("attempt took %s; the timeouts are %s connect and %s read", took, connect, read)
			}
		}

		// Transactional: the only webhook times out, so Any is not met.
		start := time.Now()
		_, err := publish(t, e.DB, e.Events, events.Event{Type: rvc, TenantID: tx, Fields: map[string]any{"n": 1}})
		wantVeto(t, err)
		if took := time.Since(start); took > connect+read+3*time.Second {
			t.Errorf("the vetoed publish took %s", took)
		}
		got := rc.wait(t, 1)
		vetoed := uuid.MustParse(got[0].eventID(t))
		lg := waitLog(t, e.Events, vetoed, "logged as Failed", func(l *events.EventLog) bool { return l.Result == events.ResultFailed })
		if len(lg.Attempts) != 1 {
			t.Fatalf("vetoed event has %d attempts, want 1", len(lg.Attempts))
		}
		checkAttempt(lg.Attempts[0])

		// Asynchronous: the job's first attempt times out the same way.
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: rvc, TenantID: plain, Fields: map[string]any{"n": 2}})
		lg = waitLog(t, e.Events, p.ID, "a first attempt", func(l *events.EventLog) bool { return len(l.Attempts) >= 1 })
		checkAttempt(lg.Attempts[0])
		if lg.Attempts[0].Attempt != 1 || lg.FailedAttempts < 1 {
			t.Errorf("event log %+v; want a first failed attempt counted", lg)
		}
	})
}

// TestRetriesUntilSuccess: a receiver failing twice then accepting gets the
// same event (id and bytes) three times, with growing waits between, and
// the log ends Succeeded with Failure, Failure, Success.
func TestRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n <= 2 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		w := hook(t, e.Events, rc.URL, func(w *events.Webhook) {
			w.Global, w.EventsEnabled = true, map[string]bool{events.TypeOrderStateChanged: true}
		})
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: events.TypeOrderStateChanged, Fields: map[string]any{"state": "done"}})
		got := rc.wait(t, 3)
		for i, d := range got {
			if d.Header.Get("webhook-id") != p.ID.String() || !bytes.Equal(d.Body, p.Body) {
				t.Errorf("attempt %d: webhook-id %q, body %s; want %s and the published bytes", i+1, d.Header.Get("webhook-id"), d.Body, p.ID)
			}
		}
		gap1, gap2 := got[1].At.Sub(got[0].At), got[2].At.Sub(got[1].At)
		// The schedule is 300 ms then 900 ms, each ±20 %.
		if gap1 < 240*time.Millisecond || gap2 < 720*time.Millisecond || gap2 <= gap1 {
			t.Errorf("gaps between attempts %s then %s; want at least 240ms, then at least 720ms and longer", gap1, gap2)
		}
		lg := waitLog(t, e.Events, p.ID, "Succeeded", finished)
		var results []string
		var codes []int
		for _, a := range lg.Attempts {
			results = append(results, a.Result)
			codes = append(codes, a.StatusCode)
			if a.WebhookID != w.ID {
				t.Errorf("attempt for webhook %s, want %s", a.WebhookID, w.ID)
			}
		}
		if lg.Result != events.ResultSucceeded || !slices.Equal(results, []string{"Failure", "Failure", "Success"}) ||
			!slices.Equal(codes, []int{500, 500, 204}) || lg.SuccessfulAttempts != 1 || lg.FailedAttempts != 2 {
			t.Errorf("event log: result %s, attempts %v %v, %d ok / %d failed; want Succeeded, Failure Failure Success, 500 500 204, 1 / 2",
				lg.Result, results, codes, lg.SuccessfulAttempts, lg.FailedAttempts)
		}
		for i, a := range lg.Attempts {
			if a.Attempt != i+1 {
				t.Errorf("attempt %d numbered %d", i+1, a.Attempt)
			}
		}
		// A success clears the failure clock the two failures started.
		cur, err := e.Events.GetWebhook(context.Background(), w.ID)
		if err != nil || !cur.Enabled || cur.FailingSince != nil {
			t.Errorf("after the success the webhook is %+v (%v); want enabled, not failing", cur, err)
		}
		if n := len(rc.all()); n != 3 {
			t.Errorf("%d requests, want exactly 3", n)
		}
	})
}

// TestGoneDisablesWebhook: 410 Gone disables the webhook at once and ends
// the delivery without retries; re-enabling it through UpdateWebhook clears
// the record, and it receives events again.
func TestGoneDisablesWebhook(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		var gone atomic.Bool
		gone.Store(true)
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			if gone.Load() {
				w.WriteHeader(http.StatusGone)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		rvc := events.TypeResourceVersionCreate
		w := hook(t, e.Events, rc.URL, func(w *events.Webhook) {
			w.Global, w.EventsEnabled = true, map[string]bool{rvc: true}
			w.Description = "goes away"
		})
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: rvc, Fields: map[string]any{"n": 1}})
		lg := waitLog(t, e.Events, p.ID, "given up", finished)
		if lg.Result != events.ResultFailed || len(lg.Attempts) != 1 || lg.Attempts[0].StatusCode != http.StatusGone {
			t.Fatalf("event log: result %s, %d attempts; want Failed after one 410", lg.Result, len(lg.Attempts))
		}
		// River cancelled the job: it never runs again.
		eventually(t, "the delivery job cancelled", func() bool {
			return slices.Equal(deliveryJobs(t, e.DB, p.ID), []string{"cancelled"})
		})
		cur, err := e.Events.GetWebhook(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Enabled || cur.DisabledAt == nil || !strings.Contains(cur.DisabledReason, "410") {
			t.Errorf("after 410 the webhook is enabled=%v disabledAt=%v reason=%q; want disabled for 410", cur.Enabled, cur.DisabledAt, cur.DisabledReason)
		}
		sys, _, err := e.Events.SearchSystemLog(ctx, events.SystemLogSearch{Message: "webhook [" + w.ID.String() + "]*was disabled: the receiver answered 410*", Type: events.LogError})
		if err != nil || len(sys) != 1 {
			t.Errorf("system log: %d Error entries saying the webhook was disabled for its 410 (%v); want 1", len(sys), err)
		}

		// Disabled: the next event finds no receiver.
		if p2 := mustPublish(t, e.DB, e.Events, events.Event{Type: rvc, Fields: map[string]any{"n": 2}}); p2.Webhooks != 0 {
			t.Errorf("a disabled webhook still receives: Published.Webhooks = %d", p2.Webhooks)
		}
		if n := len(rc.all()); n != 1 {
			t.Errorf("%d requests after the 410, want 1", n)
		}

		// Re-enable, as a PATCH does: merge into the stored webhook.
		gone.Store(false)
		base, err := e.Events.WebhookForMerge(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		base.Enabled = true
		if _, err := e.Events.UpdateWebhook(ctx, w.ID, *base); err != nil {
			t.Fatal(err)
		}
		cur, err = e.Events.GetWebhook(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !cur.Enabled || cur.DisabledAt != nil || cur.DisabledReason != "" || cur.FailingSince != nil {
			t.Errorf("re-enabled webhook: enabled=%v disabledAt=%v reason=%q failingSince=%v; want a clean record",
				cur.Enabled, cur.DisabledAt, cur.DisabledReason, cur.FailingSince)
		}
		p3 := mustPublish(t, e.DB, e.Events, events.Event{Type: rvc, Fields: map[string]any{"n": 3}})
		if p3.Webhooks != 1 {
			t.Fatalf("re-enabled webhook not eligible: Published.Webhooks = %d", p3.Webhooks)
		}
		if d := rc.wait(t, 2)[1]; d.Header.Get("webhook-id") != p3.ID.String() {
			t.Errorf("second request carries %q, want the new event %s", d.Header.Get("webhook-id"), p3.ID)
		}
		if lg := waitLog(t, e.Events, p3.ID, "delivered", finished); lg.Result != events.ResultSucceeded {
			t.Errorf("after re-enabling: result %s, want Succeeded", lg.Result)
		}
	})
}

// TestReplay: Replay sends the logged event again with the same id and
// bytes, once, and the log shows the further attempt.
func TestReplay(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		other := newReceiver(t, nil)
		rvc := events.TypeResourceVersionCreate
		w := hook(t, e.Events, rc.URL, func(w *events.Webhook) { w.Global, w.EventsEnabled = true, map[string]bool{rvc: true} })
		unrelated := hook(t, e.Events, other.URL, func(w *events.Webhook) { w.Global = true })
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: rvc, Fields: map[string]any{"replayed": true}})
		first := rc.wait(t, 1)[0]
		waitLog(t, e.Events, p.ID, "delivered", finished)

		n, err := e.Events.Replay(ctx, p.ID, w.ID)
		if err != nil || n != 1 {
			t.Fatalf("Replay = %d, %v; want 1 delivery queued", n, err)
		}
		again := rc.wait(t, 2)[1]
		if again.Header.Get("webhook-id") != p.ID.String() || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("replay sent id %q and %s; want %s and the first bytes %s", again.Header.Get("webhook-id"), again.Body, p.ID, first.Body)
		}
		if !verifyStandard(secretOf(t, e, w.ID), p.ID.String(), again.Header.Get("webhook-timestamp"), again.Body, again.Header.Get("webhook-signature")) {
			t.Error("the replay's signature does not verify")
		}
		lg := waitLog(t, e.Events, p.ID, "the replay logged", func(l *events.EventLog) bool { return finished(l) && len(l.Attempts) == 2 })
		if lg.Result != events.ResultSucceeded || lg.SuccessfulAttempts != 2 {
			t.Errorf("after the replay: %s with %d successful attempts; want Succeeded with 2", lg.Result, lg.SuccessfulAttempts)
		}
		for i, a := range lg.Attempts {
			if a.Result != events.AttemptSuccess || a.WebhookID != w.ID || a.Attempt != i+1 {
				t.Errorf("attempt %d: %+v", i+1, a)
			}
		}

		// All of the event's webhooks: the same one, once more.
		if n, err := e.Events.Replay(ctx, p.ID, uuid.Nil); err != nil || n != 1 {
			t.Fatalf("Replay to all = %d, %v; want 1", n, err)
		}
		rc.wait(t, 3)
		// A webhook the event never went to, and an unknown event.
		if _, err := e.Events.Replay(ctx, p.ID, unrelated.ID); fieldCodes(t, err)["webhookId"] == nil {
			t.Errorf("Replay to a webhook the event did not go to: %v; want [invalid]webhookId", err)
		}
		if _, err := e.Events.Replay(ctx, uuid.New(), uuid.Nil); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Replay of an unknown event: %v; want NotFound", err)
		}
		waitLog(t, e.Events, p.ID, "three attempts", func(l *events.EventLog) bool { return finished(l) && len(l.Attempts) == 3 })
		if len(other.all()) != 0 {
			t.Error("the unrelated webhook received something")
		}
	})
}

func secretOf(t testing.TB, e *env, id uuid.UUID) string {
	t.Helper()
	w, err := e.Events.WebhookForMerge(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w.Secret
}

// TestTransactionalRetries: when a transactional level is met although a
// webhook failed, the change commits and that webhook is retried by jobs,
// continuing the schedule where the in-request attempt left it: its second
// retry waits the schedule's second delay.
func TestTransactionalRetries(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.RetrySchedule = []time.Duration{200 * time.Millisecond, 1200 * time.Millisecond}
	eachEnv(t, cfg, envOptions{}, func(t *testing.T, e *env) {
		rvc := events.TypeResourceVersionCreate
		tn := tenant(t, e.Events, "any", map[string]events.EventSetting{rvc: on(events.TxAny)})
		good := newReceiver(t, nil)
		flaky := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n <= 2 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		for _, rc := range []*receiver{good, flaky} {
			hook(t, e.Events, rc.URL, func(w *events.Webhook) {
				w.TenantIDs, w.EventsEnabled = []uuid.UUID{tn}, map[string]bool{rvc: true}
			})
		}
		p, err := publish(t, e.DB, e.Events, events.Event{Type: rvc, TenantID: tn, Fields: map[string]any{"n": 1}})
		if err != nil {
			t.Fatalf("Any is met by one of two, yet: %v", err)
		}
		lg, err := e.Events.GetEventLog(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if lg.Result != events.ResultRunning || lg.Pending != 1 || len(lg.Attempts) != 2 || lg.SuccessfulAttempts != 1 {
			t.Fatalf("after the commit: %s, %d pending, %d attempts, %d ok; want Running, 1, 2, 1", lg.Result, lg.Pending, len(lg.Attempts), lg.SuccessfulAttempts)
		}
		got := flaky.wait(t, 3)
		for _, d := range got {
			if d.Header.Get("webhook-id") != p.ID.String() || !bytes.Equal(d.Body, p.Body) {
				t.Errorf("retry carries %q / %s; want the event's id and bytes", d.Header.Get("webhook-id"), d.Body)
			}
		}
		if gap := got[2].At.Sub(got[1].At); gap < 960*time.Millisecond {
			t.Errorf("the second retry came %s after the first; the schedule's second delay is 1.2s (±20%%)", gap)
		}
		lg = waitLog(t, e.Events, p.ID, "Succeeded", finished)
		if lg.Result != events.ResultSucceeded || len(lg.Attempts) != 4 || len(good.all()) != 1 {
			t.Errorf("in the end: %s with %d attempts, good receiver called %d times; want Succeeded, 4, 1", lg.Result, len(lg.Attempts), len(good.all()))
		}
	})
}

// TestFailingWebhookDisabled: a webhook failing without a single success
// for Config.DisableAfter is disabled (Svix's rule), and the delivery in
// progress gives up instead of calling it again.
func TestFailingWebhookDisabled(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.RetrySchedule = []time.Duration{300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	cfg.DisableAfter = time.Hour
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		var offset atomic.Int64 // added to the wall clock, for the database
		e := startEnv(t, url, cfg, envOptions{Clock: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 2 {
				// The second attempt fails two hours after the first.
				offset.Add(int64(2 * time.Hour))
			}
			w.WriteHeader(http.StatusInternalServerError)
		})
		w := hook(t, e.Events, rc.URL, func(w *events.Webhook) {
			w.Global, w.EventsEnabled = true, map[string]bool{events.TypeOrderStateChanged: true}
		})
		p := mustPublish(t, e.DB, e.Events, events.Event{Type: events.TypeOrderStateChanged, Fields: map[string]any{"n": 1}})
		lg := waitLog(t, e.Events, p.ID, "given up", finished)
		cur, err := e.Events.GetWebhook(context.Background(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Enabled || !strings.Contains(cur.DisabledReason, "Failing without a success since") {
			t.Errorf("after two hours of failures the webhook is enabled=%v, reason %q; want disabled", cur.Enabled, cur.DisabledReason)
		}
		if n := len(rc.all()); n != 2 {
			t.Errorf("%d requests; want 2 (the third attempt finds the webhook disabled)", n)
		}
		if lg.Result != events.ResultFailed || len(lg.Attempts) != 3 || !strings.Contains(lg.Attempts[2].Exception, "webhook disabled") {
			t.Errorf("event log: %s with %d attempts; want Failed, the last one giving up on the disabled webhook", lg.Result, len(lg.Attempts))
		}
	})
}
