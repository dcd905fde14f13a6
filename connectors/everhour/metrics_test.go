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
# HELP adpacer_everhour_hours_budget Paid hours of the current budget period, by project.
# TYPE adpacer_everhour_hours_budget gauge
adpacer_everhour_hours_budget{project="Bank ads"} 100
adpacer_everhour_hours_budget{project="Bank ads (ev:2)"} 10
# HELP adpacer_everhour_hours_used Hours logged in Everhour in the current budget period, by project.
# TYPE adpacer_everhour_hours_used gauge
adpacer_everhour_hours_used{project="Bank ads"} 1.5
adpacer_everhour_hours_used{project="Bank ads (ev:2)"} 0.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
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
