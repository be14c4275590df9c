package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

type UUIDPath struct {
	UUID string `path:"uuid" doc:"Object uuid (32 hex characters; the dashed form is accepted)."`
}

func (p UUIDPath) parse() (uuid.UUID, error) { return ParseUUID(p.UUID) }

type NamedListInput struct {
	ListParams
	Name string `query:"name" doc:"Case-insensitive substring of the name."`
	O    string `query:"o" doc:"Ordering: comma-separated fields, '-' for descending."`
}

type CustomerScopedListInput struct {
	NamedListInput
	Customer     string `query:"customer" doc:"Customer uuid or URL."`
	CustomerUUID string `query:"customer_uuid" doc:"Customer uuid."`
}

func (in CustomerScopedListInput) customer() (*uuid.UUID, error) {
	return parseFilterRef("customer", in.CustomerUUID, in.Customer)
}

// OfferingListInput are the filters both offering catalogues take.
type OfferingListInput struct {
	CustomerScopedListInput
	Type         string `query:"type" doc:"Offering type, e.g. basic."`
	CategoryUUID string `query:"category_uuid" doc:"Category uuid."`
}

func (in OfferingListInput) filter() (marketplace.OfferingFilter, error) {
	cust, err := in.customer()
	if err != nil {
		return marketplace.OfferingFilter{}, err
	}
	category, err := parseRef("category_uuid", in.CategoryUUID)
	if err != nil {
		return marketplace.OfferingFilter{}, err
	}
	return marketplace.OfferingFilter{ListFilter: marketplace.ListFilter{Name: in.Name, Ordering: in.O, CustomerUUID: cust},
		Type: in.Type, Category: category}, nil
}

func listOfferingsOut(ctx context.Context, svc *marketplace.Service, f marketplace.OfferingFilter, page db.Page) ([]Offering, int, error) {
	list, total, err := svc.ListOfferings(ctx, CurrentUser(ctx), f, page)
	if err != nil {
		return nil, 0, err
	}
	l := linksFrom(ctx)
	return mapAll(list, func(x *marketplace.Offering) Offering { return offeringOut(l, x) }), total, nil
}

type RoleAssignment struct {
	UserUUID       string     `json:"user_uuid" pattern:"^[0-9a-f]{32}$"`
	UserUsername   string     `json:"user_username"`
	UserFullName   string     `json:"user_full_name"`
	UserEmail      string     `json:"user_email"`
	RoleName       string     `json:"role_name"`
	ExpirationTime *time.Time `json:"expiration_time" nullable:"true"`
	Created        time.Time  `json:"created"`
	CreatedBy      string     `json:"created_by_username"`
}

func roleOut(a marketplace.RoleAssignment) RoleAssignment {
	return RoleAssignment{UserUUID: HexUUID(a.UserUUID), UserUsername: a.Username, UserFullName: a.FullName,
		UserEmail: a.Email, RoleName: string(a.Role), ExpirationTime: utcPtr(a.ExpirationTime),
		Created: a.Created.UTC(), CreatedBy: a.CreatedBy}
}

type addUserInput struct {
	UUIDPath
	Body struct {
		User           string     `json:"user" minLength:"1" doc:"User uuid or URL."`
		Role           string     `json:"role" enum:"CUSTOMER.OWNER,CUSTOMER.MANAGER,PROJECT.ADMIN,PROJECT.MANAGER,PROJECT.MEMBER,OFFERING.MANAGER"`
		ExpirationTime *time.Time `json:"expiration_time,omitempty" nullable:"true"`
	}
}

type deleteUserInput struct {
	UUIDPath
	Body struct {
		User string `json:"user" minLength:"1" doc:"User uuid or URL."`
		Role string `json:"role" enum:"CUSTOMER.OWNER,CUSTOMER.MANAGER,PROJECT.ADMIN,PROJECT.MANAGER,PROJECT.MEMBER,OFFERING.MANAGER"`
	}
}

type listUsersInput struct {
	UUIDPath
	ListParams
}

type body[T any] struct{ Body T }

// Error lists used in operation declarations.
var (
	errsRead  = []int{http.StatusUnauthorized, http.StatusNotFound}
	errsWrite = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge}
)

// registerRoleActions adds add_user, delete_user and list_users under prefix.
func registerRoleActions(api huma.API, svc *marketplace.Service, prefix, opPrefix, tag string, scope marketplace.ScopeType) {
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_add_user", Method: http.MethodPost, Path: prefix + "{uuid}/add_user/",
		DefaultStatus: http.StatusCreated, Summary: "Grant a role", Tags: []string{tag}, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *addUserInput) (*body[RoleAssignment], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		user, err := parseRef("user", in.Body.User)
		if err != nil {
			return nil, err
		}
		a, err := svc.AddUser(ctx, CurrentUser(ctx), scope, id, marketplace.RoleGrant{
			User: refValue(user), Role: marketplace.Role(in.Body.Role), ExpirationTime: in.Body.ExpirationTime,
		})
		if err != nil {
			return nil, err
		}
		return &body[RoleAssignment]{Body: roleOut(*a)}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_delete_user", Method: http.MethodPost, Path: prefix + "{uuid}/delete_user/",
		DefaultStatus: http.StatusOK, Summary: "Revoke a role", Description: "Answers 200, as Waldur does (its client reads no body).",
		Tags: []string{tag}, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *deleteUserInput) (*body[OrderInfo], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		user, err := parseRef("user", in.Body.User)
		if err != nil {
			return nil, err
		}
		if err := svc.DeleteUser(ctx, CurrentUser(ctx), scope, id, refValue(user), marketplace.Role(in.Body.Role)); err != nil {
			return nil, err
		}
		return &body[OrderInfo]{Body: OrderInfo{Detail: "Role has been revoked."}}, nil
	})
	registerList(api, huma.Operation{
		OperationID: opPrefix + "_list_users", Path: prefix + "{uuid}/list_users/",
		Summary: "List role holders", Tags: []string{tag}, Security: authRequired,
		// Offerings are public, but who manages one is the provider's business: 403.
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *listUsersInput, page db.Page) ([]RoleAssignment, int, error) {
		id, err := in.parse()
		if err != nil {
			return nil, 0, err
		}
		list, total, err := svc.ListRoleUsers(ctx, CurrentUser(ctx), scope, id, page)
		if err != nil {
			return nil, 0, err
		}
		return mapAll(list, roleOut), total, nil
	})
}

func registerMarketplace(api huma.API, svc *marketplace.Service) {
	registerCustomers(api, svc)
	registerOfferings(api, svc)
	registerCategories(api, svc)
	registerPublicOfferings(api, svc)
	registerOrders(api, svc)
	registerResources(api, svc, "/api/marketplace-resources/", "marketplace_resources", "marketplace-resources", marketplace.ConsumerView)
	registerResources(api, svc, "/api/marketplace-provider-resources/", "marketplace_provider_resources", "marketplace-provider-resources", marketplace.ProviderView)
}

func registerCustomers(api huma.API, svc *marketplace.Service) {
	tag := []string{"customers"}
	registerList(api, huma.Operation{
		OperationID: "customers_list", Path: "/api/customers/", Summary: "List customers",
		Description: "Customers on which the user holds a role (directly, through a project or an offering); staff and support see all.",
		Tags:        tag, Security: authRequired, Errors: errsRead,
	}, func(ctx context.Context, in *NamedListInput, page db.Page) ([]Customer, int, error) {
		list, total, err := svc.ListCustomers(ctx, CurrentUser(ctx), marketplace.ListFilter{Name: in.Name, Ordering: in.O}, page)
		if err != nil {
			return nil, 0, err
		}
		l := linksFrom(ctx)
		return mapAll(list, func(x *marketplace.Customer) Customer { return customerOut(l, x) }), total, nil
	})
	registerRetrieve(api, huma.Operation{OperationID: "customers_retrieve", Path: "/api/customers/{uuid}/", Summary: "Get a customer", Tags: tag},
		svc.GetCustomer, customerOut)
	type createCustomer struct {
		Body struct {
			Name        string `json:"name" minLength:"1" maxLength:"150"`
			Slug        string `json:"slug,omitempty" maxLength:"50" pattern:"^[-a-zA-Z0-9_]*$" patternDescription:"Enter a valid “slug” consisting of letters, numbers, underscores or hyphens (at most 50)."`
			Description string `json:"description,omitempty"`
			Email       string `json:"email,omitempty" maxLength:"254"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "customers_create", Method: http.MethodPost, Path: "/api/customers/", DefaultStatus: http.StatusCreated,
		Summary: "Create a customer (staff)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createCustomer) (*body[Customer], error) {
		c, err := svc.CreateCustomer(ctx, CurrentUser(ctx), marketplace.CustomerInput{
			Name: in.Body.Name, Slug: in.Body.Slug, Description: in.Body.Description, Email: in.Body.Email,
		})
		if err != nil {
			return nil, err
		}
		return &body[Customer]{Body: customerOut(linksFrom(ctx), c)}, nil
	})
	registerRoleActions(api, svc, "/api/customers/", "customers", "customers", marketplace.ScopeCustomer)

	ptag := []string{"projects"}
	registerList(api, huma.Operation{
		OperationID: "projects_list", Path: "/api/projects/", Summary: "List projects",
		Description: "Projects on which the user, or their customer role, gives access; staff and support see all.",
		Tags:        ptag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *CustomerScopedListInput, page db.Page) ([]Project, int, error) {
		cust, err := in.customer()
		if err != nil {
			return nil, 0, err
		}
		list, total, err := svc.ListProjects(ctx, CurrentUser(ctx), marketplace.ListFilter{Name: in.Name, Ordering: in.O, CustomerUUID: cust}, page)
		if err != nil {
			return nil, 0, err
		}
		l := linksFrom(ctx)
		return mapAll(list, func(x *marketplace.Project) Project { return projectOut(l, x) }), total, nil
	})
	registerRetrieve(api, huma.Operation{OperationID: "projects_retrieve", Path: "/api/projects/{uuid}/", Summary: "Get a project", Tags: ptag},
		svc.GetProject, projectOut)
	type createProject struct {
		Body struct {
			Customer    string `json:"customer" minLength:"1" doc:"Customer uuid or URL."`
			Name        string `json:"name" minLength:"1" maxLength:"500"`
			Slug        string `json:"slug,omitempty" maxLength:"50" pattern:"^[-a-zA-Z0-9_]*$" patternDescription:"Enter a valid “slug” consisting of letters, numbers, underscores or hyphens (at most 50)."`
			Description string `json:"description,omitempty"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "projects_create", Method: http.MethodPost, Path: "/api/projects/", DefaultStatus: http.StatusCreated,
		Summary: "Create a project (customer owners)", Tags: ptag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createProject) (*body[Project], error) {
		cust, err := parseRef("customer", in.Body.Customer)
		if err != nil {
			return nil, err
		}
		p, err := svc.CreateProject(ctx, CurrentUser(ctx), marketplace.ProjectInput{
			Customer: refValue(cust), Name: in.Body.Name, Slug: in.Body.Slug, Description: in.Body.Description,
		})
		if err != nil {
			return nil, err
		}
		return &body[Project]{Body: projectOut(linksFrom(ctx), p)}, nil
	})
	registerRoleActions(api, svc, "/api/projects/", "projects", "projects", marketplace.ScopeProject)
}

func registerOfferings(api huma.API, svc *marketplace.Service) {
	tag := []string{"marketplace-provider-offerings"}
	type listOfferings struct {
		OfferingListInput
		State string `query:"state" enum:"Draft,Active,Paused,"`
	}
	registerList(api, huma.Operation{
		OperationID: "marketplace_provider_offerings_list", Path: "/api/marketplace-provider-offerings/",
		Summary: "List offerings", Description: "The catalogue is visible to every authenticated user.",
		Tags: tag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listOfferings, page db.Page) ([]Offering, int, error) {
		f, err := in.filter()
		if err != nil {
			return nil, 0, err
		}
		f.State = in.State
		return listOfferingsOut(ctx, svc, f, page)
	})
	registerRetrieve(api, huma.Operation{OperationID: "marketplace_provider_offerings_retrieve", Path: "/api/marketplace-provider-offerings/{uuid}/", Summary: "Get an offering", Tags: tag},
		svc.GetOffering, offeringOut)
	type createOffering struct {
		Body struct {
			Customer      string              `json:"customer" minLength:"1" doc:"Provider customer uuid or URL."`
			Category      string              `json:"category,omitempty" doc:"Category uuid or URL (Waldur's clients always send one; optional in heed)."`
			Name          string              `json:"name" minLength:"1" maxLength:"150"`
			Description   string              `json:"description,omitempty"`
			Type          string              `json:"type,omitempty" doc:"Offering type (default basic)."`
			State         string              `json:"state,omitempty" enum:"Draft,Active,Paused"`
			Components    []OfferingComponent `json:"components,omitempty"`
			PluginOptions map[string]any      `json:"plugin_options,omitempty" doc:"Includes resource_expiration_reminders (list of day counts) and manual_provider_approval (bool)."`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "marketplace_provider_offerings_create", Method: http.MethodPost, Path: "/api/marketplace-provider-offerings/",
		DefaultStatus: http.StatusCreated, Summary: "Create an offering (provider owners)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createOffering) (*body[Offering], error) {
		cust, err := parseRef("customer", in.Body.Customer)
		if err != nil {
			return nil, err
		}
		category, err := parseRef("category", in.Body.Category)
		if err != nil {
			return nil, err
		}
		comps := make([]marketplace.Component, len(in.Body.Components))
		for i, c := range in.Body.Components {
			comps[i] = marketplace.Component(c)
		}
		o, err := svc.CreateOffering(ctx, CurrentUser(ctx), marketplace.OfferingInput{
			Customer: refValue(cust), Name: in.Body.Name, Description: in.Body.Description, Type: in.Body.Type,
			State: in.Body.State, Components: comps, PluginOptions: in.Body.PluginOptions, Category: category,
		})
		if err != nil {
			return nil, err
		}
		return &body[Offering]{Body: offeringOut(linksFrom(ctx), o)}, nil
	})

	registerRoleActions(api, svc, "/api/marketplace-provider-offerings/", "marketplace_provider_offerings", "marketplace-provider-offerings", marketplace.ScopeOffering)

	ptag := []string{"marketplace-plans"}
	type listPlans struct {
		ListParams
		Offering     string `query:"offering" doc:"Offering uuid or URL."`
		OfferingUUID string `query:"offering_uuid" doc:"Offering uuid."`
		O            string `query:"o" doc:"Ordering: name, created, unit_price."`
	}
	registerList(api, huma.Operation{
		OperationID: "marketplace_plans_list", Path: "/api/marketplace-plans/", Summary: "List plans",
		Tags: ptag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listPlans, page db.Page) ([]Plan, int, error) {
		off, err := parseFilterRef("offering", in.OfferingUUID, in.Offering)
		if err != nil {
			return nil, 0, err
		}
		list, total, err := svc.ListPlans(ctx, CurrentUser(ctx), marketplace.PlanFilter{Offering: off, Ordering: in.O}, page)
		if err != nil {
			return nil, 0, err
		}
		out, err := plansOut(ctx, svc, list...)
		return out, total, err
	})
	registerRetrieve(api, huma.Operation{OperationID: "marketplace_plans_retrieve", Path: "/api/marketplace-plans/{uuid}/", Summary: "Get a plan", Tags: ptag},
		func(ctx context.Context, u *auth.User, id uuid.UUID) (planWithDetail, error) {
			p, err := svc.GetPlan(ctx, u, id)
			if err != nil {
				return planWithDetail{}, err
			}
			d, err := svc.PlanDetails(ctx, []*marketplace.Plan{p})
			return planWithDetail{p, d[p.ID]}, err
		}, planOut)
	type createPlan struct {
		Body struct {
			Offering    string `json:"offering" minLength:"1" doc:"Offering uuid or URL."`
			Name        string `json:"name" minLength:"1" maxLength:"150"`
			Description string `json:"description,omitempty"`
			UnitPrice   string `json:"unit_price,omitempty" pattern:"^[0-9]{1,12}(\\.[0-9]{1,2})?$" patternDescription:"Enter a number with at most 12 digits before and 2 after the decimal point." doc:"Decimal as a string, e.g. \"10.50\"."`
			Unit        string `json:"unit,omitempty" enum:"month,quarter,half_month,day,hour,quantity"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "marketplace_plans_create", Method: http.MethodPost, Path: "/api/marketplace-plans/",
		DefaultStatus: http.StatusCreated, Summary: "Create a plan (provider owners, offering managers)", Tags: ptag,
		Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createPlan) (*body[Plan], error) {
		off, err := parseRef("offering", in.Body.Offering)
		if err != nil {
			return nil, err
		}
		p, err := svc.CreatePlan(ctx, CurrentUser(ctx), marketplace.PlanInput{
			Offering: refValue(off), Name: in.Body.Name, Description: in.Body.Description,
			UnitPrice: in.Body.UnitPrice, Unit: in.Body.Unit,
		})
		if err != nil {
			return nil, err
		}
		out, err := plansOut(ctx, svc, p)
		if err != nil {
			return nil, err
		}
		return &body[Plan]{Body: out[0]}, nil
	})
}

func registerOrders(api huma.API, svc *marketplace.Service) {
	tag := []string{"marketplace-orders"}
	type listOrders struct {
		ListParams
		Project  string   `query:"project_uuid" doc:"Project uuid."`
		Customer string   `query:"customer_uuid" doc:"Customer uuid."`
		Offering string   `query:"offering_uuid" doc:"Offering uuid."`
		Resource string   `query:"resource_uuid" doc:"Resource uuid."`
		State    []string `query:"state,explode" enum:"pending-consumer,pending-provider,pending-project,pending-start-date,executing,done,erred,canceled,rejected" doc:"Repeat to match any of several states."`
		Type     string   `query:"type" enum:"Create,Update,Terminate,"`
		O        string   `query:"o" doc:"Ordering: created, modified, state, type."`
	}
	registerList(api, huma.Operation{
		OperationID: "marketplace_orders_list", Path: "/api/marketplace-orders/", Summary: "List orders",
		Description: "Orders of projects the user has a role in, and orders for offerings the user provides.",
		Tags:        tag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listOrders, page db.Page) ([]Order, int, error) {
		var f marketplace.OrderFilter
		var err error
		for _, r := range []struct {
			name string
			val  string
			dst  **uuid.UUID
		}{{"project_uuid", in.Project, &f.Project}, {"customer_uuid", in.Customer, &f.Customer},
			{"offering_uuid", in.Offering, &f.Offering}, {"resource_uuid", in.Resource, &f.Resource}} {
			if *r.dst, err = parseRef(r.name, r.val); err != nil {
				return nil, 0, err
			}
		}
		f.States, f.Type, f.Ordering = in.State, in.Type, in.O
		list, total, err := svc.ListOrders(ctx, CurrentUser(ctx), f, page)
		if err != nil {
			return nil, 0, err
		}
		l := linksFrom(ctx)
		return mapAll(list, func(x *marketplace.Order) Order { return orderOut(l, x) }), total, nil
	})
	registerRetrieve(api, huma.Operation{OperationID: "marketplace_orders_retrieve", Path: "/api/marketplace-orders/{uuid}/", Summary: "Get an order", Tags: tag},
		svc.GetOrder, orderOut)
	type createOrder struct {
		Body struct {
			Type           string           `json:"type,omitempty" enum:"Create,Update,Terminate" doc:"Default Create."`
			Project        string           `json:"project,omitempty" doc:"Project uuid or URL (Create)."`
			Offering       string           `json:"offering,omitempty" doc:"Offering uuid or URL (Create)."`
			Plan           string           `json:"plan,omitempty" doc:"Plan uuid or URL."`
			Resource       string           `json:"resource,omitempty" doc:"Resource uuid or URL (Update, Terminate)."`
			Attributes     map[string]any   `json:"attributes,omitempty" doc:"Offering-specific; attributes.name names a new resource."`
			Limits         map[string]int64 `json:"limits,omitempty"`
			RequestComment string           `json:"request_comment,omitempty" maxLength:"255"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "marketplace_orders_create", Method: http.MethodPost, Path: "/api/marketplace-orders/",
		DefaultStatus: http.StatusCreated, Summary: "Place an order",
		Description: "Needs ORDER.CREATE on the project. A creator who may also approve (ORDER.APPROVE) passes the consumer step at once; " +
			"otherwise the order waits in pending-consumer.",
		Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createOrder) (*body[Order], error) {
		b := in.Body
		project, err := parseRef("project", b.Project)
		if err != nil {
			return nil, err
		}
		offering, err := parseRef("offering", b.Offering)
		if err != nil {
			return nil, err
		}
		plan, err := parseRef("plan", b.Plan)
		if err != nil {
			return nil, err
		}
		resource, err := parseRef("resource", b.Resource)
		if err != nil {
			return nil, err
		}
		o, err := svc.CreateOrder(ctx, CurrentUser(ctx), marketplace.OrderInput{
			Type: b.Type, Project: refValue(project), Offering: refValue(offering), Plan: plan, Resource: resource,
			Attributes: b.Attributes, Limits: b.Limits, RequestComment: b.RequestComment,
		})
		if err != nil {
			return nil, err
		}
		return &body[Order]{Body: orderOut(linksFrom(ctx), o)}, nil
	})
	// Waldur answers these with a message, not the order: approve_by_* 200
	// {"detail"}, reject_by_* 200, cancel 202 (the client reads no body of
	// the last two; heed sends the same {"detail"} for every one).
	for _, a := range []struct {
		action  marketplace.OrderAction
		summary string
		status  int
		detail  string
	}{
		{marketplace.ApproveByConsumer, "Approve as the consumer (ORDER.APPROVE on the project)", http.StatusOK, "Order has been approved."},
		{marketplace.RejectByConsumer, "Reject as the consumer (ORDER.APPROVE on the project)", http.StatusOK, "Order has been rejected."},
		{marketplace.ApproveByProvider, "Approve as the provider (provider owner or offering manager)", http.StatusOK, "Order has been approved."},
		{marketplace.RejectByProvider, "Reject as the provider (provider owner or offering manager)", http.StatusOK, "Order has been rejected."},
		{marketplace.CancelOrder, "Cancel a pending order (its creator or a consumer approver)", http.StatusAccepted, "Order has been canceled."},
	} {
		action, detail := a.action, a.detail
		huma.Register(api, huma.Operation{
			OperationID: "marketplace_orders_" + string(action), Method: http.MethodPost, DefaultStatus: a.status,
			Path: "/api/marketplace-orders/{uuid}/" + string(action) + "/", Summary: a.summary, Tags: tag,
			Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
		}, func(ctx context.Context, in *UUIDPath) (*body[OrderInfo], error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			if _, err := svc.Transition(ctx, CurrentUser(ctx), id, action); err != nil {
				return nil, err
			}
			return &body[OrderInfo]{Body: OrderInfo{Detail: detail}}, nil
		})
	}
}

func registerResources(api huma.API, svc *marketplace.Service, prefix, opPrefix, tagName string, view marketplace.View) {
	tag := []string{tagName}
	collection := prefix[len("/api/") : len(prefix)-1]
	type listResources struct {
		ListParams
		Project       string   `query:"project" doc:"Project uuid or URL."`
		ProjectUUID   string   `query:"project_uuid" doc:"Project uuid."`
		Customer      string   `query:"customer" doc:"Customer uuid or URL."`
		CustomerUUID  string   `query:"customer_uuid" doc:"Customer uuid."`
		Offering      string   `query:"offering" doc:"Offering uuid or URL."`
		OfferingUUID  string   `query:"offering_uuid" doc:"Offering uuid."`
		State         []string `query:"state,explode" enum:"Creating,OK,Erred,Updating,Terminating,Terminated" doc:"Repeat to match any of several states."`
		Name          string   `query:"name" doc:"Case-insensitive substring of the name."`
		EndDateBefore string   `query:"end_date_before" format:"date" doc:"End date on or before this date (YYYY-MM-DD)."`
		EndDateAfter  string   `query:"end_date_after" format:"date" doc:"End date on or after this date (YYYY-MM-DD)."`
		O             string   `query:"o" doc:"Ordering: name, created, modified, state, end_date, project_name, customer_name, offering_name."`
	}
	one := func(ctx context.Context, r *marketplace.Resource) *body[Resource] {
		return &body[Resource]{Body: resourceOut(linksFrom(ctx), collection, r)}
	}
	registerList(api, huma.Operation{
		OperationID: opPrefix + "_list", Path: prefix, Summary: "List resources", Tags: tag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listResources, page db.Page) ([]Resource, int, error) {
		var f marketplace.ResourceFilter
		var err error
		if f.Project, err = parseFilterRef("project", in.ProjectUUID, in.Project); err != nil {
			return nil, 0, err
		}
		if f.Customer, err = parseFilterRef("customer", in.CustomerUUID, in.Customer); err != nil {
			return nil, 0, err
		}
		if f.Offering, err = parseFilterRef("offering", in.OfferingUUID, in.Offering); err != nil {
			return nil, 0, err
		}
		for name, v := range map[string]string{"end_date_before": in.EndDateBefore, "end_date_after": in.EndDateAfter} {
			if v != "" {
				if _, ok := marketplace.ParseDate(v); !ok {
					return nil, 0, &DRFError{status: http.StatusBadRequest, fields: map[string][]string{name: {"Enter a valid date."}}}
				}
			}
		}
		if in.EndDateBefore != "" {
			f.EndDateBefore = &in.EndDateBefore
		}
		if in.EndDateAfter != "" {
			f.EndDateAfter = &in.EndDateAfter
		}
		f.States, f.Name, f.Ordering = in.State, in.Name, in.O
		list, total, err := svc.ListResources(ctx, CurrentUser(ctx), view, f, page)
		if err != nil {
			return nil, 0, err
		}
		l := linksFrom(ctx)
		return mapAll(list, func(r *marketplace.Resource) Resource { return resourceOut(l, collection, r) }), total, nil
	})
	registerRetrieve(api, huma.Operation{OperationID: opPrefix + "_retrieve", Path: prefix + "{uuid}/", Summary: "Get a resource", Tags: tag},
		func(ctx context.Context, u *auth.User, id uuid.UUID) (*marketplace.Resource, error) {
			return svc.GetResource(ctx, u, view, id)
		}, func(l links, r *marketplace.Resource) Resource { return resourceOut(l, collection, r) })
	type patchResource struct {
		UUIDPath
		Body struct {
			Name        *string        `json:"name,omitempty" minLength:"1" maxLength:"150"`
			Description *string        `json:"description,omitempty"`
			EndDate     *string        `json:"end_date,omitempty" doc:"YYYY-MM-DD; an empty string clears it."`
			Options     map[string]any `json:"options,omitempty"`
		}
	}
	type putResource struct {
		UUIDPath
		Body struct {
			Name        string         `json:"name" minLength:"1" maxLength:"150"`
			Description *string        `json:"description,omitempty"`
			EndDate     *string        `json:"end_date,omitempty" doc:"YYYY-MM-DD; an empty string clears it."`
			Options     map[string]any `json:"options,omitempty"`
		}
	}
	update := func(ctx context.Context, id string, in marketplace.ResourceUpdate) (*body[Resource], error) {
		u, err := ParseUUID(id)
		if err != nil {
			return nil, err
		}
		r, err := svc.UpdateResource(ctx, CurrentUser(ctx), view, u, in)
		if err != nil {
			return nil, err
		}
		return one(ctx, r), nil
	}
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_partial_update", Method: http.MethodPatch, Path: prefix + "{uuid}/",
		Summary: "Update a resource (name, description, end_date, options)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *patchResource) (*body[Resource], error) {
		return update(ctx, in.UUID, marketplace.ResourceUpdate{Name: in.Body.Name, Description: in.Body.Description,
			EndDate: in.Body.EndDate, Options: in.Body.Options})
	})
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_update", Method: http.MethodPut, Path: prefix + "{uuid}/",
		Summary: "Replace a resource's editable fields", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *putResource) (*body[Resource], error) {
		return update(ctx, in.UUID, marketplace.ResourceUpdate{Name: &in.Body.Name, Description: in.Body.Description,
			EndDate: in.Body.EndDate, Options: in.Body.Options})
	})

	type slugInput struct {
		UUIDPath
		Body struct {
			Slug string `json:"slug" minLength:"1" maxLength:"50" pattern:"^[-a-zA-Z0-9_]*$" patternDescription:"Enter a valid “slug” consisting of letters, numbers, underscores or hyphens (at most 50)."`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_set_slug", Method: http.MethodPost, Path: prefix + "{uuid}/set_slug/",
		Summary: "Set the slug (staff)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *slugInput) (*body[Status], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		if _, err := svc.SetSlug(ctx, CurrentUser(ctx), view, id, in.Body.Slug); err != nil {
			return nil, err
		}
		return &body[Status]{Body: Status{Status: "Resource slug has been updated."}}, nil
	})
	registerFlag[downscaledBody](api, svc, prefix, opPrefix, tag, view, marketplace.FlagDownscaled)
	registerFlag[pausedBody](api, svc, prefix, opPrefix, tag, view, marketplace.FlagPaused)
	registerFlag[restrictBody](api, svc, prefix, opPrefix, tag, view, marketplace.FlagRestrictMemberAccess)

	type terminateInput struct {
		UUIDPath
		Body *struct {
			Attributes map[string]any `json:"attributes,omitempty"`
			Comment    string         `json:"request_comment,omitempty" maxLength:"255"`
		} `required:"false"`
	}
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_terminate", Method: http.MethodPost, Path: prefix + "{uuid}/terminate/",
		Summary: "Terminate (creates a Terminate order; needs RESOURCE.TERMINATE)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *terminateInput) (*orderUUIDOut, error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		comment := ""
		if in.Body != nil {
			comment = in.Body.Comment
		}
		o, err := svc.Terminate(ctx, CurrentUser(ctx), view, id, comment)
		if err != nil {
			return nil, err
		}
		out := &orderUUIDOut{}
		out.Body.OrderUUID = HexUUID(o.UUID)
		return out, nil
	})
	type renewInput struct {
		UUIDPath
		Body struct {
			ExtensionMonths *int    `json:"extension_months,omitempty" minimum:"1" maximum:"120" doc:"Months to add to the current end date (or to today). Waldur's clients always send it."`
			RequestComment  string  `json:"request_comment,omitempty" maxLength:"255"`
			ExtensionDays   *int    `json:"extension_days,omitempty" minimum:"1" maximum:"3650" doc:"heed extension: days to add instead of months."`
			EndDate         *string `json:"end_date,omitempty" format:"date" doc:"heed extension: the new end date (YYYY-MM-DD), later than the current one."`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_renew", Method: http.MethodPost, Path: prefix + "{uuid}/renew/",
		Summary: "Renew: an Update order that moves the end date forward when it completes",
		Description: "Needs ORDER.APPROVE on the project. Give exactly one of extension_months (Waldur), extension_days or " +
			"end_date (heed's extensions). Answers the order's uuid, as terminate does.",
		Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *renewInput) (*orderUUIDOut, error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		b := in.Body
		o, err := svc.Renew(ctx, CurrentUser(ctx), view, id, marketplace.RenewInput{
			ExtensionMonths: b.ExtensionMonths, ExtensionDays: b.ExtensionDays, EndDate: b.EndDate, RequestComment: b.RequestComment,
		})
		if err != nil {
			return nil, err
		}
		out := &orderUUIDOut{}
		out.Body.OrderUUID = HexUUID(o.UUID)
		return out, nil
	})
}

// orderUUIDOut answers terminate and renew, as Waldur's OrderUUID.
type orderUUIDOut struct {
	Body struct {
		OrderUUID string `json:"order_uuid" pattern:"^[0-9a-f]{32}$"`
	}
}

type downscaledBody struct {
	Downscaled bool `json:"downscaled,omitempty"`
}

type pausedBody struct {
	Paused bool `json:"paused,omitempty"`
}

type restrictBody struct {
	RestrictMemberAccess bool `json:"restrict_member_access,omitempty"`
}

// flagStatus is Waldur's message for each set_* action.
var flagStatus = map[marketplace.StaffFlag]string{
	marketplace.FlagDownscaled:           "Resource downscaled flag has been updated.",
	marketplace.FlagPaused:               "Resource paused flag has been updated.",
	marketplace.FlagRestrictMemberAccess: "Resource restrict_member_access flag has been updated.",
}

func flagValue(b any) bool {
	switch v := b.(type) {
	case downscaledBody:
		return v.Downscaled
	case pausedBody:
		return v.Paused
	case restrictBody:
		return v.RestrictMemberAccess
	}
	return false
}

func registerFlag[B any](api huma.API, svc *marketplace.Service, prefix, opPrefix string, tag []string, view marketplace.View,
	flag marketplace.StaffFlag) {
	type input struct {
		UUIDPath
		Body B
	}
	huma.Register(api, huma.Operation{
		OperationID: opPrefix + "_set_" + string(flag), Method: http.MethodPost, Path: prefix + "{uuid}/set_" + string(flag) + "/",
		Summary: "Set " + string(flag) + " (staff)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *input) (*body[Status], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		if _, err := svc.SetFlag(ctx, CurrentUser(ctx), view, id, flag, flagValue(in.Body)); err != nil {
			return nil, err
		}
		return &body[Status]{Body: Status{Status: flagStatus[flag]}}, nil
	})
}

// mapAll converts every item of a domain list to its wire form.
func mapAll[S, T any](list []S, f func(S) T) []T {
	out := make([]T, len(list))
	for i, v := range list {
		out[i] = f(v)
	}
	return out
}

// registerRetrieve registers GET {uuid}/ for one object kind: parse the
// uuid, fetch what the caller may see (404 otherwise), render it.
func registerRetrieve[D, T any](api huma.API, op huma.Operation, get func(context.Context, *auth.User, uuid.UUID) (D, error), out func(links, D) T) {
	op.Method, op.Security, op.Errors = http.MethodGet, authRequired, errsRead
	huma.Register(api, op, func(ctx context.Context, in *UUIDPath) (*body[T], error) {
		id, err := in.parse()
		if err != nil {
			return nil, err
		}
		v, err := get(ctx, CurrentUser(ctx), id)
		if err != nil {
			return nil, err
		}
		return &body[T]{Body: out(linksFrom(ctx), v)}, nil
	})
}
