package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

// loadHistory gives two demo resources a few dozen versions from several
// users, through the real change path, then spreads every version recorded
// so far over the past six weeks so that history/at has a past to look at.
// (The changes are real; only their clock is moved, as a demo must.)
func loadHistory(ctx context.Context, d *db.DB, m *marketplace.Service, users map[string]*auth.User) error {
	admin, alice, bob := users["admin"], users["alice"], users["bob"]
	find := func(name string) (*marketplace.Resource, error) {
		list, _, err := m.ListResources(ctx, admin, marketplace.ConsumerView, marketplace.ResourceFilter{Name: name}, db.Page{Limit: 1})
		if err != nil || len(list) == 0 {
			return nil, fmt.Errorf("demo resource %s: %v", name, err)
		}
		return list[0], nil
	}
	str := func(s string) *string { return &s }
	seq, err := find("hpc-sequencing")
	if err != nil {
		return err
	}
	asm, err := find("hpc-assembly")
	if err != nil {
		return err
	}
	steps := []func() error{}
	patch := func(u *auth.User, r *marketplace.Resource, in marketplace.ResourceUpdate) {
		steps = append(steps, func() error {
			_, err := m.UpdateResource(ctx, u, marketplace.ConsumerView, r.UUID, in)
			return err
		})
	}
	flag := func(r *marketplace.Resource, f marketplace.StaffFlag, v bool) {
		steps = append(steps, func() error {
			_, err := m.SetFlag(ctx, admin, marketplace.ConsumerView, r.UUID, f, v)
			return err
		})
	}
	for i, desc := range []string{
		"Short-read alignment for the 2026 cohort", "Alignment and variant calling, 2026 cohort",
		"Alignment, variant calling and QC", "Pipeline v2: alignment, calling, QC",
	} {
		u := alice
		if i%2 == 1 {
			u = bob
		}
		patch(u, seq, marketplace.ResourceUpdate{Description: str(desc)})
	}
	patch(alice, seq, marketplace.ResourceUpdate{Options: map[string]any{"notify": "alice@example.com"}})
	flag(seq, marketplace.FlagDownscaled, true)
	patch(bob, seq, marketplace.ResourceUpdate{Options: map[string]any{"notify": "bob@example.com", "priority": "high"}})
	flag(seq, marketplace.FlagDownscaled, false)
	steps = append(steps, func() error {
		_, err := m.SetSlug(ctx, admin, marketplace.ConsumerView, seq.UUID, "seq-2026")
		return err
	})
	flag(seq, marketplace.FlagPaused, true)
	patch(bob, seq, marketplace.ResourceUpdate{Name: str("hpc-sequencing-2026")})
	flag(seq, marketplace.FlagPaused, false)
	flag(seq, marketplace.FlagRestrictMemberAccess, true)
	patch(alice, seq, marketplace.ResourceUpdate{Name: str("hpc-sequencing")})
	flag(seq, marketplace.FlagRestrictMemberAccess, false)
	for i, desc := range []string{"Genome assembly", "Genome assembly (long reads)", "Assembly and polishing",
		"Assembly, polishing, annotation prep", "Assembly (final runs)"} {
		u := bob
		if i%2 == 1 {
			u = alice
		}
		patch(u, asm, marketplace.ResourceUpdate{Description: str(desc)})
	}
	flag(asm, marketplace.FlagPaused, true)
	flag(asm, marketplace.FlagPaused, false)
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("demo history: %w", err)
		}
	}
	now := d.Now()
	if err := spreadHistory(ctx, d, seq.ID, now.Add(-42*24*time.Hour), now); err != nil {
		return err
	}
	// hpc-assembly's history lies in January 2024, where the examples of
	// the resource history guide look (created_after=2024-01-01,
	// at/?timestamp=2024-01-15T08:00:00Z).
	return spreadHistory(ctx, d, asm.ID, time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC), time.Date(2024, 1, 30, 17, 0, 0, 0, time.UTC))
}

// spreadHistory moves a demo resource's versions, keeping their order, onto
// evenly spaced instants from first to last, and dates the resource and its
// creation order to its first version.
func spreadHistory(ctx context.Context, d *db.DB, resourceID int64, first, last time.Time) error {
	return d.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id FROM versions WHERE entity_type = 'resource' AND object_id = ? ORDER BY created, id", resourceID)
		if err != nil {
			return fmt.Errorf("list versions: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		step := last.Sub(first) / time.Duration(max(1, len(ids)-1))
		for i, id := range ids {
			at := first.Add(time.Duration(i) * step)
			if _, err := tx.Exec(ctx, "UPDATE versions SET created = ? WHERE id = ?", at, id); err != nil {
				return fmt.Errorf("spread version %d: %w", id, err)
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE resources SET created = ? WHERE id = ?", first, resourceID); err != nil {
			return fmt.Errorf("date demo resource: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE orders SET created = ?, modified = ? WHERE resource_id = ? AND type = 'Create'", first, first, resourceID); err != nil {
			return fmt.Errorf("date demo order: %w", err)
		}
		return nil
	})
}
