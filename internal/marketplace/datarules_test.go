package marketplace_test

// Issue 16's data-layer defects, at the service level on each database:
// role grants decided by the unique key (and an expired role granted
// afresh), plan prices as exact minor units, dates bounded to years 1–9999,
// a stored date no read can scan served as null, values PostgreSQL refuses
// kept out of 500s, and every ordering key of every list sorting alike on
// both engines.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
)

// market is a marketplace service on a fresh database with a staff user.
type market struct {
	d     *db.DB
	users *auth.Service
	m     *marketplace.Service
	staff *auth.User
}

func newMarket(t *testing.T, d *db.DB) *market {
	t.Helper()
	users := &auth.Service{DB: d}
	name, yes := "staff", true
	staff, err := users.CreateUser(context.Background(), nil, auth.UserInput{Username: &name, IsStaff: &yes})
	if err != nil {
		t.Fatal(err)
	}
	// Orders are not placed here (their processing needs River); rows are
	// written with SQL where a list needs them.
	return &market{d: d, users: users, m: marketplace.New(d, nil), staff: staff}
}

func (k *market) user(t *testing.T, name string) *auth.User {
	t.Helper()
	u, err := k.users.CreateUser(context.Background(), nil, auth.UserInput{Username: &name})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (k *market) customer(t *testing.T, name string) *marketplace.Customer {
	t.Helper()
	c, err := k.m.CreateCustomer(context.Background(), k.staff, marketplace.CustomerInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exec runs one statement in its own transaction.
func (k *market) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := k.d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// wantInvalid requires a 400 on exactly field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid || len(e.Fields[field]) == 0 {
		t.Fatalf("err %v: want Invalid on %q", err, field)
	}
}

// race runs n calls of fn at once and counts outcomes: successes, 400s on
// field, and anything else (which is a failure of the test).
func race(t *testing.T, n int, field string, fn func(i int) error) (ok, invalid int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			e, isDomain := errs.As(err)
			switch {
			case err == nil:
				ok++
			case isDomain && e.Kind == errs.Invalid && len(e.Fields[field]) > 0:
				invalid++
			default:
				t.Errorf("call %d: %v (kind %v), want success or a 400 on %s", i, err, errs.KindOf(err), field)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok, invalid
}

// TestRoleGrants: the unique key decides concurrent grants (one wins, the
// rest are "already has role", none a 500), and an expired role no longer
// blocks granting it again (issue 16 §6).
func TestRoleGrants(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k := newMarket(t, d)
		cu := k.customer(t, "Grants")
		const n = 6
		for round := range 5 {
			u := k.user(t, fmt.Sprintf("grantee-%d", round))
			ok, invalid := race(t, n, "non_field_errors", func(int) error {
				_, err := k.m.AddUser(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID,
					marketplace.RoleGrant{User: u.UUID, Role: marketplace.CustomerOwner})
				return err
			})
			if ok != 1 || invalid != n-1 {
				t.Fatalf("round %d: %d grants and %d refusals, want 1 and %d", round, ok, invalid, n-1)
			}
		}

		u := k.user(t, "expiring")
		later := d.Now().Add(time.Hour)
		grant := marketplace.RoleGrant{User: u.UUID, Role: marketplace.CustomerOwner, ExpirationTime: &later}
		if _, err := k.m.AddUser(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID, grant); err != nil {
			t.Fatal(err)
		}
		_, err := k.m.AddUser(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID, grant)
		wantInvalid(t, err, "non_field_errors")

		// The role expires.
		k.exec(t, `UPDATE role_assignments SET expiration_time = ? WHERE user_id = ?`, d.Now().Add(-time.Minute), u.ID)
		can := func() bool {
			var ok bool
			if err := d.ReadTx(ctx, func(c db.Conn) error {
				var err error
				ok, err = marketplace.Can(ctx, c, u, marketplace.CustomerRoleManage, marketplace.Scope{CustomerID: cu.ID})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if can() {
			t.Fatal("an expired role still grants its permissions")
		}
		// Granted again, concurrently: exactly one grant renews the row.
		ok, invalid := race(t, n, "non_field_errors", func(int) error {
			_, err := k.m.AddUser(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID,
				marketplace.RoleGrant{User: u.UUID, Role: marketplace.CustomerOwner})
			return err
		})
		if ok != 1 || invalid != n-1 {
			t.Fatalf("re-grant of an expired role: %d grants and %d refusals, want 1 and %d", ok, invalid, n-1)
		}
		if !can() {
			t.Fatal("the renewed role grants nothing")
		}
		roles, _, err := k.m.ListRoleUsers(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID, db.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, r := range roles {
			if r.Username == "expiring" {
				held++
				if r.ExpirationTime != nil || r.CreatedBy != "staff" {
					t.Errorf("renewed role: expiration %v, created by %q; want none and staff", r.ExpirationTime, r.CreatedBy)
				}
			}
		}
		if held != 1 {
			t.Fatalf("%d assignments of the renewed role, want 1", held)
		}

		// An expiration time only PostgreSQL could store.
		y10k := time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))
		_, err = k.m.AddUser(ctx, k.staff, marketplace.ScopeCustomer, cu.UUID,
			marketplace.RoleGrant{User: k.user(t, "far").UUID, Role: marketplace.CustomerOwner, ExpirationTime: &y10k})
		wantInvalid(t, err, "expiration_time")
	})
}

// TestPlanPrices: a price is refused beyond two decimals and twelve integer
// digits, when negative or not a plain decimal, never rounded; what is
// accepted reads back exactly, on both engines.
func TestPlanPrices(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k := newMarket(t, d)
		o, err := k.m.CreateOffering(ctx, k.staff, marketplace.OfferingInput{Customer: k.customer(t, "Provider").UUID, Name: "Compute"})
		if err != nil {
			t.Fatal(err)
		}
		for in, want := range map[string]string{
			"": "0.00", "0": "0.00", "10.5": "10.50", "10.50": "10.50", " 7 ": "7.00", "0.02": "0.02",
			"000000000000001.25": "1.25", "999999999999.99": "999999999999.99",
		} {
			p, err := k.m.CreatePlan(ctx, k.staff, marketplace.PlanInput{Offering: o.UUID, Name: "ok " + in, UnitPrice: in})
			if err != nil {
				t.Fatalf("price %q: %v", in, err)
			}
			got, err := k.m.GetPlan(ctx, k.staff, p.UUID)
			if err != nil {
				t.Fatal(err)
			}
			if p.UnitPrice != want || got.UnitPrice != want {
				t.Errorf("price %q: created %q, read %q; want %q", in, p.UnitPrice, got.UnitPrice, want)
			}
		}
		for _, in := range []string{
			"abc", "NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "1e2", "1E2", "0x10", "-1", "-0.01",
			"1.005", "1.500", "0.001", "1000000000000.00", "1000000000000", "99999999999999999999999999.99",
			".5", "5.", "+5", "1,5", "1 000", "١٢", "1.2.3", "1\x00",
		} {
			_, err := k.m.CreatePlan(ctx, k.staff, marketplace.PlanInput{Offering: o.UUID, Name: "bad " + in, UnitPrice: in})
			wantInvalid(t, err, "unit_price")
		}
	})
}

func TestMoneyFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range []int64{0, 1, 9, 10, 99, 100, 101, 1050, 123456789, marketplace.MaxMoneyMinor} {
		s := marketplace.FormatMoneyMinor(m)
		back, msg := marketplace.ParseMoneyMinor(s)
		if msg != "" || back != m {
			t.Errorf("%d → %q → %d %q", m, s, back, msg)
		}
	}
	if s := marketplace.FormatMoneyMinor(-5); s != "-0.05" {
		t.Errorf("FormatMoneyMinor(-5) = %q", s)
	}
}

// resourceFixture writes a resource the way order processing would, with
// SQL (no River here), and returns its uuid.
func (k *market) resource(t *testing.T, project *marketplace.Project, offering *marketplace.Offering, plan *marketplace.Plan,
	name, state string, end any, at time.Time) uuid.UUID {
	t.Helper()
	id := uuid.New()
	k.exec(t, `INSERT INTO resources (uuid, project_id, offering_id, plan_id, name, state, end_date, created, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id.String(), project.ID, offering.ID, plan.ID, name, state, end, at, at.Add(time.Hour))
	return id
}

// TestResourceDates: end_date stays within years 1–9999 on PATCH/PUT (a 500
// on PostgreSQL and a stored year 0 on SQLite before), and a stored value
// no read can scan leaves the row listed with a null end date instead of
// failing every list that holds it; the staff PATCH then repairs it.
func TestResourceDates(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k := newMarket(t, d)
		cu := k.customer(t, "Dates")
		p, err := k.m.CreateProject(ctx, k.staff, marketplace.ProjectInput{Customer: cu.UUID, Name: "P"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := k.m.CreateOffering(ctx, k.staff, marketplace.OfferingInput{Customer: cu.UUID, Name: "O"})
		if err != nil {
			t.Fatal(err)
		}
		pl, err := k.m.CreatePlan(ctx, k.staff, marketplace.PlanInput{Offering: o.UUID, Name: "Pl"})
		if err != nil {
			t.Fatal(err)
		}
		res := k.resource(t, p, o, pl, "dated", marketplace.ResourceOK, nil, d.Now())
		other := k.resource(t, p, o, pl, "neighbour", marketplace.ResourceOK, "2030-01-01", d.Now())
		update := func(end string) (*marketplace.Resource, error) {
			return k.m.UpdateResource(ctx, k.staff, marketplace.ConsumerView, res, marketplace.ResourceUpdate{EndDate: &end})
		}
		for _, bad := range []string{"0000-01-01", "0000-12-31", "10000-01-01", "2030-02-30", "2030-1-5"} {
			_, err := update(bad)
			wantInvalid(t, err, "end_date")
			if _, ok := marketplace.ParseDate(bad); ok {
				t.Errorf("ParseDate(%q) accepted it", bad)
			}
		}
		for _, good := range []string{"0001-01-01", "9999-12-31", "2031-06-30"} {
			r, err := update(good)
			if err != nil || r.EndDate == nil || *r.EndDate != good {
				t.Fatalf("end_date %s: %v, %v", good, r, err)
			}
		}

		// A value written before input was bounded (renewing 9999-12-31
		// by 3650 days stored this on SQLite), or by hand.
		k.exec(t, `UPDATE resources SET end_date = ? WHERE uuid = ?`, "10009-12-28", res.String())
		list, total, err := k.m.ListResources(ctx, k.staff, marketplace.ConsumerView,
			marketplace.ResourceFilter{Ordering: "end_date"}, db.Page{Limit: 10})
		if err != nil {
			t.Fatalf("list with an unreadable end_date: %v", err)
		}
		if total != 2 || len(list) != 2 {
			t.Fatalf("listed %d of %d resources, want 2", len(list), total)
		}
		for _, r := range list {
			switch r.UUID {
			case res:
				if r.EndDate != nil {
					t.Errorf("unreadable end_date served as %q, want null", *r.EndDate)
				}
			case other:
				if r.EndDate == nil || *r.EndDate != "2030-01-01" {
					t.Errorf("neighbour's end_date %v", r.EndDate)
				}
			}
		}
		if _, err := k.m.GetResource(ctx, k.staff, marketplace.ConsumerView, res); err != nil {
			t.Fatalf("get: %v", err)
		}
		if r, err := update("2032-01-01"); err != nil || *r.EndDate != "2032-01-01" {
			t.Fatalf("repair: %v %v", r, err)
		}
		r, err := k.m.GetResource(ctx, k.staff, marketplace.ConsumerView, res)
		if err != nil || r.EndDate == nil || *r.EndDate != "2032-01-01" {
			t.Fatalf("after repair: %v %v", r, err)
		}
	})
}

// TestRefusedValuesAreNotInternal: the API boundary refuses NUL and the
// like first; should a value reach SQL anyway, PostgreSQL's refusal is a
// 400, not a 500 (SQLite stores it).
func TestRefusedValuesAreNotInternal(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k := newMarket(t, d)
		pg := d.Dialect() == db.Postgres
		check := func(what string, err error) {
			t.Helper()
			if pg && errs.KindOf(err) != errs.Invalid {
				t.Errorf("%s: %v (kind %v), want Invalid", what, err, errs.KindOf(err))
			}
			if !pg && err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
		_, err := k.m.CreateCustomer(ctx, k.staff, marketplace.CustomerInput{Name: "nul\x00name", Slug: "nul"})
		check("customer name with NUL", err)
		_, _, err = k.m.ListCustomers(ctx, k.staff, marketplace.ListFilter{Name: "\x00"}, db.Page{Limit: 10})
		check("customer filter with NUL", err)
		_, err = k.m.CreateOffering(ctx, k.staff, marketplace.OfferingInput{Customer: k.customer(t, "C").UUID, Name: "O",
			PluginOptions: map[string]any{"note": "a\x00b"}})
		check("NUL inside JSON", err)
	})
}

// TestOrderingKeysAgree lists the same rows through every ordering key of
// every list, both directions, and requires (a) the order the key defines
// (byte-wise text, numeric price, NULL end dates last ascending, the id
// tiebreak in the key's direction) on each engine and (b) one order on both
// engines. Before, ?o=unit_price sorted 10.50 before 9.00 on SQLite only,
// and NULL end dates came first on SQLite and last on PostgreSQL.
func TestOrderingKeysAgree(t *testing.T) {
	t.Parallel()
	orders := map[db.Dialect]map[string]string{}
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		orders[d.Dialect()] = listAllOrders(t, d)
	})
	sq, pg := orders[db.SQLite], orders[db.Postgres]
	if pg == nil {
		return
	}
	for key, want := range sq {
		if pg[key] != want {
			t.Errorf("%s: SQLite %s, PostgreSQL %s", key, want, pg[key])
		}
	}
}

// listedRow is one listed object: its name (what the test compares across
// engines), id (the tiebreak) and the values of its ordering keys.
type listedRow struct {
	name string
	id   int64
	keys map[string]any // string, int64, bool, time.Time or *string (nullable)
}

func compareKey(a, b any) int {
	switch x := a.(type) {
	case string:
		return bytes.Compare([]byte(x), []byte(b.(string)))
	case int64:
		return cmp.Compare(x, b.(int64))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	case *string:
		y := b.(*string)
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1 // NULL last ascending
		case y == nil:
			return -1
		}
		return strings.Compare(*x, *y)
	}
	panic(fmt.Sprintf("key type %T", a))
}

func show(v any) string {
	if p, ok := v.(*string); ok {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprint(v)
}

// checkOrder requires rows to be sorted by key (descending with "-") with
// the id tiebreak in the same direction, and returns their names.
func checkOrder(t *testing.T, list, o string, rows []listedRow) string {
	t.Helper()
	key, desc := strings.TrimPrefix(o, "-"), strings.HasPrefix(o, "-")
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
		if i == 0 {
			continue
		}
		prev := rows[i-1]
		c := compareKey(prev.keys[key], r.keys[key])
		if c == 0 {
			c = cmp.Compare(prev.id, r.id)
		}
		if desc {
			c = -c
		}
		if c >= 0 {
			t.Errorf("%s ?o=%s: %q (%s) before %q (%s)", list, o, prev.name, show(prev.keys[key]), r.name, show(r.keys[key]))
		}
	}
	return strings.Join(names, ", ")
}

// listAllOrders builds one data set and returns, per "list ?o=key", the
// names in the order listed.
func listAllOrders(t *testing.T, d *db.DB) map[string]string {
	ctx := context.Background()
	k := newMarket(t, d)
	k.m.RegisterProcessor("zeta-type", marketplace.ProcessorFunc(func(context.Context, *marketplace.Order) error { return nil }))
	// Names that sort differently byte-wise and in natural-language
	// collations, with duplicates so the tiebreak shows.
	names := []string{"alpha", "Zeta", "a-c", "ab", "Ab", "b", "é", "alpha"}
	yes, no := true, false
	// Usernames and emails are ASCII ([\w.@+-]); "_" sorts between
	// upper and lower case.
	ascii := func(s string) string { return strings.ReplaceAll(s, "é", "_e") }
	for i, n := range names {
		name := fmt.Sprintf("%s-%d", ascii(n), i)
		email, full := ascii(names[(i+3)%len(names)])+"@example.com", names[(i+5)%len(names)]
		flag := []*bool{&yes, &no}[i%2]
		if _, err := k.users.CreateUser(ctx, nil, auth.UserInput{Username: &name, Email: &email, FullName: &full,
			IsActive: flag, IsSupport: []*bool{&yes, &no}[i%3%2]}); err != nil {
			t.Fatal(err)
		}
	}
	var customers []*marketplace.Customer
	for i, n := range names[:5] {
		c, err := k.m.CreateCustomer(ctx, k.staff, marketplace.CustomerInput{Name: n, Slug: fmt.Sprintf("%s-%d", ascii(names[(i+2)%5]), i)})
		if err != nil {
			t.Fatal(err)
		}
		customers = append(customers, c)
	}
	var projects []*marketplace.Project
	for i, n := range names {
		p, err := k.m.CreateProject(ctx, k.staff, marketplace.ProjectInput{Customer: customers[i%len(customers)].UUID, Name: n})
		if err != nil {
			t.Fatal(err)
		}
		projects = append(projects, p)
	}
	var offerings []*marketplace.Offering
	for i, n := range names[:6] {
		o, err := k.m.CreateOffering(ctx, k.staff, marketplace.OfferingInput{Customer: customers[i%2].UUID, Name: n,
			Type:  []string{marketplace.OfferingTypeBasic, "zeta-type"}[i%2],
			State: []string{marketplace.OfferingActive, marketplace.OfferingDraft, marketplace.OfferingPaused}[i%3]})
		if err != nil {
			t.Fatal(err)
		}
		offerings = append(offerings, o)
	}
	var plans []*marketplace.Plan
	for i, price := range []string{"10.50", "9.00", "100.00", "10.50", "0.02", "1000.00", "9"} {
		p, err := k.m.CreatePlan(ctx, k.staff, marketplace.PlanInput{Offering: offerings[i%len(offerings)].UUID, Name: names[i], UnitPrice: price})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	base := d.Now()
	ends := []any{"2030-01-01", nil, "2029-12-31", "2030-01-01", nil, "9999-12-31", "0001-01-01", "2100-06-15"}
	states := []string{marketplace.ResourceOK, marketplace.ResourceErred, marketplace.ResourceCreating, marketplace.ResourceOK}
	for i, n := range names {
		// Creation times out of name order, some equal.
		at := base.Add(time.Duration((i*5)%7) * time.Minute)
		k.resource(t, projects[(i*3)%len(projects)], offerings[i%len(offerings)], plans[i%len(plans)], n, states[i%len(states)], ends[i], at)
		k.exec(t, `INSERT INTO orders (uuid, type, state, project_id, offering_id, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			uuid.NewString(), []string{"Create", "Update", "Terminate"}[i%3],
			[]string{"pending-consumer", "done", "executing", "erred", "canceled"}[i%5], projects[i].ID, offerings[i%len(offerings)].ID,
			at, at.Add(time.Duration(i%3)*time.Minute))
	}

	page := db.Page{Limit: 300}
	out := map[string]string{}
	run := func(list string, keys []string, fetch func(o string) ([]listedRow, error)) {
		for _, key := range keys {
			for _, o := range []string{key, "-" + key} {
				rows, err := fetch(o)
				if err != nil {
					t.Fatalf("%s ?o=%s: %v", list, o, err)
				}
				if len(rows) < 5 {
					t.Fatalf("%s ?o=%s: only %d rows", list, o, len(rows))
				}
				out[list+" ?o="+o] = checkOrder(t, list, o, rows)
			}
		}
	}
	run("users", []string{"username", "email", "full_name", "created", "is_active", "is_staff", "is_support"}, func(o string) ([]listedRow, error) {
		l, _, err := k.users.ListUsers(ctx, k.staff, auth.UserFilter{Ordering: o}, page)
		var rows []listedRow
		for _, u := range l {
			rows = append(rows, listedRow{u.Username, u.ID, map[string]any{"username": u.Username, "email": u.Email, "full_name": u.FullName,
				"created": u.Created, "is_active": u.IsActive, "is_staff": u.IsStaff, "is_support": u.IsSupport}})
		}
		return rows, err
	})
	run("customers", []string{"name", "created", "slug"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListCustomers(ctx, k.staff, marketplace.ListFilter{Ordering: o}, page)
		var rows []listedRow
		for _, c := range l {
			rows = append(rows, listedRow{c.Slug, c.ID, map[string]any{"name": c.Name, "created": c.Created, "slug": c.Slug}})
		}
		return rows, err
	})
	run("projects", []string{"name", "created", "customer_name"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListProjects(ctx, k.staff, marketplace.ListFilter{Ordering: o}, page)
		var rows []listedRow
		for _, p := range l {
			rows = append(rows, listedRow{p.Name + "/" + p.CustomerName, p.ID, map[string]any{"name": p.Name, "created": p.Created, "customer_name": p.CustomerName}})
		}
		return rows, err
	})
	run("offerings", []string{"name", "created", "type", "state"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListOfferings(ctx, k.staff, marketplace.OfferingFilter{ListFilter: marketplace.ListFilter{Ordering: o}}, page)
		var rows []listedRow
		for _, of := range l {
			rows = append(rows, listedRow{of.Name, of.ID, map[string]any{"name": of.Name, "created": of.Created, "type": of.Type, "state": of.State}})
		}
		return rows, err
	})
	run("plans", []string{"unit_price", "name", "created"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListPlans(ctx, k.staff, marketplace.PlanFilter{Ordering: o}, page)
		var rows []listedRow
		for _, p := range l {
			rows = append(rows, listedRow{p.Name + " " + p.UnitPrice, p.ID, map[string]any{"unit_price": p.UnitPriceMinor, "name": p.Name, "created": p.Created}})
		}
		return rows, err
	})
	run("resources", []string{"name", "created", "modified", "state", "end_date", "project_name", "customer_name", "offering_name"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListResources(ctx, k.staff, marketplace.ConsumerView, marketplace.ResourceFilter{Ordering: o}, page)
		var rows []listedRow
		for _, r := range l {
			rows = append(rows, listedRow{r.Name, r.ID, map[string]any{"name": r.Name, "created": r.Created, "modified": r.Modified, "state": r.State,
				"end_date": r.EndDate, "project_name": r.ProjectName, "customer_name": r.CustomerName, "offering_name": r.OfferingName}})
		}
		return rows, err
	})
	run("orders", []string{"created", "modified", "state", "type"}, func(o string) ([]listedRow, error) {
		l, _, err := k.m.ListOrders(ctx, k.staff, marketplace.OrderFilter{Ordering: o}, page)
		var rows []listedRow
		for _, od := range l {
			rows = append(rows, listedRow{od.ProjectName + "/" + od.Type + "/" + od.State, od.ID, map[string]any{"created": od.Created,
				"modified": od.Modified, "state": od.State, "type": od.Type}})
		}
		return rows, err
	})
	return out
}
