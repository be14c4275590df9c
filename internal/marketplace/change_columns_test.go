package marketplace_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

// TestChangeWritesChangedColumns: a change writes only the columns it
// alters, yet leaves the row as rewriting every column did. Stored text in
// a form heed does not write (JSON with spaces, a cost without its cents,
// an end date that is no date) is rewritten in heed's form by the next
// change of any field, as before; a column the change leaves is kept.
func TestChangeWritesChangedColumns(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{NoWork: true}, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		staff, err := h.App.Users.Authenticate(ctx, apptest.Staff)
		if err != nil {
			t.Fatal(err)
		}
		list, _, err := h.App.Market.ListResources(ctx, staff, marketplace.ConsumerView,
			marketplace.ResourceFilter{Name: "hpc-sequencing"}, db.Page{Limit: 1})
		if err != nil || len(list) == 0 {
			t.Fatalf("demo resource: %v", err)
		}
		res := list[0]
		d := h.App.DB
		type row struct {
			name, description, limits, attributes, options string
			cost, endDate                                  sql.NullString
		}
		read := func() row {
			t.Helper()
			var r row
			end := "+end_date" // the stored text
			if d.Dialect() == db.Postgres {
				end = "to_char(end_date, 'YYYY-MM-DD')"
			}
			if err := d.Reader().QueryRow(ctx, `SELECT name, description, `+textOf(d, "limits")+`, `+textOf(d, "attributes")+`, `+
				textOf(d, "options")+`, `+textOf(d, "cost")+`, `+end+` FROM resources WHERE id = ?`, res.ID).Scan(
				&r.name, &r.description, &r.limits, &r.attributes, &r.options, &r.cost, &r.endDate); err != nil {
				t.Fatal(err)
			}
			return r
		}
		update := func(in marketplace.ResourceUpdate) {
			t.Helper()
			if _, err := h.App.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, res.UUID, in); err != nil {
				t.Fatal(err)
			}
		}
		str := func(s string) *string { return &s }

		if d.Dialect() == db.SQLite {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE resources SET limits = '{"cpu": 2}', attributes = '{ "a" : [1, 2] }',
					options = '{}', cost = '10.5', end_date = '10009-12-28' WHERE id = ?`, res.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			update(marketplace.ResourceUpdate{Description: str("first")})
			got := read()
			want := row{name: res.Name, description: "first", limits: `{"cpu":2}`, attributes: `{"a":[1,2]}`, options: `{}`,
				cost: sql.NullString{String: "10.50", Valid: true}}
			if got != want {
				t.Fatalf("after a description change the row is %+v, want %+v", got, want)
			}
		}

		before := read()
		update(marketplace.ResourceUpdate{Description: str("second")})
		want := before
		want.description = "second"
		if got := read(); got != want {
			t.Errorf("after a description change the row is %+v, want %+v", got, want)
		}
		update(marketplace.ResourceUpdate{Name: str("renamed"), EndDate: str("2031-02-03"),
			Options: map[string]any{"x": "y"}})
		want.name, want.endDate, want.options = "renamed", sql.NullString{String: "2031-02-03", Valid: true}, `{"x":"y"}`
		if d.Dialect() == db.Postgres {
			want.options = `{"x": "y"}`
		}
		if got := read(); got != want {
			t.Errorf("after a change of three fields the row is %+v, want %+v", got, want)
		}
		update(marketplace.ResourceUpdate{EndDate: str("")})
		want.endDate = sql.NullString{}
		if got := read(); got != want {
			t.Errorf("after clearing the end date the row is %+v, want %+v", got, want)
		}
	})
}

// textOf selects a column as text on both databases.
func textOf(d *db.DB, col string) string {
	if d.Dialect() == db.Postgres {
		return col + "::text"
	}
	return col
}
