package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
)

// Registration helpers for the FusionAuth family.

// faOp starts a FusionAuth operation: tagged for the dialect, staff API key
// required, 400 and 401 declared.
func faOp(method, path, id, summary, tag string, more ...int) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
		Metadata: map[string]any{dialectKey: dialectFusionAut}, Security: authRequired,
		Errors: append([]int{http.StatusBadRequest, http.StatusUnauthorized}, more...), DefaultStatus: http.StatusOK,
	}
}

// FAIDPath is a FusionAuth object id in the path.
type FAIDPath struct {
	ID string `path:"id" doc:"The object's id (a UUID)."`
}

// parse reads the id; one that is not a UUID names no object (404).
func (p *FAIDPath) parse() (uuid.UUID, error) {
	id, err := uuid.Parse(p.ID)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.NotFoundf("not found")
	}
	return id, nil
}

// FAOptionalIDPath is the optional id of a create ("POST /api/webhook[/{id}]").
type FAOptionalIDPath struct {
	ID string `path:"id" doc:"The id to create the object with (a UUID); without it heed picks one."`
}

func (p *FAOptionalIDPath) parse(field string) (uuid.UUID, error) {
	id, err := uuid.Parse(p.ID)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.Coded("invalid", field, "The id [%s] is not a UUID.", p.ID)
	}
	return id, nil
}

// faQueryValue treats what FusionAuth's TypeScript client sends for a
// missing argument ("undefined", "null", "") as absent.
func faQueryValue(v string) string {
	switch strings.TrimSpace(v) {
	case "", "undefined", "null":
		return ""
	}
	return v
}

func faQueryInt(field, v string, def int) (int, error) {
	v = faQueryValue(v)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.Coded("invalid", field, "The [%s] parameter must be a non-negative integer.", field)
	}
	return n, nil
}

func faQueryUUID(field, v string) (uuid.UUID, error) {
	v = faQueryValue(v)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, errs.Coded("invalid", field, "The [%s] parameter must be a UUID.", field)
	}
	return id, nil
}

func faUUIDs(field string, ss []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, 0, len(ss))
	for _, s := range ss {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, errs.Coded("invalid", field, "[%s] is not a UUID.", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// faMerge applies a FusionAuth PATCH (a plain JSON body) to base, the
// object as a request would carry it: objects merge key by key, null
// removes a value, and arrays are appended to, not replaced (FusionAuth's
// documented behaviour). The result is decoded into out.
func faMerge(base any, patch map[string]any, out any, field string) error {
	raw, err := json.Marshal(base)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	mergeJSON(m, patch)
	raw, err = json.Marshal(m)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errs.Coded("invalid", field, "The patch does not fit the object: %v.", err)
	}
	return nil
}

func mergeJSON(dst, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			if dm, ok := dst[k].(map[string]any); ok {
				mergeJSON(dm, pv)
			} else {
				dst[k] = pv
			}
		case []any:
			if da, ok := dst[k].([]any); ok {
				dst[k] = append(da, pv...)
			} else {
				dst[k] = pv
			}
		default:
			dst[k] = v
		}
	}
}

func ptr[T any](v T) *T { return &v }
