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
)

// User is the Waldur-family user representation.
type User struct {
	UUID               string    `json:"uuid" pattern:"^[0-9a-f]{32}$" doc:"32 hex characters."`
	Username           string    `json:"username"`
	FullName           string    `json:"full_name"`
	Email              string    `json:"email"`
	IsStaff            bool      `json:"is_staff"`
	IsSupport          bool      `json:"is_support"`
	IsActive           bool      `json:"is_active"`
	PreferredLanguages []string  `json:"preferred_languages" doc:"BCP 47 language tags, most preferred first."`
	HasPassword        bool      `json:"has_password" doc:"Whether password login is possible for this user."`
	Created            time.Time `json:"created"`
	Modified           time.Time `json:"modified"`
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

func userOut(u *auth.User) User {
	return User{
		UUID: HexUUID(u.UUID), Username: u.Username, FullName: u.FullName, Email: u.Email,
		IsStaff: u.IsStaff, IsSupport: u.IsSupport, IsActive: u.IsActive,
		PreferredLanguages: u.PreferredLanguages, HasPassword: u.HasPassword,
		Created: u.Created.UTC(), Modified: u.Modified.UTC(),
	}
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

type userCreateInput struct {
	Body struct {
		Username           string    `json:"username" minLength:"1" maxLength:"150"`
		Email              *string   `json:"email,omitempty" maxLength:"254"`
		FullName           *string   `json:"full_name,omitempty" maxLength:"150"`
		IsStaff            *bool     `json:"is_staff,omitempty"`
		IsSupport          *bool     `json:"is_support,omitempty"`
		IsActive           *bool     `json:"is_active,omitempty"`
		PreferredLanguages *[]string `json:"preferred_languages,omitempty"`
		Password           *string   `json:"password,omitempty" minLength:"8" doc:"Write-only; enables POST /api-auth/password/."`
	}
}

type userPatchInput struct {
	UserPath
	Body struct {
		Username           *string   `json:"username,omitempty" minLength:"1" maxLength:"150"`
		Email              *string   `json:"email,omitempty" maxLength:"254"`
		FullName           *string   `json:"full_name,omitempty" maxLength:"150"`
		IsStaff            *bool     `json:"is_staff,omitempty"`
		IsSupport          *bool     `json:"is_support,omitempty"`
		IsActive           *bool     `json:"is_active,omitempty"`
		PreferredLanguages *[]string `json:"preferred_languages,omitempty"`
		Password           *string   `json:"password,omitempty" minLength:"8" doc:"Write-only."`
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
		return &userBody{Body: userOut(CurrentUser(ctx))}, nil
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
		out := make([]User, len(users))
		for i, u := range users {
			out[i] = userOut(u)
		}
		return out, total, nil
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
		return &userBody{Body: userOut(u)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "users_create", Method: http.MethodPost, Path: "/api/users/", DefaultStatus: http.StatusCreated,
		Summary: "Create a user (staff)", Tags: usersTag, Security: authRequired,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *userCreateInput) (*userBody, error) {
		b := in.Body
		u, err := svc.CreateUser(ctx, CurrentUser(ctx), auth.UserInput{
			Username: &b.Username, Email: b.Email, FullName: b.FullName, IsStaff: b.IsStaff, IsSupport: b.IsSupport,
			IsActive: b.IsActive, PreferredLanguages: b.PreferredLanguages, Password: b.Password,
		})
		if err != nil {
			return nil, err
		}
		return &userBody{Body: userOut(u)}, nil
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
		b := in.Body
		u, err := svc.UpdateUser(ctx, CurrentUser(ctx), id, auth.UserInput{
			Username: b.Username, Email: b.Email, FullName: b.FullName, IsStaff: b.IsStaff, IsSupport: b.IsSupport,
			IsActive: b.IsActive, PreferredLanguages: b.PreferredLanguages, Password: b.Password,
		})
		if err != nil {
			return nil, err
		}
		return &userBody{Body: userOut(u)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "api_auth_password", Method: http.MethodPost, Path: "/api-auth/password/",
		Summary: "Obtain a token with a username and password", Tags: []string{"auth"},
		Description: "Waldur-compatible. Failed attempts are throttled per username and per client address (429 with Retry-After).",
		Errors:      []int{http.StatusBadRequest, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *loginInput) (*loginOutput, error) {
		tok, err := svc.Login(ctx, in.Body.Username, in.Body.Password, clientAddr(ctx))
		if err != nil {
			return nil, err
		}
		out := &loginOutput{}
		out.Body.Token = tok
		return out, nil
	})
}
