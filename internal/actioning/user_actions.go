package actioning

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// ObjectInstance is the user-actions object type of an action instance.
const ObjectInstance = "user_action_instance"

// RestrictionProvider is the bridge to user actions: the actionee of every
// active temporal action taken with notifyUser sees it in their to-do list
// (account_restriction), titled with the action's localized name, due at
// the expiry, high urgency when it prevents login, with a "Contact
// Support" link.
type RestrictionProvider struct {
	// SupportRoute is the route the Contact Support action names.
	SupportRoute string
}

// AccountRestrictions returns the provider.
func (s *Service) AccountRestrictions() *RestrictionProvider {
	return &RestrictionProvider{SupportRoute: "support"}
}

// ActionType implements provider.Provider.
func (p *RestrictionProvider) ActionType() string { return "account_restriction" }

// DisplayName implements provider.Provider.
func (p *RestrictionProvider) DisplayName() string { return "Account restrictions" }

// ObjectTables lets the engine find actions whose instance was deleted.
// Instances are keyed by uuid; the engine's object id is their num, so the
// "table" is a view naming num id and the uuid uuid.
func (p *RestrictionProvider) ObjectTables() map[string]string {
	return map[string]string{ObjectInstance: "(SELECT num AS id, id AS uuid FROM user_action_instances)"}
}

// Detect implements provider.Provider: one query for every user in scope.
func (p *RestrictionProvider) Detect(ctx context.Context, c db.Conn, now time.Time, scope provider.Scope) ([]provider.Action, error) {
	where, args := []string{"i.temporal", "NOT i.cancelled", "i.notify_user_on_end", "i.expiry_ms > ?", "u.is_active = ?"},
		[]any{now.UnixMilli(), true}
	if scope.Users != nil {
		if len(scope.Users) == 0 {
			return nil, nil
		}
		where = append(where, "u.id IN ("+db.Placeholders(len(scope.Users))+")")
		for _, id := range scope.Users {
			args = append(args, id)
		}
	}
	if scope.Objects != nil {
		var nums []any
		for _, o := range scope.Objects {
			if o.Type == ObjectInstance {
				nums = append(nums, o.ID)
			}
		}
		if len(nums) == 0 {
			return nil, nil
		}
		where = append(where, "i.num IN ("+db.Placeholders(len(nums))+")")
		args = append(args, nums...)
	}
	rows, err := c.Query(ctx, `SELECT u.id, u.preferred_languages, i.num, i.expiry_ms, i.comment, d.name, d.localized_names, d.prevent_login
		FROM user_action_instances i
		JOIN user_action_definitions d ON d.id = i.definition_id
		JOIN users u ON u.uuid = i.actionee_uuid
		WHERE `+strings.Join(where, " AND ")+` ORDER BY i.num`, args...)
	if err != nil {
		return nil, fmt.Errorf("account restrictions: %w", err)
	}
	defer rows.Close()
	var out []provider.Action
	for rows.Next() {
		var (
			userID, num, expiry int64
			langsRaw, names     string
			comment, name       string
			prevents            bool
		)
		if err := rows.Scan(&userID, &langsRaw, &num, &expiry, &comment, &name, &names, &prevents); err != nil {
			return nil, fmt.Errorf("account restrictions: %w", err)
		}
		var langs []string
		var localized LocalizedStrings
		if err := decodeJSON(langsRaw, &langs, "preferred languages"); err != nil {
			return nil, err
		}
		if err := decodeJSON(names, &localized, "localized names"); err != nil {
			return nil, err
		}
		title := Localize(name, localized, langs)
		a := provider.Action{
			UserID: userID, Object: provider.ObjectRef{Type: ObjectInstance, ID: num}, RelatedObjectName: title,
			Title: title, Description: comment, Urgency: provider.Medium,
			CorrectiveActions: []provider.CorrectiveAction{
				provider.Navigate("Contact Support", provider.Contact, provider.Safe, p.SupportRoute, map[string]any{}),
			},
		}
		if prevents {
			a.Urgency = provider.High
		}
		if expiry != Forever {
			due := time.UnixMilli(expiry).UTC()
			a.DueDate = &due
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Execute implements provider.Provider: the only corrective action
// navigates, so there is nothing to execute.
func (p *RestrictionProvider) Execute(context.Context, *auth.User, provider.Target, provider.CorrectiveAction, map[string]any) (provider.Result, error) {
	return provider.Result{}, errs.E(errs.Invalid, "This action has no corrective action heed can run.")
}

// numOf returns an instance's number, the user-actions object id.
func numOf(ctx context.Context, c db.Conn, id string) (int64, error) {
	var n int64
	err := c.QueryRow(ctx, `SELECT num FROM user_action_instances WHERE id = ?`, id).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return n, err
}
