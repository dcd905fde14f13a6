package everhour_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/connectors/everhour/everhourtest"
)

func TestDefaultCalendarOfficialCounts(t *testing.T) {
	cal := everhour.DefaultCalendar()
	for _, tc := range []struct {
		from, to string
		want     int
	}{
		{"2025-01-01", "2025-12-31", 247}, // official 2025 total
		{"2026-01-01", "2026-12-31", 247}, // official 2026 total
		{"2025-01-01", "2025-01-31", 17},
		{"2025-05-01", "2025-05-31", 18},
		{"2025-11-01", "2025-11-30", 19}, // Sat 1 Nov is a working day, 3-4 Nov off
		{"2026-01-01", "2026-01-31", 15},
		{"2026-03-01", "2026-03-31", 21}, // Mon 9 Mar off
		{"2026-05-01", "2026-05-31", 19}, // Mon 11 May off
		{"2026-11-01", "2026-11-30", 20},
		{"2026-12-01", "2026-12-31", 22}, // Thu 31 Dec off
		{"2026-12-01", "2026-11-30", 0},
	} {
		if got := cal.Workdays(mustDate(t, tc.from), mustDate(t, tc.to)); got != tc.want {
			t.Errorf("Workdays(%s..%s) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
	if !cal.IsWorkday(mustDate(t, "2025-11-01")) || cal.IsWorkday(mustDate(t, "2025-11-03")) {
		t.Error("2025 November transfer wrong")
	}
	if !cal.Covers(2026) || cal.Covers(2027) {
		t.Error("Covers wrong")
	}
}

func TestCalendarOverride(t *testing.T) {
	cal, err := everhour.ParseCalendar(strings.NewReader("name: agency\nyears: [2027]\nholidays: [2027-01-01, 2026-11-30]\nworkdays: [2026-11-28]\n"))
	must(t, err)
	if cal.IsWorkday(mustDate(t, "2026-11-30")) || !cal.IsWorkday(mustDate(t, "2026-11-28")) || cal.IsWorkday(mustDate(t, "2026-11-04")) {
		t.Error("override not merged with the built-in calendar")
	}
	if !cal.Covers(2027) || !cal.Covers(2025) {
		t.Error("years not merged")
	}
	alone, err := everhour.ParseCalendar(strings.NewReader("base: none\nweekend: [friday, saturday]\n"))
	must(t, err)
	if alone.IsWorkday(mustDate(t, "2026-11-27")) || !alone.IsWorkday(mustDate(t, "2026-11-29")) || !alone.IsWorkday(mustDate(t, "2026-11-04")) {
		t.Error("base none with a Fri-Sat weekend wrong")
	}
	for _, bad := range []string{
		"weekend: [caturday]\n",
		"holidays: [2026-11-01T00:00:00]\n",
		"holidays: [2026-11-28]\nworkdays: [2026-11-28]\n",
		"base: us\n",
		"holidayz: []\n",
	} {
		if _, err := everhour.ParseCalendar(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseCalendar(%q) accepted", bad)
		}
	}
}

func TestHoursFormatting(t *testing.T) {
	for _, tc := range []struct {
		secs     int64
		hmm, dec string
	}{
		{0, "0:00", "0.00"},
		{17, "0:00", "0.00"},
		{18, "0:00", "0.01"}, // 18 s = 0.005 h rounds half up
		{29, "0:00", "0.01"},
		{30, "0:01", "0.01"}, // 30 s rounds the minute up
		{3599, "1:00", "1.00"},
		{5400, "1:30", "1.50"},
		{5429, "1:30", "1.51"},
		{360000 + 59*60 + 31, "101:00", "100.99"}, // 100.9919 h
		{-5430, "-1:31", "-1.51"},
	} {
		if got := everhour.FormatHMM(tc.secs); got != tc.hmm {
			t.Errorf("FormatHMM(%d) = %s, want %s", tc.secs, got, tc.hmm)
		}
		if got := everhour.FormatDecimalHours(tc.secs); got != tc.dec {
			t.Errorf("FormatDecimalHours(%d) = %s, want %s", tc.secs, got, tc.dec)
		}
	}
}

func TestParseHours(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"120", 432000, true}, {"120.5", 433800, true}, {"0.25", 900, true}, {"120:30", 433800, true},
		{"1.0001", 0, false}, {"2700000000000000", 0, false}, {"-3", 0, false}, {"1:5", 0, false}, {"abc", 0, false}, {"", 0, false}, {"1:60", 0, false},
	} {
		got, err := everhour.ParseHours(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseHours(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestEvaluateBudgets(t *testing.T) {
	in := everhour.ReportInput{
		Projects: []adpacer.EverhourProject{
			{ID: "tr:b1", Name: "Bank", Budget: &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 100 * 3600}},
			{ID: "tr:b2", Name: "Money budget", Budget: &adpacer.HoursBudget{Type: "money", Period: "monthly", BudgetCents: 500000}},
			{ID: "ev:3", Name: "Weekly"},
			{ID: "ev:4", Name: "No budget"},
		},
		Tasks: []adpacer.EverhourTask{
			{ID: "tr:c1", ProjectIDs: []string{"tr:b1"}}, {ID: "tr:c2", ProjectIDs: []string{"tr:b2"}},
			{ID: "ev:t3", ProjectIDs: []string{"ev:3"}}, {ID: "ev:t4", ProjectIDs: []string{"ev:4"}},
		},
		Records: []adpacer.TimeRecord{
			{ID: 1, Date: "2026-10-31", Seconds: 99999, TaskID: "tr:c1"}, // previous month
			{ID: 2, Date: "2026-11-02", Seconds: 36000, TaskID: "tr:c1"},
			{ID: 3, Date: "2026-11-03", Seconds: 36000, TaskID: "tr:c1"},
			{ID: 4, Date: "2026-11-05", Seconds: 7200, TaskID: "tr:c2"},
			{ID: 5, Date: "2026-11-08", Seconds: 3600, TaskID: "ev:t3"}, // Sunday before the week
			{ID: 6, Date: "2026-11-09", Seconds: 1800, TaskID: "ev:t3"},
			{ID: 7, Date: "2026-11-09", Seconds: 600},
		},
	}
	cfg := everhour.BudgetConfig{Location: time.UTC, Projects: []everhour.ProjectBudget{
		{ProjectID: "tr:b1", Name: "Bank (paid)", Seconds: 1, Owner: "am"}, // Everhour's time budget wins
		{ProjectID: "tr:b2", Seconds: 10 * 3600},                           // money budget in Everhour: config hours apply
		{ProjectID: "ev:3", Seconds: 5 * 3600, Period: "weekly"},
	}}
	// Tue 10 Nov 2026, 09:00 UTC. November has 20 working days (4 Nov off);
	// elapsed 2,3,5,6,9,10 = 6; left 14.
	sts, err := everhour.EvaluateBudgets(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), in, cfg)
	must(t, err)
	if len(sts) != 3 {
		t.Fatalf("statuses = %+v, want 3 budgeted projects", sts)
	}
	bank, money, weekly := sts[2], sts[1], sts[0] // sorted by id: ev:3, tr:b1?.. check below
	for _, st := range sts {
		switch st.ProjectID {
		case "tr:b1":
			bank = st
		case "tr:b2":
			money = st
		case "ev:3":
			weekly = st
		}
	}
	if bank.Source != "everhour" || bank.Name != "Bank (paid)" || bank.Owner != "am" || bank.UsedSecs != 72000 ||
		bank.WorkdaysElapsed != 6 || bank.WorkdaysLeft != 14 || bank.ProjectedSecs != 72000+72000*14/6 || bank.RemainingSecs != 360000-72000 {
		t.Errorf("bank = %+v", bank)
	}
	if money.Source != "config" || money.Period != "monthly" || money.BudgetSecs != 36000 || money.UsedSecs != 7200 {
		t.Errorf("money-budget project = %+v", money)
	}
	if weekly.PeriodStart != "2026-11-09" || weekly.PeriodEnd != "2026-11-15" || weekly.UsedSecs != 1800 || weekly.WorkdaysElapsed != 2 || weekly.WorkdaysLeft != 3 {
		t.Errorf("weekly = %+v", weekly)
	}
	if _, err := everhour.EvaluateBudgets(time.Now(), in, everhour.BudgetConfig{Projects: []everhour.ProjectBudget{{ProjectID: "nope", Period: "yearly"}}}); err == nil ||
		!strings.Contains(err.Error(), "project_id") || !strings.Contains(err.Error(), "period") {
		t.Errorf("bad config err = %v", err)
	}
}

// Burn test on the injectable clock: a project logging more than its pace
// is alerted (projected overrun, critical) before it reaches 100%, and the
// alert is absent from the firing set once the budget is raised.
func TestBurnAlertBeforeOverrunAndResolveOnRaise(t *testing.T) {
	e := newEnv(t, time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), everhour.Config{}, everhourtest.Options{})
	anna := e.fake.AddUser("Anna", "anna@example.com")
	must(t, e.fake.AddProject(everhourtest.Project{ID: "tr:board1", Name: "Bank ads", Budget: &everhourtest.Budget{Type: "time", Budget: 100 * 3600, Period: "monthly"}}))
	cal := everhour.DefaultCalendar()
	bcfg := everhour.BudgetConfig{Location: time.UTC, Calendar: cal}
	acfg := everhour.AlertConfig{}
	key := "everhour:budget:tr:board1:2026-11-01"

	var firstAlert *adpacer.Alert
	var usedAtAlert int64
	for day := 1; day <= 30; day++ {
		now := time.Date(2026, 11, day, 18, 0, 0, 0, time.UTC)
		e.clock.Set(now)
		date := now.Format(time.DateOnly)
		if cal.IsWorkday(now) { // 6 h per working day: 120 h over 20 days
			_, err := e.fake.LogTimeOnCard(anna, "card1", "tr:board1", date, 6*3600, "work")
			must(t, err)
		}
		b, err := e.client.PullTime(context.Background(), "2026-11-01", date)
		must(t, err)
		in := everhour.ReportInput{Records: b.Records, Tasks: b.Tasks, Users: b.Users, Projects: b.Projects}
		alerts, sts, err := everhour.Alerts(now, in, bcfg, acfg)
		must(t, err)
		for _, a := range alerts {
			if a.Key == key && firstAlert == nil {
				a := a
				firstAlert, usedAtAlert = &a, sts[0].UsedSecs
				t.Logf("first alert on %s at %d%% used: %s", date, everhour.Percent(usedAtAlert, 100*3600), a.Title)
			}
		}
	}
	if firstAlert == nil {
		t.Fatal("no budget alert in a month that overruns by 20%")
	}
	if usedAtAlert >= 100*3600 || firstAlert.Severity != adpacer.SeverityCritical || !strings.Contains(firstAlert.Title, "will overrun") {
		t.Errorf("first alert at %d s used (budget 360000): %+v", usedAtAlert, firstAlert)
	}
	if firstAlert.Fingerprint == "" || firstAlert.Kind != everhour.KindBudget {
		t.Errorf("alert lacks fingerprint/kind: %+v", firstAlert)
	}

	// Raise the budget in Everhour: the alert must leave the firing set.
	e.clock.Set(time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC))
	must(t, e.fake.SetBudget("tr:board1", &everhourtest.Budget{Type: "time", Budget: 200 * 3600, Period: "monthly"}))
	b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
	must(t, err)
	alerts, _, err := everhour.Alerts(e.clock.Now(), everhour.ReportInput{Records: b.Records, Tasks: b.Tasks, Projects: b.Projects}, bcfg, acfg)
	must(t, err)
	for _, a := range alerts {
		if a.Key == key {
			t.Errorf("alert still firing after the budget was raised: %+v", a)
		}
	}
}

func TestBudgetAlertSeverities(t *testing.T) {
	base := everhour.BudgetStatus{ProjectID: "tr:b", Name: "B", Source: "config", Period: "monthly", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30",
		Today: "2026-11-10", BudgetSecs: 100 * 3600, WorkdaysElapsed: 6, WorkdaysLeft: 14}
	for _, tc := range []struct {
		name            string
		used, projected int64
		elapsed         int
		want            adpacer.Severity
	}{
		{"quiet", 20 * 3600, 60 * 3600, 6, ""},
		{"projected overrun", 40 * 3600, 101 * 3600, 6, adpacer.SeverityCritical},
		{"projection too early", 10 * 3600, 200 * 3600, 1, ""},
		{"exactly on budget projection", 30 * 3600, 100 * 3600, 6, ""},
		{"80% used", 80 * 3600, 90 * 3600, 6, adpacer.SeverityWarning},
		{"100% used", 100 * 3600, 100 * 3600, 6, adpacer.SeverityCritical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := base
			st.UsedSecs, st.ProjectedSecs, st.WorkdaysElapsed = tc.used, tc.projected, tc.elapsed
			st.RemainingSecs = st.BudgetSecs - st.UsedSecs
			as := everhour.BudgetAlerts([]everhour.BudgetStatus{st}, everhour.AlertConfig{})
			var got adpacer.Severity
			if len(as) == 1 {
				got = as[0].Severity
			}
			if got != tc.want || len(as) > 1 {
				t.Errorf("alerts = %+v, want severity %q", as, tc.want)
			}
		})
	}
	// Fingerprint: stable for small changes, different across a 10% band.
	st := base
	st.UsedSecs, st.ProjectedSecs = 81*3600, 90*3600
	a1 := everhour.BudgetAlerts([]everhour.BudgetStatus{st}, everhour.AlertConfig{})[0]
	st.UsedSecs = 81*3600 + 600
	a2 := everhour.BudgetAlerts([]everhour.BudgetStatus{st}, everhour.AlertConfig{})[0]
	st.UsedSecs = 91 * 3600
	a3 := everhour.BudgetAlerts([]everhour.BudgetStatus{st}, everhour.AlertConfig{})[0]
	if a1.Fingerprint != a2.Fingerprint || a1.Fingerprint == a3.Fingerprint || a1.Key != a3.Key {
		t.Errorf("fingerprints %s %s %s keys %s %s", a1.Fingerprint, a2.Fingerprint, a3.Fingerprint, a1.Key, a3.Key)
	}
}

func TestHygieneAlerts(t *testing.T) {
	in := everhour.ReportInput{
		Users: []adpacer.EverhourUser{{ID: 1, Name: "Anna"}},
		Tasks: []adpacer.EverhourTask{
			{ID: "tr:open"}, {ID: "tr:archived"}, {ID: "tr:done"}, {ID: "tr:indone"}, {ID: "ev:closed", Name: "Old task", Status: "closed"},
		},
		Cards: []adpacer.Card{
			{ID: "open", Name: "Open card", ListID: "l1"}, {ID: "archived", Name: "Archived", Closed: true},
			{ID: "done", Name: "Ticked", DueComplete: true, ListID: "l1"}, {ID: "indone", Name: "In Done", ListID: "l2"},
		},
		Lists: []adpacer.List{{ID: "l1", Name: "Doing"}, {ID: "l2", Name: "Done"}},
		Records: []adpacer.TimeRecord{
			{ID: 1, UserID: 1, Date: "2026-11-02", Seconds: 600},
			{ID: 2, UserID: 1, Date: "2026-11-02", Seconds: 600, TaskID: "tr:open"},
			{ID: 3, UserID: 1, Date: "2026-11-03", Seconds: 600, TaskID: "tr:archived"},
			{ID: 4, UserID: 1, Date: "2026-11-03", Seconds: 600, TaskID: "tr:done"},
			{ID: 5, UserID: 1, Date: "2026-11-03", Seconds: 600, TaskID: "tr:indone"},
			{ID: 6, UserID: 1, Date: "2026-11-04", Seconds: 600, TaskID: "ev:closed"},
			{ID: 7, UserID: 1, Date: "2026-10-30", Seconds: 600}, // outside the period
		},
	}
	count := func(as []adpacer.Alert, kind string) (n int, detail string) {
		for _, a := range as {
			if a.Kind == kind {
				return strings.Count(a.Detail, "(record "), a.Detail
			}
		}
		return 0, ""
	}
	def := everhour.HygieneAlerts(in, "2026-11-01", "2026-11-30", everhour.AlertConfig{})
	if n, d := count(def, everhour.KindNoTask); n != 1 {
		t.Errorf("no-task records = %d, want 1:\n%s", n, d)
	}
	if n, d := count(def, everhour.KindClosedCard); n != 2 || !strings.Contains(d, "archived card") || !strings.Contains(d, "closed task") {
		t.Errorf("default closed = %d, want archived + closed task:\n%s", n, d)
	}
	strict := everhour.HygieneAlerts(in, "2026-11-01", "2026-11-30", everhour.AlertConfig{ClosedIncludesDueComplete: true, DoneListNames: []string{" done "}})
	if n, d := count(strict, everhour.KindClosedCard); n != 4 {
		t.Errorf("strict closed = %d, want 4:\n%s", n, d)
	}
	again := everhour.HygieneAlerts(in, "2026-11-01", "2026-11-30", everhour.AlertConfig{})
	if def[0].Fingerprint != again[0].Fingerprint || def[0].Key != "everhour:no-task:2026-11-01" {
		t.Errorf("unstable key/fingerprint: %+v vs %+v", def[0], again[0])
	}
}
