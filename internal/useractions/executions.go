package useractions

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// Execution is one run of a corrective action: the audit trail. It keeps
// what the action was about by value, so it outlives the action.
type Execution struct {
	ID                    int64
	UserID                *int64
	ActionUUID            uuid.UUID
	ActionType            string
	ActionTitle           string
	Object                provider.ObjectRef
	CorrectiveActionLabel string
	ExecutedAt            time.Time
	Success               bool
	ErrorMessage          string
	Metadata              json.RawMessage
}

// Outcome is what executing a corrective action did.
type Outcome struct {
	// Action is "completed" for an API action, "navigate" for one the UI
	// performs (RouteName and RouteParams say where).
	Action      string
	Message     string
	Metadata    map[string]any
	RouteName   *string
	RouteParams map[string]any
}

// ExecutionError is a corrective action that failed: the execution was
// recorded, and Err says why (its kind decides the status).
type ExecutionError struct {
	Err error
}

func (e *ExecutionError) Error() string { return e.Err.Error() }
func (e *ExecutionError) Unwrap() error { return e.Err }

// Execute runs the corrective action labelled label of one of viewer's
// actions. Navigate actions only answer where to go; API actions call the
// provider, which acts through the owning domain service as viewer. Either
// way an execution is recorded, failed ones included.
func (s *Service) Execute(ctx context.Context, viewer *auth.User, id uuid.UUID, label string, params map[string]any) (out Outcome, err error) {
	defer errs.Wrap(&err, "Execute(%s, %q)", id, label)
	if strings.TrimSpace(label) == "" {
		return out, errs.Field("action_label", "This field may not be blank.")
	}
	a, err := s.get(ctx, s.DB.Reader(), viewer, id, true)
	if err != nil {
		return out, err
	}
	cas, err := a.Corrective()
	if err != nil {
		return out, err
	}
	var ca *provider.CorrectiveAction
	for i := range cas {
		if cas[i].Label == label {
			ca = &cas[i]
			break
		}
	}
	if ca == nil {
		return out, errs.NotFoundf("Action not found or not permitted")
	}
	if !ca.APIEndpoint {
		out = Outcome{Action: "navigate", Message: "Open " + label + ".", Metadata: ca.Metadata, RouteName: ca.RouteName,
			RouteParams: ca.RouteParams}
		return out, s.record(ctx, viewer, a, label, true, "", out.Metadata)
	}
	p := s.provider(a.ActionType)
	if p == nil {
		err := errs.E(errs.Conflict, "No provider handles %s actions any more.", a.ActionType)
		_ = s.record(ctx, viewer, a, label, false, err.Error(), nil)
		return out, &ExecutionError{err}
	}
	res, execErr := p.Execute(ctx, viewer, provider.Target{ActionUUID: a.UUID, ActionType: a.ActionType, UserID: a.UserID,
		Object: a.Object}, *ca, params)
	if execErr != nil {
		msg := execErr.Error()
		if e, ok := errs.As(execErr); ok && e.Kind != errs.Internal {
			msg = errMessage(e)
		}
		if err := s.record(ctx, viewer, a, label, false, msg, nil); err != nil {
			return out, err
		}
		return out, &ExecutionError{execErr}
	}
	out = Outcome{Action: "completed", Message: res.Message, Metadata: res.Metadata}
	if out.Metadata == nil {
		out.Metadata = map[string]any{}
	}
	return out, s.record(ctx, viewer, a, label, true, "", out.Metadata)
}

// errMessage is a domain error in one line: its message, or its field
// messages.
func errMessage(e *errs.Error) string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	var parts []string
	for f, msgs := range e.Fields {
		parts = append(parts, f+": "+strings.Join(msgs, " "))
	}
	return strings.Join(parts, "; ")
}

func (s *Service) record(ctx context.Context, viewer *auth.User, a *Action, label string, ok bool, msg string, meta map[string]any) error {
	if meta == nil {
		meta = map[string]any{}
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("execution metadata: %w", err)
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO user_action_executions (user_id, action_uuid, action_type, action_title, object_type,
				object_id, corrective_action_label, executed_at, success, error_message, execution_metadata)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, viewer.ID, a.UUID.String(), a.ActionType, a.Title, a.Object.Type, a.Object.ID,
			label, tx.Now(), ok, msg, string(b))
		if err != nil {
			return fmt.Errorf("record execution: %w", err)
		}
		return nil
	})
}

const executionCols = `e.id, e.user_id, e.action_uuid, e.action_type, e.action_title, e.object_type, e.object_id,
	e.corrective_action_label, e.executed_at, e.success, e.error_message, e.execution_metadata`

func scanExecution(r db.Scanner) (*Execution, error) {
	var (
		e    Execution
		uid  sql.NullInt64
		id   string
		meta string
	)
	if err := r.Scan(&e.ID, &uid, &id, &e.ActionType, &e.ActionTitle, &e.Object.Type, &e.Object.ID,
		&e.CorrectiveActionLabel, &e.ExecutedAt, &e.Success, &e.ErrorMessage, &meta); err != nil {
		return nil, err
	}
	if uid.Valid {
		e.UserID = &uid.Int64
	}
	e.ActionUUID, _ = uuid.Parse(id)
	e.Metadata = json.RawMessage(meta)
	return &e, nil
}

var executionOrdering = map[string]string{
	"executed_at": "e.executed_at", "corrective_action_label": "e.corrective_action_label", "success": "e.success",
	"id": "e.id",
}

// Executions lists viewer's own executions, newest first by default.
func (s *Service) Executions(ctx context.Context, viewer *auth.User, ordering string, page db.Page) (out []*Execution, total int, err error) {
	defer errs.Wrap(&err, "Executions")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: executionCols, From: " FROM user_action_executions e", Where: "e.user_id = ?",
			OrderBy: db.OrderBy(ordering, executionOrdering, []string{"-executed_at"}, "e.id"), Args: []any{viewer.ID}, Page: page,
		}, scanExecution)
		return err
	})
	return out, total, err
}

// GetExecution returns one of viewer's executions.
func (s *Service) GetExecution(ctx context.Context, viewer *auth.User, id int64) (*Execution, error) {
	e, err := scanExecution(s.DB.Reader().QueryRow(ctx, "SELECT "+executionCols+" FROM user_action_executions e WHERE e.id = ? AND e.user_id = ?",
		id, viewer.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get execution %d: %w", id, err)
	}
	return e, nil
}

// ProviderInfo is a provider's registry row.
type ProviderInfo struct {
	ID                  int64
	AppName             string
	ProviderClass       string
	ActionType          string
	IsEnabled           bool
	Schedule            string
	LastExecution       *time.Time
	LastExecutionStatus string
}

const providerCols = "id, app_name, provider_class, action_type, is_enabled, schedule, last_execution, last_execution_status"

func scanProvider(r db.Scanner) (*ProviderInfo, error) {
	var p ProviderInfo
	var last sql.NullTime
	if err := r.Scan(&p.ID, &p.AppName, &p.ProviderClass, &p.ActionType, &p.IsEnabled, &p.Schedule, &last, &p.LastExecutionStatus); err != nil {
		return nil, err
	}
	p.LastExecution = timePtr(last)
	return &p, nil
}

func requireStaff(u *auth.User) error {
	if u == nil || !u.IsStaff {
		return errs.E(errs.Forbidden, "You do not have permission to perform this action.")
	}
	return nil
}

// Providers lists the provider registry (staff).
func (s *Service) Providers(ctx context.Context, viewer *auth.User, page db.Page) (out []*ProviderInfo, total int, err error) {
	defer errs.Wrap(&err, "Providers")
	if err := requireStaff(viewer); err != nil {
		return nil, 0, err
	}
	if err := s.SyncRegistry(ctx); err != nil {
		return nil, 0, err
	}
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: providerCols, From: " FROM user_action_providers", Where: "1=1",
			OrderBy: " ORDER BY app_name, id", Args: nil, Page: page,
		}, scanProvider)
		return err
	})
	return out, total, err
}

// GetProvider returns one registry row (staff).
func (s *Service) GetProvider(ctx context.Context, viewer *auth.User, id int64) (*ProviderInfo, error) {
	if err := requireStaff(viewer); err != nil {
		return nil, err
	}
	p, err := scanProvider(s.DB.Reader().QueryRow(ctx, "SELECT "+providerCols+" FROM user_action_providers WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get provider %d: %w", id, err)
	}
	return p, nil
}

// SetProviderEnabled turns a provider on or off (staff). A disabled
// provider is not run, periodically or on changes; its actions stay.
func (s *Service) SetProviderEnabled(ctx context.Context, viewer *auth.User, id int64, enabled bool) (*ProviderInfo, error) {
	if err := requireStaff(viewer); err != nil {
		return nil, err
	}
	n, err := s.execWrite(ctx, "UPDATE user_action_providers SET is_enabled = ? WHERE id = ?", enabled, id)
	if err != nil {
		return nil, fmt.Errorf("set provider %d enabled: %w", id, err)
	}
	if n == 0 {
		return nil, errs.NotFoundf("Not found.")
	}
	return s.GetProvider(ctx, viewer, id)
}
