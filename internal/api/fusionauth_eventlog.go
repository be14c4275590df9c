package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagEventLog = "FusionAuth: event logs"

// FAWebhookEventLog is one event in the Webhook Event Log. heed's result
// differs from FusionAuth's in one way: Running lasts until every delivery
// has succeeded (Succeeded) or one has given up (Failed), because heed
// retries every delivery durably; FusionAuth marks non-transactional
// events Succeeded once sent.
type FAWebhookEventLog struct {
	ID                 string                     `json:"id"`
	EventType          string                     `json:"eventType"`
	Event              storedJSON[map[string]any] `json:"event" doc:"The payload as delivered: {\"event\": {...}}."`
	EventResult        string                     `json:"eventResult" enum:"Running,Succeeded,Failed"`
	Attempts           []FAWebhookAttemptLog      `json:"attempts,omitempty"`
	SuccessfulAttempts int                        `json:"successfulAttempts"`
	FailedAttempts     int                        `json:"failedAttempts"`
	LinkedObjectID     string                     `json:"linkedObjectId,omitempty"`
	Sequence           int64                      `json:"sequence"`
	TransactionType    string                     `json:"transactionType" doc:"heed: the level the event was delivered under."`
	WebhookIDs         []string                   `json:"webhookIds" doc:"heed: the webhooks the event went to."`
	InsertInstant      int64                      `json:"insertInstant"`
	LastAttemptInstant int64                      `json:"lastAttemptInstant,omitempty"`
	LastUpdateInstant  int64                      `json:"lastUpdateInstant"`
}

// FAWebhookAttemptLog is one HTTP call of a delivery.
type FAWebhookAttemptLog struct {
	ID                  string                `json:"id"`
	WebhookEventLogID   string                `json:"webhookEventLogId,omitempty"`
	WebhookID           string                `json:"webhookId"`
	StartInstant        int64                 `json:"startInstant"`
	EndInstant          int64                 `json:"endInstant"`
	AttemptResult       string                `json:"attemptResult" enum:"Success,Failure,Unknown"`
	WebhookCallResponse FAWebhookCallResponse `json:"webhookCallResponse"`
}

// FAWebhookCallResponse is what the receiver answered.
type FAWebhookCallResponse struct {
	StatusCode int    `json:"statusCode,omitempty"`
	URL        string `json:"url,omitempty"`
	Exception  string `json:"exception,omitempty"`
}

func attemptToFA(a *events.AttemptLog, nested bool) FAWebhookAttemptLog {
	out := FAWebhookAttemptLog{ID: a.ID.String(), WebhookID: a.WebhookID.String(), StartInstant: a.Start.UnixMilli(),
		EndInstant: a.End.UnixMilli(), AttemptResult: a.Result,
		WebhookCallResponse: FAWebhookCallResponse{StatusCode: a.StatusCode, URL: a.URL, Exception: a.Exception}}
	if !nested {
		out.WebhookEventLogID = a.EventID.String()
	}
	return out
}

func eventLogToFA(e *events.EventLog) FAWebhookEventLog {
	out := FAWebhookEventLog{ID: e.ID.String(), EventType: e.Type, Event: storedJSON[map[string]any](e.Body), EventResult: e.Result,
		SuccessfulAttempts: e.SuccessfulAttempts, FailedAttempts: e.FailedAttempts, Sequence: e.Sequence,
		TransactionType: string(e.TransactionType), WebhookIDs: make([]string, len(e.WebhookIDs)),
		InsertInstant: e.Created.UnixMilli(), LastUpdateInstant: e.Updated.UnixMilli()}
	for i, id := range e.WebhookIDs {
		out.WebhookIDs[i] = id.String()
	}
	if e.LinkedObjectID != uuid.Nil {
		out.LinkedObjectID = e.LinkedObjectID.String()
	}
	if e.LastAttempt != nil {
		out.LastAttemptInstant = e.LastAttempt.UnixMilli()
	}
	for _, a := range e.Attempts {
		out.Attempts = append(out.Attempts, attemptToFA(a, true))
	}
	return out
}

type faEventLogOut struct {
	Body struct {
		WebhookEventLog FAWebhookEventLog `json:"webhookEventLog"`
	}
}

// FAEventLogSearch is the webhook event log search criteria.
type FAEventLogSearch struct {
	Start           int64  `json:"start,omitempty" doc:"Epoch ms; default an hour ago, rounded down to the minute."`
	End             int64  `json:"end,omitempty" doc:"Epoch ms; default now, rounded up to the minute."`
	Event           string `json:"event,omitempty" doc:"Matches within the payload; * is a wildcard."`
	EventResult     string `json:"eventResult,omitempty" enum:"Running,Succeeded,Failed"`
	EventType       string `json:"eventType,omitempty"`
	NumberOfResults int    `json:"numberOfResults,omitempty" minimum:"0"`
	StartRow        int    `json:"startRow,omitempty" minimum:"0"`
	OrderBy         string `json:"orderBy,omitempty" doc:"eventResult, eventType, id, insertInstant, lastAttemptInstant, linkedObjectId or sequence, then ASC or DESC (default insertInstant DESC)."`
}

type faEventLogSearchOut struct {
	Body struct {
		Total            int                 `json:"total"`
		WebhookEventLogs []FAWebhookEventLog `json:"webhookEventLogs"`
	}
}

// faAttemptLogOut is an alias, not a defined type: the response body stays
// anonymous, so the document names its schema after the operation
// (RetrieveWebhookAttemptLogResponse).
type faAttemptLogOut = struct {
	Body struct {
		WebhookAttemptLog FAWebhookAttemptLog `json:"webhookAttemptLog"`
	}
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func registerFAEventLog(api huma.API, svc *events.Service) {
	one := faOne(eventLogToFA, func(o *faEventLogOut, e FAWebhookEventLog) { o.Body.WebhookEventLog = e })
	faRetrieve(faCRUD{api, "/api/system/webhook-event-log", tagEventLog}, "retrieveWebhookEventLog",
		"Retrieve an event with its delivery attempts",
		func(ctx context.Context, id uuid.UUID) (*faEventLogOut, error) { return one(svc.GetEventLog(ctx, id)) })
	faRetrieve(faCRUD{api, "/api/system/webhook-attempt-log", tagEventLog}, "retrieveWebhookAttemptLog",
		"Retrieve one delivery attempt",
		func(ctx context.Context, id uuid.UUID) (*faAttemptLogOut, error) {
			a, err := svc.GetAttemptLog(ctx, id)
			if err != nil {
				return nil, err
			}
			out := &faAttemptLogOut{}
			out.Body.WebhookAttemptLog = attemptToFA(a, false)
			return out, nil
		})
	registerFAEventLogSearch(api, svc)
	huma.Register(api, faOp(http.MethodPost, "/api/system/webhook-event-log/{id}/replay", "replayWebhookEvent",
		"heed: deliver a logged event again (same id and bytes) to one or all of its webhooks", tagEventLog, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body *struct {
				WebhookID string `json:"webhookId,omitempty" doc:"Replay to this webhook only; default every webhook the event went to that is still enabled."`
			}
		}) (*faEventLogOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			var hook uuid.UUID
			if in.Body != nil {
				if hook, err = faQueryUUID("webhookId", in.Body.WebhookID); err != nil {
					return nil, err
				}
			}
			if _, err := svc.Replay(ctx, id, hook); err != nil {
				return nil, err
			}
			return one(svc.GetEventLog(ctx, id))
		})
	registerFASystemLog(api, svc)
}

func registerFAEventLogSearch(api huma.API, svc *events.Service) {
	search := func(ctx context.Context, q FAEventLogSearch) (*faEventLogSearchOut, error) {
		es, total, err := svc.SearchEventLogs(ctx, events.EventLogSearch{
			Start: millis(q.Start), End: millis(q.End), Event: faQueryValue(q.Event), Result: faQueryValue(q.EventResult),
			Type: faQueryValue(q.EventType), OrderBy: faQueryValue(q.OrderBy), NumberOfResults: q.NumberOfResults, StartRow: q.StartRow,
		})
		if err != nil {
			return nil, err
		}
		out := &faEventLogSearchOut{}
		out.Body.Total, out.Body.WebhookEventLogs = total, mapAll(es, eventLogToFA)
		return out, nil
	}
	huma.Register(api, faOp(http.MethodPost, "/api/system/webhook-event-log/search", "searchWebhookEventLogs",
		"Search the webhook event log", tagEventLog),
		func(ctx context.Context, in *struct {
			Body struct {
				Search FAEventLogSearch `json:"search"`
			}
		}) (*faEventLogSearchOut, error) {
			return search(ctx, in.Body.Search)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/system/webhook-event-log/search", "searchWebhookEventLogsByParameters",
		"Search the webhook event log by query parameters", tagEventLog),
		func(ctx context.Context, in *struct {
			Start           string `query:"start"`
			End             string `query:"end"`
			Event           string `query:"event"`
			EventResult     string `query:"eventResult"`
			EventType       string `query:"eventType"`
			NumberOfResults string `query:"numberOfResults"`
			StartRow        string `query:"startRow"`
			OrderBy         string `query:"orderBy"`
		}) (*faEventLogSearchOut, error) {
			q := FAEventLogSearch{Event: in.Event, EventResult: in.EventResult, EventType: in.EventType, OrderBy: in.OrderBy}
			var err error
			for _, p := range []struct {
				name, v string
				dst     *int64
			}{{"start", in.Start, &q.Start}, {"end", in.End, &q.End}} {
				if v := faQueryValue(p.v); v != "" {
					if *p.dst, err = strconv.ParseInt(v, 10, 64); err != nil || *p.dst < 0 {
						return nil, errs.Coded("invalid", p.name, "The [%s] parameter must be an instant in epoch milliseconds.", p.name)
					}
				}
			}
			if q.NumberOfResults, err = faQueryInt("numberOfResults", in.NumberOfResults, 25); err != nil {
				return nil, err
			}
			if q.StartRow, err = faQueryInt("startRow", in.StartRow, 0); err != nil {
				return nil, err
			}
			return search(ctx, q)
		})
}

// FAEventLog is one entry of FusionAuth's system Event Log.
type FAEventLog struct {
	ID            int64  `json:"id"`
	InsertInstant int64  `json:"insertInstant"`
	Message       string `json:"message"`
	Type          string `json:"type" enum:"Information,Debug,Error"`
}

func systemLogToFA(e *events.SystemLogEntry) FAEventLog {
	return FAEventLog{ID: e.ID, InsertInstant: e.Created.UnixMilli(), Message: e.Message, Type: e.Type}
}

func registerFASystemLog(api huma.API, svc *events.Service) {
	huma.Register(api, faOp(http.MethodGet, "/api/system/event-log/{id}", "retrieveEventLog",
		"Retrieve a system event log entry", tagEventLog, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			ID int64 `path:"id" minimum:"1"`
		}) (*struct {
			Body struct {
				EventLog FAEventLog `json:"eventLog"`
			}
		}, error) {
			e, err := svc.GetSystemLog(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					EventLog FAEventLog `json:"eventLog"`
				}
			}{}
			out.Body.EventLog = systemLogToFA(e)
			return out, nil
		})
	huma.Register(api, faOp(http.MethodPost, "/api/system/event-log/search", "searchEventLogs",
		"Search the system event log (deliveries that gave up, webhooks disabled)", tagEventLog),
		func(ctx context.Context, in *struct {
			Body struct {
				Search struct {
					Start           int64  `json:"start,omitempty"`
					End             int64  `json:"end,omitempty"`
					Message         string `json:"message,omitempty"`
					Type            string `json:"type,omitempty" enum:"Information,Debug,Error"`
					NumberOfResults int    `json:"numberOfResults,omitempty" minimum:"0"`
					StartRow        int    `json:"startRow,omitempty" minimum:"0"`
					OrderBy         string `json:"orderBy,omitempty"`
				} `json:"search"`
			}
		}) (*struct {
			Body struct {
				EventLogs []FAEventLog `json:"eventLogs"`
				Total     int          `json:"total"`
			}
		}, error) {
			q := in.Body.Search
			es, total, err := svc.SearchSystemLog(ctx, events.SystemLogSearch{Start: millis(q.Start), End: millis(q.End),
				Message: q.Message, Type: q.Type, OrderBy: q.OrderBy, NumberOfResults: q.NumberOfResults, StartRow: q.StartRow})
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					EventLogs []FAEventLog `json:"eventLogs"`
					Total     int          `json:"total"`
				}
			}{}
			out.Body.EventLogs, out.Body.Total = mapAll(es, systemLogToFA), total
			return out, nil
		})
}
