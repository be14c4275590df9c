package api

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
)

// VersionUser is who made a recorded change.
type VersionUser struct {
	UUID     string `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
}

// RevisionUser is a VersionUser or null (system changes).
type RevisionUser struct{ user *VersionUser }

// MarshalJSON renders the user or null.
func (r RevisionUser) MarshalJSON() ([]byte, error) {
	if r.user == nil {
		return []byte("null"), nil
	}
	return json.Marshal(r.user)
}

// Schema declares the nullable object.
func (RevisionUser) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type: huma.TypeObject, Nullable: true,
		Description: "User who made the change; null for changes heed made itself (order processing, timers).",
		Properties: map[string]*huma.Schema{
			"uuid":      {Type: huma.TypeString, Pattern: "^[0-9a-f]{32}$"},
			"username":  {Type: huma.TypeString},
			"full_name": {Type: huma.TypeString},
		},
		Required:             []string{"uuid", "username", "full_name"},
		AdditionalProperties: false,
	}
}

// VersionHistory is one history entry, as Waldur's VersionHistory shows it.
type VersionHistory struct {
	ID              int64                      `json:"id"`
	RevisionDate    time.Time                  `json:"revision_date"`
	RevisionUser    RevisionUser               `json:"revision_user"`
	RevisionComment string                     `json:"revision_comment"`
	SerializedData  storedJSON[map[string]any] `json:"serialized_data" doc:"The tracked fields after the change; plan is the plan's uuid."`
}

// VersionHistoryAt is a version plus the instant that was asked for.
type VersionHistoryAt struct {
	VersionHistory
	QueriedAt string `json:"queried_at" doc:"The timestamp parameter, echoed as sent."`
}

// appendJSON writes v as encoding/json would, with serialized_data as
// stored (see jsonAppender).
func (v VersionHistory) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONInt(b, v.ID)
	b = append(b, `,"revision_date":`...)
	b = appendJSONTime(b, v.RevisionDate)
	b = append(b, `,"revision_user":`...)
	if u := v.RevisionUser.user; u == nil {
		b = append(b, "null"...)
	} else {
		// RevisionUser.MarshalJSON uses json.Marshal: HTML escaped.
		b = append(b, `{"uuid":`...)
		b = appendJSONStringHTML(b, u.UUID)
		b = append(b, `,"username":`...)
		b = appendJSONStringHTML(b, u.Username)
		b = append(b, `,"full_name":`...)
		b = appendJSONStringHTML(b, u.FullName)
		b = append(b, '}')
	}
	b = append(b, `,"revision_comment":`...)
	b = appendJSONString(b, v.RevisionComment)
	b = append(b, `,"serialized_data":`...)
	b = appendStoredJSON(b, v.SerializedData, "{}")
	return append(b, '}')
}

func (v VersionHistoryAt) appendJSON(b []byte) []byte {
	b = v.VersionHistory.appendJSON(b)
	b = append(b[:len(b)-1], `,"queried_at":`...)
	b = appendJSONString(b, v.QueriedAt)
	return append(b, '}')
}

// VersionDiff lists the fields that differ between two versions.
type VersionDiff struct {
	Version    int64                 `json:"version"`
	ComparedTo *int64                `json:"compared_to" nullable:"true" doc:"The base version; null when the version is the first."`
	Changes    []history.FieldChange `json:"changes"`
}

// RevertResult says what a revert restored and what it could not.
type RevertResult struct {
	RevertedTo int64    `json:"reverted_to"`
	Restored   []string `json:"restored" doc:"Fields written back to the version's values."`
	Skipped    []string `json:"skipped" doc:"Differing fields that only orders may change (state, limits, plan, cost, attributes)."`
	Resource   Resource `json:"resource"`
}

func versionOut(v *history.Version) VersionHistory {
	// The stored JSON goes out as stored (storedJSON writes {} for none).
	out := VersionHistory{ID: v.ID, RevisionDate: v.Created.UTC(), RevisionComment: v.Comment, SerializedData: storedJSON[map[string]any](v.Data)}
	if v.User != nil {
		out.RevisionUser = RevisionUser{&VersionUser{UUID: HexUUID(v.User.UUID), Username: v.User.Username, FullName: v.User.FullName}}
	}
	return out
}

var spacedOffset = regexp.MustCompile(`^(.*\d) (\d{2}:?\d{2})$`)

// parseInstant accepts RFC 3339 and the common looser ISO 8601 forms;
// values without a zone are UTC.
func parseInstant(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	// An unencoded "+00:00" arrives as " 00:00".
	if m := spacedOffset.FindStringSubmatch(s); m != nil {
		s = m[1] + "+" + m[2]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func fieldError(name, msg string) *DRFError {
	return &DRFError{status: http.StatusBadRequest, fields: map[string][]string{name: {msg}}}
}

// requireHistoryReader enforces Waldur's rule: staff and support only,
// checked before the object is looked up (so others get 403 even for
// unknown uuids).
func requireHistoryReader(ctx context.Context) error {
	if u := CurrentUser(ctx); u == nil || !u.SeesEverything() {
		return detailError(http.StatusForbidden, msgForbidden)
	}
	return nil
}

type historyTarget struct {
	prefix, opPrefix, tag, kind string
	revert                      bool
}

func registerHistory(api huma.API, store *history.Store, market *marketplace.Service) {
	for _, t := range []historyTarget{
		{"/api/marketplace-resources/", "marketplace_resources", "marketplace-resources", marketplace.KindResource, true},
		{"/api/marketplace-provider-resources/", "marketplace_provider_resources", "marketplace-provider-resources", marketplace.KindResource, true},
		{"/api/customers/", "customers", "customers", marketplace.KindCustomer, false},
		{"/api/projects/", "projects", "projects", marketplace.KindProject, false},
		{"/api/marketplace-provider-offerings/", "marketplace_provider_offerings", "marketplace-provider-offerings", marketplace.KindOffering, false},
		{"/api/marketplace-plans/", "marketplace_plans", "marketplace-plans", marketplace.KindPlan, false},
	} {
		registerHistoryTarget(api, store, market, t)
	}
}

func registerHistoryTarget(api huma.API, store *history.Store, market *marketplace.Service, t historyTarget) {
	tag := []string{t.tag}
	errsHistory := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	fields := marketplace.TrackedFieldsFor(t.kind)
	collection := t.prefix[len("/api/") : len(t.prefix)-1]

	// target parses the path uuid after the staff-or-support check. The
	// list and history/at find out whether the object has history in the
	// same statement as their page (history.ErrNoHistory is a 404).
	target := func(ctx context.Context, p UUIDPath) (uuid.UUID, error) {
		if err := requireHistoryReader(ctx); err != nil {
			return uuid.Nil, err
		}
		return p.parse()
	}
	// knownObject is the 404 for an object without history, which comes
	// before any complaint about the query parameters.
	knownObject := func(ctx context.Context, id uuid.UUID) error {
		ok, err := store.Exists(ctx, t.kind, id)
		if err != nil {
			return err
		}
		if !ok {
			return detailError(http.StatusNotFound, msgNotFound)
		}
		return nil
	}
	// object is target for an object that must have history.
	object := func(ctx context.Context, p UUIDPath) (uuid.UUID, error) {
		id, err := target(ctx, p)
		if err != nil {
			return uuid.Nil, err
		}
		return id, knownObject(ctx, id)
	}
	// badParam answers a query parameter error, unless the object has no
	// history: then 404, as when the parameters are fine.
	badParam := func(ctx context.Context, id uuid.UUID, e error) error {
		if err := knownObject(ctx, id); err != nil {
			return err
		}
		return e
	}

	type listInput struct {
		UUIDPath
		ListParams
		CreatedAfter  string `query:"created_after" doc:"Only versions created strictly after this instant (ISO 8601)."`
		CreatedBefore string `query:"created_before" doc:"Only versions created strictly before this instant (ISO 8601)."`
		Field         string `query:"field" doc:"Only versions in which this tracked field changed."`
	}
	registerList(api, huma.Operation{
		OperationID: t.opPrefix + "_history_list", Path: t.prefix + "{uuid}/history/",
		Summary: "Get version history", Description: "Newest first. Staff and support only.",
		Tags: tag, Security: authRequired, Errors: errsHistory,
	}, func(ctx context.Context, in *listInput, page db.Page) ([]VersionHistory, int, error) {
		obj, err := target(ctx, in.UUIDPath)
		if err != nil {
			return nil, 0, err
		}
		var f history.Filter
		for _, b := range []struct {
			name, val string
			dst       **time.Time
		}{{"created_after", in.CreatedAfter, &f.After}, {"created_before", in.CreatedBefore, &f.Before}} {
			if b.val == "" {
				continue
			}
			ts, ok := parseInstant(b.val)
			if !ok {
				return nil, 0, badParam(ctx, obj, fieldError(b.name, "Invalid timestamp format."))
			}
			*b.dst = &ts
		}
		if in.Field != "" {
			if !slices.Contains(fields, in.Field) {
				return nil, 0, badParam(ctx, obj, fieldError("field", "Unknown field. Tracked fields: "+strings.Join(fields, ", ")+"."))
			}
			f.Field = in.Field
		}
		list, total, err := store.List(ctx, t.kind, obj, f, page)
		if err != nil {
			return nil, 0, err
		}
		out := make([]VersionHistory, len(list))
		for i, v := range list {
			out[i] = versionOut(v)
		}
		return out, total, nil
	})

	type atInput struct {
		UUIDPath
		Timestamp string `query:"timestamp" doc:"Required. The instant (ISO 8601); the newest version at or before it is returned."`
	}
	huma.Register(api, huma.Operation{
		OperationID: t.opPrefix + "_history_at_retrieve", Method: http.MethodGet, Path: t.prefix + "{uuid}/history/at/",
		Summary: "Get object state at a specific timestamp", Description: "Staff and support only.",
		Tags: tag, Security: authRequired, Errors: errsHistory,
	}, func(ctx context.Context, in *atInput) (*body[VersionHistoryAt], error) {
		obj, err := target(ctx, in.UUIDPath)
		if err != nil {
			return nil, err
		}
		if in.Timestamp == "" {
			return nil, badParam(ctx, obj, fieldError("timestamp", "This parameter is required."))
		}
		ts, ok := parseInstant(in.Timestamp)
		if !ok {
			return nil, badParam(ctx, obj, fieldError("timestamp", "Invalid timestamp format."))
		}
		v, err := store.At(ctx, t.kind, obj, ts)
		if err != nil {
			return nil, err
		}
		return &body[VersionHistoryAt]{Body: VersionHistoryAt{VersionHistory: versionOut(v), QueriedAt: in.Timestamp}}, nil
	})

	type VersionInput struct {
		UUIDPath
		ID string `path:"id" doc:"Version id."`
	}
	version := func(ctx context.Context, in VersionInput) (*history.Version, error) {
		obj, err := object(ctx, in.UUIDPath)
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(in.ID, 10, 64)
		if err != nil {
			return nil, detailError(http.StatusNotFound, msgNotFound)
		}
		return store.Get(ctx, t.kind, obj, id)
	}
	huma.Register(api, huma.Operation{
		OperationID: t.opPrefix + "_history_retrieve", Method: http.MethodGet, Path: t.prefix + "{uuid}/history/{id}/",
		Summary: "Get one version", Tags: tag, Security: authRequired, Errors: errsHistory,
	}, func(ctx context.Context, in *VersionInput) (*body[VersionHistory], error) {
		v, err := version(ctx, *in)
		if err != nil {
			return nil, err
		}
		return &body[VersionHistory]{Body: versionOut(v)}, nil
	})

	type diffInput struct {
		VersionInput
		To string `query:"to" doc:"Version id to compare with; default: the previous version."`
	}
	huma.Register(api, huma.Operation{
		OperationID: t.opPrefix + "_history_diff", Method: http.MethodGet, Path: t.prefix + "{uuid}/history/{id}/diff/",
		Summary: "Compare a version with the previous one (or ?to=)", Description: "old is the base version's value, new this version's.",
		Tags: tag, Security: authRequired, Errors: errsHistory,
	}, func(ctx context.Context, in *diffInput) (*body[VersionDiff], error) {
		v, err := version(ctx, in.VersionInput)
		if err != nil {
			return nil, err
		}
		var base *history.Version
		if in.To != "" {
			toID, perr := strconv.ParseInt(in.To, 10, 64)
			if perr != nil {
				return nil, fieldError("to", "A valid integer is required.")
			}
			if base, err = store.Get(ctx, t.kind, v.ObjectUUID, toID); err != nil {
				return nil, fieldError("to", "No such version of this object.")
			}
		} else if base, err = store.Previous(ctx, v); err != nil {
			return nil, err
		}
		changes, err := history.Diff(base, v)
		if err != nil {
			return nil, err
		}
		out := VersionDiff{Version: v.ID, Changes: changes}
		if base != nil {
			out.ComparedTo = &base.ID
		}
		return &body[VersionDiff]{Body: out}, nil
	})

	if !t.revert {
		return
	}
	huma.Register(api, huma.Operation{
		OperationID: t.opPrefix + "_history_revert", Method: http.MethodPost, Path: t.prefix + "{uuid}/history/{id}/revert/",
		Summary: "Revert the editable fields to a version (staff)",
		Description: "Restores name, description, slug, end_date, downscaled, paused, restrict_member_access and options " +
			"through the normal change path, recording a new version \"Reverted to version {id}\". Fields only orders may change are never written.",
		Tags: tag, Security: authRequired, Errors: errsHistory,
	}, func(ctx context.Context, in *VersionInput) (*body[RevertResult], error) {
		if u := CurrentUser(ctx); u == nil || !u.IsStaff {
			if err := requireHistoryReader(ctx); err != nil {
				return nil, err
			}
			return nil, detailError(http.StatusForbidden, msgForbidden)
		}
		v, err := version(ctx, *in)
		if err != nil {
			return nil, err
		}
		fields, err := v.Fields()
		if err != nil {
			return nil, err
		}
		res, err := market.RevertResource(ctx, CurrentUser(ctx), v.ObjectUUID, v.ID, fields)
		if err != nil {
			return nil, err
		}
		return &body[RevertResult]{Body: RevertResult{RevertedTo: v.ID, Restored: res.Restored, Skipped: res.Skipped,
			Resource: resourceOut(linksFrom(ctx), collection, res.Resource)}}, nil
	})
}
