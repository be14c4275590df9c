package api

import (
	"reflect"
	"sort"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/events"
)

// eventEnvelope is what every event carries beside its own fields.
type eventEnvelope struct {
	Type           string `json:"type" doc:"The event type."`
	ID             string `json:"id" format:"uuid" doc:"The event id: the same on every retry and replay (also the webhook-id header); deduplicate on it."`
	CreateInstant  int64  `json:"createInstant" doc:"When the event was created, epoch ms, read inside the change's transaction."`
	TenantID       string `json:"tenantId" format:"uuid"`
	LinkedObjectID string `json:"linkedObjectId,omitempty" format:"uuid" doc:"The object the event is about."`
}

// eventPayloads are the documented bodies by event type.
var eventPayloads = map[string]any{
	events.TypeResourceVersionCreate: events.ResourceVersionCreated{},
	events.TypeOrderStateChanged:     events.OrderStateChanged{},
	events.TypeUserActionCreated:     events.UserActionChanged{},
	events.TypeUserActionResolved:    events.UserActionChanged{},
	events.TypeUserActionSilenced:    events.UserActionChanged{},
	events.TypeUserAction:            actioning.UserActionEvent{},
}

// documentEvents fills the document's webhooks section (OpenAPI 3.1): one
// POST per event type, with the body heed delivers and the headers it signs
// with.
func documentEvents(api huma.API) {
	reg := api.OpenAPI().Components.Schemas
	env := reg.Schema(reflect.TypeOf(eventEnvelope{}), false, "")
	types := make([]string, 0, len(eventPayloads))
	for t := range eventPayloads {
		types = append(types, t)
	}
	sort.Strings(types)
	hooks := map[string]*huma.PathItem{}
	for _, t := range types {
		own := reg.Schema(reflect.TypeOf(eventPayloads[t]), false, "")
		ev := &huma.Schema{Type: huma.TypeObject, Properties: map[string]*huma.Schema{}, Required: []string{}}
		for _, s := range []*huma.Schema{env, own} {
			for k, p := range s.Properties {
				ev.Properties[k] = p
			}
			ev.Required = append(ev.Required, s.Required...)
		}
		typ := *ev.Properties["type"]
		typ.Enum = []any{t}
		ev.Properties["type"] = &typ
		header := func(name, doc string) *huma.Param {
			return &huma.Param{Name: name, In: "header", Description: doc, Schema: &huma.Schema{Type: huma.TypeString}}
		}
		hooks[t] = &huma.PathItem{Post: &huma.Operation{
			OperationID: "event-" + t,
			Summary:     "The " + t + " event",
			Description: "POSTed to every enabled webhook whose eventsEnabled has the type, for tenants that enable it. " +
				"Retried with backoff until a 2xx; the same id and bytes every time.",
			Tags: []string{tagWebhooks},
			Parameters: []*huma.Param{
				header("webhook-id", "Standard Webhooks: the event id."),
				header("webhook-timestamp", "Standard Webhooks: the attempt's time, Unix seconds."),
				header("webhook-signature", "Standard Webhooks: v1,<base64 HMAC-SHA256 of \"id.timestamp.body\"> with the webhook's secret."),
				header("X-FusionAuth-Signature-JWT", "When signatureConfiguration.enabled: a JWS whose claim request_body_sha256 is the base64 SHA-256 of the body."),
			},
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
				Type: huma.TypeObject, Required: []string{"event"}, Properties: map[string]*huma.Schema{"event": ev},
			}}}},
			Responses: map[string]*huma.Response{"200": {Description: "Any 2xx acknowledges the delivery; anything else, a timeout or no answer is retried (410 Gone disables the webhook)."}},
		}}
	}
	api.OpenAPI().Webhooks = hooks
}
