package marketplace

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// UserPermission is one active role a user holds, with its scope named:
// what Waldur lists as a user's permissions.
type UserPermission struct {
	Role           Role
	ScopeType      ScopeType
	ScopeUUID      uuid.UUID
	ScopeName      string
	CustomerUUID   uuid.UUID
	CustomerName   string
	ProjectUUID    *uuid.UUID
	ExpirationTime *time.Time
	Created        time.Time
}

// UserPermissions returns the active roles of each user in userIDs, in one
// statement whatever the number of users (a users page costs the same).
// The caller has already decided the viewer may see these users.
func (s *Service) UserPermissions(ctx context.Context, userIDs []int64) (out map[int64][]UserPermission, err error) {
	defer errs.Wrap(&err, "UserPermissions(%d users)", len(userIDs))
	out = make(map[int64][]UserPermission, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	args := []any{s.DB.Now()}
	for _, id := range userIDs {
		args = append(args, id)
	}
	if len(userIDs) == 1 {
		// /api/users/me/ and retrieves: one statement, prepared once, and
		// cached. The slice is shared: callers only read it.
		id := userIDs[0]
		perms, err := s.permissions.Load(id, func() ([]UserPermission, time.Time, error) {
			one := map[int64][]UserPermission{}
			if err := scanPermissions(ctx, s.DB.Reader(), args, "?", one); err != nil {
				return nil, time.Time{}, err
			}
			return one[id], firstExpiry(one[id]), nil
		})
		if perms != nil {
			out[id] = perms
		}
		return out, err
	}
	// Not Reader() for pages: its prepared-statement cache would keep one
	// statement per list length.
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		return scanPermissions(ctx, c, args, db.Placeholders(len(userIDs)), out)
	})
	return out, err
}

// firstExpiry is when the first of perms expires (zero: none does).
func firstExpiry(perms []UserPermission) time.Time {
	var first time.Time
	for _, p := range perms {
		if p.ExpirationTime != nil && (first.IsZero() || p.ExpirationTime.Before(first)) {
			first = *p.ExpirationTime
		}
	}
	return first
}

func scanPermissions(ctx context.Context, c db.Conn, args []any, marks string, out map[int64][]UserPermission) error {
	rows, err := c.Query(ctx, `SELECT ra.user_id, ra.role, ra.scope_type, ra.expiration_time, ra.created,
			COALESCE(c.uuid, p.uuid, o.uuid), COALESCE(c.name, p.name, o.name),
			COALESCE(c.uuid, pc.uuid, oc.uuid), COALESCE(c.name, pc.name, oc.name), p.uuid
		FROM role_assignments ra
		LEFT JOIN customers c ON ra.scope_type = 'customer' AND c.id = ra.scope_id
		LEFT JOIN projects p ON ra.scope_type = 'project' AND p.id = ra.scope_id
		LEFT JOIN customers pc ON pc.id = p.customer_id
		LEFT JOIN offerings o ON ra.scope_type = 'offering' AND o.id = ra.scope_id
		LEFT JOIN customers oc ON oc.id = o.customer_id
		WHERE `+activeRole+` AND ra.user_id IN (`+marks+`)
		ORDER BY ra.user_id, ra.created, ra.id`, args...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p                   UserPermission
			userID              int64
			role, st            string
			exp                 sql.NullTime
			scopeUUID, custUUID sql.NullString
			scopeName, custName sql.NullString
			projectUUID         sql.NullString
		)
		if err := rows.Scan(&userID, &role, &st, &exp, &p.Created, &scopeUUID, &scopeName, &custUUID, &custName, &projectUUID); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if !scopeUUID.Valid {
			continue // the scope was deleted; the grant means nothing now
		}
		p.Role, p.ScopeType = Role(role), ScopeType(st)
		p.ScopeUUID, p.ScopeName = parseUUID(scopeUUID.String), scopeName.String
		p.CustomerUUID, p.CustomerName = parseUUID(custUUID.String), custName.String
		if projectUUID.Valid {
			u := parseUUID(projectUUID.String)
			p.ProjectUUID = &u
		}
		if exp.Valid {
			t := exp.Time
			p.ExpirationTime = &t
		}
		out[userID] = append(out[userID], p)
	}
	return rows.Err()
}
