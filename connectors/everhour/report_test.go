package everhour_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// reportFixture generates a month of work deterministically: 300 Trello
// cards on 5 lists with labels, 12 people, 5,000 November records on the
// cards (some without a task) plus records in October and December that
// the report must leave out. It returns the expected November total in
// seconds, summed as the records are generated.
func reportFixture() (everhour.ReportInput, int64) {
	var in everhour.ReportInput
	lists := []string{"Backlog", "This week", "Doing", "Review", "Done"}
	for i, n := range lists {
		in.Lists = append(in.Lists, adpacer.List{ID: fmt.Sprintf("list%d", i), BoardID: "board1", Name: n})
	}
	labels := []string{"urgent", "moderation", "yandex", "google", "vk", "creative"}
	for i, n := range labels {
		in.Labels = append(in.Labels, adpacer.Label{ID: fmt.Sprintf("lab%d", i), BoardID: "board1", Name: n})
	}
	for u := range 12 {
		in.Users = append(in.Users, adpacer.EverhourUser{ID: int64(100 + u), Name: fmt.Sprintf("Specialist %02d", u), Email: fmt.Sprintf("s%02d@agency.example", u)})
	}
	in.Projects = []adpacer.EverhourProject{{ID: "tr:board1", Name: "Bank ads", Budget: &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 12000 * 3600}}}
	for c := range 300 {
		id := fmt.Sprintf("card%03d", c)
		card := adpacer.Card{ID: id, BoardID: "board1", ListID: fmt.Sprintf("list%d", c%5), Name: fmt.Sprintf("Task %03d: banners, region %d", c, c%11)}
		if c%3 == 0 {
			card.LabelIDs = append(card.LabelIDs, fmt.Sprintf("lab%d", c%6))
		}
		if c%7 == 0 {
			card.LabelIDs = append(card.LabelIDs, "lab1")
		}
		in.Cards = append(in.Cards, card)
		in.Tasks = append(in.Tasks, adpacer.EverhourTask{ID: "tr:" + id, Name: card.Name, ProjectIDs: []string{"tr:board1"}, TrelloCard: id, Status: "open"})
	}
	var want int64
	x := uint64(20261101)
	next := func() uint64 { // xorshift: deterministic and independent of the code under test
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	id := int64(1)
	for i := range 5000 {
		secs := int64(next()%(4*3600)) + 1 // 1 s .. 4 h, odd seconds included
		r := adpacer.TimeRecord{ID: id, UserID: int64(100 + next()%12), Date: fmt.Sprintf("2026-11-%02d", 1+next()%30), Seconds: secs}
		if i%97 != 0 {
			r.TaskID = fmt.Sprintf("tr:card%03d", next()%300)
		}
		id++
		want += secs
		in.Records = append(in.Records, r)
	}
	for _, d := range []string{"2026-10-31", "2026-12-01"} {
		in.Records = append(in.Records, adpacer.TimeRecord{ID: id, UserID: 100, Date: d, Seconds: 99999, TaskID: "tr:card000"})
		id++
	}
	return in, want
}

// expectHours formats seconds independently of the code under test, with
// exact rationals rounding halves away from zero.
func expectHours(secs int64) (hmm, dec string) {
	mins, _ := strconv.ParseInt(new(big.Rat).SetFrac64(secs, 60).FloatString(0), 10, 64)
	return fmt.Sprintf("%d:%02d", mins/60, mins%60), new(big.Rat).SetFrac64(secs, 3600).FloatString(2)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change)\n%s", name, firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(al), len(bl))
}

func render(t *testing.T, in everhour.ReportInput, opts everhour.ReportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	must(t, everhour.RenderHoursReport(&buf, in, opts))
	return buf.Bytes()
}

// The report of a month with 5,000 records across 300 cards matches the
// independently summed total to the second in all three formats.
func TestHoursReport5000Records(t *testing.T) {
	in, want := reportFixture()
	wantHMM, wantDec := expectHours(want)
	t.Logf("expected total: %d s = %s = %s h", want, wantHMM, wantDec)

	t.Run("json", func(t *testing.T) {
		out := render(t, in, everhour.ReportOptions{Period: "2026-11", Format: "json"})
		golden(t, "report_card.json.golden", out)
		var rep everhour.HoursReport
		must(t, json.Unmarshal(out, &rep))
		if rep.Total.Seconds != want || rep.Total.Hours != wantHMM || rep.Total.Decimal != wantDec {
			t.Errorf("total = %+v, want %d %s %s", rep.Total, want, wantHMM, wantDec)
		}
		var sum int64
		for _, r := range rep.Rows {
			sum += r.Seconds
			var people int64
			for _, p := range r.People {
				people += p.Seconds
			}
			if people != r.Seconds {
				t.Errorf("row %s: people sum %d != %d", r.Key, people, r.Seconds)
			}
		}
		if sum != want || len(rep.Rows) != 301 { // 300 cards + (no task)
			t.Errorf("rows: %d summing %d s, want 301 summing %d", len(rep.Rows), sum, want)
		}
		if len(rep.Budgets) != 1 || rep.Budgets[0].Budget.Seconds != 12000*3600 || rep.Budgets[0].Remaining.Seconds != 12000*3600-rep.Budgets[0].Used.Seconds {
			t.Errorf("budgets = %+v", rep.Budgets)
		}
	})
	t.Run("csv", func(t *testing.T) {
		out := render(t, in, everhour.ReportOptions{Period: "2026-11", Format: "csv"})
		golden(t, "report_card.csv.golden", out)
		rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		must(t, err)
		var sum int64
		found := false
		for _, r := range rows[1:] {
			secs, err := strconv.ParseInt(r[6], 10, 64)
			must(t, err)
			switch r[0] {
			case "row":
				sum += secs
			case "total":
				found = true
				if secs != want || r[7] != wantHMM || r[8] != wantDec {
					t.Errorf("total row %q, want %d %s %s", r, want, wantHMM, wantDec)
				}
			}
		}
		if !found || sum != want {
			t.Errorf("csv rows sum %d (total row found %v), want %d", sum, found, want)
		}
	})
	t.Run("table", func(t *testing.T) {
		out := render(t, in, everhour.ReportOptions{Period: "2026-11"})
		golden(t, "report_card.table.golden", out)
		text := string(out)
		if summary := fmt.Sprintf("Total: %s (%s h, %d s)", wantHMM, wantDec, want); !strings.Contains(text, summary) {
			t.Errorf("table lacks %q", summary)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "TOTAL ") {
				if f := strings.Fields(line); f[len(f)-2] != wantHMM || f[len(f)-1] != wantDec {
					t.Errorf("table total line %q, want %s %s", line, wantHMM, wantDec)
				}
			}
		}
	})
	t.Run("by user and by day", func(t *testing.T) {
		golden(t, "report_user.table.golden", render(t, in, everhour.ReportOptions{Period: "2026-11", By: "user"}))
		golden(t, "report_day.csv.golden", render(t, in, everhour.ReportOptions{Period: "2026-11", By: "day", Format: "csv"}))
		var rep everhour.HoursReport
		must(t, json.Unmarshal(render(t, in, everhour.ReportOptions{Period: "2026-11", By: "day", Format: "json"}), &rep))
		if len(rep.Rows) != 30 || rep.Total.Seconds != want || rep.Rows[0].Key != "2026-11-01" {
			t.Errorf("by day: %d rows, total %d", len(rep.Rows), rep.Total.Seconds)
		}
	})
}

func TestHoursReportProjectFilterAndErrors(t *testing.T) {
	in, _ := reportFixture()
	var withTask int64
	for _, r := range in.Records {
		if r.TaskID != "" && r.Date >= "2026-11-01" && r.Date <= "2026-11-30" {
			withTask += r.Seconds
		}
	}
	var rep everhour.HoursReport
	must(t, json.Unmarshal(render(t, in, everhour.ReportOptions{Period: "2026-11", ProjectID: "tr:board1", Format: "json"}), &rep))
	if rep.Total.Seconds != withTask || len(rep.Rows) != 300 {
		t.Errorf("project filter: %d rows, %d s; want 300 rows, %d s (time without task excluded)", len(rep.Rows), rep.Total.Seconds, withTask)
	}
	for _, tc := range []struct {
		opts everhour.ReportOptions
		want string
	}{
		{everhour.ReportOptions{Period: "2026-11-01"}, "--period"},
		{everhour.ReportOptions{Period: "2026-13"}, "--period"},
		{everhour.ReportOptions{Period: "2026-11", By: "client"}, "--by"},
		{everhour.ReportOptions{Period: "2026-11", Format: "xml"}, "--format"},
		{everhour.ReportOptions{Period: "2026-11", ProjectID: "board1"}, "--project"},
	} {
		err := everhour.RenderHoursReport(io.Discard, in, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.opts, err, tc.want)
		}
	}
}

func BenchmarkRenderHoursReport5000(b *testing.B) {
	in, _ := reportFixture()
	for _, f := range []string{"table", "csv", "json"} {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				if err := everhour.RenderHoursReport(io.Discard, in, everhour.ReportOptions{Period: "2026-11", Format: f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type staticSource struct {
	in       everhour.ReportInput
	from, to string
}

func (s *staticSource) HoursReportInput(_ context.Context, from, to string) (everhour.ReportInput, error) {
	s.from, s.to = from, to
	return s.in, nil
}

func TestRunHoursReportLoadsTheMonth(t *testing.T) {
	in, want := reportFixture()
	src := &staticSource{in: in}
	var buf bytes.Buffer
	must(t, everhour.RunHoursReport(context.Background(), src, &buf, everhour.ReportOptions{Period: "2026-02", Format: "json"}))
	if src.from != "2026-02-01" || src.to != "2026-02-28" {
		t.Errorf("loaded %s..%s, want 2026-02-01..2026-02-28", src.from, src.to)
	}
	buf.Reset()
	must(t, everhour.RunHoursReport(context.Background(), src, &buf, everhour.ReportOptions{Period: "2026-11", Format: "json"}))
	var rep everhour.HoursReport
	must(t, json.Unmarshal(buf.Bytes(), &rep))
	if rep.Total.Seconds != want {
		t.Errorf("total %d, want %d", rep.Total.Seconds, want)
	}
}

// The report holds each project to the budget the burn alerts use: an
// Everhour monthly budget, else the project's config entry, else the
// config's default monthly_hours (DefaultSeconds) for a project Everhour
// knows. A project whose only budget is the default is listed when it has
// hours; an idle one is not.
func TestHoursReportUsesTheDefaultMonthlyBudgetLikeTheAlerts(t *testing.T) {
	in := everhour.ReportInput{
		Projects: []adpacer.EverhourProject{
			{ID: "tr:eh", Name: "Everhour budget", Budget: &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 100 * 3600}},
			{ID: "tr:cfg", Name: "Config entry"},
			{ID: "tr:def", Name: "Default only"},
			{ID: "tr:weekly", Name: "Weekly budget", Budget: &adpacer.HoursBudget{Type: "time", Period: "weekly", BudgetSecs: 10 * 3600}},
			{ID: "tr:idle", Name: "Idle"},
		},
		Tasks: []adpacer.EverhourTask{
			{ID: "tr:c1", ProjectIDs: []string{"tr:eh"}}, {ID: "tr:c2", ProjectIDs: []string{"tr:cfg"}},
			{ID: "tr:c3", ProjectIDs: []string{"tr:def"}}, {ID: "tr:c4", ProjectIDs: []string{"tr:weekly"}},
		},
		Records: []adpacer.TimeRecord{
			{ID: 1, UserID: 1, TaskID: "tr:c1", Date: "2026-11-02", Seconds: 3600},
			{ID: 2, UserID: 1, TaskID: "tr:c2", Date: "2026-11-02", Seconds: 7200},
			{ID: 3, UserID: 1, TaskID: "tr:c3", Date: "2026-11-03", Seconds: 30 * 3600},
			{ID: 4, UserID: 1, TaskID: "tr:c4", Date: "2026-11-03", Seconds: 1800},
		},
	}
	cfg := []everhour.ProjectBudget{{ProjectID: "tr:cfg", Seconds: 50 * 3600, Period: everhour.PeriodMonthly}}
	const def = 120 * 3600
	var rep everhour.HoursReport
	must(t, json.Unmarshal(render(t, in, everhour.ReportOptions{Period: "2026-11", Format: "json", Budgets: cfg, DefaultSeconds: def}), &rep))
	got := map[string]everhour.ReportBudget{}
	for _, b := range rep.Budgets {
		got[b.ProjectID] = b
	}
	statuses, err := everhour.EvaluateBudgets(mustDate(t, "2026-11-20"), in, everhour.BudgetConfig{Projects: cfg, DefaultSeconds: def})
	must(t, err)
	for _, st := range statuses {
		b, shown := got[st.ProjectID]
		switch {
		case st.Period != everhour.PeriodMonthly:
			if shown && b.Budget != nil {
				t.Errorf("%s: report shows a monthly budget %+v; the alerts hold it to a %s one", st.ProjectID, b.Budget, st.Period)
			}
		case !shown && st.UsedSecs > 0:
			t.Errorf("%s has hours and a budget but is not in the report", st.ProjectID)
		case shown && (b.Budget == nil || b.Budget.Seconds != st.BudgetSecs || b.Source != st.Source):
			t.Errorf("%s: report budget %+v from %q; alerts use %d s from %q", st.ProjectID, b.Budget, b.Source, st.BudgetSecs, st.Source)
		}
	}
	if b := got["tr:def"]; b.Budget == nil || b.Budget.Seconds != def || *b.UsedPercent != 25 || b.Remaining.Seconds != 90*3600 {
		t.Errorf("default-budget project: %+v; want 120 h paid, 25%% used, 90 h left", b)
	}
	if _, shown := got["tr:idle"]; shown {
		t.Errorf("an idle project with only the default budget is listed")
	}
	// Without a default the project has no monthly budget, as before.
	var plain everhour.HoursReport
	must(t, json.Unmarshal(render(t, in, everhour.ReportOptions{Period: "2026-11", Format: "json", Budgets: cfg}), &plain))
	for _, b := range plain.Budgets {
		if b.ProjectID == "tr:def" && b.Budget != nil {
			t.Errorf("no default: tr:def budget %+v", b.Budget)
		}
	}
	if err := everhour.RenderHoursReport(io.Discard, in, everhour.ReportOptions{Period: "2026-11", DefaultSeconds: -1}); err == nil {
		t.Error("a negative default budget was accepted")
	}
}
