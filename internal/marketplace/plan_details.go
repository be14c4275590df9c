package marketplace

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// PlanDetail is what Waldur's plan representation derives from other rows:
// the offering's components and how many live resources use the plan.
type PlanDetail struct {
	ResourcesCount int
	Components     []Component
}

// PlanType classifies a plan by its offering's billing types, as Waldur's
// plan_type does: "fixed" when there is no component.
func (d PlanDetail) PlanType() string {
	kinds := map[string]bool{}
	for _, c := range d.Components {
		kinds[c.BillingType] = true
	}
	switch len(kinds) {
	case 0:
		return "fixed"
	case 1:
		for k := range kinds {
			return k
		}
	}
	return "mixed"
}

// PlanDetails loads the details of plans in two statements whatever their
// number, keyed by plan id.
func (s *Service) PlanDetails(ctx context.Context, plans []*Plan) (out map[int64]PlanDetail, err error) {
	defer errs.Wrap(&err, "PlanDetails(%d plans)", len(plans))
	out = make(map[int64]PlanDetail, len(plans))
	if len(plans) == 0 {
		return out, nil
	}
	planIDs, offeringIDs := make([]any, 0, len(plans)), make([]any, 0, len(plans))
	seenOffering := map[int64]bool{}
	for _, p := range plans {
		planIDs = append(planIDs, p.ID)
		if !seenOffering[p.OfferingID] {
			seenOffering[p.OfferingID] = true
			offeringIDs = append(offeringIDs, p.OfferingID)
		}
	}
	counts := map[int64]int{}
	components := map[int64][]Component{}
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT plan_id, COUNT(*) FROM resources WHERE state <> ? AND plan_id IN ("+db.Placeholders(len(planIDs))+
			") GROUP BY plan_id", append([]any{ResourceTerminated}, planIDs...)...)
		if err != nil {
			return fmt.Errorf("count resources: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return fmt.Errorf("scan count: %w", err)
			}
			counts[id] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		offs, err := c.Query(ctx, "SELECT id, components FROM offerings WHERE id IN ("+db.Placeholders(len(offeringIDs))+")", offeringIDs...)
		if err != nil {
			return fmt.Errorf("load components: %w", err)
		}
		defer offs.Close()
		for offs.Next() {
			var id int64
			var raw string
			if err := offs.Scan(&id, &raw); err != nil {
				return fmt.Errorf("scan components: %w", err)
			}
			var comps []Component
			if err := json.Unmarshal([]byte(raw), &comps); err != nil {
				return fmt.Errorf("offering %d components: %w", id, err)
			}
			components[id] = comps
		}
		return offs.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		out[p.ID] = PlanDetail{ResourcesCount: counts[p.ID], Components: components[p.OfferingID]}
	}
	return out, nil
}
