package marketplace

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// A renewal is Waldur's renew: an Update order whose attributes carry the
// extension; the end date moves when the order completes, so a renewal
// passes the same approvals and processing as any other change and leaves
// the same trail (the order, and a version naming it).

// RenewalAttribute is the order attribute holding a renewal request. Orders
// placed through the API cannot carry it: only Renew writes it.
const RenewalAttribute = "renewal"

// maxExtensionMonths bounds one renewal (ten years, like extension_days).
const maxExtensionMonths = 120

// RenewInput extends a resource by ExtensionMonths (Waldur's renew), or —
// heed's extensions — by ExtensionDays, or to EndDate. Extensions count from
// the current end date, or from today when it has none or it has passed.
type RenewInput struct {
	ExtensionMonths *int
	ExtensionDays   *int
	EndDate         *string
	RequestComment  string
}

func (in RenewInput) attributes() map[string]any {
	m := map[string]any{}
	if in.ExtensionMonths != nil {
		m["extension_months"] = *in.ExtensionMonths
	}
	if in.ExtensionDays != nil {
		m["extension_days"] = *in.ExtensionDays
	}
	if in.EndDate != nil {
		m["end_date"] = *in.EndDate
	}
	return m
}

func renewalFromAttributes(attrs map[string]any) (RenewInput, bool) {
	m, ok := attrs[RenewalAttribute].(map[string]any)
	if !ok {
		return RenewInput{}, false
	}
	var in RenewInput
	num := func(k string) *int {
		if f, ok := m[k].(float64); ok {
			n := int(f)
			return &n
		}
		if n, ok := m[k].(int); ok {
			return &n
		}
		return nil
	}
	in.ExtensionMonths, in.ExtensionDays = num("extension_months"), num("extension_days")
	if s, ok := m["end_date"].(string); ok {
		in.EndDate = &s
	}
	return in, true
}

// newEndDate is the end date a renewal gives r at now.
func (in RenewInput) newEndDate(r *Resource, now time.Time) (string, error) {
	given := 0
	for _, set := range []bool{in.ExtensionMonths != nil, in.ExtensionDays != nil, in.EndDate != nil} {
		if set {
			given++
		}
	}
	if given > 1 {
		return "", errs.Field("non_field_errors", "Provide one of extension_months, extension_days and end_date.")
	}
	if given == 0 {
		// Waldur's field; heed's extensions are the alternatives.
		return "", errs.Field("extension_months", "This field is required.")
	}
	if in.ExtensionMonths == nil {
		return renewedEndDate(r, in, now)
	}
	n := *in.ExtensionMonths
	if n < 1 || n > maxExtensionMonths {
		return "", errs.Field("extension_months", "Ensure this value is between 1 and %d.", maxExtensionMonths)
	}
	base := now.UTC()
	if r.EndDate != nil {
		if t, ok := ParseDate(*r.EndDate); ok && t.After(base) {
			base = t
		}
	}
	end := addMonths(base, n)
	if !db.DateInRange(end) {
		return "", errs.Field("extension_months", "The new end date would be after 9999-12-31.")
	}
	return end.Format(DateLayout), nil
}

// Renew places a renewal order for a resource; the user needs ORDER.APPROVE
// on its project, so the consumer step is passed at once.
func (s *Service) Renew(ctx context.Context, actor *auth.User, view View, id uuid.UUID, in RenewInput) (o *Order, err error) {
	defer errs.Wrap(&err, "Renew(%s)", id)
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := getVisibleResource(ctx, tx, actor, view, id, true)
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, OrderApprove, Scope{CustomerID: r.CustomerID, ProjectID: r.ProjectID}); err != nil {
			return err
		}
		if r.State == ResourceTerminated || r.State == ResourceTerminating {
			return errs.E(errs.Conflict, "Terminated resources cannot be renewed.")
		}
		// Validate now, so a bad request is a 400 and not a failed order.
		if _, err := in.newEndDate(r, tx.Now()); err != nil {
			return err
		}
		resource := r.UUID
		o, err = s.createOrder(ctx, tx, actor, OrderInput{
			Type: OrderTypeUpdate, Resource: &resource, RequestComment: in.RequestComment,
			Attributes: map[string]any{RenewalAttribute: in.attributes()},
		})
		return err
	})
	return o, err
}

// applyRenewal moves r's end date as the order's renewal asks, computed
// when the order completes. A renewal that no longer moves the date forward
// (a later one completed first) leaves it.
func applyRenewal(o *Order, r *Resource, now time.Time) {
	in, ok := renewalFromAttributes(o.Attributes)
	if !ok {
		return
	}
	end, err := in.newEndDate(r, now)
	if err != nil || (r.EndDate != nil && end <= *r.EndDate) {
		return
	}
	r.EndDate = &end
}

// addMonths adds n calendar months, clamping the day to the target month's
// last (Jan 31 + 1 month = Feb 28), as Python's relativedelta and
// PostgreSQL's interval do; time.AddDate would roll over into March.
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC)
}
