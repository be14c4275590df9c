package waldurcontract

// How to build the requests of each client operation, and in which phase
// of the run to make them. Expectations (method, path, statuses, models)
// are not here: they come from the parsed contract.

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Phases order the operations so that each finds what it needs; within a
// phase, operations run in the document's order. User actions (§5) come
// first, on the demo as it was loaded: alice's and bob's actions, before §4
// approves, rejects, renews and terminates what they are about. The one
// order §5 approves (rna-seq) is one no §4 driver touches.
const (
	phaseActions   = iota // every §5 operation
	phaseCreate           // users, customers, projects, offerings, plans
	phaseUpdate           // users_partial_update
	phaseGrant            // add_user
	phaseRoles            // list_users and their counts, while the grant exists
	phaseRevoke           // delete_user
	phaseOrders           // create, approve, reject, cancel
	phaseResources        // PATCH, PUT, set_*, terminate, renew
	phaseRead             // every other list, count and retrieve
	numPhases
)

type driver struct {
	phase int
	run   func(r *run, op *Operation)
}

type objFunc func(r *run) (*object, error)

func demoUser(name string) objFunc { return func(r *run) (*object, error) { return r.user(name) } }
func demoCustomer(name string) objFunc {
	return func(r *run) (*object, error) { return r.customer(name) }
}
func demoProject(name string) objFunc {
	return func(r *run) (*object, error) { return r.project(name) }
}
func demoOffering(name string) objFunc {
	return func(r *run) (*object, error) { return r.offering(name) }
}
func demoPlan(offering string) objFunc {
	return func(r *run) (*object, error) { return r.planOf(offering) }
}
func demoResource(name string) objFunc {
	return func(r *run) (*object, error) { return r.resource(name) }
}

// created is the object a create operation made, or the fallback when it
// made none.
func created(key string, fallback objFunc) objFunc {
	return func(r *run) (*object, error) {
		if c, ok := r.cache[key]; ok && c.obj != nil {
			return c.obj, nil
		}
		return fallback(r)
	}
}

const (
	hpc      = "Prepaid HPC allocation"
	research = "Alice Research"
	provider = "Cloud Provider"
	genomics = "Genomics"
)

// listSpec says how to call a list operation (and its count twin).
type listSpec struct {
	as     string
	on     objFunc // the {uuid} of nested lists
	filter func(r *run) (url.Values, error)
}

func (s listSpec) args(r *run) ([]string, error) {
	if s.on == nil {
		return nil, nil
	}
	o, err := s.on(r)
	if err != nil {
		return nil, err
	}
	return []string{o.UUID}, nil
}

func filterOf(key string, f objFunc) func(r *run) (url.Values, error) {
	return func(r *run) (url.Values, error) {
		o, err := f(r)
		if err != nil {
			return nil, err
		}
		return url.Values{key: {o.UUID}}, nil
	}
}

func fixedFilter(v url.Values) func(r *run) (url.Values, error) {
	return func(*run) (url.Values, error) { return cloneValues(v), nil }
}

var lists = map[string]listSpec{
	"users_list":     {as: "admin", filter: fixedFilter(url.Values{"username": {"alice"}})},
	"customers_list": {as: "admin", filter: fixedFilter(url.Values{"name": {"Alice"}})},
	"customers_list_users_list": {as: "admin", on: created("new customer", demoCustomer(research)),
		filter: fixedFilter(url.Values{"role": {"CUSTOMER.OWNER"}})},
	"projects_list": {as: "admin", filter: filterOf("customer_uuid", demoCustomer(research))},
	"projects_list_users_list": {as: "alice", on: created("new project", demoProject(genomics)),
		filter: fixedFilter(url.Values{"role": {"PROJECT.MEMBER"}})},
	"marketplace_provider_offerings_list": {as: "admin", filter: filterOf("customer_uuid", demoCustomer(provider))},
	"marketplace_provider_offerings_list_users_list": {as: "admin", on: func(r *run) (*object, error) { return r.manualOffering() },
		filter: fixedFilter(url.Values{"role": {"OFFERING.MANAGER"}})},
	"marketplace_public_offerings_list":   {as: "carol", filter: fixedFilter(url.Values{"state": {"Active"}})},
	"marketplace_plans_list":              {as: "admin", filter: filterOf("offering_uuid", demoOffering(hpc))},
	"marketplace_orders_list":             {as: "admin", filter: fixedFilter(url.Values{"state": {"done", "rejected"}})},
	"marketplace_resources_list":          {as: "alice", filter: filterOf("project_uuid", demoProject(genomics))},
	"marketplace_provider_resources_list": {as: "admin", filter: fixedFilter(url.Values{"state": {"OK", "Terminated"}})},
	"marketplace_resources_history_list": {as: "admin", on: demoResource("hpc-assembly"),
		filter: fixedFilter(url.Values{"created_after": {"2000-01-01T00:00:00+00:00"}})},
	"marketplace_provider_resources_history_list": {as: "support", on: demoResource("hpc-assembly"),
		filter: fixedFilter(url.Values{"created_before": {"2100-01-01T00:00:00+00:00"}})},
}

// listDriver calls a list as sync_all does (page_size=100), walks it again
// at a small page size, and calls it with a filter.
func listDriver(phase int) driver {
	return driver{phase: phase, run: func(r *run, op *Operation) {
		spec, ok := lists[op.Name]
		if !ok {
			r.block(op.Name, "test bug: no list spec")
			return
		}
		args, err := spec.args(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		items, ok := r.syncAll(op, request{as: spec.as, args: args}, 100)
		if !ok {
			return
		}
		// A second walk where every page but the last has a rel="next".
		size := 1
		if len(items) > 40 {
			size = len(items)/20 + 1
		}
		r.syncAll(op, request{as: spec.as, args: args}, size)
		f, err := spec.filter(r)
		if err != nil {
			r.block(op.Name, "filtered call: %v", err)
			return
		}
		f.Set("page_size", "100")
		r.exec(op, request{as: spec.as, args: args, query: f, why: "filtered"})
	}}
}

// countDriver checks a HEAD count with the filters of its list twin, as
// the client sends them (page and page_size included), against the list's
// own X-Result-Count.
func countDriver(phase int) driver {
	return driver{phase: phase, run: func(r *run, op *Operation) {
		list := r.c.listFor(op)
		if list == nil {
			r.block(op.Name, "test bug: no list operation on %s", op.Path)
			return
		}
		spec := lists[list.Name]
		args, err := spec.args(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		f, err := spec.filter(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		for _, q := range []url.Values{{}, f} {
			q = cloneValues(q)
			q.Set("page", "1")
			q.Set("page_size", "1")
			head := r.exec(op, request{as: spec.as, args: args, query: q})
			get := r.exec(list, request{as: spec.as, args: args, query: q, why: "to compare with " + op.Name})
			if head == nil || get == nil || head.status != http.StatusOK || get.status != http.StatusOK {
				continue
			}
			hn, err1 := resultCount(head.header)
			gn, err2 := resultCount(get.header)
			if err1 == nil && err2 == nil && hn != gn {
				r.violate(op.Name, Violation{Sev: Strict, Rule: fmt.Sprintf("HEAD counts %d, the GET list with the same query says %d", hn, gn)})
			}
		}
	}}
}

// retrieveDriver GETs each target as the given user.
func retrieveDriver(as string, targets ...objFunc) driver {
	return driver{phase: phaseRead, run: func(r *run, op *Operation) {
		for _, target := range targets {
			o, err := target(r)
			if err != nil {
				r.block(op.Name, "setup: %v", err)
				continue
			}
			r.exec(op, request{as: as, args: []string{o.UUID}})
		}
	}}
}

// createDriver POSTs a minimal body and remembers the created object.
func createDriver(as, key, collection string, body func(r *run) (map[string]any, error)) driver {
	return driver{phase: phaseCreate, run: func(r *run, op *Operation) {
		b, err := body(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			r.cache[key] = cached{err: err}
			return
		}
		resp := r.exec(op, request{as: as, body: r.minimal(op.Body, b)})
		if resp == nil || resp.status != http.StatusCreated || resp.object() == nil {
			r.cache[key] = cached{err: fmt.Errorf("%s failed", op.Name)}
			return
		}
		o, err := r.objectFrom(resp.object(), collection)
		r.cache[key] = cached{o, err}
	}}
}

// Role grants: support gets a role on a new customer, project and offering.
func addUserDriver(role string, scope objFunc) driver {
	return driver{phase: phaseGrant, run: func(r *run, op *Operation) {
		s, u, err := scopeAndUser(r, scope)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		body := r.minimal(op.Body, map[string]any{"role": role, "user": u.UUID})
		r.exec(op, request{as: "admin", args: []string{s.UUID}, body: body})
		// Granting it again: 201 or the accepted 400, both fine.
		r.exec(op, request{as: "admin", args: []string{s.UUID}, body: body, want: anyAccepted, why: "the same grant again"})
	}}
}

func deleteUserDriver(role string, scope objFunc) driver {
	return driver{phase: phaseRevoke, run: func(r *run, op *Operation) {
		s, u, err := scopeAndUser(r, scope)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		r.exec(op, request{as: "admin", args: []string{s.UUID}, body: r.minimal(op.Body, map[string]any{"role": role, "user": u.UUID})})
	}}
}

func scopeAndUser(r *run, scope objFunc) (*object, *object, error) {
	s, err := scope(r)
	if err != nil {
		return nil, nil, err
	}
	u, err := r.user("support")
	return s, u, err
}

// manualOffering is an offering whose orders wait for the provider: the
// one marketplace_provider_offerings_create made, or, when that failed,
// one made with heed's own minimal body.
func (r *run) manualOffering() (*object, error) {
	if c, ok := r.cache["new offering"]; ok && c.obj != nil {
		return c.obj, nil
	}
	return r.memo("fallback offering", func() (*object, error) {
		prov, err := r.customer(provider)
		if err != nil {
			return nil, err
		}
		resp, err := r.send(http.MethodPost, "/api/marketplace-provider-offerings/", nil, "admin", map[string]any{
			"name": "Contract test offering (fallback)", "customer": prov.URL,
			"plugin_options": map[string]any{"manual_provider_approval": true},
		})
		if err != nil {
			return nil, err
		}
		if resp.status != http.StatusCreated || resp.object() == nil {
			return nil, fmt.Errorf("no offering to work with: marketplace_provider_offerings_create failed, and so did "+
				"POST /api/marketplace-provider-offerings/ with heed's own body: %d %s", resp.status, excerpt(resp.raw))
		}
		return r.objectFrom(resp.object(), "marketplace-provider-offerings")
	})
}

// newOrder places an order through marketplace_orders_create (so it is
// checked too) and returns it once it is in one of states.
func (r *run) newOrder(forOp, as string, offering objFunc, states ...string) (*object, error) {
	off, err := offering(r)
	if err != nil {
		return nil, err
	}
	proj, err := r.project(genomics)
	if err != nil {
		return nil, err
	}
	create := r.c.Op("marketplace_orders_create")
	r.seq++
	resp := r.exec(create, request{as: as, why: "for " + forOp, body: r.minimal(create.Body, map[string]any{
		"offering": off.URL, "project": proj.URL, "attributes": map[string]any{"name": fmt.Sprintf("wc-order-%d", r.seq)},
	})})
	if resp == nil || resp.status != http.StatusCreated || resp.object() == nil {
		return nil, fmt.Errorf("marketplace_orders_create failed")
	}
	o, err := r.objectFrom(resp.object(), "marketplace-orders")
	if err != nil {
		return nil, err
	}
	state, _ := resp.object()["state"].(string)
	for _, s := range states {
		if s == state {
			return o, nil
		}
	}
	return nil, fmt.Errorf("the new order is %q, not %v", state, states)
}

func orderAction(phase int, as string, target func(r *run, op *Operation) (*object, error), after func(r *run, op *Operation, o *object)) driver {
	return driver{phase: phase, run: func(r *run, op *Operation) {
		o, err := target(r, op)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		var body any
		if op.Body != "" {
			body = r.minimal(op.Body, nil)
		}
		resp := r.exec(op, request{as: as, args: []string{o.UUID}, body: body})
		if after != nil && resp != nil && resp.status < 300 {
			after(r, op, o)
		}
	}}
}

func pendingConsumer(name string) func(r *run, op *Operation) (*object, error) {
	return func(r *run, _ *Operation) (*object, error) { return r.demoOrder(name) }
}

func pendingProvider(r *run, op *Operation) (*object, error) {
	return r.newOrder(op.Name, "alice", func(r *run) (*object, error) { return r.manualOffering() }, "pending-provider")
}

func waitDone(r *run, op *Operation, o *object) { r.waitOrder(op.Name, o, "done") }

// resourceAction calls a resource operation with a body built from given.
func resourceAction(as string, target objFunc, given map[string]any, after func(r *run, resp *response)) driver {
	return driver{phase: phaseResources, run: func(r *run, op *Operation) {
		o, err := target(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		resp := r.exec(op, request{as: as, args: []string{o.UUID}, body: r.minimal(op.Body, given)})
		if after != nil && resp != nil && resp.status == http.StatusOK && resp.object() != nil {
			after(r, resp)
		}
	}}
}

// rememberOrder keeps the order a terminate or renew made, for retrieve.
func rememberOrder(key string) func(r *run, resp *response) {
	return func(r *run, resp *response) {
		s, _ := resp.object()["order_uuid"].(string)
		o, err := r.objectFrom(map[string]any{"uuid": s}, "marketplace-orders")
		if err == nil {
			r.cache[key] = cached{obj: o}
		}
	}
}

func orderMade(key string) objFunc {
	return func(r *run) (*object, error) {
		if c, ok := r.cache[key]; ok && c.obj != nil {
			return c.obj, nil
		}
		return nil, fmt.Errorf("no %s order (its operation failed)", key)
	}
}

var drivers = map[string]driver{
	// §2 Users and authentication.
	"users_list":     listDriver(phaseRead),
	"users_count":    countDriver(phaseRead),
	"users_retrieve": retrieveDriver("admin", demoUser("alice"), created("new user", demoUser("carol"))),
	"users_create": createDriver("admin", "new user", "users", func(r *run) (map[string]any, error) {
		name := fmt.Sprintf("wc-user-%d", time.Now().UnixNano()%1e9)
		return map[string]any{"username": name, "email": name + "@example.com"}, nil
	}),
	"users_partial_update": {phase: phaseUpdate, run: func(r *run, op *Operation) {
		u, err := created("new user", demoUser("carol"))(r)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		r.exec(op, request{as: "admin", args: []string{u.UUID}, body: r.minimal(op.Body, map[string]any{
			"first_name": "Wanda", "last_name": "Contract", "job_title": "Tester", "preferred_language": "en",
		})})
	}},
	"users_me_retrieve": {phase: phaseRead, run: func(r *run, op *Operation) {
		r.exec(op, request{as: "alice"})
		r.exec(op, request{as: "admin"})
	}},
	"users_me_count": {phase: phaseRead, run: func(r *run, op *Operation) {
		r.exec(op, request{as: "alice"})
	}},
	"api_auth_password": {phase: phaseRead, run: func(r *run, op *Operation) {
		// Typed for an AuthenticatedClient, so a token header comes along.
		r.exec(op, request{as: "carol", body: r.minimal(op.Body, map[string]any{"username": "alice", "password": password("alice")}),
			why: "right password"})
		r.exec(op, request{as: "carol", body: r.minimal(op.Body, map[string]any{"username": "bob", "password": "not-bob's-password"}),
			want: http.StatusUnauthorized, why: "wrong password"})
	}},

	// §3 Customers and projects.
	"customers_list":     listDriver(phaseRead),
	"customers_count":    countDriver(phaseRead),
	"customers_retrieve": retrieveDriver("alice", demoCustomer(research)),
	"customers_create": createDriver("admin", "new customer", "customers", func(*run) (map[string]any, error) {
		return nil, nil
	}),
	"customers_add_user":         addUserDriver("CUSTOMER.OWNER", created("new customer", demoCustomer(research))),
	"customers_delete_user":      deleteUserDriver("CUSTOMER.OWNER", created("new customer", demoCustomer(research))),
	"customers_list_users_list":  listDriver(phaseRoles),
	"customers_list_users_count": countDriver(phaseRoles),
	"projects_list":              listDriver(phaseRead),
	"projects_count":             countDriver(phaseRead),
	"projects_retrieve":          retrieveDriver("bob", demoProject(genomics)),
	"projects_create": createDriver("alice", "new project", "projects", func(r *run) (map[string]any, error) {
		c, err := r.customer(research)
		if err != nil {
			return nil, err
		}
		return map[string]any{"customer": c.URL}, nil
	}),
	"projects_add_user":         addUserDriver("PROJECT.MEMBER", created("new project", demoProject(genomics))),
	"projects_delete_user":      deleteUserDriver("PROJECT.MEMBER", created("new project", demoProject(genomics))),
	"projects_list_users_list":  listDriver(phaseRoles),
	"projects_list_users_count": countDriver(phaseRoles),

	// §4.1 Offerings.
	"marketplace_provider_offerings_list":     listDriver(phaseRead),
	"marketplace_provider_offerings_count":    countDriver(phaseRead),
	"marketplace_provider_offerings_retrieve": retrieveDriver("admin", demoOffering(hpc), created("new offering", demoOffering(hpc))),
	"marketplace_provider_offerings_create": createDriver("admin", "new offering", "marketplace-provider-offerings",
		func(r *run) (map[string]any, error) {
			prov, err := r.customer(provider)
			if err != nil {
				return nil, err
			}
			body := map[string]any{"type": "basic", "customer": prov.URL,
				"plugin_options": map[string]any{"manual_provider_approval": true}}
			cat, err := r.category()
			if err != nil {
				// Still send the call: the category is a prerequisite the
				// prerequisites subtest reports.
				cat = &object{URL: r.h.URL + "/api/marketplace-categories/00000000000000000000000000000000/"}
			}
			body["category"] = cat.URL
			return body, nil
		}),
	"marketplace_provider_offerings_add_user": addUserDriver("OFFERING.MANAGER", func(r *run) (*object, error) {
		return r.manualOffering()
	}),
	"marketplace_provider_offerings_delete_user": deleteUserDriver("OFFERING.MANAGER", func(r *run) (*object, error) {
		return r.manualOffering()
	}),
	"marketplace_provider_offerings_list_users_list":  listDriver(phaseRoles),
	"marketplace_provider_offerings_list_users_count": countDriver(phaseRoles),
	"marketplace_public_offerings_list":               listDriver(phaseRead),
	"marketplace_public_offerings_count":              countDriver(phaseRead),
	"marketplace_public_offerings_retrieve":           retrieveDriver("carol", demoOffering(hpc)),

	// §4.2 Plans.
	"marketplace_plans_list":     listDriver(phaseRead),
	"marketplace_plans_count":    countDriver(phaseRead),
	"marketplace_plans_retrieve": retrieveDriver("admin", demoPlan(hpc), created("new plan", demoPlan(hpc))),
	"marketplace_plans_create": createDriver("admin", "new plan", "marketplace-plans", func(r *run) (map[string]any, error) {
		off, err := r.manualOffering()
		if err != nil {
			return nil, err
		}
		return map[string]any{"offering": off.URL}, nil
	}),

	// §4.3 Orders.
	"marketplace_orders_list":     listDriver(phaseRead),
	"marketplace_orders_count":    countDriver(phaseRead),
	"marketplace_orders_retrieve": retrieveDriver("alice", orderMade("terminate"), orderMade("renew"), orderMade("approved")),
	"marketplace_orders_create": {phase: phaseOrders, run: func(r *run, op *Operation) {
		// carol may order but not approve: her order waits for bob.
		off, err1 := r.offering(hpc)
		plan, err2 := r.planOf(hpc)
		proj, err3 := r.project(genomics)
		for _, err := range []error{err1, err2, err3} {
			if err != nil {
				r.block(op.Name, "setup: %v", err)
				return
			}
		}
		resp := r.exec(op, request{as: "carol", body: r.minimal(op.Body, map[string]any{
			"offering": off.URL, "project": proj.URL, "plan": plan.URL,
			"attributes": map[string]any{"name": "wc-carol-order"}, "limits": map[string]any{"cpu_hours": 10},
		})})
		if resp != nil && resp.status == http.StatusCreated && resp.object() != nil {
			o, err := r.objectFrom(resp.object(), "marketplace-orders")
			r.cache["carol's order"] = cached{o, err}
		}
	}},
	"marketplace_orders_approve_by_consumer": orderAction(phaseOrders, "bob", func(r *run, op *Operation) (*object, error) {
		o, err := r.demoOrder("gpu-training")
		if err == nil {
			r.cache["approved"] = cached{obj: o}
		}
		return o, err
	}, waitDone),
	"marketplace_orders_approve_by_provider": orderAction(phaseOrders, "admin", pendingProvider, waitDone),
	"marketplace_orders_reject_by_consumer":  orderAction(phaseOrders, "bob", pendingConsumer("variant-calling"), nil),
	"marketplace_orders_reject_by_provider":  orderAction(phaseOrders, "admin", pendingProvider, nil),
	"marketplace_orders_cancel": orderAction(phaseOrders, "carol", func(r *run, op *Operation) (*object, error) {
		if c, ok := r.cache["carol's order"]; ok && c.obj != nil {
			return c.obj, nil
		}
		return r.newOrder(op.Name, "carol", demoOffering(hpc), "pending-consumer")
	}, nil),

	// §4.4 Resources. hpc-annotation is edited, archive-bucket gets the
	// staff flags and the provider's termination, hpc-assembly the
	// consumer's, hpc-sequencing is renewed.
	"marketplace_resources_list":              listDriver(phaseRead),
	"marketplace_provider_resources_list":     listDriver(phaseRead),
	"marketplace_resources_count":             countDriver(phaseRead),
	"marketplace_provider_resources_count":    countDriver(phaseRead),
	"marketplace_resources_retrieve":          retrieveDriver("alice", demoResource("hpc-sequencing"), demoResource("hpc-annotation")),
	"marketplace_provider_resources_retrieve": retrieveDriver("admin", demoResource("hpc-sequencing"), demoResource("archive-bucket")),
	"marketplace_resources_partial_update": resourceAction("alice", demoResource("hpc-annotation"),
		map[string]any{"description": "Patched by the consumer"}, nil),
	"marketplace_provider_resources_partial_update": resourceAction("admin", demoResource("hpc-annotation"),
		map[string]any{"description": "Patched by the provider"}, nil),
	"marketplace_resources_update": resourceAction("alice", demoResource("hpc-annotation"),
		map[string]any{"name": "hpc-annotation", "description": "Put by the consumer"}, nil),
	"marketplace_provider_resources_update": resourceAction("admin", demoResource("hpc-annotation"),
		map[string]any{"name": "hpc-annotation", "description": "Put by the provider"}, nil),
	// The flag is optional: the consumer path gets the minimal {}.
	"marketplace_resources_set_paused":          resourceAction("admin", demoResource("archive-bucket"), nil, nil),
	"marketplace_provider_resources_set_paused": resourceAction("admin", demoResource("archive-bucket"), map[string]any{"paused": true}, nil),
	"marketplace_resources_set_slug":            resourceAction("admin", demoResource("archive-bucket"), map[string]any{"slug": "wc-bucket"}, nil),
	"marketplace_provider_resources_set_slug":   resourceAction("admin", demoResource("archive-bucket"), map[string]any{"slug": "wc-bucket-2"}, nil),
	"marketplace_resources_set_downscaled":      resourceAction("admin", demoResource("archive-bucket"), nil, nil),
	"marketplace_provider_resources_set_downscaled": resourceAction("admin", demoResource("archive-bucket"),
		map[string]any{"downscaled": true}, nil),
	"marketplace_resources_set_restrict_member_access": resourceAction("admin", demoResource("archive-bucket"), nil, nil),
	"marketplace_provider_resources_set_restrict_member_access": resourceAction("admin", demoResource("archive-bucket"),
		map[string]any{"restrict_member_access": true}, nil),
	"marketplace_resources_terminate":          resourceAction("alice", demoResource("hpc-assembly"), nil, rememberOrder("terminate")),
	"marketplace_provider_resources_terminate": resourceAction("admin", demoResource("archive-bucket"), nil, nil),
	"marketplace_resources_renew": resourceAction("alice", demoResource("hpc-sequencing"),
		map[string]any{"extension_months": 1}, rememberOrder("renew")),

	// §4.5 History (staff and support).
	"marketplace_resources_history_list":                 listDriver(phaseRead),
	"marketplace_provider_resources_history_list":        listDriver(phaseRead),
	"marketplace_resources_history_at_retrieve":          historyAt("admin"),
	"marketplace_provider_resources_history_at_retrieve": historyAt("support"),
}

// historyAt asks for the state now, as Python's isoformat() writes it, and
// for an unreadable timestamp (the accepted 400, a JSON object).
func historyAt(as string) driver {
	return driver{phase: phaseRead, run: func(r *run, op *Operation) {
		res, err := r.resource("hpc-assembly")
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
		r.exec(op, request{as: as, args: []string{res.UUID}, query: url.Values{"timestamp": {now}}})
		r.exec(op, request{as: as, args: []string{res.UUID}, query: url.Values{"timestamp": {"yesterday"}},
			want: http.StatusBadRequest, why: "unreadable timestamp"})
	}}
}
