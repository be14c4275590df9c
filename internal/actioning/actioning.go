// Package actioning is FusionAuth's user actioning on heed's users: action
// definitions ("Mute", "Lock", "Warn"), reasons, the actions admins take on
// users and their phases (start, modify, cancel, end), the user.action
// event of each phase, emails from templates, and login prevention.
//
// Users are heed's users; their uuid is the FusionAuth user id, and they
// belong to the default tenant. Every change is one transaction: the
// instance, its history, the user's login prevention, its event (through
// events.Publish, which may veto it under a transactional level), its email
// and end jobs commit or roll back together.
package actioning

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/jobs"
	"github.com/heed-dev/heed/internal/mail"
)

// Forever is FusionAuth's "never expires" (2^63-1 ms).
const Forever int64 = 1<<63 - 1

// ForeverThreshold: a JavaScript client cannot send 2^63-1 exactly (it
// arrives as 9223372036854776000, beyond int64); anything from here on is
// read as "never expires".
const ForeverThreshold int64 = Forever - 1023

// MaxExpiry is 9999-12-31T23:59:59.999Z, the last instant both databases
// and Go's layouts agree on: a later one short of Forever could not be
// stored as its end job's schedule (a 500 on PostgreSQL).
const MaxExpiry int64 = 253402300799999

// checkExpiry adds to e what is wrong with a temporal action's expiry.
func checkExpiry(e *errs.Error, expiry int64, now time.Time) {
	switch {
	case expiry <= now.UnixMilli():
		e.Add("invalid", "action.expiry", "The [action.expiry] property must be in the future.")
	case expiry > MaxExpiry && expiry < ForeverThreshold:
		e.Add("invalid", "action.expiry", "The [action.expiry] property must be before year 10000, or 9223372036854775807 for never.")
	}
}

// Service owns definitions, reasons, applications, templates and
// instances.
type Service struct {
	DB     *db.DB
	Events *events.Service
	Jobs   jobs.Enqueuer
	Mail   mail.Sender
	// DefaultFrom is who action emails come from when neither the
	// template nor the tenant names a sender.
	DefaultFrom Address
	// OnChange, when set, is told in the change's transaction which
	// instances (by number) were taken, changed, ended or deleted: the
	// user-actions engine re-detects account_restriction from it.
	OnChange func(ctx context.Context, tx *db.Tx, nums []int64) error
	log      *slog.Logger
}

func (s *Service) changed(ctx context.Context, tx *db.Tx, nums ...int64) error {
	if s.OnChange == nil || len(nums) == 0 {
		return nil
	}
	return s.OnChange(ctx, tx, nums)
}

// New builds the service; Jobs is bound once the runner exists.
func New(d *db.DB, ev *events.Service, sender mail.Sender, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{DB: d, Events: ev, Mail: sender, log: log}
}

// LocalizedStrings maps a locale ("de", "en_US") to text.
type LocalizedStrings map[string]string

func decodeJSON[T any](raw string, into *T, what string) error {
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

func parseUUIDPtr(s *string) uuid.UUID {
	if s == nil {
		return uuid.Nil
	}
	id, err := uuid.Parse(*s)
	if err != nil {
		return uuid.Nil
	}
	return id
}

func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// utc normalises times read back from either database to UTC.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}
