package console

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
)

// marketRoutes registers the pages of market.go: the marketplace as the
// signed-in user sees it through the API's rules (customers, projects,
// orders with their approvals, resources with renew and terminate).
func (c *Console) marketRoutes() {
	m := c.mux
	m.Handle("GET "+Prefix+"customers/{$}", c.page(c.customersPage))
	m.Handle("GET "+Prefix+"customers/{uuid}/{$}", c.page(c.customerPage))
	m.Handle("GET "+Prefix+"projects/{$}", c.page(c.projectsPage))
	m.Handle("GET "+Prefix+"projects/{uuid}/{$}", c.page(c.projectPage))
	m.Handle("GET "+Prefix+"orders/{$}", c.page(c.ordersPage))
	m.Handle("GET "+Prefix+"orders/{uuid}/{$}", c.page(c.orderPage))
	m.Handle("POST "+Prefix+"orders/{uuid}/approve", c.page(c.orderAction(true)))
	m.Handle("POST "+Prefix+"orders/{uuid}/reject", c.page(c.orderAction(false)))
	m.Handle("GET "+Prefix+"resources/{$}", c.page(c.resourcesPage))
	m.Handle("GET "+Prefix+"resources/{uuid}/{$}", c.page(c.resourcePage))
	m.Handle("POST "+Prefix+"resources/{uuid}/renew", c.page(c.renewResource))
	m.Handle("POST "+Prefix+"resources/{uuid}/terminate", c.page(c.terminateResource))
}

// firstPage is the short list a detail page shows of related objects.
var firstPage = db.Page{Limit: 10}

// ---- customers and projects ----

type customersData struct {
	Name      string
	Customers []*marketplace.Customer
	Pager     pager
}

func (c *Console) customersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, n := listPage(r)
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	list, total, err := c.Market.ListCustomers(r.Context(), s.User, marketplace.ListFilter{Name: name}, page)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "customers", s, "Customers", customersData{Name: name, Customers: list, Pager: pagerFor(r, n, total)})
	return nil
}

type customerData struct {
	Customer                    *marketplace.Customer
	Projects                    []*marketplace.Project
	ProjectTotal                int
	Resources                   []*marketplace.Resource
	ResourceTotal               int
	ResourcesLink, ProjectsLink string
}

func (c *Console) customerPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, cu, err := loadFromPath(r, s, "uuid", c.Market.GetCustomer)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := customerData{Customer: cu}
	if d.Projects, d.ProjectTotal, err = c.Market.ListProjects(ctx, s.User, marketplace.ListFilter{CustomerUUID: &id}, firstPage); err != nil {
		return err
	}
	if d.Resources, d.ResourceTotal, err = c.Market.ListResources(ctx, s.User, marketplace.ConsumerView,
		marketplace.ResourceFilter{Customer: &id}, firstPage); err != nil {
		return err
	}
	d.ResourcesLink = Prefix + "resources/?customer=" + hexUUID(id)
	d.ProjectsLink = Prefix + "projects/?customer=" + hexUUID(id)
	c.render(w, r, http.StatusOK, "customer", s, cu.Name, d)
	return nil
}

type projectsData struct {
	Name     string
	Customer *marketplace.Customer
	Projects []*marketplace.Project
	Pager    pager
}

func (c *Console) projectsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, n := listPage(r)
	cust, err := queryUUID(r, "customer")
	if err != nil {
		return err
	}
	d := projectsData{Name: strings.TrimSpace(r.URL.Query().Get("name"))}
	if d.Customer, err = lookupIf(r.Context(), s, cust, c.Market.GetCustomer); err != nil {
		return err
	}
	list, total, err := c.Market.ListProjects(r.Context(), s.User, marketplace.ListFilter{Name: d.Name, CustomerUUID: cust}, page)
	if err != nil {
		return err
	}
	d.Projects, d.Pager = list, pagerFor(r, n, total)
	c.render(w, r, http.StatusOK, "projects", s, "Projects", d)
	return nil
}

type projectData struct {
	Project       *marketplace.Project
	Resources     []*marketplace.Resource
	ResourceTotal int
	Orders        []*marketplace.Order
	OrderTotal    int
}

func (c *Console) projectPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, p, err := loadFromPath(r, s, "uuid", c.Market.GetProject)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := projectData{Project: p}
	if d.Resources, d.ResourceTotal, err = c.Market.ListResources(ctx, s.User, marketplace.ConsumerView,
		marketplace.ResourceFilter{Project: &id}, firstPage); err != nil {
		return err
	}
	if d.Orders, d.OrderTotal, err = c.Market.ListOrders(ctx, s.User, marketplace.OrderFilter{Project: &id}, firstPage); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "project", s, p.Name, d)
	return nil
}

// ---- orders ----

// orderStates are the order states, for the filter.
var orderStates = []string{marketplace.OrderPendingConsumer, marketplace.OrderPendingProvider, marketplace.OrderPendingProject,
	marketplace.OrderPendingStartDate, marketplace.OrderExecuting, marketplace.OrderDone, marketplace.OrderErred,
	marketplace.OrderCanceled, marketplace.OrderRejected}

type ordersData struct {
	State    string
	States   []string
	Orders   []*marketplace.Order
	Pager    pager
	Filtered bool
}

func (c *Console) ordersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, n := listPage(r)
	var f marketplace.OrderFilter
	var err error
	for _, ref := range []struct {
		name string
		dst  **uuid.UUID
	}{{"project", &f.Project}, {"customer", &f.Customer}, {"resource", &f.Resource}} {
		if *ref.dst, err = queryUUID(r, ref.name); err != nil {
			return err
		}
	}
	d := ordersData{States: orderStates}
	if d.State, err = queryChoice(r, "state", orderStates); err != nil {
		return err
	}
	if d.State != "" {
		f.States = []string{d.State}
	}
	d.Filtered = d.State != "" || f.Project != nil || f.Customer != nil || f.Resource != nil
	list, total, err := c.Market.ListOrders(r.Context(), s.User, f, page)
	if err != nil {
		return err
	}
	d.Orders, d.Pager = list, pagerFor(r, n, total)
	c.render(w, r, http.StatusOK, "orders", s, "Orders", d)
	return nil
}

type orderData struct {
	Order *marketplace.Order
	// Side is the approval step the order waits for ("consumer",
	// "provider") when the user may take it; empty otherwise.
	Side string
}

// reviewSide names the approval step o waits for and the permission it
// takes; ok is false when o waits for none.
func reviewSide(o *marketplace.Order) (side string, p marketplace.Permission, sc marketplace.Scope, ok bool) {
	switch o.State {
	case marketplace.OrderPendingConsumer:
		return "consumer", marketplace.OrderApprove, marketplace.Scope{CustomerID: o.CustomerID, ProjectID: o.ProjectID}, true
	case marketplace.OrderPendingProvider:
		return "provider", marketplace.ProviderApprove, marketplace.Scope{CustomerID: o.ProviderID, OfferingID: o.OfferingID}, true
	}
	return "", "", marketplace.Scope{}, false
}

func (c *Console) orderPage(w http.ResponseWriter, r *http.Request, s *session) error {
	_, o, err := loadFromPath(r, s, "uuid", c.Market.GetOrder)
	if err != nil {
		return err
	}
	d := orderData{Order: o}
	if side, p, sc, ok := reviewSide(o); ok {
		allowed, err := c.Market.Allowed(r.Context(), s.User, p, sc)
		if err != nil {
			return err
		}
		if allowed {
			d.Side = side
		}
	}
	c.render(w, r, http.StatusOK, "order", s, "Order "+hexUUID(o.UUID)[:8], d)
	return nil
}

// orderAction approves or rejects an order at the step it waits for; the
// service decides whether the user may and whether the state allows it.
func (c *Console) orderAction(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id, o, err := loadFromPath(r, s, "uuid", c.Market.GetOrder)
		if err != nil {
			return err
		}
		action, verb := marketplace.ApproveByConsumer, "approved"
		if !approve {
			action, verb = marketplace.RejectByConsumer, "rejected"
		}
		if o.State == marketplace.OrderPendingProvider {
			action = marketplace.ApproveByProvider
			if !approve {
				action = marketplace.RejectByProvider
			}
		}
		o, err = c.Market.Transition(r.Context(), s.User, id, action)
		if err != nil {
			return err
		}
		return c.redirectWith(w, r, Prefix+"orders/"+hexUUID(id)+"/", fmt.Sprintf("Order %s. It is now %s.", verb, o.State))
	}
}

// ---- resources ----

var resourceStates = []string{marketplace.ResourceCreating, marketplace.ResourceOK, marketplace.ResourceErred,
	marketplace.ResourceUpdating, marketplace.ResourceTerminating, marketplace.ResourceTerminated}

type resourcesData struct {
	Name, State, Side string
	States            []string
	Customer          *marketplace.Customer
	Project           *marketplace.Project
	Resources         []*marketplace.Resource
	Pager             pager
	Filtered          bool
}

func (c *Console) resourcesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, n := listPage(r)
	q := r.URL.Query()
	ctx := r.Context()
	d := resourcesData{Name: strings.TrimSpace(q.Get("name")), Side: q.Get("side"), States: resourceStates}
	f := marketplace.ResourceFilter{Name: d.Name}
	view := marketplace.ConsumerView
	switch d.Side {
	case "", "consumer":
		d.Side = "consumer"
	case "provider":
		view = marketplace.ProviderView
	default:
		return errs.Field("side", "Choose consumer or provider.")
	}
	var err error
	if d.State, err = queryChoice(r, "state", resourceStates); err != nil {
		return err
	}
	if d.State != "" {
		f.States = []string{d.State}
	}
	if f.Customer, err = queryUUID(r, "customer"); err != nil {
		return err
	}
	if f.Project, err = queryUUID(r, "project"); err != nil {
		return err
	}
	if d.Customer, err = lookupIf(ctx, s, f.Customer, c.Market.GetCustomer); err != nil {
		return err
	}
	if d.Project, err = lookupIf(ctx, s, f.Project, c.Market.GetProject); err != nil {
		return err
	}
	d.Filtered = d.Name != "" || d.State != "" || f.Customer != nil || f.Project != nil
	list, total, err := c.Market.ListResources(ctx, s.User, view, f, page)
	if err != nil {
		return err
	}
	d.Resources, d.Pager = list, pagerFor(r, n, total)
	c.render(w, r, http.StatusOK, "resources", s, "Resources", d)
	return nil
}

// resourceInPath returns the resource in the path as the user sees it
// from the consumer side or, failing that, from the provider side, and the
// side it was found on.
func (c *Console) resourceInPath(r *http.Request, s *session) (uuid.UUID, *marketplace.Resource, marketplace.View, error) {
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return id, nil, marketplace.ConsumerView, err
	}
	res, err := c.Market.GetResource(r.Context(), s.User, marketplace.ConsumerView, id)
	if errs.KindOf(err) == errs.NotFound {
		res, err = c.Market.GetResource(r.Context(), s.User, marketplace.ProviderView, id)
		return id, res, marketplace.ProviderView, err
	}
	return id, res, marketplace.ConsumerView, err
}

// resourceTabs are the tabs of Waldur's resource page that user actions
// link to (route marketplace-resource-details); heed has one page.
var resourceTabs = map[string]string{
	"backups": "heed does not manage backups: make one with the provider's own tools, then come back here.",
	"migrate": "heed does not migrate resources: order a new resource and terminate this one when it is no longer needed.",
}

type resourceData struct {
	Resource   *marketplace.Resource
	Hex        string
	Limits     []kv
	Options    []kv
	Attributes []kv
	Orders     []*marketplace.Order
	OrderTotal int
	CanRenew   bool
	CanEnd     bool
	History    bool
	Ended      bool
	TabNote    string
	Tab        string
}

// kv is one entry of a nested map, shown as text.
type kv struct{ Key, Value string }

func (c *Console) resourcePage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, res, _, err := c.resourceInPath(r, s)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := resourceData{Resource: res, Hex: hexUUID(res.UUID), History: s.User.SeesEverything() && c.History != nil,
		Options: entries(res.Options), Attributes: entries(res.Attributes)}
	for k, v := range res.Limits {
		d.Limits = append(d.Limits, kv{k, strconv.FormatInt(v, 10)})
	}
	slices.SortFunc(d.Limits, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	if tab := r.URL.Query().Get("tab"); tab != "" {
		d.Tab = tab
		d.TabNote = resourceTabs[tab]
	}
	d.Ended = res.State == marketplace.ResourceTerminated || res.State == marketplace.ResourceTerminating
	if !d.Ended {
		consumer := marketplace.Scope{CustomerID: res.CustomerID, ProjectID: res.ProjectID}
		if d.CanRenew, err = c.Market.Allowed(ctx, s.User, marketplace.OrderApprove, consumer); err != nil {
			return err
		}
		if d.CanEnd, err = c.Market.Allowed(ctx, s.User, marketplace.ResourceTerminate, consumer); err != nil {
			return err
		}
	}
	if d.Orders, d.OrderTotal, err = c.Market.ListOrders(ctx, s.User, marketplace.OrderFilter{Resource: &id}, firstPage); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "resource", s, res.Name, d)
	return nil
}

// entries lists a map's entries by key, values as compact JSON.
func entries(m map[string]any) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, showValue(v)})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (c *Console) renewResource(w http.ResponseWriter, r *http.Request, s *session) error {
	id, _, view, err := c.resourceInPath(r, s)
	if err != nil {
		return err
	}
	in := marketplace.RenewInput{RequestComment: strings.TrimSpace(r.PostFormValue("request_comment"))}
	if v := strings.TrimSpace(r.PostFormValue("extension_months")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errs.Field("extension_months", "Enter a whole number of months.")
		}
		in.ExtensionMonths = &n
	}
	o, err := c.Market.Renew(r.Context(), s.User, view, id, in)
	if err != nil {
		return err
	}
	return c.redirectWith(w, r, Prefix+"resources/"+hexUUID(id)+"/",
		fmt.Sprintf("Renewal ordered (order %s, now %s). The end date moves when the order is done.", hexUUID(o.UUID)[:8], o.State))
}

func (c *Console) terminateResource(w http.ResponseWriter, r *http.Request, s *session) error {
	id, _, view, err := c.resourceInPath(r, s)
	if err != nil {
		return err
	}
	o, err := c.Market.Terminate(r.Context(), s.User, view, id, strings.TrimSpace(r.PostFormValue("request_comment")))
	if err != nil {
		return err
	}
	return c.redirectWith(w, r, Prefix+"resources/"+hexUUID(id)+"/",
		fmt.Sprintf("Termination ordered (order %s, now %s).", hexUUID(o.UUID)[:8], o.State))
}
