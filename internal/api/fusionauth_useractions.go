package api

import (
	"context"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagUserActions = "FusionAuth: user actions"

// FAUserAction is FusionAuth's user action definition.
type FAUserAction struct {
	ID                       string            `json:"id,omitempty"`
	Name                     string            `json:"name,omitempty" doc:"Required; unique, ignoring case."`
	Active                   bool              `json:"active" readOnly:"true" doc:"false after a soft delete; ignored in requests."`
	Temporal                 bool              `json:"temporal" required:"false"`
	PreventLogin             bool              `json:"preventLogin" required:"false"`
	SendEndEvent             *bool             `json:"sendEndEvent,omitempty" doc:"Default true."`
	UserEmailingEnabled      bool              `json:"userEmailingEnabled" required:"false"`
	UserNotificationsEnabled bool              `json:"userNotificationsEnabled" required:"false"`
	IncludeEmailInEventJSON  bool              `json:"includeEmailInEventJSON" required:"false"`
	StartEmailTemplateID     string            `json:"startEmailTemplateId,omitempty"`
	ModifyEmailTemplateID    string            `json:"modifyEmailTemplateId,omitempty"`
	CancelEmailTemplateID    string            `json:"cancelEmailTemplateId,omitempty"`
	EndEmailTemplateID       string            `json:"endEmailTemplateId,omitempty"`
	LocalizedNames           map[string]string `json:"localizedNames,omitempty"`
	Options                  []FAUserOption    `json:"options,omitempty"`
	TransactionType          string            `json:"transactionType,omitempty" enum:"None,Any,SimpleMajority,SuperMajority,AbsoluteMajority"`
	InsertInstant            int64             `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant        int64             `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAUserOption is one option of an instantaneous action.
type FAUserOption struct {
	Name           string            `json:"name"`
	LocalizedNames map[string]string `json:"localizedNames,omitempty"`
}

// FAUserActionRequest is {"userAction": {...}}.
type FAUserActionRequest struct {
	UserAction *FAUserAction `json:"userAction,omitempty"`
}

type faUserActionOut struct {
	Body struct {
		UserAction FAUserAction `json:"userAction"`
	}
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func definitionToFA(d *actioning.Definition) FAUserAction {
	send := d.SendEndEvent
	out := FAUserAction{ID: d.ID.String(), Name: d.Name, Active: d.Active, Temporal: d.Temporal, PreventLogin: d.PreventLogin,
		SendEndEvent: &send, UserEmailingEnabled: d.UserEmailingEnabled, UserNotificationsEnabled: d.UserNotificationsEnabled,
		IncludeEmailInEventJSON: d.IncludeEmailInEventJSON, StartEmailTemplateID: idString(d.StartEmailTemplateID),
		ModifyEmailTemplateID: idString(d.ModifyEmailTemplateID), CancelEmailTemplateID: idString(d.CancelEmailTemplateID),
		EndEmailTemplateID: idString(d.EndEmailTemplateID), TransactionType: string(d.TransactionType),
		InsertInstant: d.Created.UnixMilli(), LastUpdateInstant: d.Updated.UnixMilli()}
	if len(d.LocalizedNames) > 0 {
		out.LocalizedNames = d.LocalizedNames
	}
	for _, o := range d.Options {
		out.Options = append(out.Options, FAUserOption{Name: o.Name, LocalizedNames: o.LocalizedNames})
	}
	return out
}

func optionalUUID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, errs.Coded("invalid", field, "[%s] is not a UUID.", s)
	}
	return id, nil
}

func definitionFromFA(in *FAUserAction) (actioning.Definition, error) {
	if in == nil {
		return actioning.Definition{}, errs.Coded("missing", "userAction", "You must specify the [userAction] object.")
	}
	d := actioning.Definition{Name: in.Name, Temporal: in.Temporal, PreventLogin: in.PreventLogin, SendEndEvent: true,
		UserEmailingEnabled: in.UserEmailingEnabled, UserNotificationsEnabled: in.UserNotificationsEnabled,
		IncludeEmailInEventJSON: in.IncludeEmailInEventJSON, LocalizedNames: in.LocalizedNames,
		TransactionType: events.TransactionType(in.TransactionType)}
	if in.SendEndEvent != nil {
		d.SendEndEvent = *in.SendEndEvent
	}
	e := &errs.Error{Kind: errs.Invalid}
	for _, t := range []struct {
		field, v string
		dst      *uuid.UUID
	}{{"startEmailTemplateId", in.StartEmailTemplateID, &d.StartEmailTemplateID}, {"modifyEmailTemplateId", in.ModifyEmailTemplateID, &d.ModifyEmailTemplateID},
		{"cancelEmailTemplateId", in.CancelEmailTemplateID, &d.CancelEmailTemplateID}, {"endEmailTemplateId", in.EndEmailTemplateID, &d.EndEmailTemplateID}} {
		id, err := optionalUUID("userAction."+t.field, t.v)
		if err != nil {
			e.Add("invalid", "userAction."+t.field, "[%s] is not a UUID.", t.v)
		}
		*t.dst = id
	}
	for _, o := range in.Options {
		d.Options = append(d.Options, actioning.Option{Name: o.Name, LocalizedNames: o.LocalizedNames})
	}
	return d, e.OrNil()
}

func registerFAUserActions(api huma.API, svc *actioning.Service) {
	c := faCRUD{api, "/api/user-action", tagUserActions}
	one := faOne(definitionToFA, func(o *faUserActionOut, d FAUserAction) { o.Body.UserAction = d })
	faCreate(c, "createUserAction", "Create a user action", "userActionId",
		func(ctx context.Context, id uuid.UUID, req FAUserActionRequest) (*faUserActionOut, error) {
			d, err := definitionFromFA(req.UserAction)
			if err != nil {
				return nil, err
			}
			d.ID = id
			return one(svc.CreateDefinition(ctx, d))
		})
	faRetrieve(c, "retrieveUserAction", "Retrieve a user action, active or not",
		func(ctx context.Context, id uuid.UUID) (*faUserActionOut, error) {
			return one(svc.GetDefinition(ctx, id))
		})

	faList(c, "retrieveUserActions", "Retrieve the active (or, with inactive=true, the inactive) user actions",
		func(ctx context.Context, in *struct {
			Inactive string `query:"inactive" doc:"true lists the inactive (soft-deleted) actions."`
		}) ([]*actioning.Definition, error) {
			return svc.ListDefinitions(ctx, faTrue(in.Inactive))
		}, definitionToFA, func(o *faUserActionsOut, ds []FAUserAction) { o.Body.UserActions = ds })
	update := func(ctx context.Context, id uuid.UUID, req FAUserActionRequest) (*faUserActionOut, error) {
		d, err := definitionFromFA(req.UserAction)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateDefinition(ctx, id, d))
	}
	faUpdateOrReactivate(c, "updateUserAction", "Replace a user action, or reactivate it with reactivate=true (no body)",
		func(ctx context.Context, id uuid.UUID) (*faUserActionOut, error) {
			return one(svc.SetDefinitionActive(ctx, id, true))
		}, update)
	faPatch(c, "patchUserAction", "Update a user action by merging the body into it", "userAction",
		func(ctx context.Context, id uuid.UUID) (FAUserActionRequest, error) {
			cur, err := svc.GetDefinition(ctx, id)
			if err != nil {
				return FAUserActionRequest{}, err
			}
			return FAUserActionRequest{UserAction: ptr(definitionToFA(cur))}, nil
		}, update)
	faSoftDelete(c, "deleteUserAction", "Deactivate a user action, or with hardDelete=true delete it and every instance of it",
		func(ctx context.Context, id uuid.UUID, hard bool) error {
			if hard {
				return svc.DeleteDefinition(ctx, id)
			}
			_, err := svc.SetDefinitionActive(ctx, id, false)
			return err
		})
}

// FAUserActionReason is FusionAuth's reason.
type FAUserActionReason struct {
	ID                string            `json:"id,omitempty"`
	Text              string            `json:"text,omitempty" doc:"Required."`
	Code              string            `json:"code,omitempty" doc:"Required; unique."`
	LocalizedTexts    map[string]string `json:"localizedTexts,omitempty"`
	InsertInstant     int64             `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant int64             `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAUserActionReasonRequest is {"userActionReason": {...}}.
type FAUserActionReasonRequest struct {
	UserActionReason *FAUserActionReason `json:"userActionReason,omitempty"`
}

type faReasonOut struct {
	Body struct {
		UserActionReason FAUserActionReason `json:"userActionReason"`
	}
}

func reasonToFA(r *actioning.Reason) FAUserActionReason {
	out := FAUserActionReason{ID: r.ID.String(), Text: r.Text, Code: r.Code, InsertInstant: r.Created.UnixMilli(), LastUpdateInstant: r.Updated.UnixMilli()}
	if len(r.LocalizedTexts) > 0 {
		out.LocalizedTexts = r.LocalizedTexts
	}
	return out
}

func reasonFromFA(req FAUserActionReasonRequest) (actioning.Reason, error) {
	if req.UserActionReason == nil {
		return actioning.Reason{}, errs.Coded("missing", "userActionReason", "You must specify the [userActionReason] object.")
	}
	r := req.UserActionReason
	return actioning.Reason{Text: r.Text, Code: r.Code, LocalizedTexts: r.LocalizedTexts}, nil
}

func registerFAReasons(api huma.API, svc *actioning.Service) {
	c := faCRUD{api, "/api/user-action-reason", "FusionAuth: user action reasons"}
	one := faOne(reasonToFA, func(o *faReasonOut, r FAUserActionReason) { o.Body.UserActionReason = r })
	faCreate(c, "createUserActionReason", "Create a reason", "userActionReasonId",
		func(ctx context.Context, id uuid.UUID, req FAUserActionReasonRequest) (*faReasonOut, error) {
			r, err := reasonFromFA(req)
			if err != nil {
				return nil, err
			}
			r.ID = id
			return one(svc.CreateReason(ctx, r))
		})
	faRetrieve(c, "retrieveUserActionReason", "Retrieve a reason",
		func(ctx context.Context, id uuid.UUID) (*faReasonOut, error) { return one(svc.GetReason(ctx, id)) })

	faList(c, "retrieveUserActionReasons", "Retrieve every reason, by code",
		func(ctx context.Context, _ *struct{}) ([]*actioning.Reason, error) { return svc.ListReasons(ctx) },
		reasonToFA, func(o *faReasonsOut, rs []FAUserActionReason) { o.Body.UserActionReasons = rs })
	update := func(ctx context.Context, id uuid.UUID, req FAUserActionReasonRequest) (*faReasonOut, error) {
		r, err := reasonFromFA(req)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateReason(ctx, id, r))
	}
	faUpdate(c, "updateUserActionReason", "Replace a reason", update)
	faPatch(c, "patchUserActionReason", "Update a reason by merging the body into it", "userActionReason",
		func(ctx context.Context, id uuid.UUID) (FAUserActionReasonRequest, error) {
			cur, err := svc.GetReason(ctx, id)
			if err != nil {
				return FAUserActionReasonRequest{}, err
			}
			return FAUserActionReasonRequest{UserActionReason: ptr(reasonToFA(cur))}, nil
		}, update)
	faDelete(c, "deleteUserActionReason", "Delete a reason (past actions keep it)", svc.DeleteReason)
}

type faUserActionsOut struct {
	Body struct {
		UserActions []FAUserAction `json:"userActions"`
	}
}

type faReasonsOut struct {
	Body struct {
		UserActionReasons []FAUserActionReason `json:"userActionReasons"`
	}
}
