package history

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/jobs"
)

// PruneArgs is the periodic retention job.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "history_prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	db        *db.DB
	retention time.Duration
	log       *slog.Logger
}

// Timeout bounds one run: the job rescue is derived from it (jobs.New). A
// run cut short has committed its finished batches; the next tick goes on.
func (w *pruneWorker) Timeout(*river.Job[PruneArgs]) time.Duration { return 5 * time.Second }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	if w.retention <= 0 {
		return nil
	}
	n, err := Prune(ctx, w.db, w.db.Now().Add(-w.retention), 1000)
	if n > 0 {
		w.log.Info("old versions pruned", "count", n, "retention", w.retention)
	}
	return err
}

// RegisterJobs adds the retention job. retentionDays 0 keeps history
// forever: the job is then not scheduled at all.
func RegisterJobs(reg *jobs.Registry, d *db.DB, retentionDays int, log *slog.Logger) {
	retention := time.Duration(retentionDays) * 24 * time.Hour
	jobs.AddWorker(reg, &pruneWorker{db: d, retention: retention, log: log})
	if retentionDays > 0 {
		reg.AddPeriodic(jobs.Periodic{
			ID:       "history_prune",
			Schedule: "41 3 * * *",
			Args:     func() river.JobArgs { return PruneArgs{} },
		})
	}
}
