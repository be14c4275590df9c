package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/marketplace"
)

// Waldur-family representations of marketplace objects. Hyperlinks (url,
// project, offering, ...) are absolute URLs, as Waldur sends them; every
// link has a *_uuid twin.

type Customer struct {
	UUID        string    `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL         string    `json:"url" format:"uri"`
	Name        string    `json:"name"`
	Slug        string    `json:"slug"`
	Description string    `json:"description"`
	Email       string    `json:"email"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

type Project struct {
	UUID         string    `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL          string    `json:"url" format:"uri"`
	Name         string    `json:"name"`
	Slug         string    `json:"slug"`
	Description  string    `json:"description"`
	Customer     string    `json:"customer" format:"uri"`
	CustomerUUID string    `json:"customer_uuid" pattern:"^[0-9a-f]{32}$"`
	CustomerName string    `json:"customer_name"`
	Created      time.Time `json:"created"`
	Modified     time.Time `json:"modified"`
}

type OfferingComponent struct {
	Type        string `json:"type" minLength:"1" maxLength:"50"`
	Name        string `json:"name" maxLength:"150"`
	BillingType string `json:"billing_type" enum:"fixed,usage,limit,one,few"`
	IsPrepaid   bool   `json:"is_prepaid"`
}

type Offering struct {
	UUID          string              `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL           string              `json:"url" format:"uri"`
	Name          string              `json:"name"`
	Description   string              `json:"description"`
	Customer      string              `json:"customer" format:"uri"`
	CustomerUUID  string              `json:"customer_uuid" pattern:"^[0-9a-f]{32}$"`
	CustomerName  string              `json:"customer_name"`
	Type          string              `json:"type"`
	State         string              `json:"state" enum:"Draft,Active,Paused"`
	Category      string              `json:"category,omitempty" format:"uri" doc:"Absent when the offering has no category."`
	CategoryUUID  string              `json:"category_uuid,omitempty" pattern:"^[0-9a-f]{32}$"`
	CategoryTitle string              `json:"category_title,omitempty"`
	Components    []OfferingComponent `json:"components"`
	PluginOptions map[string]any      `json:"plugin_options"`
	Created       time.Time           `json:"created"`
	Modified      time.Time           `json:"modified"`
}

// Plan is Waldur's ProviderPlanDetails: fifteen of its keys are required by
// Waldur's client. heed prices a plan by one unit_price; per-component
// prices and quotas are not modelled, so those maps are empty.
type Plan struct {
	UUID               string              `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL                string              `json:"url" format:"uri"`
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	ArticleCode        string              `json:"article_code"`
	BackendID          string              `json:"backend_id"`
	Offering           string              `json:"offering" format:"uri"`
	OfferingUUID       string              `json:"offering_uuid" pattern:"^[0-9a-f]{32}$"`
	OfferingName       string              `json:"offering_name"`
	UnitPrice          string              `json:"unit_price" doc:"Decimal as a string, two decimals."`
	Unit               string              `json:"unit" enum:"month,quarter,half_month,day,hour,quantity"`
	Archived           bool                `json:"archived"`
	IsActive           bool                `json:"is_active" doc:"Not archived."`
	InitPrice          float64             `json:"init_price"`
	SwitchPrice        float64             `json:"switch_price"`
	MinimalPrice       string              `json:"minimal_price" doc:"Decimal as a string: the unit price."`
	PlanType           string              `json:"plan_type" doc:"The offering's billing type (fixed, usage, limit, one, few), or mixed."`
	ResourcesCount     int                 `json:"resources_count" doc:"Resources using this plan that are not terminated."`
	Components         []PlanComponent     `json:"components"`
	Prices             map[string]string   `json:"prices"`
	FuturePrices       map[string]string   `json:"future_prices"`
	Quotas             map[string]int64    `json:"quotas"`
	OrganizationGroups []OrganizationGroup `json:"organization_groups"`
	Created            time.Time           `json:"created"`
	Modified           time.Time           `json:"modified"`
}

// PlanComponent is Waldur's NestedPlanComponent: an offering component as
// the plan sees it. heed has no per-component amounts or prices.
type PlanComponent struct {
	Type         string `json:"type"`
	Name         string `json:"name"`
	MeasuredUnit string `json:"measured_unit"`
	Amount       int64  `json:"amount"`
	Price        string `json:"price"`
}

// OrganizationGroup is Waldur's OrganizationGroup; heed has none, so the
// lists that hold them are empty.
type OrganizationGroup struct {
	UUID string `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	Name string `json:"name"`
}

type Order struct {
	UUID                       string           `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL                        string           `json:"url" format:"uri"`
	Type                       string           `json:"type" enum:"Create,Update,Terminate"`
	State                      string           `json:"state" enum:"pending-consumer,pending-provider,pending-project,pending-start-date,executing,done,erred,canceled,rejected"`
	Project                    string           `json:"project" format:"uri"`
	ProjectUUID                string           `json:"project_uuid" pattern:"^[0-9a-f]{32}$"`
	ProjectName                string           `json:"project_name"`
	CustomerUUID               string           `json:"customer_uuid" pattern:"^[0-9a-f]{32}$"`
	CustomerName               string           `json:"customer_name"`
	Offering                   string           `json:"offering" format:"uri"`
	OfferingUUID               string           `json:"offering_uuid" pattern:"^[0-9a-f]{32}$"`
	OfferingName               string           `json:"offering_name"`
	OfferingType               string           `json:"offering_type"`
	ProviderUUID               string           `json:"provider_uuid" pattern:"^[0-9a-f]{32}$"`
	ProviderName               string           `json:"provider_name"`
	Plan                       *string          `json:"plan,omitempty" format:"uri" doc:"Absent when the order names no plan (Waldur's model does not allow null here)."`
	PlanUUID                   *string          `json:"plan_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	PlanName                   *string          `json:"plan_name" nullable:"true"`
	MarketplaceResourceUUID    *string          `json:"marketplace_resource_uuid,omitempty" pattern:"^[0-9a-f]{32}$" doc:"Absent until the order has a resource."`
	ResourceName               string           `json:"resource_name"`
	Attributes                 map[string]any   `json:"attributes"`
	Limits                     map[string]int64 `json:"limits"`
	Cost                       *string          `json:"cost" nullable:"true" doc:"Decimal as a string."`
	RequestComment             string           `json:"request_comment"`
	ErrorMessage               string           `json:"error_message"`
	CreatedByUsername          string           `json:"created_by_username"`
	CreatedByFullName          string           `json:"created_by_full_name"`
	ConsumerReviewedBy         *string          `json:"consumer_reviewed_by" nullable:"true" doc:"A username."`
	ConsumerReviewedByUsername *string          `json:"consumer_reviewed_by_username" nullable:"true"`
	ConsumerReviewedByFullName *string          `json:"consumer_reviewed_by_full_name" nullable:"true"`
	ConsumerReviewedAt         *time.Time       `json:"consumer_reviewed_at" nullable:"true"`
	ProviderReviewedBy         *string          `json:"provider_reviewed_by" nullable:"true" doc:"A username."`
	ProviderReviewedByUsername *string          `json:"provider_reviewed_by_username" nullable:"true"`
	ProviderReviewedByFullName *string          `json:"provider_reviewed_by_full_name" nullable:"true"`
	ProviderReviewedAt         *time.Time       `json:"provider_reviewed_at" nullable:"true"`
	CompletedAt                *time.Time       `json:"completed_at" nullable:"true"`
	Created                    time.Time        `json:"created"`
	Modified                   time.Time        `json:"modified"`
}

type Resource struct {
	UUID                 string           `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL                  string           `json:"url" format:"uri"`
	Name                 string           `json:"name"`
	Description          string           `json:"description"`
	Slug                 string           `json:"slug"`
	State                string           `json:"state" enum:"Creating,OK,Erred,Updating,Terminating,Terminated"`
	Offering             string           `json:"offering" format:"uri"`
	OfferingUUID         string           `json:"offering_uuid" pattern:"^[0-9a-f]{32}$"`
	OfferingName         string           `json:"offering_name"`
	OfferingType         string           `json:"offering_type"`
	ProviderUUID         string           `json:"provider_uuid" pattern:"^[0-9a-f]{32}$"`
	ProviderName         string           `json:"provider_name"`
	Plan                 *string          `json:"plan,omitempty" format:"uri" doc:"Absent when the resource has no plan."`
	PlanUUID             *string          `json:"plan_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	PlanName             *string          `json:"plan_name" nullable:"true"`
	PlanUnit             *string          `json:"plan_unit" nullable:"true" enum:"month,quarter,half_month,day,hour,quantity"`
	Project              string           `json:"project" format:"uri"`
	ProjectUUID          string           `json:"project_uuid" pattern:"^[0-9a-f]{32}$"`
	ProjectName          string           `json:"project_name"`
	CustomerUUID         string           `json:"customer_uuid" pattern:"^[0-9a-f]{32}$"`
	CustomerName         string           `json:"customer_name"`
	Limits               map[string]int64 `json:"limits"`
	Attributes           map[string]any   `json:"attributes"`
	Options              map[string]any   `json:"options"`
	Cost                 *string          `json:"cost" nullable:"true" doc:"Decimal as a string."`
	EndDate              *string          `json:"end_date" format:"date" nullable:"true" doc:"Inclusive; termination is due when reached."`
	Downscaled           bool             `json:"downscaled"`
	RestrictMemberAccess bool             `json:"restrict_member_access"`
	Paused               bool             `json:"paused"`
	ErrorMessage         string           `json:"error_message"`
	Created              time.Time        `json:"created"`
	Modified             time.Time        `json:"modified"`
}

// OrderInfo is a {"detail"} message: order approvals and rejections, as Waldur's
// OrderInfoResponse.
type OrderInfo struct {
	Detail string `json:"detail"`
}

// Status answers the resource set_* actions, as Waldur's Status model.
type Status struct {
	Status string `json:"status"`
}

// links builds absolute object URLs from the request's base URL.
type links struct{ base string }

func linksFrom(ctx context.Context) links {
	u := requestURL(ctx)
	if u == nil {
		return links{}
	}
	return links{base: u.Scheme + "://" + u.Host}
}

func (l links) to(collection string, id uuid.UUID) string {
	return l.base + "/api/" + collection + "/" + HexUUID(id) + "/"
}

func (l links) toPtr(collection string, id *uuid.UUID) *string {
	if id == nil {
		return nil
	}
	s := l.to(collection, *id)
	return &s
}

func hexPtr(id *uuid.UUID) *string {
	if id == nil {
		return nil
	}
	s := HexUUID(*id)
	return &s
}

func strPtrIf(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func customerOut(l links, c *marketplace.Customer) Customer {
	return Customer{UUID: HexUUID(c.UUID), URL: l.to("customers", c.UUID), Name: c.Name, Slug: c.Slug,
		Description: c.Description, Email: c.Email, Created: c.Created.UTC(), Modified: c.Modified.UTC()}
}

func projectOut(l links, p *marketplace.Project) Project {
	return Project{UUID: HexUUID(p.UUID), URL: l.to("projects", p.UUID), Name: p.Name, Slug: p.Slug,
		Description: p.Description, Customer: l.to("customers", p.CustomerUUID), CustomerUUID: HexUUID(p.CustomerUUID),
		CustomerName: p.CustomerName, Created: p.Created.UTC(), Modified: p.Modified.UTC()}
}

func offeringOut(l links, o *marketplace.Offering) Offering {
	comps := make([]OfferingComponent, len(o.Components))
	for i, c := range o.Components {
		comps[i] = OfferingComponent(c)
	}
	out := Offering{UUID: HexUUID(o.UUID), URL: l.to("marketplace-provider-offerings", o.UUID), Name: o.Name,
		Description: o.Description, Customer: l.to("customers", o.CustomerUUID), CustomerUUID: HexUUID(o.CustomerUUID),
		CustomerName: o.CustomerName, Type: o.Type, State: o.State, Components: comps, PluginOptions: nonNil(o.PluginOptions),
		Created: o.Created.UTC(), Modified: o.Modified.UTC()}
	if o.CategoryUUID != nil {
		out.Category = l.to("marketplace-categories", *o.CategoryUUID)
		out.CategoryUUID, out.CategoryTitle = HexUUID(*o.CategoryUUID), o.CategoryTitle
	}
	return out
}

// planWithDetail is a plan and what its representation derives from other rows.
type planWithDetail struct {
	plan   *marketplace.Plan
	detail marketplace.PlanDetail
}

func planOut(l links, pd planWithDetail) Plan {
	p := pd.plan
	comps := make([]PlanComponent, len(pd.detail.Components))
	for i, c := range pd.detail.Components {
		comps[i] = PlanComponent{Type: c.Type, Name: c.Name, Price: "0.00"}
	}
	return Plan{UUID: HexUUID(p.UUID), URL: l.to("marketplace-plans", p.UUID), Name: p.Name, Description: p.Description,
		Offering: l.to("marketplace-provider-offerings", p.OfferingUUID), OfferingUUID: HexUUID(p.OfferingUUID),
		OfferingName: p.OfferingName, UnitPrice: p.UnitPrice, Unit: p.Unit, Archived: p.Archived, IsActive: !p.Archived,
		MinimalPrice: p.UnitPrice, PlanType: pd.detail.PlanType(), ResourcesCount: pd.detail.ResourcesCount,
		Components: comps, Prices: map[string]string{}, FuturePrices: map[string]string{}, Quotas: map[string]int64{},
		OrganizationGroups: []OrganizationGroup{}, Created: p.Created.UTC(), Modified: p.Modified.UTC()}
}

// plansOut renders plans with their details, loaded for the whole page.
func plansOut(ctx context.Context, svc *marketplace.Service, plans ...*marketplace.Plan) ([]Plan, error) {
	details, err := svc.PlanDetails(ctx, plans)
	if err != nil {
		return nil, err
	}
	l := linksFrom(ctx)
	return mapAll(plans, func(p *marketplace.Plan) Plan { return planOut(l, planWithDetail{p, details[p.ID]}) }), nil
}

func orderOut(l links, o *marketplace.Order) Order {
	out := Order{
		UUID: HexUUID(o.UUID), URL: l.to("marketplace-orders", o.UUID), Type: o.Type, State: o.State,
		Project: l.to("projects", o.ProjectUUID), ProjectUUID: HexUUID(o.ProjectUUID), ProjectName: o.ProjectName,
		CustomerUUID: HexUUID(o.CustomerUUID), CustomerName: o.CustomerName,
		Offering: l.to("marketplace-provider-offerings", o.OfferingUUID), OfferingUUID: HexUUID(o.OfferingUUID),
		OfferingName: o.OfferingName, OfferingType: o.OfferingType, ProviderUUID: HexUUID(o.ProviderUUID),
		ProviderName: o.ProviderName, Plan: l.toPtr("marketplace-plans", o.PlanUUID), PlanUUID: hexPtr(o.PlanUUID),
		PlanName: strPtrIf(o.PlanName, o.PlanUUID != nil), MarketplaceResourceUUID: hexPtr(o.ResourceUUID),
		ResourceName: o.ResourceName, Attributes: o.Attributes, Limits: o.Limits, Cost: o.Cost,
		RequestComment: o.RequestComment, ErrorMessage: o.ErrorMessage, CreatedByUsername: o.CreatedByUsername,
		CreatedByFullName: o.CreatedByFullName, ConsumerReviewedAt: utcPtr(o.ConsumerReviewedAt),
		ProviderReviewedAt: utcPtr(o.ProviderReviewedAt), CompletedAt: utcPtr(o.CompletedAt),
		Created: o.Created.UTC(), Modified: o.Modified.UTC(),
	}
	if o.ConsumerReviewedBy != "" {
		out.ConsumerReviewedBy, out.ConsumerReviewedByUsername = &o.ConsumerReviewedBy, &o.ConsumerReviewedBy
		out.ConsumerReviewedByFullName = &o.ConsumerReviewedName
	}
	if o.ProviderReviewedBy != "" {
		out.ProviderReviewedBy, out.ProviderReviewedByUsername = &o.ProviderReviewedBy, &o.ProviderReviewedBy
		out.ProviderReviewedByFullName = &o.ProviderReviewedName
	}
	if out.Attributes == nil {
		out.Attributes = map[string]any{}
	}
	if out.Limits == nil {
		out.Limits = map[string]int64{}
	}
	return out
}

func resourceOut(l links, collection string, r *marketplace.Resource) Resource {
	return Resource{
		UUID: HexUUID(r.UUID), URL: l.to(collection, r.UUID), Name: r.Name, Description: r.Description, Slug: r.Slug,
		State: r.State, Offering: l.to("marketplace-provider-offerings", r.OfferingUUID), OfferingUUID: HexUUID(r.OfferingUUID),
		OfferingName: r.OfferingName, OfferingType: r.OfferingType, ProviderUUID: HexUUID(r.ProviderUUID),
		ProviderName: r.ProviderName, Plan: l.toPtr("marketplace-plans", r.PlanUUID), PlanUUID: hexPtr(r.PlanUUID),
		PlanName: strPtrIf(r.PlanName, r.PlanUUID != nil), PlanUnit: strPtrIf(r.PlanUnit, r.PlanUUID != nil),
		Project: l.to("projects", r.ProjectUUID), ProjectUUID: HexUUID(r.ProjectUUID), ProjectName: r.ProjectName,
		CustomerUUID: HexUUID(r.CustomerUUID), CustomerName: r.CustomerName, Limits: nonNilLimits(r.Limits),
		Attributes: nonNil(r.Attributes), Options: nonNil(r.Options), Cost: r.Cost, EndDate: r.EndDate,
		Downscaled: r.Downscaled, RestrictMemberAccess: r.RestrictMemberAccess, Paused: r.Paused,
		ErrorMessage: r.ErrorMessage, Created: r.Created.UTC(), Modified: r.Modified.UTC(),
	}
}

func nonNilLimits(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// parseRef accepts an object reference as Waldur clients send it: a uuid
// (32-hex or dashed) or the object's URL. Empty means "not given".
func parseRef(field, s string) (*uuid.UUID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.Contains(s, "/") {
		parts := strings.Split(strings.TrimRight(s, "/"), "/")
		s = parts[len(parts)-1]
	}
	if len(s) == 32 || len(s) == 36 {
		// The all-zero uuid names no object; it must not read as "not given".
		if u, err := uuid.Parse(s); err == nil && u != uuid.Nil {
			return &u, nil
		}
	}
	return nil, &DRFError{status: http.StatusBadRequest, fields: map[string][]string{
		field: {"Invalid hyperlink - Object does not exist."},
	}}
}

// parseFilterRef reads a filter given either as name_uuid (a uuid) or as
// name (a uuid or URL); an error names the parameter that was sent.
func parseFilterRef(name, uuidValue, refValue string) (*uuid.UUID, error) {
	if uuidValue != "" {
		return parseRef(name+"_uuid", uuidValue)
	}
	return parseRef(name, refValue)
}

// refValue is the uuid parseRef found, or uuid.Nil when none was given
// (the domain reports a missing required reference).
func refValue(u *uuid.UUID) uuid.UUID {
	if u == nil {
		return uuid.Nil
	}
	return *u
}
