package yandexdirect

import (
	"github.com/adpacer/adpacer/internal/promreg"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	remaining   *prometheus.GaugeVec
	limit       *prometheus.GaugeVec
	spent       *prometheus.HistogramVec
	calls       *prometheus.CounterVec
	errors      *prometheus.CounterVec
	pointsWaits *prometheus.CounterVec
}

// newMetrics registers the connector's collectors; labels are closed sets
// (connector ids from config, API service and method names, error
// classes), never logins or campaign ids. A nil registerer keeps them
// unregistered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_yandex_points_remaining",
			Help: "Yandex Direct points left in the current allowance, from the last Units header.",
		}, []string{"connector"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_yandex_points_daily_limit",
			Help: "Yandex Direct daily points limit, from the last Units header.",
		}, []string{"connector"}),
		spent: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adpacer_yandex_points_spent",
			Help:    "Points charged per Yandex Direct call, by service and method.",
			Buckets: []float64{0, 10, 20, 50, 100, 500, 1000, 5000, 10000, 50000},
		}, []string{"service", "method"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_yandex_requests_total",
			Help: "Yandex Direct API requests sent, by service and method.",
		}, []string{"service", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_yandex_errors_total",
			Help: "Yandex Direct request-level error envelopes by retry class.",
		}, []string{"class"}),
		pointsWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_yandex_points_waits_total",
			Help: "Times a call waited for the next points accrual instead of calling.",
		}, []string{"connector"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.remaining, err = promreg.Register(reg, m.remaining); err != nil {
		return nil, err
	}
	if m.limit, err = promreg.Register(reg, m.limit); err != nil {
		return nil, err
	}
	if m.spent, err = promreg.Register(reg, m.spent); err != nil {
		return nil, err
	}
	if m.calls, err = promreg.Register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.errors, err = promreg.Register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.pointsWaits, err = promreg.Register(reg, m.pointsWaits); err != nil {
		return nil, err
	}
	return m, nil
}
