// Package provider is the contract between the user-actions engine and the
// packages that detect actions (marketplace's pending orders and expiring
// resources, or a provider of your own). It sits below both, so a domain
// package can provide actions without importing the engine.
package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
)

// Urgency ranks an action; the API sorts high before medium before low.
type Urgency string

// Urgencies, as Waldur's client enumerates them.
const (
	High   Urgency = "high"
	Medium Urgency = "medium"
	Low    Urgency = "low"
)

// Rank is the sort key: 0 for high, 1 medium, 2 low (and anything else).
func (u Urgency) Rank() int {
	switch u {
	case High:
		return 0
	case Medium:
		return 1
	}
	return 2
}

// Valid reports whether u is one of the three urgencies.
func (u Urgency) Valid() bool { return u == High || u == Medium || u == Low }

// Category says what a corrective action does (Waldur's
// CorrectiveActionCategoryEnum).
type Category string

// Categories.
const (
	View      Category = "view"
	Approve   Category = "approve"
	Reject    Category = "reject"
	Extend    Category = "extend"
	Terminate Category = "terminate"
	Backup    Category = "backup"
	Migrate   Category = "migrate"
	Contact   Category = "contact"
	Escalate  Category = "escalate"
	Configure Category = "configure"
	Repair    Category = "repair"
	Monitor   Category = "monitor"
)

// Severity says how much a corrective action risks (Waldur's
// CorrectiveActionSeverityEnum).
type Severity string

// Severities.
const (
	Safe     Severity = "safe"
	SevLow   Severity = "low"
	SevMed   Severity = "medium"
	SevHigh  Severity = "high"
	Critical Severity = "critical"
)

// CorrectiveAction is something the user can do about an action: navigate
// in a UI (APIEndpoint false) or have heed do it (APIEndpoint true, through
// the engine's execute, which calls the provider's Execute).
type CorrectiveAction struct {
	Label                string         `json:"label"`
	Category             Category       `json:"category"`
	Severity             Severity       `json:"severity"`
	Method               string         `json:"method"`
	APIEndpoint          bool           `json:"api_endpoint"`
	ConfirmationRequired bool           `json:"confirmation_required"`
	PermissionsRequired  []string       `json:"permissions_required"`
	Metadata             map[string]any `json:"metadata"`
	RouteName            *string        `json:"route_name"`
	RouteParams          map[string]any `json:"route_params"`
}

// Navigate builds a corrective action that only points the UI somewhere.
func Navigate(label string, cat Category, sev Severity, route string, params map[string]any) CorrectiveAction {
	return CorrectiveAction{Label: label, Category: cat, Severity: sev, Method: "GET", RouteName: &route,
		RouteParams: params, PermissionsRequired: []string{}, Metadata: map[string]any{}}
}

// ObjectRef names the object an action is about.
type ObjectRef struct {
	Type string
	ID   int64
}

func (o ObjectRef) String() string { return fmt.Sprintf("%s:%d", o.Type, o.ID) }

// Action is one to-do item a provider reports: for UserID, about Object.
// (UserID, provider's action type, Object) is its identity: re-detection
// updates it in place.
type Action struct {
	UserID            int64
	Object            ObjectRef
	RelatedObjectName string
	Title             string
	Description       string
	Urgency           Urgency
	DueDate           *time.Time
	RouteName         string
	RouteParams       map[string]any
	ProjectName       string
	ProjectUUID       *uuid.UUID
	OrganizationName  string
	OrganizationUUID  *uuid.UUID
	OfferingName      string
	OfferingUUID      *uuid.UUID
	OfferingType      string
	ResourceName      string
	ResourceUUID      *uuid.UUID
	OrderType         string
	// CorrectiveActions is what this user may do about it, decided at
	// detection (permissions included).
	CorrectiveActions []CorrectiveAction
}

// Scope narrows a detection. Nil slices mean "all".
type Scope struct {
	// Users restricts detection to these users.
	Users []int64
	// Objects restricts detection to actions about these objects (a change
	// of one order re-detects that order's actions only).
	Objects []ObjectRef
}

// Target is the stored action a corrective action is executed on.
type Target struct {
	ActionUUID uuid.UUID
	ActionType string
	UserID     int64
	Object     ObjectRef
}

// Result is what an executed corrective action did.
type Result struct {
	Message  string
	Metadata map[string]any
}

// Provider detects one type of action for every user at once: Detect is
// one pass over the data (set-based SQL), not a query per user.
type Provider interface {
	// ActionType is the registry key, e.g. "pending_order".
	ActionType() string
	// DisplayName is the human name shown in the provider registry.
	DisplayName() string
	// Detect returns every action that applies at now within scope. It runs
	// inside the engine's transaction (c), so what it reads is what the
	// engine writes against.
	Detect(ctx context.Context, c db.Conn, now time.Time, scope Scope) ([]Action, error)
	// Execute carries out an API corrective action (APIEndpoint true) as
	// actor. It runs with no transaction open and calls the owning domain
	// service, which checks permissions again.
	Execute(ctx context.Context, actor *auth.User, t Target, ca CorrectiveAction, params map[string]any) (Result, error)
}

// PerUser is the seed's provider shape, for providers that can only answer
// for one user at a time: Batch turns it into a Provider, calling
// ActionsForUser for each affected user in scope.
type PerUser interface {
	ActionType() string
	DisplayName() string
	// AffectedUsers are the users who might have actions of this type.
	AffectedUsers(ctx context.Context, c db.Conn, now time.Time) ([]int64, error)
	// ActionsForUser returns the actions that apply to u now. Corrective
	// actions may be left empty: Batch asks CorrectiveActions for them.
	ActionsForUser(ctx context.Context, c db.Conn, now time.Time, u *auth.User) ([]Action, error)
	// CorrectiveActions returns what u may do about obj.
	CorrectiveActions(ctx context.Context, c db.Conn, u *auth.User, obj ObjectRef) ([]CorrectiveAction, error)
	Execute(ctx context.Context, actor *auth.User, t Target, ca CorrectiveAction, params map[string]any) (Result, error)
}

// Batch adapts a per-user provider: the engine still sees one Detect call
// per run, and the loop over users lives here.
func Batch(p PerUser) Provider { return batched{p} }

type batched struct{ PerUser }

// Unwrap returns the per-user provider, so the registry names its type.
func (b batched) Unwrap() any { return b.PerUser }

func (b batched) Detect(ctx context.Context, c db.Conn, now time.Time, scope Scope) ([]Action, error) {
	users, err := b.AffectedUsers(ctx, c, now)
	if err != nil {
		return nil, fmt.Errorf("%s: affected users: %w", b.ActionType(), err)
	}
	if scope.Users != nil {
		want := make(map[int64]bool, len(scope.Users))
		for _, id := range scope.Users {
			want[id] = true
		}
		kept := users[:0]
		for _, id := range users {
			if want[id] {
				kept = append(kept, id)
			}
		}
		users = kept
	}
	var objects map[ObjectRef]bool
	if scope.Objects != nil {
		objects = make(map[ObjectRef]bool, len(scope.Objects))
		for _, o := range scope.Objects {
			objects[o] = true
		}
	}
	var out []Action
	for _, id := range users {
		u, err := auth.UserByID(ctx, c, id)
		if err != nil {
			return nil, fmt.Errorf("%s: user %d: %w", b.ActionType(), id, err)
		}
		acts, err := b.ActionsForUser(ctx, c, now, u)
		if err != nil {
			return nil, fmt.Errorf("%s: actions for %s: %w", b.ActionType(), u.Username, err)
		}
		for _, a := range acts {
			if objects != nil && !objects[a.Object] {
				continue
			}
			a.UserID = u.ID
			if a.CorrectiveActions == nil {
				if a.CorrectiveActions, err = b.CorrectiveActions(ctx, c, u, a.Object); err != nil {
					return nil, fmt.Errorf("%s: corrective actions for %s: %w", b.ActionType(), u.Username, err)
				}
			}
			out = append(out, a)
		}
	}
	return out, nil
}
