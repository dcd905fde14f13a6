package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/store"
)

// hoursSource is one Everhour instance's paid-hours budget configuration.
type hoursSource struct {
	id      string
	budgets everhour.BudgetConfig
	alerts  everhour.AlertConfig
	metrics *everhour.Metrics
}

// ReportInput loads everything the hours report and the burn alerts read.
func ReportInput(ctx context.Context, st store.Store, from, to string) (everhour.ReportInput, error) {
	var in everhour.ReportInput
	var err error
	if in.Records, err = st.TimeRecords(ctx, from, to); err != nil {
		return in, err
	}
	if in.Tasks, err = st.EverhourTasks(ctx); err != nil {
		return in, err
	}
	if in.Users, err = st.EverhourUsers(ctx); err != nil {
		return in, err
	}
	if in.Projects, err = st.EverhourProjects(ctx); err != nil {
		return in, err
	}
	if in.Cards, err = st.Cards(ctx, ""); err != nil {
		return in, err
	}
	if in.Lists, err = st.Lists(ctx, ""); err != nil {
		return in, err
	}
	if in.Labels, err = st.Labels(ctx, ""); err != nil {
		return in, err
	}
	return in, nil
}

func hoursAlerts(ctx context.Context, st store.Store, now time.Time, srcs []hoursSource) ([]adpacer.Alert, error) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	t := now.In(msk)
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -7).Format(time.DateOnly)
	projects, err := st.EverhourProjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("hours alerts: %w", err)
	}
	if g := generalStart(projects, srcs); g != "" && g < from {
		from = g
	}
	in, err := ReportInput(ctx, st, from, t.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("hours alerts: %w", err)
	}
	var out []adpacer.Alert
	for _, s := range srcs {
		alerts, statuses, err := everhour.Alerts(now, in, s.budgets, s.alerts)
		if err != nil {
			return out, fmt.Errorf("hours alerts %s: %w", s.id, err)
		}
		s.metrics.Observe(statuses)
		out = append(out, alerts...)
	}
	return out, nil
}

// earliestDate is the lower bound of a general budget without appliedFrom:
// such a budget counts every record the store holds.
const earliestDate = "0001-01-01"

// generalStart is the earliest date a general (not recurring) budget counts
// from, or "" when no project may be held to one. A general budget has no
// period reset: its used hours are every record since the Everhour budget's
// appliedFrom (all records when unset), so the alerts must load them, not
// only the current month's. It errs on the wide side (any general budget in
// Everhour or in the config, whichever rule EvaluateBudgets picks): loading
// more records only costs a read, since the evaluation counts each record
// against its budget's own period.
func generalStart(projects []adpacer.EverhourProject, srcs []hoursSource) string {
	start := ""
	widen := func(d string) {
		if d == "" {
			d = earliestDate
		}
		if start == "" || d < start {
			start = d
		}
	}
	for _, p := range projects {
		if p.Budget != nil && p.Budget.Period == everhour.PeriodGeneral {
			widen(p.Budget.AppliedFrom)
		}
	}
	for _, s := range srcs {
		for _, c := range s.budgets.Projects {
			if c.Period == everhour.PeriodGeneral {
				widen("")
			}
		}
	}
	return start
}
