package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
)

var (
	mkOrderRows    = regexp.MustCompile(`<tr data-order="([0-9a-f]{32})"`)
	mkResourceRows = regexp.MustCompile(`<tr data-resource="([0-9a-f]{32})"`)
	mkCustomerRows = regexp.MustCompile(`<tr data-customer="([0-9a-f]{32})"`)
)

// mkOrderState is an order's state as the API tells staff.
func mkOrderState(t testing.TB, h *apptest.Harness, id string) string {
	t.Helper()
	return apiObject(t, h, apptest.Staff, "/api/marketplace-orders/"+id+"/")["state"].(string)
}

// mkResourceNamed is the demo resource with this name, as staff see it.
func mkResourceNamed(t testing.TB, h *apptest.Harness, name string) map[string]any {
	t.Helper()
	return mkFind(t, apiList(t, h, apptest.Staff, "/api/marketplace-resources/?page_size=100&name="+url.QueryEscape(name)), "name", name)
}

// mkFind returns the first item whose key equals value.
func mkFind(t testing.TB, items []map[string]any, key, value string) map[string]any {
	t.Helper()
	for _, it := range items {
		if it[key] == value {
			return it
		}
	}
	t.Fatalf("no item with %s=%q among %d", key, value, len(items))
	return nil
}

// mkPendingOrders are carol's demo orders waiting for consumer approval.
func mkPendingOrders(t testing.TB, h *apptest.Harness) []string {
	t.Helper()
	out := hexIDs(apiList(t, h, apptest.Staff, "/api/marketplace-orders/?state=pending-consumer&page_size=100"))
	if len(out) < 3 {
		t.Fatalf("want 3 pending demo orders, have %d", len(out))
	}
	return out
}

// mkOtherLab gives staff a customer, project and resource alice has no
// role on; it returns the customer's and the resource's uuid.
func mkOtherLab(t testing.TB, h *apptest.Harness) (customer, resource string) {
	t.Helper()
	cu := h.Do(http.MethodPost, "/api/customers/", apptest.Staff, map[string]any{"name": "Other Lab", "email": "lab@example.com"}).
		Want(t, http.StatusCreated).Object(t)
	pr := h.Do(http.MethodPost, "/api/projects/", apptest.Staff, map[string]any{"customer": cu["uuid"], "name": "Other project"}).
		Want(t, http.StatusCreated).Object(t)
	seq := mkResourceNamed(t, h, "hpc-sequencing")
	o := h.Do(http.MethodPost, "/api/marketplace-orders/", apptest.Staff, map[string]any{
		"project": pr["uuid"], "offering": seq["offering_uuid"], "plan": seq["plan_uuid"],
		"attributes": map[string]any{"name": "other-lab-vm"}, "limits": map[string]any{"cpu_hours": 10},
	}).Want(t, http.StatusCreated).Object(t)
	return hexID(cu["uuid"].(string)), hexID(o["marketplace_resource_uuid"].(string))
}

func TestMarketplacePages(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		otherCustomer, otherResource := mkOtherLab(t, h)
		admin := signIn(t, h, "admin", stopAtRedirects)
		support := signIn(t, h, "support", stopAtRedirects)
		alice := signIn(t, h, "alice", stopAtRedirects)
		bob := signIn(t, h, "bob", stopAtRedirects)
		carol := signIn(t, h, "carol", stopAtRedirects)

		t.Run("visibility", func(t *testing.T) {
			research := hexID(mkResourceNamed(t, h, "hpc-sequencing")["customer_uuid"].(string))
			// alice sees her customer only, with its projects and resources.
			p := alice.get("/console/customers/").want(t, http.StatusOK).need(t, "Alice Research").lack(t, "Other Lab")
			if got := allMatches(mkCustomerRows, p.Body); !slices.Equal(got, []string{research}) {
				t.Fatalf("alice's customers %v, want [%s]", got, research)
			}
			alice.get("/console/customers/"+research+"/").want(t, http.StatusOK).need(t, "Genomics", "Imaging", "hpc-sequencing")
			alice.get("/console/customers/"+otherCustomer+"/").want(t, http.StatusNotFound)
			genomics := hexID(mkResourceNamed(t, h, "hpc-sequencing")["project_uuid"].(string))
			alice.get("/console/projects/"+genomics+"/").want(t, http.StatusOK).need(t, "Genomics", "hpc-sequencing", `<tr data-order=`)
			alice.get("/console/projects/?customer="+research).want(t, http.StatusOK).need(t, "Genomics", "Imaging")
			alice.get("/console/projects/?name=imag").want(t, http.StatusOK).need(t, "Imaging").lack(t, "Genomics</a>")
			alice.get("/console/resources/?project="+genomics).want(t, http.StatusOK).need(t, "hpc-sequencing")
			alice.get("/console/orders/").want(t, http.StatusOK).need(t, "gpu-training")
			p = alice.get("/console/resources/").want(t, http.StatusOK).need(t, "hpc-sequencing").lack(t, "other-lab-vm")
			if got := allMatches(mkResourceRows, p.Body); slices.Contains(got, otherResource) || len(got) < 5 {
				t.Fatalf("alice's resources %v: want the demo's, not %s", got, otherResource)
			}
			alice.get("/console/resources/"+otherResource+"/").want(t, http.StatusNotFound)
			// Dashed uuids work as well as hex.
			admin.get("/console/resources/"+mkResourceNamed(t, h, "other-lab-vm")["uuid"].(string)+"/").want(t, http.StatusOK).need(t, "other-lab-vm")
			// Staff and support see everything.
			for _, u := range []*consoleClient{admin, support} {
				u.get("/console/customers/").want(t, http.StatusOK).need(t, "Alice Research", "Other Lab", "Cloud Provider")
				u.get("/console/resources/?name=other-lab").want(t, http.StatusOK).need(t, "other-lab-vm").lack(t, "hpc-sequencing")
			}
			// carol, a member of Genomics, sees Genomics but not Imaging.
			carol.get("/console/projects/").want(t, http.StatusOK).need(t, "Genomics").lack(t, "Imaging")
			carol.get("/console/resources/?state=OK").want(t, http.StatusOK).need(t, "hpc-sequencing")
			carol.get("/console/resources/?state=Bogus").want(t, http.StatusBadRequest)
			carol.get("/console/resources/?customer=nope").want(t, http.StatusBadRequest)
			carol.get("/console/resources/?side=provider").want(t, http.StatusOK).need(t, "You provide no resources")
			carol.get("/console/orders/?state=nope").want(t, http.StatusBadRequest)
			carol.get("/console/customers/nothex/").want(t, http.StatusNotFound)
		})

		t.Run("approve and reject", func(t *testing.T) {
			pending := mkPendingOrders(t, h)
			first, second, third := pending[0], pending[1], pending[2]
			approve := "/console/orders/" + first + "/approve"

			// Waiting orders are listed by state for alice.
			p := alice.get("/console/orders/?state=pending-consumer").want(t, http.StatusOK)
			if got := allMatches(mkOrderRows, p.Body); len(got) != len(pending) {
				t.Fatalf("alice's pending orders %v, want %v", got, pending)
			}
			// carol may not approve: no button, and the post is refused.
			carol.get("/console/orders/"+first+"/").want(t, http.StatusOK).need(t, "pending-consumer").lack(t, `id="approve"`, `id="reject"`)
			carol.submit(approve, nil).want(t, http.StatusForbidden)
			carol.submit("/console/orders/"+first+"/reject", nil).want(t, http.StatusForbidden)
			// support reads everything and changes nothing.
			support.get("/console/orders/"+first+"/").want(t, http.StatusOK).lack(t, `id="approve"`)
			support.submit(approve, nil).want(t, http.StatusForbidden)
			// A post without the form's token is refused before anything runs.
			bob.post(approve, url.Values{}).want(t, http.StatusForbidden)
			bob.post(approve, url.Values{"csrf": {"forged"}}).want(t, http.StatusForbidden)
			if s := mkOrderState(t, h, first); s != "pending-consumer" {
				t.Fatalf("order %s is %s after refused posts", first, s)
			}
			// Orders nobody may see are not found.
			bob.submit("/console/orders/00000000000000000000000000000000/approve", nil).want(t, http.StatusNotFound)

			// bob manages Genomics: he sees the buttons and approves.
			bob.get("/console/orders/"+first+"/").want(t, http.StatusOK).need(t, `id="approve"`, `id="reject"`, `name="csrf"`)
			p = bob.submit(approve, nil).want(t, http.StatusSeeOther)
			if p.Location != "/console/orders/"+first+"/" {
				t.Fatalf("approve redirects to %q", p.Location)
			}
			bob.get(p.Location).want(t, http.StatusOK).need(t, "Order approved.").lack(t, `id="approve"`)
			if s := mkOrderState(t, h, first); s == "pending-consumer" {
				t.Fatal("approved order is still pending-consumer")
			}
			apptest.Eventually(t, 15*time.Second, "the approved order to be done", func() bool { return mkOrderState(t, h, first) == "done" })
			// Approving twice is a conflict, shown as a page.
			bob.submit(approve, nil).want(t, http.StatusConflict)

			// alice owns the customer: she rejects another.
			alice.submit("/console/orders/"+second+"/reject", nil).want(t, http.StatusSeeOther)
			if s := mkOrderState(t, h, second); s != "rejected" {
				t.Fatalf("rejected order is %s", s)
			}
			alice.get("/console/orders/?state=rejected").want(t, http.StatusOK).need(t, second)
			alice.get("/console/orders/?state=pending-consumer").want(t, http.StatusOK).need(t, third).lack(t, first, second)
		})

		t.Run("renew and terminate", func(t *testing.T) {
			seq := mkResourceNamed(t, h, "hpc-sequencing")
			id := hexID(seq["uuid"].(string))
			page := "/console/resources/" + id + "/"

			// carol (member) sees the resource but no actions, and her posts are refused.
			carol.get(page).want(t, http.StatusOK).need(t, "hpc-sequencing", "You may not change this resource").
				lack(t, `id="renew-form"`, `id="terminate-form"`, `id="history-link"`)
			carol.submit(page+"renew", url.Values{"extension_months": {"3"}}).want(t, http.StatusForbidden)
			carol.submit(page+"terminate", nil).want(t, http.StatusForbidden)
			support.submit(page+"terminate", nil).want(t, http.StatusForbidden)
			alice.post(page+"terminate", url.Values{}).want(t, http.StatusForbidden)
			if n := len(apiList(t, h, apptest.Staff, "/api/marketplace-orders/?resource_uuid="+id)); n != 1 {
				t.Fatalf("refused posts left %d orders, want the creation order only", n)
			}

			// alice may: renew and terminate forms, terminate asks first.
			alice.get(page).want(t, http.StatusOK).need(t, `id="renew-form"`, `id="terminate-form"`, `data-confirm=`, seq["end_date"].(string)).
				lack(t, `id="history-link"`)
			alice.submit(page+"renew", url.Values{"extension_months": {"abc"}}).want(t, http.StatusBadRequest).need(t, "extension_months")
			alice.submit(page+"renew", url.Values{"extension_months": {"0"}}).want(t, http.StatusBadRequest)
			alice.submit(page+"renew", url.Values{}).want(t, http.StatusBadRequest)
			p := alice.submit(page+"renew", url.Values{"extension_months": {"3"}, "request_comment": {"one more quarter"}}).want(t, http.StatusSeeOther)
			if p.Location != page {
				t.Fatalf("renew redirects to %q", p.Location)
			}
			alice.get(page).want(t, http.StatusOK).need(t, "Renewal ordered")
			before := seq["end_date"].(string)
			apptest.Eventually(t, 15*time.Second, "the renewal to move the end date", func() bool {
				return mkResourceNamed(t, h, "hpc-sequencing")["end_date"].(string) > before
			})

			ann := hexID(mkResourceNamed(t, h, "hpc-annotation")["uuid"].(string))
			alice.submit("/console/resources/"+ann+"/terminate", url.Values{"request_comment": {"done with it"}}).want(t, http.StatusSeeOther)
			apptest.Eventually(t, 15*time.Second, "the terminated resource", func() bool {
				return mkResourceNamed(t, h, "hpc-annotation")["state"] == "Terminated"
			})
			alice.get("/console/resources/"+ann+"/").want(t, http.StatusOK).need(t, "cannot be renewed or terminated").lack(t, `id="renew-form"`)
			alice.submit("/console/resources/"+ann+"/renew", url.Values{"extension_months": {"1"}}).want(t, http.StatusConflict)

			// Staff and support reach the history from the resource page.
			link := `<a id="history-link" href="/console/resources/` + id + `/history/">History</a>`
			admin.get(page).want(t, http.StatusOK).need(t, link)
			support.get(page).want(t, http.StatusOK).need(t, link).lack(t, `id="renew-form"`, `id="terminate-form"`)
			// User actions link to Waldur's tabs: the page answers them.
			alice.get(page+"?tab=backups").want(t, http.StatusOK).need(t, `id="tab-note"`, "backups")
			alice.get(page+"?tab=whatever").want(t, http.StatusOK).need(t, `id="tab-note"`)
		})

		t.Run("signed out", func(t *testing.T) {
			anon := newClient(t, h, stopAtRedirects)
			p := anon.get("/console/orders/").want(t, http.StatusSeeOther)
			if p.Location != "/console/signin?next=%2Fconsole%2Forders%2F" {
				t.Fatalf("signed-out redirect to %q", p.Location)
			}
		})
	})
}
