package vkads

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer/internal/promreg"
)

type metrics struct {
	requests  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	waits     *prometheus.CounterVec
}

// newMetrics registers the connector's collectors. Labels are closed sets:
// endpoint names, error classes, rate windows and connector ids from the
// config; never account names, campaign ids or tokens. A nil registerer
// keeps them unregistered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_vk_requests_total",
			Help: "VK Ads API requests sent, by endpoint (ad_plans, mass_action, statistics, token).",
		}, []string{"endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_vk_errors_total",
			Help: "VK Ads error answers by class (auth, forbidden, invalid, rate_limited, server, malformed, token).",
		}, []string{"class"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_vk_rate_limit_remaining",
			Help: "Requests left in the current VK Ads rate-limit window, from the last X-RateLimit-*-Remaining header.",
		}, []string{"connector", "window"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_vk_rate_limit_waits_total",
			Help: "Times a VK Ads call waited for a rate-limit window to open instead of calling.",
		}, []string{"connector"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = promreg.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.errors, err = promreg.Register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.remaining, err = promreg.Register(reg, m.remaining); err != nil {
		return nil, err
	}
	if m.waits, err = promreg.Register(reg, m.waits); err != nil {
		return nil, err
	}
	return m, nil
}
