package actioning

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// Application is FusionAuth's application, kept only so that actions can
// be scoped to applications (applicationIds).
type Application struct {
	ID               uuid.UUID
	Name             string
	TenantID         uuid.UUID
	Active           bool
	Data             json.RawMessage
	Created, Updated time.Time
}

const applicationColumns = `id, name, tenant_id, active, data, created, updated`

func scanApplication(r interface{ Scan(...any) error }) (*Application, error) {
	var (
		a                Application
		id, tenant, data string
	)
	if err := r.Scan(&id, &a.Name, &tenant, &a.Active, &data, &a.Created, &a.Updated); err != nil {
		return nil, err
	}
	a.ID, a.TenantID, a.Data = uuid.MustParse(id), uuid.MustParse(tenant), json.RawMessage(data)
	utc(&a.Created, &a.Updated)
	return &a, nil
}

func getApplication(ctx context.Context, c db.Conn, id uuid.UUID) (*Application, error) {
	a, err := scanApplication(c.QueryRow(ctx, `SELECT `+applicationColumns+` FROM applications WHERE id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("application not found")
	}
	if err != nil {
		return nil, fmt.Errorf("load application %s: %w", id, err)
	}
	return a, nil
}

// GetApplication returns one application.
func (s *Service) GetApplication(ctx context.Context, id uuid.UUID) (*Application, error) {
	return getApplication(ctx, s.DB.Reader(), id)
}

// ListApplications returns the active applications (or the inactive ones)
// by name.
func (s *Service) ListApplications(ctx context.Context, inactive bool) (out []*Application, err error) {
	defer errs.Wrap(&err, "ListApplications")
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+applicationColumns+` FROM applications WHERE active = ? ORDER BY name, id`, !inactive)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []*Application{}
	for rows.Next() {
		a, err := scanApplication(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Service) validateApplication(ctx context.Context, c db.Conn, a *Application) error {
	e := &errs.Error{Kind: errs.Invalid}
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		e.Add("blank", "application.name", "You must specify the [application.name] property.")
	}
	if a.TenantID == uuid.Nil {
		a.TenantID = events.DefaultTenantID
	}
	if _, err := s.Events.GetTenant(ctx, a.TenantID); errs.KindOf(err) == errs.NotFound {
		e.Add("invalid", "application.tenantId", "The tenant [%s] does not exist.", a.TenantID)
	} else if err != nil {
		return err
	}
	if len(a.Data) == 0 || string(a.Data) == "null" {
		a.Data = json.RawMessage("{}")
	}
	return e.OrNil()
}

// CreateApplication stores a (a zero ID gets a random one), active.
func (s *Service) CreateApplication(ctx context.Context, a Application) (out *Application, err error) {
	defer errs.Wrap(&err, "CreateApplication")
	if a.ID == uuid.Nil {
		a.ID = uuid.New()
	}
	a.Active = true
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.validateApplication(ctx, tx, &a); err != nil {
			return err
		}
		if _, err := getApplication(ctx, tx, a.ID); err == nil {
			return errs.Coded("duplicate", "applicationId", "An application with id [%s] already exists.", a.ID)
		}
		a.Created = tx.Now()
		a.Updated = a.Created
		_, err := tx.Exec(ctx, `INSERT INTO applications (`+applicationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ID.String(), a.Name, a.TenantID.String(), a.Active, string(a.Data), a.Created, a.Updated)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateApplication replaces an application's name, tenant and data.
func (s *Service) UpdateApplication(ctx context.Context, id uuid.UUID, a Application) (out *Application, err error) {
	defer errs.Wrap(&err, "UpdateApplication(%s)", id)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getApplication(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.validateApplication(ctx, tx, &a); err != nil {
			return err
		}
		a.ID, a.Active, a.Created, a.Updated = id, cur.Active, cur.Created, tx.Now()
		_, err = tx.Exec(ctx, `UPDATE applications SET name = ?, tenant_id = ?, data = ?, updated = ? WHERE id = ?`,
			a.Name, a.TenantID.String(), string(a.Data), a.Updated, id.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// DeleteApplication deactivates an application, or deletes it when hard.
func (s *Service) DeleteApplication(ctx context.Context, id uuid.UUID, hard bool) (err error) {
	defer errs.Wrap(&err, "DeleteApplication(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		q := `UPDATE applications SET active = FALSE WHERE id = ?`
		if hard {
			q = `DELETE FROM applications WHERE id = ?`
		}
		res, err := tx.Exec(ctx, q, id.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("application not found")
		}
		return nil
	})
}

// ReactivateApplication makes a deactivated application active again.
func (s *Service) ReactivateApplication(ctx context.Context, id uuid.UUID) (*Application, error) {
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE applications SET active = TRUE, updated = ? WHERE id = ?`, tx.Now(), id.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("application not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetApplication(ctx, id)
}
