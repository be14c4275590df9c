package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions"
)

// UserAction is Waldur's UserAction model.
type UserAction struct {
	UUID                  string                         `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	ActionType            string                         `json:"action_type"`
	Title                 string                         `json:"title"`
	Description           string                         `json:"description"`
	Urgency               string                         `json:"urgency" enum:"high,medium,low"`
	DueDate               *time.Time                     `json:"due_date" nullable:"true"`
	DaysUntilDue          *int                           `json:"days_until_due" nullable:"true" doc:"Whole days from today to the due date; negative when overdue."`
	IsSilenced            bool                           `json:"is_silenced" doc:"Silenced for good."`
	SilencedUntil         *time.Time                     `json:"silenced_until" nullable:"true"`
	IsTemporarilySilenced bool                           `json:"is_temporarily_silenced"`
	IsEffectivelySilenced bool                           `json:"is_effectively_silenced"`
	RelatedObjectName     string                         `json:"related_object_name"`
	RelatedObjectType     string                         `json:"related_object_type" doc:"order or resource for the built-in providers."`
	CorrectiveActions     storedJSON[[]CorrectiveAction] `json:"corrective_actions"`
	RouteName             string                         `json:"route_name"`
	RouteParams           storedJSON[map[string]any]     `json:"route_params"`
	ProjectName           string                         `json:"project_name"`
	ProjectUUID           *string                        `json:"project_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	OrganizationName      string                         `json:"organization_name"`
	OrganizationUUID      *string                        `json:"organization_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	OfferingName          string                         `json:"offering_name"`
	OfferingUUID          *string                        `json:"offering_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	OfferingType          string                         `json:"offering_type"`
	ResourceName          string                         `json:"resource_name"`
	ResourceUUID          *string                        `json:"resource_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	OrderType             string                         `json:"order_type"`
	Created               time.Time                      `json:"created"`
	Modified              time.Time                      `json:"modified"`
}

// CorrectiveAction is Waldur's CorrectiveAction model.
type CorrectiveAction struct {
	Label                string         `json:"label"`
	Category             string         `json:"category" enum:"approve,backup,configure,contact,escalate,extend,migrate,monitor,reject,repair,terminate,view"`
	Severity             string         `json:"severity" enum:"critical,high,low,medium,safe"`
	Method               string         `json:"method"`
	APIEndpoint          bool           `json:"api_endpoint" doc:"true: POST execute_action with this label; false: navigate to route_name."`
	ConfirmationRequired bool           `json:"confirmation_required"`
	PermissionsRequired  []string       `json:"permissions_required"`
	Metadata             map[string]any `json:"metadata"`
	RouteName            *string        `json:"route_name" nullable:"true"`
	RouteParams          map[string]any `json:"route_params"`
}

// storedJSON passes JSON the engine stored (already in its wire shape:
// the engine normalises it when it writes) straight through, instead of
// decoding and re-encoding it for every action of a page.
type storedJSON[T any] json.RawMessage

// MarshalJSON writes the stored bytes.
func (j storedJSON[T]) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		var zero T
		return json.Marshal(zero)
	}
	return j, nil
}

// Schema declares the shape the stored JSON has: T's, never null (the
// engine always stores a list or an object).
func (storedJSON[T]) Schema(r huma.Registry) *huma.Schema {
	var zero T
	s := *r.Schema(reflect.TypeOf(zero), true, "")
	s.Nullable = false
	return &s
}

// appendJSON writes a as encoding/json would (see jsonAppender): a page of
// actions was a fifth of its CPU in reflection.
func (a UserAction) appendJSON(b []byte) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, key...)
		return appendJSONString(b, v)
	}
	optStr := func(b []byte, key string, v *string) []byte {
		if v == nil {
			return append(append(b, key...), "null"...)
		}
		return str(b, key, *v)
	}
	optTime := func(b []byte, key string, v *time.Time) []byte {
		b = append(b, key...)
		if v == nil {
			return append(b, "null"...)
		}
		return appendJSONTime(b, *v)
	}
	boolean := func(b []byte, key string, v bool) []byte {
		return strconv.AppendBool(append(b, key...), v)
	}
	b = str(b, `{"uuid":`, a.UUID)
	b = str(b, `,"action_type":`, a.ActionType)
	b = str(b, `,"title":`, a.Title)
	b = str(b, `,"description":`, a.Description)
	b = str(b, `,"urgency":`, a.Urgency)
	b = optTime(b, `,"due_date":`, a.DueDate)
	b = append(b, `,"days_until_due":`...)
	if a.DaysUntilDue == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONInt(b, int64(*a.DaysUntilDue))
	}
	b = boolean(b, `,"is_silenced":`, a.IsSilenced)
	b = optTime(b, `,"silenced_until":`, a.SilencedUntil)
	b = boolean(b, `,"is_temporarily_silenced":`, a.IsTemporarilySilenced)
	b = boolean(b, `,"is_effectively_silenced":`, a.IsEffectivelySilenced)
	b = str(b, `,"related_object_name":`, a.RelatedObjectName)
	b = str(b, `,"related_object_type":`, a.RelatedObjectType)
	b = appendStoredJSON(append(b, `,"corrective_actions":`...), a.CorrectiveActions, "null")
	b = str(b, `,"route_name":`, a.RouteName)
	b = appendStoredJSON(append(b, `,"route_params":`...), a.RouteParams, "null")
	b = str(b, `,"project_name":`, a.ProjectName)
	b = optStr(b, `,"project_uuid":`, a.ProjectUUID)
	b = str(b, `,"organization_name":`, a.OrganizationName)
	b = optStr(b, `,"organization_uuid":`, a.OrganizationUUID)
	b = str(b, `,"offering_name":`, a.OfferingName)
	b = optStr(b, `,"offering_uuid":`, a.OfferingUUID)
	b = str(b, `,"offering_type":`, a.OfferingType)
	b = str(b, `,"resource_name":`, a.ResourceName)
	b = optStr(b, `,"resource_uuid":`, a.ResourceUUID)
	b = str(b, `,"order_type":`, a.OrderType)
	b = optTime(b, `,"created":`, &a.Created)
	b = optTime(b, `,"modified":`, &a.Modified)
	return append(b, '}')
}

func userActionOut(a *useractions.Action, now time.Time) UserAction {
	return UserAction{
		UUID: HexUUID(a.UUID), ActionType: a.ActionType, Title: a.Title, Description: a.Description, Urgency: string(a.Urgency),
		DueDate: utcPtr(a.DueDate), DaysUntilDue: a.DaysUntilDue(now), IsSilenced: a.IsSilenced,
		SilencedUntil: utcPtr(a.SilencedUntil), IsTemporarilySilenced: a.IsTemporarilySilenced(now),
		IsEffectivelySilenced: a.IsEffectivelySilenced(now), RelatedObjectName: a.RelatedObjectName,
		RelatedObjectType: a.Object.Type, CorrectiveActions: storedJSON[[]CorrectiveAction](a.CorrectiveActions),
		RouteName: a.RouteName, RouteParams: storedJSON[map[string]any](a.RouteParams), ProjectName: a.ProjectName,
		ProjectUUID: hexPtr(a.ProjectUUID), OrganizationName: a.OrganizationName, OrganizationUUID: hexPtr(a.OrganizationUUID),
		OfferingName: a.OfferingName, OfferingUUID: hexPtr(a.OfferingUUID), OfferingType: a.OfferingType,
		ResourceName: a.ResourceName, ResourceUUID: hexPtr(a.ResourceUUID), OrderType: a.OrderType,
		Created: a.Created.UTC(), Modified: a.Modified.UTC(),
	}
}

// ActionFilters are the list, summary and bulk_silence filters.
type ActionFilters struct {
	ActionType      string       `query:"action_type" doc:"Exact action type, e.g. pending_order."`
	Urgency         string       `query:"urgency" enum:"high,medium,low" doc:"One urgency."`
	IncludeSilenced OptionalBool `query:"include_silenced" doc:"Include silenced actions (hidden by default)."`
	IsSilenced      OptionalBool `query:"is_silenced" doc:"Permanently silenced or not (combine with include_silenced=true)."`
	Overdue         OptionalBool `query:"overdue" doc:"Due date passed (true) or not (false)."`
	DueWithinDays   string       `query:"due_within_days" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"Enter a number." doc:"Due within this many days from now (a number; overdue ones included)."`
	CreatedAfter    string       `query:"created_after" format:"date-time"`
	CreatedBefore   string       `query:"created_before" format:"date-time"`
	UserUUID        string       `query:"user_uuid" doc:"Another user's actions: staff only (ignored for others)."`
}

func (in ActionFilters) filter() (useractions.Filter, error) {
	var f useractions.Filter
	var err error
	f.ActionType, f.Urgency = in.ActionType, in.Urgency
	inc, err := in.IncludeSilenced.Parse("include_silenced")
	if err != nil {
		return f, err
	}
	f.IncludeSilenced = inc != nil && *inc
	if f.IsSilenced, err = in.IsSilenced.Parse("is_silenced"); err != nil {
		return f, err
	}
	if f.Overdue, err = in.Overdue.Parse("overdue"); err != nil {
		return f, err
	}
	if in.DueWithinDays != "" {
		d, perr := strconv.ParseFloat(in.DueWithinDays, 64)
		if perr != nil {
			return f, errs.Field("due_within_days", "Enter a number.")
		}
		f.DueWithinDays = &d
	}
	for _, t := range []struct {
		name, v string
		dst     **time.Time
	}{{"created_after", in.CreatedAfter, &f.CreatedAfter}, {"created_before", in.CreatedBefore, &f.CreatedBefore}} {
		if t.v == "" {
			continue
		}
		v, perr := time.Parse(time.RFC3339Nano, t.v)
		if perr != nil {
			return f, errs.Field(t.name, "Enter a valid date/time.")
		}
		*t.dst = &v
	}
	if in.UserUUID != "" {
		u, perr := uuid.Parse(in.UserUUID)
		if perr != nil || len(in.UserUUID) != 32 && len(in.UserUUID) != 36 {
			return f, errs.Field("user_uuid", "Enter a valid UUID.")
		}
		f.UserUUID = &u
	}
	return f, nil
}

type actionListInput struct {
	ListParams
	ActionFilters
	O string `query:"o" doc:"Ordering: urgency (-urgency = most urgent first), due_date, created, modified, action_type. Default: most urgent, soonest due, newest."`
}

type actionPath struct {
	UUIDPath
	IncludeSilenced OptionalBool `query:"include_silenced" doc:"Find a silenced action too."`
}

// SilenceBody is Waldur's SilenceActionRequest.
type SilenceBody struct {
	DurationDays *int `json:"duration_days,omitempty" minimum:"1" maximum:"365" doc:"Days; leave out to silence for good."`
}

type silenceOut struct {
	Status       string `json:"status"`
	DurationDays *int   `json:"duration_days" nullable:"true"`
}

type bulkSilenceOut struct {
	Status       string `json:"status"`
	Count        int    `json:"count"`
	DurationDays *int   `json:"duration_days" nullable:"true"`
}

type actionSummary struct {
	Total     int            `json:"total"`
	Overdue   int            `json:"overdue"`
	ByUrgency map[string]int `json:"by_urgency"`
	ByType    map[string]int `json:"by_type"`
}

type executeOut struct {
	Action      string         `json:"action" enum:"completed,navigate"`
	Message     string         `json:"message"`
	Metadata    map[string]any `json:"metadata"`
	RouteName   *string        `json:"route_name,omitempty" doc:"Where a navigate action points."`
	RouteParams map[string]any `json:"route_params,omitempty"`
}

type updateActionsOut struct {
	Status             string  `json:"status"`
	Message            string  `json:"message"`
	ProviderActionType *string `json:"provider_action_type" nullable:"true"`
}

// UpdateActionsBody is Waldur's UpdateActionsRequest.
type UpdateActionsBody struct {
	ProviderActionType *string `json:"provider_action_type,omitempty" nullable:"true" doc:"Leave out or null to run every provider."`
}

// Execution is Waldur's UserActionExecution, with the action it was about.
type Execution struct {
	ID                    int64           `json:"id"`
	CorrectiveActionLabel string          `json:"corrective_action_label"`
	ExecutedAt            time.Time       `json:"executed_at"`
	Success               bool            `json:"success"`
	ErrorMessage          string          `json:"error_message"`
	ExecutionMetadata     string          `json:"execution_metadata" doc:"What the corrective action returned, as JSON text (Waldur's client types it a string)."`
	Metadata              json.RawMessage `json:"metadata" doc:"heed extension: the same, as a JSON object."`
	ActionUUID            string          `json:"action_uuid" pattern:"^[0-9a-f]{32}$" doc:"heed extension: the action, which may since be gone."`
	ActionType            string          `json:"action_type" doc:"heed extension."`
	ActionTitle           string          `json:"action_title" doc:"heed extension."`
	RelatedObjectType     string          `json:"related_object_type" doc:"heed extension."`
}

func executionOut(e *useractions.Execution) Execution {
	meta := e.Metadata
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return Execution{ID: e.ID, CorrectiveActionLabel: e.CorrectiveActionLabel, ExecutedAt: e.ExecutedAt.UTC(), Success: e.Success,
		ErrorMessage: e.ErrorMessage, ExecutionMetadata: string(meta), Metadata: meta, ActionUUID: HexUUID(e.ActionUUID), ActionType: e.ActionType,
		ActionTitle: e.ActionTitle, RelatedObjectType: e.Object.Type}
}

// ActionProvider is Waldur's UserActionProvider.
type ActionProvider struct {
	ID                  int64      `json:"id"`
	AppName             string     `json:"app_name"`
	ProviderClass       string     `json:"provider_class"`
	ActionType          string     `json:"action_type"`
	IsEnabled           bool       `json:"is_enabled"`
	Schedule            string     `json:"schedule"`
	LastExecution       *time.Time `json:"last_execution" nullable:"true"`
	LastExecutionStatus string     `json:"last_execution_status"`
}

func providerOut(p *useractions.ProviderInfo) ActionProvider {
	return ActionProvider{ID: p.ID, AppName: p.AppName, ProviderClass: p.ProviderClass, ActionType: p.ActionType,
		IsEnabled: p.IsEnabled, Schedule: p.Schedule, LastExecution: utcPtr(p.LastExecution), LastExecutionStatus: p.LastExecutionStatus}
}

// IDPath is an integer id in the path (executions and providers).
type IDPath struct {
	ID string `path:"id" doc:"Integer id."`
}

func (p IDPath) parse() (int64, error) {
	id, err := strconv.ParseInt(p.ID, 10, 64)
	if err != nil || id <= 0 {
		return 0, detailError(http.StatusNotFound, msgNotFound)
	}
	return id, nil
}

// executeError answers a corrective action that failed, or was not found:
// Waldur's clients read "error", DRF habits read "detail"; both are there.
type executeError struct {
	status int
	msg    string
}

func (e *executeError) Error() string  { return e.msg }
func (e *executeError) GetStatus() int { return e.status }

func (e *executeError) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"detail": e.msg, "error": e.msg})
}

// Schema documents the {"detail", "error"} body.
func (e *executeError) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, Required: []string{"detail", "error"}, Properties: map[string]*huma.Schema{
		"detail": {Type: huma.TypeString}, "error": {Type: huma.TypeString},
	}}
}

var actionsTag = []string{"user-actions"}

func registerUserActions(api huma.API, svc *useractions.Service) {
	registerList(api, huma.Operation{
		OperationID: "user_actions_list", Path: "/api/user-actions/", Summary: "List my actions",
		Description: "The caller's own actions, silenced ones hidden unless include_silenced=true; staff may pass user_uuid.",
		Tags:        actionsTag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *actionListInput, page db.Page) ([]UserAction, int, error) {
		f, err := in.filter()
		if err != nil {
			return nil, 0, err
		}
		f.Ordering = in.O
		list, total, err := svc.List(ctx, CurrentUser(ctx), f, page)
		if err != nil {
			return nil, 0, err
		}
		now := svc.DB.Now()
		return mapAll(list, func(a *useractions.Action) UserAction { return userActionOut(a, now) }), total, nil
	})
	type summaryInput struct {
		ActionFilters
	}
	summary := func(ctx context.Context, in *summaryInput) (useractions.Summary, error) {
		f, err := in.filter()
		if err != nil {
			return useractions.Summary{}, err
		}
		return svc.Summarize(ctx, CurrentUser(ctx), f)
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_summary_retrieve", Method: http.MethodGet, Path: "/api/user-actions/summary/",
		Summary: "Count my actions by urgency and type", Tags: actionsTag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized},
	}, func(ctx context.Context, in *summaryInput) (*body[actionSummary], error) {
		s, err := summary(ctx, in)
		if err != nil {
			return nil, err
		}
		return &body[actionSummary]{Body: actionSummary{Total: s.Total, Overdue: s.Overdue, ByUrgency: s.ByUrgency, ByType: s.ByType}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_summary_count", Method: http.MethodHead, Path: "/api/user-actions/summary/",
		Summary: "Count my actions (X-Result-Count: the total)", Tags: actionsTag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized},
	}, func(ctx context.Context, in *summaryInput) (*countOutput, error) {
		s, err := summary(ctx, in)
		if err != nil {
			return nil, err
		}
		return &countOutput{ResultCount: s.Total}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_retrieve", Method: http.MethodGet, Path: "/api/user-actions/{uuid}/",
		Summary: "Get one of my actions", Tags: actionsTag, Security: authRequired, Errors: errsRead,
	}, func(ctx context.Context, in *actionPath) (*body[UserAction], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		inc, err := in.IncludeSilenced.Parse("include_silenced")
		if err != nil {
			return nil, err
		}
		a, err := svc.Get(ctx, CurrentUser(ctx), id, inc != nil && *inc)
		if err != nil {
			return nil, err
		}
		return &body[UserAction]{Body: userActionOut(a, svc.DB.Now())}, nil
	})
	registerSilence(api, svc)
	registerExecute(api, svc)
	registerExecutions(api, svc)
	registerProviders(api, svc)
	registerSendNotification(api, svc)
}

func registerSilence(api huma.API, svc *useractions.Service) {
	type silenceInput struct {
		UUIDPath
		Body *SilenceBody `required:"false"`
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_silence", Method: http.MethodPost, Path: "/api/user-actions/{uuid}/silence/",
		Summary: "Silence one of my actions, for some days or for good", Tags: actionsTag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *silenceInput) (*body[silenceOut], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		var days *int
		if in.Body != nil {
			days = in.Body.DurationDays
		}
		if err := svc.Silence(ctx, CurrentUser(ctx), id, days); err != nil {
			return nil, err
		}
		return &body[silenceOut]{Body: silenceOut{Status: "silenced", DurationDays: days}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_unsilence", Method: http.MethodPost, Path: "/api/user-actions/{uuid}/unsilence/",
		Summary: "Lift a silence from one of my actions", Tags: actionsTag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *UUIDPath) (*body[Status], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		if err := svc.Unsilence(ctx, CurrentUser(ctx), id); err != nil {
			return nil, err
		}
		return &body[Status]{Body: Status{Status: "unsilenced"}}, nil
	})
	type bulkInput struct {
		ActionFilters
		Body *SilenceBody `required:"false"`
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_bulk_silence", Method: http.MethodPost, Path: "/api/user-actions/bulk_silence/",
		Summary: "Silence every one of my actions the filters match", Tags: actionsTag, Security: authRequired, Errors: errsWrite,
		Description: "Filters come from the query string, as on the list; only the caller's own actions are touched.",
	}, func(ctx context.Context, in *bulkInput) (*body[bulkSilenceOut], error) {
		f, err := in.filter()
		if err != nil {
			return nil, err
		}
		var days *int
		if in.Body != nil {
			days = in.Body.DurationDays
		}
		n, err := svc.BulkSilence(ctx, CurrentUser(ctx), f, days)
		if err != nil {
			return nil, err
		}
		return &body[bulkSilenceOut]{Body: bulkSilenceOut{Status: "bulk_silenced", Count: n, DurationDays: days}}, nil
	})
}

func registerExecute(api huma.API, svc *useractions.Service) {
	type executeInput struct {
		UUIDPath
		Body struct {
			ActionLabel string         `json:"action_label" minLength:"1" doc:"The label of one of the action's corrective actions."`
			Parameters  map[string]any `json:"parameters,omitempty" doc:"Optional, per action: Renew Resource takes extension_months or extension_days."`
		}
	}
	failure := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
			"application/json": {Schema: (&executeError{}).Schema(nil)},
		}}
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_execute_action", Method: http.MethodPost, Path: "/api/user-actions/{uuid}/execute_action/",
		Summary: "Execute a corrective action of one of my actions", Tags: actionsTag, Security: authRequired,
		Description: "API actions act through the same service calls as their endpoints (approve, reject, renew, terminate) and " +
			"need the same permissions; navigate actions answer where to go. Every attempt is recorded. A failed action answers " +
			"400 or 409 with detail and error; an unknown action or label 404 (detail and error too).",
		// Failures carry Waldur's "error" beside DRF's "detail"; a malformed
		// body is still an ordinary DRF 400.
		Responses: map[string]*huma.Response{
			"404": failure("The action is not yours or has no corrective action with that label."),
			"409": failure("The corrective action failed: the object moved on, or a permission is missing."),
			"500": failure("heed failed."),
		},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized},
	}, func(ctx context.Context, in *executeInput) (*body[executeOut], error) {
		id, err := in.parse()
		if err != nil {
			return nil, &executeError{status: http.StatusNotFound, msg: msgNotFound}
		}
		o, err := svc.Execute(ctx, CurrentUser(ctx), id, in.Body.ActionLabel, in.Body.Parameters)
		if err != nil {
			return nil, executeFailure(err)
		}
		return &body[executeOut]{Body: executeOut{Action: o.Action, Message: o.Message, Metadata: nonNil(o.Metadata),
			RouteName: o.RouteName, RouteParams: o.RouteParams}}, nil
	})
}

// executeFailure maps an execution's error: a failed corrective action is
// the caller's problem (400 bad input, 409 anything else: the order moved
// on, the permission is missing), never a 500 unless heed itself failed.
func executeFailure(err error) error {
	e, ok := errs.As(err)
	var exec *useractions.ExecutionError
	isExec := errorsAs(err, &exec)
	switch {
	case !isExec && ok && e.Kind == errs.NotFound:
		return &executeError{status: http.StatusNotFound, msg: e.Message}
	case !isExec:
		return err
	case ok && e.Kind == errs.Internal, !ok:
		return &executeError{status: http.StatusInternalServerError, msg: msgInternal}
	case e.Kind == errs.Invalid:
		return &executeError{status: http.StatusBadRequest, msg: domainMessage(e)}
	}
	return &executeError{status: http.StatusConflict, msg: domainMessage(e)}
}

func domainMessage(e *errs.Error) string {
	if e.Message != "" && len(e.Fields) == 0 {
		return e.Message
	}
	for f, msgs := range e.Fields {
		if len(msgs) > 0 {
			return fmt.Sprintf("%s: %s", f, msgs[0])
		}
	}
	return e.Message
}

func registerExecutions(api huma.API, svc *useractions.Service) {
	tag := []string{"user-action-executions"}
	type listInput struct {
		ListParams
		O string `query:"o" doc:"Ordering: executed_at (default -executed_at), corrective_action_label, success, id."`
	}
	registerList(api, huma.Operation{
		OperationID: "user_action_executions_list", Path: "/api/user-action-executions/", Summary: "List my executions",
		Description: "The audit trail of the caller's corrective-action executions; it outlives the actions.",
		Tags:        tag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listInput, page db.Page) ([]Execution, int, error) {
		list, total, err := svc.Executions(ctx, CurrentUser(ctx), in.O, page)
		if err != nil {
			return nil, 0, err
		}
		return mapAll(list, executionOut), total, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "user_action_executions_retrieve", Method: http.MethodGet, Path: "/api/user-action-executions/{id}/",
		Summary: "Get one of my executions", Tags: tag, Security: authRequired, Errors: errsRead,
	}, func(ctx context.Context, in *IDPath) (*body[Execution], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		e, err := svc.GetExecution(ctx, CurrentUser(ctx), id)
		if err != nil {
			return nil, err
		}
		return &body[Execution]{Body: executionOut(e)}, nil
	})
}

func registerProviders(api huma.API, svc *useractions.Service) {
	tag := []string{"user-action-providers"}
	errsStaff := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	registerList(api, huma.Operation{
		OperationID: "user_action_providers_list", Path: "/api/user-action-providers/", Summary: "List providers (staff)",
		Tags: tag, Security: authRequired, Errors: errsStaff,
	}, func(ctx context.Context, in *ListParams, page db.Page) ([]ActionProvider, int, error) {
		list, total, err := svc.Providers(ctx, CurrentUser(ctx), page)
		if err != nil {
			return nil, 0, err
		}
		return mapAll(list, providerOut), total, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "user_action_providers_retrieve", Method: http.MethodGet, Path: "/api/user-action-providers/{id}/",
		Summary: "Get a provider (staff)", Tags: tag, Security: authRequired, Errors: errsStaff,
	}, func(ctx context.Context, in *IDPath) (*body[ActionProvider], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		p, err := svc.GetProvider(ctx, CurrentUser(ctx), id)
		if err != nil {
			return nil, err
		}
		return &body[ActionProvider]{Body: providerOut(p)}, nil
	})
	type patchInput struct {
		IDPath
		Body struct {
			IsEnabled bool `json:"is_enabled"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_action_providers_partial_update", Method: http.MethodPatch, Path: "/api/user-action-providers/{id}/",
		Summary: "Enable or disable a provider (staff; heed extension)", Tags: tag, Security: authRequired, Errors: errsStaff,
		Description: "A disabled provider is not run, on its schedule or on changes; its actions stay as they were.",
	}, func(ctx context.Context, in *patchInput) (*body[ActionProvider], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		p, err := svc.SetProviderEnabled(ctx, CurrentUser(ctx), id, in.Body.IsEnabled)
		if err != nil {
			return nil, err
		}
		return &body[ActionProvider]{Body: providerOut(p)}, nil
	})
	type updateInput struct {
		Body *UpdateActionsBody `required:"false"`
	}
	scheduled := func(t *string, msg string) *updateOutput {
		out := &updateOutput{}
		out.Body = updateActionsOut{Status: "scheduled", Message: msg, ProviderActionType: t}
		return out
	}
	huma.Register(api, huma.Operation{
		OperationID: "user_actions_update_actions", Method: http.MethodPost, Path: "/api/user-actions/update_actions/",
		DefaultStatus: http.StatusAccepted, Summary: "Run detection for everyone (staff)", Tags: actionsTag,
		Security: authRequired, Errors: errsStaff,
	}, func(ctx context.Context, in *updateInput) (*updateOutput, error) {
		t := providerType(in.Body)
		if _, err := svc.RequestUpdate(ctx, CurrentUser(ctx), deref(t), nil); err != nil {
			return nil, err
		}
		return scheduled(t, "User actions update has been scheduled"), nil
	})
	type userUpdateInput struct {
		UserPath
		Body *UpdateActionsBody `required:"false"`
	}
	huma.Register(api, huma.Operation{
		OperationID: "users_update_actions", Method: http.MethodPost, Path: "/api/users/{uuid}/update_actions/",
		DefaultStatus: http.StatusAccepted, Summary: "Run detection for one user (staff)", Tags: usersTag,
		Security: authRequired, Errors: errsStaff,
	}, func(ctx context.Context, in *userUpdateInput) (*updateOutput, error) {
		id, err := ParseUUID(in.UUID)
		if err != nil {
			return nil, err
		}
		t := providerType(in.Body)
		u, err := svc.RequestUpdate(ctx, CurrentUser(ctx), deref(t), &id)
		if err != nil {
			return nil, err
		}
		return scheduled(t, "User actions update for "+u.Username+" has been scheduled"), nil
	})
}

// registerSendNotification adds the staff-only digest for one user.
func registerSendNotification(api huma.API, svc *useractions.Service) {
	type sendOut struct {
		Body struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "users_send_notification", Method: http.MethodPost, Path: "/api/users/{uuid}/send_notification/",
		DefaultStatus: http.StatusAccepted, Summary: "Send a user the digest of their actions now (staff)", Tags: usersTag,
		Description: "Sent by a background job, whatever the thresholds; a user who opted out or has no visible action gets none.",
		Security:    authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *UserPath) (*sendOut, error) {
		id, err := ParseUUID(in.UUID)
		if err != nil {
			return nil, err
		}
		u, err := svc.SendNotification(ctx, CurrentUser(ctx), id)
		if err != nil {
			return nil, err
		}
		out := &sendOut{}
		out.Body.Status, out.Body.Message = "scheduled", "Notification for "+u.Username+" has been scheduled"
		return out, nil
	})
}

type updateOutput struct {
	Body updateActionsOut
}

func providerType(b *UpdateActionsBody) *string {
	if b == nil || b.ProviderActionType == nil || *b.ProviderActionType == "" {
		return nil
	}
	return b.ProviderActionType
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
