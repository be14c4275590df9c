package useractions

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are detection's counters in /metrics, per provider.
type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	changes  *prometheus.CounterVec
}

// RegisterMetrics adds detection runs, durations and created, updated and
// deleted counts per provider to reg.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_user_actions_detection_runs_total", Help: "Detection runs by provider and outcome (ok, error).",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "heed_user_actions_detection_duration_seconds", Help: "Duration of full detection runs by provider.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"provider"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_user_actions_detected_total", Help: "Actions created, updated and deleted by full detection runs.",
		}, []string{"provider", "change"}),
	}
	reg.MustRegister(m.runs, m.duration, m.changes)
	s.metrics = m
}

func (m *metrics) observe(r Report) {
	if m == nil {
		return
	}
	outcome := "ok"
	if r.Err != nil {
		outcome = "error"
	}
	m.runs.WithLabelValues(r.ActionType, outcome).Inc()
	m.duration.WithLabelValues(r.ActionType).Observe(r.Duration.Seconds())
	m.changes.WithLabelValues(r.ActionType, "created").Add(float64(r.Created))
	m.changes.WithLabelValues(r.ActionType, "updated").Add(float64(r.Updated))
	m.changes.WithLabelValues(r.ActionType, "deleted").Add(float64(r.Deleted))
}
