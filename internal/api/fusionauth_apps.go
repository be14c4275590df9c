package api

import (
	"context"
	"encoding/json"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/errs"
)

// FAApplication is FusionAuth's application, as far as actions need it.
type FAApplication struct {
	ID                string         `json:"id,omitempty"`
	Name              string         `json:"name,omitempty" doc:"Required."`
	TenantID          string         `json:"tenantId,omitempty" doc:"Default: the default tenant."`
	Active            bool           `json:"active" readOnly:"true"`
	Data              map[string]any `json:"data,omitempty"`
	InsertInstant     int64          `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant int64          `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAApplicationRequest is {"application": {...}}.
type FAApplicationRequest struct {
	Application *FAApplication `json:"application,omitempty"`
}

type faApplicationOut struct {
	Body struct {
		Application FAApplication `json:"application"`
	}
}

func applicationToFA(a *actioning.Application) FAApplication {
	out := FAApplication{ID: a.ID.String(), Name: a.Name, TenantID: a.TenantID.String(), Active: a.Active,
		InsertInstant: a.Created.UnixMilli(), LastUpdateInstant: a.Updated.UnixMilli()}
	if len(a.Data) > 0 && string(a.Data) != "{}" {
		_ = json.Unmarshal(a.Data, &out.Data)
	}
	return out
}

func applicationFromFA(req FAApplicationRequest) (actioning.Application, error) {
	if req.Application == nil {
		return actioning.Application{}, errs.Coded("missing", "application", "You must specify the [application] object.")
	}
	in := req.Application
	tenant, err := optionalUUID("application.tenantId", in.TenantID)
	if err != nil {
		return actioning.Application{}, err
	}
	a := actioning.Application{Name: in.Name, TenantID: tenant}
	if in.Data != nil {
		a.Data, _ = json.Marshal(in.Data)
	}
	return a, nil
}

func registerFAApplications(api huma.API, svc *actioning.Service) {
	c := faCRUD{api, "/api/application", "FusionAuth: applications"}
	one := faOne(applicationToFA, func(o *faApplicationOut, a FAApplication) { o.Body.Application = a })
	faCreate(c, "createApplication", "Create an application", "applicationId",
		func(ctx context.Context, id uuid.UUID, req FAApplicationRequest) (*faApplicationOut, error) {
			a, err := applicationFromFA(req)
			if err != nil {
				return nil, err
			}
			if a.TenantID == uuid.Nil {
				// FusionAuth puts the application in the request's tenant.
				if a.TenantID, err = faTenantScope(ctx); err != nil {
					return nil, err
				}
			}
			a.ID = id
			return one(svc.CreateApplication(ctx, a))
		})
	faRetrieve(c, "retrieveApplication", "Retrieve an application",
		func(ctx context.Context, id uuid.UUID) (*faApplicationOut, error) {
			a, err := svc.GetApplication(ctx, id)
			if err == nil {
				var outside bool
				if outside, err = faOutsideTenant(ctx, a.TenantID); err == nil && outside {
					err = errs.NotFoundf("application not found")
				}
			}
			return one(a, err)
		})

	faList(c, "retrieveApplications", "Retrieve the active (or inactive=true) applications",
		func(ctx context.Context, in *struct {
			Inactive string `query:"inactive"`
		}) ([]*actioning.Application, error) {
			as, err := svc.ListApplications(ctx, faTrue(in.Inactive))
			if err != nil {
				return nil, err
			}
			scope, err := faTenantScope(ctx)
			if err != nil {
				return nil, err
			}
			if scope != uuid.Nil {
				kept := as[:0]
				for _, a := range as {
					if a.TenantID == scope {
						kept = append(kept, a)
					}
				}
				as = kept
			}
			return as, nil
		}, applicationToFA, func(o *faApplicationsOut, as []FAApplication) { o.Body.Applications = as })
	update := func(ctx context.Context, id uuid.UUID, req FAApplicationRequest) (*faApplicationOut, error) {
		a, err := applicationFromFA(req)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateApplication(ctx, id, a))
	}
	faUpdateOrReactivate(c, "updateApplication", "Replace an application, or reactivate it with reactivate=true",
		func(ctx context.Context, id uuid.UUID) (*faApplicationOut, error) {
			return one(svc.ReactivateApplication(ctx, id))
		}, update)
	faPatch(c, "patchApplication", "Update an application by merging the body into it", "application",
		func(ctx context.Context, id uuid.UUID) (FAApplicationRequest, error) {
			cur, err := svc.GetApplication(ctx, id)
			if err != nil {
				return FAApplicationRequest{}, err
			}
			return FAApplicationRequest{Application: ptr(applicationToFA(cur))}, nil
		}, update)
	faSoftDelete(c, "deleteApplication", "Deactivate an application, or delete it with hardDelete=true",
		func(ctx context.Context, id uuid.UUID, hard bool) error { return svc.DeleteApplication(ctx, id, hard) })
}

// FAEmailTemplate is FusionAuth's email template; heed renders it with Go
// templates (text/template, html/template) over actioning.TemplateData.
type FAEmailTemplate struct {
	ID                     string            `json:"id,omitempty"`
	Name                   string            `json:"name,omitempty" doc:"Required."`
	DefaultSubject         string            `json:"defaultSubject,omitempty" doc:"Required; a text/template."`
	DefaultHTMLTemplate    string            `json:"defaultHtmlTemplate,omitempty" doc:"An html/template."`
	DefaultTextTemplate    string            `json:"defaultTextTemplate,omitempty" doc:"A text/template; this or the HTML one is required."`
	DefaultFromName        string            `json:"defaultFromName,omitempty"`
	FromEmail              string            `json:"fromEmail,omitempty"`
	LocalizedSubjects      map[string]string `json:"localizedSubjects,omitempty"`
	LocalizedHTMLTemplates map[string]string `json:"localizedHtmlTemplates,omitempty"`
	LocalizedTextTemplates map[string]string `json:"localizedTextTemplates,omitempty"`
	LocalizedFromNames     map[string]string `json:"localizedFromNames,omitempty"`
	InsertInstant          int64             `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant      int64             `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAEmailTemplateRequest is {"emailTemplate": {...}}.
type FAEmailTemplateRequest struct {
	EmailTemplate *FAEmailTemplate `json:"emailTemplate,omitempty"`
}

type faTemplateOut struct {
	Body struct {
		EmailTemplate FAEmailTemplate `json:"emailTemplate"`
	}
}

func emptyToNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func templateToFA(t *actioning.Template) FAEmailTemplate {
	return FAEmailTemplate{ID: t.ID.String(), Name: t.Name, DefaultSubject: t.DefaultSubject, DefaultHTMLTemplate: t.DefaultHTML,
		DefaultTextTemplate: t.DefaultText, DefaultFromName: t.DefaultFromName, FromEmail: t.FromEmail,
		LocalizedSubjects: emptyToNil(t.LocalizedSubjects), LocalizedHTMLTemplates: emptyToNil(t.LocalizedHTML),
		LocalizedTextTemplates: emptyToNil(t.LocalizedText), LocalizedFromNames: emptyToNil(t.LocalizedFromNames),
		InsertInstant: t.Created.UnixMilli(), LastUpdateInstant: t.Updated.UnixMilli()}
}

func templateFromFA(req FAEmailTemplateRequest) (actioning.Template, error) {
	if req.EmailTemplate == nil {
		return actioning.Template{}, errs.Coded("missing", "emailTemplate", "You must specify the [emailTemplate] object.")
	}
	t := req.EmailTemplate
	return actioning.Template{Name: t.Name, DefaultSubject: t.DefaultSubject, DefaultHTML: t.DefaultHTMLTemplate,
		DefaultText: t.DefaultTextTemplate, DefaultFromName: t.DefaultFromName, FromEmail: t.FromEmail,
		LocalizedSubjects: t.LocalizedSubjects, LocalizedHTML: t.LocalizedHTMLTemplates, LocalizedText: t.LocalizedTextTemplates,
		LocalizedFromNames: t.LocalizedFromNames}, nil
}

func registerFAEmailTemplates(api huma.API, svc *actioning.Service) {
	c := faCRUD{api, "/api/email/template", "FusionAuth: email templates"}
	one := faOne(templateToFA, func(o *faTemplateOut, t FAEmailTemplate) { o.Body.EmailTemplate = t })
	faCreate(c, "createEmailTemplate", "Create an email template", "emailTemplateId",
		func(ctx context.Context, id uuid.UUID, req FAEmailTemplateRequest) (*faTemplateOut, error) {
			t, err := templateFromFA(req)
			if err != nil {
				return nil, err
			}
			t.ID = id
			return one(svc.CreateTemplate(ctx, t))
		})
	faRetrieve(c, "retrieveEmailTemplate", "Retrieve an email template",
		func(ctx context.Context, id uuid.UUID) (*faTemplateOut, error) { return one(svc.GetTemplate(ctx, id)) })

	faList(c, "retrieveEmailTemplates", "Retrieve every email template",
		func(ctx context.Context, _ *struct{}) ([]*actioning.Template, error) { return svc.ListTemplates(ctx) },
		templateToFA, func(o *faTemplatesOut, ts []FAEmailTemplate) { o.Body.EmailTemplates = ts })
	update := func(ctx context.Context, id uuid.UUID, req FAEmailTemplateRequest) (*faTemplateOut, error) {
		t, err := templateFromFA(req)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateTemplate(ctx, id, t))
	}
	faUpdate(c, "updateEmailTemplate", "Replace an email template", update)
	faPatch(c, "patchEmailTemplate", "Update an email template by merging the body into it", "emailTemplate",
		func(ctx context.Context, id uuid.UUID) (FAEmailTemplateRequest, error) {
			cur, err := svc.GetTemplate(ctx, id)
			if err != nil {
				return FAEmailTemplateRequest{}, err
			}
			return FAEmailTemplateRequest{EmailTemplate: ptr(templateToFA(cur))}, nil
		}, update)
	faDelete(c, "deleteEmailTemplate", "Delete an email template no action uses", svc.DeleteTemplate)
}

type faApplicationsOut struct {
	Body struct {
		Applications []FAApplication `json:"applications"`
	}
}

type faTemplatesOut struct {
	Body struct {
		EmailTemplates []FAEmailTemplate `json:"emailTemplates"`
	}
}
