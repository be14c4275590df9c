package api

import (
	"context"
	"encoding/json"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagTenants = "FusionAuth: tenants"

// FATenant is FusionAuth's tenant, as far as heed's events need it.
type FATenant struct {
	ID                 string                `json:"id,omitempty"`
	Name               string                `json:"name,omitempty" doc:"Required; unique, ignoring case."`
	Data               map[string]any        `json:"data,omitempty"`
	EventConfiguration *FAEventConfiguration `json:"eventConfiguration,omitempty"`
	EmailConfiguration *FAEmailConfiguration `json:"emailConfiguration,omitempty"`
	InsertInstant      int64                 `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant  int64                 `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAEventConfiguration maps an event type to whether it is sent and how
// transactional it is. A type missing from the map is disabled.
type FAEventConfiguration struct {
	Events map[string]FAEventSetting `json:"events"`
}

// FAEventSetting is one event type's configuration.
type FAEventSetting struct {
	Enabled         bool   `json:"enabled" required:"false"`
	TransactionType string `json:"transactionType,omitempty" enum:"None,Any,SimpleMajority,SuperMajority,AbsoluteMajority"`
}

// FAEmailConfiguration holds the tenant's default sender.
type FAEmailConfiguration struct {
	DefaultFromEmail string `json:"defaultFromEmail,omitempty"`
	DefaultFromName  string `json:"defaultFromName,omitempty"`
}

// FATenantRequest is {"tenant": {...}, "webhookIds": [...]}.
type FATenantRequest struct {
	Tenant     *FATenant `json:"tenant,omitempty"`
	WebhookIDs []string  `json:"webhookIds,omitempty" doc:"Webhooks to attach to the tenant."`
}

type faTenantOut struct {
	Body struct {
		Tenant FATenant `json:"tenant"`
	}
}

func tenantToFA(t *events.Tenant) FATenant {
	out := FATenant{ID: t.ID.String(), Name: t.Name, InsertInstant: t.Created.UnixMilli(), LastUpdateInstant: t.Updated.UnixMilli(),
		EventConfiguration: &FAEventConfiguration{Events: map[string]FAEventSetting{}}}
	for typ, s := range t.Events {
		out.EventConfiguration.Events[typ] = FAEventSetting{Enabled: s.Enabled, TransactionType: string(s.TransactionType)}
	}
	if t.FromEmail != "" || t.FromName != "" {
		out.EmailConfiguration = &FAEmailConfiguration{DefaultFromEmail: t.FromEmail, DefaultFromName: t.FromName}
	}
	if len(t.Data) > 0 && string(t.Data) != "{}" {
		_ = json.Unmarshal(t.Data, &out.Data)
	}
	return out
}

func tenantFromFA(req FATenantRequest) (events.Tenant, error) {
	in := req.Tenant
	if in == nil {
		return events.Tenant{}, errs.Coded("missing", "tenant", "You must specify the [tenant] object.")
	}
	t := events.Tenant{Name: in.Name, Events: map[string]events.EventSetting{}}
	if in.EventConfiguration != nil {
		for typ, s := range in.EventConfiguration.Events {
			t.Events[typ] = events.EventSetting{Enabled: s.Enabled, TransactionType: events.TransactionType(s.TransactionType)}
		}
	}
	if in.EmailConfiguration != nil {
		t.FromEmail, t.FromName = in.EmailConfiguration.DefaultFromEmail, in.EmailConfiguration.DefaultFromName
	}
	if in.Data != nil {
		t.Data, _ = json.Marshal(in.Data)
	}
	var err error
	t.AttachWebhook, err = faUUIDs("webhookIds", req.WebhookIDs)
	return t, err
}

func registerFATenants(api huma.API, svc *events.Service) {
	c := faCRUD{api, "/api/tenant", tagTenants}
	one := faOne(tenantToFA, func(o *faTenantOut, t FATenant) { o.Body.Tenant = t })
	faCreate(c, "createTenant", "Create a tenant", "tenantId",
		func(ctx context.Context, id uuid.UUID, req FATenantRequest) (*faTenantOut, error) {
			t, err := tenantFromFA(req)
			if err != nil {
				return nil, err
			}
			t.ID = id
			return one(svc.CreateTenant(ctx, t))
		})
	faRetrieve(c, "retrieveTenant", "Retrieve a tenant",
		func(ctx context.Context, id uuid.UUID) (*faTenantOut, error) { return one(svc.GetTenant(ctx, id)) })
	faList(c, "retrieveTenants", "Retrieve every tenant",
		func(ctx context.Context, _ *struct{}) ([]*events.Tenant, error) { return svc.ListTenants(ctx) },
		tenantToFA, func(o *faTenantsOut, ts []FATenant) { o.Body.Tenants = ts })
	update := func(ctx context.Context, id uuid.UUID, req FATenantRequest) (*faTenantOut, error) {
		t, err := tenantFromFA(req)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateTenant(ctx, id, t))
	}
	faUpdate(c, "updateTenant", "Replace a tenant", update)
	faPatch(c, "patchTenant", "Update a tenant by merging the body into it", "tenant",
		func(ctx context.Context, id uuid.UUID) (FATenantRequest, error) {
			cur, err := svc.GetTenant(ctx, id)
			if err != nil {
				return FATenantRequest{}, err
			}
			return FATenantRequest{Tenant: ptr(tenantToFA(cur))}, nil
		}, update)
	faDelete(c, "deleteTenant", "Delete a tenant (not the default one)", svc.DeleteTenant)
}

// faTenantsOut is an alias, not a defined type: the response body stays
// anonymous, so the document names its schema after the operation
// (RetrieveTenantsResponse).
type faTenantsOut = struct {
	Body struct {
		Tenants []FATenant `json:"tenants"`
	}
}
