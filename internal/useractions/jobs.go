package useractions

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/jobs"
)

// detectionTimeout bounds one detection job. River rescues stuck jobs after
// the longest declared timeout (jobs.New), so this also bounds crash
// recovery of every job kind, orders included: 25 s keeps the rescue at 30 s.
// Installations whose detection takes longer run `heed actions update` from
// cron, which has no such bound.
const detectionTimeout = 25 * time.Second

// UpdateArgs asks for detection: one provider or all, one user or all.
type UpdateArgs struct {
	ActionType string `json:"action_type,omitempty"`
	UserID     int64  `json:"user_id,omitempty"`
}

// Kind implements river.JobArgs.
func (UpdateArgs) Kind() string { return "user_actions_update" }

type updateWorker struct {
	river.WorkerDefaults[UpdateArgs]
	s *Service
}

func (w *updateWorker) Timeout(*river.Job[UpdateArgs]) time.Duration { return detectionTimeout }

func (w *updateWorker) Work(ctx context.Context, job *river.Job[UpdateArgs]) error {
	var users []int64
	if job.Args.UserID != 0 {
		users = []int64{job.Args.UserID}
	}
	reports, err := w.s.Update(ctx, job.Args.ActionType, users)
	if err != nil {
		return err
	}
	for _, r := range reports {
		w.s.Log.Info("user actions detected", "provider", r.ActionType, "created", r.Created, "updated", r.Updated,
			"deleted", r.Deleted, "skipped", r.Skipped, "duration", r.Duration, "error", r.Err)
	}
	return nil
}

// CleanupArgs is the daily and weekly housekeeping: expired silences,
// executions past retention, actions nothing detects any more.
type CleanupArgs struct {
	What string `json:"what"`
}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "user_actions_cleanup" }

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	s *Service
}

func (w *cleanupWorker) Timeout(*river.Job[CleanupArgs]) time.Duration { return detectionTimeout }

func (w *cleanupWorker) Work(ctx context.Context, job *river.Job[CleanupArgs]) error {
	var (
		n   int64
		err error
	)
	switch job.Args.What {
	case "silences":
		n, err = w.s.CleanupExpiredSilences(ctx)
	case "executions":
		n, err = w.s.CleanupOldExecutions(ctx)
	case "dangling":
		n, err = w.s.CleanupDangling(ctx)
	default:
		return fmt.Errorf("unknown cleanup %q", job.Args.What)
	}
	if n > 0 {
		w.s.Log.Info("user actions cleanup", "what", job.Args.What, "count", n)
	}
	return err
}

// RegisterJobs adds detection, the cleanups and the digest, each on its
// schedule (overridable with --schedule ID=CRON).
func (s *Service) RegisterJobs(reg *jobs.Registry) {
	jobs.AddWorker(reg, &updateWorker{s: s})
	jobs.AddWorker(reg, &cleanupWorker{s: s})
	s.registerDigestJobs(reg)
	reg.AddPeriodic(jobs.Periodic{ID: "user_actions_update", Schedule: DefaultSchedule,
		Args: func() river.JobArgs { return UpdateArgs{} }})
	for _, c := range []struct{ id, schedule, what string }{
		{"user_actions_cleanup_silences", "0 2 * * *", "silences"},
		{"user_actions_cleanup_executions", "0 1 * * 0", "executions"},
		{"user_actions_cleanup_dangling", "30 3 * * *", "dangling"},
	} {
		what := c.what
		reg.AddPeriodic(jobs.Periodic{ID: c.id, Schedule: c.schedule, Args: func() river.JobArgs { return CleanupArgs{What: what} }})
	}
}

// RequestUpdate schedules detection (staff): one provider or all, for one
// user (userUUID) or everyone. It answers before detection runs.
func (s *Service) RequestUpdate(ctx context.Context, viewer *auth.User, actionType string, userUUID *uuid.UUID) (target *auth.User, err error) {
	defer errs.Wrap(&err, "RequestUpdate")
	if err := requireStaff(viewer); err != nil {
		return nil, err
	}
	if actionType != "" && s.provider(actionType) == nil {
		return nil, errs.Field("provider_action_type", "Unknown provider %q.", actionType)
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		args := UpdateArgs{ActionType: actionType}
		if userUUID != nil {
			u, err := auth.UserByUUID(ctx, tx, *userUUID)
			if err != nil {
				return err
			}
			target, args.UserID = u, u.ID
		}
		// Not unique: River's unique jobs must include running ones, and a
		// request made after a change must run even while an earlier run is
		// under way (it may have passed that provider already).
		return s.Jobs.Enqueue(ctx, tx, args, nil)
	})
	return target, err
}

// CleanupExpiredSilences clears temporary silences that have ended.
func (s *Service) CleanupExpiredSilences(ctx context.Context) (int64, error) {
	return s.execWrite(ctx, "UPDATE user_actions SET silenced_until = NULL WHERE silenced_until IS NOT NULL AND silenced_until < ? AND is_silenced = ?",
		s.DB.Now(), false)
}

// CleanupOldExecutions removes executions older than the retention.
func (s *Service) CleanupOldExecutions(ctx context.Context) (int64, error) {
	days := s.Settings.ExecutionRetentionDays
	if days <= 0 {
		return 0, nil
	}
	return s.execWrite(ctx, "DELETE FROM user_action_executions WHERE executed_at < ?", s.DB.Now().AddDate(0, 0, -days))
}

// ObjectTables is implemented by providers whose actions point at rows of
// known tables, so dangling actions (their object deleted) can be found in
// one statement per object type.
type ObjectTables interface {
	ObjectTables() map[string]string
}

// CleanupDangling deletes actions nothing can detect any more: of action
// types no provider registers, of inactive users, or about objects that no
// longer exist. The last two are what a detection would delete as cleared,
// and are announced as user-action.resolved; the first are not (see
// events.go).
func (s *Service) CleanupDangling(ctx context.Context) (n int64, err error) {
	defer errs.Wrap(&err, "CleanupDangling")
	types := make([]any, 0, len(s.providers))
	for _, r := range s.providers {
		types = append(types, r.p.ActionType())
	}
	tables := s.objectTables()
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		del := func(q string, args ...any) error {
			res, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			n += c
			return err
		}
		var resolved []change
		announce, returning := false, ""
		resolve := func(q string, args ...any) error {
			if !announce {
				return del(q, args...)
			}
			rows, err := tx.Query(ctx, q+returning, args...)
			if err != nil {
				return err
			}
			got, err := scanChanges(rows)
			n += int64(len(got))
			resolved = append(resolved, got...)
			return err
		}
		if len(types) > 0 {
			if err := del("DELETE FROM user_actions WHERE action_type NOT IN ("+db.Placeholders(len(types))+")", types...); err != nil {
				return err
			}
		} else if err := del("DELETE FROM user_actions"); err != nil {
			return err
		}
		if len(types) > 0 {
			var err error
			if announce, err = s.wants(ctx, tx, events.TypeUserActionResolved); err != nil {
				return err
			}
			if announce {
				if returning, err = s.changeReturning(ctx); err != nil {
					return err
				}
			}
		}
		if err := resolve("DELETE FROM user_actions WHERE user_id IN (SELECT id FROM users WHERE is_active = ?)", false); err != nil {
			return err
		}
		objTypes := make([]string, 0, len(tables))
		for t := range tables {
			objTypes = append(objTypes, t)
		}
		sort.Strings(objTypes)
		for _, objType := range objTypes {
			if err := resolve("DELETE FROM user_actions WHERE object_type = ? AND NOT EXISTS (SELECT 1 FROM "+tables[objType]+
				" t WHERE t.id = user_actions.object_id)", objType); err != nil {
				return err
			}
		}
		return s.publish(ctx, tx, events.TypeUserActionResolved, resolved)
	})
	return n, err
}
