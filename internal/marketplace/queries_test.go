package marketplace_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// TestListQueriesConstant proves the lists have no N+1: a page of 50 costs
// the same number of statements as a page of 1. Job workers are off, so
// nothing but the request itself touches the database while it is counted;
// the caches keep the caller's token and roles for an hour, so a slow run
// (the race detector on a busy machine) cannot see one expire between the
// two pages and count its reload against one of them.
func TestListQueriesConstant(t *testing.T) {
	t.Parallel()
	opts := apptest.Options{NoDemo: true, NoWork: true, Configure: func(c *app.Config) { c.CacheTTL = time.Hour }}
	apptest.Each(t, opts, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		w := &world{h: h}
		w.staff = bootstrapStaff(t, h)
		w.owner = w.createUser(t, "owner")
		w.provider = w.createUser(t, "provider")
		w.customer = w.createCustomer(t, "Consumer")
		w.providerCustomer = w.createCustomer(t, "Provider")
		w.project = w.createProject(t, w.customer, "Project")
		w.grant(t, "customers", w.customer, w.owner, "CUSTOMER.OWNER")
		w.grant(t, "customers", w.providerCustomer, w.provider, "CUSTOMER.OWNER")
		w.offering = w.createOffering(t, "Compute", marketplace.OfferingTypeBasic, nil)
		w.plan = w.createPlan(t, w.offering, "Small", "10.00")

		// Thirty of each, quickly through the service layer: orders (each
		// with its resource), projects, and customers the owner owns.
		staff, err := h.App.Users.UserByUsername(ctx, "staff")
		if err != nil {
			t.Fatal(err)
		}
		owner, err := h.App.Users.UserByUsername(ctx, "owner")
		if err != nil {
			t.Fatal(err)
		}
		mustUUID := func(s string) uuid.UUID { return uuid.MustParse(s) }
		plan := mustUUID(w.plan)
		const n = 30
		for i := range n {
			if _, err := h.App.Market.CreateOrder(ctx, staff, marketplace.OrderInput{
				Project: mustUUID(w.project), Offering: mustUUID(w.offering), Plan: &plan,
				Attributes: map[string]any{"name": fmt.Sprintf("bulk-%d", i)}, Limits: map[string]int64{"cpu": int64(i)},
			}); err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			if _, err := h.App.Market.CreateProject(ctx, staff, marketplace.ProjectInput{
				Customer: mustUUID(w.customer), Name: fmt.Sprintf("bulk-%d", i),
			}); err != nil {
				t.Fatalf("project %d: %v", i, err)
			}
			c, err := h.App.Market.CreateCustomer(ctx, staff, marketplace.CustomerInput{Name: fmt.Sprintf("bulk-%d", i)})
			if err != nil {
				t.Fatalf("customer %d: %v", i, err)
			}
			if _, err := h.App.Market.AddUser(ctx, staff, marketplace.ScopeCustomer, c.UUID,
				marketplace.RoleGrant{User: owner.UUID, Role: marketplace.CustomerOwner}); err != nil {
				t.Fatalf("grant %d: %v", i, err)
			}
		}

		for _, c := range []struct {
			path string
			who  user
		}{
			{"/api/marketplace-resources/", w.staff},
			{"/api/marketplace-resources/", w.owner},
			{"/api/marketplace-provider-resources/", w.staff},
			{"/api/marketplace-provider-resources/", w.provider},
			{"/api/marketplace-orders/", w.staff},
			{"/api/marketplace-orders/", w.owner},
			{"/api/marketplace-orders/", w.provider},
			{"/api/customers/", w.staff},
			{"/api/customers/", w.owner},
			{"/api/projects/", w.staff},
			{"/api/projects/", w.owner},
		} {
			t.Run(c.path+" as "+c.who.name, func(t *testing.T) {
				// statements reads one page and says what it cost.
				statements := func(size int) (spent int64, items, total int) {
					before := h.App.DB.Statements()
					r := w.do(t, http.MethodGet, query(c.path, "page_size", fmt.Sprint(size)), c.who, nil).Want(t, http.StatusOK)
					spent = h.App.DB.Statements() - before
					return spent, len(r.List(t)), resultCount(t, r)
				}
				// A first request loads the caller's token into the cache;
				// the pages compared below both find it there.
				statements(1)
				one, items, total := statements(1)
				if items != 1 || total < n {
					t.Fatalf("page_size=1: %d items of %d, want 1 of at least %d", items, total, n)
				}
				fifty, items, total := statements(50)
				if items != min(50, total) || items < n {
					t.Fatalf("page_size=50: %d items of %d, want all of at least %d", items, total, n)
				}
				t.Logf("%d statements per page", one)
				if one != fifty {
					t.Errorf("page of 1 ran %d statements, page of 50 ran %d", one, fifty)
				}
				if one == 0 {
					t.Errorf("no statements counted")
				}
			})
		}
	})
}
