package actioning

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Reason is why an admin took an action ("Misconduct", code 123).
type Reason struct {
	ID               uuid.UUID
	Text             string
	Code             string
	LocalizedTexts   LocalizedStrings
	Created, Updated time.Time
}

func validateReason(r *Reason) error {
	e := &errs.Error{Kind: errs.Invalid}
	r.Text, r.Code = strings.TrimSpace(r.Text), strings.TrimSpace(r.Code)
	if r.Code == "" {
		e.Add("blank", "userActionReason.code", "You must specify the [userActionReason.code] property.")
	} else if len(r.Code) > 255 {
		e.Add("tooLong", "userActionReason.code", "The [userActionReason.code] property is longer than 255 characters.")
	}
	if r.Text == "" {
		e.Add("blank", "userActionReason.text", "You must specify the [userActionReason.text] property.")
	} else if len(r.Text) > 255 {
		e.Add("tooLong", "userActionReason.text", "The [userActionReason.text] property is longer than 255 characters.")
	}
	if r.LocalizedTexts == nil {
		r.LocalizedTexts = LocalizedStrings{}
	}
	return e.OrNil()
}

func scanReason(r interface{ Scan(...any) error }) (*Reason, error) {
	var (
		x         Reason
		id, texts string
	)
	if err := r.Scan(&id, &x.Text, &x.Code, &texts, &x.Created, &x.Updated); err != nil {
		return nil, err
	}
	x.ID = uuid.MustParse(id)
	utc(&x.Created, &x.Updated)
	return &x, decodeJSON(texts, &x.LocalizedTexts, "localized texts")
}

const reasonColumns = `id, text, code, localized_texts, created, updated`

func getReason(ctx context.Context, c db.Conn, id uuid.UUID) (*Reason, error) {
	r, err := scanReason(c.QueryRow(ctx, `SELECT `+reasonColumns+` FROM user_action_reasons WHERE id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("reason not found")
	}
	if err != nil {
		return nil, fmt.Errorf("load reason %s: %w", id, err)
	}
	return r, nil
}

// GetReason returns one reason.
func (s *Service) GetReason(ctx context.Context, id uuid.UUID) (*Reason, error) {
	return getReason(ctx, s.DB.Reader(), id)
}

// ListReasons returns every reason by code.
func (s *Service) ListReasons(ctx context.Context) (out []*Reason, err error) {
	defer errs.Wrap(&err, "ListReasons")
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+reasonColumns+` FROM user_action_reasons ORDER BY code, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []*Reason{}
	for rows.Next() {
		r, err := scanReason(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func duplicateCode(err error, code string) error {
	if db.IsUniqueViolation(err) {
		return errs.Coded("duplicate", "userActionReason.code", "A reason with code [%s] already exists.", code)
	}
	return err
}

// CreateReason stores r (a zero ID gets a random one).
func (s *Service) CreateReason(ctx context.Context, r Reason) (out *Reason, err error) {
	defer errs.Wrap(&err, "CreateReason")
	if err := validateReason(&r); err != nil {
		return nil, err
	}
	if r.ID == uuid.Nil {
		r.ID = uuid.New()
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getReason(ctx, tx, r.ID); err == nil {
			return errs.Coded("duplicate", "userActionReasonId", "A reason with id [%s] already exists.", r.ID)
		}
		r.Created = tx.Now()
		r.Updated = r.Created
		_, err := tx.Exec(ctx, `INSERT INTO user_action_reasons (`+reasonColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID.String(), r.Text, r.Code, jsonText(r.LocalizedTexts), r.Created, r.Updated)
		return duplicateCode(err, r.Code)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateReason replaces a reason (PUT; PATCH merges first). Instances keep
// the reason they were given, by value.
func (s *Service) UpdateReason(ctx context.Context, id uuid.UUID, r Reason) (out *Reason, err error) {
	defer errs.Wrap(&err, "UpdateReason(%s)", id)
	if err := validateReason(&r); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getReason(ctx, tx, id)
		if err != nil {
			return err
		}
		r.ID, r.Created, r.Updated = id, cur.Created, tx.Now()
		_, err = tx.Exec(ctx, `UPDATE user_action_reasons SET text = ?, code = ?, localized_texts = ?, updated = ? WHERE id = ?`,
			r.Text, r.Code, jsonText(r.LocalizedTexts), r.Updated, id.String())
		return duplicateCode(err, r.Code)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteReason removes a reason; past instances keep its text and code.
func (s *Service) DeleteReason(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteReason(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM user_action_reasons WHERE id = ?`, id.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("reason not found")
		}
		return nil
	})
}
