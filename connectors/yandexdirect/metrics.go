package yandexdirect

import (
	"errors"

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
	if m.remaining, err = register(reg, m.remaining); err != nil {
		return nil, err
	}
	if m.limit, err = register(reg, m.limit); err != nil {
		return nil, err
	}
	if m.spent, err = register(reg, m.spent); err != nil {
		return nil, err
	}
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.pointsWaits, err = register(reg, m.pointsWaits); err != nil {
		return nil, err
	}
	return m, nil
}

// register returns the already registered collector when several clients
// share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
