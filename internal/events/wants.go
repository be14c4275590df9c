package events

import (
	"context"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
)

// Wants reports whether an event of eventType published for tenant now
// would go anywhere: the tenant enables the type and at least one enabled
// webhook takes it for that tenant (global or listed). It is what Publish
// checks first, without building or writing anything, so that a domain
// about to publish many events (one per row of a set-based change) can
// skip them all, and the RETURNING that gathers them, when nobody listens.
// A zero tenant means the default tenant. Run it on the transaction that
// publishes, so it sees what Publish will see.
func (s *Service) Wants(ctx context.Context, c db.Conn, eventType string, tenant uuid.UUID) (bool, error) {
	if tenant == uuid.Nil {
		tenant = DefaultTenantID
	}
	cfg, anyWebhook, err := tenantEventConfig(ctx, c, tenant)
	if err != nil {
		return false, err
	}
	if tc, ok := cfg[eventType]; !ok || !tc.Enabled || !anyWebhook {
		return false, nil
	}
	hooks, err := s.receivers(ctx, c, eventType, tenant)
	if err != nil {
		return false, err
	}
	return len(hooks) > 0, nil
}
