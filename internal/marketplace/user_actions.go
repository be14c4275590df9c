package marketplace

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// The marketplace's user-action providers: orders waiting for a consumer's
// approval, and prepaid resources nearing their end date. Detection is one
// statement over every user; the corrective actions act through the same
// service calls as the API endpoints.

// Object types user actions point at.
const (
	ObjectOrder    = "order"
	ObjectResource = "resource"
)

// rolesWith lists the roles granting p, for SQL IN lists.
func rolesWith(p Permission) []any {
	var out []any
	for r := range rolePermissions {
		if roleAllows(r, p) {
			out = append(out, string(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
	return out
}

// scopeSQL restricts a detection query to scope: users by column userCol,
// objects of type objType by column objCol.
func scopeSQL(scope provider.Scope, userCol, objType, objCol string) (string, []any, bool) {
	var conds []string
	var args []any
	if scope.Users != nil {
		if len(scope.Users) == 0 {
			return "", nil, false
		}
		conds = append(conds, userCol+" IN ("+db.Placeholders(len(scope.Users))+")")
		for _, u := range scope.Users {
			args = append(args, u)
		}
	}
	if scope.Objects != nil {
		var ids []any
		for _, o := range scope.Objects {
			if o.Type == objType {
				ids = append(ids, o.ID)
			}
		}
		if len(ids) == 0 {
			return "", nil, false
		}
		conds = append(conds, objCol+" IN ("+db.Placeholders(len(ids))+")")
		args = append(args, ids...)
	}
	if len(conds) == 0 {
		return "", nil, true
	}
	return " AND " + strings.Join(conds, " AND "), args, true
}

func ptrUUID(s sql.NullString) *uuid.UUID {
	if !s.Valid {
		return nil
	}
	u := parseUUID(s.String)
	return &u
}

// PendingOrderProvider reports orders waiting longer than Hours for a
// consumer's approval to everyone who may approve them.
type PendingOrderProvider struct {
	s *Service
	// Hours an order waits before it becomes an action (default 24).
	Hours int
}

// PendingOrders returns the pending-order provider.
func (s *Service) PendingOrders(hours int) *PendingOrderProvider {
	if hours <= 0 {
		hours = 24
	}
	return &PendingOrderProvider{s: s, Hours: hours}
}

// ActionType implements provider.Provider.
func (p *PendingOrderProvider) ActionType() string { return "pending_order" }

// DisplayName implements provider.Provider.
func (p *PendingOrderProvider) DisplayName() string { return "Pending Orders" }

// ObjectTables lets the engine find actions whose order was deleted.
func (p *PendingOrderProvider) ObjectTables() map[string]string {
	return map[string]string{ObjectOrder: "orders"}
}

// Detect finds, in one statement, every pending-consumer order older than
// the cut-off and every user who may approve it: project roles and
// customer roles granting ORDER.APPROVE, as Can decides for the endpoint.
func (p *PendingOrderProvider) Detect(ctx context.Context, c db.Conn, now time.Time, scope provider.Scope) ([]provider.Action, error) {
	extra, extraArgs, ok := scopeSQL(scope, "ra.user_id", ObjectOrder, "o.id")
	if !ok {
		return nil, nil
	}
	roles := rolesWith(OrderApprove)
	const cols = `ra.user_id, o.id, o.uuid, o.type, o.created, o.cost, p.name, p.uuid, c.name, c.uuid, off.name, off.uuid,
		off.type, r.name, r.uuid, cu.email`
	const from = ` FROM orders o
		JOIN projects p ON p.id = o.project_id
		JOIN customers c ON c.id = p.customer_id
		JOIN offerings off ON off.id = o.offering_id
		LEFT JOIN resources r ON r.id = o.resource_id
		LEFT JOIN users cu ON cu.id = o.created_by_id`
	where := " AND u.is_active = ? AND o.state = ? AND o.created < ? AND " + activeRole + extra
	cutoff := now.Add(-time.Duration(p.Hours) * time.Hour)
	part := func(scopeType, scopeCol string) (string, []any) {
		q := "SELECT " + cols + from + ` JOIN role_assignments ra ON ra.scope_type = '` + scopeType + `' AND ra.scope_id = ` + scopeCol +
			" AND ra.role IN (" + db.Placeholders(len(roles)) + ") JOIN users u ON u.id = ra.user_id WHERE 1=1" + where
		args := append(append([]any{}, roles...), true, OrderPendingConsumer, cutoff, now)
		return q, append(args, extraArgs...)
	}
	q1, a1 := part("project", "o.project_id")
	q2, a2 := part("customer", "p.customer_id")
	rows, err := c.Query(ctx, q1+" UNION ALL "+q2+" ORDER BY 2, 1", append(a1, a2...)...)
	if err != nil {
		return nil, fmt.Errorf("pending orders: %w", err)
	}
	defer rows.Close()
	var out []provider.Action
	for rows.Next() {
		var (
			userID, orderID                 int64
			oid, otype, pname, puid         string
			cname, cuid, offName, offUUID   string
			offType                         string
			created                         time.Time
			cost, rname, ruid, creatorEmail sql.NullString
		)
		if err := rows.Scan(&userID, &orderID, &oid, &otype, &created, &cost, &pname, &puid, &cname, &cuid, &offName, &offUUID,
			&offType, &rname, &ruid, &creatorEmail); err != nil {
			return nil, fmt.Errorf("scan pending order: %w", err)
		}
		orderHex := hexUUID(parseUUID(oid))
		waited := now.Sub(created)
		days := int(waited.Hours() / 24)
		urgency := provider.Low
		switch {
		case waited >= 72*time.Hour:
			urgency = provider.High
		case waited >= 24*time.Hour:
			urgency = provider.Medium
		}
		due := created.Add(7 * 24 * time.Hour).UTC()
		name := offName
		if rname.Valid && rname.String != "" {
			name = rname.String
		}
		projUUID, custUUID, offeringUUID := parseUUID(puid), parseUUID(cuid), parseUUID(offUUID)
		var estimated any
		if cost.Valid {
			estimated = NormalizeMoney(cost.String)
		}
		var contact any
		if creatorEmail.Valid && creatorEmail.String != "" {
			contact = creatorEmail.String
		}
		details := map[string]any{"order_uuid": orderHex}
		out = append(out, provider.Action{
			UserID: userID, Object: provider.ObjectRef{Type: ObjectOrder, ID: orderID}, RelatedObjectName: name,
			Title:       "Approve pending order: " + offName,
			Description: fmt.Sprintf("Order has been pending approval for %s.", plural(days, "day")),
			Urgency:     urgency, DueDate: &due, RouteName: "marketplace-orders.details", RouteParams: details,
			ProjectName: pname, ProjectUUID: &projUUID, OrganizationName: cname, OrganizationUUID: &custUUID,
			OfferingName: offName, OfferingUUID: &offeringUUID, OfferingType: offType,
			ResourceName: rname.String, ResourceUUID: ptrUUID(ruid), OrderType: otype,
			CorrectiveActions: []provider.CorrectiveAction{
				provider.Navigate("View Order Details", provider.View, provider.Safe, "marketplace-orders.details", details),
				{Label: "Approve Order", Category: provider.Approve, Severity: provider.SevLow, Method: "POST", APIEndpoint: true,
					ConfirmationRequired: true, PermissionsRequired: []string{string(OrderApprove)},
					Metadata: map[string]any{"order_uuid": orderHex, "order_type": otype, "offering_type": offType, "estimated_cost": estimated}},
				{Label: "Reject Order", Category: provider.Reject, Severity: provider.SevHigh, Method: "POST", APIEndpoint: true,
					ConfirmationRequired: true, PermissionsRequired: []string{string(OrderApprove)},
					Metadata: map[string]any{"order_uuid": orderHex, "order_type": otype, "customer_contact": contact}},
				withMetadata(provider.Navigate("Contact Customer", provider.Contact, provider.Safe, "marketplace-orders.details",
					map[string]any{"order_uuid": orderHex, "tab": "contact"}), map[string]any{"email": contact}),
			},
		})
	}
	return out, rows.Err()
}

func withMetadata(ca provider.CorrectiveAction, m map[string]any) provider.CorrectiveAction {
	ca.Metadata = m
	return ca
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// Execute approves or rejects the order as actor, through Transition: the
// same call, and the same permission check, as the API's approve and reject.
func (p *PendingOrderProvider) Execute(ctx context.Context, actor *auth.User, t provider.Target, ca provider.CorrectiveAction, _ map[string]any) (provider.Result, error) {
	var action OrderAction
	switch ca.Category {
	case provider.Approve:
		action = ApproveByConsumer
	case provider.Reject:
		action = RejectByConsumer
	default:
		return provider.Result{}, errs.E(errs.Invalid, "%q cannot be executed through the API.", ca.Label)
	}
	id, err := p.s.orderUUID(ctx, t.Object.ID)
	if err != nil {
		return provider.Result{}, err
	}
	o, err := p.s.Transition(ctx, actor, id, action)
	if err != nil {
		return provider.Result{}, err
	}
	msg := "Order approved."
	if action == RejectByConsumer {
		msg = "Order rejected."
	}
	return provider.Result{Message: msg, Metadata: map[string]any{"order_uuid": hexUUID(o.UUID), "order_state": o.State}}, nil
}

func (s *Service) orderUUID(ctx context.Context, id int64) (uuid.UUID, error) {
	var u string
	err := s.DB.Reader().QueryRow(ctx, "SELECT uuid FROM orders WHERE id = ?", id).Scan(&u)
	if err == sql.ErrNoRows {
		return uuid.Nil, errs.E(errs.Conflict, "The order no longer exists.")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("order %d: %w", id, err)
	}
	return parseUUID(u), nil
}

// DefaultExpirationReminders is the reminder schedule of offerings that set
// none (days before the end date).
var DefaultExpirationReminders = []int{30, 14, 7, 1}

// ExpiringResourceProvider reports OK resources of prepaid offerings whose
// end date falls within their offering's reminder schedule.
type ExpiringResourceProvider struct {
	s *Service
	// Reminders is the default schedule (offerings override it with
	// plugin_options.resource_expiration_reminders).
	Reminders []int
}

// ExpiringResources returns the expiring-resource provider.
func (s *Service) ExpiringResources(reminders []int) *ExpiringResourceProvider {
	if len(reminders) == 0 {
		reminders = DefaultExpirationReminders
	}
	return &ExpiringResourceProvider{s: s, Reminders: reminders}
}

// ActionType implements provider.Provider.
func (p *ExpiringResourceProvider) ActionType() string { return "expiring_resource" }

// DisplayName implements provider.Provider.
func (p *ExpiringResourceProvider) DisplayName() string { return "Expiring Resources" }

// ObjectTables lets the engine find actions whose resource was deleted.
func (p *ExpiringResourceProvider) ObjectTables() map[string]string {
	return map[string]string{ObjectResource: "resources"}
}

// WatchedFields are the tracked resource fields Detect reads (its state,
// end date and name; offering and project are not changed by a resource
// change): editing any other, a description say, re-detects nothing.
func (p *ExpiringResourceProvider) WatchedFields() map[string][]string {
	return map[string][]string{ObjectResource: {"name", "state", "end_date"}}
}

// schedule is an offering's reminder days, largest first.
func schedule(o *Offering, def []int) []int {
	days := o.ReminderDays()
	if len(days) == 0 {
		days = append([]int(nil), def...)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(days)))
	return days
}

// UrgencyFromSchedule ranks days left against a reminder schedule (largest
// first): the later the reminder reached, the more urgent; with up to two
// reminders only the last is high.
func UrgencyFromSchedule(days int, reminders []int) provider.Urgency {
	active := 0
	for _, r := range reminders {
		if r >= days {
			active++
		}
	}
	if len(reminders) == 0 || active == 0 {
		return provider.Low
	}
	pos, total := active-1, len(reminders)
	if total <= 2 {
		if pos == total-1 {
			return provider.High
		}
		return provider.Low
	}
	third := float64(total) / 3
	switch {
	case float64(pos) >= 2*third:
		return provider.High
	case float64(pos) >= third:
		return provider.Medium
	}
	return provider.Low
}

// Detect finds, in one statement, the OK resources of prepaid offerings
// ending between today and the offering's earliest reminder, with no open
// order, and everyone with a role on their project or customer.
func (p *ExpiringResourceProvider) Detect(ctx context.Context, c db.Conn, now time.Time, scope provider.Scope) ([]provider.Action, error) {
	extra, extraArgs, ok := scopeSQL(scope, "ra.user_id", ObjectResource, "r.id")
	if !ok {
		return nil, nil
	}
	offerings, err := p.prepaidOfferings(ctx, c, scope)
	if err != nil {
		return nil, err
	}
	if len(offerings) == 0 {
		return nil, nil
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	horizon := 0
	ids := make([]any, 0, len(offerings))
	for id, sched := range offerings {
		ids = append(ids, id)
		horizon = max(horizon, sched[0])
	}
	last := today.AddDate(0, 0, horizon)
	const cols = `ra.user_id, ra.role, r.id, r.uuid, r.name, r.end_date, r.offering_id, p.name, p.uuid, c.name, c.uuid, off.name,
		off.uuid, off.type`
	const from = ` FROM resources r
		JOIN projects p ON p.id = r.project_id
		JOIN customers c ON c.id = p.customer_id
		JOIN offerings off ON off.id = r.offering_id`
	where := ` JOIN users u ON u.id = ra.user_id WHERE u.is_active = ? AND r.state = ? AND r.end_date IS NOT NULL
		AND r.end_date >= ? AND r.end_date <= ? AND r.offering_id IN (` + db.Placeholders(len(ids)) + `)
		AND NOT EXISTS (SELECT 1 FROM orders oo WHERE oo.resource_id = r.id AND oo.state IN (?, ?, ?, ?, ?))
		AND ` + activeRole + extra
	part := func(scopeType, scopeCol string) (string, []any) {
		q := "SELECT " + cols + from + ` JOIN role_assignments ra ON ra.scope_type = '` + scopeType + `' AND ra.scope_id = ` + scopeCol + where
		args := []any{true, ResourceOK, today.Format(DateLayout), last.Format(DateLayout)}
		args = append(args, ids...)
		args = append(args, OrderPendingConsumer, OrderPendingProvider, OrderPendingProject, OrderPendingStartDate, OrderExecuting, now)
		return q, append(args, extraArgs...)
	}
	q1, a1 := part("project", "r.project_id")
	q2, a2 := part("customer", "p.customer_id")
	rows, err := c.Query(ctx, q1+" UNION ALL "+q2+" ORDER BY 3, 1", append(a1, a2...)...)
	if err != nil {
		return nil, fmt.Errorf("expiring resources: %w", err)
	}
	defer rows.Close()
	// A user may hold several roles on one resource (project and customer):
	// they get one action, with what any of the roles allows.
	type found struct {
		a                   provider.Action
		canRenew, canFinish bool
		days                int
	}
	var order []key2
	byKey := map[key2]*found{}
	for rows.Next() {
		var (
			userID, resID, offeringID int64
			role, rid, rname          string
			end                       db.NullDate
			pname, puid, cname, cuid  string
			offName, offUUID, offType string
		)
		if err := rows.Scan(&userID, &role, &resID, &rid, &rname, &end, &offeringID, &pname, &puid, &cname, &cuid, &offName,
			&offUUID, &offType); err != nil {
			return nil, fmt.Errorf("scan expiring resource: %w", err)
		}
		if !end.Valid {
			continue
		}
		endDay := end.Time.UTC()
		days := int(endDay.Sub(today).Hours() / 24)
		sched := offerings[offeringID]
		if days < 0 || days > sched[0] {
			continue
		}
		k := key2{userID, resID}
		f := byKey[k]
		if f == nil {
			resHex := hexUUID(parseUUID(rid))
			projUUID, custUUID, offeringUUID, resUUID := parseUUID(puid), parseUUID(cuid), parseUUID(offUUID), parseUUID(rid)
			desc := fmt.Sprintf("Resource will expire in %d days.", days)
			switch days {
			case 0:
				desc = "Resource expires today."
			case 1:
				desc = "Resource expires tomorrow."
			}
			urgency := UrgencyFromSchedule(days, sched)
			if days == 0 {
				urgency = provider.High
			}
			due := endDay
			f = &found{days: days, a: provider.Action{
				UserID: userID, Object: provider.ObjectRef{Type: ObjectResource, ID: resID}, RelatedObjectName: rname,
				Title: "Resource expiring: " + rname, Description: desc, Urgency: urgency, DueDate: &due,
				RouteName: "marketplace-resource-details", RouteParams: map[string]any{"resource_uuid": resHex},
				ProjectName: pname, ProjectUUID: &projUUID, OrganizationName: cname, OrganizationUUID: &custUUID,
				OfferingName: offName, OfferingUUID: &offeringUUID, OfferingType: offType, ResourceName: rname, ResourceUUID: &resUUID,
			}}
			byKey[k] = f
			order = append(order, k)
		}
		f.canRenew = f.canRenew || roleAllows(Role(role), OrderApprove)
		f.canFinish = f.canFinish || roleAllows(Role(role), ResourceTerminate)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]provider.Action, 0, len(order))
	for _, k := range order {
		f := byKey[k]
		f.a.CorrectiveActions = expiringCorrective(f.a, f.canRenew, f.canFinish)
		out = append(out, f.a)
	}
	return out, nil
}

type key2 struct{ user, object int64 }

func expiringCorrective(a provider.Action, canRenew, canTerminate bool) []provider.CorrectiveAction {
	resHex := a.RouteParams["resource_uuid"]
	tab := func(t string) map[string]any { return map[string]any{"resource_uuid": resHex, "tab": t} }
	out := []provider.CorrectiveAction{
		provider.Navigate("View Resource", provider.View, provider.Safe, "marketplace-resource-details", map[string]any{"resource_uuid": resHex}),
	}
	if canRenew {
		out = append(out, provider.CorrectiveAction{Label: "Renew Resource", Category: provider.Extend, Severity: provider.SevLow,
			Method: "POST", APIEndpoint: true, PermissionsRequired: []string{string(OrderApprove)},
			Metadata: map[string]any{"resource_uuid": resHex, "resource_name": a.ResourceName, "extension_months": 1}})
	}
	out = append(out,
		provider.Navigate("Create Backup", provider.Backup, provider.SevMed, "marketplace-resource-details", tab("backups")),
		provider.Navigate("Migrate Resource", provider.Migrate, provider.SevMed, "marketplace-resource-details", tab("migrate")))
	if canTerminate {
		out = append(out, provider.CorrectiveAction{Label: "Terminate Resource", Category: provider.Terminate, Severity: provider.SevHigh,
			Method: "POST", APIEndpoint: true, ConfirmationRequired: true, PermissionsRequired: []string{string(ResourceTerminate)},
			Metadata: map[string]any{"resource_uuid": resHex, "resource_name": a.ResourceName}})
	}
	return out
}

// prepaidOfferings maps each offering with a prepaid component to its
// reminder schedule (largest first). A detection scoped to resources (a
// resource's change re-detects its own actions, inside the change's
// transaction) reads only the offerings of those resources that Detect's
// statement could report (OK, with an end date), not every offering's
// JSON: the same actions, at a cost that does not grow with the catalogue.
func (p *ExpiringResourceProvider) prepaidOfferings(ctx context.Context, c db.Conn, scope provider.Scope) (map[int64][]int, error) {
	q, args := "SELECT id, components, plugin_options FROM offerings", []any(nil)
	if scope.Objects != nil {
		for _, o := range scope.Objects {
			if o.Type == ObjectResource {
				args = append(args, o.ID)
			}
		}
		if len(args) == 0 {
			return nil, nil
		}
		q += ` WHERE id IN (SELECT offering_id FROM resources WHERE id IN (` + db.Placeholders(len(args)) +
			`) AND state = ? AND end_date IS NOT NULL)`
		args = append(args, ResourceOK)
	}
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("offerings: %w", err)
	}
	defer rows.Close()
	out := map[int64][]int{}
	for rows.Next() {
		var (
			o           Offering
			comps, opts string
		)
		if err := rows.Scan(&o.ID, &comps, &opts); err != nil {
			return nil, fmt.Errorf("scan offering: %w", err)
		}
		if err := json.Unmarshal([]byte(comps), &o.Components); err != nil {
			return nil, fmt.Errorf("offering %d components: %w", o.ID, err)
		}
		if err := json.Unmarshal([]byte(opts), &o.PluginOptions); err != nil {
			return nil, fmt.Errorf("offering %d plugin_options: %w", o.ID, err)
		}
		if o.IsPrepaid() {
			if sched := schedule(&o, p.Reminders); len(sched) > 0 {
				out[o.ID] = sched
			}
		}
	}
	return out, rows.Err()
}

// Execute renews (by parameters' extension_months, default 1, or
// extension_days) or terminates the resource as actor, through Renew and
// Terminate: the same calls as the resource's endpoints.
func (p *ExpiringResourceProvider) Execute(ctx context.Context, actor *auth.User, t provider.Target, ca provider.CorrectiveAction, params map[string]any) (provider.Result, error) {
	id, err := p.s.resourceUUID(ctx, t.Object.ID)
	if err != nil {
		return provider.Result{}, err
	}
	switch ca.Category {
	case provider.Extend:
		in := RenewInput{RequestComment: "Renewed from a user action"}
		if n, ok := intParam(params, "extension_days"); ok {
			in.ExtensionDays = &n
		} else {
			months := 1
			if n, ok := intParam(params, "extension_months"); ok {
				months = n
			}
			in.ExtensionMonths = &months
		}
		o, err := p.s.Renew(ctx, actor, ConsumerView, id, in)
		if err != nil {
			return provider.Result{}, err
		}
		return provider.Result{Message: "Renewal order placed.", Metadata: map[string]any{"order_uuid": hexUUID(o.UUID)}}, nil
	case provider.Terminate:
		o, err := p.s.Terminate(ctx, actor, ConsumerView, id, "Terminated from a user action")
		if err != nil {
			return provider.Result{}, err
		}
		return provider.Result{Message: "Termination order placed.", Metadata: map[string]any{"order_uuid": hexUUID(o.UUID)}}, nil
	}
	return provider.Result{}, errs.E(errs.Invalid, "%q cannot be executed through the API.", ca.Label)
}

func intParam(params map[string]any, name string) (int, bool) {
	switch v := params[name].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n), true
		}
	}
	return 0, false
}

func (s *Service) resourceUUID(ctx context.Context, id int64) (uuid.UUID, error) {
	var u string
	err := s.DB.Reader().QueryRow(ctx, "SELECT uuid FROM resources WHERE id = ?", id).Scan(&u)
	if err == sql.ErrNoRows {
		return uuid.Nil, errs.E(errs.Conflict, "The resource no longer exists.")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("resource %d: %w", id, err)
	}
	return parseUUID(u), nil
}
