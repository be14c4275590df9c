package api

import (
	"context"
	"math"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagActioning = "FusionAuth: actioning users"

// FAActionData is the action part of FusionAuth's ActionRequest.
type FAActionData struct {
	UserActionID   string   `json:"userActionId,omitempty"`
	ActioneeUserID string   `json:"actioneeUserId,omitempty"`
	ActionerUserID string   `json:"actionerUserId,omitempty"`
	ApplicationIDs []string `json:"applicationIds,omitempty"`
	Comment        string   `json:"comment,omitempty"`
	EmailUser      bool     `json:"emailUser,omitempty"`
	NotifyUser     bool     `json:"notifyUser,omitempty"`
	// Expiry is a number: 2^63-1 ("never") arrives from JavaScript as
	// 9223372036854776000, which no int64 holds.
	Expiry   *float64 `json:"expiry,omitempty" doc:"An instant in epoch milliseconds; 9223372036854775807 means until cancelled or modified."`
	Option   *string  `json:"option,omitempty"`
	ReasonID string   `json:"reasonId,omitempty"`
}

// FAActionRequest is FusionAuth's ActionRequest.
type FAActionRequest struct {
	Broadcast bool           `json:"broadcast,omitempty" doc:"Send the user.action event to webhooks."`
	EventInfo map[string]any `json:"eventInfo,omitempty"`
	Action    *FAActionData  `json:"action,omitempty"`
}

// FAUserActionLog is FusionAuth's action instance.
type FAUserActionLog struct {
	ID              string           `json:"id"`
	UserActionID    string           `json:"userActionId"`
	ActioneeUserID  string           `json:"actioneeUserId"`
	ActionerUserID  string           `json:"actionerUserId,omitempty"`
	ApplicationIDs  []string         `json:"applicationIds"`
	Comment         string           `json:"comment,omitempty"`
	EmailUserOnEnd  bool             `json:"emailUserOnEnd"`
	NotifyUserOnEnd bool             `json:"notifyUserOnEnd"`
	EndEventSent    *bool            `json:"endEventSent,omitempty"`
	Expiry          *int64           `json:"expiry,omitempty"`
	InsertInstant   int64            `json:"insertInstant"`
	Name            string           `json:"name"`
	LocalizedName   string           `json:"localizedName"`
	Option          string           `json:"option,omitempty"`
	LocalizedOption string           `json:"localizedOption,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	LocalizedReason string           `json:"localizedReason,omitempty"`
	ReasonCode      string           `json:"reasonCode,omitempty"`
	History         *FAActionHistory `json:"history,omitempty"`
}

// FAActionHistory holds the states an instance had before each change.
type FAActionHistory struct {
	HistoryItems []FAActionHistoryItem `json:"historyItems"`
}

// FAActionHistoryItem is one replaced state.
type FAActionHistoryItem struct {
	ActionerUserID string `json:"actionerUserId,omitempty"`
	Comment        string `json:"comment,omitempty"`
	CreateInstant  int64  `json:"createInstant"`
	Expiry         *int64 `json:"expiry,omitempty"`
}

type faActionOut struct {
	Body struct {
		Action FAUserActionLog `json:"action"`
	}
}

func instanceToFA(in *actioning.Instance, langs []string, withHistory bool) FAUserActionLog {
	d := in.Definition()
	out := FAUserActionLog{ID: in.ID.String(), UserActionID: in.DefinitionID.String(), ActioneeUserID: in.ActioneeID.String(),
		ActionerUserID: idString(in.ActionerID), ApplicationIDs: make([]string, len(in.ApplicationIDs)), Comment: in.Comment,
		EmailUserOnEnd: in.EmailUserOnEnd, NotifyUserOnEnd: in.NotifyUserOnEnd, EndEventSent: in.EndEventSent, Expiry: in.Expiry,
		InsertInstant: in.Created.UnixMilli(), Name: d.Name, LocalizedName: actioning.Localize(d.Name, d.LocalizedNames, langs),
		Option: in.Option, Reason: in.Reason, ReasonCode: in.ReasonCode}
	for i, a := range in.ApplicationIDs {
		out.ApplicationIDs[i] = a.String()
	}
	if in.Option != "" {
		out.LocalizedOption = in.Option
		if o, ok := d.HasOption(in.Option); ok {
			out.LocalizedOption = actioning.Localize(o.Name, o.LocalizedNames, langs)
		}
	}
	if in.Reason != "" {
		out.LocalizedReason = actioning.Localize(in.Reason, in.LocalizedReasons, langs)
	}
	if withHistory {
		out.History = &FAActionHistory{HistoryItems: []FAActionHistoryItem{}}
		for _, h := range in.History {
			out.History.HistoryItems = append(out.History.HistoryItems, FAActionHistoryItem{
				ActionerUserID: idString(h.ActionerID), Comment: h.Comment, CreateInstant: h.Created.UnixMilli(), Expiry: h.Expiry})
		}
	}
	return out
}

// actioningRequest converts the wire request; path fills a missing
// actionee (older Go clients POST to /api/user/action/{actioneeUserId}).
func actioningRequest(ctx context.Context, req FAActionRequest, path uuid.UUID) (actioning.Request, error) {
	if req.Action == nil {
		return actioning.Request{}, errs.Coded("missing", "action", "You must specify the [action] object.")
	}
	a := req.Action
	out := actioning.Request{Broadcast: req.Broadcast, Info: req.EventInfo, ClientAddr: clientAddr(ctx), Comment: a.Comment,
		EmailUser: a.EmailUser, NotifyUser: a.NotifyUser, Option: a.Option}
	e := &errs.Error{Kind: errs.Invalid}
	for _, f := range []struct {
		field, v string
		dst      *uuid.UUID
	}{{"action.userActionId", a.UserActionID, &out.DefinitionID}, {"action.actioneeUserId", a.ActioneeUserID, &out.ActioneeID},
		{"action.actionerUserId", a.ActionerUserID, &out.ActionerID}, {"action.reasonId", a.ReasonID, &out.ReasonID}} {
		id, err := optionalUUID(f.field, f.v)
		if err != nil {
			e.Add("invalid", f.field, "[%s] is not a UUID.", f.v)
		}
		*f.dst = id
	}
	if path != uuid.Nil {
		if out.ActioneeID == uuid.Nil {
			out.ActioneeID = path
		} else if out.ActioneeID != path {
			e.Add("invalid", "action.actioneeUserId", "The [action.actioneeUserId] property does not match the user in the path.")
		}
	}
	for _, s := range a.ApplicationIDs {
		id, err := uuid.Parse(s)
		if err != nil {
			e.Add("invalid", "action.applicationIds", "[%s] is not a UUID.", s)
			continue
		}
		out.ApplicationIDs = append(out.ApplicationIDs, id)
	}
	if a.Expiry != nil {
		x := *a.Expiry
		switch {
		case math.IsNaN(x) || x < 0 || x != math.Trunc(x):
			e.Add("invalid", "action.expiry", "The [action.expiry] property must be an instant in epoch milliseconds.")
		case x >= float64(actioning.ForeverThreshold):
			v := actioning.Forever
			out.Expiry = &v
		default:
			v := int64(x)
			out.Expiry = &v
		}
	}
	return out, e.OrNil()
}

func (u *faUsers) languages(ctx context.Context, id uuid.UUID) []string {
	if u == nil || u.lookup == nil {
		return nil
	}
	return u.lookup(ctx, id)
}

// faUsers resolves a user's preferred languages for localized names.
type faUsers struct {
	lookup func(context.Context, uuid.UUID) []string
}

func registerFAActioning(api huma.API, svc *actioning.Service, users *faUsers) {
	one := func(ctx context.Context, in *actioning.Instance, err error, withHistory bool) (*faActionOut, error) {
		if err != nil {
			return nil, err
		}
		out := &faActionOut{}
		out.Body.Action = instanceToFA(in, users.languages(ctx, in.ActioneeID), withHistory)
		return out, nil
	}
	take := func(ctx context.Context, body FAActionRequest, path uuid.UUID) (*faActionOut, error) {
		req, err := actioningRequest(ctx, body, path)
		if err != nil {
			return nil, err
		}
		if err := usersInScope(ctx, req); err != nil {
			return nil, err
		}
		in, err := svc.Take(ctx, req)
		return one(ctx, in, err, false)
	}
	huma.Register(api, faOp(http.MethodPost, "/api/user/action", "actionUser", "Take an action on a user", tagActioning, http.StatusGatewayTimeout),
		func(ctx context.Context, in *struct{ Body FAActionRequest }) (*faActionOut, error) {
			return take(ctx, in.Body, uuid.Nil)
		})
	huma.Register(api, faOp(http.MethodPost, "/api/user/action/{id}", "actionUserById",
		"Take an action on the user in the path (older FusionAuth clients)", tagActioning, http.StatusGatewayTimeout),
		func(ctx context.Context, in *struct {
			FAOptionalIDPath
			Body FAActionRequest
		}) (*faActionOut, error) {
			id, err := in.parse("action.actioneeUserId")
			if err != nil {
				return nil, err
			}
			return take(ctx, in.Body, id)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/user/action/{id}", "retrieveAction", "Retrieve an action with its history", tagActioning, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*faActionOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			inst, err := svc.GetInstance(ctx, id, true)
			if err == nil {
				err = instanceInScope(ctx)
			}
			return one(ctx, inst, err, true)
		})

	huma.Register(api, faOp(http.MethodGet, "/api/user/action", "retrieveActions",
		"A user's actions: all, active=true, active=false or preventingLogin=true", tagActioning, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			UserID          string `query:"userId" doc:"Required."`
			Active          string `query:"active"`
			PreventingLogin string `query:"preventingLogin"`
		}) (*faActionsOut, error) {
			f, err := instanceFilter(in.UserID, in.Active, in.PreventingLogin)
			if err != nil {
				return nil, err
			}
			if err := instanceInScope(ctx); err != nil {
				return nil, err
			}
			list, err := svc.ListInstances(ctx, f)
			if err != nil {
				return nil, err
			}
			langs := users.languages(ctx, f.UserID)
			out := &faActionsOut{}
			out.Body.Actions = make([]FAUserActionLog, 0, len(list))
			for _, inst := range list {
				out.Body.Actions = append(out.Body.Actions, instanceToFA(inst, langs, true))
			}
			return out, nil
		})
	change := func(do func(context.Context, uuid.UUID, actioning.Request) (*actioning.Instance, error)) func(context.Context, *struct {
		FAIDPath
		Body FAActionRequest
	}) (*faActionOut, error) {
		return func(ctx context.Context, in *struct {
			FAIDPath
			Body FAActionRequest
		}) (*faActionOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			req, err := actioningRequest(ctx, in.Body, uuid.Nil)
			if err != nil {
				return nil, err
			}
			if err := instanceInScope(ctx); err != nil {
				return nil, err
			}
			if err := usersInScope(ctx, actioning.Request{ActionerID: req.ActionerID}); err != nil {
				return nil, err
			}
			inst, err := do(ctx, id, req)
			return one(ctx, inst, err, true)
		}
	}
	huma.Register(api, faOp(http.MethodPut, "/api/user/action/{id}", "modifyAction", "Modify an active temporal action (new expiry, comment)",
		tagActioning, http.StatusNotFound, http.StatusGatewayTimeout), change(svc.Modify))
	huma.Register(api, faOp(http.MethodDelete, "/api/user/action/{id}", "cancelAction", "Cancel an active temporal action (the request carries a JSON body)",
		tagActioning, http.StatusNotFound, http.StatusGatewayTimeout), change(svc.Cancel))
}

func instanceFilter(user, active, preventing string) (actioning.InstanceFilter, error) {
	var f actioning.InstanceFilter
	user = faQueryValue(user)
	if user == "" {
		return f, errs.Coded("missing", "userId", "You must specify the [userId] parameter.")
	}
	id, err := uuid.Parse(user)
	if err != nil {
		return f, errs.NotFoundf("user not found")
	}
	f.UserID = id
	if v := faQueryValue(active); v != "" {
		b := strings.EqualFold(v, "true")
		if !b && !strings.EqualFold(v, "false") {
			return f, errs.Coded("invalid", "active", "The [active] parameter must be true or false.")
		}
		f.Active = &b
	}
	if v := faQueryValue(preventing); strings.EqualFold(v, "true") {
		if f.Active != nil {
			return f, errs.Coded("invalid", "preventingLogin", "The [preventingLogin] parameter cannot be combined with [active].")
		}
		f.PreventingLogin = true
	}
	return f, nil
}

type faActionsOut struct {
	Body struct {
		Actions []FAUserActionLog `json:"actions"`
	}
}

// heed's users all belong to the default tenant: a request scoped to
// another tenant sees none of them, nor their actions.
func usersInScope(ctx context.Context, req actioning.Request) error {
	outside, err := faOutsideTenant(ctx, events.DefaultTenantID)
	if err != nil || !outside {
		return err
	}
	e := &errs.Error{Kind: errs.Invalid}
	if req.ActioneeID != uuid.Nil {
		e.Add("invalid", "action.actioneeUserId", "The user [%s] is not in the request's tenant.", req.ActioneeID)
	}
	if req.ActionerID != uuid.Nil {
		e.Add("invalid", "action.actionerUserId", "The user [%s] is not in the request's tenant.", req.ActionerID)
	}
	return e.OrNil()
}

func instanceInScope(ctx context.Context) error {
	outside, err := faOutsideTenant(ctx, events.DefaultTenantID)
	if err != nil {
		return err
	}
	if outside {
		return errs.NotFoundf("action not found")
	}
	return nil
}
