package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
)

// Event results, as FusionAuth's Webhook Event Log names them.
const (
	ResultRunning   = "Running"
	ResultSucceeded = "Succeeded"
	ResultFailed    = "Failed"
)

// Attempt results.
const (
	AttemptSuccess = "Success"
	AttemptFailure = "Failure"
)

// eventRecord is an event on its way into the log.
type eventRecord struct {
	ID       uuid.UUID
	Type     string
	TenantID uuid.UUID
	Linked   uuid.UUID
	Body     []byte
	Level    TransactionType
	Created  time.Time
	Webhooks []*Webhook
}

func (r *eventRecord) webhookIDs() []uuid.UUID {
	ids := make([]uuid.UUID, len(r.Webhooks))
	for i, w := range r.Webhooks {
		ids[i] = w.ID
	}
	return ids
}

// insertEvent writes the log row and returns its sequence number.
func insertEvent(ctx context.Context, c db.Conn, r *eventRecord, result string, pending, ok, failed int, lastAttempt *time.Time) (int64, error) {
	var seq int64
	err := c.QueryRow(ctx, `INSERT INTO webhook_events (id, event_type, tenant_id, linked_object_id, body, transaction_type,
		result, webhook_ids, pending, successful_attempts, failed_attempts, created, last_attempt_at, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		r.ID.String(), r.Type, r.TenantID.String(), nullUUID(r.Linked), string(r.Body), string(r.Level), result,
		jsonText(r.webhookIDs()), pending, ok, failed, r.Created, lastAttempt, r.Created).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("log event %s: %w", r.ID, err)
	}
	return seq, nil
}

// DeliverArgs is one delivery of one event to one webhook.
type DeliverArgs struct {
	EventID   uuid.UUID `json:"event_id" river:"unique"`
	WebhookID uuid.UUID `json:"webhook_id" river:"unique"`
	// Replay marks an operator's redelivery: one attempt, not retried.
	// ReplayID makes each replay a job of its own, never taken for a
	// duplicate of a delivery still pending.
	Replay   bool      `json:"replay,omitempty"`
	ReplayID uuid.UUID `json:"replay_id,omitzero" river:"unique"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhook_delivery" }

// deliveryQueue keeps webhooks from starving heed's other jobs: slow
// receivers fill this queue's workers, not the default queue's.
const deliveryQueue = "webhooks"

// InsertOpts: one pending delivery per (event, webhook); the sweep and a
// replay cannot duplicate one that is waiting or running.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: deliveryQueue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

func (s *Service) maxAttempts() int { return len(s.cfg.RetrySchedule) + 1 }

// enqueueAll logs r as Running and inserts its delivery jobs, in tx.
func (s *Service) enqueueAll(ctx context.Context, tx *db.Tx, r *eventRecord) error {
	if _, err := insertEvent(ctx, tx, r, ResultRunning, len(r.Webhooks), 0, 0, nil); err != nil {
		return err
	}
	for _, w := range r.Webhooks {
		if err := s.Jobs.Enqueue(ctx, tx, DeliverArgs{EventID: r.ID, WebhookID: w.ID}, &river.InsertOpts{MaxAttempts: s.maxAttempts()}); err != nil {
			return err
		}
	}
	return nil
}

// RegisterJobs adds the delivery worker, its queue, and the periodic log
// pruning.
func (s *Service) RegisterJobs(reg *jobs.Registry) {
	reg.AddQueue(deliveryQueue, s.cfg.MaxWorkers)
	jobs.AddWorker(reg, &deliveryWorker{s: s})
	s.registerPrune(reg)
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Timeout implements river.Worker: one attempt is bounded by the longest
// connect and read timeouts a webhook may have.
func (w *deliveryWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return deliveryTimeout }

// retryHint is what a failed attempt asks of the next wait.
type retryHint struct {
	retryAfter time.Duration
	overload   bool
}

// NextRetry implements river.Worker: the configured schedule (Svix's by
// default) with ±20 % jitter, at least OverloadPenalty after a timeout or a
// 429, and a receiver's Retry-After honoured within [delay, 2×delay].
func (w *deliveryWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	hint, _ := w.s.retryHints.LoadAndDelete(job.ID)
	// A job allowed fewer attempts than the schedule continues a delivery
	// whose first attempt was made in the request (deliverInTx): count it,
	// so the schedule goes on where that attempt left it.
	before := max(w.s.maxAttempts()-job.MaxAttempts, 0)
	return time.Now().Add(w.s.retryDelay(job.Attempt+before, hint))
}

func (s *Service) retryDelay(attempt int, hint retryHint) time.Duration {
	sched := s.cfg.RetrySchedule
	i := min(max(attempt-1, 0), len(sched)-1)
	base := sched[i]
	d := time.Duration(float64(base) * (0.8 + 0.4*rand.Float64()))
	if hint.overload {
		d = max(d, s.cfg.OverloadPenalty)
	}
	if hint.retryAfter > 0 {
		d = min(max(hint.retryAfter, d), 2*d)
	}
	return d
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	final := job.Attempt >= job.MaxAttempts || job.Args.Replay
	return w.s.deliver(ctx, job.ID, job.Args, final)
}

// errGone is a 410: the receiver asked never to be called again.
var errGone = errors.New("the receiver answered 410 Gone: webhook disabled")

// goneReason is a webhook's disabled_reason after a 410.
const goneReason = "The receiver answered 410 Gone."

// deliver runs one attempt of a delivery job and records it.
func (s *Service) deliver(ctx context.Context, jobID int64, a DeliverArgs, final bool) error {
	var (
		seq  int64
		body string
	)
	err := s.DB.Reader().QueryRow(ctx, `SELECT seq, body FROM webhook_events WHERE id = ?`, a.EventID.String()).Scan(&seq, &body)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound || isNoRows(err) {
			return nil // pruned: nothing left to deliver
		}
		return fmt.Errorf("load event %s: %w", a.EventID, err)
	}
	w, err := getWebhook(ctx, s.DB.Reader(), a.WebhookID, true)
	if errs.KindOf(err) == errs.NotFound || (err == nil && !w.Enabled) {
		reason := "webhook deleted"
		if err == nil {
			reason = "webhook disabled: " + w.DisabledReason
		}
		return s.giveUp(ctx, seq, a, reason)
	}
	if err != nil {
		return err
	}
	res := s.out.post(ctx, w, a.EventID.String(), []byte(body), s.DB.Now)
	s.m.observe(w.ID, res)
	gone := res.gone()
	if err := s.record(ctx, seq, a, w, res, final || gone, gone); err != nil {
		return err
	}
	if res.ok() {
		return nil
	}
	if gone {
		return river.JobCancel(errGone)
	}
	if final {
		// Recorded as given up; River would discard it anyway.
		return river.JobCancel(fmt.Errorf("delivery gave up after its last attempt: %s", res.exception()))
	}
	s.retryHints.Store(jobID, retryHint{retryAfter: res.RetryAfter, overload: res.Overload})
	return fmt.Errorf("delivery to webhook %s failed: %s", w.ID, res.exception())
}

// record writes an attempt and its consequences: the event's counters and
// result, the webhook's failure clock, and disabling.
func (s *Service) record(ctx context.Context, seq int64, a DeliverArgs, w *Webhook, res attemptResult, final, gone bool) error {
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := insertAttempt(ctx, tx, seq, w.ID, w.URL, res); err != nil {
			return err
		}
		now := tx.Now()
		switch {
		case res.ok():
			if err := finishDelivery(ctx, tx, seq, true, false, now); err != nil {
				return err
			}
			if w.FailingSince != nil {
				_, err := tx.Exec(ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ?`, w.ID.String())
				return err
			}
			return nil
		case final:
			if err := finishDelivery(ctx, tx, seq, false, true, now); err != nil {
				return err
			}
			if err := systemLog(ctx, tx, LogError, fmt.Sprintf("Webhook [%s] at [%s] did not accept event [%s] after its last attempt: %s. The delivery gave up.",
				w.ID, w.URL, a.EventID, res.exception())); err != nil {
				return err
			}
		default:
			if err := finishDelivery(ctx, tx, seq, false, false, now); err != nil {
				return err
			}
		}
		since := now
		if w.FailingSince != nil {
			since = *w.FailingSince
		}
		if gone || now.Sub(since) >= s.cfg.DisableAfter {
			reason := fmt.Sprintf("Failing without a success since %s.", since.Format(time.RFC3339))
			if gone {
				reason = goneReason
			}
			return s.disable(ctx, tx, w, reason)
		}
		if w.FailingSince == nil {
			_, err := tx.Exec(ctx, `UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL`, now, w.ID.String())
			return err
		}
		return nil
	})
}

func (s *Service) disable(ctx context.Context, tx *db.Tx, w *Webhook, reason string) error {
	now := tx.Now()
	res, err := tx.Exec(ctx, `UPDATE webhooks SET enabled = ?, disabled_at = ?, disabled_reason = ?, updated = ? WHERE id = ? AND enabled = ?`,
		false, now, reason, now, w.ID.String(), true)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	s.log.Warn("webhook disabled", "webhook", w.ID, "url", w.URL, "reason", reason)
	s.m.disabled(w.ID)
	return systemLog(ctx, tx, LogError, fmt.Sprintf("Webhook [%s] at [%s] was disabled: %s Re-enable it with PATCH /api/webhook/%s {\"webhook\":{\"enabled\":true}}.",
		w.ID, w.URL, reason, w.ID))
}

// giveUp ends a delivery whose webhook is gone or disabled.
func (s *Service) giveUp(ctx context.Context, seq int64, a DeliverArgs, reason string) error {
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := insertAttempt(ctx, tx, seq, a.WebhookID, "", attemptResult{Start: tx.Now(), End: tx.Now(), Err: errors.New(reason)}); err != nil {
			return err
		}
		return finishDelivery(ctx, tx, seq, false, true, tx.Now())
	})
	if err != nil {
		return err
	}
	return river.JobCancel(errors.New(reason))
}

func insertAttempt(ctx context.Context, tx *db.Tx, seq int64, webhook uuid.UUID, url string, res attemptResult) error {
	result := AttemptFailure
	if res.ok() {
		result = AttemptSuccess
	}
	_, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (id, event_seq, webhook_id, url, attempt, started_at, ended_at, result, status_code, exception)
		VALUES (?, ?, ?, ?, (SELECT COUNT(*) + 1 FROM webhook_attempts WHERE event_seq = ? AND webhook_id = ?), ?, ?, ?, ?, ?)`,
		uuid.NewString(), seq, webhook.String(), url, seq, webhook.String(), res.Start, res.End, result, res.Status, truncate(res.exception(), 2000))
	if err != nil {
		return fmt.Errorf("log attempt: %w", err)
	}
	return nil
}

// finishDelivery counts an attempt on the event; done ends one delivery
// (succeeded, or given up when failed). The event is Succeeded when every
// delivery succeeded, Failed when any gave up, Running until then.
func finishDelivery(ctx context.Context, tx *db.Tx, seq int64, succeeded, gaveUp bool, now time.Time) error {
	done, okN, failN, gaveN := 0, 0, 1, 0
	if succeeded {
		done, okN, failN = 1, 1, 0
	}
	if gaveUp {
		done, gaveN = 1, 1
	}
	_, err := tx.Exec(ctx, `UPDATE webhook_events SET
		pending = pending - ?, gave_up = gave_up + ?, successful_attempts = successful_attempts + ?,
		failed_attempts = failed_attempts + ?, last_attempt_at = ?, updated = ?,
		result = CASE WHEN pending - ? > 0 THEN result WHEN gave_up + ? > 0 THEN ? ELSE ? END
		WHERE seq = ?`, done, gaveN, okN, failN, now, now, done, gaveN, ResultFailed, ResultSucceeded, seq)
	if err != nil {
		return fmt.Errorf("update event log: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// syncMap is a typed sync.Map.
type syncMap[K comparable, V any] struct{ m sync.Map }

func (m *syncMap[K, V]) Store(k K, v V) { m.m.Store(k, v) }
func (m *syncMap[K, V]) LoadAndDelete(k K) (V, bool) {
	v, ok := m.m.LoadAndDelete(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}
