package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/internal/config"
)

// -update-report rewrites testdata/report_*.golden (named apart from any
// other golden flag of this package so the two never collide).
var updateReport = flag.Bool("update-report", false, "rewrite cmd/adpacer/testdata/report_*.golden from the report's output")

// seedReportStore writes one month of Trello and Everhour data into the
// SQLite store the config names, through the calls the daemon's pull jobs
// make (SaveBoardBatch, SaveTimeBatch), and returns the November total in
// seconds as summed here.
//
// Projects: tr:bank has a config entry (160 h), tr:retail an Everhour
// monthly budget (40 h), tr:leasing neither, so monthly_hours (120 h)
// applies, and tr:idle neither and no hours (left out of the report).
func seedReportStore(t *testing.T, cfgPath string) int64 {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := openStore(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	if err := opened.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st := opened.(wiredStore).Store
	due := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	board := adpacer.BoardBatch{
		Board: adpacer.Board{ID: "bank", Name: "Bank ads"},
		Lists: []adpacer.List{{ID: "l-doing", Name: "Doing", Pos: 1}, {ID: "l-done", Name: "Done", Pos: 2}},
		Labels: []adpacer.Label{{ID: "lb-urgent", Name: "urgent", Color: "red"}, {ID: "lb-mod", Name: "moderation", Color: "yellow"},
			{ID: "lb-green", Color: "green"}},
		Members: []adpacer.Member{{ID: "m-anna", Username: "anna", FullName: "Anna Petrova"}},
		Cards: []adpacer.Card{
			{ID: "c-banner", ListID: "l-doing", Name: "Banners rejected: interest-rate disclaimer", LabelIDs: []string{"lb-urgent", "lb-mod"},
				MemberIDs: []string{"m-anna"}, Due: &due},
			{ID: "c-report", ListID: "l-done", Name: "Weekly report, directorates", LabelIDs: []string{"lb-green"}},
			// Archived upstream: hours on it still count and it keeps its name.
			{ID: "c-old", ListID: "l-done", Name: "Old landing A/B test", Closed: true},
		},
	}
	if err := st.SaveBoardBatch(ctx, "trello-agency", board, adpacer.Cursor{Value: "2026-11-30T12:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	records := []adpacer.TimeRecord{
		{ID: 1, UserID: 11, Date: "2026-11-02", Seconds: 3*3600 + 25*60 + 31, TaskID: "tr:c-banner"},
		{ID: 2, UserID: 12, Date: "2026-11-02", Seconds: 1*3600 + 29, TaskID: "tr:c-banner"},
		{ID: 3, UserID: 11, Date: "2026-11-05", Seconds: 2*3600 + 17, TaskID: "tr:c-report"},
		{ID: 4, UserID: 12, Date: "2026-11-10", Seconds: 45 * 60, TaskID: "tr:c-old"},
		{ID: 5, UserID: 12, Date: "2026-11-11", Seconds: 12*3600 + 59, TaskID: "ev:retail-feed"},
		{ID: 6, UserID: 11, Date: "2026-11-30", Seconds: 30*3600 + 1, TaskID: "ev:leasing-setup"},
		{ID: 7, UserID: 12, Date: "2026-11-30", Seconds: 1234, Comment: "call with the bank"}, // no task
		{ID: 8, UserID: 11, Date: "2026-10-31", Seconds: 99999, TaskID: "tr:c-banner"},        // October: left out
		{ID: 9, UserID: 11, Date: "2026-12-01", Seconds: 88888, TaskID: "ev:leasing-setup"},   // December: left out
	}
	tb := adpacer.TimeBatch{
		Users: []adpacer.EverhourUser{{ID: 11, Name: "Anna Petrova", Email: "anna@agency.example"}, {ID: 12, Name: "Boris Ivanov", Email: "boris@agency.example"}},
		Projects: []adpacer.EverhourProject{
			{ID: "tr:bank", Name: "Bank ads"},
			{ID: "ev:retail", Name: "Retail loans", Budget: &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 40 * 3600}},
			{ID: "ev:leasing", Name: "Leasing"},
			{ID: "ev:idle", Name: "Idle project"},
		},
		Tasks: []adpacer.EverhourTask{
			{ID: "tr:c-banner", ProjectIDs: []string{"tr:bank"}, Name: "Banners rejected: interest-rate disclaimer", TrelloCard: "c-banner", Status: "open"},
			{ID: "tr:c-report", ProjectIDs: []string{"tr:bank"}, Name: "Weekly report, directorates", TrelloCard: "c-report", Status: "open"},
			{ID: "tr:c-old", ProjectIDs: []string{"tr:bank"}, Name: "Old landing A/B test", TrelloCard: "c-old", Status: "closed"},
			{ID: "ev:retail-feed", ProjectIDs: []string{"ev:retail"}, Name: "Product feed for retail", Status: "open"},
			{ID: "ev:leasing-setup", ProjectIDs: []string{"ev:leasing"}, Name: "Leasing campaigns setup", Status: "open"},
		},
		From: "2026-10-01", To: "2026-12-31", Records: records, PulledAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
	if err := st.SaveTimeBatch(ctx, "everhour-agency", tb, adpacer.Cursor{Value: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	var nov int64
	for _, r := range records {
		if strings.HasPrefix(r.Date, "2026-11-") {
			nov += r.Seconds
		}
	}
	return nov
}

func reportGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateReport {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Report -update-report to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (check, then go test -run Report -update-report):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// `adpacer report hours` on a real SQLite store: every format matches its
// golden file, the total is the hand-summed one to the second, and a
// project with neither an Everhour nor a per-project budget is held to
// monthly_hours, as the burn alerts hold it.
func TestReportHoursCLIOnSQLiteStore(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "everhour-key", "test-everhour-key\n")
	cfg := writeFile(t, dir, "config.yaml", fmt.Sprintf(`mode: observe
store:
  driver: sqlite
  sqlite:
    path: %s
connectors:
  everhour:
    - id: everhour-agency
      api_key_file: %s
      monthly_hours: 120
      projects:
        - project: tr:bank
          monthly_hours: 160
`, filepath.Join(dir, "adpacer.db"), filepath.Join(dir, "everhour-key")))
	total := seedReportStore(t, cfg)

	for _, format := range []string{"table", "csv", "json"} {
		code, out, errOut := runCLI(t, defaultWiring(), "report", "hours", "--period", "2026-11", "--format", format, cfg)
		if code != ExitOK {
			t.Fatalf("report hours --format %s = %d\nstderr %s", format, code, errOut)
		}
		reportGolden(t, "report_hours_card."+format+".golden", out)
		if format != "json" {
			continue
		}
		var rep everhour.HoursReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Total.Seconds != total {
			t.Errorf("total %d s, want %d s summed from the seeded records", rep.Total.Seconds, total)
		}
		paid := map[string]int64{}
		for _, b := range rep.Budgets {
			if b.Budget != nil {
				paid[b.ProjectID] = b.Budget.Seconds
			} else {
				paid[b.ProjectID] = -1
			}
		}
		want := map[string]int64{"tr:bank": 160 * 3600, "ev:retail": 40 * 3600, "ev:leasing": 120 * 3600}
		for pid, secs := range want {
			if paid[pid] != secs {
				t.Errorf("project %s paid %d s, want %d s", pid, paid[pid], secs)
			}
		}
		if len(paid) != len(want) {
			t.Errorf("budgets for %v, want exactly %v (an idle project on the default budget is not listed)", paid, want)
		}
	}
	code, out, errOut := runCLI(t, defaultWiring(), "report", "hours", "--period", "2026-11", "--by", "user", cfg)
	if code != ExitOK {
		t.Fatalf("report hours --by user = %d\nstderr %s", code, errOut)
	}
	reportGolden(t, "report_hours_user.table.golden", out)
}
