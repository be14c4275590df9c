package marketplace

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// RevertableFields are the tracked fields a revert may write: the ones a user
// may edit. State, limits, plan, cost and attributes change only through
// orders, so a revert never writes them.
var RevertableFields = map[string]bool{
	"name": true, "description": true, "slug": true, "end_date": true, "downscaled": true,
	"paused": true, "restrict_member_access": true, "options": true,
}

// RevertResult says what a revert did.
type RevertResult struct {
	Resource *Resource
	// Restored lists the fields written back; Skipped the differing fields a
	// revert may not write.
	Restored []string
	Skipped  []string
}

// RevertResource restores the user-editable fields of a resource to the
// values in target (a history snapshot) through the normal change path, so
// the revert itself becomes a version "Reverted to version {id}". Staff only.
func (s *Service) RevertResource(ctx context.Context, actor *auth.User, id uuid.UUID, versionID int64, target map[string]any) (*RevertResult, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	out := &RevertResult{Restored: []string{}, Skipped: []string{}}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getVisibleResource(ctx, tx, actor, ConsumerView, id, true)
		if err != nil {
			return err
		}
		if cur.State == ResourceTerminated {
			return errs.E(errs.Conflict, "Terminated resources cannot be reverted.")
		}
		now := cur.Snapshot()
		for _, f := range TrackedFields {
			if jsonEqual(now[f], target[f]) {
				continue
			}
			if RevertableFields[f] {
				out.Restored = append(out.Restored, f)
			} else {
				out.Skipped = append(out.Skipped, f)
			}
		}
		comment := fmt.Sprintf("Reverted to version %d", versionID)
		out.Resource, err = s.changeResource(ctx, tx, cur, Change{Actor: actor, Comment: comment}, func(r *Resource) error {
			for _, f := range out.Restored {
				if err := applySnapshotField(r, f, target[f]); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func applySnapshotField(r *Resource, field string, v any) error {
	str := func() (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("snapshot field %s: want a string, have %T", field, v)
		}
		return s, nil
	}
	boolean := func() (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("snapshot field %s: want a boolean, have %T", field, v)
		}
		return b, nil
	}
	var err error
	switch field {
	case "name":
		r.Name, err = str()
	case "description":
		r.Description, err = str()
	case "slug":
		r.Slug, err = str()
	case "end_date":
		if v == nil {
			r.EndDate = nil
			return nil
		}
		var d string
		if d, err = str(); err == nil {
			r.EndDate = &d
		}
	case "downscaled":
		r.Downscaled, err = boolean()
	case "paused":
		r.Paused, err = boolean()
	case "restrict_member_access":
		r.RestrictMemberAccess, err = boolean()
	case "options":
		m, ok := v.(map[string]any)
		if v != nil && !ok {
			return fmt.Errorf("snapshot field options: want an object, have %T", v)
		}
		r.Options = m
	default:
		return fmt.Errorf("field %s cannot be reverted", field)
	}
	return err
}

// TrackedFieldsFor lists the fields whose changes make a version, per kind.
func TrackedFieldsFor(kind string) []string {
	switch kind {
	case KindResource:
		return TrackedFields
	case KindCustomer:
		return []string{"name", "slug", "description", "email"}
	case KindProject:
		return []string{"name", "slug", "description", "customer"}
	case KindOffering:
		return []string{"name", "description", "type", "state", "components", "plugin_options", "customer"}
	case KindPlan:
		return []string{"name", "description", "unit_price", "unit", "archived", "offering"}
	}
	return nil
}
