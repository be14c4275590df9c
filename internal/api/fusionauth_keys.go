package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

const tagKeys = "FusionAuth: keys"

// FAKey is FusionAuth's key object; heed keeps HMAC keys (HS256/384/512),
// which is what signing webhooks needs.
type FAKey struct {
	ID                string `json:"id,omitempty"`
	Name              string `json:"name,omitempty" doc:"Required."`
	Algorithm         string `json:"algorithm,omitempty" doc:"Required: HS256, HS384 or HS512."`
	Type              string `json:"type,omitempty" readOnly:"true"`
	Kid               string `json:"kid,omitempty" doc:"Generated when absent."`
	Issuer            string `json:"issuer,omitempty"`
	Secret            string `json:"secret,omitempty" doc:"The HMAC secret: required by import, returned only by generate and import."`
	HasPrivateKey     bool   `json:"hasPrivateKey,omitempty" readOnly:"true"`
	InsertInstant     int64  `json:"insertInstant,omitempty" readOnly:"true"`
	LastUpdateInstant int64  `json:"lastUpdateInstant,omitempty" readOnly:"true"`
}

// FAKeyRequest is {"key": {...}}.
type FAKeyRequest struct {
	Key *FAKey `json:"key,omitempty"`
}

type faKeyOut struct {
	Body struct {
		Key FAKey `json:"key"`
	}
}

func keyToFA(k *events.Key) FAKey {
	return FAKey{ID: k.ID.String(), Name: k.Name, Algorithm: k.Algorithm, Type: k.Type(), Kid: k.Kid, Issuer: k.Issuer,
		Secret: k.Secret, InsertInstant: k.Created.UnixMilli(), LastUpdateInstant: k.Updated.UnixMilli()}
}

func keyFromFA(req FAKeyRequest) (events.Key, error) {
	if req.Key == nil {
		return events.Key{}, errs.Coded("missing", "key", "You must specify the [key] object.")
	}
	k := req.Key
	return events.Key{Name: k.Name, Algorithm: k.Algorithm, Kid: k.Kid, Issuer: k.Issuer, Secret: k.Secret}, nil
}

func registerFAKeys(api huma.API, svc *events.Service) {
	one := func(k *events.Key, err error) (*faKeyOut, error) {
		if err != nil {
			return nil, err
		}
		out := &faKeyOut{}
		out.Body.Key = keyToFA(k)
		return out, nil
	}
	for _, verb := range []struct {
		name, path string
		do         func(context.Context, events.Key) (*events.Key, error)
	}{{"generateKey", "/api/key/generate", svc.GenerateKey}, {"importKey", "/api/key/import", svc.ImportKey}} {
		do := func(ctx context.Context, id uuid.UUID, req FAKeyRequest) (*faKeyOut, error) {
			k, err := keyFromFA(req)
			if err != nil {
				return nil, err
			}
			k.ID = id
			return one(verb.do(ctx, k))
		}
		huma.Register(api, faOp(http.MethodPost, verb.path, verb.name, "Generate or import an HMAC key", tagKeys),
			func(ctx context.Context, in *struct{ Body FAKeyRequest }) (*faKeyOut, error) {
				return do(ctx, uuid.Nil, in.Body)
			})
		huma.Register(api, faOp(http.MethodPost, verb.path+"/{id}", verb.name+"WithId", "Generate or import an HMAC key with the given id", tagKeys),
			func(ctx context.Context, in *struct {
				FAOptionalIDPath
				Body FAKeyRequest
			}) (*faKeyOut, error) {
				id, err := in.parse("keyId")
				if err != nil {
					return nil, err
				}
				return do(ctx, id, in.Body)
			})
	}
	huma.Register(api, faOp(http.MethodGet, "/api/key/{id}", "retrieveKey", "Retrieve a key (without its secret)", tagKeys, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*faKeyOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return one(svc.GetKey(ctx, id))
		})
	huma.Register(api, faOp(http.MethodGet, "/api/key", "retrieveKeys", "Retrieve every key (without secrets)", tagKeys),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Keys []FAKey `json:"keys"`
			}
		}, error) {
			ks, err := svc.ListKeys(ctx)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Keys []FAKey `json:"keys"`
				}
			}{}
			out.Body.Keys = mapAll(ks, keyToFA)
			return out, nil
		})
	huma.Register(api, faOp(http.MethodPut, "/api/key/{id}", "updateKey", "Rename a key", tagKeys, http.StatusNotFound),
		func(ctx context.Context, in *struct {
			FAIDPath
			Body FAKeyRequest
		}) (*faKeyOut, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			k, err := keyFromFA(in.Body)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateKey(ctx, id, k.Name))
		})
	huma.Register(api, faOp(http.MethodDelete, "/api/key/{id}", "deleteKey", "Delete a key no webhook signs with", tagKeys, http.StatusNotFound),
		func(ctx context.Context, in *FAIDPath) (*struct{}, error) {
			id, err := in.parse()
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteKey(ctx, id)
		})
	huma.Register(api, huma.Operation{OperationID: "retrieveJsonWebKeySet", Method: http.MethodGet, Path: "/.well-known/jwks.json",
		Summary: "The public keys (heed keeps HMAC keys only, so the set is empty)", Tags: []string{tagKeys}},
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Keys []map[string]string `json:"keys"`
			}
		}, error) {
			out := &struct {
				Body struct {
					Keys []map[string]string `json:"keys"`
				}
			}{}
			out.Body.Keys = []map[string]string{}
			return out, nil
		})
}
