// Package demo loads heed's demo data set: users with well-known tokens and,
// as the domain grows, the marketplace and its history. It exists only for
// trying heed out; the tokens it creates must never reach production.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
)

// DemoUser is one of the demo accounts.
type DemoUser struct {
	Username, FullName, Email, Token, Password string
	Staff, Support                             bool
}

// Users are the demo accounts and their fixed tokens.
var Users = []DemoUser{
	{Username: "admin", FullName: "Ada Admin", Email: "admin@example.com", Token: "demo-staff-token", Password: "demo-admin-password", Staff: true},
	{Username: "support", FullName: "Sam Support", Email: "support@example.com", Token: "demo-support-token", Password: "demo-support-password", Support: true},
	{Username: "alice", FullName: "Alice Owner", Email: "alice@example.com", Token: "demo-alice-token", Password: "demo-alice-password"},
	{Username: "bob", FullName: "Bob Manager", Email: "bob@example.com", Token: "demo-bob-token", Password: "demo-bob-password"},
	{Username: "carol", FullName: "Carol Member", Email: "carol@example.com", Token: "demo-carol-token", Password: "demo-carol-password"},
}

// Load adds the demo data set. Users that already exist are left alone, so
// running it twice changes nothing. With onlyIfEmpty (serve --demo) it
// refuses a database that holds users but not the demo set, so a stray flag
// never plants known tokens in real data.
func Load(ctx context.Context, d *db.DB, market *marketplace.Service, log *slog.Logger, onlyIfEmpty bool) error {
	svc := &auth.Service{DB: d, PasswordCost: bcrypt.MinCost}
	if onlyIfEmpty {
		var total, demoUsers int
		err := d.ReadTx(ctx, func(c db.Conn) error {
			return c.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN username = ? THEN 1 ELSE 0 END), 0) FROM users`,
				Users[0].Username).Scan(&total, &demoUsers)
		})
		if err != nil {
			return fmt.Errorf("check for existing data: %w", err)
		}
		if total > 0 && demoUsers == 0 {
			return fmt.Errorf("%w: it has %d users and no demo data; use `heed demo` to add demo data to it on purpose", ErrNotEmpty, total)
		}
	}
	created := 0
	for _, du := range Users {
		if _, err := svc.UserByUsername(ctx, du.Username); err == nil {
			continue
		} else if errs.KindOf(err) != errs.NotFound {
			return err
		}
		du := du
		langs := []string{"en"}
		u, err := svc.CreateUser(ctx, nil, auth.UserInput{
			Username: &du.Username, FullName: &du.FullName, Email: &du.Email, IsStaff: &du.Staff,
			IsSupport: &du.Support, PreferredLanguages: &langs, Password: &du.Password,
		})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", du.Username, err)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return auth.StoreToken(ctx, tx, u.ID, du.Token, "demo data", time.Time{})
		}); err != nil {
			return fmt.Errorf("demo token for %s: %w", du.Username, err)
		}
		created++
	}
	if created == 0 {
		log.Info("demo data already present")
		return nil
	}
	if err := loadMarketplace(ctx, d, market); err != nil {
		return fmt.Errorf("demo marketplace: %w", err)
	}
	log.Warn("DEMO DATA LOADED: users admin, support, alice, bob and carol can sign in with the PUBLICLY KNOWN tokens " +
		"demo-staff-token, demo-support-token, demo-alice-token, demo-bob-token and demo-carol-token. Never do this on a database that matters.")
	return nil
}

// ErrNotEmpty is returned when demo data is requested for a database that
// already holds other data.
var ErrNotEmpty = errors.New("database is not empty")
