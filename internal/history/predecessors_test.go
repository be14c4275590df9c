package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/history"
)

// TestPredecessors: the one-statement look-up of a page's predecessors
// finds, for any subset of an object's versions, what Previous finds for
// each one: the version just before it in (time, id) order, ties at one
// instant included, none for the first, and never one of another object.
func TestPredecessors(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		store := &history.Store{DB: d}
		object, other := uuid.New(), uuid.New()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// Two versions share each instant: id breaks the tie.
		record := func(obj uuid.UUID, i int) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := history.Record(ctx, tx, history.Entry{EntityType: "probe", ObjectID: 1, ObjectUUID: obj,
					At: base.Add(time.Duration(i/2) * time.Minute), Comment: "v", Data: map[string]any{"i": i}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 9 {
			record(object, i)
			record(other, i)
		}
		all, _, err := store.List(ctx, "probe", object, history.Filter{}, db.Page{})
		if err != nil || len(all) != 9 {
			t.Fatalf("list: %d versions, %v", len(all), err)
		}
		for _, subset := range [][]int{{0, 2, 4, 8}, {8}, {0}, {1, 3, 5, 7}, {0, 1, 2, 3, 4, 5, 6, 7, 8}} {
			var vs []*history.Version
			for _, i := range subset {
				vs = append(vs, all[i])
			}
			got, err := store.Predecessors(ctx, vs)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				want, err := store.Previous(ctx, v)
				if err != nil {
					t.Fatal(err)
				}
				p := got[v.ID]
				switch {
				case want == nil && p != nil:
					t.Errorf("version %d: predecessor %d, want none", v.ID, p.ID)
				case want != nil && (p == nil || p.ID != want.ID || !p.Created.Equal(want.Created) || string(p.Data) != string(want.Data)):
					t.Errorf("version %d: predecessor %+v, want %+v", v.ID, p, want)
				}
			}
			if len(got) > len(vs) {
				t.Errorf("%d predecessors for %d versions", len(got), len(vs))
			}
		}
		if first := all[len(all)-1]; first != nil {
			if got, _ := store.Predecessors(ctx, []*history.Version{first}); len(got) != 0 {
				t.Errorf("the first version has a predecessor: %v", got)
			}
		}
	})
}
