package cycle

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the cycle. Labels come from closed sets: results, action kinds
// and outcomes, line statuses, source ids and directorates from the config.
type metrics struct {
	cycles        *prometheus.CounterVec
	actions       *prometheus.CounterVec
	lastSuccess   prometheus.Gauge
	linesByStatus *prometheus.GaugeVec
	held          *prometheus.GaugeVec
	pending       prometheus.Gauge
	oldestPending prometheus.Gauge
	sourcePulls   *prometheus.CounterVec
	sourceSuccess *prometheus.GaugeVec
	sourceAge     *prometheus.GaugeVec
	directorate   *prometheus.GaugeVec
	alertsFiring  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_pacing_cycles_total", Help: "Pacing cycles by result (success, error, held).",
		}, []string{"result"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_actions_total", Help: "Actions by kind and outcome (planned, applied, noop, failed, held_stale, held_approval, dry_run, rejected).",
		}, []string{"kind", "outcome"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adpacer_pacing_last_success_timestamp_seconds", Help: "Unix time of the last successful pacing cycle.",
		}),
		linesByStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_pacing_lines", Help: "Budget lines by pacing status in the last cycle.",
		}, []string{"status"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_pacing_held", Help: "Campaigns held (no write) in the last cycle, by reason.",
		}, []string{"reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adpacer_ledger_pending_actions", Help: "Ledger actions planned or claimed but not finished.",
		}),
		oldestPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adpacer_ledger_oldest_pending_timestamp_seconds", Help: "Planning time of the oldest planned or claimed action as a Unix timestamp, 0 when none.",
		}),
		sourcePulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_source_pulls_total", Help: "Connector pulls by source and result.",
		}, []string{"source", "result"}),
		sourceSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_source_last_success_timestamp_seconds", Help: "Unix time of the last successful pull per source.",
		}, []string{"source"}),
		sourceAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_source_data_age_seconds", Help: "Age of the newest data per source at the last pacing cycle.",
		}, []string{"source"}),
		directorate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_directorate_spend_ratio", Help: "Spend to date divided by planned spend to date, per directorate (1 = on plan).",
		}, []string{"directorate"}),
		alertsFiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_alerts_firing", Help: "Alerts firing in the last alert cycle by severity.",
		}, []string{"severity"}),
	}
	for _, c := range []prometheus.Collector{m.cycles, m.actions, m.lastSuccess, m.linesByStatus, m.held, m.pending, m.oldestPending,
		m.sourcePulls, m.sourceSuccess, m.sourceAge, m.directorate, m.alertsFiring} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("cycle metrics: %w", err)
		}
	}
	return m, nil
}
