package marketplace

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Resource states, as Waldur's API shows them.
const (
	ResourceCreating    = "Creating"
	ResourceOK          = "OK"
	ResourceErred       = "Erred"
	ResourceUpdating    = "Updating"
	ResourceTerminating = "Terminating"
	ResourceTerminated  = "Terminated"
)

// DateLayout is how dates (end_date) travel and are stored.
const DateLayout = "2006-01-02"

// Resource is something a project bought through an order.
type Resource struct {
	ID                   int64
	UUID                 uuid.UUID
	Name                 string
	Description          string
	Slug                 string
	State                string
	Limits               map[string]int64
	Attributes           map[string]any
	Options              map[string]any
	Cost                 *string
	EndDate              *string
	Downscaled           bool
	RestrictMemberAccess bool
	Paused               bool
	ErrorMessage         string
	PlanID               *int64
	ProjectID            int64
	OfferingID           int64
	Created              time.Time
	Modified             time.Time

	// Related names and uuids, joined in for the API.
	PlanUUID     *uuid.UUID
	PlanName     string
	PlanUnit     string
	ProjectUUID  uuid.UUID
	ProjectName  string
	CustomerID   int64
	CustomerUUID uuid.UUID
	CustomerName string
	OfferingUUID uuid.UUID
	OfferingName string
	OfferingType string
	ProviderID   int64
	ProviderUUID uuid.UUID
	ProviderName string

	// stored is what the row held when read (see resourceUpdates).
	stored storedResource
}

// storedResource holds a resource row's stored text of the columns whose
// Go value is decoded or normalized from it.
type storedResource struct {
	limits, attributes, options string
	cost                        sql.NullString
	badEndDate                  bool
}

// TrackedFields are the resource fields whose changes make a history version.
var TrackedFields = []string{"name", "description", "slug", "state", "limits", "attributes", "options", "cost",
	"end_date", "downscaled", "restrict_member_access", "paused", "plan"}

// Snapshot returns the tracked fields as they serialize in history:
// plan is the plan's uuid (32 hex) or null.
func (r *Resource) Snapshot() map[string]any {
	var plan any
	if r.PlanUUID != nil {
		plan = strings.ReplaceAll(r.PlanUUID.String(), "-", "")
	}
	var cost, end any
	if r.Cost != nil {
		cost = *r.Cost
	}
	if r.EndDate != nil {
		end = *r.EndDate
	}
	limits := map[string]any{}
	for k, v := range r.Limits {
		limits[k] = v
	}
	return map[string]any{
		"name": r.Name, "description": r.Description, "slug": r.Slug, "state": r.State,
		"limits": limits, "attributes": orEmpty(r.Attributes), "options": orEmpty(r.Options),
		"cost": cost, "end_date": end, "downscaled": r.Downscaled,
		"restrict_member_access": r.RestrictMemberAccess, "paused": r.Paused, "plan": plan,
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ChangedFields lists the tracked fields that differ, in TrackedFields order.
func ChangedFields(before, after map[string]any) []string {
	var out []string
	for _, f := range TrackedFields {
		if !jsonEqual(before[f], after[f]) {
			out = append(out, f)
		}
	}
	return out
}

// jsonEqual compares values by their JSON form, so 4 and 4.0 and maps
// decoded from either database compare equal. It runs for every tracked
// field of every change, inside the change's transaction: strings and
// booleans (most fields) compare directly, and values whose encodings are
// the same bytes need no decoding (maps encode with sorted keys).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		if b == nil {
			return true
		}
	case string:
		if y, ok := b.(string); ok {
			if x == y {
				return true
			}
			// Invalid UTF-8 encodes as U+FFFD, so two different
			// invalid strings may still encode alike.
			if utf8.ValidString(x) && utf8.ValidString(y) {
				return false
			}
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case map[string]any:
		// Equal values encode alike (maps with sorted keys).
		if y, ok := b.(map[string]any); ok && reflect.DeepEqual(x, y) {
			return true
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if bytes.Equal(ja, jb) {
		return true
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// Kinds of tracked objects, as ObjectChange.Kind names them.
const (
	KindCustomer = "customer"
	KindProject  = "project"
	KindOffering = "offering"
	KindPlan     = "plan"
	KindResource = "resource"
	// KindOrder changes are not versioned; observers such as user actions
	// react to them (state moves).
	KindOrder = "order"
)

// Versioned reports whether history keeps versions of kind.
func Versioned(kind string) bool { return kind != KindOrder }

// ObjectChange describes one change of a tracked object, inside the
// transaction that makes it.
type ObjectChange struct {
	Kind string
	ID   int64
	UUID uuid.UUID
	// Before is nil when the object is being created.
	Before map[string]any
	After  map[string]any
	// Changed lists the tracked fields that differ (all of them on create).
	Changed []string
	// Actor is nil for system changes (order processing, timers).
	Actor   *auth.User
	Comment string
	// At is the transaction's clock, read after the object's row was locked,
	// so time order is commit order.
	At time.Time
	// ResourceID is an order's resource (0 for none and for other kinds).
	ResourceID int64
}

// ChangeObserver runs inside the change's transaction; an error aborts the
// change. History and user actions hook in here.
type ChangeObserver func(ctx context.Context, tx *db.Tx, ch ObjectChange) error

// OnChange registers an observer for every change of a tracked object.
func (s *Service) OnChange(o ChangeObserver) { s.observers = append(s.observers, o) }

func (s *Service) notify(ctx context.Context, tx *db.Tx, ch ObjectChange) error {
	for _, o := range s.observers {
		if err := o(ctx, tx, ch); err != nil {
			return err
		}
	}
	return nil
}

// created notifies observers that an object was created.
func (s *Service) created(ctx context.Context, tx *db.Tx, kind string, id int64, u uuid.UUID, snap map[string]any, actor *auth.User, comment string) error {
	fields := make([]string, 0, len(snap))
	for k := range snap {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	return s.notify(ctx, tx, ObjectChange{Kind: kind, ID: id, UUID: u, After: snap, Changed: fields, Actor: actor, Comment: comment, At: tx.Now()})
}

// resourceCols, per dialect: created and modified go through storedTime
// (see db.Dialect.TimeColumn).
var resourceCols = map[db.Dialect]string{db.SQLite: resourceColsOf(db.SQLite), db.Postgres: resourceColsOf(db.Postgres)}

func resourceColsOf(d db.Dialect) string {
	return `r.id, r.uuid, r.name, r.description, r.slug, r.state, r.limits, r.attributes, r.options, r.cost,
	r.end_date, r.downscaled, r.restrict_member_access, r.paused, r.error_message, r.plan_id, r.project_id, r.offering_id,
	` + d.TimeColumn("r.created") + `, ` + d.TimeColumn("r.modified") + `, pl.uuid, pl.name, pl.unit, p.uuid, p.name, p.customer_id, c.uuid, c.name,
	o.uuid, o.name, o.type, o.customer_id, pc.uuid, pc.name`
}

// storedTime scans a NOT NULL timestamp selected with TimeColumn: a
// time.Time as the driver gives it (PostgreSQL), or SQLite's stored text
// read by db.Time instead of the driver's layout guessing (a failing
// time.Parse per value, in every resource change's transaction too).
type storedTime struct{ t *time.Time }

func (s storedTime) Scan(v any) error {
	if t, ok := v.(time.Time); ok {
		*s.t = t
		return nil
	}
	var t db.Time
	if err := t.Scan(v); err != nil {
		return err
	}
	*s.t = t.Time
	return nil
}

const resourceFrom = ` FROM resources r
	JOIN projects p ON p.id = r.project_id
	JOIN customers c ON c.id = p.customer_id
	JOIN offerings o ON o.id = r.offering_id
	JOIN customers pc ON pc.id = o.customer_id
	LEFT JOIN plans pl ON pl.id = r.plan_id`

func scanResource(row db.Scanner) (*Resource, error) {
	var (
		r                                  Resource
		id, puid, cuid, ouid, pcuid        string
		limits, attrs, opts                string
		cost, planUUID, planName, planUnit sql.NullString
		end                                db.NullDate
		planID                             sql.NullInt64
	)
	if err := row.Scan(&r.ID, &id, &r.Name, &r.Description, &r.Slug, &r.State, &limits, &attrs, &opts, &cost,
		&end, &r.Downscaled, &r.RestrictMemberAccess, &r.Paused, &r.ErrorMessage, &planID, &r.ProjectID, &r.OfferingID,
		storedTime{&r.Created}, storedTime{&r.Modified}, &planUUID, &planName, &planUnit, &puid, &r.ProjectName, &r.CustomerID, &cuid, &r.CustomerName,
		&ouid, &r.OfferingName, &r.OfferingType, &r.ProviderID, &pcuid, &r.ProviderName); err != nil {
		return nil, err
	}
	r.UUID, r.ProjectUUID, r.CustomerUUID, r.OfferingUUID, r.ProviderUUID = parseUUID(id), parseUUID(puid), parseUUID(cuid), parseUUID(ouid), parseUUID(pcuid)
	r.stored = storedResource{limits: limits, attributes: attrs, options: opts, cost: cost, badEndDate: end.Bad != ""}
	if err := json.Unmarshal([]byte(limits), &r.Limits); err != nil {
		return nil, fmt.Errorf("resource %d limits: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
		return nil, fmt.Errorf("resource %d attributes: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(opts), &r.Options); err != nil {
		return nil, fmt.Errorf("resource %d options: %w", r.ID, err)
	}
	if r.Limits == nil {
		r.Limits = map[string]int64{}
	}
	if cost.Valid {
		m := NormalizeMoney(cost.String)
		r.Cost = &m
	}
	switch {
	case end.Valid:
		d := end.Time.UTC().Format(DateLayout)
		r.EndDate = &d
	case end.Bad != "":
		// Written before input was bounded (issue 16: renewing past
		// 9999-12-31 stored 10009-12-28 on SQLite) or by hand. Failing the
		// scan made every list holding the row, and the PATCH that would
		// repair it, answer 500; serve the row with no end date instead.
		slog.Warn("resource end_date is not a date between years 1 and 9999; serving it as null",
			"resource", r.UUID, "stored", end.Bad)
	}
	if planID.Valid {
		r.PlanID = &planID.Int64
		u := parseUUID(planUUID.String)
		r.PlanUUID = &u
		r.PlanName, r.PlanUnit = planName.String, planUnit.String
	}
	return &r, nil
}

// View selects the consumer or the provider side of resources and orders.
type View int

const (
	ConsumerView View = iota
	ProviderView
)

func (v View) condition(vis visibility, args *[]any) string {
	if v == ProviderView {
		return vis.provider(args, "o.id", "o.customer_id")
	}
	return vis.consumer(args, "p.id", "p.customer_id")
}

// ResourceFilter narrows ListResources.
type ResourceFilter struct {
	Project       *uuid.UUID
	Customer      *uuid.UUID
	Offering      *uuid.UUID
	States        []string
	Name          string
	EndDateBefore *string
	EndDateAfter  *string
	Ordering      string
}

var resourceOrdering = map[string]string{
	"name": "r.name", "created": "r.created", "modified": "r.modified", "state": "r.state",
	"end_date": db.NullsLast("r.end_date"), "project_name": "p.name", "customer_name": "c.name", "offering_name": "o.name",
}

// ListResources lists the resources u may see from one side.
func (s *Service) ListResources(ctx context.Context, u *auth.User, view View, f ResourceFilter, page db.Page) (out []*Resource, total int, err error) {
	defer errs.Wrap(&err, "ListResources")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var args []any
		where := []string{view.condition(visibility{u, c.DB().Now()}, &args)}
		add := func(cond string, v any) {
			where = append(where, cond)
			args = append(args, v)
		}
		if f.Project != nil {
			add("p.uuid = ?", f.Project.String())
		}
		if f.Customer != nil {
			add("c.uuid = ?", f.Customer.String())
		}
		if f.Offering != nil {
			add("o.uuid = ?", f.Offering.String())
		}
		if len(f.States) > 0 {
			where = append(where, "r.state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
			for _, st := range f.States {
				args = append(args, st)
			}
		}
		if f.Name != "" {
			add("LOWER(r.name) LIKE ?", "%"+strings.ToLower(f.Name)+"%")
		}
		if f.EndDateBefore != nil {
			add("r.end_date <= ?", *f.EndDateBefore)
		}
		if f.EndDateAfter != nil {
			add("r.end_date >= ?", *f.EndDateAfter)
		}
		cond := strings.Join(where, " AND ")
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: resourceCols[c.DB().Dialect()], From: resourceFrom, Where: cond,
			OrderBy: db.OrderBy(f.Ordering, resourceOrdering, []string{"-created"}, "r.id"), Args: args, Page: page,
		}, scanResource)
		return err
	})
	return out, total, err
}

// GetResource returns a resource u may see from the given side.
func (s *Service) GetResource(ctx context.Context, u *auth.User, view View, id uuid.UUID) (*Resource, error) {
	var r *Resource
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		r, err = getVisibleResource(ctx, c, u, view, id, false)
		return err
	})
	return r, err
}

func getVisibleResource(ctx context.Context, c db.Conn, u *auth.User, view View, id uuid.UUID, lock bool) (*Resource, error) {
	var args []any
	cond := view.condition(visibility{u, c.DB().Now()}, &args)
	args = append(args, id.String())
	suffix := ""
	if lock {
		suffix = lockSuffix(c)
	}
	r, err := scanResource(c.QueryRow(ctx, "SELECT "+resourceCols[c.DB().Dialect()]+resourceFrom+" WHERE "+cond+" AND r.uuid = ?"+suffix, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get resource: %w", err)
	}
	return r, nil
}

// lockSuffix locks the resource row only: PostgreSQL refuses FOR UPDATE on
// the nullable side of an outer join.
func lockSuffix(c db.Conn) string { return c.DB().ForUpdateOf("r") }

func loadResource(ctx context.Context, c db.Conn, id int64, lock bool) (*Resource, error) {
	suffix := ""
	if lock {
		suffix = lockSuffix(c)
	}
	r, err := scanResource(c.QueryRow(ctx, "SELECT "+resourceCols[c.DB().Dialect()]+resourceFrom+" WHERE r.id = ?"+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("load resource %d: %w", id, err)
	}
	return r, nil
}

// Change says who changes a resource and why; the comment becomes the
// history version's comment.
type Change struct {
	Actor   *auth.User
	Comment string
}

// changeResource is the one path every resource change takes: given the
// resource as loaded under its row lock in tx, it applies mutate to a copy,
// writes the tracked and untracked columns, and tells observers which
// tracked fields changed. A mutation that changes no tracked field still
// saves untracked ones but notifies nobody.
func (s *Service) changeResource(ctx context.Context, tx *db.Tx, before *Resource, ch Change, mutate func(r *Resource) error) (*Resource, error) {
	after := *before
	after.Limits = copyLimits(before.Limits)
	after.Attributes = copyMap(before.Attributes)
	after.Options = copyMap(before.Options)
	if err := mutate(&after); err != nil {
		return nil, err
	}
	beforeSnap, afterSnap := before.Snapshot(), after.Snapshot()
	changed := ChangedFields(beforeSnap, afterSnap)
	if len(changed) == 0 && after.ErrorMessage == before.ErrorMessage {
		return before, nil
	}
	now := tx.Now()
	after.Modified = now
	set, args := resourceUpdates(tx.DB().Dialect(), before, &after)
	args = append(args, now, before.ID)
	if _, err := tx.Exec(ctx, "UPDATE resources SET "+set+"modified = ? WHERE id = ?", args...); err != nil {
		return nil, fmt.Errorf("update resource %d: %w", before.ID, err)
	}
	out := &after
	if !jsonEqual(beforeSnap["plan"], afterSnap["plan"]) {
		// The joined plan name and unit changed with the plan: reload them.
		fresh, err := loadResource(ctx, tx, before.ID, false)
		if err != nil {
			return nil, err
		}
		out = fresh
	}
	if len(changed) > 0 {
		if err := s.notify(ctx, tx, ObjectChange{Kind: KindResource, ID: out.ID, UUID: out.UUID, Before: beforeSnap,
			After: afterSnap, Changed: changed, Actor: ch.Actor, Comment: ch.Comment, At: now}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resourceUpdates returns the SET items (each "column = ?, ") and their
// arguments for the columns whose stored value a change alters, and sets
// after's stored texts to what the row holds once they are written. An
// unchanged column is left alone: rewriting it changed nothing but cost
// its indexes' maintenance (state, end_date) and its foreign-key check
// (plan_id) inside the write transaction. Compared with what was read:
// the JSON and money columns with their stored text, so the row ends as
// rewriting every column left it; an end date that was not a date is
// rewritten (as null, or as the new date).
func resourceUpdates(dialect db.Dialect, before, after *Resource) (string, []any) {
	var set strings.Builder
	args := make([]any, 0, 16)
	col := func(name string, v any) {
		set.WriteString(name)
		set.WriteString(" = ?, ")
		args = append(args, v)
	}
	if after.Name != before.Name {
		col("name", after.Name)
	}
	if after.Description != before.Description {
		col("description", after.Description)
	}
	if after.Slug != before.Slug {
		col("slug", after.Slug)
	}
	if after.State != before.State {
		col("state", after.State)
	}
	text := func(name string, v any, beforeValue any, stored *string) {
		b, _ := json.Marshal(v)
		if string(b) == *stored {
			return
		}
		if dialect == db.Postgres {
			// JSONB keeps its own form of the text: compare values.
			if old, _ := json.Marshal(beforeValue); bytes.Equal(old, b) {
				return
			}
		}
		*stored = string(b)
		col(name, *stored)
	}
	text("limits", after.Limits, before.Limits, &after.stored.limits)
	text("attributes", orEmpty(after.Attributes), orEmpty(before.Attributes), &after.stored.attributes)
	text("options", orEmpty(after.Options), orEmpty(before.Options), &after.stored.options)
	if cost := (sql.NullString{String: deref(after.Cost), Valid: after.Cost != nil}); cost != before.stored.cost {
		after.stored.cost = cost
		col("cost", after.Cost)
	}
	if !equalPtr(after.EndDate, before.EndDate) || before.stored.badEndDate {
		after.stored.badEndDate = false
		col("end_date", after.EndDate)
	}
	if after.Downscaled != before.Downscaled {
		col("downscaled", after.Downscaled)
	}
	if after.RestrictMemberAccess != before.RestrictMemberAccess {
		col("restrict_member_access", after.RestrictMemberAccess)
	}
	if after.Paused != before.Paused {
		col("paused", after.Paused)
	}
	if !equalPtr(after.PlanID, before.PlanID) {
		col("plan_id", after.PlanID)
	}
	if after.ErrorMessage != before.ErrorMessage {
		col("error_message", after.ErrorMessage)
	}
	return set.String(), args
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// changeResourceByID locks the resource and changes it (for background
// paths that hold an id, not a loaded resource).
func (s *Service) changeResourceByID(ctx context.Context, tx *db.Tx, id int64, ch Change, mutate func(r *Resource) error) error {
	before, err := loadResource(ctx, tx, id, true)
	if err != nil {
		return err
	}
	_, err = s.changeResource(ctx, tx, before, ch, mutate)
	return err
}

func copyLimits(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// copyMap deep-copies a map decoded from JSON: what encoding and decoding
// it again gives, without the encoding. A value that did not come from
// JSON (another type, text that is not UTF-8) takes that round trip.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	if out, ok := copyJSON(m); ok {
		return out.(map[string]any)
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// copyJSON copies a value as encoding/json decodes into any; ok is false
// for anything else.
func copyJSON(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		return x, utf8.ValidString(x)
	case map[string]any:
		if x == nil {
			return nil, true // encodes as null
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, ok := copyJSON(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		if x == nil {
			return nil, true
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := copyJSON(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}

// createResource inserts a resource and notifies observers with Before nil.
func (s *Service) createResource(ctx context.Context, tx *db.Tx, r *Resource, ch Change) (*Resource, error) {
	now := tx.Now()
	limits, _ := json.Marshal(r.Limits)
	attrs, _ := json.Marshal(orEmpty(r.Attributes))
	opts, _ := json.Marshal(orEmpty(r.Options))
	if r.Slug == "" {
		r.Slug = Slugify(r.Name)
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO resources (uuid, project_id, offering_id, plan_id, name, description, slug, state,
			limits, attributes, options, cost, end_date, downscaled, restrict_member_access, paused, created, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		uuid.NewString(), r.ProjectID, r.OfferingID, r.PlanID, r.Name, r.Description, r.Slug, r.State, string(limits),
		string(attrs), string(opts), r.Cost, r.EndDate, r.Downscaled, r.RestrictMemberAccess, r.Paused, now, now).Scan(&id); err != nil {
		return nil, fmt.Errorf("insert resource: %w", err)
	}
	fresh, err := loadResource(ctx, tx, id, false)
	if err != nil {
		return nil, err
	}
	if err := s.notify(ctx, tx, ObjectChange{Kind: KindResource, ID: fresh.ID, UUID: fresh.UUID, After: fresh.Snapshot(),
		Changed: TrackedFields, Actor: ch.Actor, Comment: ch.Comment, At: now}); err != nil {
		return nil, err
	}
	return fresh, nil
}

// ResourceUpdate holds the fields consumers may edit; nil means unchanged.
// EndDate set to a pointer to "" clears it.
type ResourceUpdate struct {
	Name        *string
	Description *string
	EndDate     *string
	Options     map[string]any
}

// ParseDate validates a YYYY-MM-DD date within years 1–9999 (db.MinYear to
// db.MaxYear), the dates both engines store and read back alike: PostgreSQL
// refuses year 0 (a 500 before), SQLite stores it.
func ParseDate(s string) (time.Time, bool) {
	_, t, ok := checkDate(s)
	return t, ok
}

// Date refusals, as DRF words the first.
const (
	msgDateFormat = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
	msgDateRange  = "Date must be between 0001-01-01 and 9999-12-31."
)

// checkDate parses s as ParseDate does and says why it is refused.
func checkDate(s string) (msg string, t time.Time, ok bool) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return msgDateFormat, time.Time{}, false
	}
	if !db.DateInRange(t) {
		return msgDateRange, time.Time{}, false
	}
	return "", t, true
}

// UpdateResource applies a PATCH/PUT from a consumer with RESOURCE.UPDATE.
func (s *Service) UpdateResource(ctx context.Context, actor *auth.User, view View, id uuid.UUID, in ResourceUpdate) (*Resource, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	fields := map[string][]string{}
	if in.Name != nil {
		validateName(fields, "name", *in.Name, 150)
	}
	if in.EndDate != nil && *in.EndDate != "" {
		if msg, _, ok := checkDate(*in.EndDate); !ok {
			fields["end_date"] = append(fields["end_date"], msg)
		}
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	var out *Resource
	// Batched: concurrent PATCHes on SQLite share one commit (db.InTxBatched).
	err := s.DB.InTxBatched(ctx, func(tx *db.Tx) error {
		r, err := getVisibleResource(ctx, tx, actor, view, id, true)
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, ResourceEdit, Scope{CustomerID: r.CustomerID, ProjectID: r.ProjectID}); err != nil {
			return err
		}
		if r.State == ResourceTerminated {
			return errs.E(errs.Conflict, "Terminated resources cannot be updated.")
		}
		out, err = s.changeResource(ctx, tx, r, Change{Actor: actor, Comment: "Resource updated"}, func(r *Resource) error {
			if in.Name != nil {
				r.Name = *in.Name
			}
			if in.Description != nil {
				r.Description = *in.Description
			}
			if in.EndDate != nil {
				if *in.EndDate == "" {
					r.EndDate = nil
				} else {
					d := *in.EndDate
					r.EndDate = &d
				}
			}
			if in.Options != nil {
				r.Options = in.Options
			}
			return nil
		})
		return err
	})
	return out, err
}

// StaffFlag names a staff-only resource switch.
type StaffFlag string

const (
	FlagDownscaled           StaffFlag = "downscaled"
	FlagPaused               StaffFlag = "paused"
	FlagRestrictMemberAccess StaffFlag = "restrict_member_access"
)

var flagLabel = map[StaffFlag]string{
	FlagDownscaled: "Downscaled", FlagPaused: "Paused", FlagRestrictMemberAccess: "Restrict member access",
}

func requireStaff(actor *auth.User) error {
	if err := requireWriter(actor); err != nil {
		return err
	}
	if !actor.IsStaff {
		return errForbidden()
	}
	return nil
}

// SetFlag sets downscaled, paused or restrict_member_access (staff only).
func (s *Service) SetFlag(ctx context.Context, actor *auth.User, view View, id uuid.UUID, flag StaffFlag, value bool) (*Resource, error) {
	var out *Resource
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := getVisibleResource(ctx, tx, actor, view, id, true)
		if err != nil {
			return err
		}
		if err := requireStaff(actor); err != nil {
			return err
		}
		comment := fmt.Sprintf("%s changed to %t", flagLabel[flag], value)
		out, err = s.changeResource(ctx, tx, r, Change{Actor: actor, Comment: comment}, func(r *Resource) error {
			switch flag {
			case FlagDownscaled:
				r.Downscaled = value
			case FlagPaused:
				r.Paused = value
			case FlagRestrictMemberAccess:
				r.RestrictMemberAccess = value
			}
			return nil
		})
		return err
	})
	return out, err
}

// SetSlug changes a resource's slug (staff only).
func (s *Service) SetSlug(ctx context.Context, actor *auth.User, view View, id uuid.UUID, slug string) (*Resource, error) {
	fields := map[string][]string{}
	if slug == "" {
		fields["slug"] = []string{"This field may not be blank."}
	}
	validateSlug(fields, slug)
	var out *Resource
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := getVisibleResource(ctx, tx, actor, view, id, true)
		if err != nil {
			return err
		}
		if err := requireStaff(actor); err != nil {
			return err
		}
		if err := invalid(fields); err != nil {
			return err
		}
		out, err = s.changeResource(ctx, tx, r, Change{Actor: actor, Comment: "Slug changed to " + slug}, func(r *Resource) error {
			r.Slug = slug
			return nil
		})
		return err
	})
	return out, err
}

func renewedEndDate(r *Resource, in RenewInput, now time.Time) (string, error) {
	switch {
	case in.EndDate != nil && in.ExtensionDays != nil:
		return "", errs.Field("non_field_errors", "Provide either end_date or extension_days, not both.")
	case in.EndDate != nil:
		msg, t, ok := checkDate(*in.EndDate)
		if !ok {
			return "", errs.Field("end_date", "%s", msg)
		}
		today := now.UTC().Format(DateLayout)
		if t.Format(DateLayout) <= today {
			return "", errs.Field("end_date", "End date must be in the future.")
		}
		if r.EndDate != nil && t.Format(DateLayout) <= *r.EndDate {
			return "", errs.Field("end_date", "New end date must be later than the current end date %s.", *r.EndDate)
		}
		return t.Format(DateLayout), nil
	case in.ExtensionDays != nil:
		if *in.ExtensionDays < 1 || *in.ExtensionDays > 3650 {
			return "", errs.Field("extension_days", "Ensure this value is between 1 and 3650.")
		}
		base := now.UTC()
		if r.EndDate != nil {
			if t, ok := ParseDate(*r.EndDate); ok && t.After(base) {
				base = t
			}
		}
		end := base.AddDate(0, 0, *in.ExtensionDays)
		if !db.DateInRange(end) {
			// 9999-12-31 plus days would store a five-digit year.
			return "", errs.Field("extension_days", "The new end date would be after 9999-12-31.")
		}
		return end.Format(DateLayout), nil
	}
	return "", errs.Field("non_field_errors", "Provide end_date or extension_days.")
}
