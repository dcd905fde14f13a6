package httpx

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the outbound HTTP collectors, labelled by api (and status
// code for requests): closed sets, never URLs or ids.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	breaker     *prometheus.GaugeVec
}

// NewMetrics registers the collectors on reg. Registering twice on the same
// registry returns the already registered collectors, so several clients
// can share them.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_http_requests_total",
			Help: "Outbound HTTP attempts by API and status code (error = transport error).",
		}, []string{"api", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adpacer_http_request_duration_seconds",
			Help:    "Duration of outbound HTTP attempts by API.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_http_retries_total",
			Help: "Outbound HTTP retries by API.",
		}, []string{"api"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_http_rate_limited_total",
			Help: "Responses with status 429 by API.",
		}, []string{"api"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_circuit_state",
			Help: "Circuit breaker state by source: 0 closed, 1 half-open, 2 open.",
		}, []string{"source"}),
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.duration, err = register(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.retries, err = register(reg, m.retries)
	if err != nil {
		return nil, err
	}
	m.rateLimited, err = register(reg, m.rateLimited)
	if err != nil {
		return nil, err
	}
	m.breaker, err = register(reg, m.breaker)
	if err != nil {
		return nil, err
	}
	return m, nil
}

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
