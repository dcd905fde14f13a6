package everhour_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/adpacer/adpacer/connectors/everhour"
)

func TestMetricsPerProject(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := everhour.NewMetrics(reg, 0)
	must(t, err)
	m.Observe([]everhour.BudgetStatus{
		{ProjectID: "tr:b1", Name: "Bank ads", UsedSecs: 5400, BudgetSecs: 100 * 3600},
		{ProjectID: "ev:2", Name: "Bank ads", UsedSecs: 1800, BudgetSecs: 10 * 3600},
	})
	want := `
# HELP adpacer_everhour_budget_seconds Paid time of the current budget period, by project, in seconds.
# TYPE adpacer_everhour_budget_seconds gauge
adpacer_everhour_budget_seconds{project="Bank ads"} 360000
adpacer_everhour_budget_seconds{project="Bank ads (ev:2)"} 36000
# HELP adpacer_everhour_used_seconds Time logged in Everhour in the current budget period, by project, in seconds.
# TYPE adpacer_everhour_used_seconds gauge
adpacer_everhour_used_seconds{project="Bank ads"} 5400
adpacer_everhour_used_seconds{project="Bank ads (ev:2)"} 1800
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// Names in base units: promlint refuses "hours" ("use base unit
	// seconds"), which is how these gauges were first shipped.
	problems, err := testutil.GatherAndLint(reg)
	must(t, err)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// A project that lost its budget disappears from the series.
	m.Observe([]everhour.BudgetStatus{{ProjectID: "tr:b1", Name: "Bank ads", UsedSecs: 3600, BudgetSecs: 3600}})
	if n := testutil.CollectAndCount(reg); n != 2 {
		t.Errorf("series = %d, want 2", n)
	}
	if _, err := everhour.NewMetrics(reg, 0); err == nil {
		t.Error("registering twice succeeded")
	}
}
