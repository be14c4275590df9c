package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
)

// CRUD registration for the FusionAuth family: one helper per shape the
// object families (applications, email templates, keys, tenants, user
// actions, reasons, users, webhooks) share. Each family keeps its own wire
// types, conversions and service calls; a helper only parses the path and
// query, picks the body and calls them. Every operation is built with faOp,
// so the operation's id, summary, tag and declared errors are the family's.

// faCRUD is one object family: the collection's path (the object is at
// path/{id}) and the tag its operations carry.
type faCRUD struct {
	api  huma.API
	path string
	tag  string
}

func (c faCRUD) op(method, path, id, summary string, more ...int) huma.Operation {
	return faOp(method, path, id, summary, c.tag, more...)
}

// faTrue reads a FusionAuth boolean flag (?reactivate=true, ?hardDelete=true).
func faTrue(v string) bool { return strings.EqualFold(faQueryValue(v), "true") }

// faOne renders a domain object into its response, or passes its error on.
func faOne[T, F, Out any](toFA func(*T) F, set func(*Out, F)) func(*T, error) (*Out, error) {
	return func(v *T, err error) (*Out, error) {
		if err != nil {
			return nil, err
		}
		out := new(Out)
		set(out, toFA(v))
		return out, nil
	}
}

// faCreate registers POST path (heed picks the id) and POST path/{id} (the
// given id; one that is not a UUID is [invalid]idField), as operations id
// and id+"WithId", the latter's summary ending " with the given id".
func faCreate[Req, Out any](c faCRUD, id, summary, idField string, create func(context.Context, uuid.UUID, Req) (*Out, error)) {
	huma.Register(c.api, c.op(http.MethodPost, c.path, id, summary),
		func(ctx context.Context, in *struct{ Body Req }) (*Out, error) {
			return create(ctx, uuid.Nil, in.Body)
		})
	huma.Register(c.api, c.op(http.MethodPost, c.path+"/{id}", id+"WithId", summary+" with the given id"),
		func(ctx context.Context, in *struct {
			FAOptionalIDPath
			Body Req
		}) (*Out, error) {
			oid, err := in.parse(idField)
			if err != nil {
				return nil, err
			}
			return create(ctx, oid, in.Body)
		})
}

// faRetrieve registers GET path/{id}; an id that is not a UUID is a 404.
func faRetrieve[Out any](c faCRUD, id, summary string, get func(context.Context, uuid.UUID) (*Out, error)) {
	huma.Register(c.api, c.op(http.MethodGet, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*Out, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			return get(ctx, oid)
		})
}

// faList registers GET path: list (its input In carries the query
// parameters, if any), rendered one by one with toFA into the response.
func faList[In, T, F, Out any](c faCRUD, id, summary string, list func(context.Context, *In) ([]*T, error), toFA func(*T) F, set func(*Out, []F)) {
	huma.Register(c.api, c.op(http.MethodGet, c.path, id, summary),
		func(ctx context.Context, in *In) (*Out, error) {
			vs, err := list(ctx, in)
			if err != nil {
				return nil, err
			}
			out := new(Out)
			set(out, mapAll(vs, toFA))
			return out, nil
		})
}

// faUpdate registers PUT path/{id}: replace the object with the body.
func faUpdate[Req, Out any](c faCRUD, id, summary string, update func(context.Context, uuid.UUID, Req) (*Out, error)) {
	huma.Register(c.api, c.op(http.MethodPut, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body Req
		}) (*Out, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			return update(ctx, oid, in.Body)
		})
}

// faUpdateOrReactivate registers PUT path/{id} for a family with soft
// deletes: ?reactivate=true reactivates the object (the body, optional, is
// ignored); otherwise the body replaces it (a missing body is the zero
// request, which update refuses).
func faUpdateOrReactivate[Req, Out any](c faCRUD, id, summary string, reactivate func(context.Context, uuid.UUID) (*Out, error), update func(context.Context, uuid.UUID, Req) (*Out, error)) {
	huma.Register(c.api, c.op(http.MethodPut, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Reactivate string `query:"reactivate"`
			Body       *Req
		}) (*Out, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			if faTrue(in.Reactivate) {
				return reactivate(ctx, oid)
			}
			var req Req
			if in.Body != nil {
				req = *in.Body
			}
			return update(ctx, oid, req)
		})
}

// faPatch registers PATCH path/{id}: the body is merged (faMerge) into the
// object as a request would carry it (current), and the result replaces
// the object. field names the request's object in a merge error.
func faPatch[Req, Out any](c faCRUD, id, summary, field string, current func(context.Context, uuid.UUID) (Req, error), update func(context.Context, uuid.UUID, Req) (*Out, error)) {
	huma.Register(c.api, c.op(http.MethodPatch, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body map[string]any
		}) (*Out, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			cur, err := current(ctx, oid)
			if err != nil {
				return nil, err
			}
			var merged Req
			if err := faMerge(cur, in.Body, &merged, field); err != nil {
				return nil, err
			}
			return update(ctx, oid, merged)
		})
}

// faDelete registers DELETE path/{id}.
func faDelete(c faCRUD, id, summary string, del func(context.Context, uuid.UUID) error) {
	huma.Register(c.api, c.op(http.MethodDelete, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*struct{}, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, del(ctx, oid)
		})
}

// faSoftDelete registers DELETE path/{id} for a family with soft deletes:
// del is told whether ?hardDelete=true asked for more than a deactivation.
func faSoftDelete(c faCRUD, id, summary string, del func(ctx context.Context, id uuid.UUID, hard bool) error) {
	huma.Register(c.api, c.op(http.MethodDelete, c.path+"/{id}", id, summary, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			HardDelete string `query:"hardDelete"`
		}) (*struct{}, error) {
			oid, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, del(ctx, oid, faTrue(in.HardDelete))
		})
}
