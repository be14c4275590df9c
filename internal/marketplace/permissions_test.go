package marketplace_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

// Columns of the permission matrix: who calls. See world for the roles.
const (
	colStaff = iota
	colSupport
	colOwner
	colManager
	colAdmin
	colMember
	colProvider
	colOfferingManager
	colStranger
	colAnonymous
	nCols
)

var colNames = [nCols]string{"staff", "support", "customer-owner", "project-manager", "project-admin",
	"project-member", "provider-owner", "offering-manager", "unrelated-user", "anonymous"}

func (w *world) columns() [nCols]user {
	return [nCols]user{w.staff, w.support, w.owner, w.manager, w.admin, w.member, w.provider, w.offeringManager, w.stranger, anonymous}
}

type statuses [nCols]int

func s(codes ...int) statuses {
	var out statuses
	if len(codes) != nCols {
		panic("a matrix row needs one status per column")
	}
	copy(out[:], codes)
	return out
}

// matrixRow is one endpoint's expected status per column and, for a
// collection list, whether each authenticated column finds the object in it.
type matrixRow struct {
	endpoint string
	want     statuses
	listed   []bool
}

const (
	Y = true
	N = false
)

func row(want statuses, endpoint string, listed ...bool) matrixRow {
	if listed != nil && len(listed) != nCols-1 {
		panic(endpoint + ": a listing needs one entry per authenticated column")
	}
	return matrixRow{endpoint: endpoint, want: want, listed: listed}
}

// permissionMatrix is every marketplace endpoint against every kind of
// caller, derived from roles.go:
//
//   - staff may do everything; support reads everything and gets 403 on
//     every write; anonymous callers get 401 everywhere.
//   - consumer objects (customer, project, resource) are visible through a
//     role on the project or its customer; orders also to the provider side
//     (a role on the offering or its customer); provider resources only to
//     the provider side. Offerings and plans are a public catalogue.
//   - an object the caller cannot see is 404; a visible one the caller's
//     roles do not allow changing is 403. A create naming a customer or
//     project the caller cannot see is a 400 on that field (DRF's "object
//     does not exist"), not a 404.
//   - CUSTOMER.OWNER: ORDER.CREATE/APPROVE, RESOURCE.TERMINATE/UPDATE,
//     PROJECT.CREATE, CUSTOMER/PROJECT.ROLE_MANAGE, OFFERING.ORDER_APPROVE,
//     OFFERING.MANAGE. PROJECT.MANAGER: ORDER.CREATE/APPROVE,
//     RESOURCE.TERMINATE/UPDATE, PROJECT.ROLE_MANAGE. PROJECT.ADMIN: the
//     same without PROJECT.ROLE_MANAGE. PROJECT.MEMBER: ORDER.CREATE.
//     OFFERING.MANAGER: OFFERING.ORDER_APPROVE, OFFERING.MANAGE on its
//     offering. Resource edits and renewals check the consumer side even
//     through the provider endpoint; slug and flags are staff-only.
//
// Success statuses and bodies are those of Waldur's client contract (its
// §6): delete_user 200, order cancel 202 and the other order actions 200,
// all answering {"detail"}; set_* {"status"}; terminate and renew
// {"order_uuid"} of the order they place.
//
// The order actions act on an order the project member placed (pending
// consumer approval), or for the provider actions on the project manager's
// order for the Manual offering (pending provider approval).
var permissionMatrix = []matrixRow{
	// Columns: staff, support, customer owner, project manager, project admin,
	// project member, provider owner, offering manager, unrelated user,
	// anonymous. For lists, the Y/N after the endpoint say whether each
	// authenticated caller (all but anonymous) finds the object in the list.
	//
	//    stf  sup  own  mgr  adm  mem  prv  ofm  unr  anon
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/customers/", Y, Y, Y, Y, Y, Y, N, N, N),
	row(s(200, 200, 200, 200, 200, 200, 404, 404, 404, 401), "GET /api/customers/{uuid}/"),
	row(s(201, 403, 403, 403, 403, 403, 403, 403, 403, 401), "POST /api/customers/"),
	row(s(201, 403, 201, 403, 403, 403, 404, 404, 404, 401), "POST /api/customers/{uuid}/add_user/"),
	row(s(200, 403, 200, 403, 403, 403, 404, 404, 404, 401), "POST /api/customers/{uuid}/delete_user/"),
	row(s(200, 200, 200, 200, 200, 200, 404, 404, 404, 401), "GET /api/customers/{uuid}/list_users/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/projects/", Y, Y, Y, Y, Y, Y, N, N, N),
	row(s(200, 200, 200, 200, 200, 200, 404, 404, 404, 401), "GET /api/projects/{uuid}/"),
	row(s(201, 403, 201, 403, 403, 403, 400, 400, 400, 401), "POST /api/projects/"),
	row(s(201, 403, 201, 201, 403, 403, 404, 404, 404, 401), "POST /api/projects/{uuid}/add_user/"),
	row(s(200, 403, 200, 200, 403, 403, 404, 404, 404, 401), "POST /api/projects/{uuid}/delete_user/"),
	row(s(200, 200, 200, 200, 200, 200, 404, 404, 404, 401), "GET /api/projects/{uuid}/list_users/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-provider-offerings/", Y, Y, Y, Y, Y, Y, Y, Y, Y),
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-provider-offerings/{uuid}/"),
	row(s(201, 403, 400, 400, 400, 400, 201, 403, 400, 401), "POST /api/marketplace-provider-offerings/"),
	row(s(201, 403, 403, 403, 403, 403, 201, 201, 403, 401), "POST /api/marketplace-provider-offerings/{uuid}/add_user/"),
	row(s(200, 403, 403, 403, 403, 403, 200, 200, 403, 401), "POST /api/marketplace-provider-offerings/{uuid}/delete_user/"),
	row(s(200, 200, 403, 403, 403, 403, 200, 200, 403, 401), "GET /api/marketplace-provider-offerings/{uuid}/list_users/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-public-offerings/", Y, Y, Y, Y, Y, Y, Y, Y, Y),
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-public-offerings/{uuid}/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-categories/", Y, Y, Y, Y, Y, Y, Y, Y, Y),
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-categories/{uuid}/"),
	row(s(201, 403, 403, 403, 403, 403, 403, 403, 403, 401), "POST /api/marketplace-categories/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-plans/", Y, Y, Y, Y, Y, Y, Y, Y, Y),
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-plans/{uuid}/"),
	row(s(201, 403, 403, 403, 403, 403, 201, 201, 403, 401), "POST /api/marketplace-plans/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-orders/", Y, Y, Y, Y, Y, Y, Y, Y, N),
	row(s(200, 200, 200, 200, 200, 200, 200, 200, 404, 401), "GET /api/marketplace-orders/{uuid}/"),
	row(s(201, 403, 201, 201, 201, 201, 400, 400, 400, 401), "POST /api/marketplace-orders/"),
	row(s(200, 403, 200, 200, 200, 403, 403, 403, 404, 401), "POST /api/marketplace-orders/{uuid}/approve_by_consumer/"),
	row(s(200, 403, 200, 200, 200, 403, 403, 403, 404, 401), "POST /api/marketplace-orders/{uuid}/reject_by_consumer/"),
	row(s(200, 403, 403, 403, 403, 403, 200, 200, 404, 401), "POST /api/marketplace-orders/{uuid}/approve_by_provider/"),
	row(s(200, 403, 403, 403, 403, 403, 200, 200, 404, 401), "POST /api/marketplace-orders/{uuid}/reject_by_provider/"),
	row(s(202, 403, 202, 202, 202, 202, 403, 403, 404, 401), "POST /api/marketplace-orders/{uuid}/cancel/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-resources/", Y, Y, Y, Y, Y, Y, N, N, N),
	row(s(200, 200, 200, 200, 200, 200, 404, 404, 404, 401), "GET /api/marketplace-resources/{uuid}/"),
	row(s(200, 403, 200, 200, 200, 403, 404, 404, 404, 401), "PATCH /api/marketplace-resources/{uuid}/"),
	row(s(200, 403, 200, 200, 200, 403, 404, 404, 404, 401), "PUT /api/marketplace-resources/{uuid}/"),
	row(s(200, 403, 403, 403, 403, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/set_slug/"),
	row(s(200, 403, 403, 403, 403, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/set_downscaled/"),
	row(s(200, 403, 403, 403, 403, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/set_paused/"),
	row(s(200, 403, 403, 403, 403, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/set_restrict_member_access/"),
	row(s(200, 403, 200, 200, 200, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/terminate/"),
	row(s(200, 403, 200, 200, 200, 403, 404, 404, 404, 401), "POST /api/marketplace-resources/{uuid}/renew/"),

	row(s(200, 200, 200, 200, 200, 200, 200, 200, 200, 401), "GET /api/marketplace-provider-resources/", Y, Y, N, N, N, N, Y, Y, N),
	row(s(200, 200, 404, 404, 404, 404, 200, 200, 404, 401), "GET /api/marketplace-provider-resources/{uuid}/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "PATCH /api/marketplace-provider-resources/{uuid}/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "PUT /api/marketplace-provider-resources/{uuid}/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/set_slug/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/set_downscaled/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/set_paused/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/set_restrict_member_access/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/terminate/"),
	row(s(200, 403, 404, 404, 404, 404, 403, 403, 404, 401), "POST /api/marketplace-provider-resources/{uuid}/renew/"),
}

// call is one cell's request and what to check of a success besides the
// status.
type call struct {
	method, path string
	body         any
	// self is the uuid a successful retrieve returns.
	self string
	// listed is the uuid whose presence in a list the matrix decides.
	listed string
	// badRef is the field a 400 names (a reference the caller cannot see).
	badRef string
	// answer, when set, checks a success's body (Waldur's shape for it).
	answer func(t testing.TB, w *world, r *apptest.Response, tag string)
}

// endpoint says how to call one endpoint of the matrix and how to see, as
// staff, what its writes did.
//
// Cells that should succeed change state, so each acts on a new object from
// fresh; cells that should fail all act on one shared object (shared, or
// the world's resource) and must leave it as it was: snapshot reads it
// before and after every cell ran. Each cell gets a tag unique to it (used
// as a name, slug, description...), and tookEffect says whether a cell's
// write with that tag shows on its object. For creates, which have no
// object, created lists the tags of what exists after the cells ran, and it
// must be exactly the tags of the cells that should succeed.
type endpoint struct {
	call func(w *world, obj, tag string) call
	// answer, when set, checks the body of a success.
	answer func(t testing.TB, w *world, r *apptest.Response, tag string)

	fresh      func(t *testing.T, f *fixtures, n int) []string
	shared     func(t *testing.T, w *world) string
	snapshot   func(t testing.TB, w *world, obj string) string
	tookEffect func(t testing.TB, w *world, obj, tag string) bool

	created func(t testing.TB, w *world, prefix string) []string
}

// fixtures hands out OK resources made in one batch before the cells run.
type fixtures struct {
	w         *world
	mu        sync.Mutex
	resources []string
}

func (f *fixtures) okResources(t *testing.T, n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.resources) < n {
		t.Fatalf("fixtures: %d resources wanted, %d left", n, len(f.resources))
	}
	out := f.resources[:n]
	f.resources = f.resources[n:]
	return out
}

func (w *world) freshUsers(t *testing.T, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = w.createUser(t, w.name("target")).uuid
	}
	return out
}

// holders makes new users holding role on a customer or project.
func (w *world) holders(t *testing.T, collection, obj, role string, n int) []string {
	out := w.freshUsers(t, n)
	for _, u := range out {
		w.grant(t, collection, obj, user{uuid: u}, role)
	}
	return out
}

// holds reports whether user id holds role on a customer or project.
func (w *world) holds(t testing.TB, collection, obj, id, role string) bool {
	for _, a := range w.do(t, http.MethodGet, "/api/"+collection+"/"+obj+"/list_users/?page_size=300", w.staff, nil).
		Want(t, http.StatusOK).List(t) {
		if a["user_uuid"] == id && a["role_name"] == role {
			return true
		}
	}
	return false
}

// namesIn lists the names starting with prefix in a list (as staff).
func (w *world) namesIn(t testing.TB, path, prefix string) []string {
	var out []string
	for _, o := range w.do(t, http.MethodGet, path, w.staff, nil).Want(t, http.StatusOK).List(t) {
		if n, _ := o["name"].(string); strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func read(path func(w *world) string, self func(w *world) string) endpoint {
	return endpoint{call: func(w *world, _, _ string) call {
		c := call{method: http.MethodGet, path: path(w)}
		if self != nil {
			c.self = self(w)
		}
		return c
	}}
}

func list(path func(w *world) string, listed func(w *world) string) endpoint {
	return endpoint{call: func(w *world, _, _ string) call {
		return call{method: http.MethodGet, path: path(w), listed: listed(w)}
	}}
}

// create is a POST that makes an object named by the cell's tag; listPath
// lists (as staff) where such objects show.
func create(path string, body func(w *world, name string) map[string]any, badRef string, listPath func(w *world, prefix string) string) endpoint {
	return endpoint{
		call: func(w *world, _, tag string) call {
			return call{method: http.MethodPost, path: path, body: body(w, tag), badRef: badRef}
		},
		created: func(t testing.TB, w *world, prefix string) []string { return w.namesIn(t, listPath(w, prefix), prefix) },
	}
}

func roleEndpoints(eps map[string]endpoint, collection string, obj func(*world) string, role string) {
	p := "/api/" + collection + "/"
	eps["GET "+p+"{uuid}/list_users/"] = read(func(w *world) string { return p + obj(w) + "/list_users/" }, nil)
	holds := func(t testing.TB, w *world, target string) string {
		return strconv.FormatBool(w.holds(t, collection, obj(w), target, role))
	}
	roleCall := func(action string) func(w *world, target, _ string) call {
		return func(w *world, target, _ string) call {
			return call{method: http.MethodPost, path: p + obj(w) + "/" + action + "/", body: map[string]any{"user": target, "role": role}}
		}
	}
	eps["POST "+p+"{uuid}/add_user/"] = endpoint{
		call:     roleCall("add_user"),
		fresh:    func(t *testing.T, f *fixtures, n int) []string { return f.w.freshUsers(t, n) },
		shared:   func(t *testing.T, w *world) string { return w.freshUsers(t, 1)[0] },
		snapshot: holds,
		tookEffect: func(t testing.TB, w *world, target, _ string) bool {
			return w.holds(t, collection, obj(w), target, role)
		},
	}
	eps["POST "+p+"{uuid}/delete_user/"] = endpoint{
		call: roleCall("delete_user"),
		// Waldur answers 200; its client reads no body: heed's is a
		// {"detail"}.
		answer:   func(t testing.TB, w *world, r *apptest.Response, _ string) { wantDetail(t, r, http.StatusOK) },
		fresh:    func(t *testing.T, f *fixtures, n int) []string { return f.w.holders(t, collection, obj(f.w), role, n) },
		shared:   func(t *testing.T, w *world) string { return w.holders(t, collection, obj(w), role, 1)[0] },
		snapshot: holds,
		tookEffect: func(t testing.TB, w *world, target, _ string) bool {
			return !w.holds(t, collection, obj(w), target, role)
		},
	}
}

func orderAction(action, from string, status int, detail string, order func(t testing.TB, w *world) string) endpoint {
	orders := func(t testing.TB, w *world, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = order(t, w)
		}
		return out
	}
	return endpoint{
		call: func(w *world, id, _ string) call {
			return call{method: http.MethodPost, path: "/api/marketplace-orders/" + id + "/" + action + "/"}
		},
		answer: func(t testing.TB, w *world, r *apptest.Response, _ string) {
			wantAnswer(t, r, status, "detail", detail)
		},
		fresh:  func(t *testing.T, f *fixtures, n int) []string { return orders(t, f.w, n) },
		shared: func(t *testing.T, w *world) string { return orders(t, w, 1)[0] },
		snapshot: func(t testing.TB, w *world, id string) string {
			return w.body(t, "/api/marketplace-orders/"+id+"/")
		},
		tookEffect: func(t testing.TB, w *world, id, _ string) bool {
			return w.get(t, "/api/marketplace-orders/"+id+"/")["state"] != from
		},
	}
}

func resourceEndpoints(eps map[string]endpoint, prefix string) {
	eps["GET "+prefix] = list(func(w *world) string {
		return query(prefix, "name", w.resourceName, "page_size", "300")
	}, func(w *world) string { return w.resource })
	eps["GET "+prefix+"{uuid}/"] = read(func(w *world) string { return prefix + w.resource + "/" }, func(w *world) string { return w.resource })

	// write acts on fresh OK resources; its effect is field == value(tag).
	write := func(method, action string, body func(tag string) map[string]any, field string, value func(tag string) any) endpoint {
		return endpoint{
			call: func(w *world, id, tag string) call {
				c := call{method: method, path: prefix + id + "/" + action}
				if b := body(tag); b != nil {
					c.body = b
				}
				return c
			},
			fresh: func(t *testing.T, f *fixtures, n int) []string { return f.okResources(t, n) },
			snapshot: func(t testing.TB, w *world, id string) string {
				return w.body(t, "/api/marketplace-resources/"+id+"/")
			},
			tookEffect: func(t testing.TB, w *world, id, tag string) bool {
				return w.get(t, "/api/marketplace-resources/"+id+"/")[field] == value(tag)
			},
		}
	}
	tag := func(tag string) any { return tag }
	// PATCH and PUT answer Waldur's ResourceUpdate, whose name is required.
	named := func(t testing.TB, w *world, r *apptest.Response, _ string) {
		if name, _ := r.Object(t)["name"].(string); name == "" {
			t.Fatalf("answer %s has no name", r.Body)
		}
	}
	patch := write(http.MethodPatch, "", func(t string) map[string]any { return map[string]any{"description": t} }, "description", tag)
	patch.answer = named
	eps["PATCH "+prefix+"{uuid}/"] = patch
	put := write(http.MethodPut, "", func(t string) map[string]any { return map[string]any{"name": t} }, "name", tag)
	put.answer = func(t testing.TB, w *world, r *apptest.Response, tag string) { wantField(t, r.Object(t), "name", tag) }
	eps["PUT "+prefix+"{uuid}/"] = put
	// set_* answer Waldur's Status.
	slug := write(http.MethodPost, "set_slug/", func(t string) map[string]any { return map[string]any{"slug": t} }, "slug", tag)
	slug.answer = func(t testing.TB, w *world, r *apptest.Response, _ string) {
		wantAnswer(t, r, http.StatusOK, "status", "Resource slug has been updated.")
	}
	eps["POST "+prefix+"{uuid}/set_slug/"] = slug
	for _, flag := range []string{"downscaled", "paused", "restrict_member_access"} {
		ep := write(http.MethodPost, "set_"+flag+"/",
			func(string) map[string]any { return map[string]any{flag: true} }, flag, func(string) any { return true })
		msg := "Resource " + flag + " flag has been updated."
		ep.answer = func(t testing.TB, w *world, r *apptest.Response, _ string) {
			wantAnswer(t, r, http.StatusOK, "status", msg)
		}
		eps["POST "+prefix+"{uuid}/set_"+flag+"/"] = ep
	}
	// terminate and renew answer Waldur's OrderUUID: the order they placed,
	// for the resource. A refused one places no order.
	orders := func(t testing.TB, w *world, id, typ string) []map[string]any {
		return w.do(t, http.MethodGet, query("/api/marketplace-orders/", "resource_uuid", id, "type", typ), w.staff, nil).
			Want(t, http.StatusOK).List(t)
	}
	placed := func(typ string) func(t testing.TB, w *world, r *apptest.Response, tag string) {
		return func(t testing.TB, w *world, r *apptest.Response, _ string) {
			o := w.get(t, "/api/marketplace-orders/"+orderUUIDOf(t, r)+"/")
			wantField(t, o, "type", typ)
		}
	}
	snapshotWithOrders := func(t testing.TB, w *world, id string) string {
		return w.body(t, "/api/marketplace-resources/"+id+"/") + " " + strconv.Itoa(w.count(t, query("/api/marketplace-orders/", "resource_uuid", id)))
	}
	terminate := write(http.MethodPost, "terminate/", func(string) map[string]any { return nil }, "", nil)
	terminate.answer = placed("Terminate")
	terminate.snapshot = snapshotWithOrders
	terminate.tookEffect = func(t testing.TB, w *world, id, _ string) bool {
		return len(orders(t, w, id, "Terminate")) == 1
	}
	eps["POST "+prefix+"{uuid}/terminate/"] = terminate
	// A renewal moves the end date when its order completes.
	renew := write(http.MethodPost, "renew/", func(string) map[string]any { return map[string]any{"extension_days": 30} }, "", nil)
	renew.answer = placed("Update")
	renew.snapshot = snapshotWithOrders
	renew.tookEffect = func(t testing.TB, w *world, id, _ string) bool {
		updates := orders(t, w, id, "Update")
		if len(updates) != 1 {
			return false
		}
		w.waitOrder(t, updates[0]["uuid"].(string), "done")
		return w.get(t, "/api/marketplace-resources/"+id+"/")["end_date"] != nil
	}
	eps["POST "+prefix+"{uuid}/renew/"] = renew
}

// endpoints says how to call each endpoint of the matrix.
func endpoints() map[string]endpoint {
	customer := func(w *world) string { return w.customer }
	project := func(w *world) string { return w.project }
	offering := func(w *world) string { return w.offering }
	plan := func(w *world) string { return w.plan }
	order := func(w *world) string { return w.pendingOrder }
	named := func(path string, extra ...string) func(w *world, prefix string) string {
		return func(_ *world, prefix string) string {
			return query(path, append(extra, "name", prefix, "page_size", "300")...)
		}
	}
	eps := map[string]endpoint{
		"GET /api/customers/": list(func(*world) string {
			return query("/api/customers/", "name", "Consumer", "page_size", "300")
		}, customer),
		"GET /api/customers/{uuid}/": read(func(w *world) string { return "/api/customers/" + w.customer + "/" }, customer),
		"POST /api/customers/": create("/api/customers/", func(_ *world, name string) map[string]any {
			return map[string]any{"name": name}
		}, "", named("/api/customers/")),

		"GET /api/projects/": list(func(w *world) string {
			return query("/api/projects/", "customer_uuid", w.customer, "name", "Project", "page_size", "300")
		}, project),
		"GET /api/projects/{uuid}/": read(func(w *world) string { return "/api/projects/" + w.project + "/" }, project),
		"POST /api/projects/": create("/api/projects/", func(w *world, name string) map[string]any {
			return map[string]any{"customer": w.customer, "name": name}
		}, "customer", named("/api/projects/")),

		"GET /api/marketplace-provider-offerings/": list(func(*world) string {
			return query("/api/marketplace-provider-offerings/", "name", "Compute", "page_size", "300")
		}, offering),
		"GET /api/marketplace-provider-offerings/{uuid}/": read(func(w *world) string {
			return "/api/marketplace-provider-offerings/" + w.offering + "/"
		}, offering),
		"POST /api/marketplace-provider-offerings/": create("/api/marketplace-provider-offerings/", func(w *world, name string) map[string]any {
			return map[string]any{"customer": w.providerCustomer, "name": name, "type": "basic"}
		}, "customer", named("/api/marketplace-provider-offerings/")),

		"GET /api/marketplace-public-offerings/": list(func(*world) string {
			return query("/api/marketplace-public-offerings/", "name", "Compute", "page_size", "300")
		}, offering),
		"GET /api/marketplace-public-offerings/{uuid}/": read(func(w *world) string {
			return "/api/marketplace-public-offerings/" + w.offering + "/"
		}, offering),
		"GET /api/marketplace-categories/": list(func(*world) string {
			return query("/api/marketplace-categories/", "page_size", "300")
		}, func(w *world) string { return w.category }),
		"GET /api/marketplace-categories/{uuid}/": read(func(w *world) string {
			return "/api/marketplace-categories/" + w.category + "/"
		}, func(w *world) string { return w.category }),
		// Categories have titles, not names.
		"POST /api/marketplace-categories/": {
			call: func(_ *world, _, tag string) call {
				return call{method: http.MethodPost, path: "/api/marketplace-categories/", body: map[string]any{"title": tag}}
			},
			created: func(t testing.TB, w *world, prefix string) []string {
				var out []string
				for _, k := range w.do(t, http.MethodGet, query("/api/marketplace-categories/", "title", prefix, "page_size", "300"), w.staff, nil).
					Want(t, http.StatusOK).List(t) {
					out = append(out, k["title"].(string))
				}
				sort.Strings(out)
				return out
			},
		},

		"GET /api/marketplace-plans/": list(func(w *world) string {
			return query("/api/marketplace-plans/", "offering_uuid", w.offering, "page_size", "300")
		}, plan),
		"GET /api/marketplace-plans/{uuid}/": read(func(w *world) string { return "/api/marketplace-plans/" + w.plan + "/" }, plan),
		"POST /api/marketplace-plans/": create("/api/marketplace-plans/", func(w *world, name string) map[string]any {
			return map[string]any{"offering": w.offering, "name": name, "unit_price": "1.00"}
		}, "", func(w *world, _ string) string {
			return query("/api/marketplace-plans/", "offering_uuid", w.offering, "page_size", "300")
		}),

		"GET /api/marketplace-orders/": list(func(w *world) string {
			return query("/api/marketplace-orders/", "resource_uuid", w.pendingResource, "page_size", "300")
		}, order),
		"GET /api/marketplace-orders/{uuid}/": read(func(w *world) string { return "/api/marketplace-orders/" + w.pendingOrder + "/" }, order),
		// An order's resource takes the name in attributes.
		"POST /api/marketplace-orders/": create("/api/marketplace-orders/", func(w *world, name string) map[string]any {
			return map[string]any{"project": w.project, "offering": w.offering, "plan": w.plan, "attributes": map[string]any{"name": name}}
		}, "project", named("/api/marketplace-resources/")),
	}
	consumerOrder := func(t testing.TB, w *world) string { return w.pendingConsumerOrder(t) }
	providerOrder := func(t testing.TB, w *world) string { return w.pendingProviderOrder(t) }
	eps["POST /api/marketplace-orders/{uuid}/approve_by_consumer/"] = orderAction("approve_by_consumer", "pending-consumer", http.StatusOK, msgApproved, consumerOrder)
	eps["POST /api/marketplace-orders/{uuid}/reject_by_consumer/"] = orderAction("reject_by_consumer", "pending-consumer", http.StatusOK, msgRejected, consumerOrder)
	eps["POST /api/marketplace-orders/{uuid}/cancel/"] = orderAction("cancel", "pending-consumer", http.StatusAccepted, msgCanceled, consumerOrder)
	eps["POST /api/marketplace-orders/{uuid}/approve_by_provider/"] = orderAction("approve_by_provider", "pending-provider", http.StatusOK, msgApproved, providerOrder)
	eps["POST /api/marketplace-orders/{uuid}/reject_by_provider/"] = orderAction("reject_by_provider", "pending-provider", http.StatusOK, msgRejected, providerOrder)
	roleEndpoints(eps, "customers", customer, "CUSTOMER.MANAGER")
	roleEndpoints(eps, "projects", project, "PROJECT.MEMBER")
	roleEndpoints(eps, "marketplace-provider-offerings", offering, "OFFERING.MANAGER")
	resourceEndpoints(eps, "/api/marketplace-resources/")
	resourceEndpoints(eps, "/api/marketplace-provider-resources/")
	return eps
}

func testPermissionMatrix(t *testing.T, w *world) {
	eps := endpoints()
	inMatrix := map[string]bool{}
	for _, row := range permissionMatrix {
		if inMatrix[row.endpoint] {
			t.Fatalf("%s appears twice in the matrix", row.endpoint)
		}
		inMatrix[row.endpoint] = true
		if _, ok := eps[row.endpoint]; !ok {
			t.Fatalf("matrix row %s has no endpoint", row.endpoint)
		}
		isList := strings.HasPrefix(row.endpoint, "GET ") && !strings.Contains(row.endpoint, "{uuid}")
		if isList != (row.listed != nil) {
			t.Fatalf("%s: a collection list, and only one, says who sees the object", row.endpoint)
		}
	}
	if len(eps) != len(inMatrix) {
		t.Fatalf("%d endpoints are defined, %d are in the matrix", len(eps), len(inMatrix))
	}
	// The matrix is every marketplace operation the API declares, so a new
	// endpoint fails here until it has a row.
	if served := marketplaceOperations(t, w); strings.Join(served, "\n") != strings.Join(sortedKeys(inMatrix), "\n") {
		t.Fatalf("the API serves\n  %s\nthe matrix has\n  %s", strings.Join(served, "\n  "), strings.Join(sortedKeys(inMatrix), "\n  "))
	}

	// Every resource cell that should succeed gets its own OK resource;
	// they are made in one batch so that one wait covers them all.
	f := &fixtures{w: w}
	need := 0
	for _, row := range permissionMatrix {
		if strings.Contains(row.endpoint, "-resources/{uuid}/") && eps[row.endpoint].fresh != nil {
			need += row.want.successes()
		}
	}
	f.resources = w.okResources(t, w.staff, need)
	for _, row := range permissionMatrix {
		t.Run(row.endpoint, func(t *testing.T) {
			t.Parallel()
			runRow(t, w, f, eps[row.endpoint], row.want, row.listed)
		})
	}
}

func (st statuses) successes() int {
	n := 0
	for _, code := range st {
		if code < 300 {
			n++
		}
	}
	return n
}

// runRow runs one endpoint's cells, then checks that exactly the cells that
// should succeed changed anything.
func runRow(t *testing.T, w *world, f *fixtures, ep endpoint, want statuses, l []bool) {
	objs := make([]string, nCols)
	shared, before := "", ""
	if ep.fresh != nil {
		fresh := ep.fresh(t, f, want.successes())
		shared = w.resource
		if ep.shared != nil {
			shared = ep.shared(t, w)
		}
		for col, code := range want {
			if code < 300 {
				objs[col], fresh = fresh[0], fresh[1:]
			} else {
				objs[col] = shared
			}
		}
		before = ep.snapshot(t, w, shared)
	}
	prefix := w.name("cell") + "-"
	var tags, succeeded []string
	for col, u := range w.columns() {
		tag := prefix + colNames[col]
		tags = append(tags, tag)
		if want[col] < 300 {
			succeeded = append(succeeded, tag)
		}
		t.Run(colNames[col], func(t *testing.T) {
			c := ep.call(w, objs[col], tag)
			c.answer = ep.answer
			checkCell(t, w, want[col], l, col, u, c, tag)
		})
	}
	if t.Failed() {
		return
	}
	if ep.fresh != nil {
		for col, code := range want {
			if code < 300 && !ep.tookEffect(t, w, objs[col], tags[col]) {
				t.Errorf("%s got %d but the write did not take effect", colNames[col], code)
			}
		}
		if after := ep.snapshot(t, w, shared); after != before {
			t.Errorf("refused writes changed their object:\nbefore %s\nafter  %s", before, after)
		}
	}
	if ep.created != nil {
		sort.Strings(succeeded)
		if got := ep.created(t, w, prefix); strings.Join(got, " ") != strings.Join(succeeded, " ") {
			t.Errorf("created %v, want exactly %v", got, succeeded)
		}
	}
}

func checkCell(t *testing.T, w *world, want int, l []bool, col int, u user, c call, tag string) {
	t.Helper()
	r := w.do(t, c.method, c.path, u, c.body)
	if r.Status != want {
		body := string(r.Body)
		if len(body) > 300 {
			body = body[:300] + "..."
		}
		t.Fatalf("%s %s as %s: status %d, want %d; body %s", c.method, c.path, u.name, r.Status, want, body)
	}
	switch want {
	case http.StatusUnauthorized:
		wantDetail(t, r, want, msgNotProvided)
	case http.StatusForbidden:
		wantDetail(t, r, want, msgForbidden)
	case http.StatusNotFound:
		wantDetail(t, r, want, msgNotFound)
	case http.StatusBadRequest:
		wantFields(t, r, c.badRef)
	}
	if want >= 300 {
		return
	}
	if c.answer != nil {
		c.answer(t, w, r, tag)
	}
	if c.self != "" {
		wantField(t, r.Object(t), "uuid", c.self)
	}
	if l != nil {
		if got := listHas(t, r, c.listed); got != l[col] {
			t.Fatalf("%s lists %s: %t, want %t", u.name, c.listed, got, l[col])
		}
	}
}

// marketplaceOperations lists "METHOD path" for each marketplace operation
// in the OpenAPI document, leaving out HEAD (each list's count-only twin,
// authorised as the list) and resource history (tested with history).
func marketplaceOperations(t testing.TB, w *world) []string {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.do(t, http.MethodGet, "/api/schema/", w.staff, nil).Want(t, http.StatusOK).Body, &doc); err != nil {
		t.Fatalf("decode OpenAPI document: %v", err)
	}
	prefixes := []string{"/api/customers/", "/api/projects/", "/api/marketplace-provider-offerings/", "/api/marketplace-plans/",
		"/api/marketplace-orders/", "/api/marketplace-resources/", "/api/marketplace-provider-resources/",
		"/api/marketplace-categories/", "/api/marketplace-public-offerings/"}
	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true}
	var out []string
	for path, item := range doc.Paths {
		marketplace := false
		for _, p := range prefixes {
			marketplace = marketplace || strings.HasPrefix(path, p)
		}
		if !marketplace || strings.Contains(path, "/history/") {
			continue
		}
		for m := range item {
			if methods[m] {
				out = append(out, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
