package useractions_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
	"github.com/heed-dev/heed/internal/mail"
	"github.com/heed-dev/heed/internal/mail/mailtest"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// digestWait bounds every wait for a delivered digest: generous, as the
// suite shares two cores with other packages' tests.
const digestWait = 60 * time.Second

const (
	digestSite = "Heed <Test> & Co"
	digestURL  = "https://heed.example.test/profile/?tab=actions&page=1"
)

// digestEnv is a user-actions service that mails through a real SMTP
// listener in the test process.
type digestEnv struct {
	d    *db.DB
	svc  *useractions.Service
	smtp *mailtest.Server
}

func digestLog() *slog.Logger {
	if os.Getenv("HEED_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newDigestEnv builds the service on d. work starts River with one
// worker (jobs run in insertion order) and every periodic schedule off;
// without it, jobs are only recorded, never run.
func newDigestEnv(t *testing.T, d *db.DB, settings useractions.Settings, work bool) *digestEnv {
	t.Helper()
	// Started first, so it stops after the runner: no job loses its server.
	srv := mailtest.Start(t, mailtest.Options{})
	sender, err := mail.New(srv.URL, "Heed <heed@example.test>")
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	svc := useractions.New(d, nil, settings, digestLog())
	svc.Mail = useractions.MailVia(sender)
	svc.Digest = useractions.DigestConfig{SiteName: digestSite, ActionsURL: digestURL}
	reg := jobs.NewRegistry()
	svc.RegisterJobs(reg)
	off := map[string]string{}
	for _, id := range reg.PeriodicIDs() {
		off[id] = "off"
	}
	runner, err := jobs.New(d, reg, jobs.Config{Work: work, MaxWorkers: 1, Schedules: off, Logger: digestLog()})
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	svc.Jobs = runner
	if work {
		if err := runner.Start(context.Background()); err != nil {
			t.Fatalf("start jobs: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := runner.Stop(ctx); err != nil {
				t.Errorf("stop jobs: %v", err)
			}
		})
	}
	return &digestEnv{d: d, svc: svc, smtp: srv}
}

// digestUserSpec describes a user row; the zero value is an active user
// with notifications on and no email address.
type digestUserSpec struct {
	name, email, fullName string
	staff, inactive, off  bool
}

type digestUser struct {
	id   int64
	uuid uuid.UUID
	name string
}

func (e *digestEnv) user(t *testing.T, s digestUserSpec) digestUser {
	t.Helper()
	ctx := context.Background()
	u := digestUser{uuid: uuid.New(), name: s.name}
	err := e.d.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		return tx.QueryRow(ctx, `INSERT INTO users (uuid, username, email, full_name, is_staff, is_active,
			notifications_enabled, preferred_languages, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?) RETURNING id`,
			u.uuid.String(), s.name, s.email, s.fullName, s.staff, !s.inactive, !s.off, now, now).Scan(&u.id)
	})
	if err != nil {
		t.Fatalf("insert user %s: %v", s.name, err)
	}
	return u
}

func (e *digestEnv) authUser(t *testing.T, u digestUser) *auth.User {
	t.Helper()
	a, err := auth.UserByID(context.Background(), e.d.Reader(), u.id)
	if err != nil {
		t.Fatalf("load user %s: %v", u.name, err)
	}
	return a
}

// silence says how an inserted action is silenced.
type silence int

const (
	visible silence = iota
	silencedForGood
	silencedUntilLater // a temporary silence still running
	silenceOver        // a temporary silence that has ended
)

var nextObject int64

// actions inserts n actions of one urgency for u, as a provider would
// have stored them.
func (e *digestEnv) actions(t *testing.T, u digestUser, n int, urg provider.Urgency, s silence) {
	t.Helper()
	ctx := context.Background()
	err := e.d.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		for range n {
			nextObject++
			var until any
			switch s {
			case silencedUntilLater:
				until = now.Add(72 * time.Hour)
			case silenceOver:
				until = now.Add(-time.Hour)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO user_actions (uuid, user_id, action_type, object_type, object_id, title,
				urgency, urgency_rank, content_hash, is_silenced, silenced_until, created, modified)
				VALUES (?, ?, 'digest_test', 'thing', ?, 'Something to do', ?, ?, 'h', ?, ?, ?, ?)`,
				uuid.NewString(), u.id, nextObject, string(urg), urg.Rank(), s == silencedForGood, until, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert actions for %s: %v", u.name, err)
	}
}

func (e *digestEnv) countJobs(t *testing.T, kind string) int {
	t.Helper()
	var n int
	if err := e.d.Reader().QueryRow(context.Background(), "SELECT COUNT(*) FROM river_job WHERE kind = ?", kind).Scan(&n); err != nil {
		t.Fatalf("count river_job: %v", err)
	}
	return n
}

// collect waits for n messages and returns them by recipient.
func (e *digestEnv) collect(t *testing.T, n int) map[string]mailtest.Received {
	t.Helper()
	out := map[string]mailtest.Received{}
	for range n {
		m := e.smtp.Next(t, digestWait)
		if len(m.To) != 1 {
			t.Fatalf("message to %v, want one recipient", m.To)
		}
		if _, dup := out[m.To[0]]; dup {
			t.Fatalf("two digests to %s", m.To[0])
		}
		out[m.To[0]] = m
	}
	return out
}

func (e *digestEnv) noMoreMail(t *testing.T) {
	t.Helper()
	for _, m := range e.smtp.Pending() {
		t.Errorf("unexpected mail to %v: %q", m.To, m.Subject)
	}
}

// The daily run as River runs it: the periodic job picks the recipients
// and fans out, each recipient's job mails through SMTP.
func TestDigestDailyRun(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		e := newDigestEnv(t, d, useractions.DefaultSettings(), true)
		alice := e.user(t, digestUserSpec{name: "alice", email: "alice@example.test", fullName: "Alice <Admin> & Co"})
		e.actions(t, alice, 1, provider.High, visible)
		e.actions(t, alice, 1, provider.Low, visible)
		e.actions(t, alice, 1, provider.High, silencedForGood)
		// Waldur leaves out anyone with a temporary silence still running;
		// heed counts the visible actions and mails alice anyway.
		e.actions(t, alice, 1, provider.Medium, silencedUntilLater)
		bob := e.user(t, digestUserSpec{name: "bob", email: "bob@example.test"})
		e.actions(t, bob, 6, provider.Low, visible)
		gina := e.user(t, digestUserSpec{name: "gina", email: "gina@example.test", fullName: "Gina"})
		e.actions(t, gina, 1, provider.High, silenceOver)
		carol := e.user(t, digestUserSpec{name: "carol", email: "carol@example.test"})
		e.actions(t, carol, 5, provider.Low, visible) // at the threshold, not over it
		dave := e.user(t, digestUserSpec{name: "dave"})
		e.actions(t, dave, 2, provider.High, visible) // no email address
		erin := e.user(t, digestUserSpec{name: "erin", email: "erin@example.test", off: true})
		e.actions(t, erin, 7, provider.High, visible) // opted out
		frank := e.user(t, digestUserSpec{name: "frank", email: "frank@example.test", inactive: true})
		e.actions(t, frank, 7, provider.High, visible)
		hugo := e.user(t, digestUserSpec{name: "hugo", email: "hugo@example.test"})
		e.actions(t, hugo, 3, provider.High, silencedForGood)
		e.actions(t, hugo, 6, provider.Low, silencedUntilLater)

		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return e.svc.Jobs.Enqueue(ctx, tx, useractions.DigestArgs{}, nil)
		}); err != nil {
			t.Fatalf("enqueue the daily run: %v", err)
		}
		got := e.collect(t, 3)
		want := map[string]struct{ subject, text, html string }{
			"alice@example.test": {
				"[Heed <Test> & Co] User Action Digest: 2 pending actions",
				`Hello Alice <Admin> & Co,

You have 2 pending actions that require your attention.
Warning: 1 of these actions are marked as HIGH URGENCY.

Please acknowledge or resolve these actions here:
https://heed.example.test/profile/?tab=actions&page=1

Sincerely,
The Heed <Test> & Co Team
`,
				`<p>Hello Alice &lt;Admin&gt; &amp; Co,</p>

<p>You have <strong>2</strong> pending actions that require your attention.</p>
<p style="color: red; font-weight: bold;">Warning: 1 of these actions are marked as HIGH URGENCY.</p>

<p>Please acknowledge or resolve these actions here:<br/>
<a href="https://heed.example.test/profile/?tab=actions&amp;page=1">https://heed.example.test/profile/?tab=actions&amp;page=1</a></p>
`,
			},
			"bob@example.test": {
				"[Heed <Test> & Co] User Action Digest: 6 pending actions",
				`Hello bob,

You have 6 pending actions that require your attention.

Please acknowledge or resolve these actions here:
https://heed.example.test/profile/?tab=actions&page=1

Sincerely,
The Heed <Test> & Co Team
`,
				`<p>Hello bob,</p>

<p>You have <strong>6</strong> pending actions that require your attention.</p>

<p>Please acknowledge or resolve these actions here:<br/>
<a href="https://heed.example.test/profile/?tab=actions&amp;page=1">https://heed.example.test/profile/?tab=actions&amp;page=1</a></p>
`,
			},
		}
		if _, ok := got["gina@example.test"]; !ok {
			t.Errorf("no digest for gina, whose silence has ended")
		} else if s := got["gina@example.test"].Subject; s != "[Heed <Test> & Co] User Action Digest: 1 pending actions" {
			t.Errorf("gina's subject %q", s)
		}
		for to, w := range want {
			m, ok := got[to]
			if !ok {
				t.Errorf("no digest for %s; got %v", to, keys(got))
				continue
			}
			if m.From != "heed@example.test" {
				t.Errorf("%s: envelope sender %q", to, m.From)
			}
			if m.Subject != w.subject {
				t.Errorf("%s: subject %q, want %q", to, m.Subject, w.subject)
			}
			if diff := cmp.Diff(w.text, m.Text); diff != "" {
				t.Errorf("%s: text part (-want +got):\n%s", to, diff)
			}
			if diff := cmp.Diff(w.html, m.HTML); diff != "" {
				t.Errorf("%s: html part (-want +got):\n%s", to, diff)
			}
		}
		// The run and one job per recipient: nobody else was ever going
		// to be mailed.
		if n := e.countJobs(t, "user_actions_digest"); n != 4 {
			t.Errorf("%d digest jobs, want the daily run and 3 recipients", n)
		}
		e.noMoreMail(t)
	})
}

// recordingJobs is an Enqueuer that only records.
type recordingJobs struct{ args []river.JobArgs }

func (r *recordingJobs) Enqueue(_ context.Context, _ *db.Tx, args river.JobArgs, _ *river.InsertOpts) error {
	r.args = append(r.args, args)
	return nil
}

func TestDigestRecipients(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		e := newDigestEnv(t, d, useractions.DefaultSettings(), false)
		high := e.user(t, digestUserSpec{name: "high", email: "high@example.test"})
		e.actions(t, high, 1, provider.High, visible)
		five := e.user(t, digestUserSpec{name: "five", email: "five@example.test"})
		e.actions(t, five, 5, provider.Low, visible)
		six := e.user(t, digestUserSpec{name: "six", email: "six@example.test"})
		e.actions(t, six, 6, provider.Medium, visible)
		three := e.user(t, digestUserSpec{name: "three", email: "three@example.test"})
		e.actions(t, three, 3, provider.Medium, visible)
		// Six actions, only two visible: the silenced ones do not count.
		quiet := e.user(t, digestUserSpec{name: "quiet", email: "quiet@example.test"})
		e.actions(t, quiet, 2, provider.Low, visible)
		e.actions(t, quiet, 2, provider.High, silencedForGood)
		e.actions(t, quiet, 2, provider.High, silencedUntilLater)
		noMail := e.user(t, digestUserSpec{name: "nomail"})
		e.actions(t, noMail, 9, provider.High, visible)
		optedOut := e.user(t, digestUserSpec{name: "optedout", email: "optedout@example.test", off: true})
		e.actions(t, optedOut, 9, provider.High, visible)
		gone := e.user(t, digestUserSpec{name: "gone", email: "gone@example.test", inactive: true})
		e.actions(t, gone, 9, provider.High, visible)
		e.user(t, digestUserSpec{name: "idle", email: "idle@example.test"})

		for _, tc := range []struct {
			name      string
			enabled   bool
			high      bool
			threshold int
			want      []digestUser
		}{
			{"defaults", true, true, 5, []digestUser{high, six}},
			{"high urgency off", true, false, 5, []digestUser{six}},
			{"threshold 2", true, true, 2, []digestUser{high, five, six, three}},
			{"high off, threshold 0", true, false, 0, []digestUser{high, five, six, three, quiet}},
			{"threshold 100", true, true, 100, []digestUser{high}},
			{"disabled", false, true, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec := &recordingJobs{}
				e.svc.Jobs = rec
				e.svc.Settings = useractions.Settings{Enabled: tc.enabled, HighUrgencyNotification: tc.high,
					NotificationThreshold: tc.threshold, ExecutionRetentionDays: 90}
				day := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
				got, err := e.svc.EnqueueDigests(context.Background(), day)
				if err != nil {
					t.Fatalf("EnqueueDigests: %v", err)
				}
				var want []int64
				var wantArgs []river.JobArgs
				for _, u := range tc.want {
					want = append(want, u.id)
					wantArgs = append(wantArgs, useractions.DigestArgs{UserID: u.id, Day: "2026-11-23"})
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("recipients (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(wantArgs, rec.args); diff != "" {
					t.Errorf("enqueued (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// A daily run retried after it enqueued (a crash between commit and
// completion) enqueues nothing twice; the next day's run enqueues again.
func TestDigestDailyRunEnqueuesOncePerDay(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		e := newDigestEnv(t, d, useractions.DefaultSettings(), false)
		for _, name := range []string{"u1", "u2", "u3"} {
			u := e.user(t, digestUserSpec{name: name, email: name + "@example.test"})
			e.actions(t, u, 1, provider.High, visible)
		}
		ctx := context.Background()
		day := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		for _, at := range []time.Time{day, day.Add(3 * time.Hour), day.AddDate(0, 0, 1)} {
			if users, err := e.svc.EnqueueDigests(ctx, at); err != nil || len(users) != 3 {
				t.Fatalf("EnqueueDigests(%s) = %v, %v; want 3 users", at, users, err)
			}
		}
		if n := e.countJobs(t, "user_actions_digest"); n != 6 {
			t.Errorf("%d digest jobs after two runs on one day and one the next, want 6", n)
		}
	})
}

// SendDigest's rules for one recipient: the daily ones (Enabled,
// thresholds) only for daily digests; the recipient's own state always.
func TestDigestSendRules(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		e := newDigestEnv(t, d, useractions.DefaultSettings(), false)
		ctx := context.Background()
		few := e.user(t, digestUserSpec{name: "few", email: "few@example.test", fullName: "Few Things"})
		e.actions(t, few, 2, provider.Low, visible)
		urgent := e.user(t, digestUserSpec{name: "urgent", email: "urgent@example.test"})
		e.actions(t, urgent, 1, provider.High, visible)
		noMail := e.user(t, digestUserSpec{name: "nomail"})
		e.actions(t, noMail, 9, provider.High, visible)
		optedOut := e.user(t, digestUserSpec{name: "optedout", email: "optedout@example.test", off: true})
		e.actions(t, optedOut, 9, provider.High, visible)
		gone := e.user(t, digestUserSpec{name: "gone", email: "gone@example.test", inactive: true})
		e.actions(t, gone, 9, provider.High, visible)
		quiet := e.user(t, digestUserSpec{name: "quiet", email: "quiet@example.test"})
		e.actions(t, quiet, 3, provider.High, silencedForGood)
		e.actions(t, quiet, 3, provider.High, silencedUntilLater)

		send := func(u digestUser, daily bool) bool {
			t.Helper()
			sent, err := e.svc.SendDigest(ctx, u.id, daily)
			if err != nil {
				t.Fatalf("SendDigest(%s, daily=%v): %v", u.name, daily, err)
			}
			return sent
		}
		// A mail sent is on the server when Send returns (SMTP answered
		// DATA): no waiting is needed, only the channel read.
		expect := func(u digestUser, daily, want bool, warning bool) {
			t.Helper()
			if got := send(u, daily); got != want {
				t.Errorf("SendDigest(%s, daily=%v) sent=%v, want %v", u.name, daily, got, want)
			}
			if !want {
				e.noMoreMail(t)
				return
			}
			m := e.smtp.Next(t, digestWait)
			if m.To[0] != u.name+"@example.test" {
				t.Errorf("mail to %v, want %s", m.To, u.name)
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				if has := strings.Contains(body, "HIGH URGENCY"); has != warning {
					t.Errorf("%s's %s part has the warning: %v, want %v:\n%s", u.name, part, has, warning, body)
				}
			}
		}

		expect(few, true, false, false) // 2 actions, nothing high: below the daily rules
		expect(few, false, true, false) // a staff request ignores them
		expect(urgent, true, true, true)
		expect(noMail, false, false, false)
		expect(optedOut, false, false, false)
		expect(gone, false, false, false)
		expect(quiet, false, false, false) // nothing visible: nothing to tell
		if sent, err := e.svc.SendDigest(ctx, 987654, false); err != nil || sent {
			t.Errorf("SendDigest(no such user) = %v, %v; want false, nil", sent, err)
		}

		e.svc.Settings.Enabled = false
		expect(urgent, true, false, false) // disabled: no daily digests
		expect(urgent, false, true, true)  // but staff requests still go out

		e.svc.Settings = useractions.DefaultSettings()
		e.svc.Settings.HighUrgencyNotification = false
		expect(urgent, true, false, false) // one action, high no longer counts
		e.svc.Settings.NotificationThreshold = 1
		expect(few, true, true, false) // 2 > 1
	})
}

func TestDigestSendNotification(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		// Disabled and a high threshold: a staff request ignores both.
		settings := useractions.DefaultSettings()
		settings.Enabled, settings.NotificationThreshold = false, 100
		e := newDigestEnv(t, d, settings, true)
		ctx := context.Background()
		staff := e.authUser(t, e.user(t, digestUserSpec{name: "staff", email: "staff@example.test", staff: true}))
		bob := e.user(t, digestUserSpec{name: "bob", email: "bob@example.test", fullName: "Bob Builder"})
		e.actions(t, bob, 1, provider.Low, visible)
		alice := e.authUser(t, e.user(t, digestUserSpec{name: "alice", email: "alice@example.test"}))
		noMail := e.user(t, digestUserSpec{name: "nomail"})
		e.actions(t, noMail, 1, provider.High, visible)

		if _, err := e.svc.SendNotification(ctx, alice, bob.uuid); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("non-staff: %v, want Forbidden", err)
		}
		if _, err := e.svc.SendNotification(ctx, nil, bob.uuid); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("anonymous: %v, want Forbidden", err)
		}
		if _, err := e.svc.SendNotification(ctx, staff, uuid.New()); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown user: %v, want NotFound", err)
		}
		_, err := e.svc.SendNotification(ctx, staff, noMail.uuid)
		if fe, ok := errs.As(err); !ok || fe.Kind != errs.Invalid ||
			!slices.Equal(fe.Fields["non_field_errors"], []string{"User does not have an email address."}) {
			t.Errorf("user without email: %v, want the non_field_errors message", err)
		}

		target, err := e.svc.SendNotification(ctx, staff, bob.uuid)
		if err != nil {
			t.Fatalf("SendNotification: %v", err)
		}
		if target.Username != "bob" {
			t.Errorf("target %q, want bob", target.Username)
		}
		m := e.smtp.Next(t, digestWait)
		if m.To[0] != "bob@example.test" || m.Subject != "[Heed <Test> & Co] User Action Digest: 1 pending actions" {
			t.Errorf("mail to %v subject %q", m.To, m.Subject)
		}
		if !strings.HasPrefix(m.Text, "Hello Bob Builder,\n") || strings.Contains(m.Text, "HIGH URGENCY") {
			t.Errorf("text part:\n%s", m.Text)
		}
		// The refused requests enqueued nothing.
		if n := e.countJobs(t, "user_actions_digest"); n != 1 {
			t.Errorf("%d digest jobs, want 1", n)
		}
		e.noMoreMail(t)
	})
}

// A digest asked for in a change that rolls back is never sent: its job
// never existed. With one worker, jobs run in insertion order, so the
// later request's mail arriving alone shows the earlier one is not coming.
func TestDigestNotSentForRolledBackChange(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		e := newDigestEnv(t, d, useractions.DefaultSettings(), true)
		ctx := context.Background()
		staff := e.authUser(t, e.user(t, digestUserSpec{name: "staff", staff: true}))
		carol := e.user(t, digestUserSpec{name: "carol", email: "carol@example.test"})
		e.actions(t, carol, 9, provider.High, visible)
		bob := e.user(t, digestUserSpec{name: "bob", email: "bob@example.test"})
		e.actions(t, bob, 1, provider.Low, visible)

		boom := errors.New("the change failed")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			args := useractions.DigestArgs{UserID: carol.id}
			opts := args.InsertOpts()
			if err := e.svc.Jobs.Enqueue(ctx, tx, args, &opts); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v, want the change's error", err)
		}
		if _, err := e.svc.SendNotification(ctx, staff, bob.uuid); err != nil {
			t.Fatalf("SendNotification: %v", err)
		}
		if m := e.smtp.Next(t, digestWait); m.To[0] != "bob@example.test" {
			t.Errorf("first mail to %v, want bob (carol's request rolled back)", m.To)
		}
		if n := e.countJobs(t, "user_actions_digest"); n != 1 {
			t.Errorf("%d digest jobs, want bob's only", n)
		}
		e.noMoreMail(t)
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
