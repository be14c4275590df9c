package main

import (
	"flag"
	"time"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/events"
)

// webhookFlags are serve's event-delivery settings.
type webhookFlags struct {
	allowPrivate  bool
	schedule      string
	penalty       time.Duration
	disableAfter  time.Duration
	retentionDays int
	workers       int
}

func (f *webhookFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.allowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses (refused by default, after DNS resolution)")
	fs.StringVar(&f.schedule, "webhook-retry-schedule", "5s,5m,30m,2h,5h,10h,10h", "waits before each retry of a failed delivery, each ±20 % (Svix's schedule)")
	fs.DurationVar(&f.penalty, "webhook-overload-penalty", time.Minute, "least wait after a delivery timed out or got 429")
	fs.DurationVar(&f.disableAfter, "webhook-disable-after", 120*time.Hour, "disable a webhook that has failed without a success for this long")
	fs.IntVar(&f.retentionDays, "event-log-retention-days", 30, "delete webhook event log rows (and system event log entries) older than this many days (0: keep forever)")
	fs.IntVar(&f.workers, "webhook-workers", 100, "concurrent webhook deliveries per process")
}

func (f *webhookFlags) apply(cfg *app.Config) error {
	sched, err := events.ParseSchedule(f.schedule)
	if err != nil {
		return usageError{"--webhook-retry-schedule: " + err.Error()}
	}
	if f.retentionDays < 0 {
		return usageError{"--event-log-retention-days must be 0 or more"}
	}
	if f.workers < 1 {
		return usageError{"--webhook-workers must be at least 1"}
	}
	cfg.Webhooks = events.Config{
		AllowPrivate: f.allowPrivate, RetrySchedule: sched, OverloadPenalty: f.penalty, DisableAfter: f.disableAfter,
		LogRetentionDays: f.retentionDays, MaxWorkers: f.workers,
	}
	return nil
}
