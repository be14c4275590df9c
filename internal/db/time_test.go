package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestTimeColumn: a timestamp selected with TimeColumn and scanned into a
// db.Time reads back exactly what was stored, on both engines, NULL
// included; on SQLite it also reads the other layouts the driver would
// have accepted, and refuses text that is no time.
func TestTimeColumn(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.SQL().ExecContext(ctx, "CREATE TABLE time_probe (id INTEGER NOT NULL, at TIMESTAMP WITH TIME ZONE)"); err != nil {
			t.Fatal(err)
		}
		instants := []time.Time{
			time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC),
			time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(9999, 12, 31, 12, 30, 0, 1000, time.UTC),
			time.Date(2026, 12, 1, 12, 0, 0, 0, time.FixedZone("x", 5*3600)),
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for i, at := range instants {
				if _, err := tx.Exec(ctx, "INSERT INTO time_probe (id, at) VALUES (?, ?)", i, at); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "INSERT INTO time_probe (id, at) VALUES (?, NULL)", len(instants))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rows, err := d.Reader().Query(ctx, "SELECT id, "+d.Dialect().TimeColumn("at")+" FROM time_probe ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var (
				id int
				at db.Time
			)
			if err := rows.Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			n++
			if id == len(instants) {
				if at.Valid || at.Ptr() != nil {
					t.Errorf("NULL read as %v", at.Time)
				}
				continue
			}
			if !at.Valid || !at.Time.Equal(instants[id]) || at.Time.Location() != time.UTC {
				t.Errorf("row %d: read %v (valid %v), stored %v", id, at.Time, at.Valid, instants[id])
			}
		}
		if err := rows.Err(); err != nil || n != len(instants)+1 {
			t.Fatalf("%d rows, %v", n, err)
		}
	})
}

func TestTimeScanText(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]time.Time{
		"2024-01-05T03:00:00.000000Z": time.Date(2024, 1, 5, 3, 0, 0, 0, time.UTC),
		"2024-01-05T03:00:00.123456Z": time.Date(2024, 1, 5, 3, 0, 0, 123456000, time.UTC),
		"2024-01-05T03:00:00Z":        time.Date(2024, 1, 5, 3, 0, 0, 0, time.UTC),
		"2024-01-05T05:00:00+02:00":   time.Date(2024, 1, 5, 3, 0, 0, 0, time.UTC),
		"2024-01-05 03:00:00":         time.Date(2024, 1, 5, 3, 0, 0, 0, time.UTC),
		"2024-01-05 03:00:00.5-01:00": time.Date(2024, 1, 5, 4, 0, 0, 500000000, time.UTC),
		"2024-01-05":                  time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC),
	} {
		var got db.Time
		if err := got.Scan(text); err != nil || !got.Valid || !got.Time.Equal(want) {
			t.Errorf("%q: %v (valid %v), %v; want %v", text, got.Time, got.Valid, err, want)
		}
	}
	for _, text := range []string{"", "yesterday", "2024-04-31T00:00:00.000000Z", "2024-13-01T00:00:00.000000Z", "2024-01-05T24:00:00.000000Z", "2024-01-0xT00:00:00.000000Z"} {
		var got db.Time
		if err := got.Scan(text); err == nil {
			t.Errorf("%q read as %v", text, got.Time)
		}
	}
}
