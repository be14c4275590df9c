package marketplace_test

import (
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

// TestMarketplace runs the marketplace end-to-end tests through the HTTP API
// on each database. Starting heed and building the world cost more than
// most tests (every statement is slow under -race on SQLite), so one world
// per database serves them all; each test makes its own objects in it.
func TestMarketplace(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{NoDemo: true}, func(t *testing.T, h *apptest.Harness) {
		// The databases run side by side: SQLite spends CPU while
		// PostgreSQL mostly waits on the network.
		t.Parallel()
		w := newWorld(t, h)
		// These compare counts before and after each request, so they run
		// while nothing else writes.
		t.Run("invalid input", func(t *testing.T) { testInvalidInput(t, w) })
		for _, g := range []struct {
			name string
			test func(*testing.T, *world)
		}{
			{"orders", testOrders},
			{"resources", testResources},
			{"renewal", testRenewal},
			{"permissions", testPermissionMatrix},
		} {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				g.test(t, w)
			})
		}
	})
}
