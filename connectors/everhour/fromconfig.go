package everhour

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/adpacer/adpacer/internal/config"
)

// Settings are everything the daemon builds from one connectors.everhour
// entry of the config file.
type Settings struct {
	Client     Config
	Budgets    BudgetConfig
	Alerts     AlertConfig
	RereadDays int
}

// FromConfig translates a validated config entry. holiday_calendar "ru"
// is the built-in Russian production calendar, "none" counts Monday to
// Friday, and a value containing "/" or ending in .yaml/.yml is read as a
// calendar file (see ParseCalendar). Hours in the config are floats at the
// edge; they are turned into whole seconds here (rounded to the nearest
// second) and stay integers from then on.
func FromConfig(e config.Everhour) (Settings, error) {
	s := Settings{
		Client: Config{
			BaseURL: e.BaseURL,
			APIKey:  e.APIKey.Reveal(),
			Timeout: e.Timeout.D(),
		},
		RereadDays: e.RereadDays,
	}
	prefix := fmt.Sprintf("connectors.everhour[%s]", e.ID)
	if e.TimeZone != "" {
		loc, err := time.LoadLocation(e.TimeZone)
		if err != nil {
			return Settings{}, fmt.Errorf("%s.timezone %q: use the agency's IANA zone, e.g. Europe/Moscow", prefix, e.TimeZone)
		}
		s.Budgets.Location = loc
	}
	switch cal := e.HolidayCalendar; {
	case cal == "" || cal == "ru":
		s.Budgets.Calendar = DefaultCalendar()
	case cal == "none":
		c, err := ParseCalendar(strings.NewReader("base: none\n"))
		if err != nil {
			return Settings{}, fmt.Errorf("%s.holiday_calendar: %w", prefix, err)
		}
		s.Budgets.Calendar = c
	case strings.Contains(cal, "/") || strings.HasSuffix(cal, ".yaml") || strings.HasSuffix(cal, ".yml"):
		c, err := LoadCalendar(cal)
		if err != nil {
			return Settings{}, fmt.Errorf("%s.holiday_calendar: %w", prefix, err)
		}
		s.Budgets.Calendar = c
	default:
		return Settings{}, fmt.Errorf("%s.holiday_calendar %q: use ru, none or the path of a calendar YAML file", prefix, cal)
	}
	secs := func(field string, h float64) (int64, error) {
		if h < 0 || math.IsNaN(h) || math.IsInf(h, 0) || h > 1e6 {
			return 0, fmt.Errorf("%s.%s %g: want a number of hours between 0 and 1000000", prefix, field, h)
		}
		return int64(math.Round(h * 3600)), nil
	}
	var err error
	if s.Budgets.DefaultSeconds, err = secs("monthly_hours", e.MonthlyHours); err != nil {
		return Settings{}, err
	}
	for i, p := range e.Projects {
		n, err := secs(fmt.Sprintf("projects[%d].monthly_hours", i), p.MonthlyHours)
		if err != nil {
			return Settings{}, err
		}
		s.Budgets.Projects = append(s.Budgets.Projects, ProjectBudget{ProjectID: p.Project, Seconds: n, Period: PeriodMonthly})
	}
	if err := s.Budgets.Validate(); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", prefix, err)
	}
	// thresholds_pct [80, 100]: the lowest warns; a threshold at or above
	// 100 is the critical one (100 when none is).
	if th := e.ThresholdsPct; len(th) > 0 {
		s.Alerts.WarnUsedPercent = int64(math.Floor(th[0]))
		s.Alerts.CriticalUsedPercent = 100
		if last := th[len(th)-1]; len(th) > 1 && last >= 100 {
			s.Alerts.CriticalUsedPercent = int64(math.Floor(last))
		}
		if s.Alerts.WarnUsedPercent < 1 {
			s.Alerts.WarnUsedPercent = 1
		}
		if s.Alerts.WarnUsedPercent > s.Alerts.CriticalUsedPercent {
			s.Alerts.WarnUsedPercent = s.Alerts.CriticalUsedPercent
		}
	}
	if err := s.Alerts.Validate(); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", prefix, err)
	}
	return s, nil
}
