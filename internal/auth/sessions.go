package auth

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// SessionDescription marks the tokens that are console sessions. A session
// is a token like any other (hashed at rest, refused once the user is
// inactive or login-prevented), so every replica serves it and revoking it
// is deleting its row.
const SessionDescription = "console session"

// StartSession checks a username and password exactly as the API's
// password login does (same throttle, same refusals) and stores a session
// that ends after lifetime. It returns the session's secret.
func (s *Service) StartSession(ctx context.Context, username, password, clientAddr string, lifetime time.Duration) (string, error) {
	return s.login(ctx, username, password, clientAddr, SessionDescription, lifetime)
}

// EndSession deletes the session with this secret; an unknown secret is
// not an error (signing out twice is fine).
func (s *Service) EndSession(ctx context.Context, secret string) error {
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE key_hash = ? AND description = ?", HashToken(secret), SessionDescription); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return nil
	})
}

// EndSessionsOf deletes the user's console sessions inside tx: an action
// that prevents login signs the user out for good, not just while it lasts.
// API tokens stay; they are refused while the action lasts.
func EndSessionsOf(ctx context.Context, tx *db.Tx, user uuid.UUID) error {
	if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE description = ? AND user_id = (SELECT id FROM users WHERE uuid = ?)",
		SessionDescription, user.String()); err != nil {
		return fmt.Errorf("end sessions of user %s: %w", user, err)
	}
	return nil
}

func endSessions(ctx context.Context, tx *db.Tx, userID int64) error {
	if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE user_id = ? AND description = ?", userID, SessionDescription); err != nil {
		return fmt.Errorf("end sessions of user %d: %w", userID, err)
	}
	return nil
}

// Token is what may be shown of a stored token: never its secret.
type Token struct {
	ID          int64
	Description string
	Created     time.Time
	// Expires is nil for a token that never expires.
	Expires *time.Time
}

// mayManageTokens lets staff manage anyone's tokens and others their own.
// Someone else's tokens are NotFound, as their user is.
func mayManageTokens(viewer, owner *User) error {
	if viewer == nil {
		return errs.E(errs.Unauthenticated, "Authentication credentials were not provided.")
	}
	if viewer.IsStaff || viewer.ID == owner.ID {
		return nil
	}
	return errs.NotFoundf("Not found.")
}

// Tokens lists the user's tokens, newest first.
func (s *Service) Tokens(ctx context.Context, viewer *User, userID uuid.UUID) (out []Token, err error) {
	defer errs.Wrap(&err, "Tokens(%s)", userID)
	owner, err := s.GetUser(ctx, viewer, userID)
	if err != nil {
		return nil, err
	}
	if err := mayManageTokens(viewer, owner); err != nil {
		return nil, err
	}
	rows, err := s.DB.Reader().Query(ctx, "SELECT id, description, created, expires_at FROM tokens WHERE user_id = ? ORDER BY id DESC", owner.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t   Token
			exp sql.NullTime
		)
		if err := rows.Scan(&t.ID, &t.Description, &t.Created, &exp); err != nil {
			return nil, err
		}
		if exp.Valid {
			t.Expires = &exp.Time
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes one of the user's tokens (a session signs out).
func (s *Service) RevokeToken(ctx context.Context, viewer *User, userID uuid.UUID, tokenID int64) (err error) {
	defer errs.Wrap(&err, "RevokeToken(%s, %d)", userID, tokenID)
	owner, err := s.GetUser(ctx, viewer, userID)
	if err != nil {
		return err
	}
	if err := mayManageTokens(viewer, owner); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id = ? AND user_id = ?", tokenID, owner.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.NotFoundf("Not found.")
		}
		return nil
	})
}
