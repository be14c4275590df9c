package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// EventSetting is a tenant's configuration of one event type.
type EventSetting struct {
	Enabled         bool            `json:"enabled"`
	TransactionType TransactionType `json:"transactionType"`
}

// Tenant is FusionAuth's tenant, as far as events need it.
type Tenant struct {
	ID            uuid.UUID
	Name          string
	Data          json.RawMessage
	Events        map[string]EventSetting
	FromEmail     string
	FromName      string
	Created       time.Time
	Updated       time.Time
	AttachWebhook []uuid.UUID // request only: FusionAuth's top-level webhookIds
}

// tenantEventConfig reads a tenant's event configuration and, in the same
// statement, whether any webhook is enabled at all: with none, an event
// goes nowhere whatever the configuration says, and the publisher need not
// load the webhooks (a second statement in every publishing transaction).
func tenantEventConfig(ctx context.Context, c db.Conn, id uuid.UUID) (cfg map[string]EventSetting, anyWebhook bool, err error) {
	var raw string
	err = c.QueryRow(ctx, `SELECT event_config, EXISTS (SELECT 1 FROM webhooks WHERE enabled = ?) FROM tenants WHERE id = ?`,
		true, id.String()).Scan(&raw, &anyWebhook)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil // a tenant deleted since: nothing is enabled
		}
		return nil, false, fmt.Errorf("tenant %s event configuration: %w", id, err)
	}
	if m, ok := decodedConfigs.Load(raw); ok {
		return m.(map[string]EventSetting), anyWebhook, nil
	}
	var m map[string]EventSetting
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, false, fmt.Errorf("decode tenant %s event configuration: %w", id, err)
	}
	if decodedCount.Add(1) > maxDecodedConfigs {
		decodedConfigs.Clear()
		decodedCount.Store(1)
	}
	decodedConfigs.Store(raw, m)
	return m, anyWebhook, nil
}

// decodedConfigs maps a stored event configuration's text to its decoding
// (read-only: callers only look types up in it). Every published event
// reads its tenant's configuration inside the publishing transaction;
// decoding the same text again each time was most of that read's cost.
// Keyed by the text itself, an entry is never stale.
var (
	decodedConfigs sync.Map // string → map[string]EventSetting
	decodedCount   atomic.Int64
)

// maxDecodedConfigs bounds decodedConfigs (it starts over when full).
const maxDecodedConfigs = 256

func existingTenants(ctx context.Context, c db.Conn, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id.String()
	}
	rows, err := c.Query(ctx, `SELECT id FROM tenants WHERE id IN (`+db.Placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("look up tenants: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[uuid.MustParse(s)] = true
	}
	return out, rows.Err()
}

func (s *Service) validateTenant(ctx context.Context, c db.Conn, t *Tenant) error {
	e := &errs.Error{Kind: errs.Invalid}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		e.Add("blank", "tenant.name", "You must specify the [tenant.name] property.")
	} else if len(t.Name) > 191 {
		e.Add("tooLong", "tenant.name", "The [tenant.name] property is longer than 191 characters.")
	}
	for typ, set := range t.Events {
		if !KnownType(typ) {
			e.Add("invalid", "tenant.eventConfiguration.events", "The event type [%s] is unknown.", typ)
		}
		if set.TransactionType == "" {
			set.TransactionType = TxNone
			t.Events[typ] = set
		} else if !set.TransactionType.Valid() {
			e.Add("invalid", "tenant.eventConfiguration.events["+typ+"].transactionType",
				"The transaction type [%s] is not one of None, Any, SimpleMajority, SuperMajority, AbsoluteMajority.", set.TransactionType)
		}
	}
	if len(t.AttachWebhook) > 0 {
		for _, id := range t.AttachWebhook {
			if _, err := getWebhook(ctx, c, id, false); errs.KindOf(err) == errs.NotFound {
				e.Add("invalid", "webhookIds", "The webhook [%s] does not exist.", id)
			} else if err != nil {
				return err
			}
		}
	}
	return e.OrNil()
}

func normaliseTenant(t *Tenant) {
	if t.Events == nil {
		t.Events = map[string]EventSetting{}
	}
	if len(t.Data) == 0 || string(t.Data) == "null" {
		t.Data = json.RawMessage("{}")
	}
}

// attachWebhooks adds tenant id to each listed webhook's tenants.
func attachWebhooks(ctx context.Context, tx *db.Tx, tenant uuid.UUID, hooks []uuid.UUID) error {
	for _, id := range hooks {
		w, err := getWebhook(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if w.Global {
			continue
		}
		w.TenantIDs = append(w.TenantIDs, tenant)
		normalise(w)
		if _, err := tx.Exec(ctx, `UPDATE webhooks SET tenant_ids = ?, updated = ? WHERE id = ?`, jsonText(w.TenantIDs), tx.Now(), id.String()); err != nil {
			return err
		}
	}
	return nil
}

// CreateTenant stores t (a zero ID gets a random one).
func (s *Service) CreateTenant(ctx context.Context, t Tenant) (out *Tenant, err error) {
	defer errs.Wrap(&err, "CreateTenant")
	normaliseTenant(&t)
	if t.ID == uuid.Nil {
		t.ID = uuid.New()
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.validateTenant(ctx, tx, &t); err != nil {
			return err
		}
		t.Created = tx.Now()
		t.Updated = t.Created
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, data, event_config, email_from, email_from_name, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID.String(), t.Name, string(t.Data), jsonText(t.Events), t.FromEmail, t.FromName, t.Created, t.Updated)
		if db.IsUniqueViolation(err) {
			if _, gerr := getTenant(ctx, tx, t.ID); gerr == nil {
				return errs.Coded("duplicate", "tenantId", "A tenant with id [%s] already exists.", t.ID)
			}
			return errs.Coded("duplicate", "tenant.name", "A tenant with name [%s] already exists.", t.Name)
		}
		if err != nil {
			return err
		}
		return attachWebhooks(ctx, tx, t.ID, t.AttachWebhook)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTenant replaces a tenant's settings (PUT; PATCH merges first).
func (s *Service) UpdateTenant(ctx context.Context, id uuid.UUID, t Tenant) (out *Tenant, err error) {
	defer errs.Wrap(&err, "UpdateTenant(%s)", id)
	normaliseTenant(&t)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getTenant(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.validateTenant(ctx, tx, &t); err != nil {
			return err
		}
		t.ID, t.Created, t.Updated = id, cur.Created, tx.Now()
		_, err = tx.Exec(ctx, `UPDATE tenants SET name = ?, data = ?, event_config = ?, email_from = ?, email_from_name = ?, updated = ?
			WHERE id = ?`, t.Name, string(t.Data), jsonText(t.Events), t.FromEmail, t.FromName, t.Updated, id.String())
		if db.IsUniqueViolation(err) {
			return errs.Coded("duplicate", "tenant.name", "A tenant with name [%s] already exists.", t.Name)
		}
		if err != nil {
			return err
		}
		return attachWebhooks(ctx, tx, t.ID, t.AttachWebhook)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTenant removes a tenant (not the default one) that no application
// belongs to, and drops it from the webhooks that listed it.
func (s *Service) DeleteTenant(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteTenant(%s)", id)
	if id == DefaultTenantID {
		return errs.Coded("invalid", "tenantId", "The default tenant cannot be deleted.")
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		// applications.tenant_id references the tenant: refuse, as a key a
		// webhook signs with is refused, rather than fail on the foreign key.
		if err := deleteUnused(ctx, tx, id, "tenants", "tenant", `SELECT COUNT(*) FROM applications WHERE tenant_id = ?`,
			func(apps int) error {
				return errs.Coded("inUse", "tenantId", "The tenant has %d application(s); delete them first.", apps)
			}); err != nil {
			return err
		}
		hooks, err := loadWebhooks(ctx, tx, "", false)
		if err != nil {
			return err
		}
		for _, w := range hooks {
			kept := w.TenantIDs[:0]
			for _, t := range w.TenantIDs {
				if t != id {
					kept = append(kept, t)
				}
			}
			if len(kept) != len(w.TenantIDs) {
				if _, err := tx.Exec(ctx, `UPDATE webhooks SET tenant_ids = ?, updated = ? WHERE id = ?`, jsonText(kept), tx.Now(), w.ID.String()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// GetTenant returns one tenant.
func (s *Service) GetTenant(ctx context.Context, id uuid.UUID) (t *Tenant, err error) {
	defer errs.Wrap(&err, "GetTenant(%s)", id)
	return getTenant(ctx, s.DB.Reader(), id)
}

// ListTenants returns every tenant by name.
func (s *Service) ListTenants(ctx context.Context) (out []*Tenant, err error) {
	defer errs.Wrap(&err, "ListTenants")
	return loadTenants(ctx, s.DB.Reader(), "", nil)
}

func getTenant(ctx context.Context, c db.Conn, id uuid.UUID) (*Tenant, error) {
	return getByID(ctx, c, id, "tenant", loadTenants)
}

func loadTenants(ctx context.Context, c db.Conn, where string, args []any) ([]*Tenant, error) {
	return loadByName(ctx, c, "tenants", `SELECT id, name, data, event_config, email_from, email_from_name, created, updated FROM tenants`,
		where, args, scanTenant)
}

func scanTenant(r rowScanner) (*Tenant, error) {
	var t Tenant
	var id, data, events string
	if err := r.Scan(&id, &t.Name, &data, &events, &t.FromEmail, &t.FromName, &t.Created, &t.Updated); err != nil {
		return nil, fmt.Errorf("scan tenant: %w", err)
	}
	t.ID = uuid.MustParse(id)
	t.Data = json.RawMessage(data)
	if err := json.Unmarshal([]byte(events), &t.Events); err != nil {
		return nil, fmt.Errorf("decode tenant %s events: %w", id, err)
	}
	t.Created, t.Updated = t.Created.UTC(), t.Updated.UTC()
	return &t, nil
}
