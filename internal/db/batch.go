package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many changes share one batched transaction.
const maxBatch = 64

// batcher queues InTxBatched changes for SQLite's one writer.
type batcher struct {
	mu      sync.Mutex
	queue   []*batchReq
	running bool
	// batches and changes count what ran, for tests.
	batches, changes atomic.Int64
}

type batchReq struct {
	ctx context.Context
	fn  func(tx *Tx) error
	tx  *Tx
	err error
	// failed: fn itself returned an error (its AfterRollback hooks run).
	failed bool
	panic  any
	done   chan struct{}
}

// errBatchLost says the shared transaction ended under a change that had
// already succeeded in it (nothing of the batch was committed).
var errBatchLost = errors.New("batched transaction was rolled back")

// InTxBatched runs fn in a read-write transaction, as InTx does, with the
// same guarantees to the caller: fn's changes commit exactly when it
// returns nil and InTxBatched returns nil, hooks run as InTx runs them,
// and tx.Now() taken after locking is in commit order.
//
// On SQLite, whose one writer serializes every change anyway, changes
// submitted while another is being written wait and then run together:
// one transaction, each change in a SAVEPOINT of its own (a change that
// fails rolls back alone, its error goes to its caller only), one commit
// for the lot, so one WAL append and, with synchronous=FULL, one fsync
// instead of one each. The changes run one after the other in the order
// they arrived and all become visible at the same instant, so the order
// of the times they take inside the transaction is still their commit
// order. A lone change runs exactly as InTx. Statements of a batched
// change are not interrupted when its context ends (an interrupted write
// would roll back the whole batch); a change whose context has ended
// before its turn does not run. On PostgreSQL InTxBatched is InTx.
//
// Use it for short, independent changes on a hot path (a resource PATCH);
// fn must not wait on anything another change of the batch could hold.
func (d *DB) InTxBatched(ctx context.Context, fn func(tx *Tx) error) error {
	if d.dialect != SQLite {
		return d.InTx(ctx, fn)
	}
	req := &batchReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	b := &d.batch
	b.mu.Lock()
	b.queue = append(b.queue, req)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		d.leadBatches(req)
	}
	<-req.done
	if req.panic != nil {
		panic(req.panic)
	}
	if req.tx != nil {
		hooks := req.tx.afterCommit
		if req.failed {
			hooks = req.tx.afterRollback
		}
		if req.err == nil || req.failed {
			for _, f := range hooks {
				f()
			}
		}
	}
	return req.err
}

// leadBatches runs queued batches until the queue is empty, or, once own
// (the leader's own change) is done, hands the rest to a goroutine so the
// leader's caller is not kept waiting for others' changes.
func (d *DB) leadBatches(own *batchReq) {
	b := &d.batch
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		if own != nil && isDone(own) {
			b.mu.Unlock()
			go d.leadBatches(nil)
			return
		}
		n := min(len(b.queue), maxBatch)
		batch := append([]*batchReq(nil), b.queue[:n]...)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		d.runBatch(batch)
	}
}

func isDone(r *batchReq) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// runBatch writes batch in one transaction and closes each change's done.
func (d *DB) runBatch(batch []*batchReq) {
	d.batch.batches.Add(1)
	d.batch.changes.Add(int64(len(batch)))
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	sqlTx, err := d.write.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.err = fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	savepoints := len(batch) > 1
	exec := func(q string) error {
		_, err := sqlTx.ExecContext(context.Background(), q)
		return err
	}
	var ok []*batchReq
	var lost error
	for _, r := range batch {
		if lost != nil {
			r.err = lost
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		r.tx = &Tx{conn: conn{d: d, r: uninterrupted{txStmts{tx: sqlTx, stmts: d.writeStmts}}, w: &writeSet{}}, tx: sqlTx}
		if savepoints {
			if err := exec("SAVEPOINT heed_batch"); err != nil {
				lost = fmt.Errorf("%w: savepoint: %v", errBatchLost, err)
				r.err = lost
				continue
			}
		}
		err := runChange(r)
		if err == nil {
			if savepoints {
				if rerr := exec("RELEASE heed_batch"); rerr != nil {
					lost = fmt.Errorf("%w: release: %v", errBatchLost, rerr)
					r.err = lost
					continue
				}
			}
			ok = append(ok, r)
			continue
		}
		r.err, r.failed = classify(err), true
		if savepoints {
			if rerr := exec("ROLLBACK TO heed_batch"); rerr != nil {
				lost = fmt.Errorf("%w: rollback to savepoint: %v", errBatchLost, rerr)
			} else if rerr := exec("RELEASE heed_batch"); rerr != nil {
				lost = fmt.Errorf("%w: release: %v", errBatchLost, rerr)
			}
		}
	}
	if lost != nil || len(ok) == 0 {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && len(ok) == 0 && len(batch) == 1 {
			batch[0].err = errors.Join(batch[0].err, fmt.Errorf("rollback: %w", rbErr))
		}
		for _, r := range ok {
			r.err = lost
		}
		return
	}
	err = sqlTx.Commit()
	for _, r := range ok {
		d.wrote(r.tx.w)
	}
	d.log.committed()
	if err != nil {
		err = classify(fmt.Errorf("commit: %w", err))
		for _, r := range ok {
			r.err = err
		}
	}
}

// runChange runs r's fn, turning a panic into an error for the batch (the
// caller panics again with the value).
func runChange(r *batchReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panic = p
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return r.fn(r.tx)
}

// uninterrupted runs a batched change's statements with its context's
// values but not its cancellation: SQLite rolls the whole transaction back
// when a write is interrupted, which would take the batch's other changes
// with it.
type uninterrupted struct{ r sqlRunner }

func (u uninterrupted) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return u.r.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (u uninterrupted) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return u.r.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (u uninterrupted) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return u.r.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}
