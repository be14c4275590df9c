// Package events is heed's outbox and webhook system, on FusionAuth's model:
// tenants say which event types are enabled and how transactional they are,
// webhooks subscribe to types for some tenants, and every event a change
// causes is written in that change's transaction together with one durable
// delivery job per matching webhook. Deliveries are signed (Standard
// Webhooks, and FusionAuth's JWT when configured), retried with backoff,
// logged attempt by attempt, and can veto the change when the tenant asks
// for transactional delivery.
//
// Domains call Publish inside their transaction; events never imports a
// domain.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/jobs"
)

// Event types heed emits. FusionAuth's user.action keeps its name; heed's
// own types use a dash so they cannot collide with FusionAuth's.
const (
	TypeUserAction            = "user.action"
	TypeUserActionCreated     = "user-action.created"
	TypeUserActionResolved    = "user-action.resolved"
	TypeUserActionSilenced    = "user-action.silenced"
	TypeResourceVersionCreate = "resource.version.created"
	TypeOrderStateChanged     = "order.state-changed"
)

// Types lists every event type, sorted.
var Types = []string{
	TypeOrderStateChanged, TypeResourceVersionCreate, TypeUserAction,
	TypeUserActionCreated, TypeUserActionResolved, TypeUserActionSilenced,
}

// KnownType reports whether t is an event type heed emits.
func KnownType(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// DefaultTenantID is the tenant created by the migration; heed's own events
// belong to it.
var DefaultTenantID = uuid.MustParse("7c1f3b0e-5d4a-4c86-9a3e-2b6f0d8e9a01")

// TransactionType is FusionAuth's transaction level for an event type.
type TransactionType string

// FusionAuth's levels. There is no "All": AbsoluteMajority means every
// webhook must succeed.
const (
	TxNone             TransactionType = "None"
	TxAny              TransactionType = "Any"
	TxSimpleMajority   TransactionType = "SimpleMajority"
	TxSuperMajority    TransactionType = "SuperMajority"
	TxAbsoluteMajority TransactionType = "AbsoluteMajority"
)

// TransactionTypes lists the levels in FusionAuth's order.
var TransactionTypes = []TransactionType{TxNone, TxAny, TxSimpleMajority, TxSuperMajority, TxAbsoluteMajority}

// Valid reports whether t is one of FusionAuth's levels.
func (t TransactionType) Valid() bool {
	for _, k := range TransactionTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Met reports whether s successes out of n eligible webhooks satisfy the
// level, exactly as FusionAuth's TransactionType.success computes it.
func (t TransactionType) Met(n, s int) bool {
	switch t {
	case TxAny:
		return s > 0
	case TxSimpleMajority:
		return float64(s) >= float64(n)/2
	case TxSuperMajority:
		return float64(s) >= 2*float64(n)/3
	case TxAbsoluteMajority:
		return s == n
	}
	return true
}

// Event is what a domain publishes.
type Event struct {
	Type string
	// TenantID is the tenant whose configuration and webhooks apply; zero
	// means the default tenant.
	TenantID uuid.UUID
	// LinkedObjectID names the object the event is about (FusionAuth's
	// linkedObjectId), when there is one.
	LinkedObjectID uuid.UUID
	// Fields are the event's own fields: a struct or map that encodes to a
	// JSON object. They go into {"event": {...}} beside the envelope's
	// type, id, createInstant and tenantId, which they must not repeat.
	Fields any
	// TransactionType, when set to a level other than None, overrides the
	// tenant's level for this event (an action definition's own level).
	TransactionType TransactionType
}

// Published is the outcome of Publish.
type Published struct {
	ID uuid.UUID
	// Webhooks is how many webhooks the event goes to; 0 means no row was
	// written (FusionAuth logs nothing for an event nobody receives).
	Webhooks int
	// CreateInstant is the event's time, read inside the transaction.
	CreateInstant time.Time
	// Body is the exact payload delivered, signed and logged.
	Body []byte
}

// Config tunes delivery.
type Config struct {
	// AllowPrivate lets webhooks reach loopback, private and link-local
	// addresses (HEED_WEBHOOK_ALLOW_PRIVATE); off, they are refused after
	// DNS resolution, so a name cannot smuggle one in.
	AllowPrivate bool
	// RetrySchedule is the wait before each retry after the first attempt
	// (default Svix's: 5s, 5m, 30m, 2h, 5h, 10h, 10h), each ±20 %.
	RetrySchedule []time.Duration
	// OverloadPenalty is the least wait after a timeout or a 429
	// (default 60s, as Svix).
	OverloadPenalty time.Duration
	// DisableAfter disables a webhook that has failed without a single
	// success for this long (default 120h, as Svix); 0 uses the default.
	DisableAfter time.Duration
	// LogRetentionDays prunes Webhook Event Log rows older than this, once
	// every delivery is finished; 0 keeps them forever.
	LogRetentionDays int
	// MaxWorkers bounds concurrent deliveries per process (default 100).
	MaxWorkers int
}

// DefaultRetrySchedule is Svix's schedule (reference/webhook-delivery.md).
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

func (c Config) withDefaults() Config {
	if len(c.RetrySchedule) == 0 {
		c.RetrySchedule = DefaultRetrySchedule
	}
	if c.OverloadPenalty <= 0 {
		c.OverloadPenalty = time.Minute
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 120 * time.Hour
	}
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = 100
	}
	return c
}

// ParseSchedule reads a retry schedule such as "5s,5m,30m".
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		part := s[start:i]
		start = i + 1
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule %q: %q is not a positive duration", s, part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("retry schedule %q is empty", s)
	}
	return out, nil
}

// Service owns tenants, keys, webhooks, the outbox and the event log.
type Service struct {
	DB   *db.DB
	Jobs jobs.Enqueuer
	cfg  Config
	log  *slog.Logger
	out  *deliverer
	m    *metrics
	// retryHints carries a failed attempt's wish (Retry-After, overload)
	// from Work to NextRetry, which River calls next in the same process.
	retryHints syncMap[int64, retryHint]
}

// New builds the service; Jobs is bound once the runner exists.
func New(d *db.DB, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	return &Service{DB: d, cfg: cfg, log: log, out: newDeliverer(cfg.AllowPrivate)}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// envelope builds {"event": {...}}: the envelope's fields first, then the
// event's own, encoded once; these bytes are stored, signed and sent.
func envelope(id uuid.UUID, typ string, tenant uuid.UUID, linked uuid.UUID, at time.Time, fields any) ([]byte, error) {
	var own []byte
	if fields != nil {
		b, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", typ, err)
		}
		if len(b) < 2 || b[0] != '{' {
			return nil, fmt.Errorf("encode %s event: fields are not a JSON object", typ)
		}
		own = b[1 : len(b)-1]
	}
	buf := make([]byte, 0, 160+len(own))
	buf = append(buf, `{"event":{"type":`...)
	buf = strconv.AppendQuote(buf, typ)
	buf = append(buf, `,"id":"`...)
	buf = append(buf, id.String()...)
	buf = append(buf, `","createInstant":`...)
	buf = strconv.AppendInt(buf, at.UnixMilli(), 10)
	buf = append(buf, `,"tenantId":"`...)
	buf = append(buf, tenant.String()...)
	buf = append(buf, '"')
	if linked != uuid.Nil {
		buf = append(buf, `,"linkedObjectId":"`...)
		buf = append(buf, linked.String()...)
		buf = append(buf, '"')
	}
	if len(own) > 0 {
		buf = append(buf, ',')
		buf = append(buf, own...)
	}
	buf = append(buf, "}}"...)
	return buf, nil
}

// Publish records ev in tx and arranges its delivery to every webhook that
// receives it: the tenant enables the type, the webhook covers the tenant
// (global or listed) and enables the type, and is not disabled.
//
// Under the level None the event is written with one delivery job per
// webhook, all committed or rolled back with tx. Under a transactional
// level the webhooks are called now, in parallel, while tx is open; when
// too few succeed Publish returns an errs.Upstream error, the caller's
// transaction rolls back, and the Failed event is logged after the
// rollback. Webhooks that failed while the level was met are retried by
// jobs.
func (s *Service) Publish(ctx context.Context, tx *db.Tx, ev Event) (p Published, err error) {
	if ev.TenantID == uuid.Nil {
		ev.TenantID = DefaultTenantID
	}
	cfg, anyWebhook, err := tenantEventConfig(ctx, tx, ev.TenantID)
	if err != nil {
		return p, err
	}
	tc, ok := cfg[ev.Type]
	if !ok || !tc.Enabled || !anyWebhook {
		return p, nil
	}
	hooks, err := s.receivers(ctx, tx, ev.Type, ev.TenantID)
	if err != nil || len(hooks) == 0 {
		return p, err
	}
	level := tc.TransactionType
	if ev.TransactionType != "" && ev.TransactionType != TxNone {
		level = ev.TransactionType
	}
	if !level.Valid() {
		level = TxNone
	}
	p.ID = uuid.New()
	p.CreateInstant = tx.Now()
	p.Webhooks = len(hooks)
	p.Body, err = envelope(p.ID, ev.Type, ev.TenantID, ev.LinkedObjectID, p.CreateInstant, ev.Fields)
	if err != nil {
		return p, err
	}
	rec := &eventRecord{
		ID: p.ID, Type: ev.Type, TenantID: ev.TenantID, Linked: ev.LinkedObjectID, Body: p.Body,
		Level: level, Created: p.CreateInstant, Webhooks: hooks,
	}
	if level == TxNone {
		return p, s.enqueueAll(ctx, tx, rec)
	}
	return p, s.deliverInTx(ctx, tx, rec)
}
