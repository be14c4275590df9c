// Package example is the README's user-action provider, written the way a
// provider of your own would be: one file, the per-user shape, registered
// with provider.Batch. It asks every user holding an API token that never
// expires (`heed token create` mints those) to revoke it.
package example

import (
	"context"
	"fmt"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// EternalTokens reports each API token that never expires to its owner.
// Register it with actions.Register(provider.Batch(example.EternalTokens{DB: d})).
type EternalTokens struct {
	DB *db.DB // for Execute; detection reads through the engine's transaction
}

// ActionType is the registry key and the API's action_type.
func (EternalTokens) ActionType() string { return "eternal_token" }

// DisplayName is shown in the provider registry.
func (EternalTokens) DisplayName() string { return "Tokens that never expire" }

// AffectedUsers are the owners of tokens without an expiry.
func (EternalTokens) AffectedUsers(ctx context.Context, c db.Conn, _ time.Time) ([]int64, error) {
	rows, err := c.Query(ctx, "SELECT DISTINCT user_id FROM tokens WHERE expires_at IS NULL ORDER BY user_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ActionsForUser returns one action per eternal token of u: the older the
// token, the more urgent.
func (EternalTokens) ActionsForUser(ctx context.Context, c db.Conn, now time.Time, u *auth.User) ([]provider.Action, error) {
	rows, err := c.Query(ctx, "SELECT id, description, created FROM tokens WHERE user_id = ? AND expires_at IS NULL ORDER BY id", u.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provider.Action
	for rows.Next() {
		var (
			id      int64
			desc    string
			created time.Time
		)
		if err := rows.Scan(&id, &desc, &created); err != nil {
			return nil, err
		}
		urgency := provider.Low
		switch age := now.Sub(created); {
		case age > 365*24*time.Hour:
			urgency = provider.High
		case age > 90*24*time.Hour:
			urgency = provider.Medium
		}
		out = append(out, provider.Action{
			Object:            provider.ObjectRef{Type: "token", ID: id},
			RelatedObjectName: desc,
			Title:             "API token never expires: " + desc,
			Description:       fmt.Sprintf("Created on %s and valid until revoked.", created.UTC().Format(time.DateOnly)),
			Urgency:           urgency,
		})
	}
	return out, rows.Err()
}

// CorrectiveActions: revoking the token is all there is to do.
func (EternalTokens) CorrectiveActions(context.Context, db.Conn, *auth.User, provider.ObjectRef) ([]provider.CorrectiveAction, error) {
	return []provider.CorrectiveAction{{
		Label: "Revoke Token", Category: provider.Terminate, Severity: provider.SevMed, Method: "POST",
		APIEndpoint: true, ConfirmationRequired: true,
	}}, nil
}

// Execute revokes the token. The engine checked that the action is the
// actor's; the token must still be theirs too.
func (p EternalTokens) Execute(ctx context.Context, actor *auth.User, t provider.Target, ca provider.CorrectiveAction, _ map[string]any) (provider.Result, error) {
	if ca.Label != "Revoke Token" {
		return provider.Result{}, errs.E(errs.Invalid, "%q cannot be executed through the API.", ca.Label)
	}
	err := p.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id = ? AND user_id = ?", t.Object.ID, actor.ID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errs.E(errs.Conflict, "The token was already revoked.")
		}
		return err
	})
	if err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Message: "Token revoked."}, nil
}
