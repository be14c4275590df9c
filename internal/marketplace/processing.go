package marketplace

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/jobs"
)

// Processor carries out approved orders for one offering type. Process runs
// outside any transaction (it may call a backend); its outcome is applied
// to the order and resource in one transaction afterwards. An error marks
// the order erred with the error's message.
//
// Process may be called more than once for one order: a job whose process
// died before its outcome committed is run again (see ProcessOrder). A
// backend call must therefore be idempotent, keyed by the order's UUID, and
// finish within processOrderTimeout (its ctx is cancelled then).
type Processor interface {
	Process(ctx context.Context, o *Order) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, o *Order) error

// Process implements Processor.
func (f ProcessorFunc) Process(ctx context.Context, o *Order) error { return f(ctx, o) }

// basicProcessor has no backend: approved orders complete at once.
type basicProcessor struct{}

func (basicProcessor) Process(context.Context, *Order) error { return nil }

// RegisterProcessor makes an offering type available.
func (s *Service) RegisterProcessor(offeringType string, p Processor) { s.processors[offeringType] = p }

// RegisterJobs adds the order-processing worker.
func (s *Service) RegisterJobs(reg *jobs.Registry, log *slog.Logger) {
	jobs.AddWorker(reg, &processOrderWorker{s: s, log: log})
}

type processOrderWorker struct {
	river.WorkerDefaults[ProcessOrderArgs]
	s   *Service
	log *slog.Logger
}

// processOrderTimeout bounds one attempt. River's rescue of jobs left
// running by a dead process is derived from the job timeouts (jobs.New), so
// this also bounds how long an approved order can hang after a crash.
const processOrderTimeout = 5 * time.Second

// Timeout implements river.Worker.
func (w *processOrderWorker) Timeout(*river.Job[ProcessOrderArgs]) time.Duration {
	return processOrderTimeout
}

func (w *processOrderWorker) Work(ctx context.Context, job *river.Job[ProcessOrderArgs]) error {
	if err := w.s.ProcessOrder(ctx, job.Args.OrderID); err != nil {
		return err
	}
	w.log.Debug("order processed", "order_id", job.Args.OrderID)
	return nil
}

// ProcessOrder carries out an executing order: the job's work, callable
// directly (the demo loader does). It is idempotent, so a rescued job, a
// retry or a second concurrent call completes the order exactly once: the
// outcome is applied in one transaction that locks the order row (FOR
// UPDATE on PostgreSQL; SQLite's single writer) and re-checks that it is
// still executing, and the order's resource was created with the order, so
// completing never creates one. A process killed before that transaction
// committed left no trace of the attempt; one killed after it leaves a job
// that finds the order done and returns.
func (s *Service) ProcessOrder(ctx context.Context, orderID int64) error {
	var o *Order
	if err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		o, err = loadOrder(ctx, c, orderID, false)
		return err
	}); err != nil {
		return err
	}
	if o.State != OrderExecuting {
		return nil // already finished: a retry after a crash, or a duplicate
	}
	var procErr error
	if p, ok := s.processors[o.OfferingType]; ok {
		procErr = p.Process(ctx, o)
	} else {
		procErr = fmt.Errorf("no processor for offering type %q", o.OfferingType)
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		o, err := loadOrder(ctx, tx, orderID, true)
		if err != nil {
			return err
		}
		if o.State != OrderExecuting {
			return nil
		}
		if procErr != nil {
			return s.failOrder(ctx, tx, o, procErr.Error())
		}
		return s.completeOrder(ctx, tx, o)
	})
}

func hexID(o *Order) string { return strings.ReplaceAll(o.UUID.String(), "-", "") }

func (s *Service) completeOrder(ctx context.Context, tx *db.Tx, o *Order) error {
	if o.ResourceID != nil {
		var plan *Plan
		if o.Type == OrderTypeUpdate && o.PlanID != nil {
			p, err := getPlan(ctx, tx, "pl.id = ?", *o.PlanID)
			if err != nil {
				return err
			}
			plan = p
		}
		next := ResourceOK
		if o.Type == OrderTypeTerminate {
			next = ResourceTerminated
		}
		comment := fmt.Sprintf("State changed to %s by order %s", next, hexID(o))
		if o.Type == OrderTypeUpdate {
			comment = fmt.Sprintf("Resource updated by order %s", hexID(o))
		}
		if err := s.changeResourceByID(ctx, tx, *o.ResourceID, Change{Comment: comment}, func(r *Resource) error {
			r.State = next
			r.ErrorMessage = ""
			if plan != nil {
				r.PlanID, r.PlanUUID = &plan.ID, &plan.UUID
				c := plan.UnitPrice
				r.Cost = &c
			}
			if o.Type == OrderTypeUpdate && len(o.Limits) > 0 {
				r.Limits = copyLimits(o.Limits)
			}
			if o.Type == OrderTypeUpdate {
				applyRenewal(o, r, tx.Now())
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return s.setOrderState(ctx, tx, o, OrderDone, "completed_at = ?", tx.Now())
}

func (s *Service) failOrder(ctx context.Context, tx *db.Tx, o *Order, msg string) error {
	if o.ResourceID != nil {
		comment := fmt.Sprintf("State changed to %s by order %s", ResourceErred, hexID(o))
		if err := s.changeResourceByID(ctx, tx, *o.ResourceID, Change{Comment: comment}, func(r *Resource) error {
			r.State = ResourceErred
			r.ErrorMessage = msg
			return nil
		}); err != nil {
			return err
		}
	}
	return s.setOrderState(ctx, tx, o, OrderErred, "error_message = ?, completed_at = ?", msg, tx.Now())
}
