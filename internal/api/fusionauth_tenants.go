package api

import (
	"context"
	"encoding/json"
	"net/http"

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
	one := func(t *events.Tenant, err error) (*faTenantOut, error) {
		if err != nil {
			return nil, err
		}
		out := &faTenantOut{}
		out.Body.Tenant = tenantToFA(t)
		return out, nil
	}
	create := func(ctx context.Context, id uuid.UUID, req FATenantRequest) (*faTenantOut, error) {
		t, err := tenantFromFA(req)
		if err != nil {
			return nil, err
		}
		t.ID = id
		return one(svc.CreateTenant(ctx, t))
	}
	huma.Register(api, faOp(http.MethodPost, "/api/tenant", "createTenant", "Create a tenant", tagTenants),
		func(ctx context.Context, in *struct{ Body FATenantRequest }) (*faTenantOut, error) {
			return create(ctx, uuid.Nil, in.Body)
		})
	huma.Register(api, faOp(http.MethodPost, "/api/tenant/{id}", "createTenantWithId", "Create a tenant with the given id", tagTenants),
		func(ctx context.Context, in *struct {
			FAOptionalIDPath
			Body FATenantRequest
		}) (*faTenantOut, error) {
			id, err := in.parse("tenantId")
			if err != nil {
				return nil, err
			}
			return create(ctx, id, in.Body)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/tenant/{id}", "retrieveTenant", "Retrieve a tenant", tagTenants, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*faTenantOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return one(svc.GetTenant(ctx, id))
		})
	huma.Register(api, faOp(http.MethodGet, "/api/tenant", "retrieveTenants", "Retrieve every tenant", tagTenants),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Tenants []FATenant `json:"tenants"`
			}
		}, error) {
			ts, err := svc.ListTenants(ctx)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Tenants []FATenant `json:"tenants"`
				}
			}{}
			out.Body.Tenants = mapAll(ts, tenantToFA)
			return out, nil
		})
	registerFATenantUpdates(api, svc, one)
}

func registerFATenantUpdates(api huma.API, svc *events.Service, one func(*events.Tenant, error) (*faTenantOut, error)) {
	huma.Register(api, faOp(http.MethodPut, "/api/tenant/{id}", "updateTenant", "Replace a tenant", tagTenants, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body FATenantRequest
		}) (*faTenantOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			t, err := tenantFromFA(in.Body)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateTenant(ctx, id, t))
		})
	huma.Register(api, faOp(http.MethodPatch, "/api/tenant/{id}", "patchTenant", "Update a tenant by merging the body into it", tagTenants, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body map[string]any
		}) (*faTenantOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			cur, err := svc.GetTenant(ctx, id)
			if err != nil {
				return nil, err
			}
			var merged FATenantRequest
			if err := faMerge(FATenantRequest{Tenant: ptr(tenantToFA(cur))}, in.Body, &merged, "tenant"); err != nil {
				return nil, err
			}
			t, err := tenantFromFA(merged)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateTenant(ctx, id, t))
		})
	huma.Register(api, faOp(http.MethodDelete, "/api/tenant/{id}", "deleteTenant", "Delete a tenant (not the default one)", tagTenants, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*struct{}, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteTenant(ctx, id)
		})
}
