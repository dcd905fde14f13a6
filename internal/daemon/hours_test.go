package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
)

// TestHoursAlertsCountGeneralBudgetsFromTheirStart: a general budget has no
// monthly reset, so its used hours are every record since appliedFrom (an
// Everhour budget) or since the beginning (a config budget), not only this
// month's. The budget's appliedFrom must survive the store, and a record
// before it must not count.
func TestHoursAlertsCountGeneralBudgetsFromTheirStart(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) // 12:00 MSK
	st := migratedStore(t, now)
	const h = 3600
	batch := adpacer.TimeBatch{
		Users: []adpacer.EverhourUser{{ID: 1, Name: "Anna", Email: "anna@example.com"}},
		Projects: []adpacer.EverhourProject{
			// Everhour's general budget, applied from two months ago.
			{ID: "tr:a", Name: "Bank A", Budget: &adpacer.HoursBudget{Type: "time", Period: "general", BudgetSecs: 100 * h, AppliedFrom: "2026-09-15", Threshold: 80}},
			{ID: "tr:b", Name: "Bank B"},
		},
		Tasks: []adpacer.EverhourTask{
			{ID: "tr:ta", ProjectIDs: []string{"tr:a"}, Name: "A", Status: "open"},
			{ID: "tr:tb", ProjectIDs: []string{"tr:b"}, Name: "B", Status: "open"},
		},
		Records: []adpacer.TimeRecord{
			{ID: 1, UserID: 1, Date: "2026-09-01", Seconds: 50 * h, TaskID: "tr:ta"}, // before appliedFrom: not counted
			{ID: 2, UserID: 1, Date: "2026-09-20", Seconds: 30 * h, TaskID: "tr:ta"},
			{ID: 3, UserID: 1, Date: "2026-10-10", Seconds: 30 * h, TaskID: "tr:ta"},
			{ID: 4, UserID: 1, Date: "2026-11-10", Seconds: 30 * h, TaskID: "tr:ta"},
			{ID: 5, UserID: 1, Date: "2026-08-03", Seconds: 4 * h, TaskID: "tr:tb"},
			{ID: 6, UserID: 1, Date: "2026-11-12", Seconds: 4 * h, TaskID: "tr:tb"},
		},
	}
	if err := st.SaveTimeBatch(ctx, "eh", batch, adpacer.Cursor{Value: "2026-11-20", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ps, err := st.EverhourProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Budget == nil || ps[0].Budget.AppliedFrom != "2026-09-15" || ps[0].Budget.Threshold != 80 {
		t.Fatalf("stored projects %+v: the budget's appliedFrom and threshold were lost", ps)
	}
	m, err := everhour.NewMetrics(prometheus.NewRegistry(), 50)
	if err != nil {
		t.Fatal(err)
	}
	src := hoursSource{id: "eh", metrics: m, budgets: everhour.BudgetConfig{
		Projects: []everhour.ProjectBudget{{ProjectID: "tr:b", Seconds: 10 * h, Period: everhour.PeriodGeneral}},
	}}
	alerts, err := hoursAlerts(ctx, st, now, []hoursSource{src})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Bank A": "Used: " + everhour.FormatHMM(90*h) + " of " + everhour.FormatHMM(100*h), // Sep 20 + Oct + Nov
		"Bank B": "Used: " + everhour.FormatHMM(8*h) + " of " + everhour.FormatHMM(10*h),   // Aug + Nov
	}
	for _, a := range alerts {
		for name, used := range want {
			if strings.Contains(a.Title, name) && strings.Contains(a.Detail, used) && a.Severity == adpacer.SeverityWarning {
				delete(want, name)
			}
		}
	}
	if len(want) > 0 {
		var got []string
		for _, a := range alerts {
			got = append(got, a.Title+" | "+a.Detail)
		}
		t.Fatalf("missing warnings %v; alerts:\n%s", want, strings.Join(got, "\n"))
	}
}
