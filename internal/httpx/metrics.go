package httpx

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer/internal/promreg"
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
	m.requests, err = promreg.Register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.duration, err = promreg.Register(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.retries, err = promreg.Register(reg, m.retries)
	if err != nil {
		return nil, err
	}
	m.rateLimited, err = promreg.Register(reg, m.rateLimited)
	if err != nil {
		return nil, err
	}
	m.breaker, err = promreg.Register(reg, m.breaker)
	if err != nil {
		return nil, err
	}
	return m, nil
}
