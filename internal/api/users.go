package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
)

// User is the Waldur-family user representation (Waldur's User model, the
// keys heed has; every key of that model is optional for its clients).
type User struct {
	URL               string `json:"url" format:"uri"`
	UUID              string `json:"uuid" pattern:"^[0-9a-f]{32}$" doc:"32 hex characters."`
	Username          string `json:"username"`
	FullName          string `json:"full_name"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	JobTitle          string `json:"job_title"`
	Email             string `json:"email"`
	IsStaff           bool   `json:"is_staff"`
	IsSupport         bool   `json:"is_support"`
	IsActive          bool   `json:"is_active"`
	PreferredLanguage string `json:"preferred_language" doc:"The most preferred language tag, or empty."`
	// NotificationsEnabled false opts out of digest emails.
	NotificationsEnabled bool             `json:"notifications_enabled"`
	Permissions          []UserPermission `json:"permissions" doc:"The user's active roles."`
	DateJoined           time.Time        `json:"date_joined"`
	HasUsablePassword    bool             `json:"has_usable_password" doc:"Whether password login is possible for this user."`
	// heed's extensions.
	PreferredLanguages []string  `json:"preferred_languages" doc:"heed extension: BCP 47 language tags, most preferred first."`
	Created            time.Time `json:"created" doc:"heed extension: same as date_joined."`
	Modified           time.Time `json:"modified" doc:"heed extension."`
}

// UserPermission is one role of a user, as Waldur's Permission model.
type UserPermission struct {
	RoleName       string     `json:"role_name"`
	ScopeType      string     `json:"scope_type" enum:"customer,project,offering"`
	ScopeUUID      string     `json:"scope_uuid" pattern:"^[0-9a-f]{32}$"`
	ScopeName      string     `json:"scope_name"`
	CustomerUUID   string     `json:"customer_uuid" pattern:"^[0-9a-f]{32}$"`
	CustomerName   string     `json:"customer_name"`
	ProjectUUID    *string    `json:"project_uuid" pattern:"^[0-9a-f]{32}$" nullable:"true"`
	ExpirationTime *time.Time `json:"expiration_time" nullable:"true"`
	Created        time.Time  `json:"created"`
}

// HexUUID renders a uuid the Waldur way: 32 lowercase hex characters.
func HexUUID(u uuid.UUID) string { return strings.ReplaceAll(u.String(), "-", "") }

// ParseUUID accepts 32-hex or dashed uuids; anything else cannot name an
// object, so it is a 404 like any unknown uuid.
func ParseUUID(s string) (uuid.UUID, error) {
	if len(s) != 32 && len(s) != 36 {
		return uuid.Nil, detailError(http.StatusNotFound, msgNotFound)
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, detailError(http.StatusNotFound, msgNotFound)
	}
	return u, nil
}

func userOut(l links, u *auth.User, perms []marketplace.UserPermission) User {
	out := User{
		URL: l.to("users", u.UUID), UUID: HexUUID(u.UUID), Username: u.Username, FullName: u.FullName,
		FirstName: u.FirstName, LastName: u.LastName, JobTitle: u.JobTitle, Email: u.Email,
		IsStaff: u.IsStaff, IsSupport: u.IsSupport, IsActive: u.IsActive,
		PreferredLanguages: u.PreferredLanguages, HasUsablePassword: u.HasPassword, NotificationsEnabled: u.NotificationsEnabled,
		Permissions: make([]UserPermission, len(perms)),
		DateJoined:  u.Created.UTC(), Created: u.Created.UTC(), Modified: u.Modified.UTC(),
	}
	if len(u.PreferredLanguages) > 0 {
		out.PreferredLanguage = u.PreferredLanguages[0]
	}
	for i, p := range perms {
		out.Permissions[i] = UserPermission{RoleName: string(p.Role), ScopeType: string(p.ScopeType),
			ScopeUUID: HexUUID(p.ScopeUUID), ScopeName: p.ScopeName, CustomerUUID: HexUUID(p.CustomerUUID),
			CustomerName: p.CustomerName, ProjectUUID: hexPtr(p.ProjectUUID), ExpirationTime: utcPtr(p.ExpirationTime),
			Created: p.Created.UTC()}
	}
	return out
}

// usersOut renders users with their permissions, loaded in one statement.
func usersOut(ctx context.Context, market *marketplace.Service, users ...*auth.User) ([]User, error) {
	var perms map[int64][]marketplace.UserPermission
	if market != nil {
		ids := make([]int64, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		var err error
		if perms, err = market.UserPermissions(ctx, ids); err != nil {
			return nil, err
		}
	}
	l := linksFrom(ctx)
	out := make([]User, len(users))
	for i, u := range users {
		out[i] = userOut(l, u, perms[u.ID])
	}
	return out, nil
}

func userBodyOf(ctx context.Context, market *marketplace.Service, u *auth.User) (*userBody, error) {
	out, err := usersOut(ctx, market, u)
	if err != nil {
		return nil, err
	}
	return &userBody{Body: out[0]}, nil
}

// CurrentUser returns the authenticated user. Operations with security
// declared never run without one (requireAuth), so nil means a wiring bug.
func CurrentUser(ctx context.Context) *auth.User { return auth.UserFrom(ctx) }

type UserPath struct {
	UUID string `path:"uuid" doc:"User uuid (32 hex characters; the dashed form is accepted)."`
}

type userBody struct {
	Body User
}

type usersListInput struct {
	ListParams
	Username string       `query:"username" doc:"Exact username."`
	Email    string       `query:"email" doc:"Exact email, case-insensitive."`
	IsActive OptionalBool `query:"is_active" doc:"true or false."`
	O        string       `query:"o" doc:"Ordering: comma-separated field names, '-' for descending. Fields: username, email, full_name, created, is_active, is_staff, is_support."`
}

// UserFields are the writable fields of a user shared by create and PATCH.
// Waldur's request models have many more keys; those heed does not keep are
// ignored, as DRF ignores undeclared keys.
type UserFields struct {
	Email                *string   `json:"email,omitempty" maxLength:"254" format:"email"`
	FullName             *string   `json:"full_name,omitempty" maxLength:"150"`
	FirstName            *string   `json:"first_name,omitempty" maxLength:"150" doc:"With last_name, sets full_name when that is not given."`
	LastName             *string   `json:"last_name,omitempty" maxLength:"150"`
	JobTitle             *string   `json:"job_title,omitempty" maxLength:"150"`
	IsStaff              *bool     `json:"is_staff,omitempty"`
	IsSupport            *bool     `json:"is_support,omitempty"`
	IsActive             *bool     `json:"is_active,omitempty"`
	PreferredLanguage    *string   `json:"preferred_language,omitempty" maxLength:"35" doc:"A language tag; it becomes the first of preferred_languages."`
	PreferredLanguages   *[]string `json:"preferred_languages,omitempty" doc:"heed extension: language tags, most preferred first."`
	NotificationsEnabled *bool     `json:"notifications_enabled,omitempty" doc:"false opts out of digest emails."`
	Password             *string   `json:"password,omitempty" minLength:"8" doc:"Write-only; enables POST /api-auth/password/. At most 72 bytes (bcrypt's limit)."`
}

func (f UserFields) input(username *string) auth.UserInput {
	langs := f.PreferredLanguages
	if f.PreferredLanguage != nil && langs == nil {
		l := []string{}
		if *f.PreferredLanguage != "" {
			l = []string{*f.PreferredLanguage}
		}
		langs = &l
	}
	return auth.UserInput{
		Username: username, Email: f.Email, FullName: f.FullName, FirstName: f.FirstName, LastName: f.LastName,
		JobTitle: f.JobTitle, IsStaff: f.IsStaff, IsSupport: f.IsSupport, IsActive: f.IsActive,
		PreferredLanguages: langs, Password: f.Password, NotificationsEnabled: f.NotificationsEnabled,
	}
}

type userCreateInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"150" pattern:"^[\\w.@+-]*$" patternDescription:"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."`
		UserFields
	}
}

type userPatchInput struct {
	UserPath
	Body struct {
		Username *string `json:"username,omitempty" minLength:"1" maxLength:"150" pattern:"^[\\w.@+-]*$" patternDescription:"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."`
		UserFields
	}
}

type loginInput struct {
	Body struct {
		Username string `json:"username" minLength:"1"`
		Password string `json:"password" minLength:"1"`
	}
}

type loginOutput struct {
	Body struct {
		Token string `json:"token" doc:"Send as 'Authorization: Token <token>'."`
	}
}

var (
	errsUnauthorized = []int{http.StatusUnauthorized}
	usersTag         = []string{"users"}
)

func registerUsers(api huma.API, deps Deps) {
	svc := deps.Users
	huma.Register(api, huma.Operation{
		OperationID: "users_me_retrieve", Method: http.MethodGet, Path: "/api/users/me/",
		Summary: "The authenticated user", Tags: usersTag, Security: authRequired, Errors: errsUnauthorized,
	}, func(ctx context.Context, _ *struct{}) (*userBody, error) {
		return userBodyOf(ctx, deps.Marketplace, CurrentUser(ctx))
	})
	// Waldur's generated client has a count operation for /users/me/ (a
	// generator artifact); it reads X-Result-Count, which is always 1.
	huma.Register(api, huma.Operation{
		OperationID: "users_me_count", Method: http.MethodHead, Path: "/api/users/me/",
		Summary: "Count of the authenticated user (always 1)", Tags: usersTag, Security: authRequired, Errors: errsUnauthorized,
	}, func(ctx context.Context, _ *struct{}) (*countOutput, error) {
		return &countOutput{ResultCount: 1}, nil
	})

	registerList(api, huma.Operation{
		OperationID: "users_list", Path: "/api/users/",
		Summary: "List users", Description: "Staff and support see every user; everyone else sees only themselves.",
		Tags: usersTag, Security: authRequired, Errors: []int{http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *usersListInput, page db.Page) ([]User, int, error) {
		active, err := in.IsActive.Parse("is_active")
		if err != nil {
			return nil, 0, err
		}
		users, total, err := svc.ListUsers(ctx, CurrentUser(ctx), auth.UserFilter{
			Username: in.Username, Email: in.Email, IsActive: active, Ordering: in.O,
		}, page)
		if err != nil {
			return nil, 0, err
		}
		out, err := usersOut(ctx, deps.Marketplace, users...)
		return out, total, err
	})

	huma.Register(api, huma.Operation{
		OperationID: "users_retrieve", Method: http.MethodGet, Path: "/api/users/{uuid}/",
		Summary: "Get a user", Tags: usersTag, Security: authRequired,
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *UserPath) (*userBody, error) {
		id, err := ParseUUID(in.UUID)
		if err != nil {
			return nil, err
		}
		u, err := svc.GetUser(ctx, CurrentUser(ctx), id)
		if err != nil {
			return nil, err
		}
		return userBodyOf(ctx, deps.Marketplace, u)
	})

	huma.Register(api, huma.Operation{
		OperationID: "users_create", Method: http.MethodPost, Path: "/api/users/", DefaultStatus: http.StatusCreated,
		Summary: "Create a user (staff)", Tags: usersTag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *userCreateInput) (*userBody, error) {
		u, err := svc.CreateUser(ctx, CurrentUser(ctx), in.Body.input(&in.Body.Username))
		if err != nil {
			return nil, err
		}
		return userBodyOf(ctx, deps.Marketplace, u)
	})

	huma.Register(api, huma.Operation{
		OperationID: "users_partial_update", Method: http.MethodPatch, Path: "/api/users/{uuid}/",
		Summary: "Update a user (staff)", Tags: usersTag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *userPatchInput) (*userBody, error) {
		id, err := ParseUUID(in.UUID)
		if err != nil {
			return nil, err
		}
		u, err := svc.UpdateUser(ctx, CurrentUser(ctx), id, in.Body.input(in.Body.Username))
		if err != nil {
			return nil, err
		}
		return userBodyOf(ctx, deps.Marketplace, u)
	})

	huma.Register(api, huma.Operation{
		OperationID: "api_auth_password", Method: http.MethodPost, Path: "/api-auth/password/",
		Summary: "Obtain a token with a username and password", Tags: []string{"auth"},
		Description: "Waldur-compatible. Bad credentials answer 401, which Waldur's client expects; a malformed body 400. " +
			"Failed attempts are throttled per username and per client address (429 with Retry-After).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *loginInput) (*loginOutput, error) {
		tok, err := svc.Login(ctx, in.Body.Username, in.Body.Password, clientAddr(ctx))
		if e, ok := errs.As(err); ok && e.Kind == errs.Invalid {
			return nil, detailError(http.StatusUnauthorized, e.Message)
		}
		if err != nil {
			return nil, err
		}
		out := &loginOutput{}
		out.Body.Token = tok
		return out, nil
	})
}
