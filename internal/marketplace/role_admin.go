package marketplace

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// RoleGrant asks for a user to hold a role on a customer or project.
type RoleGrant struct {
	User           uuid.UUID
	Role           Role
	ExpirationTime *time.Time
}

// RoleAssignment is a role held by a user on an object.
type RoleAssignment struct {
	UserUUID       uuid.UUID
	Username       string
	FullName       string
	Email          string
	Role           Role
	ExpirationTime *time.Time
	Created        time.Time
	CreatedBy      string
}

// scopeTarget resolves a customer or project the actor may see, with the
// permission that manages its roles.
func scopeTarget(ctx context.Context, c db.Conn, actor *auth.User, st ScopeType, id uuid.UUID) (int64, Scope, Permission, error) {
	switch st {
	case ScopeCustomer:
		cu, err := getCustomer(ctx, c, actor, id)
		if err != nil {
			return 0, Scope{}, "", err
		}
		return cu.ID, Scope{CustomerID: cu.ID}, CustomerRoleManage, nil
	case ScopeProject:
		p, err := getProject(ctx, c, actor, id)
		if err != nil {
			return 0, Scope{}, "", err
		}
		return p.ID, Scope{CustomerID: p.CustomerID, ProjectID: p.ID}, ProjectRoleManage, nil
	case ScopeOffering:
		// Offerings are a public catalogue: visible to all, managed by the
		// provider's owners and the offering's managers.
		o, err := getOffering(ctx, c, "o.uuid = ?", id.String())
		if err != nil {
			return 0, Scope{}, "", err
		}
		return o.ID, Scope{CustomerID: o.CustomerID, OfferingID: o.ID}, OfferingManage, nil
	}
	return 0, Scope{}, "", fmt.Errorf("roles on %s are not managed here", st)
}

func (g RoleGrant) validate(st ScopeType, now time.Time) error {
	fields := map[string][]string{}
	if g.User == uuid.Nil {
		fields["user"] = append(fields["user"], "This field is required.")
	}
	if g.Role == "" {
		fields["role"] = append(fields["role"], "This field is required.")
	} else if roleScope[g.Role] != st {
		fields["role"] = append(fields["role"], fmt.Sprintf("Role %q cannot be granted on a %s.", g.Role, st))
	}
	if g.ExpirationTime != nil && !g.ExpirationTime.After(now) {
		fields["expiration_time"] = append(fields["expiration_time"], "Expiration time should be greater than current time.")
	} else if g.ExpirationTime != nil && !db.DateInRange(g.ExpirationTime.UTC()) {
		// 9999-12-31T23:00:00-05:00 is year 10000 in UTC, as stored: five
		// digits of text on SQLite that neither sorts nor reads back.
		fields["expiration_time"] = append(fields["expiration_time"], "Expiration time must be before 10000-01-01T00:00:00Z.")
	}
	return invalid(fields)
}

// AddUser grants a role on a customer or project. A role the user held
// before and that has expired is granted afresh.
func (s *Service) AddUser(ctx context.Context, actor *auth.User, st ScopeType, obj uuid.UUID, g RoleGrant) (out *RoleAssignment, err error) {
	defer errs.Wrap(&err, "AddUser(%s %s, %s %s)", st, obj, g.User, g.Role)
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		id, sc, perm, err := scopeTarget(ctx, tx, actor, st, obj)
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, perm, sc); err != nil {
			return err
		}
		if err := g.validate(st, tx.Now()); err != nil {
			return err
		}
		target, err := auth.UserByUUID(ctx, tx, g.User)
		if errs.KindOf(err) == errs.NotFound {
			return errs.Field("user", "Invalid user: object does not exist.")
		}
		if err != nil {
			return err
		}
		// The unique key (user, scope, role) decides, not a SELECT before the
		// INSERT: two concurrent grants cannot both pass. An expired row is
		// the one conflict that is replaced (it grants nothing any more,
		// yet blocked the grant until delete_user); an active one leaves
		// the statement a no-op, which is "already has role".
		now := tx.Now()
		res, err := tx.Exec(ctx, `INSERT INTO role_assignments (user_id, scope_type, scope_id, role, expiration_time, created, created_by_id)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, scope_type, scope_id, role) DO UPDATE
				SET expiration_time = excluded.expiration_time, created = excluded.created, created_by_id = excluded.created_by_id
				WHERE role_assignments.expiration_time IS NOT NULL AND role_assignments.expiration_time <= ?`,
			target.ID, string(st), id, string(g.Role), g.ExpirationTime, now, actor.ID, now)
		if db.IsUniqueViolation(err) {
			// Not expected (ON CONFLICT covers the one unique key), but if a
			// key is ever added, a duplicate stays the client's 400.
			return alreadyHasRole(err)
		}
		if err != nil {
			return fmt.Errorf("grant role: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("grant role: %w", err)
		}
		if n == 0 {
			return alreadyHasRole(nil)
		}
		out = &RoleAssignment{UserUUID: target.UUID, Username: target.Username, FullName: target.FullName, Email: target.Email,
			Role: g.Role, ExpirationTime: g.ExpirationTime, Created: now, CreatedBy: actor.Username}
		return nil
	})
	return out, err
}

func alreadyHasRole(cause error) error {
	e := errs.Field("non_field_errors", "User already has role within this scope.")
	e.Err = cause
	return e
}

// DeleteUser revokes a role on a customer or project.
func (s *Service) DeleteUser(ctx context.Context, actor *auth.User, st ScopeType, obj uuid.UUID, user uuid.UUID, role Role) error {
	if err := requireWriter(actor); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		id, sc, perm, err := scopeTarget(ctx, tx, actor, st, obj)
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, perm, sc); err != nil {
			return err
		}
		if err := (RoleGrant{User: user, Role: role}).validate(st, tx.Now()); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM role_assignments WHERE scope_type = ? AND scope_id = ? AND role = ?
			AND user_id = (SELECT id FROM users WHERE uuid = ?)`, string(st), id, string(role), user.String())
		if err != nil {
			return fmt.Errorf("revoke role: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Field("non_field_errors", "User does not have this role within this scope.")
		}
		return nil
	})
}

// ListRoleUsers lists the role assignments on a customer or project that
// actor may see.
func (s *Service) ListRoleUsers(ctx context.Context, actor *auth.User, st ScopeType, obj uuid.UUID, page db.Page) (out []RoleAssignment, total int, err error) {
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		id, sc, perm, err := scopeTarget(ctx, c, actor, st, obj)
		if err != nil {
			return err
		}
		// Anyone may see an offering, but who manages it is the provider's
		// business.
		if st == ScopeOffering && !actor.SeesEverything() {
			if err := require(ctx, c, actor, perm, sc); err != nil {
				return err
			}
		}
		const where = " FROM role_assignments ra JOIN users u ON u.id = ra.user_id LEFT JOIN users cb ON cb.id = ra.created_by_id WHERE ra.scope_type = ? AND ra.scope_id = ?"
		if err := c.QueryRow(ctx, "SELECT COUNT(*)"+where, string(st), id).Scan(&total); err != nil {
			return fmt.Errorf("count roles: %w", err)
		}
		rows, err := c.Query(ctx, `SELECT u.uuid, u.username, u.full_name, u.email, ra.role, ra.expiration_time, ra.created, cb.username`+
			where+" ORDER BY u.username, ra.role, ra.id"+page.SQL(), string(st), id)
		if err != nil {
			return fmt.Errorf("list roles: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				a   RoleAssignment
				uid string
				exp sql.NullTime
				cb  sql.NullString
			)
			if err := rows.Scan(&uid, &a.Username, &a.FullName, &a.Email, &a.Role, &exp, &a.Created, &cb); err != nil {
				return fmt.Errorf("scan role: %w", err)
			}
			a.UserUUID = parseUUID(uid)
			if exp.Valid {
				t := exp.Time
				a.ExpirationTime = &t
			}
			a.CreatedBy = cb.String
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, total, err
}
