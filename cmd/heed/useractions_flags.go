package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/useractions"
)

// actionFlags are serve's user-actions and mail settings (Waldur's
// USER_ACTIONS_* settings, and where digests go).
type actionFlags struct {
	enabled, highUrgency    bool
	pendingHours, threshold int
	retentionDays           int
	reminders               string
	smtpURL, mailFrom       string
	siteName, actionsURL    string
}

func (f *actionFlags) register(fs *flag.FlagSet) {
	d := useractions.DefaultSettings()
	fs.BoolVar(&f.enabled, "user-actions-enabled", d.Enabled, "detect user actions and send digests (stored actions stay either way)")
	fs.IntVar(&f.pendingHours, "pending-order-hours", 24, "hours an order waits for approval before it becomes a user action")
	fs.StringVar(&f.reminders, "expiration-reminders", "30,14,7,1", "default reminder days before a prepaid resource's end date (offerings override with plugin_options.resource_expiration_reminders)")
	fs.BoolVar(&f.highUrgency, "digest-high-urgency", d.HighUrgencyNotification, "send the daily digest to anyone with a high-urgency action")
	fs.IntVar(&f.threshold, "digest-threshold", d.NotificationThreshold, "send the daily digest to anyone with more actions than this")
	fs.IntVar(&f.retentionDays, "execution-retention-days", d.ExecutionRetentionDays, "keep corrective-action executions this many days (0: forever)")
	fs.StringVar(&f.smtpURL, "smtp-url", "", "SMTP server for digests, smtp://user:pass@host:port (STARTTLS when offered) or smtps://...; empty: mail goes to the log")
	fs.StringVar(&f.mailFrom, "mail-from", "heed@localhost", "From address of digests")
	fs.StringVar(&f.siteName, "site-name", "heed", "site name in digest subjects and sign-offs")
	fs.StringVar(&f.actionsURL, "actions-url", "http://127.0.0.1:8080/api/user-actions/", "where digests send users to see their actions")
}

func (f *actionFlags) apply(cfg *app.Config) error {
	var reminders []int
	for _, p := range strings.Split(f.reminders, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 3650 {
			return usageError{fmt.Sprintf("--expiration-reminders: %q is not a number of days (0-3650)", p)}
		}
		reminders = append(reminders, n)
	}
	if f.pendingHours < 1 || f.pendingHours > 24*365 {
		return usageError{"--pending-order-hours must be between 1 and 8760"}
	}
	cfg.UserActions = &useractions.Settings{Enabled: f.enabled, HighUrgencyNotification: f.highUrgency,
		NotificationThreshold: f.threshold, ExecutionRetentionDays: f.retentionDays}
	cfg.PendingOrderHours, cfg.ExpirationReminders = f.pendingHours, reminders
	cfg.SMTPURL, cfg.MailFrom = f.smtpURL, f.mailFrom
	cfg.Digest = useractions.DigestConfig{SiteName: f.siteName, ActionsURL: f.actionsURL}
	return nil
}
