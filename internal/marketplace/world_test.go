package marketplace_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
	"github.com/heed-dev/heed/internal/marketplace"
)

// Standard DRF messages.
const (
	msgNotProvided = "Authentication credentials were not provided."
	msgForbidden   = "You do not have permission to perform this action."
	msgNotFound    = "Not found."
)

// wait bounds every wait for the River job to finish an order.
const wait = 30 * time.Second

// Offering types registered by every world besides "basic".
const (
	typeGated   = "gated"
	typeFailing = "failing"
)

// user is an account of the world with its token; the zero token is an
// anonymous caller.
type user struct {
	name, uuid, token string
}

var anonymous = user{name: "anonymous"}

// gates hold orders of "gated" offerings in executing: the processor waits
// until the gate "<resource name>/<order type>" opens. Once openAll has run
// (at cleanup, so that jobs can stop), every gate is open.
type gates struct {
	mu  sync.Mutex
	ch  map[string]chan struct{}
	all bool
}

func newGates() *gates { return &gates{ch: map[string]chan struct{}{}} }

func (g *gates) get(key string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.ch[key]
	if !ok {
		c = make(chan struct{})
		g.ch[key] = c
		if g.all {
			close(c)
		}
	}
	return c
}

func (g *gates) open(key string) {
	c := g.get(key)
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

func (g *gates) openAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.all = true
	for _, c := range g.ch {
		select {
		case <-c:
		default:
			close(c)
		}
	}
}

func (g *gates) Process(ctx context.Context, o *marketplace.Order) error {
	select {
	case <-g.get(o.ResourceName + "/" + o.Type):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// world is a marketplace built through the API, shared by the tests of one
// database (each makes its own objects in it beside these):
//
//   - customer "Consumer" with project "Project": owner is its CUSTOMER.OWNER;
//     manager, admin and member hold PROJECT.MANAGER, PROJECT.ADMIN and
//     PROJECT.MEMBER on the project.
//   - customer "Provider" (provider is its CUSTOMER.OWNER) offers
//     "Compute" (basic; plans Small 10.00 and Large 25.00), "Manual" (basic
//     with manual_provider_approval), "Gated" (type gated, see gates) and
//     "Failing" (type failing: every order errs with "backend exploded").
//     offeringManager is OFFERING.MANAGER on Compute and Manual.
//   - category "Computing" (no offerings).
//   - customer "Other" with project "Elsewhere": stranger owns it and has
//     no role on anything above.
//   - pendingOrder: the member's order for Compute, waiting in
//     pending-consumer; resource: the manager's Compute resource, OK.
type world struct {
	h     *apptest.Harness
	gates *gates
	seq   atomic.Int64

	staff, support, owner, manager, admin, member, provider, offeringManager, stranger user

	customer, project, providerCustomer, otherCustomer, otherProject string
	category                                                         string

	offering, plan, largePlan    string
	manualOffering, manualPlan   string
	gatedOffering, gatedPlan     string
	failingOffering, failingPlan string

	pendingOrder, pendingResource string
	resource, resourceName        string
}

// newWorld registers the test offering types on h's marketplace, then
// builds the world. Call it before any subtest runs: registering a
// processor is not safe while orders are processed.
func newWorld(t *testing.T, h *apptest.Harness) *world {
	t.Helper()
	w := &world{h: h, gates: newGates()}
	h.App.Market.RegisterProcessor(typeGated, w.gates)
	h.App.Market.RegisterProcessor(typeFailing, marketplace.ProcessorFunc(func(ctx context.Context, o *marketplace.Order) error {
		return errors.New("backend exploded")
	}))
	// Jobs stop after this cleanup: let held orders finish first.
	t.Cleanup(w.gates.openAll)

	w.staff = bootstrapStaff(t, h)
	w.support = w.createUserWith(t, "support", map[string]any{"is_support": true})
	for _, u := range []struct {
		dst  *user
		name string
	}{
		{&w.owner, "owner"}, {&w.manager, "manager"}, {&w.admin, "admin"}, {&w.member, "member"},
		{&w.provider, "provider"}, {&w.offeringManager, "offering-manager"}, {&w.stranger, "stranger"},
	} {
		*u.dst = w.createUser(t, u.name)
	}

	w.customer = w.createCustomer(t, "Consumer")
	w.providerCustomer = w.createCustomer(t, "Provider")
	w.otherCustomer = w.createCustomer(t, "Other")
	w.project = w.createProject(t, w.customer, "Project")
	w.otherProject = w.createProject(t, w.otherCustomer, "Elsewhere")

	w.grant(t, "customers", w.customer, w.owner, "CUSTOMER.OWNER")
	w.grant(t, "projects", w.project, w.manager, "PROJECT.MANAGER")
	w.grant(t, "projects", w.project, w.admin, "PROJECT.ADMIN")
	w.grant(t, "projects", w.project, w.member, "PROJECT.MEMBER")
	w.grant(t, "customers", w.providerCustomer, w.provider, "CUSTOMER.OWNER")
	w.grant(t, "customers", w.otherCustomer, w.stranger, "CUSTOMER.OWNER")

	w.category = w.create(t, "/api/marketplace-categories/", map[string]any{"title": "Computing"})
	w.offering = w.createOffering(t, "Compute", marketplace.OfferingTypeBasic, nil)
	w.plan = w.createPlan(t, w.offering, "Small", "10.00")
	w.largePlan = w.createPlan(t, w.offering, "Large", "25.00")
	w.manualOffering = w.createOffering(t, "Manual", marketplace.OfferingTypeBasic, map[string]any{"manual_provider_approval": true})
	w.manualPlan = w.createPlan(t, w.manualOffering, "Manual plan", "5.00")
	w.gatedOffering = w.createOffering(t, "Gated", typeGated, nil)
	w.gatedPlan = w.createPlan(t, w.gatedOffering, "Gated plan", "1.00")
	w.failingOffering = w.createOffering(t, "Failing", typeFailing, nil)
	w.failingPlan = w.createPlan(t, w.failingOffering, "Failing plan", "1.00")
	// No endpoint grants OFFERING.MANAGER (add_user exists on customers and
	// projects only), so this one role is written directly.
	w.grantOfferingManager(t, w.offeringManager, w.offering)
	w.grantOfferingManager(t, w.offeringManager, w.manualOffering)

	w.pendingOrder = w.pendingConsumerOrder(t)
	w.pendingResource = w.get(t, "/api/marketplace-orders/"+w.pendingOrder+"/")["marketplace_resource_uuid"].(string)
	w.resource = w.okResources(t, w.manager, 1)[0]
	w.resourceName = w.get(t, "/api/marketplace-resources/"+w.resource+"/")["name"].(string)
	return w
}

// bootstrapStaff creates the one user that cannot be made through the API
// (the API needs a staff user first), the way `heed user create` does.
func bootstrapStaff(t *testing.T, h *apptest.Harness) user {
	t.Helper()
	ctx := context.Background()
	name, yes := "staff", true
	u, err := h.App.Users.CreateUser(ctx, nil, auth.UserInput{Username: &name, IsStaff: &yes})
	if err != nil {
		t.Fatalf("create staff: %v", err)
	}
	tok, err := h.App.Users.CreateToken(ctx, name, "test")
	if err != nil {
		t.Fatalf("staff token: %v", err)
	}
	return user{name: name, uuid: hexUUID(u.UUID), token: tok}
}

func hexUUID(u uuid.UUID) string { return strings.ReplaceAll(u.String(), "-", "") }

// dashed turns an API uuid into the form the database stores.
func dashed(t testing.TB, hex string) string {
	t.Helper()
	u, err := uuid.Parse(hex)
	if err != nil {
		t.Fatalf("bad uuid %q: %v", hex, err)
	}
	return u.String()
}

// on returns the harness bound to t, so failures inside h.Do are reported
// by the (sub)test that made the request.
func (w *world) on(t testing.TB) *apptest.Harness {
	c := *w.h
	c.T = t
	return &c
}

func (w *world) do(t testing.TB, method, path string, u user, body any) *apptest.Response {
	t.Helper()
	return w.on(t).Do(method, path, u.token, body)
}

// name returns a name no other object of this world has.
func (w *world) name(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, w.seq.Add(1))
}

// create POSTs as staff and returns the new object's uuid.
func (w *world) create(t testing.TB, path string, body any) string {
	t.Helper()
	r := w.do(t, http.MethodPost, path, w.staff, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s %v: status %d, want 201; body %s", path, body, r.Status, r.Body)
	}
	obj := r.Object(t)
	id, _ := obj["uuid"].(string)
	if id == "" {
		t.Fatalf("POST %s: no uuid in %v", path, obj)
	}
	return id
}

func (w *world) createUserWith(t testing.TB, name string, extra map[string]any) user {
	t.Helper()
	body := map[string]any{"username": name, "full_name": "User " + name, "email": name + "@example.com"}
	for k, v := range extra {
		body[k] = v
	}
	id := w.create(t, "/api/users/", body)
	tok, err := w.h.App.Users.CreateToken(context.Background(), name, "test")
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return user{name: name, uuid: id, token: tok}
}

func (w *world) createUser(t testing.TB, name string) user {
	t.Helper()
	return w.createUserWith(t, name, nil)
}

func (w *world) createCustomer(t testing.TB, name string) string {
	t.Helper()
	return w.create(t, "/api/customers/", map[string]any{"name": name})
}

func (w *world) createProject(t testing.TB, customer, name string) string {
	t.Helper()
	return w.create(t, "/api/projects/", map[string]any{"customer": customer, "name": name})
}

func (w *world) createOffering(t testing.TB, name, typ string, opts map[string]any) string {
	t.Helper()
	body := map[string]any{"customer": w.providerCustomer, "name": name, "type": typ}
	if opts != nil {
		body["plugin_options"] = opts
	}
	return w.create(t, "/api/marketplace-provider-offerings/", body)
}

func (w *world) createPlan(t testing.TB, offering, name, price string) string {
	t.Helper()
	return w.create(t, "/api/marketplace-plans/", map[string]any{"offering": offering, "name": name, "unit_price": price})
}

// grant gives u a role on a customer or project ("customers", "projects").
func (w *world) grant(t testing.TB, collection, obj string, u user, role string) {
	t.Helper()
	r := w.do(t, http.MethodPost, "/api/"+collection+"/"+obj+"/add_user/", w.staff,
		map[string]any{"user": u.uuid, "role": role})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant %s on %s %s to %s: status %d; body %s", role, collection, obj, u.name, r.Status, r.Body)
	}
}

func (w *world) grantOfferingManager(t testing.TB, u user, offering string) {
	t.Helper()
	err := w.h.App.DB.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO role_assignments (user_id, scope_type, scope_id, role, created)
			SELECT u.id, 'offering', o.id, 'OFFERING.MANAGER', ? FROM users u, offerings o WHERE u.uuid = ? AND o.uuid = ?`,
			tx.Now(), dashed(t, u.uuid), dashed(t, offering))
		return err
	})
	if err != nil {
		t.Fatalf("grant OFFERING.MANAGER: %v", err)
	}
}

// order places a Create order as u and returns it.
func (w *world) order(t testing.TB, u user, offering, plan, name string) map[string]any {
	t.Helper()
	return w.do(t, http.MethodPost, "/api/marketplace-orders/", u, map[string]any{
		"project": w.project, "offering": offering, "plan": plan, "attributes": map[string]any{"name": name},
	}).Want(t, http.StatusCreated).Object(t)
}

// pendingConsumerOrder is a fresh order by the member, in pending-consumer.
func (w *world) pendingConsumerOrder(t testing.TB) string {
	t.Helper()
	o := w.order(t, w.member, w.offering, w.plan, w.name("pending"))
	wantField(t, o, "state", "pending-consumer")
	return o["uuid"].(string)
}

// pendingProviderOrder is a fresh order by the manager for the Manual
// offering, in pending-provider.
func (w *world) pendingProviderOrder(t testing.TB) string {
	t.Helper()
	o := w.order(t, w.manager, w.manualOffering, w.manualPlan, w.name("manual"))
	wantField(t, o, "state", "pending-provider")
	return o["uuid"].(string)
}

// okResources creates n Compute resources ordered by u (who must be able to
// approve) and waits until every one is OK.
func (w *world) okResources(t testing.TB, u user, n int) []string {
	t.Helper()
	batch := w.name("batch") + "-"
	out := make([]string, n)
	for i := range n {
		o := w.order(t, u, w.offering, w.plan, fmt.Sprintf("%s%d", batch, i))
		out[i] = o["marketplace_resource_uuid"].(string)
	}
	// One list read per poll tells when the whole batch is done.
	path := query("/api/marketplace-resources/", "project_uuid", w.project, "name", batch, "state", "OK")
	apptest.Eventually(t, wait, fmt.Sprintf("%d resources of %s to be OK", n, batch), func() bool {
		return w.count(t, path) == n
	})
	return out
}

// body reads an object as staff, as raw JSON.
func (w *world) body(t testing.TB, path string) string {
	t.Helper()
	return string(w.do(t, http.MethodGet, path, w.staff, nil).Want(t, http.StatusOK).Body)
}

// get reads an object as staff.
func (w *world) get(t testing.TB, path string) map[string]any {
	t.Helper()
	return w.do(t, http.MethodGet, path, w.staff, nil).Want(t, http.StatusOK).Object(t)
}

var openOrderStates = map[string]bool{
	"pending-consumer": true, "pending-provider": true, "pending-project": true, "pending-start-date": true, "executing": true,
}

// waitOrder reads the order until it leaves the states it may still move
// from (or reaches want), then requires want.
func (w *world) waitOrder(t testing.TB, id, want string) map[string]any {
	t.Helper()
	var o map[string]any
	apptest.Eventually(t, wait, "order "+id+" to reach "+want, func() bool {
		o = w.get(t, "/api/marketplace-orders/"+id+"/")
		st, _ := o["state"].(string)
		return st == want || !openOrderStates[st]
	})
	wantField(t, o, "state", want)
	return o
}

// waitResource reads the resource until its state is want.
func (w *world) waitResource(t testing.TB, id, want string) map[string]any {
	t.Helper()
	var r map[string]any
	apptest.Eventually(t, wait, "resource "+id+" to reach "+want, func() bool {
		r = w.get(t, "/api/marketplace-resources/"+id+"/")
		return r["state"] == want
	})
	return r
}

// count is a list's X-Result-Count as staff sees it.
func (w *world) count(t testing.TB, path string) int {
	t.Helper()
	return resultCount(t, w.do(t, http.MethodGet, path, w.staff, nil).Want(t, http.StatusOK))
}

func resultCount(t testing.TB, r *apptest.Response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("X-Result-Count"))
	if err != nil {
		t.Fatalf("X-Result-Count %q: %v", r.Header.Get("X-Result-Count"), err)
	}
	return n
}

// listHas reports whether a list response holds the object with uuid id.
func listHas(t testing.TB, r *apptest.Response, id string) bool {
	t.Helper()
	for _, o := range r.List(t) {
		if o["uuid"] == id {
			return true
		}
	}
	return false
}

// usersOf lists who holds a role on a customer or project ("user/ROLE").
func (w *world) usersOf(t testing.TB, collection, obj string) []string {
	t.Helper()
	var out []string
	for _, a := range w.do(t, http.MethodGet, "/api/"+collection+"/"+obj+"/list_users/?page_size=300", w.staff, nil).
		Want(t, http.StatusOK).List(t) {
		out = append(out, fmt.Sprintf("%v/%v", a["user_username"], a["role_name"]))
	}
	sort.Strings(out)
	return out
}

func wantField(t testing.TB, obj map[string]any, field string, want any) {
	t.Helper()
	if got := obj[field]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v (object %v)", field, got, want, obj)
	}
}

// wantDetail requires a DRF {"detail": "..."} body whose message contains
// each of parts.
func wantDetail(t testing.TB, r *apptest.Response, status int, parts ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s is not a JSON object: %v", r.Body, err)
	}
	detail, ok := body["detail"].(string)
	if !ok || len(body) != 1 || detail == "" {
		t.Fatalf(`body %s is not {"detail": "..."}`, r.Body)
	}
	for _, p := range parts {
		if !strings.Contains(detail, p) {
			t.Fatalf("detail %q does not mention %q", detail, p)
		}
	}
}

// Waldur's answers to order actions: {"detail": ...}, not the order.
const (
	msgApproved = "Order has been approved."
	msgRejected = "Order has been rejected."
	msgCanceled = "Order has been canceled."
)

// wantAnswer requires the status and a body that is exactly {key: message}
// (Waldur's {"detail"} of order actions, {"status"} of set_*).
func wantAnswer(t testing.TB, r *apptest.Response, status int, key, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || body[key] != message {
		t.Fatalf("body %s, want exactly {%q: %q}", r.Body, key, message)
	}
}

// orderUUIDOf requires renew's or terminate's answer, 200 and exactly
// {"order_uuid": "<32 hex>"}, and returns the uuid.
func orderUUIDOf(t testing.TB, r *apptest.Response) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 {
		t.Fatalf(`body %s, want exactly {"order_uuid": ...}`, r.Body)
	}
	id, _ := body["order_uuid"].(string)
	if _, err := uuid.Parse(id); err != nil || len(id) != 32 || strings.ToLower(id) != id {
		t.Fatalf("order_uuid %q is not a 32-hex uuid", id)
	}
	return id
}

// wantFields requires a 400 whose DRF body maps exactly the given fields to
// non-empty lists of messages; it returns the messages.
func wantFields(t testing.TB, r *apptest.Response, fields ...string) map[string][]string {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", r.Status, r.Body)
	}
	var body map[string][]string
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s is not {field: [messages]}: %v", r.Body, err)
	}
	var got []string
	for k, msgs := range body {
		got = append(got, k)
		if len(msgs) == 0 {
			t.Fatalf("field %s has no message: %s", k, r.Body)
		}
		for _, m := range msgs {
			if strings.TrimSpace(m) == "" {
				t.Fatalf("field %s has an empty message: %s", k, r.Body)
			}
		}
	}
	sort.Strings(got)
	want := append([]string(nil), fields...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("error fields %v, want %v; body %s", got, want, r.Body)
	}
	return body
}

// query builds a path with a query string.
func query(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}
