package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
)

// historyRoutes registers the pages of history.go: a resource's versions
// for staff and support (timeline, state at an instant, compare), and
// revert for staff. Everyone else gets 404, as if the pages did not exist.
func (c *Console) historyRoutes() {
	if c.History == nil {
		return
	}
	m := c.mux
	base := "resources/{uuid}/history/"
	m.Handle("GET "+Prefix+base+"{$}", c.page(c.historyPage))
	m.Handle("GET "+Prefix+base+"at", c.page(c.historyAtPage))
	m.Handle("GET "+Prefix+base+"compare", c.page(c.historyComparePage))
	m.Handle("GET "+Prefix+base+"{id}/revert", c.page(c.revertPage))
	m.Handle("POST "+Prefix+base+"{id}/revert", c.page(c.revert))
}

// historyHead is what every history page shows above its own part: the
// resource (nil when it no longer exists: history outlives objects).
type historyHead struct {
	ID       uuid.UUID
	Hex      string
	Resource *marketplace.Resource
	Staff    bool
}

// historyTarget checks that the user reads history (staff and support;
// 404 for others, before any lookup) and reads the resource's uuid.
func (c *Console) historyTarget(r *http.Request, s *session) (historyHead, error) {
	if !s.User.SeesEverything() {
		return historyHead{}, errNotFound
	}
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return historyHead{}, err
	}
	h := historyHead{ID: id, Hex: hexUUID(id), Staff: s.User.IsStaff}
	res, err := c.Market.GetResource(r.Context(), s.User, marketplace.ConsumerView, id)
	switch {
	case err == nil:
		h.Resource = res
	case errs.KindOf(err) != errs.NotFound:
		return historyHead{}, err
	}
	return h, nil
}

// historyFields are the fields a resource's versions track.
func historyFields() []string { return marketplace.TrackedFieldsFor(marketplace.KindResource) }

type historyRow struct {
	V       *history.Version
	Changed []string
	// First is the object's first version (nothing to compare with).
	First bool
	Prev  int64
	At    string
	// Newest is the live state: reverting to it would change nothing.
	Newest bool
}

type historyData struct {
	historyHead
	After, Before, Field string
	Fields               []string
	Rows                 []historyRow
	Pager                pager
	Filtered             bool
	// A and B preselect the compare form: the newest version and the one
	// before it.
	A, B int64
}

func (c *Console) historyPage(w http.ResponseWriter, r *http.Request, s *session) error {
	head, err := c.historyTarget(r, s)
	if err != nil {
		return err
	}
	ctx := r.Context()
	q := r.URL.Query()
	d := historyData{historyHead: head, Fields: historyFields(), Field: q.Get("field")}
	var f history.Filter
	for _, b := range []struct {
		name  string
		shown *string
		dst   **time.Time
	}{{"created_after", &d.After, &f.After}, {"created_before", &d.Before, &f.Before}} {
		v := strings.TrimSpace(q.Get(b.name))
		if v == "" {
			continue
		}
		t, ok := parseInstant(v)
		if !ok {
			return errs.Field(b.name, "Enter a date and time (UTC), like 2024-01-15T08:00.")
		}
		*b.dst, *b.shown = &t, localInput(t)
	}
	if d.Field != "" {
		if !slices.Contains(d.Fields, d.Field) {
			return errs.Field("field", "Unknown field. Tracked fields: %s.", strings.Join(d.Fields, ", "))
		}
		f.Field = d.Field
	}
	d.Filtered = f.After != nil || f.Before != nil || f.Field != ""
	page, n := listPage(r)
	list, total, err := c.History.List(ctx, marketplace.KindResource, head.ID, f, page)
	if err != nil {
		return err
	}
	if d.Rows, err = c.changedFields(r, list, f.Field != ""); err != nil {
		return err
	}
	d.Pager = pagerFor(r, n, total)
	if n == 1 && f.Before == nil && f.Field == "" && len(d.Rows) > 0 {
		d.Rows[0].Newest = true
	}
	if len(list) > 0 {
		d.B, d.A = list[0].ID, list[0].ID
		if len(d.Rows) > 0 && d.Rows[0].Prev != 0 {
			d.A = d.Rows[0].Prev
		}
	}
	c.render(w, r, http.StatusOK, "history", s, "History", d)
	return nil
}

// changedFields says, for each version of a page (newest first), which
// fields differ from the version just before it. Without a field filter
// the page is a run of consecutive versions, so each row's predecessor is
// the next row and only the last needs a look-up; a field filter skips
// versions, and the page's predecessors are read in one statement.
func (c *Console) changedFields(r *http.Request, list []*history.Version, gaps bool) ([]historyRow, error) {
	rows := make([]historyRow, len(list))
	lookup := list
	if !gaps && len(list) > 0 {
		lookup = list[len(list)-1:]
	}
	before, err := c.History.Predecessors(r.Context(), lookup)
	if err != nil {
		return nil, err
	}
	for i, v := range list {
		prev := before[v.ID]
		if i+1 < len(list) && !gaps {
			prev = list[i+1]
		}
		rows[i] = historyRow{V: v, First: prev == nil, At: v.Created.UTC().Format(time.RFC3339Nano)}
		if prev == nil {
			continue
		}
		rows[i].Prev = prev.ID
		changes, err := history.Diff(prev, v)
		if err != nil {
			return nil, err
		}
		for _, ch := range changes {
			rows[i].Changed = append(rows[i].Changed, ch.Field)
		}
	}
	return rows, nil
}

type historyAtData struct {
	historyHead
	Asked   string
	At      *time.Time
	Version *history.Version
	Fields  []fieldRow
	// Missing says that no version is as old as the instant.
	Missing bool
}

// fieldRow is one field of a version, nested maps flattened (limits.cpu).
type fieldRow struct{ Field, Value string }

func (c *Console) historyAtPage(w http.ResponseWriter, r *http.Request, s *session) error {
	head, err := c.historyTarget(r, s)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// console.js fills timestamp with the picker's local time as UTC;
	// without it the picker's own value arrives, read as UTC.
	d := historyAtData{historyHead: head, Asked: strings.TrimSpace(q.Get("timestamp"))}
	if d.Asked == "" {
		d.Asked = strings.TrimSpace(q.Get("local"))
	}
	if d.Asked == "" {
		// No instant yet: the object must have history for the picker.
		if _, _, err := c.History.List(r.Context(), marketplace.KindResource, head.ID, history.Filter{}, pageOfOne); err != nil {
			return err
		}
		c.render(w, r, http.StatusOK, "history_at", s, "State at", d)
		return nil
	}
	t, ok := parseInstant(d.Asked)
	if !ok {
		return errs.Field("timestamp", "Enter a date and time, like 2024-01-15T08:00:00Z.")
	}
	d.At = &t
	v, err := c.History.At(r.Context(), marketplace.KindResource, head.ID, t)
	switch {
	case errors.Is(err, history.ErrNoVersion):
		d.Missing = true
	case err != nil:
		return err
	default:
		d.Version = v
		data, err := v.Fields()
		if err != nil {
			return err
		}
		d.Fields = flatten(data)
	}
	c.render(w, r, http.StatusOK, "history_at", s, "State at", d)
	return nil
}

type diffRow struct {
	Field    string
	Old, New string
	Changed  bool
}

type historyCompareData struct {
	historyHead
	A, B    *history.Version
	Rows    []diffRow
	Changes int
}

// versionParam reads a version id; anything but a number is a version
// that does not exist.
func versionParam(v string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, errNotFound
	}
	return id, nil
}

func (c *Console) historyComparePage(w http.ResponseWriter, r *http.Request, s *session) error {
	head, err := c.historyTarget(r, s)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := historyCompareData{historyHead: head}
	for _, p := range []struct {
		name string
		dst  **history.Version
	}{{"a", &d.A}, {"b", &d.B}} {
		if q.Get(p.name) == "" {
			return errs.Field(p.name, "Choose two versions to compare.")
		}
		id, err := versionParam(q.Get(p.name))
		if err != nil {
			return err
		}
		if *p.dst, err = c.History.Get(r.Context(), marketplace.KindResource, head.ID, id); err != nil {
			return err
		}
	}
	a, err := d.A.Fields()
	if err != nil {
		return err
	}
	b, err := d.B.Fields()
	if err != nil {
		return err
	}
	d.Rows = compareFields(a, b, nil)
	for _, row := range d.Rows {
		if row.Changed {
			d.Changes++
		}
	}
	c.render(w, r, http.StatusOK, "history_compare", s, "Compare versions", d)
	return nil
}

type revertData struct {
	historyHead
	Version *history.Version
	// Rows are the fields revert writes that differ now; Skipped the
	// differing fields only orders may change.
	Rows    []diffRow
	Skipped []string
	Ended   bool
}

// staffVersion is the revert pages' target: staff only (404 for everyone
// else, support included: the pages are hidden, not refused), a version
// of a resource that still exists.
func (c *Console) staffVersion(r *http.Request, s *session) (historyHead, *history.Version, error) {
	if !s.User.IsStaff {
		return historyHead{}, nil, errNotFound
	}
	head, err := c.historyTarget(r, s)
	if err != nil {
		return head, nil, err
	}
	if head.Resource == nil {
		return head, nil, errNotFound
	}
	id, err := versionParam(r.PathValue("id"))
	if err != nil {
		return head, nil, err
	}
	v, err := c.History.Get(r.Context(), marketplace.KindResource, head.ID, id)
	return head, v, err
}

func (c *Console) revertPage(w http.ResponseWriter, r *http.Request, s *session) error {
	head, v, err := c.staffVersion(r, s)
	if err != nil {
		return err
	}
	target, err := v.Fields()
	if err != nil {
		return err
	}
	now, err := normalise(head.Resource.Snapshot())
	if err != nil {
		return err
	}
	d := revertData{historyHead: head, Version: v, Ended: head.Resource.State == marketplace.ResourceTerminated}
	for _, f := range historyFields() {
		if sameJSON(now[f], target[f]) {
			continue
		}
		if !marketplace.RevertableFields[f] {
			d.Skipped = append(d.Skipped, f)
			continue
		}
		d.Rows = append(d.Rows, compareFields(map[string]any{f: now[f]}, map[string]any{f: target[f]}, []string{f})...)
	}
	c.render(w, r, http.StatusOK, "history_revert", s, "Revert to version "+strconv.FormatInt(v.ID, 10), d)
	return nil
}

// revert restores the resource's editable fields to a version, as the
// API's revert does: through marketplace.RevertResource, which records the
// revert as a new version.
func (c *Console) revert(w http.ResponseWriter, r *http.Request, s *session) error {
	head, v, err := c.staffVersion(r, s)
	if err != nil {
		return err
	}
	fields, err := v.Fields()
	if err != nil {
		return err
	}
	res, err := c.Market.RevertResource(r.Context(), s.User, v.ObjectUUID, v.ID, fields)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Reverted to version %d.", v.ID)
	if len(res.Restored) > 0 {
		msg += " Restored: " + strings.Join(res.Restored, ", ") + "."
	} else {
		msg += " Nothing differed in the fields a revert writes."
	}
	if len(res.Skipped) > 0 {
		msg += " Left as they are (only orders change them): " + strings.Join(res.Skipped, ", ") + "."
	}
	return c.redirectWith(w, r, Prefix+"resources/"+head.Hex+"/", msg)
}

// pageOfOne is the smallest list read: enough to learn whether an object
// has history at all.
var pageOfOne = db.Page{Limit: 1}

// nestedFields are the tracked fields holding objects, compared and shown
// key by key.
var nestedFields = map[string]bool{"limits": true, "options": true, "attributes": true}

// compareFields lines up two snapshots field by field: only (when given,
// in that order) or the tracked fields then any others, nested maps key
// by key (limits.cpu).
func compareFields(a, b map[string]any, only []string) []diffRow {
	names := only
	if names == nil {
		names = append([]string{}, historyFields()...)
		var extra []string
		for _, m := range []map[string]any{a, b} {
			for k := range m {
				if !slices.Contains(names, k) && !slices.Contains(extra, k) {
					extra = append(extra, k)
				}
			}
		}
		sort.Strings(extra)
		names = append(names, extra...)
	}
	var rows []diffRow
	for _, f := range names {
		ma, oka := a[f].(map[string]any)
		mb, okb := b[f].(map[string]any)
		if nestedFields[f] && (oka || a[f] == nil) && (okb || b[f] == nil) && (len(ma) > 0 || len(mb) > 0) {
			keys := map[string]bool{}
			for k := range ma {
				keys[k] = true
			}
			for k := range mb {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				va, ina := ma[k]
				vb, inb := mb[k]
				rows = append(rows, diffRow{Field: f + "." + k, Old: shownOrAbsent(va, ina), New: shownOrAbsent(vb, inb),
					Changed: ina != inb || !sameJSON(va, vb)})
			}
			continue
		}
		rows = append(rows, diffRow{Field: f, Old: showValue(a[f]), New: showValue(b[f]), Changed: !sameJSON(a[f], b[f])})
	}
	return rows
}

// flatten lists a snapshot's fields for reading, nested maps key by key.
func flatten(data map[string]any) []fieldRow {
	var out []fieldRow
	for _, row := range compareFields(data, data, nil) {
		out = append(out, fieldRow{Field: row.Field, Value: row.New})
	}
	return out
}

func shownOrAbsent(v any, present bool) string {
	if !present {
		return "(absent)"
	}
	return showValue(v)
}

// showValue is a value as the pages show it: strings as they are, null
// as a dash, the rest as compact JSON.
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "(empty)"
		}
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sameJSON compares values by their JSON form, so 4 and 4.0 agree, as
// they do once stored.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// normalise gives a live snapshot the types a stored version decodes to
// (float64 numbers, map[string]any objects), so the two compare alike.
func normalise(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// parseInstant accepts RFC 3339 and the datetime-local forms; values
// without a zone are UTC.
func parseInstant(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// localInput is t as a datetime-local input's value (UTC).
func localInput(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
