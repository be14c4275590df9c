package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
)

// EventLog is one event in FusionAuth's Webhook Event Log: heed's outbox
// row, with its attempts.
type EventLog struct {
	ID                 uuid.UUID
	Sequence           int64
	Type               string
	TenantID           uuid.UUID
	LinkedObjectID     uuid.UUID
	Body               json.RawMessage
	TransactionType    TransactionType
	Result             string
	WebhookIDs         []uuid.UUID
	Pending            int
	SuccessfulAttempts int
	FailedAttempts     int
	Created            time.Time
	LastAttempt        *time.Time
	Updated            time.Time
	Attempts           []*AttemptLog
}

// AttemptLog is one HTTP call of a delivery.
type AttemptLog struct {
	ID         uuid.UUID
	EventID    uuid.UUID
	WebhookID  uuid.UUID
	URL        string
	Attempt    int
	Start, End time.Time
	Result     string
	StatusCode int
	Exception  string
}

// EventLogSearch is FusionAuth's webhook event log search.
type EventLogSearch struct {
	Start, End time.Time
	// Event matches within the stored body (* wildcard; no * means
	// anywhere), case-insensitively.
	Event           string
	Result          string
	Type            string
	OrderBy         string
	NumberOfResults int
	StartRow        int
}

var eventLogOrder = map[string]string{
	"eventresult": "e.result", "eventtype": "e.event_type", "id": "e.id", "insertinstant": "e.created",
	"lastattemptinstant": "e.last_attempt_at", "linkedobjectid": "e.linked_object_id", "sequence": "e.seq",
}

const eventLogColumns = `e.seq, e.id, e.event_type, e.tenant_id, e.linked_object_id, e.body, e.transaction_type, e.result,
	e.webhook_ids, e.pending, e.successful_attempts, e.failed_attempts, e.created, e.last_attempt_at, e.updated`

func scanEventLog(r interface{ Scan(...any) error }) (*EventLog, error) {
	var (
		e                      EventLog
		id, body, level, hooks string
		tenant, linked         sql.NullString
		lastAttempt            sql.NullTime
	)
	if err := r.Scan(&e.Sequence, &id, &e.Type, &tenant, &linked, &body, &level, &e.Result, &hooks, &e.Pending,
		&e.SuccessfulAttempts, &e.FailedAttempts, &e.Created, &lastAttempt, &e.Updated); err != nil {
		return nil, fmt.Errorf("scan event log: %w", err)
	}
	e.ID = uuid.MustParse(id)
	if tenant.Valid {
		e.TenantID = uuid.MustParse(tenant.String)
	}
	if linked.Valid {
		e.LinkedObjectID = uuid.MustParse(linked.String)
	}
	e.Body = json.RawMessage(body)
	e.TransactionType = TransactionType(level)
	if err := json.Unmarshal([]byte(hooks), &e.WebhookIDs); err != nil {
		return nil, fmt.Errorf("decode event %s webhooks: %w", id, err)
	}
	if lastAttempt.Valid {
		t := lastAttempt.Time.UTC()
		e.LastAttempt = &t
	}
	e.Created, e.Updated = e.Created.UTC(), e.Updated.UTC()
	return &e, nil
}

// GetEventLog returns one event with its attempts, oldest first.
func (s *Service) GetEventLog(ctx context.Context, id uuid.UUID) (out *EventLog, err error) {
	defer errs.Wrap(&err, "GetEventLog(%s)", id)
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		out, err = scanEventLog(c.QueryRow(ctx, `SELECT `+eventLogColumns+` FROM webhook_events e WHERE e.id = ?`, id.String()))
		if isNoRows(err) {
			return errs.NotFoundf("event not found")
		}
		if err != nil {
			return err
		}
		out.Attempts, err = loadAttempts(ctx, c, `a.event_seq = ?`, out.Sequence)
		return err
	})
	return out, err
}

// GetAttemptLog returns one attempt.
func (s *Service) GetAttemptLog(ctx context.Context, id uuid.UUID) (out *AttemptLog, err error) {
	defer errs.Wrap(&err, "GetAttemptLog(%s)", id)
	as, err := loadAttempts(ctx, s.DB.Reader(), `a.id = ?`, id.String())
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, errs.NotFoundf("attempt not found")
	}
	return as[0], nil
}

func loadAttempts(ctx context.Context, c db.Conn, where string, args ...any) ([]*AttemptLog, error) {
	rows, err := c.Query(ctx, `SELECT a.id, e.id, a.webhook_id, a.url, a.attempt, a.started_at, a.ended_at, a.result,
		a.status_code, a.exception FROM webhook_attempts a JOIN webhook_events e ON e.seq = a.event_seq
		WHERE `+where+` ORDER BY a.started_at, a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load attempts: %w", err)
	}
	defer rows.Close()
	out := []*AttemptLog{}
	for rows.Next() {
		var a AttemptLog
		var id, ev, hook string
		if err := rows.Scan(&id, &ev, &hook, &a.URL, &a.Attempt, &a.Start, &a.End, &a.Result, &a.StatusCode, &a.Exception); err != nil {
			return nil, fmt.Errorf("scan attempt: %w", err)
		}
		a.ID, a.EventID, a.WebhookID = uuid.MustParse(id), uuid.MustParse(ev), uuid.MustParse(hook)
		a.Start, a.End = a.Start.UTC(), a.End.UTC()
		out = append(out, &a)
	}
	return out, rows.Err()
}

// likePattern turns FusionAuth's wildcard into a LIKE pattern (escape \).
func likePattern(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	p = r.Replace(strings.ToLower(p))
	if !strings.Contains(p, "*") {
		return "%" + p + "%"
	}
	return strings.ReplaceAll(p, "*", "%")
}

// SearchEventLogs finds events in [Start, End] (FusionAuth's defaults: the
// last hour), filtered and ordered as asked; attempts are not loaded.
func (s *Service) SearchEventLogs(ctx context.Context, q EventLogSearch) (out []*EventLog, total int, err error) {
	defer errs.Wrap(&err, "SearchEventLogs")
	field, desc, ok := ParseOrderBy(q.OrderBy, []string{"eventresult", "eventtype", "id", "insertinstant", "lastattemptinstant", "linkedobjectid", "sequence"}, "insertInstant DESC")
	if !ok {
		return nil, 0, errs.Coded("invalid", "search.orderBy", "The [search.orderBy] property must be one of eventResult, eventType, id, insertInstant, lastAttemptInstant, linkedObjectId or sequence, then ASC or DESC.")
	}
	if q.Result != "" && q.Result != ResultRunning && q.Result != ResultSucceeded && q.Result != ResultFailed {
		return nil, 0, errs.Coded("invalid", "search.eventResult", "The [search.eventResult] property must be Running, Succeeded or Failed.")
	}
	now := s.DB.Now()
	if q.Start.IsZero() {
		q.Start = now.Add(-time.Hour).Truncate(time.Minute)
	}
	if q.End.IsZero() {
		q.End = now.Truncate(time.Minute).Add(time.Minute)
	}
	if q.NumberOfResults <= 0 {
		q.NumberOfResults = 25
	}
	q.NumberOfResults = min(q.NumberOfResults, 1000)
	where := []string{"e.created >= ?", "e.created <= ?"}
	args := []any{q.Start, q.End}
	if q.Type != "" {
		where, args = append(where, "e.event_type = ?"), append(args, q.Type)
	}
	if q.Result != "" {
		where, args = append(where, "e.result = ?"), append(args, q.Result)
	}
	if q.Event != "" {
		where, args = append(where, `lower(e.body) LIKE ? ESCAPE '\'`), append(args, likePattern(q.Event))
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	order := eventLogOrder[field] + " " + dir + ", e.seq " + dir
	cond := strings.Join(where, " AND ")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_events e WHERE `+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT `+eventLogColumns+` FROM webhook_events e WHERE `+cond+` ORDER BY `+order+
			` LIMIT ? OFFSET ?`, append(args, q.NumberOfResults, max(q.StartRow, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEventLog(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if out == nil {
		out = []*EventLog{}
	}
	return out, total, err
}

// Replay delivers a logged event again, with the same id and bytes, to one
// of the webhooks it went to (webhook non-zero) or to all of them that are
// still enabled. A replay is one attempt, not retried; it shows in the log
// as further attempts. It returns how many deliveries were queued.
func (s *Service) Replay(ctx context.Context, event, webhook uuid.UUID) (n int, err error) {
	defer errs.Wrap(&err, "Replay(%s)", event)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		e, err := scanEventLog(tx.QueryRow(ctx, `SELECT `+eventLogColumns+` FROM webhook_events e WHERE e.id = ?`, event.String()))
		if isNoRows(err) {
			return errs.NotFoundf("event not found")
		}
		if err != nil {
			return err
		}
		targets := e.WebhookIDs
		if webhook != uuid.Nil {
			found := false
			for _, id := range e.WebhookIDs {
				found = found || id == webhook
			}
			if !found {
				return errs.Coded("invalid", "webhookId", "The event [%s] was not sent to webhook [%s].", event, webhook)
			}
			targets = []uuid.UUID{webhook}
		}
		for _, id := range targets {
			w, err := getWebhook(ctx, tx, id, false)
			if errs.KindOf(err) == errs.NotFound || (err == nil && !w.Enabled) {
				if webhook != uuid.Nil {
					return errs.Coded("invalid", "webhookId", "The webhook [%s] no longer exists or is disabled; re-enable it first.", id)
				}
				continue
			}
			if err != nil {
				return err
			}
			if err := s.Jobs.Enqueue(ctx, tx, DeliverArgs{EventID: event, WebhookID: id, Replay: true, ReplayID: uuid.New()},
				&river.InsertOpts{MaxAttempts: 1}); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return errs.Coded("invalid", "webhookId", "None of the event's webhooks exists and is enabled.")
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_events SET pending = pending + ?, result = ?, updated = ? WHERE seq = ?`,
			n, ResultRunning, tx.Now(), e.Sequence)
		return err
	})
	return n, err
}

// System Event Log types (FusionAuth's).
const (
	LogInformation = "Information"
	LogDebug       = "Debug"
	LogError       = "Error"
)

// SystemLogEntry is one line of the system Event Log.
type SystemLogEntry struct {
	ID      int64
	Created time.Time
	Type    string
	Message string
}

func systemLog(ctx context.Context, tx *db.Tx, typ, msg string) error {
	_, err := tx.Exec(ctx, `INSERT INTO system_event_log (created, log_type, message) VALUES (?, ?, ?)`, tx.Now(), typ, truncate(msg, 4000))
	if err != nil {
		return fmt.Errorf("system event log: %w", err)
	}
	return nil
}

// GetSystemLog returns one system Event Log entry.
func (s *Service) GetSystemLog(ctx context.Context, id int64) (*SystemLogEntry, error) {
	var e SystemLogEntry
	err := s.DB.Reader().QueryRow(ctx, `SELECT id, created, log_type, message FROM system_event_log WHERE id = ?`, id).
		Scan(&e.ID, &e.Created, &e.Type, &e.Message)
	if isNoRows(err) {
		return nil, errs.NotFoundf("event log entry not found")
	}
	if err != nil {
		return nil, fmt.Errorf("GetSystemLog(%d): %w", id, err)
	}
	e.Created = e.Created.UTC()
	return &e, nil
}

// SystemLogSearch is FusionAuth's event log search.
type SystemLogSearch struct {
	Start, End      time.Time
	Message, Type   string
	OrderBy         string
	NumberOfResults int
	StartRow        int
}

// SearchSystemLog finds system Event Log entries, newest first by default.
func (s *Service) SearchSystemLog(ctx context.Context, q SystemLogSearch) (out []*SystemLogEntry, total int, err error) {
	defer errs.Wrap(&err, "SearchSystemLog")
	field, desc, ok := ParseOrderBy(q.OrderBy, []string{"insertinstant", "id", "type"}, "insertInstant DESC")
	if !ok {
		return nil, 0, errs.Coded("invalid", "search.orderBy", "The [search.orderBy] property must be one of id, insertInstant or type, then ASC or DESC.")
	}
	if q.NumberOfResults <= 0 {
		q.NumberOfResults = 25
	}
	q.NumberOfResults = min(q.NumberOfResults, 1000)
	where, args := []string{"1 = 1"}, []any{}
	if !q.Start.IsZero() {
		where, args = append(where, "created >= ?"), append(args, q.Start)
	}
	if !q.End.IsZero() {
		where, args = append(where, "created <= ?"), append(args, q.End)
	}
	if q.Type != "" {
		where, args = append(where, "log_type = ?"), append(args, q.Type)
	}
	if q.Message != "" {
		where, args = append(where, `lower(message) LIKE ? ESCAPE '\'`), append(args, likePattern(q.Message))
	}
	col := map[string]string{"insertinstant": "created", "id": "id", "type": "log_type"}[field]
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	cond := strings.Join(where, " AND ")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM system_event_log WHERE `+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT id, created, log_type, message FROM system_event_log WHERE `+cond+
			` ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT ? OFFSET ?`, append(args, q.NumberOfResults, max(q.StartRow, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e SystemLogEntry
			if err := rows.Scan(&e.ID, &e.Created, &e.Type, &e.Message); err != nil {
				return err
			}
			e.Created = e.Created.UTC()
			out = append(out, &e)
		}
		return rows.Err()
	})
	if out == nil {
		out = []*SystemLogEntry{}
	}
	return out, total, err
}

// PruneArgs asks for one pruning pass of the event logs.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "webhook_event_log_prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	s *Service
}

func (w *pruneWorker) Timeout(*river.Job[PruneArgs]) time.Duration { return 20 * time.Second }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.s.Prune(ctx)
	return err
}

func (s *Service) registerPrune(reg *jobs.Registry) {
	jobs.AddWorker(reg, &pruneWorker{s: s})
	reg.AddPeriodic(jobs.Periodic{ID: "webhook_event_log_prune", Schedule: "@every 1h", Args: func() river.JobArgs { return PruneArgs{} }})
}

// pruneBatch bounds one pruning transaction.
const pruneBatch = 1000

// Prune deletes event log rows (with their attempts) and system log
// entries older than the retention, in batches; an event with deliveries
// still pending is kept whatever its age.
func (s *Service) Prune(ctx context.Context) (deleted int, err error) {
	defer errs.Wrap(&err, "Prune")
	if s.cfg.LogRetentionDays <= 0 {
		return 0, nil
	}
	cutoff := s.DB.Now().AddDate(0, 0, -s.cfg.LogRetentionDays)
	for {
		var n int64
		err := s.DB.InTx(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(ctx, `SELECT seq FROM webhook_events WHERE created < ? AND pending = 0 ORDER BY seq LIMIT ?`, cutoff, pruneBatch)
			if err != nil {
				return err
			}
			var seqs []any
			for rows.Next() {
				var seq int64
				if err := rows.Scan(&seq); err != nil {
					rows.Close()
					return err
				}
				seqs = append(seqs, seq)
			}
			rows.Close()
			if err := rows.Err(); err != nil || len(seqs) == 0 {
				return err
			}
			in := db.Placeholders(len(seqs))
			if _, err := tx.Exec(ctx, `DELETE FROM webhook_attempts WHERE event_seq IN (`+in+`)`, seqs...); err != nil {
				return err
			}
			res, err := tx.Exec(ctx, `DELETE FROM webhook_events WHERE seq IN (`+in+`)`, seqs...)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += int(n)
		if n < pruneBatch {
			break
		}
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM system_event_log WHERE created < ?`, cutoff)
		return err
	})
	return deleted, err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
