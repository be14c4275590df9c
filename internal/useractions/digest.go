package useractions

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
	"github.com/heed-dev/heed/internal/mail"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// digestTimeout bounds one digest job: the daily fan-out (one query, then
// batches of inserts) or one user's mail (mail.DefaultTimeout per SMTP
// command). Like detectionTimeout it also bounds crash recovery.
const digestTimeout = 50 * time.Second

// digestAttempts replaces River's 25 attempts, which spread over weeks: a
// digest that cannot go out within about an hour and a half (attempt⁴
// seconds of backoff) is stale, and the next day's brings the news anyway.
const digestAttempts = 8

// digestBatch is how many per-user jobs the daily run enqueues per
// transaction: short transactions, as SQLite has one writer.
const digestBatch = 500

// DigestArgs is the digest job. UserID 0 is the daily run: it picks the
// recipients and enqueues one job per recipient. A job for one user sends
// that user's digest: a daily one (Day set) only while the rules still
// call for it; a staff-requested one (send_notification, Day empty)
// whatever the thresholds and the Enabled setting, as in Waldur.
type DigestArgs struct {
	UserID int64 `json:"user_id,omitempty"`
	// Day (YYYY-MM-DD, UTC) marks a daily digest with the day of the run
	// that chose the user. It also makes the job unique per user and day:
	// a daily run that is retried after enqueuing some jobs (a crash
	// between commit and completion) cannot mail anyone twice.
	Day string `json:"day,omitempty"`
}

// Kind implements river.JobArgs.
func (DigestArgs) Kind() string { return "user_actions_digest" }

// InsertOpts bounds the retries and makes daily digests unique per user
// and day (River's default unique states include completed).
func (a DigestArgs) InsertOpts() river.InsertOpts {
	opts := river.InsertOpts{MaxAttempts: digestAttempts}
	if a.UserID != 0 && a.Day != "" {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true}
	}
	return opts
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	s *Service
}

func (w *digestWorker) Timeout(*river.Job[DigestArgs]) time.Duration { return digestTimeout }

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	if job.Args.UserID == 0 {
		// CreatedAt, not now: a retry on the next day still belongs to
		// the day it was enqueued for, so its uniqueness still holds.
		users, err := w.s.EnqueueDigests(ctx, job.CreatedAt)
		if len(users) > 0 {
			w.s.Log.Info("user action digests enqueued", "count", len(users))
		}
		return err
	}
	_, err := w.s.SendDigest(ctx, job.Args.UserID, job.Args.Day != "")
	return err
}

// registerDigestJobs adds the digest worker and the daily run at 09:00
// (overridable with --schedule user_actions_digest=CRON).
func (s *Service) registerDigestJobs(reg *jobs.Registry) {
	jobs.AddWorker(reg, &digestWorker{s: s})
	reg.AddPeriodic(jobs.Periodic{ID: "user_actions_digest", Schedule: "0 9 * * *",
		Args: func() river.JobArgs { return DigestArgs{} }})
}

// MailVia adapts a mail.Sender (SMTP, or the log) to the engine's Mailer.
// mail imports nothing of heed, so the conversion lives on this side.
func MailVia(m mail.Sender) Mailer { return mailVia{m} }

type mailVia struct{ m mail.Sender }

func (v mailVia) Send(ctx context.Context, m Message) error {
	return v.m.Send(ctx, mail.Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
}

func (s *Service) mailer() Mailer {
	if s.Mail != nil {
		return s.Mail
	}
	return MailVia(mail.Log{Logger: s.Log})
}

// visibleAction is the condition on user_actions (alias a) for an action
// the user sees: not silenced for good, and any temporary silence over.
const visibleAction = "a.is_silenced = ? AND (a.silenced_until IS NULL OR a.silenced_until <= ?)"

// EnqueueDigests is the daily run: it selects, in one query, the users who
// get a digest today (an email address, active, not opted out, and either
// a visible high-urgency action when HighUrgencyNotification is set or more
// visible actions than NotificationThreshold) and enqueues one job per
// recipient for day. It returns those users' ids; nothing when the engine
// is disabled. Unlike Waldur, a user with some action temporarily silenced
// is not left out: only visible actions are counted.
func (s *Service) EnqueueDigests(ctx context.Context, day time.Time) (users []int64, err error) {
	defer errs.Wrap(&err, "EnqueueDigests")
	if !s.Settings.Enabled {
		s.Log.Info("user actions disabled: digests skipped")
		return nil, nil
	}
	having, args := "COUNT(*) > ?", []any{max(s.Settings.NotificationThreshold, 0)}
	if s.Settings.HighUrgencyNotification {
		having += " OR SUM(CASE WHEN a.urgency = ? THEN 1 ELSE 0 END) > 0"
		args = append(args, string(provider.High))
	}
	q := `SELECT u.id FROM users u JOIN user_actions a ON a.user_id = u.id
		WHERE u.email <> '' AND u.is_active = ? AND u.notifications_enabled = ? AND ` + visibleAction + `
		GROUP BY u.id HAVING ` + having + ` ORDER BY u.id`
	args = append([]any{true, true, false, s.DB.Now()}, args...)
	rows, err := s.DB.Reader().Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("select digest recipients: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan digest recipient: %w", err)
		}
		users = append(users, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select digest recipients: %w", err)
	}
	d := day.UTC().Format(time.DateOnly)
	for start := 0; start < len(users); start += digestBatch {
		batch := users[start:min(start+digestBatch, len(users))]
		err := s.DB.InTx(ctx, func(tx *db.Tx) error {
			for _, id := range batch {
				args := DigestArgs{UserID: id, Day: d}
				opts := args.InsertOpts()
				if err := s.Jobs.Enqueue(ctx, tx, args, &opts); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// The batches before this one are committed; the retry
			// enqueues again, and uniqueness keeps them single.
			return users[:start], fmt.Errorf("enqueue digests: %w", err)
		}
	}
	return users, nil
}

// digestUser is what a digest needs to know about its recipient.
type digestUser struct {
	username, email, fullName string
	active, enabled           bool
	count, high               int
}

func (s *Service) loadDigestUser(ctx context.Context, userID int64) (*digestUser, error) {
	var u digestUser
	err := s.DB.Reader().QueryRow(ctx, `SELECT u.username, u.email, u.full_name, u.is_active, u.notifications_enabled,
		COUNT(a.id), COALESCE(SUM(CASE WHEN a.urgency = ? THEN 1 ELSE 0 END), 0)
		FROM users u LEFT JOIN user_actions a ON a.user_id = u.id AND `+visibleAction+`
		WHERE u.id = ? GROUP BY u.id, u.username, u.email, u.full_name, u.is_active, u.notifications_enabled`,
		string(provider.High), false, s.DB.Now(), userID).
		Scan(&u.username, &u.email, &u.fullName, &u.active, &u.enabled, &u.count, &u.high)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load digest for user %d: %w", userID, err)
	}
	return &u, nil
}

// SendDigest mails one user's digest now, counting their visible actions
// at this moment. daily applies the daily rules (Enabled, the thresholds);
// without it (a staff request) only the recipient's own state matters. No
// mail goes to a user who is gone, inactive, has no email address, has
// opted out or has no visible action; sent says whether one went out.
func (s *Service) SendDigest(ctx context.Context, userID int64, daily bool) (sent bool, err error) {
	defer errs.Wrap(&err, "SendDigest(%d)", userID)
	skip := func(why string) (bool, error) {
		s.Log.Info("user action digest not sent", "user_id", userID, "reason", why, "daily", daily)
		return false, nil
	}
	if daily && !s.Settings.Enabled {
		return skip("user actions disabled")
	}
	u, err := s.loadDigestUser(ctx, userID)
	if err != nil {
		return false, err
	}
	switch {
	case u == nil:
		return skip("no such user")
	case !u.active:
		return skip("user inactive")
	case u.email == "":
		return skip("no email address")
	case !u.enabled:
		return skip("user opted out of notifications")
	case u.count == 0:
		return skip("no pending actions")
	case daily && !(s.Settings.HighUrgencyNotification && u.high > 0) && u.count <= s.Settings.NotificationThreshold:
		return skip("below the notification threshold")
	}
	msg, err := s.renderDigest(u)
	if err != nil {
		return false, err
	}
	if err := s.mailer().Send(ctx, msg); err != nil {
		return false, err
	}
	s.Log.Info("user action digest sent", "user", u.username, "actions", u.count, "high_urgency", u.high, "daily", daily)
	return true, nil
}

// The bodies are Waldur's user_actions/notification_digest_message.{txt,html}:
// the warning only when something is high urgency, the sign-off only in
// the text.
var (
	digestText = texttemplate.Must(texttemplate.New("digest.txt").Parse(`Hello {{.Name}},

You have {{.Count}} pending actions that require your attention.
{{if gt .High 0}}Warning: {{.High}} of these actions are marked as HIGH URGENCY.
{{end}}
Please acknowledge or resolve these actions here:
{{.ActionsURL}}

Sincerely,
The {{.SiteName}} Team
`))
	digestHTML = htmltemplate.Must(htmltemplate.New("digest.html").Parse(`<p>Hello {{.Name}},</p>

<p>You have <strong>{{.Count}}</strong> pending actions that require your attention.</p>
{{if gt .High 0}}<p style="color: red; font-weight: bold;">Warning: {{.High}} of these actions are marked as HIGH URGENCY.</p>
{{end}}
<p>Please acknowledge or resolve these actions here:<br/>
<a href="{{.ActionsURL}}">{{.ActionsURL}}</a></p>
`))
)

func (s *Service) renderDigest(u *digestUser) (Message, error) {
	site := s.Digest.SiteName
	if site == "" {
		site = "heed"
	}
	name := strings.TrimSpace(u.fullName)
	if name == "" {
		name = u.username
	}
	data := struct {
		Name, SiteName, ActionsURL string
		Count, High                int
	}{name, site, s.Digest.ActionsURL, u.count, u.high}
	var text, html bytes.Buffer
	if err := digestText.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render digest text: %w", err)
	}
	if err := digestHTML.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("render digest html: %w", err)
	}
	return Message{
		To:      u.email,
		Subject: fmt.Sprintf("[%s] User Action Digest: %d pending actions", site, u.count),
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// SendNotification schedules userUUID's digest now (staff only), whatever
// the thresholds, as POST /api/users/{uuid}/send_notification/ does. The
// job is enqueued in this call's transaction, so nothing is sent unless it
// commits; it returns the user for the response's message.
func (s *Service) SendNotification(ctx context.Context, viewer *auth.User, userUUID uuid.UUID) (target *auth.User, err error) {
	defer errs.Wrap(&err, "SendNotification(%s)", userUUID)
	if err := requireStaff(viewer); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		u, err := auth.UserByUUID(ctx, tx, userUUID)
		if err != nil {
			return err
		}
		if u.Email == "" {
			return errs.Field("non_field_errors", "User does not have an email address.")
		}
		args := DigestArgs{UserID: u.ID}
		opts := args.InsertOpts()
		if err := s.Jobs.Enqueue(ctx, tx, args, &opts); err != nil {
			return err
		}
		target = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	return target, nil
}
