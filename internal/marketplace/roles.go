package marketplace

import (
	"context"
	"fmt"
	"strings"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Role is a named role a user holds on a customer, project or offering.
type Role string

// Roles, named as Waldur names them.
const (
	CustomerOwner   Role = "CUSTOMER.OWNER"
	CustomerManager Role = "CUSTOMER.MANAGER"
	ProjectAdmin    Role = "PROJECT.ADMIN"
	ProjectManager  Role = "PROJECT.MANAGER"
	ProjectMember   Role = "PROJECT.MEMBER"
	OfferingManager Role = "OFFERING.MANAGER"
)

// ScopeType says what kind of object a role is held on.
type ScopeType string

const (
	ScopeCustomer ScopeType = "customer"
	ScopeProject  ScopeType = "project"
	ScopeOffering ScopeType = "offering"
)

// roleScope is where each role may be granted.
var roleScope = map[Role]ScopeType{
	CustomerOwner:   ScopeCustomer,
	CustomerManager: ScopeCustomer,
	ProjectAdmin:    ScopeProject,
	ProjectManager:  ScopeProject,
	ProjectMember:   ScopeProject,
	OfferingManager: ScopeOffering,
}

// Permission is something a role allows.
type Permission string

// Permissions. Consumer-side ones are checked against a project and its
// customer; provider-side ones against an offering and its provider customer.
const (
	OrderCreate        Permission = "ORDER.CREATE"
	OrderApprove       Permission = "ORDER.APPROVE"
	ResourceTerminate  Permission = "RESOURCE.TERMINATE"
	ResourceEdit       Permission = "RESOURCE.UPDATE"
	ProjectCreate      Permission = "PROJECT.CREATE"
	CustomerRoleManage Permission = "CUSTOMER.ROLE_MANAGE"
	ProjectRoleManage  Permission = "PROJECT.ROLE_MANAGE"
	ProviderApprove    Permission = "OFFERING.ORDER_APPROVE"
	OfferingManage     Permission = "OFFERING.MANAGE"
)

// rolePermissions is the one table that maps roles to permissions. Staff
// hold every permission; support hold none (they read everything).
var rolePermissions = map[Role][]Permission{
	CustomerOwner: {OrderCreate, OrderApprove, ResourceTerminate, ResourceEdit, ProjectCreate,
		CustomerRoleManage, ProjectRoleManage, ProviderApprove, OfferingManage},
	CustomerManager: {ProviderApprove, OfferingManage},
	ProjectManager:  {OrderCreate, OrderApprove, ResourceTerminate, ResourceEdit, ProjectRoleManage},
	ProjectAdmin:    {OrderCreate, OrderApprove, ResourceTerminate, ResourceEdit},
	ProjectMember:   {OrderCreate},
	OfferingManager: {ProviderApprove, OfferingManage},
}

func roleAllows(r Role, p Permission) bool {
	for _, q := range rolePermissions[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Scope names the objects whose roles count for a check. Zero ids are
// ignored: a consumer-side check sets Customer and Project, a provider-side
// one Customer (the provider) and Offering.
type Scope struct {
	CustomerID int64
	ProjectID  int64
	OfferingID int64
}

// activeRole is the SQL condition for a role that has not expired.
const activeRole = "(ra.expiration_time IS NULL OR ra.expiration_time > ?)"

// Can answers "may user u do p on the objects in sc". It is the only place
// permissions are decided; every endpoint goes through it.
func Can(ctx context.Context, c db.Conn, u *auth.User, p Permission, sc Scope) (bool, error) {
	if u == nil {
		return false, nil
	}
	if u.IsStaff {
		return true, nil
	}
	var conds []string
	args := []any{u.ID, c.DB().Now()}
	for _, s := range []struct {
		t  ScopeType
		id int64
	}{{ScopeCustomer, sc.CustomerID}, {ScopeProject, sc.ProjectID}, {ScopeOffering, sc.OfferingID}} {
		if s.id != 0 {
			conds = append(conds, "(ra.scope_type = ? AND ra.scope_id = ?)")
			args = append(args, string(s.t), s.id)
		}
	}
	if len(conds) == 0 {
		return false, nil
	}
	rows, err := c.Query(ctx, "SELECT ra.role FROM role_assignments ra WHERE ra.user_id = ? AND "+activeRole+
		" AND ("+strings.Join(conds, " OR ")+")", args...)
	if err != nil {
		return false, fmt.Errorf("load roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return false, fmt.Errorf("scan role: %w", err)
		}
		if roleAllows(Role(r), p) {
			return true, nil
		}
	}
	return false, rows.Err()
}

// Allowed answers Can outside a transaction, for pages that decide which
// actions to offer (the console's buttons). It is advice only: the action's
// own method checks again in its transaction. Support users, read-only
// everywhere, are never allowed.
func (s *Service) Allowed(ctx context.Context, u *auth.User, p Permission, sc Scope) (bool, error) {
	if requireWriter(u) != nil {
		return false, nil
	}
	return Can(ctx, s.DB.Reader(), u, p, sc)
}

// errForbidden is DRF's message for a permission failure on a visible object.
func errForbidden() error {
	return errs.E(errs.Forbidden, "You do not have permission to perform this action.")
}

func require(ctx context.Context, c db.Conn, u *auth.User, p Permission, sc Scope) error {
	ok, err := Can(ctx, c, u, p, sc)
	if err != nil {
		return err
	}
	if !ok {
		return errForbidden()
	}
	return nil
}

// requireWriter rejects support users (read-only everywhere) and anonymous
// callers before any permission lookup.
func requireWriter(u *auth.User) error {
	if u == nil {
		return errs.E(errs.Unauthenticated, "Authentication credentials were not provided.")
	}
	if u.IsSupport && !u.IsStaff {
		return errForbidden()
	}
	return nil
}

// visibility builds SQL conditions restricting rows to what a user may see.
// Each takes column expressions from the caller's query.
type visibility struct {
	u   *auth.User
	now any
}

func (v visibility) all() bool { return v.u.SeesEverything() }

// roleOn is an EXISTS over the user's active roles on (type, column).
func (v visibility) roleOn(args *[]any, pairs ...string) string {
	var conds []string
	for i := 0; i+1 < len(pairs); i += 2 {
		conds = append(conds, "(ra.scope_type = '"+pairs[i]+"' AND ra.scope_id = "+pairs[i+1]+")")
	}
	*args = append(*args, v.u.ID, v.now)
	return "EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.user_id = ? AND " + activeRole +
		" AND (" + strings.Join(conds, " OR ") + "))"
}

// consumer: a role on the project or its customer.
func (v visibility) consumer(args *[]any, projectCol, customerCol string) string {
	if v.all() {
		return "1=1"
	}
	return v.roleOn(args, string(ScopeProject), projectCol, string(ScopeCustomer), customerCol)
}

// provider: a role on the offering or on its provider customer.
func (v visibility) provider(args *[]any, offeringCol, providerCol string) string {
	if v.all() {
		return "1=1"
	}
	return v.roleOn(args, string(ScopeOffering), offeringCol, string(ScopeCustomer), providerCol)
}
