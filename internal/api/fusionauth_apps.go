package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

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
	const tag = "FusionAuth: applications"
	one := func(a *actioning.Application, err error) (*faApplicationOut, error) {
		if err != nil {
			return nil, err
		}
		out := &faApplicationOut{}
		out.Body.Application = applicationToFA(a)
		return out, nil
	}
	create := func(ctx context.Context, id uuid.UUID, req FAApplicationRequest) (*faApplicationOut, error) {
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
	}
	huma.Register(api, faOp(http.MethodPost, "/api/application", "createApplication", "Create an application", tag),
		func(ctx context.Context, in *struct{ Body FAApplicationRequest }) (*faApplicationOut, error) {
			return create(ctx, uuid.Nil, in.Body)
		})
	huma.Register(api, faOp(http.MethodPost, "/api/application/{id}", "createApplicationWithId", "Create an application with the given id", tag),
		func(ctx context.Context, in *struct {
			FAOptionalIDPath
			Body FAApplicationRequest
		}) (*faApplicationOut, error) {
			id, err := in.parse("applicationId")
			if err != nil {
				return nil, err
			}
			return create(ctx, id, in.Body)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/application/{id}", "retrieveApplication", "Retrieve an application", tag, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*faApplicationOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			a, err := svc.GetApplication(ctx, id)
			if err == nil {
				var outside bool
				if outside, err = faOutsideTenant(ctx, a.TenantID); err == nil && outside {
					err = errs.NotFoundf("application not found")
				}
			}
			return one(a, err)
		})

	huma.Register(api, faOp(http.MethodGet, "/api/application", "retrieveApplications", "Retrieve the active (or inactive=true) applications", tag),
		func(ctx context.Context, in *struct {
			Inactive string `query:"inactive"`
		}) (*faApplicationsOut, error) {
			as, err := svc.ListApplications(ctx, strings.EqualFold(faQueryValue(in.Inactive), "true"))
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
			out := &faApplicationsOut{}
			out.Body.Applications = mapAll(as, applicationToFA)
			return out, nil
		})
	update := func(ctx context.Context, id uuid.UUID, req FAApplicationRequest) (*faApplicationOut, error) {
		a, err := applicationFromFA(req)
		if err != nil {
			return nil, err
		}
		return one(svc.UpdateApplication(ctx, id, a))
	}
	huma.Register(api, faOp(http.MethodPut, "/api/application/{id}", "updateApplication", "Replace an application, or reactivate it with reactivate=true", tag, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Reactivate string `query:"reactivate"`
			Body       *FAApplicationRequest
		}) (*faApplicationOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			if strings.EqualFold(faQueryValue(in.Reactivate), "true") {
				return one(svc.ReactivateApplication(ctx, id))
			}
			var req FAApplicationRequest
			if in.Body != nil {
				req = *in.Body
			}
			return update(ctx, id, req)
		})
	huma.Register(api, faOp(http.MethodPatch, "/api/application/{id}", "patchApplication", "Update an application by merging the body into it", tag, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body map[string]any
		}) (*faApplicationOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			cur, err := svc.GetApplication(ctx, id)
			if err != nil {
				return nil, err
			}
			var merged FAApplicationRequest
			if err := faMerge(FAApplicationRequest{Application: ptr(applicationToFA(cur))}, in.Body, &merged, "application"); err != nil {
				return nil, err
			}
			return update(ctx, id, merged)
		})
	huma.Register(api, faOp(http.MethodDelete, "/api/application/{id}", "deleteApplication", "Deactivate an application, or delete it with hardDelete=true", tag, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			HardDelete string `query:"hardDelete"`
		}) (*struct{}, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteApplication(ctx, id, strings.EqualFold(faQueryValue(in.HardDelete), "true"))
		})
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
	const tag = "FusionAuth: email templates"
	one := func(t *actioning.Template, err error) (*faTemplateOut, error) {
		if err != nil {
			return nil, err
		}
		out := &faTemplateOut{}
		out.Body.EmailTemplate = templateToFA(t)
		return out, nil
	}
	create := func(ctx context.Context, id uuid.UUID, req FAEmailTemplateRequest) (*faTemplateOut, error) {
		t, err := templateFromFA(req)
		if err != nil {
			return nil, err
		}
		t.ID = id
		return one(svc.CreateTemplate(ctx, t))
	}
	huma.Register(api, faOp(http.MethodPost, "/api/email/template", "createEmailTemplate", "Create an email template", tag),
		func(ctx context.Context, in *struct{ Body FAEmailTemplateRequest }) (*faTemplateOut, error) {
			return create(ctx, uuid.Nil, in.Body)
		})
	huma.Register(api, faOp(http.MethodPost, "/api/email/template/{id}", "createEmailTemplateWithId", "Create an email template with the given id", tag),
		func(ctx context.Context, in *struct {
			FAOptionalIDPath
			Body FAEmailTemplateRequest
		}) (*faTemplateOut, error) {
			id, err := in.parse("emailTemplateId")
			if err != nil {
				return nil, err
			}
			return create(ctx, id, in.Body)
		})
	huma.Register(api, faOp(http.MethodGet, "/api/email/template/{id}", "retrieveEmailTemplate", "Retrieve an email template", tag, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*faTemplateOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return one(svc.GetTemplate(ctx, id))
		})

	huma.Register(api, faOp(http.MethodGet, "/api/email/template", "retrieveEmailTemplates", "Retrieve every email template", tag),
		func(ctx context.Context, _ *struct{}) (*faTemplatesOut, error) {
			ts, err := svc.ListTemplates(ctx)
			if err != nil {
				return nil, err
			}
			out := &faTemplatesOut{}
			out.Body.EmailTemplates = mapAll(ts, templateToFA)
			return out, nil
		})
	huma.Register(api, faOp(http.MethodPut, "/api/email/template/{id}", "updateEmailTemplate", "Replace an email template", tag, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body FAEmailTemplateRequest
		}) (*faTemplateOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			t, err := templateFromFA(in.Body)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateTemplate(ctx, id, t))
		})
	huma.Register(api, faOp(http.MethodPatch, "/api/email/template/{id}", "patchEmailTemplate", "Update an email template by merging the body into it", tag, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body map[string]any
		}) (*faTemplateOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			cur, err := svc.GetTemplate(ctx, id)
			if err != nil {
				return nil, err
			}
			var merged FAEmailTemplateRequest
			if err := faMerge(FAEmailTemplateRequest{EmailTemplate: ptr(templateToFA(cur))}, in.Body, &merged, "emailTemplate"); err != nil {
				return nil, err
			}
			t, err := templateFromFA(merged)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateTemplate(ctx, id, t))
		})
	huma.Register(api, faOp(http.MethodDelete, "/api/email/template/{id}", "deleteEmailTemplate", "Delete an email template no action uses", tag, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*struct{}, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteTemplate(ctx, id)
		})
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
