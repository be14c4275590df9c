// Package detection generates a large heed data set with set-based SQL
// (a handful of INSERT … SELECT statements over a number series, not an API
// call per row) and benchmarks user-action detection on it (design.md §9,
// issue 12). See detection_test.go for how to run it.
package detection

import (
	"context"
	"fmt"
	"time"

	"github.com/heed-dev/heed/internal/db"
)

// Shape is the size of a generated data set.
type Shape struct {
	Users     int
	Resources int
	Orders    int
}

// ForUsers is the proportions: ten resources and one order per user
// (100,000 users: 1,000,000 resources and 100,000 orders).
func ForUsers(n int) Shape { return Shape{Users: n, Resources: 10 * n, Orders: n} }

// The data set's fixed proportions:
//
//   - one customer per usersPerCustomer users, owned by one of them
//     (users 1…C own customers 1…C);
//   - one project per usersPerProject users, spread over the customers;
//     every user has one role on one project: per project one manager, one
//     admin and two members;
//   - ten offerings; the first half are prepaid (offering 1 with its own
//     reminder schedule, the others with the default), the rest not;
//   - resources spread evenly over projects and offerings; one in ten is
//     Terminated, the rest OK; prepaid ones end on a day spread over the next
//     two years (so about 4 % of them fall within a 30-day reminder);
//   - order i is the Create order of resource i, placed by user i, between
//     0 and 199 hours ago; one in 20 waits for consumer approval, one in 50
//     is executing, the rest are done.
const (
	usersPerCustomer = 10
	usersPerProject  = 4
	offerings        = 10
	prepaid          = 5
)

// Counts derives the customer and project counts from a shape.
func (s Shape) Counts() (customers, projects int) {
	return max(1, s.Users/usersPerCustomer), max(1, s.Users/usersPerProject)
}

// Generate fills an empty, migrated database with s, as of now. Each table
// is one INSERT … SELECT over a number series (generate_series on
// PostgreSQL, a recursive CTE on SQLite).
func Generate(ctx context.Context, d *db.DB, s Shape, now time.Time) error {
	if s.Orders > s.Resources {
		return fmt.Errorf("shape %+v: every order needs its resource", s)
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	g := gen{pg: d.Dialect() == db.Postgres}
	customers, projects := s.Counts()
	steps := []struct {
		table string
		q     string
		args  []any
	}{
		{"users", g.insert("users", "id, uuid, username, email, created, modified", s.Users,
			"i, "+g.uuid()+", 'user' || i, 'user' || i || '@example.com', ?, ?"), []any{now, now}},
		{"customers", g.insert("customers", "id, uuid, name, slug, email, created, modified", customers,
			"i, "+g.uuid()+", 'Customer ' || i, 'customer-' || i, 'customer' || i || '@example.com', ?, ?"), []any{now, now}},
		{"projects", g.insert("projects", "id, uuid, customer_id, name, slug, created, modified", projects,
			fmt.Sprintf("i, %s, ((i - 1) %% %d) + 1, 'Project ' || i, 'project-' || i, ?, ?", g.uuid(), customers)), []any{now, now}},
		{"role_assignments", g.insert("role_assignments", "id, user_id, scope_type, scope_id, role, created", customers,
			"i, i, 'customer', i, 'CUSTOMER.OWNER', ?"), []any{now}},
		{"role_assignments", g.insert("role_assignments", "id, user_id, scope_type, scope_id, role, created", s.Users,
			fmt.Sprintf(`%d + i, i, 'project', ((i - 1) %% %d) + 1,
				CASE (i - 1) / %d WHEN 0 THEN 'PROJECT.MANAGER' WHEN 1 THEN 'PROJECT.ADMIN' ELSE 'PROJECT.MEMBER' END, ?`,
				customers, projects, projects)), []any{now}},
		{"offerings", g.insert("offerings", "id, uuid, customer_id, name, type, state, components, plugin_options, created, modified",
			offerings, fmt.Sprintf(`i, %s, 1, 'Offering ' || i, 'Marketplace.Basic', 'Active',
				%s, %s, ?, ?`, g.uuid(),
				g.json(fmt.Sprintf(`CASE WHEN i <= %d THEN '[{"type": "cpu_hours", "name": "CPU hours", "billing_type": "limit", "is_prepaid": true}]' ELSE '[]' END`, prepaid)),
				g.json(`CASE WHEN i = 1 THEN '{"resource_expiration_reminders": [30, 14, 7, 1]}' ELSE '{}' END`))), []any{now, now}},
		{"resources", g.insert("resources", "id, uuid, project_id, offering_id, name, state, end_date, created, modified", s.Resources,
			fmt.Sprintf(`i, %s, ((i - 1) %% %d) + 1, ((i - 1) %% %d) + 1, 'res-' || i,
				CASE WHEN (i / 10) %% 10 = 0 THEN 'Terminated' ELSE 'OK' END,
				CASE WHEN (i - 1) %% %d < %d THEN %s END, ?, ?`,
				g.uuid(), projects, offerings, offerings, prepaid, g.plusDays("(i * 37) % 730"))), []any{today, now, now}},
		{"orders", g.insert("orders", "id, uuid, type, state, project_id, offering_id, resource_id, created_by_id, created, modified",
			s.Orders, fmt.Sprintf(`i, %s, 'Create',
				CASE WHEN i %% 20 = 0 THEN 'pending-consumer' WHEN i %% 50 = 1 THEN 'executing' ELSE 'done' END,
				((i - 1) %% %d) + 1, ((i - 1) %% %d) + 1, i, ((i - 1) %% %d) + 1, %s, %s`,
				g.uuid(), projects, offerings, s.Users, g.minusHours("i % 200"), g.minusHours("i % 200"))), []any{now, now}},
	}
	for _, st := range steps {
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, st.q, st.args...)
			return err
		}); err != nil {
			return fmt.Errorf("generate %s: %w", st.table, err)
		}
	}
	if g.pg {
		// Explicit ids bypassed the identity sequences: move them past.
		for _, t := range []string{"users", "customers", "projects", "role_assignments", "offerings", "resources", "orders"} {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))", t, t))
				return err
			}); err != nil {
				return fmt.Errorf("sequence of %s: %w", t, err)
			}
		}
	}
	return nil
}

// Analyze refreshes the planner's statistics, as PostgreSQL's autovacuum
// does by itself after a bulk load (heed never runs ANALYZE on SQLite).
func Analyze(ctx context.Context, d *db.DB) error {
	return d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, "ANALYZE")
		return err
	})
}

// gen writes the dialect's expressions.
type gen struct{ pg bool }

// insert is INSERT INTO table (cols) SELECT exprs over i = 1…n.
func (g gen) insert(table, cols string, n int, exprs string) string {
	series := fmt.Sprintf("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT i FROM g", n)
	override := ""
	if g.pg {
		series = fmt.Sprintf("SELECT i FROM generate_series(1, %d) AS g(i)", n)
		override = " OVERRIDING SYSTEM VALUE"
	}
	return fmt.Sprintf("INSERT INTO %s (%s)%s SELECT %s FROM (%s) AS s", table, cols, override, exprs, series)
}

// uuid is a version-4-shaped uuid unique within a table, from i.
func (g gen) uuid() string {
	if g.pg {
		return "CAST(lpad(to_hex(i), 8, '0') || '-0000-4000-8000-000000000000' AS uuid)"
	}
	return "printf('%08x-0000-4000-8000-000000000000', i)"
}

func (g gen) json(expr string) string {
	if g.pg {
		return "CAST(" + expr + " AS jsonb)"
	}
	return expr
}

// plusDays is the date parameter plus expr days.
func (g gen) plusDays(expr string) string {
	if g.pg {
		return "CAST(CAST(? AS timestamptz) AT TIME ZONE 'UTC' AS date) + " + expr
	}
	return "date(?, '+' || (" + expr + ") || ' days')"
}

// minusHours is the timestamp parameter minus expr hours, stored as heed
// stores timestamps.
func (g gen) minusHours(expr string) string {
	if g.pg {
		return "CAST(? AS timestamptz) - (" + expr + ") * INTERVAL '1 hour'"
	}
	return "strftime('%Y-%m-%dT%H:%M:%S', ?, '-' || (" + expr + ") || ' hours') || '.000000Z'"
}
