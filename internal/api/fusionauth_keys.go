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
	c := faCRUD{api, "/api/key", tagKeys}
	one := faOne(keyToFA, func(o *faKeyOut, k FAKey) { o.Body.Key = k })
	for _, verb := range []struct {
		name, path string
		do         func(context.Context, events.Key) (*events.Key, error)
	}{{"generateKey", "/api/key/generate", svc.GenerateKey}, {"importKey", "/api/key/import", svc.ImportKey}} {
		faCreate(faCRUD{api, verb.path, tagKeys}, verb.name, "Generate or import an HMAC key", "keyId",
			func(ctx context.Context, id uuid.UUID, req FAKeyRequest) (*faKeyOut, error) {
				k, err := keyFromFA(req)
				if err != nil {
					return nil, err
				}
				k.ID = id
				return one(verb.do(ctx, k))
			})
	}
	faRetrieve(c, "retrieveKey", "Retrieve a key (without its secret)",
		func(ctx context.Context, id uuid.UUID) (*faKeyOut, error) { return one(svc.GetKey(ctx, id)) })
	faList(c, "retrieveKeys", "Retrieve every key (without secrets)",
		func(ctx context.Context, _ *struct{}) ([]*events.Key, error) { return svc.ListKeys(ctx) },
		keyToFA, func(o *faKeysOut, ks []FAKey) { o.Body.Keys = ks })
	faUpdate(c, "updateKey", "Rename a key",
		func(ctx context.Context, id uuid.UUID, req FAKeyRequest) (*faKeyOut, error) {
			k, err := keyFromFA(req)
			if err != nil {
				return nil, err
			}
			return one(svc.UpdateKey(ctx, id, k.Name))
		})
	faDelete(c, "deleteKey", "Delete a key no webhook signs with", svc.DeleteKey)
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

// faKeysOut is an alias, not a defined type: the response body stays
// anonymous, so the document names its schema after the operation
// (RetrieveKeysResponse).
type faKeysOut = struct {
	Body struct {
		Keys []FAKey `json:"keys"`
	}
}
