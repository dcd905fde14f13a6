package everhour_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/internal/config"
)

func TestFromConfig(t *testing.T) {
	e := config.Everhour{ID: "e1", BaseURL: "https://api.everhour.com", Timeout: config.Duration(time.Minute), RereadDays: 7,
		MonthlyHours: 40, Projects: []config.EverhourBudget{{Project: "tr:b1", MonthlyHours: 120.5}},
		ThresholdsPct: []float64{75, 110}, HolidayCalendar: "ru"}
	s, err := everhour.FromConfig(e)
	must(t, err)
	if s.Budgets.DefaultSeconds != 40*3600 || len(s.Budgets.Projects) != 1 || s.Budgets.Projects[0].Seconds != 433800 {
		t.Errorf("budgets = %+v", s.Budgets)
	}
	if s.Alerts.WarnUsedPercent != 75 || s.Alerts.CriticalUsedPercent != 110 || s.RereadDays != 7 || s.Client.Timeout != time.Minute {
		t.Errorf("settings = %+v", s)
	}
	if !s.Budgets.Calendar.Covers(2026) {
		t.Error("ru calendar not loaded")
	}
	e.HolidayCalendar = "none"
	s, err = everhour.FromConfig(e)
	must(t, err)
	if s.Budgets.Calendar.Covers(2026) || !s.Budgets.Calendar.IsWorkday(mustDate(t, "2026-11-04")) {
		t.Error("none calendar has holidays")
	}
	path := filepath.Join(t.TempDir(), "cal.yaml")
	must(t, os.WriteFile(path, []byte("holidays: [2026-11-27]\n"), 0o600))
	e.HolidayCalendar = path
	s, err = everhour.FromConfig(e)
	must(t, err)
	if s.Budgets.Calendar.IsWorkday(mustDate(t, "2026-11-27")) {
		t.Error("calendar file not applied")
	}
	e.HolidayCalendar = "mars"
	if _, err := everhour.FromConfig(e); err == nil || !strings.Contains(err.Error(), "holiday_calendar") {
		t.Errorf("err = %v", err)
	}
	e.HolidayCalendar = "ru"
	// An agency in Yekaterinburg: its months and "today" are counted there.
	e.TimeZone = "Asia/Yekaterinburg"
	s, err = everhour.FromConfig(e)
	must(t, err)
	if s.Budgets.Location == nil || s.Budgets.Location.String() != "Asia/Yekaterinburg" {
		t.Errorf("location = %v, want Asia/Yekaterinburg", s.Budgets.Location)
	}
	e.TimeZone = "Europe/Atlantis"
	if _, err := everhour.FromConfig(e); err == nil || !strings.Contains(err.Error(), "timezone") {
		t.Errorf("bad zone: err = %v", err)
	}
}
