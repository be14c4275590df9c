package useractions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// The default user-action page comes out of user_actions_order in its
// order, on both engines: no sort of all the user's actions per request.
// A plan, not a timing: it fails the day the index or db.OrderBy's way of
// writing "none last" drift apart.
func TestDefaultListNeedsNoSort(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		where, args, err := Filter{}.where(d.Dialect(), &auth.User{ID: 1}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		stmt, stmtArgs := listQuery(d.Dialect(), where, args, "", db.Page{Limit: 10}).Statement()
		var plan []string
		err = d.InTx(ctx, func(tx *db.Tx) error {
			explain := "EXPLAIN QUERY PLAN "
			if d.Dialect() == db.Postgres {
				// An empty table is cheapest to scan and sort; this asks
				// whether the index can give the order at all.
				if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off"); err != nil {
					return err
				}
				explain = "EXPLAIN "
			}
			rows, err := tx.Query(ctx, explain+stmt, stmtArgs...)
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				plan = append(plan, strings.TrimSpace(string(asText(vals[len(vals)-1]))))
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "Sort") {
			t.Errorf("the default list sorts:\n%s", text)
		}
		if !strings.Contains(text, "user_actions_order") {
			t.Errorf("the default list does not read user_actions_order:\n%s", text)
		}
	})
}

func asText(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	return nil
}
