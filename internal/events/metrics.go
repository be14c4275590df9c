package events

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the delivery figures on /metrics; nil records nothing.
type metrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	disables   *prometheus.CounterVec
}

// RegisterMetrics puts the delivery metrics on reg:
// heed_webhook_attempts_total{webhook,outcome}, outcome success, failure
// (a non-2xx answer) or error (no answer: refused, timed out, unreachable);
// heed_webhook_attempt_duration_seconds{webhook}; heed_webhook_disabled_total{webhook};
// heed_webhook_queue_depth, deliveries waiting or running.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_webhook_attempts_total",
			Help: "Webhook delivery attempts by webhook id and outcome (success, failure: a non-2xx answer, error: no answer).",
		}, []string{"webhook", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "heed_webhook_attempt_duration_seconds",
			Help:    "Duration of one webhook delivery attempt, by webhook id.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25},
		}, []string{"webhook"}),
		disables: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_webhook_disabled_total",
			Help: "Webhooks heed disabled (410 Gone, or failing for the configured period), by webhook id.",
		}, []string{"webhook"}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "heed_webhook_queue_depth",
		Help: "Webhook deliveries waiting (available, scheduled, retryable) or running.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int64
		err := s.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE queue = ? AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`, deliveryQueue).Scan(&n)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.deliveries, m.latency, m.disables, depth)
	s.m = m
}

func (m *metrics) observe(webhook uuid.UUID, r attemptResult) {
	if m == nil {
		return
	}
	id := webhook.String()
	outcome := "success"
	switch {
	case r.Err != nil:
		outcome = "error"
	case !r.ok():
		outcome = "failure"
	}
	m.deliveries.WithLabelValues(id, outcome).Inc()
	m.latency.WithLabelValues(id).Observe(r.End.Sub(r.Start).Seconds())
}

func (m *metrics) disabled(webhook uuid.UUID) {
	if m == nil {
		return
	}
	m.disables.WithLabelValues(webhook.String()).Inc()
}
