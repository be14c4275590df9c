package api

import (
	"context"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

const tagFAUsers = "FusionAuth: users"

// FAUser is a heed user in FusionAuth's shape: the FusionAuth user id is
// heed's user uuid, and every user belongs to the default tenant.
type FAUser struct {
	ID                 string   `json:"id,omitempty"`
	TenantID           string   `json:"tenantId,omitempty"`
	Username           string   `json:"username,omitempty"`
	Email              string   `json:"email,omitempty"`
	FirstName          string   `json:"firstName,omitempty"`
	LastName           string   `json:"lastName,omitempty"`
	FullName           string   `json:"fullName,omitempty"`
	PreferredLanguages []string `json:"preferredLanguages,omitempty"`
	Password           string   `json:"password,omitempty" doc:"Write only: stored as a hash (heed's password login uses it), never returned."`
	Active             bool     `json:"active" readOnly:"true"`
	InsertInstant      int64    `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant  int64    `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAUserRequest is {"user": {...}}.
type FAUserRequest struct {
	User *FAUser `json:"user,omitempty"`
}

type faUserOut struct {
	Body struct {
		User FAUser `json:"user"`
	}
}

func userToFA(u *auth.User) FAUser {
	t := actioning.TemplateUserOf(u)
	return FAUser{ID: t.ID, TenantID: t.TenantID, Username: t.Username, Email: t.Email, FirstName: t.FirstName,
		LastName: t.LastName, FullName: t.FullName, PreferredLanguages: t.PreferredLanguages, Active: t.Active,
		InsertInstant: t.InsertInstant, LastUpdateInstant: t.LastUpdateInstant}
}

// faUserFields maps heed's user field names to FusionAuth's request paths.
var faUserFields = map[string]string{
	"username": "user.username", "email": "user.email", "full_name": "user.fullName", "first_name": "user.firstName",
	"last_name": "user.lastName", "preferred_languages": "user.preferredLanguages", "password": "user.password", "id": "userId",
}

// faUserError renames heed's user validation errors into FusionAuth's
// paths and codes.
func faUserError(err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := &errs.Error{Kind: e.Kind, Err: err}
	for field, msgs := range e.Fields {
		path, ok := faUserFields[field]
		if !ok {
			path = "user." + field
		}
		for _, m := range msgs {
			code := "invalid"
			switch {
			case strings.Contains(m, "already exists"):
				code = "duplicate"
			case strings.Contains(m, "required"):
				code = "blank"
			case strings.Contains(m, "no more than"):
				code = "tooLong"
			case strings.Contains(m, "at least"):
				code = "tooShort"
			}
			out.Add(code, path, "%s", m)
		}
	}
	return out
}

func userInputFromFA(req FAUserRequest, creating bool) (auth.UserInput, error) {
	if req.User == nil {
		return auth.UserInput{}, errs.Coded("missing", "user", "You must specify the [user] object.")
	}
	u := req.User
	if creating && u.Email == "" && u.Username == "" {
		return auth.UserInput{}, errs.Coded("blank", "user.email", "You must specify either the [user.email] or [user.username] property.")
	}
	in := auth.UserInput{FirstName: &u.FirstName, LastName: &u.LastName, FullName: &u.FullName, Email: &u.Email}
	name := u.Username
	if name == "" {
		name = u.Email
	}
	if name != "" {
		in.Username = &name
	}
	if u.PreferredLanguages != nil {
		langs := u.PreferredLanguages
		in.PreferredLanguages = &langs
	}
	if u.Password != "" {
		in.Password = &u.Password
	}
	if u.FullName == "" {
		in.FullName = nil // derived from the first and last names
	}
	return in, nil
}

func registerFAUsers(api huma.API, d *db.DB, users *auth.Service) {
	c := faCRUD{api, "/api/user", tagFAUsers}
	one := func(u *auth.User, err error) (*faUserOut, error) {
		if err != nil {
			return nil, faUserError(err)
		}
		out := &faUserOut{}
		out.Body.User = userToFA(u)
		return out, nil
	}
	scoped := func(ctx context.Context) error {
		if err := instanceInScope(ctx); err != nil {
			return errs.NotFoundf("user not found")
		}
		return nil
	}
	faCreate(c, "createUser", "Create a heed user", "userId",
		func(ctx context.Context, id uuid.UUID, req FAUserRequest) (*faUserOut, error) {
			if err := scoped(ctx); err != nil {
				return nil, errs.Coded("invalid", "tenantId", "heed's users all belong to the default tenant.")
			}
			in, err := userInputFromFA(req, true)
			if err != nil {
				return nil, err
			}
			if id != uuid.Nil {
				in.UUID = &id
			}
			return one(users.CreateUser(ctx, auth.UserFrom(ctx), in))
		})
	faRetrieve(c, "retrieveUser", "Retrieve a heed user in FusionAuth's shape",
		func(ctx context.Context, id uuid.UUID) (*faUserOut, error) {
			if err := scoped(ctx); err != nil {
				return nil, err
			}
			return one(auth.UserByUUID(ctx, d.Reader(), id))
		})
	registerFAUserUpdates(c, d, users, one, scoped)
}

func registerFAUserUpdates(c faCRUD, d *db.DB, users *auth.Service, one func(*auth.User, error) (*faUserOut, error), scoped func(context.Context) error) {
	update := func(ctx context.Context, id uuid.UUID, req FAUserRequest) (*faUserOut, error) {
		in, err := userInputFromFA(req, false)
		if err != nil {
			return nil, err
		}
		return one(users.UpdateUser(ctx, auth.UserFrom(ctx), id, in))
	}
	active := func(ctx context.Context, id uuid.UUID, v bool) (*auth.User, error) {
		return users.UpdateUser(ctx, auth.UserFrom(ctx), id, auth.UserInput{IsActive: &v})
	}
	faUpdateOrReactivate(c, "updateUser", "Replace a user's profile, or reactivate the user with reactivate=true",
		func(ctx context.Context, id uuid.UUID) (*faUserOut, error) {
			if err := scoped(ctx); err != nil {
				return nil, err
			}
			return one(active(ctx, id, true))
		},
		func(ctx context.Context, id uuid.UUID, req FAUserRequest) (*faUserOut, error) {
			if err := scoped(ctx); err != nil {
				return nil, err
			}
			return update(ctx, id, req)
		})
	faPatch(c, "patchUser", "Update a user by merging the body into it", "user",
		func(ctx context.Context, id uuid.UUID) (FAUserRequest, error) {
			if err := scoped(ctx); err != nil {
				return FAUserRequest{}, err
			}
			cur, err := auth.UserByUUID(ctx, d.Reader(), id)
			if err != nil {
				return FAUserRequest{}, err
			}
			return FAUserRequest{User: ptr(userToFA(cur))}, nil
		}, update)
	faSoftDelete(c, "deleteUser", "Deactivate a user (heed keeps users for their audit trail: hardDelete=true is refused)",
		func(ctx context.Context, id uuid.UUID, hard bool) error {
			if err := scoped(ctx); err != nil {
				return err
			}
			if hard {
				return errs.Coded("invalid", "hardDelete", "heed keeps users for their audit trail; deactivate the user instead.")
			}
			_, err := active(ctx, id, false)
			return err
		})
}
