package actioning

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// Option is one choice of an instantaneous action ("soft", "hard").
type Option struct {
	Name           string           `json:"name"`
	LocalizedNames LocalizedStrings `json:"localizedNames,omitempty"`
}

// Definition is a user action definition: what admins can do to a user.
type Definition struct {
	ID                       uuid.UUID
	Name                     string
	Active                   bool
	Temporal                 bool
	PreventLogin             bool
	SendEndEvent             bool
	UserEmailingEnabled      bool
	UserNotificationsEnabled bool
	IncludeEmailInEventJSON  bool
	StartEmailTemplateID     uuid.UUID
	ModifyEmailTemplateID    uuid.UUID
	CancelEmailTemplateID    uuid.UUID
	EndEmailTemplateID       uuid.UUID
	LocalizedNames           LocalizedStrings
	Options                  []Option
	TransactionType          events.TransactionType
	Created, Updated         time.Time
}

// HasOption reports whether name is one of the definition's options.
func (d *Definition) HasOption(name string) (*Option, bool) {
	for i := range d.Options {
		if d.Options[i].Name == name {
			return &d.Options[i], true
		}
	}
	return nil, false
}

// templateFor returns the template of a phase ("" = start for instant
// actions).
func (d *Definition) templateFor(phase string) uuid.UUID {
	switch phase {
	case PhaseModify:
		return d.ModifyEmailTemplateID
	case PhaseCancel:
		return d.CancelEmailTemplateID
	case PhaseEnd:
		return d.EndEmailTemplateID
	}
	return d.StartEmailTemplateID
}

func (s *Service) validateDefinition(ctx context.Context, c db.Conn, d *Definition) error {
	e := &errs.Error{Kind: errs.Invalid}
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		e.Add("blank", "userAction.name", "You must specify the [userAction.name] property.")
	} else if len(d.Name) > 191 {
		e.Add("tooLong", "userAction.name", "The [userAction.name] property is longer than 191 characters.")
	}
	if d.PreventLogin && !d.Temporal {
		e.Add("invalid", "userAction.preventLogin", "Only a temporal action can prevent login: set [userAction.temporal] too.")
	}
	if d.Temporal && len(d.Options) > 0 {
		e.Add("invalid", "userAction.options", "A temporal action cannot have options.")
	}
	seen := map[string]bool{}
	for i, o := range d.Options {
		field := fmt.Sprintf("userAction.options[%d].name", i)
		name := strings.TrimSpace(o.Name)
		d.Options[i].Name = name
		switch {
		case name == "":
			e.Add("blank", field, "You must specify the [%s] property.", field)
		case seen[strings.ToLower(name)]:
			e.Add("duplicate", field, "The option [%s] is listed twice.", name)
		}
		seen[strings.ToLower(name)] = true
	}
	if d.TransactionType == "" {
		d.TransactionType = events.TxNone
	} else if !d.TransactionType.Valid() {
		e.Add("invalid", "userAction.transactionType", "The [userAction.transactionType] property must be None, Any, SimpleMajority, SuperMajority or AbsoluteMajority.")
	}
	templates := []struct {
		field string
		id    uuid.UUID
		need  bool
	}{
		{"startEmailTemplateId", d.StartEmailTemplateID, d.UserEmailingEnabled},
		{"modifyEmailTemplateId", d.ModifyEmailTemplateID, d.UserEmailingEnabled && d.Temporal},
		{"cancelEmailTemplateId", d.CancelEmailTemplateID, d.UserEmailingEnabled && d.Temporal},
		{"endEmailTemplateId", d.EndEmailTemplateID, d.UserEmailingEnabled && d.Temporal},
	}
	for _, t := range templates {
		field := "userAction." + t.field
		if t.id == uuid.Nil {
			if t.need {
				e.Add("missing", field, "Emailing the user is enabled: you must specify the [%s] property.", field)
			}
			continue
		}
		if _, err := getTemplate(ctx, c, t.id); errs.KindOf(err) == errs.NotFound {
			e.Add("invalid", field, "The email template [%s] does not exist.", t.id)
		} else if err != nil {
			return err
		}
	}
	if d.LocalizedNames == nil {
		d.LocalizedNames = LocalizedStrings{}
	}
	if d.Options == nil {
		d.Options = []Option{}
	}
	return e.OrNil()
}

const definitionColumns = `id, name, active, temporal, prevent_login, send_end_event, user_emailing_enabled,
	user_notifications_enabled, include_email_in_event_json, start_template_id, modify_template_id, cancel_template_id,
	end_template_id, localized_names, options, transaction_type, created, updated`

func scanDefinition(r interface{ Scan(...any) error }) (*Definition, error) {
	var (
		d                              Definition
		id, names, options, level      string
		start, modify, cancel, endTmpl sql.NullString
	)
	if err := r.Scan(&id, &d.Name, &d.Active, &d.Temporal, &d.PreventLogin, &d.SendEndEvent, &d.UserEmailingEnabled,
		&d.UserNotificationsEnabled, &d.IncludeEmailInEventJSON, &start, &modify, &cancel, &endTmpl, &names, &options,
		&level, &d.Created, &d.Updated); err != nil {
		return nil, err
	}
	d.ID = uuid.MustParse(id)
	for _, p := range []struct {
		s   sql.NullString
		dst *uuid.UUID
	}{{start, &d.StartEmailTemplateID}, {modify, &d.ModifyEmailTemplateID}, {cancel, &d.CancelEmailTemplateID}, {endTmpl, &d.EndEmailTemplateID}} {
		if p.s.Valid {
			*p.dst = uuid.MustParse(p.s.String)
		}
	}
	if err := errors.Join(decodeJSON(names, &d.LocalizedNames, "localized names"), decodeJSON(options, &d.Options, "options")); err != nil {
		return nil, err
	}
	d.TransactionType = events.TransactionType(level)
	utc(&d.Created, &d.Updated)
	return &d, nil
}

func getDefinition(ctx context.Context, c db.Conn, id uuid.UUID, lock bool) (*Definition, error) {
	q := `SELECT ` + definitionColumns + ` FROM user_action_definitions WHERE id = ?`
	if lock {
		q += c.DB().ForUpdate()
	}
	d, err := scanDefinition(c.QueryRow(ctx, q, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("user action not found")
	}
	if err != nil {
		return nil, fmt.Errorf("load user action %s: %w", id, err)
	}
	return d, nil
}

// GetDefinition returns a definition, active or not.
func (s *Service) GetDefinition(ctx context.Context, id uuid.UUID) (d *Definition, err error) {
	defer errs.Wrap(&err, "GetDefinition(%s)", id)
	return getDefinition(ctx, s.DB.Reader(), id, false)
}

// ListDefinitions returns the active definitions (or the inactive ones),
// by name then id.
func (s *Service) ListDefinitions(ctx context.Context, inactive bool) (out []*Definition, err error) {
	defer errs.Wrap(&err, "ListDefinitions")
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+definitionColumns+` FROM user_action_definitions WHERE active = ?`, !inactive)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []*Definition{}
	for rows.Next() {
		d, err := scanDefinition(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, rows.Err()
}

// CreateDefinition stores d (a zero ID gets a random one), active.
func (s *Service) CreateDefinition(ctx context.Context, d Definition) (out *Definition, err error) {
	defer errs.Wrap(&err, "CreateDefinition")
	if d.ID == uuid.Nil {
		d.ID = uuid.New()
	}
	d.Active = true
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.validateDefinition(ctx, tx, &d); err != nil {
			return err
		}
		if _, err := getDefinition(ctx, tx, d.ID, false); err == nil {
			return errs.Coded("duplicate", "userActionId", "A user action with id [%s] already exists.", d.ID)
		}
		d.Created = tx.Now()
		d.Updated = d.Created
		_, err := tx.Exec(ctx, `INSERT INTO user_action_definitions (`+definitionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, definitionArgs(&d)...)
		return duplicateName(err, d.Name)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func definitionArgs(d *Definition) []any {
	return []any{d.ID.String(), d.Name, d.Active, d.Temporal, d.PreventLogin, d.SendEndEvent, d.UserEmailingEnabled,
		d.UserNotificationsEnabled, d.IncludeEmailInEventJSON, nullUUID(d.StartEmailTemplateID), nullUUID(d.ModifyEmailTemplateID),
		nullUUID(d.CancelEmailTemplateID), nullUUID(d.EndEmailTemplateID), jsonText(d.LocalizedNames), jsonText(d.Options),
		string(d.TransactionType), d.Created, d.Updated}
}

func duplicateName(err error, name string) error {
	if db.IsUniqueViolation(err) {
		return errs.Coded("duplicate", "userAction.name", "A user action named [%s] already exists.", name)
	}
	return err
}

// UpdateDefinition replaces d's settings (PUT; PATCH merges first). It
// never changes active. When preventLogin changes, the login prevention of
// every user with an active instance is recomputed.
func (s *Service) UpdateDefinition(ctx context.Context, id uuid.UUID, d Definition) (out *Definition, err error) {
	defer errs.Wrap(&err, "UpdateDefinition(%s)", id)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getDefinition(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.validateDefinition(ctx, tx, &d); err != nil {
			return err
		}
		d.ID, d.Active, d.Created, d.Updated = id, cur.Active, cur.Created, tx.Now()
		_, err = tx.Exec(ctx, `UPDATE user_action_definitions SET name = ?, temporal = ?, prevent_login = ?, send_end_event = ?,
			user_emailing_enabled = ?, user_notifications_enabled = ?, include_email_in_event_json = ?, start_template_id = ?,
			modify_template_id = ?, cancel_template_id = ?, end_template_id = ?, localized_names = ?, options = ?,
			transaction_type = ?, updated = ? WHERE id = ?`,
			d.Name, d.Temporal, d.PreventLogin, d.SendEndEvent, d.UserEmailingEnabled, d.UserNotificationsEnabled,
			d.IncludeEmailInEventJSON, nullUUID(d.StartEmailTemplateID), nullUUID(d.ModifyEmailTemplateID),
			nullUUID(d.CancelEmailTemplateID), nullUUID(d.EndEmailTemplateID), jsonText(d.LocalizedNames), jsonText(d.Options),
			string(d.TransactionType), d.Updated, id.String())
		if err := duplicateName(err, d.Name); err != nil {
			return err
		}
		if cur.PreventLogin != d.PreventLogin || cur.Name != d.Name {
			return refreshLoginPreventionFor(ctx, tx, `SELECT DISTINCT actionee_uuid FROM user_action_instances WHERE definition_id = ?`, id.String())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// SetDefinitionActive soft-deletes (false) or reactivates (true) a
// definition; existing instances are left alone.
func (s *Service) SetDefinitionActive(ctx context.Context, id uuid.UUID, active bool) (out *Definition, err error) {
	defer errs.Wrap(&err, "SetDefinitionActive(%s, %v)", id, active)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getDefinition(ctx, tx, id, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE user_action_definitions SET active = ?, updated = ? WHERE id = ? AND active <> ?`,
			active, tx.Now(), id.String(), active); err != nil {
			return err
		}
		out, err = getDefinition(ctx, tx, id, false)
		return err
	})
	return out, err
}

// DeleteDefinition removes a definition and every instance of it (their
// event log rows stay), and recomputes the login prevention of the users
// they were on.
func (s *Service) DeleteDefinition(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteDefinition(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getDefinition(ctx, tx, id, true); err != nil {
			return err
		}
		users, err := uuidsOf(ctx, tx, `SELECT DISTINCT actionee_uuid FROM user_action_instances WHERE definition_id = ?`, id.String())
		if err != nil {
			return err
		}
		nums, err := numsOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_action_history WHERE instance_id IN (SELECT id FROM user_action_instances WHERE definition_id = ?)`, id.String()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_action_instances WHERE definition_id = ?`, id.String()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_action_definitions WHERE id = ?`, id.String()); err != nil {
			return err
		}
		for _, u := range users {
			if err := refreshLoginPrevention(ctx, tx, u); err != nil {
				return err
			}
		}
		return s.changed(ctx, tx, nums...)
	})
}

func numsOf(ctx context.Context, c db.Conn, definition uuid.UUID) ([]int64, error) {
	rows, err := c.Query(ctx, `SELECT num FROM user_action_instances WHERE definition_id = ?`, definition.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func uuidsOf(ctx context.Context, c db.Conn, q string, args ...any) ([]uuid.UUID, error) {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, uuid.MustParse(s))
	}
	return out, rows.Err()
}
