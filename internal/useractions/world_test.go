package useractions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// uaWait bounds every wait for something a job does: generous, as the
// suite shares two cores with other packages' tests.
const uaWait = 60 * time.Second

// uaEpoch is where every world's clock starts: a fixed instant, so day
// arithmetic (end dates, "today") never straddles midnight by accident.
var uaEpoch = time.Date(2031, 3, 10, 10, 0, 0, 0, time.UTC)

// uaClock is heed's injected clock: a dbtest.Clock that stands still unless
// a test moves it, and only forward.
type uaClock struct{ *dbtest.Clock }

func newUAClock() *uaClock { return &uaClock{dbtest.NewClock(uaEpoch)} }

// Advance moves the clock forward by d and returns the new time.
func (c *uaClock) Advance(d time.Duration) time.Time {
	c.Add(d)
	return c.Now()
}

// today is the clock's UTC date at midnight.
func (c *uaClock) today() time.Time {
	n := c.Now()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// uaSignal wakes waiters after something committed: a marketplace change
// or a detection run. A waiter takes the channel, checks its condition, and
// sleeps on the channel only if the condition does not hold yet, so no
// signal is missed and nothing polls.
type uaSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *uaSignal) next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *uaSignal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// until returns once cond holds, re-checking it after every commit the
// signal reports; it fails tb after uaWait.
func (s *uaSignal) until(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(uaWait)
	defer deadline.Stop()
	for {
		ch := s.next()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("timed out after %s waiting for %s", uaWait, what)
		}
	}
}

// probeType is the action type of the probe provider.
const probeType = "probe"

// probeProvider is a provider whose actions the test scripts: Detect
// reports what set last said (within the scope asked), and each committed
// run fires the world's signal. Full runs (no scope) are counted once they
// have committed.
type probeProvider struct {
	mu       sync.Mutex
	actions  []provider.Action
	fullRuns int
	sig      *uaSignal
	// executed records the corrective actions Execute was asked to run.
	executed []string
}

func (p *probeProvider) ActionType() string  { return probeType }
func (p *probeProvider) DisplayName() string { return "Probe" }

// set replaces the actions of the users in users (every other user's stay).
func (p *probeProvider) set(users []int64, acts ...provider.Action) {
	p.mu.Lock()
	defer p.mu.Unlock()
	drop := map[int64]bool{}
	for _, u := range users {
		drop[u] = true
	}
	kept := p.actions[:0:0]
	for _, a := range p.actions {
		if !drop[a.UserID] {
			kept = append(kept, a)
		}
	}
	p.actions = append(kept, acts...)
}

func (p *probeProvider) runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fullRuns
}

func (p *probeProvider) Detect(_ context.Context, c db.Conn, _ time.Time, scope provider.Scope) ([]provider.Action, error) {
	full := scope.Users == nil && scope.Objects == nil
	if tx, ok := c.(*db.Tx); ok {
		tx.AfterCommit(func() {
			if full {
				p.mu.Lock()
				p.fullRuns++
				p.mu.Unlock()
			}
			p.sig.fire()
		})
	}
	users := map[int64]bool{}
	for _, u := range scope.Users {
		users[u] = true
	}
	objects := map[provider.ObjectRef]bool{}
	for _, o := range scope.Objects {
		objects[o] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []provider.Action
	for _, a := range p.actions {
		if (scope.Users == nil || users[a.UserID]) && (scope.Objects == nil || objects[a.Object]) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (p *probeProvider) Execute(_ context.Context, actor *auth.User, t provider.Target, ca provider.CorrectiveAction, _ map[string]any) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.executed = append(p.executed, fmt.Sprintf("%s/%s/%s", actor.Username, t.Object, ca.Label))
	return provider.Result{Message: "Probed.", Metadata: map[string]any{"object": t.Object.String()}}, nil
}

// uaUser is an account with its token.
type uaUser struct {
	name, uuid, token string
	u                 *auth.User
}

// uaWorld is a running heed (with a clock the test moves) and the
// marketplace the tests share on one database:
//
//   - customer "Provider" offers "Prepaid" (a prepaid component, the default
//     reminders 30/14/7/1), "Annual" (prepaid, reminders 90/60/30/14/7/1),
//     "Usage" (no prepaid component) and "Manual" (prepaid, with manual
//     provider approval: approved orders wait in pending-provider);
//   - teams (newTeam) are customers with one project and their own users, so
//     each test's users see only that test's actions.
type uaWorld struct {
	h     *apptest.Harness
	clock *uaClock
	sig   *uaSignal
	probe *probeProvider
	seq   atomic.Int64

	staff uaUser

	providerCustomer                   uuid.UUID
	prepaid, annual, usage, manual     uuid.UUID
	prepaidPlan, annualPlan, usagePlan uuid.UUID
	manualPlan                         uuid.UUID
}

// eachUAWorld starts heed on a fresh database of each dialect, the two side
// by side, each with its own clock, and builds a world on it. The tests of
// one world run one after another: they move its clock.
func eachUAWorld(t *testing.T, fn func(t *testing.T, w *uaWorld)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		clock := newUAClock()
		h := apptest.Start(t, dbURL, apptest.Options{NoDemo: true, Clock: clock.Now})
		fn(t, newUAWorld(t, h, clock))
	})
}

func newUAWorld(t *testing.T, h *apptest.Harness, clock *uaClock) *uaWorld {
	t.Helper()
	w := &uaWorld{h: h, clock: clock, sig: &uaSignal{}}
	// Nothing has run yet (no demo, no periodic job runs at start), so the
	// probe and the observer are in place before any detection or change.
	w.probe = &probeProvider{sig: w.sig}
	h.App.Actions.Register(w.probe)
	h.App.Market.OnChange(func(_ context.Context, tx *db.Tx, _ marketplace.ObjectChange) error {
		tx.AfterCommit(w.sig.fire)
		return nil
	})
	ctx := context.Background()
	yes := true
	w.staff = w.newUser(t, "staff", &yes)
	m := h.App.Market
	pc, err := m.CreateCustomer(ctx, w.staff.u, marketplace.CustomerInput{Name: "Provider"})
	if err != nil {
		t.Fatalf("provider customer: %v", err)
	}
	w.providerCustomer = pc.UUID
	prepaid := []marketplace.Component{{Type: "cpu_hours", Name: "CPU hours", BillingType: "limit", IsPrepaid: true}}
	offering := func(name string, comps []marketplace.Component, opts map[string]any) (uuid.UUID, uuid.UUID) {
		o, err := m.CreateOffering(ctx, w.staff.u, marketplace.OfferingInput{Customer: pc.UUID, Name: name, Components: comps, PluginOptions: opts})
		if err != nil {
			t.Fatalf("offering %s: %v", name, err)
		}
		p, err := m.CreatePlan(ctx, w.staff.u, marketplace.PlanInput{Offering: o.UUID, Name: name + " plan", UnitPrice: "10.00", Unit: "month"})
		if err != nil {
			t.Fatalf("plan %s: %v", name, err)
		}
		return o.UUID, p.UUID
	}
	w.prepaid, w.prepaidPlan = offering("Prepaid", prepaid, nil)
	w.annual, w.annualPlan = offering("Annual", prepaid, map[string]any{"resource_expiration_reminders": []any{90.0, 60.0, 30.0, 14.0, 7.0, 1.0}})
	w.usage, w.usagePlan = offering("Usage", []marketplace.Component{{Type: "gb", Name: "Storage", BillingType: "usage"}}, nil)
	w.manual, w.manualPlan = offering("Manual", prepaid, map[string]any{"manual_provider_approval": true})
	return w
}

// newUser creates an account and a token for it, as `heed user create`
// does.
func (w *uaWorld) newUser(t testing.TB, prefix string, staff *bool) uaUser {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s-%d", prefix, w.seq.Add(1))
	email := name + "@example.com"
	u, err := w.h.App.Users.CreateUser(ctx, nil, auth.UserInput{Username: &name, Email: &email, IsStaff: staff})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	tok, err := w.h.App.Users.CreateToken(ctx, name, "test")
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return uaUser{name: name, uuid: hexOf(u.UUID), token: tok, u: u}
}

func hexOf(u uuid.UUID) string { return strings.ReplaceAll(u.String(), "-", "") }

// uaTeam is a consumer customer with one project and its people: owner is
// CUSTOMER.OWNER; manager, admin and member hold PROJECT.MANAGER,
// PROJECT.ADMIN and PROJECT.MEMBER on the project.
type uaTeam struct {
	customer, project             uuid.UUID
	owner, manager, admin, member uaUser
}

func (w *uaWorld) newTeam(t testing.TB) *uaTeam {
	t.Helper()
	ctx := context.Background()
	m := w.h.App.Market
	n := w.seq.Add(1)
	c, err := m.CreateCustomer(ctx, w.staff.u, marketplace.CustomerInput{Name: fmt.Sprintf("Consumer %d", n)})
	if err != nil {
		t.Fatalf("customer: %v", err)
	}
	p, err := m.CreateProject(ctx, w.staff.u, marketplace.ProjectInput{Customer: c.UUID, Name: fmt.Sprintf("Project %d", n)})
	if err != nil {
		t.Fatalf("project: %v", err)
	}
	tm := &uaTeam{customer: c.UUID, project: p.UUID}
	for _, g := range []struct {
		dst  *uaUser
		name string
		on   marketplace.ScopeType
		role marketplace.Role
	}{
		{&tm.owner, "owner", marketplace.ScopeCustomer, marketplace.CustomerOwner},
		{&tm.manager, "manager", marketplace.ScopeProject, marketplace.ProjectManager},
		{&tm.admin, "admin", marketplace.ScopeProject, marketplace.ProjectAdmin},
		{&tm.member, "member", marketplace.ScopeProject, marketplace.ProjectMember},
	} {
		*g.dst = w.newUser(t, g.name, nil)
		w.grant(t, tm, *g.dst, g.on, g.role)
	}
	return tm
}

func (w *uaWorld) grant(t testing.TB, tm *uaTeam, u uaUser, on marketplace.ScopeType, role marketplace.Role) {
	t.Helper()
	obj := tm.project
	if on == marketplace.ScopeCustomer {
		obj = tm.customer
	}
	if _, err := w.h.App.Market.AddUser(context.Background(), w.staff.u, on, obj, marketplace.RoleGrant{User: u.u.UUID, Role: role}); err != nil {
		t.Fatalf("grant %s to %s: %v", role, u.name, err)
	}
}

// order places a Create order in the team's project as u.
func (w *uaWorld) order(t testing.TB, tm *uaTeam, u uaUser, offering, plan uuid.UUID) *marketplace.Order {
	t.Helper()
	o, err := w.h.App.Market.CreateOrder(context.Background(), u.u, marketplace.OrderInput{
		Project: tm.project, Offering: offering, Plan: &plan,
		Attributes: map[string]any{"name": fmt.Sprintf("res-%d", w.seq.Add(1))}, Limits: map[string]int64{"cpu_hours": 10},
	})
	if err != nil {
		t.Fatalf("order as %s: %v", u.name, err)
	}
	return o
}

// pendingOrder is an order by the team's member (who may not approve it),
// waiting in pending-consumer since age ago.
func (w *uaWorld) pendingOrder(t testing.TB, tm *uaTeam, age time.Duration) *marketplace.Order {
	t.Helper()
	o := w.order(t, tm, tm.member, w.prepaid, w.prepaidPlan)
	if o.State != marketplace.OrderPendingConsumer {
		t.Fatalf("member's order is %s, want pending-consumer", o.State)
	}
	w.backdate(t, o.UUID, w.clock.Now().Add(-age))
	return o
}

// backdate makes an order look as if it was placed at when. Like the
// passing of time, it is no change the marketplace reports.
func (w *uaWorld) backdate(t testing.TB, order uuid.UUID, when time.Time) {
	t.Helper()
	w.sql(t, "UPDATE orders SET created = ? WHERE uuid = ?", when, order.String())
}

func (w *uaWorld) sql(t testing.TB, q string, args ...any) {
	t.Helper()
	err := w.h.App.DB.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// resource creates an OK resource of offering in the team's project (the
// manager orders it) ending days from today; days < -1000 leaves no end
// date.
func (w *uaWorld) resource(t testing.TB, tm *uaTeam, offering, plan uuid.UUID, days int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	m := w.h.App.Market
	o := w.order(t, tm, tm.manager, offering, plan)
	if o.State == marketplace.OrderPendingProvider {
		if _, err := m.Transition(ctx, w.staff.u, o.UUID, marketplace.ApproveByProvider); err != nil {
			t.Fatalf("approve as provider: %v", err)
		}
	}
	// Processed now rather than by the job, which then finds it done.
	if err := m.ProcessOrder(ctx, o.ID); err != nil {
		t.Fatalf("process order: %v", err)
	}
	id := *o.ResourceUUID
	if r, err := m.GetResource(ctx, w.staff.u, marketplace.ConsumerView, id); err != nil || r.State != marketplace.ResourceOK {
		t.Fatalf("resource %s: %v, %v", id, r, err)
	}
	if days > -1000 {
		w.setEnd(t, tm, id, days)
	}
	return id
}

// setEnd moves a resource's end date to days from today, as its manager.
func (w *uaWorld) setEnd(t testing.TB, tm *uaTeam, id uuid.UUID, days int) {
	t.Helper()
	end := w.clock.today().AddDate(0, 0, days).Format(marketplace.DateLayout)
	if _, err := w.h.App.Market.UpdateResource(context.Background(), tm.manager.u, marketplace.ConsumerView, id,
		marketplace.ResourceUpdate{EndDate: &end}); err != nil {
		t.Fatalf("end date of %s: %v", id, err)
	}
}

// detect runs every enabled provider for everyone now, as the schedule
// does, and fails on any provider error.
func (w *uaWorld) detect(t testing.TB) {
	t.Helper()
	reports, err := w.h.App.Actions.Update(context.Background(), "", nil)
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	for _, r := range reports {
		if r.Err != nil {
			t.Fatalf("detect %s: %v", r.ActionType, r.Err)
		}
	}
}

// do sends a request as u (the zero uaUser is anonymous), reporting
// failures on t.
func (w *uaWorld) do(t testing.TB, method, path string, u uaUser, body any) *apptest.Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, w.h.URL+path, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Token "+u.token)
	}
	resp, err := w.h.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// actions lists u's actions with the query kv (pairs), all of them on one
// page.
func (w *uaWorld) actions(t testing.TB, u uaUser, kv ...string) []map[string]any {
	t.Helper()
	return w.do(t, http.MethodGet, uaQuery("/api/user-actions/", append([]string{"page_size", "300"}, kv...)...), u, nil).
		Want(t, http.StatusOK).List(t)
}

// action finds the one action of list about the order or resource id.
func actionAbout(t testing.TB, list []map[string]any, id uuid.UUID) map[string]any {
	t.Helper()
	var found map[string]any
	for _, a := range list {
		params, _ := a["route_params"].(map[string]any)
		if params["order_uuid"] == hexOf(id) || params["resource_uuid"] == hexOf(id) {
			if found != nil {
				t.Fatalf("two actions about %s in %v", id, list)
			}
			found = a
		}
	}
	return found
}

// mustAction is action that fails when there is none.
func mustAction(t testing.TB, list []map[string]any, id uuid.UUID) map[string]any {
	t.Helper()
	a := actionAbout(t, list, id)
	if a == nil {
		t.Fatalf("no action about %s in %d actions: %v", id, len(list), titles(list))
	}
	return a
}

func titles(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = fmt.Sprintf("%v %v (%v)", a["urgency"], a["title"], a["uuid"])
	}
	return out
}

func uuids(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i], _ = a["uuid"].(string)
	}
	return out
}

// labels are the corrective actions' labels, in order.
func labels(a map[string]any) []string {
	cas, _ := a["corrective_actions"].([]any)
	out := make([]string, len(cas))
	for i, c := range cas {
		out[i], _ = c.(map[string]any)["label"].(string)
	}
	return out
}

// corrective returns the corrective action labelled label, or nil.
func corrective(a map[string]any, label string) map[string]any {
	cas, _ := a["corrective_actions"].([]any)
	for _, c := range cas {
		if m := c.(map[string]any); m["label"] == label {
			return m
		}
	}
	return nil
}

func uaQuery(path string, kv ...string) string {
	if len(kv) == 0 {
		return path
	}
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}

func resultCount(t testing.TB, r *apptest.Response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("X-Result-Count"))
	if err != nil {
		t.Fatalf("X-Result-Count %q: %v (status %d, body %s)", r.Header.Get("X-Result-Count"), err, r.Status, r.Body)
	}
	return n
}

// wantField requires obj[field] to print as want.
func wantField(t testing.TB, obj map[string]any, field string, want any) {
	t.Helper()
	if got := obj[field]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v (in %v)", field, got, want, obj)
	}
}

// wantFieldErrors requires a 400 {field: [messages]} naming exactly field.
func wantFieldErrors(t testing.TB, r *apptest.Response, field string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", r.Status, r.Body)
	}
	var body map[string][]string
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || len(body[field]) == 0 || body[field][0] == "" {
		t.Fatalf("body %s, want {%q: [message]}", r.Body, field)
	}
}

// wantDetail requires the status and a {"detail": ...} body (with, for
// execute_action, the same message under "error").
func wantDetail(t testing.TB, r *apptest.Response, status int, withError bool) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	detail, _ := body["detail"].(string)
	if detail == "" {
		t.Fatalf("body %s has no detail", r.Body)
	}
	if withError && (body["error"] != detail || len(body) != 2) {
		t.Fatalf(`body %s, want {"detail": m, "error": m}`, r.Body)
	}
	if !withError && len(body) != 1 {
		t.Fatalf(`body %s, want {"detail": ...}`, r.Body)
	}
	return detail
}
