package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// MsgWebhookTransaction is FusionAuth's message for a vetoed change.
const MsgWebhookTransaction = "One or more webhooks returned an invalid response or were unreachable. " +
	"Based on your transaction configuration, your action cannot be completed."

// deliverInTx calls every webhook now, in parallel, while tx is open, and
// decides the change's fate by the level. Met: the event and its attempts
// are logged in tx, and the webhooks that failed are retried by jobs
// (from their second attempt). Not met: an errs.Upstream error, and the
// Failed event with its attempts is logged once tx has rolled back.
//
// The receivers are told by FusionAuth's contract that the change may
// still roll back. On SQLite every other writer waits meanwhile (the one
// write connection is held); the README says so.
func (s *Service) deliverInTx(ctx context.Context, tx *db.Tx, r *eventRecord) error {
	results := make([]attemptResult, len(r.Webhooks))
	var wg sync.WaitGroup
	for i, w := range r.Webhooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.out.post(ctx, w, r.ID.String(), r.Body, s.DB.Now)
			s.m.observe(w.ID, results[i])
		}()
	}
	wg.Wait()
	okN := 0
	for _, res := range results {
		if res.ok() {
			okN++
		}
	}
	last := results[0].End
	for _, res := range results {
		if res.End.After(last) {
			last = res.End
		}
	}
	if !r.Level.Met(len(results), okN) {
		tx.AfterRollback(func() { s.logVetoed(r, results, last) })
		failed := make([]any, 0, len(results))
		for i, res := range results {
			if !res.ok() {
				failed = append(failed, map[string]any{"webhookId": r.Webhooks[i].ID.String(), "statusCode": res.Status})
			}
		}
		return &errs.Error{Kind: errs.Upstream, Code: "[WebhookTransactionException]", Message: MsgWebhookTransaction,
			Data: map[string]any{"webhooks": failed}}
	}
	// A webhook that answered 410 Gone is disabled with the change, as a
	// delivery job would disable it: no retry is scheduled for it.
	retry, gone := 0, 0
	for _, res := range results {
		switch {
		case res.ok():
		case res.gone():
			gone++
		default:
			retry++
		}
	}
	result := ResultSucceeded
	switch {
	case retry > 0:
		result = ResultRunning
	case gone > 0:
		result = ResultFailed
	}
	seq, err := insertEvent(ctx, tx, r, result, retry, okN, len(results)-okN, &last)
	if err != nil {
		return err
	}
	if gone > 0 {
		if _, err := tx.Exec(ctx, `UPDATE webhook_events SET gave_up = ? WHERE seq = ?`, gone, seq); err != nil {
			return fmt.Errorf("update event log: %w", err)
		}
	}
	for i, res := range results {
		if err := insertAttempt(ctx, tx, seq, r.Webhooks[i].ID, r.Webhooks[i].URL, res); err != nil {
			return err
		}
		if res.ok() {
			continue
		}
		if res.gone() {
			if err := s.disable(ctx, tx, r.Webhooks[i], goneReason); err != nil {
				return err
			}
			continue
		}
		// The in-request call was the first attempt: the job makes the rest.
		opts := &river.InsertOpts{MaxAttempts: len(s.cfg.RetrySchedule), ScheduledAt: time.Now().Add(s.retryDelay(1, retryHint{retryAfter: res.RetryAfter, overload: res.Overload}))}
		if opts.MaxAttempts < 1 {
			opts.MaxAttempts = 1
		}
		if err := s.Jobs.Enqueue(ctx, tx, DeliverArgs{EventID: r.ID, WebhookID: r.Webhooks[i].ID}, opts); err != nil {
			return err
		}
	}
	return nil
}

// logVetoed writes a vetoed event to the log after its transaction rolled
// back: FusionAuth keeps Failed events visible although nothing of the
// change remains. It runs after the request's transaction released the
// write connection, on a context of its own.
func (s *Service) logVetoed(r *eventRecord, results []attemptResult, last time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failedN := 0
	for _, res := range results {
		if !res.ok() {
			failedN++
		}
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		seq, err := insertEvent(ctx, tx, r, ResultFailed, 0, len(results)-failedN, failedN, &last)
		if err != nil {
			return err
		}
		for i, res := range results {
			if err := insertAttempt(ctx, tx, seq, r.Webhooks[i].ID, r.Webhooks[i].URL, res); err != nil {
				return err
			}
			// The change is gone, the receiver's answer stands.
			if res.gone() {
				if err := s.disable(ctx, tx, r.Webhooks[i], goneReason); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("log vetoed event", "event", r.ID, "type", r.Type, "error", fmt.Sprint(err))
	}
}
