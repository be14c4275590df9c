// Package useractions tells each user what needs their attention: providers
// detect actions (pending orders to approve, resources about to expire), the
// engine keeps one row per (user, action type, object) in step with them,
// and users list, silence and execute what they may do about each.
package useractions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/jobs"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// Settings are the engine's knobs (Waldur's USER_ACTIONS_* settings).
type Settings struct {
	// Enabled false stops detection and digests; stored actions stay.
	Enabled bool
	// HighUrgencyNotification sends a digest to anyone with a high action.
	HighUrgencyNotification bool
	// NotificationThreshold sends a digest to anyone with more actions.
	NotificationThreshold int
	// ExecutionRetentionDays bounds the execution audit trail.
	ExecutionRetentionDays int
}

// DefaultSettings are Waldur's defaults, enabled.
func DefaultSettings() Settings {
	return Settings{Enabled: true, HighUrgencyNotification: true, NotificationThreshold: 5, ExecutionRetentionDays: 90}
}

// DefaultSchedule is a provider's detection schedule: every six hours.
const DefaultSchedule = "0 */6 * * *"

// Service is the user-actions engine and its use cases.
type Service struct {
	DB       *db.DB
	Jobs     jobs.Enqueuer
	Settings Settings
	Log      *slog.Logger
	// Mail sends digests; nil logs them instead.
	Mail   Mailer
	Digest DigestConfig
	// Events announces created, resolved and silenced actions in the
	// transaction that changes them (see events.go); nil announces nothing.
	Events    *events.Service
	metrics   *metrics
	providers []registered
	// uuidTables caches objectUUIDTable's answers, by table.
	uuidTables sync.Map
}

type registered struct {
	p     provider.Provider
	class string
}

// New returns an engine with no providers.
func New(d *db.DB, enq jobs.Enqueuer, s Settings, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{DB: d, Jobs: enq, Settings: s, Log: log}
}

// Register adds a provider; call it before the service is used. A second
// provider with the same action type replaces the first.
func (s *Service) Register(p provider.Provider) {
	class := fmt.Sprintf("%T", p)
	if b, ok := p.(interface{ Unwrap() any }); ok {
		class = fmt.Sprintf("%T", b.Unwrap())
	}
	for i, r := range s.providers {
		if r.p.ActionType() == p.ActionType() {
			s.providers[i] = registered{p, class}
			return
		}
	}
	s.providers = append(s.providers, registered{p, class})
}

func (s *Service) provider(actionType string) provider.Provider {
	for _, r := range s.providers {
		if r.p.ActionType() == actionType {
			return r.p
		}
	}
	return nil
}

// SyncRegistry writes a registry row for every registered provider (keeping
// is_enabled and schedule a staff member set).
func (s *Service) SyncRegistry(ctx context.Context) (err error) {
	defer errs.Wrap(&err, "SyncRegistry")
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		for _, r := range s.providers {
			app, _, _ := strings.Cut(strings.TrimPrefix(r.class, "*"), ".")
			if _, err := tx.Exec(ctx, `INSERT INTO user_action_providers (app_name, provider_class, action_type, schedule)
				VALUES (?, ?, ?, ?) ON CONFLICT (action_type) DO UPDATE SET app_name = excluded.app_name,
				provider_class = excluded.provider_class`, app, strings.TrimPrefix(r.class, "*"), r.p.ActionType(), DefaultSchedule); err != nil {
				return fmt.Errorf("register %s: %w", r.p.ActionType(), err)
			}
		}
		return nil
	})
}

// Report is what one detection run of one provider did.
type Report struct {
	ActionType                string
	Created, Updated, Deleted int
	Duration                  time.Duration
	// Err is set when the provider failed; its actions were left as they were.
	Err error
	// Skipped says the provider is disabled in the registry.
	Skipped bool
}

// Update runs detection now: every enabled provider, or the one named, for
// every user or only users. A provider that fails does not stop the others;
// its registry row says what went wrong.
func (s *Service) Update(ctx context.Context, actionType string, users []int64) ([]Report, error) {
	if !s.Settings.Enabled {
		s.Log.Info("user actions disabled: detection skipped")
		return nil, nil
	}
	if actionType != "" && s.provider(actionType) == nil {
		return nil, errs.Field("provider_action_type", "Unknown provider %q.", actionType)
	}
	enabled, err := s.enabledProviders(ctx)
	if err != nil {
		return nil, err
	}
	var reports []Report
	for _, r := range s.providers {
		p := r.p
		if actionType != "" && p.ActionType() != actionType {
			continue
		}
		if !enabled[p.ActionType()] {
			reports = append(reports, Report{ActionType: p.ActionType(), Skipped: true})
			continue
		}
		reports = append(reports, s.runProvider(ctx, p, provider.Scope{Users: users}))
	}
	return reports, nil
}

func (s *Service) enabledProviders(ctx context.Context) (map[string]bool, error) {
	if err := s.SyncRegistry(ctx); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	rows, err := s.DB.Reader().Query(ctx, "SELECT action_type, is_enabled FROM user_action_providers")
	if err != nil {
		return nil, fmt.Errorf("load providers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var on bool
		if err := rows.Scan(&t, &on); err != nil {
			return nil, fmt.Errorf("scan provider: %w", err)
		}
		out[t] = on
	}
	return out, rows.Err()
}

func (s *Service) runProvider(ctx context.Context, p provider.Provider, scope provider.Scope) Report {
	start := time.Now()
	rep := Report{ActionType: p.ActionType()}
	s.setStatus(ctx, p.ActionType(), "STARTED")
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		rep.Created, rep.Updated, rep.Deleted, err = s.detect(ctx, tx, p, scope)
		return err
	})
	rep.Duration = time.Since(start)
	status := fmt.Sprintf("COMPLETED: %d created, %d updated, %d deleted", rep.Created, rep.Updated, rep.Deleted)
	if err != nil {
		rep.Err = err
		status = "ERROR: " + err.Error()
		s.Log.Error("user-action detection failed", "provider", p.ActionType(), "error", err)
	}
	s.setStatus(ctx, p.ActionType(), status)
	s.metrics.observe(rep)
	return rep
}

func (s *Service) setStatus(ctx context.Context, actionType, status string) {
	if len(status) > 500 {
		status = status[:500]
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE user_action_providers SET last_execution = ?, last_execution_status = ? WHERE action_type = ?",
			tx.Now(), status, actionType)
		return err
	})
	if err != nil {
		s.Log.Warn("provider status not recorded", "provider", actionType, "error", err)
	}
}

// Redetect re-runs every enabled provider for the given objects inside the
// caller's transaction, so the response after a change already lists (or
// no longer lists) its actions. Marketplace changes call it through their
// observer.
func (s *Service) Redetect(ctx context.Context, tx *db.Tx, objects []provider.ObjectRef) error {
	return s.redetect(ctx, tx, objects, nil)
}

// FieldWatcher is implemented by a provider whose actions about an object
// type read only some of the object's fields: a change to none of them
// does not re-detect it (RedetectChanged). A type it leaves out is
// re-detected on every change. What time alone changes (a reminder coming
// due) is the periodic run's either way.
type FieldWatcher interface {
	WatchedFields() map[string][]string
}

// RedetectChanged is Redetect for one object whose fields changed: the
// providers that watch the object's type for other fields (FieldWatcher)
// are left out. A resource's description edit then re-runs no detection,
// inside a write that SQLite's one writer serializes.
func (s *Service) RedetectChanged(ctx context.Context, tx *db.Tx, object provider.ObjectRef, fields []string) error {
	return s.redetect(ctx, tx, []provider.ObjectRef{object}, fields)
}

// redetect re-detects objects with the providers concerned; fields, when
// not nil, are the ones that changed on each of objects.
func (s *Service) redetect(ctx context.Context, tx *db.Tx, objects []provider.ObjectRef, fields []string) error {
	if !s.Settings.Enabled || len(objects) == 0 || len(s.providers) == 0 {
		return nil
	}
	var concerned []provider.Provider
	for _, r := range s.providers {
		if concerns(r.p, objects) && (fields == nil || watches(r.p, objects, fields)) {
			concerned = append(concerned, r.p)
		}
	}
	if len(concerned) == 0 {
		return nil
	}
	disabled := map[string]bool{}
	rows, err := tx.Query(ctx, "SELECT action_type FROM user_action_providers WHERE is_enabled = ?", false)
	if err != nil {
		return fmt.Errorf("load disabled providers: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("scan provider: %w", err)
		}
		disabled[t] = true
	}
	rows.Close()
	for _, p := range concerned {
		if disabled[p.ActionType()] {
			continue
		}
		// A failing provider must not fail the change that triggered it (nor
		// the other providers): its work is undone to a savepoint, and the
		// periodic run catches up.
		if _, err := tx.Exec(ctx, "SAVEPOINT user_actions_redetect"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if _, _, _, err := s.detect(ctx, tx, p, provider.Scope{Objects: objects}); err != nil {
			s.Log.Error("user-action re-detection failed; the change goes on", "provider", p.ActionType(),
				"objects", fmt.Sprint(objects), "error", err)
			if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT user_actions_redetect"); rbErr != nil {
				return fmt.Errorf("roll back %s re-detection: %w", p.ActionType(), rbErr)
			}
		}
		if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT user_actions_redetect"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}

// watches reports whether p reads any of fields of objects' types: true
// unless p names, for each of those types, only other fields.
func watches(p provider.Provider, objects []provider.ObjectRef, fields []string) bool {
	fw, ok := p.(FieldWatcher)
	if !ok {
		return true
	}
	watched := fw.WatchedFields()
	for _, o := range objects {
		names, ok := watched[o.Type]
		if !ok {
			return true
		}
		for _, f := range fields {
			if slices.Contains(names, f) {
				return true
			}
		}
	}
	return false
}

// concerns reports whether p's actions may be about any of objects: only
// providers that name their object types (ObjectTables) re-detect on
// changes. Others (a per-user provider through provider.Batch would loop
// over every affected user inside the change's transaction) wait for the
// periodic run.
func concerns(p provider.Provider, objects []provider.ObjectRef) bool {
	ot, ok := p.(ObjectTables)
	if !ok {
		return false
	}
	tables := ot.ObjectTables()
	for _, o := range objects {
		if _, ok := tables[o.Type]; ok {
			return true
		}
	}
	return false
}

// detect runs one provider within scope and brings the stored rows in step:
// new actions inserted, changed ones updated in place (uuid, created and
// silence kept), vanished ones deleted. Statements: one read of the stored
// rows, one detection pass, and batches of writes; when it creates or
// deletes actions and an events service is set, a constant few more to
// ask whether anyone listens, and (only when someone does) the events.
func (s *Service) detect(ctx context.Context, tx *db.Tx, p provider.Provider, scope provider.Scope) (created, updated, deleted int, err error) {
	at := p.ActionType()
	// A full run holds its action type alone, so it and a change's
	// re-detection never write what the other has just undone; re-detections
	// of different objects share the lock (the same object's changes are
	// already serialised by its row lock).
	if err := tx.LockKey(ctx, "user_actions:"+at, scope.Objects != nil); err != nil {
		return 0, 0, 0, err
	}
	now := tx.Now()
	found, err := p.Detect(ctx, tx, now, scope)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: detect: %w", at, err)
	}
	existing, err := loadStored(ctx, tx, at, scope)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
	}
	var writes []row
	seen := make(map[key]bool, len(found))
	for _, a := range found {
		if !a.Urgency.Valid() {
			return 0, 0, 0, fmt.Errorf("%s: action for user %d on %s has urgency %q", at, a.UserID, a.Object, a.Urgency)
		}
		k := key{a.UserID, a.Object}
		if seen[k] {
			continue // a provider may report one object twice; the first wins
		}
		seen[k] = true
		r, err := newRow(at, a, now)
		if err != nil {
			return 0, 0, 0, err
		}
		old, ok := existing[k]
		switch {
		case !ok:
			created++
			writes = append(writes, r)
		case old.hash != r.hash:
			updated++
			writes = append(writes, r)
		}
	}
	var gone []int64
	for k, old := range existing {
		if !seen[k] {
			gone = append(gone, old.id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	// Asked only when there is something to announce, so a run that
	// changes nothing runs no more statements than without events.
	announceCreated, announceResolved := false, false
	if created > 0 {
		if announceCreated, err = s.wants(ctx, tx, events.TypeUserActionCreated); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
		}
	}
	if len(gone) > 0 {
		if announceResolved, err = s.wants(ctx, tx, events.TypeUserActionResolved); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
		}
	}
	returning := ""
	if announceCreated || announceResolved {
		if returning, err = s.changeReturning(ctx); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
		}
	}
	inserted, err := upsert(ctx, tx, writes, ifThen(announceCreated, returning))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
	}
	resolved, err := deleteIDs(ctx, tx, gone, ifThen(announceResolved, returning))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
	}
	if err := s.publish(ctx, tx, events.TypeUserActionCreated, inserted); err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
	}
	if err := s.publish(ctx, tx, events.TypeUserActionResolved, resolved); err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", at, err)
	}
	return created, updated, len(gone), nil
}

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

type key struct {
	user int64
	obj  provider.ObjectRef
}

type stored struct {
	id   int64
	hash string
}

func loadStored(ctx context.Context, c db.Conn, actionType string, scope provider.Scope) (map[key]stored, error) {
	where, args := "action_type = ?", []any{actionType}
	if scope.Users != nil {
		where += " AND user_id IN (" + db.Placeholders(len(scope.Users)) + ")"
		for _, u := range scope.Users {
			args = append(args, u)
		}
	}
	if scope.Objects != nil {
		var ors []string
		for _, o := range scope.Objects {
			ors = append(ors, "(object_type = ? AND object_id = ?)")
			args = append(args, o.Type, o.ID)
		}
		if len(ors) == 0 {
			return map[key]stored{}, nil
		}
		where += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	rows, err := c.Query(ctx, "SELECT id, user_id, object_type, object_id, content_hash FROM user_actions WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load stored actions: %w", err)
	}
	defer rows.Close()
	out := map[key]stored{}
	for rows.Next() {
		var (
			st stored
			k  key
		)
		if err := rows.Scan(&st.id, &k.user, &k.obj.Type, &k.obj.ID, &st.hash); err != nil {
			return nil, fmt.Errorf("scan stored action: %w", err)
		}
		out[k] = st
	}
	return out, rows.Err()
}

// row is one action ready to write.
type row struct {
	args []any
	hash string
}

var rowColumns = []string{"uuid", "user_id", "action_type", "object_type", "object_id", "related_object_name", "title",
	"description", "urgency", "urgency_rank", "due_date", "route_name", "route_params", "project_name", "project_uuid",
	"organization_name", "organization_uuid", "offering_name", "offering_uuid", "offering_type", "resource_name",
	"resource_uuid", "order_type", "corrective_actions", "content_hash", "created", "modified"}

// updatedColumns are rewritten when re-detection changes an action; uuid,
// created and the silence columns are not among them.
var updatedColumns = []string{"related_object_name", "title", "description", "urgency", "urgency_rank", "due_date",
	"route_name", "route_params", "project_name", "project_uuid", "organization_name", "organization_uuid",
	"offering_name", "offering_uuid", "offering_type", "resource_name", "resource_uuid", "order_type",
	"corrective_actions", "content_hash", "modified"}

func newRow(actionType string, a provider.Action, now time.Time) (row, error) {
	params := a.RouteParams
	if params == nil {
		params = map[string]any{}
	}
	cas := a.CorrectiveActions
	if cas == nil {
		cas = []provider.CorrectiveAction{}
	}
	for i := range cas {
		if cas[i].PermissionsRequired == nil {
			cas[i].PermissionsRequired = []string{}
		}
		if cas[i].Metadata == nil {
			cas[i].Metadata = map[string]any{}
		}
		if cas[i].RouteParams == nil {
			cas[i].RouteParams = map[string]any{}
		}
		if cas[i].Method == "" {
			cas[i].Method = "GET"
		}
		if cas[i].Severity == "" {
			cas[i].Severity = provider.Safe
		}
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return row{}, fmt.Errorf("route_params: %w", err)
	}
	casJSON, err := json.Marshal(cas)
	if err != nil {
		return row{}, fmt.Errorf("corrective actions: %w", err)
	}
	var due any
	if a.DueDate != nil {
		due = a.DueDate.UTC()
	}
	content := []any{a.RelatedObjectName, a.Title, a.Description, string(a.Urgency), due, a.RouteName, string(paramsJSON),
		a.ProjectName, uuidArg(a.ProjectUUID), a.OrganizationName, uuidArg(a.OrganizationUUID), a.OfferingName,
		uuidArg(a.OfferingUUID), a.OfferingType, a.ResourceName, uuidArg(a.ResourceUUID), a.OrderType, string(casJSON)}
	h := sha256.New()
	for _, v := range content {
		fmt.Fprintf(h, "%v\x00", v)
	}
	hash := hex.EncodeToString(h.Sum(nil))[:32]
	args := []any{uuid.NewString(), a.UserID, actionType, a.Object.Type, a.Object.ID, a.RelatedObjectName, a.Title,
		a.Description, string(a.Urgency), a.Urgency.Rank(), due, a.RouteName, string(paramsJSON), a.ProjectName,
		uuidArg(a.ProjectUUID), a.OrganizationName, uuidArg(a.OrganizationUUID), a.OfferingName, uuidArg(a.OfferingUUID),
		a.OfferingType, a.ResourceName, uuidArg(a.ResourceUUID), a.OrderType, string(casJSON), hash, now, now}
	return row{args: args, hash: hash}, nil
}

func uuidArg(u *uuid.UUID) any {
	if u == nil {
		return nil
	}
	return u.String()
}

// upsertBatch rows per statement: 27 columns each stays far below both
// engines' limit on bound parameters.
const upsertBatch = 500

// upsert writes rows. With returning (changeReturning) it also says which
// rows it inserted: an insert keeps the uuid newRow generated, an update
// keeps the stored one, so a returned uuid that is one of ours is a row
// this statement created.
func upsert(ctx context.Context, tx *db.Tx, rows []row, returning string) ([]change, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	one := "(" + db.Placeholders(len(rowColumns)) + ")"
	sets := make([]string, len(updatedColumns))
	for i, c := range updatedColumns {
		sets[i] = c + " = excluded." + c
	}
	suffix := " ON CONFLICT (user_id, action_type, object_type, object_id) DO UPDATE SET " + strings.Join(sets, ", ")
	var inserted []change
	for start := 0; start < len(rows); start += upsertBatch {
		batch := rows[start:min(start+upsertBatch, len(rows))]
		values := make([]string, len(batch))
		args := make([]any, 0, len(batch)*len(rowColumns))
		for i, r := range batch {
			values[i] = one
			args = append(args, r.args...)
		}
		q := "INSERT INTO user_actions (" + strings.Join(rowColumns, ", ") + ") VALUES " + strings.Join(values, ", ") + suffix
		if returning == "" {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("write %d actions: %w", len(batch), err)
			}
			continue
		}
		res, err := tx.Query(ctx, q+returning, args...)
		if err != nil {
			return nil, fmt.Errorf("write %d actions: %w", len(batch), err)
		}
		written, err := scanChanges(res)
		if err != nil {
			return nil, fmt.Errorf("write %d actions: %w", len(batch), err)
		}
		ours := make(map[uuid.UUID]bool, len(batch))
		for _, r := range batch {
			ours[uuid.MustParse(r.args[0].(string))] = true
		}
		for _, c := range written {
			if ours[c.id] {
				inserted = append(inserted, c)
			}
		}
	}
	return inserted, nil
}

// deleteIDs deletes the actions ids; with returning (changeReturning) it
// says what it deleted.
func deleteIDs(ctx context.Context, tx *db.Tx, ids []int64, returning string) ([]change, error) {
	const batch = 1000
	var deleted []change
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := "DELETE FROM user_actions WHERE id IN (" + db.Placeholders(len(part)) + ")"
		if returning == "" {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("delete %d actions: %w", len(part), err)
			}
			continue
		}
		rows, err := tx.Query(ctx, q+returning, args...)
		if err != nil {
			return nil, fmt.Errorf("delete %d actions: %w", len(part), err)
		}
		got, err := scanChanges(rows)
		if err != nil {
			return nil, fmt.Errorf("delete %d actions: %w", len(part), err)
		}
		deleted = append(deleted, got...)
	}
	return deleted, nil
}
