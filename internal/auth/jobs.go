package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/jobs"
)

// TokenCleanupArgs is the periodic job that removes expired tokens.
type TokenCleanupArgs struct{}

// Kind implements river.JobArgs.
func (TokenCleanupArgs) Kind() string { return "token_cleanup" }

type tokenCleanupWorker struct {
	river.WorkerDefaults[TokenCleanupArgs]
	db  *db.DB
	log *slog.Logger
}

// Timeout bounds one run: the job rescue is derived from it (jobs.New). A
// run cut short has committed its finished batches; the next tick goes on.
func (w *tokenCleanupWorker) Timeout(*river.Job[TokenCleanupArgs]) time.Duration {
	return 5 * time.Second
}

func (w *tokenCleanupWorker) Work(ctx context.Context, _ *river.Job[TokenCleanupArgs]) error {
	n, err := DeleteExpiredTokens(ctx, w.db, 1000)
	if n > 0 {
		w.log.Info("expired tokens deleted", "count", n)
	}
	return err
}

// RegisterJobs adds auth's workers and periodic jobs.
func RegisterJobs(reg *jobs.Registry, d *db.DB, log *slog.Logger) {
	jobs.AddWorker(reg, &tokenCleanupWorker{db: d, log: log})
	reg.AddPeriodic(jobs.Periodic{
		ID:       "token_cleanup",
		Schedule: "17 * * * *",
		Args:     func() river.JobArgs { return TokenCleanupArgs{} },
	})
}
