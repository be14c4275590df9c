package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagWebhooks = "FusionAuth: webhooks"

// FAWebhook is FusionAuth's webhook object, plus heed's secret (Standard
// Webhooks signing; generated when absent, shown only by create) and its
// enabled state (heed disables a webhook that answers 410 Gone or keeps
// failing; set enabled true to re-enable it).
type FAWebhook struct {
	ID                         string             `json:"id,omitempty" doc:"The webhook's id (a UUID)."`
	URL                        string             `json:"url,omitempty" doc:"Required. A fully qualified http(s) URL."`
	Description                string             `json:"description,omitempty"`
	ConnectTimeout             int                `json:"connectTimeout,omitempty" minimum:"0" doc:"Required. Milliseconds, at most 10000."`
	ReadTimeout                int                `json:"readTimeout,omitempty" minimum:"0" doc:"Required. Milliseconds, at most 15000."`
	Headers                    map[string]string  `json:"headers,omitempty" doc:"Added to every request."`
	HTTPAuthenticationUsername string             `json:"httpAuthenticationUsername,omitempty"`
	HTTPAuthenticationPassword string             `json:"httpAuthenticationPassword,omitempty" doc:"Write only: never returned."`
	EventsEnabled              map[string]bool    `json:"eventsEnabled,omitempty" doc:"Event type → whether this webhook receives it."`
	Global                     bool               `json:"global,omitempty" doc:"Receive the events of every tenant; otherwise those of tenantIds."`
	TenantIDs                  []string           `json:"tenantIds,omitempty"`
	Data                       map[string]any     `json:"data,omitempty"`
	SignatureConfiguration     *FASignatureConfig `json:"signatureConfiguration,omitempty"`
	Secret                     string             `json:"secret,omitempty" doc:"heed: the Standard Webhooks secret (whsec_…). Generated when absent; returned only by create."`
	Enabled                    *bool              `json:"enabled,omitempty" doc:"heed: false once disabled (410 Gone, or failing for the configured period). PUT without it enables."`
	DisabledReason             string             `json:"disabledReason,omitempty" readOnly:"true"`
	DisabledInstant            int64              `json:"disabledInstant,omitempty" readOnly:"true"`
	FailingSinceInstant        int64              `json:"failingSinceInstant,omitempty" readOnly:"true"`
	InsertInstant              int64              `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant          int64              `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FASignatureConfig says whether to add X-FusionAuth-Signature-JWT.
type FASignatureConfig struct {
	Enabled      bool   `json:"enabled" required:"false"`
	SigningKeyID string `json:"signingKeyId,omitempty"`
}

// FAWebhookRequest is {"webhook": {...}}.
type FAWebhookRequest struct {
	Webhook *FAWebhook `json:"webhook,omitempty"`
}

type faWebhookOut struct {
	Body struct {
		Webhook FAWebhook `json:"webhook"`
	}
}

type faWebhooksOut struct {
	Body struct {
		Webhooks []FAWebhook `json:"webhooks"`
	}
}

type faWebhookSearchOut struct {
	Body struct {
		Total    int         `json:"total"`
		Webhooks []FAWebhook `json:"webhooks"`
	}
}

func webhookToFA(w *events.Webhook) FAWebhook {
	enabled := w.Enabled
	out := FAWebhook{
		ID: w.ID.String(), URL: w.URL, Description: w.Description,
		ConnectTimeout: int(w.ConnectTimeout.Milliseconds()), ReadTimeout: int(w.ReadTimeout.Milliseconds()),
		Headers: w.Headers, HTTPAuthenticationUsername: w.Username, EventsEnabled: w.EventsEnabled, Global: w.Global,
		TenantIDs: make([]string, len(w.TenantIDs)), Secret: w.Secret, Enabled: &enabled, DisabledReason: w.DisabledReason,
		SignatureConfiguration: &FASignatureConfig{Enabled: w.SignatureEnabled},
		InsertInstant:          w.Created.UnixMilli(), LastUpdateInstant: w.Updated.UnixMilli(),
	}
	for i, t := range w.TenantIDs {
		out.TenantIDs[i] = t.String()
	}
	if w.SigningKeyID != uuid.Nil {
		out.SignatureConfiguration.SigningKeyID = w.SigningKeyID.String()
	}
	if len(w.Data) > 0 && string(w.Data) != "{}" {
		_ = json.Unmarshal(w.Data, &out.Data)
	}
	if w.DisabledAt != nil {
		out.DisabledInstant = w.DisabledAt.UnixMilli()
	}
	if w.FailingSince != nil {
		out.FailingSinceInstant = w.FailingSince.UnixMilli()
	}
	return out
}

// webhookForMerge is the stored webhook as a request would carry it, with
// its credentials, for a PATCH to merge into.
func webhookForMerge(w *events.Webhook) FAWebhook {
	out := webhookToFA(w)
	out.HTTPAuthenticationPassword, out.Secret = w.Password, w.Secret
	out.DisabledReason, out.DisabledInstant, out.FailingSinceInstant, out.InsertInstant, out.LastUpdateInstant = "", 0, 0, 0, 0
	return out
}

func webhookFromFA(in *FAWebhook) (events.Webhook, error) {
	if in == nil {
		return events.Webhook{}, errs.Coded("missing", "webhook", "You must specify the [webhook] object.")
	}
	tenants, err := faUUIDs("webhook.tenantIds", in.TenantIDs)
	if err != nil {
		return events.Webhook{}, err
	}
	w := events.Webhook{
		URL: in.URL, Description: in.Description,
		ConnectTimeout: time.Duration(in.ConnectTimeout) * time.Millisecond, ReadTimeout: time.Duration(in.ReadTimeout) * time.Millisecond,
		Headers: in.Headers, Username: in.HTTPAuthenticationUsername, Password: in.HTTPAuthenticationPassword,
		EventsEnabled: in.EventsEnabled, Global: in.Global, TenantIDs: tenants, Secret: in.Secret,
		Enabled: in.Enabled == nil || *in.Enabled,
	}
	if in.Data != nil {
		if w.Data, err = json.Marshal(in.Data); err != nil {
			return w, errs.Coded("invalid", "webhook.data", "The [webhook.data] property is not a JSON object.")
		}
	}
	if sc := in.SignatureConfiguration; sc != nil {
		w.SignatureEnabled = sc.Enabled
		if sc.SigningKeyID != "" {
			id, err := uuid.Parse(sc.SigningKeyID)
			if err != nil {
				return w, errs.Coded("invalid", "webhook.signatureConfiguration.signingKeyId", "[%s] is not a UUID.", sc.SigningKeyID)
			}
			w.SigningKeyID = id
		}
	}
	return w, nil
}

func registerFAWebhooks(api huma.API, svc *events.Service) {
	c := faCRUD{api, "/api/webhook", tagWebhooks}
	one := faOne(webhookToFA, func(o *faWebhookOut, w FAWebhook) { o.Body.Webhook = w })
	faCreate(c, "createWebhook", "Create a webhook", "webhookId",
		func(ctx context.Context, id uuid.UUID, req FAWebhookRequest) (*faWebhookOut, error) {
			w, err := webhookFromFA(req.Webhook)
			if err != nil {
				return nil, err
			}
			w.ID = id
			return one(svc.CreateWebhook(ctx, w))
		})
	faRetrieve(c, "retrieveWebhook", "Retrieve a webhook",
		func(ctx context.Context, id uuid.UUID) (*faWebhookOut, error) { return one(svc.GetWebhook(ctx, id)) })
	faList(c, "retrieveWebhooks", "Retrieve every webhook",
		func(ctx context.Context, _ *struct{}) ([]*events.Webhook, error) { return svc.ListWebhooks(ctx) },
		webhookToFA, func(o *faWebhooksOut, ws []FAWebhook) { o.Body.Webhooks = ws })
	update := func(ctx context.Context, id uuid.UUID, req FAWebhookRequest) (*faWebhookOut, error) {
		w, err := webhookFromFA(req.Webhook)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateWebhook(ctx, id, w))
	}
	faUpdate(c, "updateWebhook", "Replace a webhook", update)
	faPatch(c, "patchWebhook", "Update a webhook by merging the body into it", "webhook",
		func(ctx context.Context, id uuid.UUID) (FAWebhookRequest, error) {
			cur, err := svc.WebhookForMerge(ctx, id)
			if err != nil {
				return FAWebhookRequest{}, err
			}
			return FAWebhookRequest{Webhook: ptr(webhookForMerge(cur))}, nil
		}, update)
	faDelete(c, "deleteWebhook", "Delete a webhook (its log stays)", svc.DeleteWebhook)
	registerFAWebhookSearch(api, svc)
}

// FAWebhookSearch is FusionAuth's webhook search criteria.
type FAWebhookSearch struct {
	Description     string `json:"description,omitempty"`
	URL             string `json:"url,omitempty"`
	TenantID        string `json:"tenantId,omitempty"`
	NumberOfResults *int   `json:"numberOfResults,omitempty" minimum:"0"`
	StartRow        int    `json:"startRow,omitempty" minimum:"0"`
	OrderBy         string `json:"orderBy,omitempty" doc:"description, id, insertInstant or url, then ASC (default) or DESC."`
}

func registerFAWebhookSearch(api huma.API, svc *events.Service) {
	search := func(ctx context.Context, q FAWebhookSearch) (*faWebhookSearchOut, error) {
		tenant, err := faQueryUUID("search.tenantId", q.TenantID)
		if err != nil {
			return nil, err
		}
		n := 25
		if q.NumberOfResults != nil {
			n = *q.NumberOfResults
		}
		ws, total, err := svc.SearchWebhooks(ctx, events.WebhookSearch{
			Description: faQueryValue(q.Description), URL: faQueryValue(q.URL), TenantID: tenant,
			OrderBy: faQueryValue(q.OrderBy), NumberOfResults: n, StartRow: q.StartRow,
		})
		if err != nil {
			return nil, err
		}
		out := &faWebhookSearchOut{}
		out.Body.Total, out.Body.Webhooks = total, mapAll(ws, webhookToFA)
		return out, nil
	}
	huma.Register(api, faOp(http.MethodPost, "/api/webhook/search", "searchWebhooks", "Search webhooks", tagWebhooks),
		func(ctx context.Context, in *struct {
			Body struct {
				Search FAWebhookSearch `json:"search"`
			}
		}) (*faWebhookSearchOut, error) {
			return search(ctx, in.Body.Search)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/webhook/search", "searchWebhooksByParameters", "Search webhooks by query parameters", tagWebhooks),
		func(ctx context.Context, in *struct {
			Description     string `query:"description"`
			URL             string `query:"url"`
			TenantID        string `query:"tenantId"`
			NumberOfResults string `query:"numberOfResults"`
			StartRow        string `query:"startRow"`
			OrderBy         string `query:"orderBy"`
		}) (*faWebhookSearchOut, error) {
			n, err := faQueryInt("numberOfResults", in.NumberOfResults, 25)
			if err != nil {
				return nil, err
			}
			start, err := faQueryInt("startRow", in.StartRow, 0)
			if err != nil {
				return nil, err
			}
			return search(ctx, FAWebhookSearch{Description: in.Description, URL: in.URL, TenantID: in.TenantID,
				NumberOfResults: &n, StartRow: start, OrderBy: in.OrderBy})
		})
}
