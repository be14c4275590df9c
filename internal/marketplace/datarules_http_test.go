package marketplace_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
)

// TestDataRulesOverHTTP replays issue 16's reports through a real heed on
// each database: what answered 500 (or was silently stored) is a 400 on the
// field, and a resource holding an end date no read can scan no longer
// breaks the lists or the PATCH that repairs it.
func TestDataRulesOverHTTP(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		resources := h.Do(http.MethodGet, "/api/marketplace-resources/?page_size=300", apptest.Staff, nil).Want(t, http.StatusOK).List(t)
		if len(resources) < 2 {
			t.Fatalf("demo has %d resources", len(resources))
		}
		var id string
		for _, r := range resources {
			if r["state"] == "OK" {
				id = r["uuid"].(string)
				break
			}
		}
		if id == "" {
			t.Fatal("demo has no resource in state OK")
		}
		path := "/api/marketplace-resources/" + id + "/"

		// Dates outside years 1–9999: PostgreSQL answered 500 (22008),
		// SQLite stored them.
		for _, bad := range []string{"0000-01-01", "0000-12-31"} {
			wantFields(t, h.Do(http.MethodPatch, path, apptest.Staff, map[string]any{"end_date": bad}), "end_date")
		}

		// A stored end date no engine-neutral read can scan.
		err := h.App.DB.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(context.Background(), `UPDATE resources SET end_date = ? WHERE uuid = ?`, "10009-12-28", dashed(t, id))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"/api/marketplace-resources/", "/api/marketplace-provider-resources/"} {
			for _, q := range []string{"?page_size=300", "?page_size=300&o=end_date", "?page_size=300&o=-end_date"} {
				rows := h.Do(http.MethodGet, list+q, apptest.Staff, nil).Want(t, http.StatusOK).List(t)
				found := false
				for _, r := range rows {
					if r["uuid"] == id {
						found = true
						if r["end_date"] != nil {
							t.Errorf("%s%s: unreadable end_date served as %v, want null", list, q, r["end_date"])
						}
					}
				}
				if !found || len(rows) != len(resources) {
					t.Errorf("%s%s: %d rows (resource listed: %v), want %d", list, q, len(rows), found, len(resources))
				}
			}
		}
		h.Do(http.MethodGet, path, apptest.Staff, nil).Want(t, http.StatusOK)
		fixed := h.Do(http.MethodPatch, path, apptest.Staff, map[string]any{"end_date": "2031-01-31"}).Want(t, http.StatusOK).Object(t)
		if fixed["end_date"] != "2031-01-31" {
			t.Fatalf("repaired end_date %v", fixed["end_date"])
		}

		// Prices: overflow and exponents answered 500 on PostgreSQL; more
		// than two decimals were rounded.
		offering := h.Do(http.MethodGet, "/api/marketplace-provider-offerings/", apptest.Staff, nil).Want(t, http.StatusOK).List(t)[0]["uuid"]
		for _, bad := range []string{"99999999999999999999999999.99", "1e400", "NaN", "-1", "1.005"} {
			wantFields(t, h.Do(http.MethodPost, "/api/marketplace-plans/", apptest.Staff,
				map[string]any{"offering": offering, "name": "bad " + bad, "unit_price": bad}), "unit_price")
		}
		var created []string
		for _, p := range []string{"10.50", "100.00", "9.00"} {
			plan := h.Do(http.MethodPost, "/api/marketplace-plans/", apptest.Staff,
				map[string]any{"offering": offering, "name": "price " + p, "unit_price": p}).Want(t, http.StatusCreated).Object(t)
			if plan["unit_price"] != p {
				t.Errorf("plan at %s reads back %v", p, plan["unit_price"])
			}
			created = append(created, p)
		}
		var order []string
		for _, p := range h.Do(http.MethodGet, "/api/marketplace-plans/?page_size=300&o=unit_price&offering_uuid="+offering.(string),
			apptest.Staff, nil).Want(t, http.StatusOK).List(t) {
			if name := p["name"].(string); strings.HasPrefix(name, "price ") {
				order = append(order, p["unit_price"].(string))
			}
		}
		if got := strings.Join(order, " "); got != "9.00 10.50 100.00" {
			t.Errorf("plans ?o=unit_price: %s, want 9.00 10.50 100.00 (created %v)", got, created)
		}

		// Passwords beyond bcrypt's 72 bytes answered 500.
		long := strings.Repeat("x", 73)
		wantFields(t, h.Do(http.MethodPost, "/api/users/", apptest.Staff,
			map[string]any{"username": "long-password", "password": long}), "password")
	})
}
