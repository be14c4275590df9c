package actioning

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
)

// Modify changes a temporal action's expiry and comment (phase modify).
// The replaced state goes into its history.
func (s *Service) Modify(ctx context.Context, id uuid.UUID, req Request) (*Instance, error) {
	return s.change(ctx, id, req, PhaseModify)
}

// Cancel ends a temporal action now (phase cancel); no end phase follows.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID, req Request) (*Instance, error) {
	return s.change(ctx, id, req, PhaseCancel)
}

func (s *Service) change(ctx context.Context, id uuid.UUID, req Request, phase string) (out *Instance, err error) {
	defer errs.Wrap(&err, "%s(%s)", phase, id)
	req.Expiry = normaliseExpiry(req.Expiry)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		in, err := getInstance(ctx, tx, id, true)
		if err != nil {
			return err
		}
		now := tx.Now()
		// Only an active temporal action can change: FusionAuth answers
		// 404 for the others.
		if !in.Active(now) {
			return errs.NotFoundf("action not found or no longer active")
		}
		e := &errs.Error{Kind: errs.Invalid}
		if err := checkActioner(ctx, tx, req.ActionerID, e); err != nil {
			return err
		}
		if phase == PhaseModify {
			if req.Expiry == nil {
				e.Add("missing", "action.expiry", "You must specify the [action.expiry] property, an instant in epoch milliseconds.")
			} else {
				checkExpiry(e, *req.Expiry, now)
			}
		}
		if req.NotifyUser && !in.def.UserNotificationsEnabled {
			e.Add("invalid", "action.notifyUser", "The user action does not allow notifying the user.")
		}
		if req.EmailUser && (!in.def.UserEmailingEnabled || in.def.templateFor(phase) == uuid.Nil) {
			e.Add("invalid", "action.emailUser", "The user action does not allow emailing the user.")
		}
		if err := e.OrNil(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_action_history (instance_id, seq, actioner_uuid, comment, created, expiry_ms)
			VALUES (?, (SELECT COUNT(*) + 1 FROM user_action_history WHERE instance_id = ?), ?, ?, ?, ?)`,
			in.ID.String(), in.ID.String(), nullUUID(in.ActionerID), in.Comment, in.StateSet, in.Expiry); err != nil {
			return fmt.Errorf("record history: %w", err)
		}
		in.ActionerID, in.Comment, in.StateSet = req.ActionerID, req.Comment, now
		in.EmailUserOnEnd, in.NotifyUserOnEnd = req.EmailUser, req.NotifyUser
		if phase == PhaseModify {
			in.Expiry = req.Expiry
		} else {
			cancelAt := now.UnixMilli()
			in.Expiry, in.Cancelled = &cancelAt, true
		}
		if _, err := tx.Exec(ctx, `UPDATE user_action_instances SET actioner_uuid = ?, comment = ?, expiry_ms = ?, cancelled = ?,
			email_user_on_end = ?, notify_user_on_end = ?, state_set = ? WHERE id = ?`,
			nullUUID(in.ActionerID), in.Comment, in.Expiry, in.Cancelled, in.EmailUserOnEnd, in.NotifyUserOnEnd, now, in.ID.String()); err != nil {
			return fmt.Errorf("update action: %w", err)
		}
		actionee, err := auth.UserByUUID(ctx, tx, in.ActioneeID)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
		if err := s.afterChange(ctx, tx, in, actionee); err != nil {
			return err
		}
		return s.announce(ctx, tx, in, phase, actionee, announcement{
			broadcast: req.Broadcast, emailUser: req.EmailUser, notifyUser: req.NotifyUser,
			actioner: req.ActionerID, comment: req.Comment, info: eventInfo(req), now: now,
		})
	})
	if err != nil {
		return nil, err
	}
	return s.GetInstance(ctx, id, true)
}

// afterChange keeps the actionee's login prevention in step and schedules
// the end phase.
func (s *Service) afterChange(ctx context.Context, tx *db.Tx, in *Instance, actionee *auth.User) error {
	if in.def.PreventLogin && actionee != nil {
		if err := refreshLoginPrevention(ctx, tx, in.ActioneeID); err != nil {
			return err
		}
	}
	if err := s.changed(ctx, tx, in.Num); err != nil {
		return err
	}
	if in.Temporal && !in.Cancelled && in.Expiry != nil && *in.Expiry != Forever {
		return s.scheduleEnd(ctx, tx, in.ID, *in.Expiry)
	}
	return nil
}

// EndArgs is the end phase of one instance at one expiry: a modify
// schedules a new one, and the old one finds the expiry changed and does
// nothing; a cancel leaves it nothing to do.
type EndArgs struct {
	InstanceID uuid.UUID `json:"instance_id" river:"unique"`
	ExpiryMS   int64     `json:"expiry_ms" river:"unique"`
}

// Kind implements river.JobArgs.
func (EndArgs) Kind() string { return "user_action_end" }

// InsertOpts: one end job per (instance, expiry) while unfinished; the
// sweep cannot duplicate it.
func (EndArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// endLead: River makes scheduled jobs runnable every 5 s, so an end job is
// scheduled this much before the expiry and snoozes until it, which River
// then honours to its poll interval: the end phase comes within about a
// second of the expiry.
const endLead = 4500 * time.Millisecond

func (s *Service) scheduleEnd(ctx context.Context, tx *db.Tx, id uuid.UUID, expiry int64) error {
	at := time.UnixMilli(expiry).Add(-endLead)
	opts := &river.InsertOpts{}
	if at.After(tx.Now()) {
		opts.ScheduledAt = at
	}
	return s.Jobs.Enqueue(ctx, tx, EndArgs{InstanceID: id, ExpiryMS: expiry}, opts)
}

// RegisterJobs adds the end worker, its periodic sweep and the email
// worker.
func (s *Service) RegisterJobs(reg *jobs.Registry) {
	jobs.AddWorker(reg, &endWorker{s: s})
	jobs.AddWorker(reg, &sweepWorker{s: s})
	jobs.AddWorker(reg, &emailWorker{s: s})
	reg.AddPeriodic(jobs.Periodic{ID: "user_action_end_sweep", Schedule: "@every 1m", Args: func() river.JobArgs { return SweepArgs{} }})
}

type endWorker struct {
	river.WorkerDefaults[EndArgs]
	s *Service
}

// Timeout bounds one end phase: a transactional webhook's timeouts plus
// the database work.
func (w *endWorker) Timeout(*river.Job[EndArgs]) time.Duration { return 30 * time.Second }

func (w *endWorker) Work(ctx context.Context, job *river.Job[EndArgs]) error {
	wait, err := w.s.End(ctx, job.Args.InstanceID, job.Args.ExpiryMS)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// End runs the end phase of an instance whose expiry has passed: it marks
// it ended, sends the end event (when the definition has sendEndEvent) and
// queues the end email (emailUserOnEnd), in one transaction that a
// transactional webhook can veto (the job then retries). It returns how
// long to wait when the expiry is still ahead, and does nothing for an
// instance cancelled, modified to another expiry, or already ended.
func (s *Service) End(ctx context.Context, id uuid.UUID, expiry int64) (wait time.Duration, err error) {
	defer errs.Wrap(&err, "End(%s)", id)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		in, err := getInstance(ctx, tx, id, true)
		if errs.KindOf(err) == errs.NotFound {
			return nil // hard-deleted with its definition
		}
		if err != nil {
			return err
		}
		if in.Cancelled || in.Ended || in.Expiry == nil || *in.Expiry != expiry {
			return nil
		}
		now := tx.Now()
		if left := time.UnixMilli(expiry).Sub(now); left > 0 {
			wait = left
			return nil
		}
		in.Ended = true
		sent := in.EndEventSent
		if sent != nil {
			t := true
			in.EndEventSent = &t
		}
		if _, err := tx.Exec(ctx, `UPDATE user_action_instances SET ended = ?, end_event_sent = ? WHERE id = ?`, true, in.EndEventSent, id.String()); err != nil {
			return err
		}
		actionee, err := auth.UserByUUID(ctx, tx, in.ActioneeID)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
		if in.def.PreventLogin && actionee != nil {
			if err := refreshLoginPrevention(ctx, tx, in.ActioneeID); err != nil {
				return err
			}
		}
		if err := s.changed(ctx, tx, in.Num); err != nil {
			return err
		}
		return s.announce(ctx, tx, in, PhaseEnd, actionee, announcement{
			broadcast: in.def.SendEndEvent, emailUser: in.EmailUserOnEnd, notifyUser: in.NotifyUserOnEnd,
			actioner: in.ActionerID, comment: in.Comment, now: now,
		})
	})
	return wait, err
}

// SweepArgs asks for the end phases a lost job left undone.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "user_action_end_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return 20 * time.Second }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.s.Sweep(ctx)
	return err
}

// sweepBatch bounds one sweep.
const sweepBatch = 1000

// Sweep enqueues the end phase of every expired, unended instance (the
// backstop for end jobs that were lost): at most sweepBatch per call.
func (s *Service) Sweep(ctx context.Context) (n int, err error) {
	defer errs.Wrap(&err, "Sweep")
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, expiry_ms FROM user_action_instances
			WHERE temporal AND NOT cancelled AND NOT ended AND expiry_ms <= ? ORDER BY expiry_ms LIMIT ?`, tx.Now().UnixMilli(), sweepBatch)
		if err != nil {
			return err
		}
		type due struct {
			id     string
			expiry int64
		}
		var list []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.expiry); err != nil {
				rows.Close()
				return err
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range list {
			if err := s.Jobs.Enqueue(ctx, tx, EndArgs{InstanceID: uuid.MustParse(d.id), ExpiryMS: d.expiry}, nil); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	return n, err
}

// refreshLoginPrevention stores on the user the latest expiry among their
// active actions that prevent login, and that action's name: token
// authentication and password login read it with the user row.
func refreshLoginPrevention(ctx context.Context, tx *db.Tx, user uuid.UUID) error {
	var (
		until any
		name  string
		exp   int64
	)
	err := tx.QueryRow(ctx, `SELECT i.expiry_ms, d.name FROM user_action_instances i
		JOIN user_action_definitions d ON d.id = i.definition_id
		WHERE i.actionee_uuid = ? AND d.prevent_login AND i.temporal AND NOT i.cancelled AND i.expiry_ms > ?
		ORDER BY i.expiry_ms DESC LIMIT 1`, user.String(), tx.Now().UnixMilli()).Scan(&exp, &name)
	switch {
	case err == nil:
		until = exp
		if err := auth.EndSessionsOf(ctx, tx, user); err != nil {
			return err
		}
	case isNoRows(err):
		until, name = nil, ""
	default:
		return fmt.Errorf("login prevention of %s: %w", user, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET login_prevented_until_ms = ?, login_prevented_by = ? WHERE uuid = ?`, until, name, user.String()); err != nil {
		return fmt.Errorf("login prevention of %s: %w", user, err)
	}
	return nil
}

func refreshLoginPreventionFor(ctx context.Context, tx *db.Tx, q string, args ...any) error {
	users, err := uuidsOf(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := refreshLoginPrevention(ctx, tx, u); err != nil {
			return err
		}
	}
	return nil
}
