package everhour

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// Budget periods.
const (
	PeriodGeneral = "general"
	PeriodMonthly = "monthly"
	PeriodWeekly  = "weekly"
	PeriodDaily   = "daily"
)

// ProjectBudget is adpacer's own paid-hours budget of a project, used when
// Everhour has no time budget for it (none, or a money/costs budget).
type ProjectBudget struct {
	ProjectID string // prefixed Everhour id, e.g. "tr:<board id>"
	// Name labels the project in metrics, alerts and reports; the Everhour
	// project name when empty.
	Name string
	// Seconds paid per period (config may write hours with ParseHours).
	Seconds int64
	// Period is monthly (default), weekly, daily or general.
	Period string
	// Owner is the Trello member responsible (put on alert cards).
	Owner string
}

// BudgetConfig configures the paid-hours evaluation.
type BudgetConfig struct {
	// Location in which periods and "today" are counted (default
	// Europe/Moscow, where the agency works).
	Location *time.Location
	// Calendar of working days (default DefaultCalendar()).
	Calendar *Calendar
	// Projects are budgets from adpacer's config, and names/owners for
	// projects whose budget Everhour holds.
	Projects []ProjectBudget
	// DefaultSeconds is the paid seconds per month for every project that
	// has neither an Everhour time budget nor an entry in Projects (0: such
	// projects have no budget).
	DefaultSeconds int64
	// OnlyConfigured limits evaluation to the projects listed in Projects
	// (default false: every project with an Everhour time budget too).
	OnlyConfigured bool
}

// Validate reports every problem at once.
func (c BudgetConfig) Validate() error {
	var problems []string
	seen := map[string]bool{}
	for i, p := range c.Projects {
		if err := checkPrefixedID(p.ProjectID); err != nil {
			problems = append(problems, fmt.Sprintf("projects[%d].project_id: %v", i, err))
		}
		if seen[p.ProjectID] {
			problems = append(problems, fmt.Sprintf("projects[%d].project_id %q is listed twice", i, p.ProjectID))
		}
		seen[p.ProjectID] = true
		if p.Seconds < 0 {
			problems = append(problems, fmt.Sprintf("projects[%d].hours: negative budget", i))
		}
		switch p.Period {
		case "", PeriodMonthly, PeriodWeekly, PeriodDaily, PeriodGeneral:
		default:
			problems = append(problems, fmt.Sprintf("projects[%d].period %q: want monthly, weekly, daily or general", i, p.Period))
		}
	}
	if c.DefaultSeconds < 0 {
		problems = append(problems, "monthly_hours: negative default budget")
	}
	if len(problems) > 0 {
		return fmt.Errorf("everhour budgets: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (c BudgetConfig) withDefaults() BudgetConfig {
	if c.Location == nil {
		if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
			c.Location = loc
		} else {
			// No tzdata on the host: Moscow has been UTC+3 without DST
			// since 2014.
			c.Location = time.FixedZone("MSK", 3*3600)
		}
	}
	if c.Calendar == nil {
		c.Calendar = DefaultCalendar()
	}
	return c
}

// BudgetStatus is the state of one project's paid hours in the period
// containing now. All amounts are seconds.
type BudgetStatus struct {
	ProjectID string
	Name      string
	Owner     string
	Source    string // "everhour" or "config"
	Period    string
	// PeriodStart and PeriodEnd are inclusive dates; PeriodEnd is "" for a
	// general budget (no end, so no projection).
	PeriodStart, PeriodEnd string
	Today                  string
	BudgetSecs             int64
	UsedSecs               int64
	RemainingSecs          int64 // BudgetSecs - UsedSecs, negative when overrun
	// ProjectedSecs is UsedSecs plus the pace so far (per working day
	// elapsed, today included) times the working days left after today.
	ProjectedSecs   int64
	WorkdaysElapsed int // [PeriodStart, Today]
	WorkdaysLeft    int // (Today, PeriodEnd]
	// CalendarGap is set when the calendar lacks holidays for a year of the
	// period (weekends only were counted).
	CalendarGap bool
}

// paid is the budget a project is held to.
type paid struct {
	source      string // "everhour" or "config"
	period      string
	secs        int64
	appliedFrom string // Everhour's start of a general budget
	// byDefault: the config's default monthly_hours, not an entry of
	// its own.
	byDefault bool
}

// paidBudget is the one budget rule the burn alerts (EvaluateBudgets) and
// the hours report share, so they never disagree on what a project may
// spend: an Everhour budget of type "time" with a known period wins; else
// the project's config entry (monthly by default) when it sets hours; else,
// for a project Everhour knows that has no config entry, the config's
// default monthly budget. ok is false when none applies.
func paidBudget(p adpacer.EverhourProject, hasProject bool, c ProjectBudget, hasConfig bool, defaultSecs int64) (paid, bool) {
	switch {
	case hasProject && p.Budget != nil && p.Budget.Type == "time" && knownPeriod(p.Budget.Period) && p.Budget.BudgetSecs > 0:
		return paid{source: "everhour", period: p.Budget.Period, secs: p.Budget.BudgetSecs, appliedFrom: p.Budget.AppliedFrom}, true
	case hasConfig && c.Seconds > 0:
		period := c.Period
		if period == "" {
			period = PeriodMonthly
		}
		return paid{source: "config", period: period, secs: c.Seconds}, true
	case !hasConfig && hasProject && defaultSecs > 0:
		return paid{source: "config", period: PeriodMonthly, secs: defaultSecs, byDefault: true}, true
	}
	return paid{}, false
}

// Percent returns used as an integer percent of budget (floor), 0 for no budget.
func Percent(used, budget int64) int64 {
	if budget <= 0 {
		return 0
	}
	return used * 100 / budget
}

// EvaluateBudgets computes every budgeted project's status at now. It is
// pure: records, tasks and projects come from the store (or a pull). A
// record counts for a project when its task lists the project; time logged
// without a task counts for no project.
//
// Budget precedence: an Everhour budget of type "time" with a known period
// wins; otherwise the config budget (monthly by default); projects with
// neither are skipped.
func EvaluateBudgets(now time.Time, in ReportInput, cfg BudgetConfig) ([]BudgetStatus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	today := civil(now.In(cfg.Location))

	byConfig := map[string]ProjectBudget{}
	for _, p := range cfg.Projects {
		byConfig[p.ProjectID] = p
	}
	projects := map[string]adpacer.EverhourProject{}
	for _, p := range in.Projects {
		projects[p.ID] = p
	}
	ids := map[string]bool{}
	for _, p := range in.Projects {
		if !cfg.OnlyConfigured || byConfig[p.ID].ProjectID != "" {
			ids[p.ID] = true
		}
	}
	for _, p := range cfg.Projects {
		ids[p.ProjectID] = true
	}

	var out []BudgetStatus
	for id := range ids {
		p, hasProject := projects[id]
		c, hasConfig := byConfig[id]
		st := BudgetStatus{ProjectID: id, Name: p.Name, Owner: c.Owner}
		if c.Name != "" {
			st.Name = c.Name
		}
		if st.Name == "" {
			st.Name = id
		}
		pb, ok := paidBudget(p, hasProject, c, hasConfig, cfg.DefaultSeconds)
		if !ok {
			continue
		}
		st.Source, st.Period, st.BudgetSecs = pb.source, pb.period, pb.secs
		general := pb.appliedFrom
		start, end := periodBounds(st.Period, today, general)
		st.Today = today.Format(time.DateOnly)
		st.PeriodStart = start.Format(time.DateOnly)
		if !end.IsZero() {
			st.PeriodEnd = end.Format(time.DateOnly)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProjectID < out[j].ProjectID })

	// One pass over the records: each adds to every project status whose
	// period contains its date.
	taskProjects := map[string][]string{}
	for _, t := range in.Tasks {
		taskProjects[t.ID] = t.ProjectIDs
	}
	idx := map[string]int{}
	for i, st := range out {
		idx[st.ProjectID] = i
	}
	for _, r := range in.Records {
		for _, pid := range taskProjects[r.TaskID] {
			i, ok := idx[pid]
			if !ok {
				continue
			}
			st := &out[i]
			if r.Date >= st.PeriodStart && (st.PeriodEnd == "" || r.Date <= st.PeriodEnd) {
				st.UsedSecs += r.Seconds
			}
		}
	}
	for i := range out {
		st := &out[i]
		st.RemainingSecs = st.BudgetSecs - st.UsedSecs
		st.ProjectedSecs = st.UsedSecs
		if st.PeriodEnd == "" {
			continue
		}
		start, _ := time.Parse(time.DateOnly, st.PeriodStart)
		end, _ := time.Parse(time.DateOnly, st.PeriodEnd)
		st.WorkdaysElapsed = cfg.Calendar.Workdays(start, today)
		st.WorkdaysLeft = cfg.Calendar.Workdays(today.AddDate(0, 0, 1), end)
		st.CalendarGap = !cfg.Calendar.Covers(start.Year()) || !cfg.Calendar.Covers(end.Year())
		if st.WorkdaysElapsed > 0 {
			// Integer arithmetic: seconds stay exact; the pace is floored.
			st.ProjectedSecs = st.UsedSecs + st.UsedSecs*int64(st.WorkdaysLeft)/int64(st.WorkdaysElapsed)
		}
	}
	return out, nil
}

func knownPeriod(p string) bool {
	switch p {
	case PeriodMonthly, PeriodWeekly, PeriodDaily, PeriodGeneral:
		return true
	}
	return false
}

// periodBounds returns the inclusive civil dates of the period containing
// today; end is zero for a general budget, which starts at appliedFrom (or
// at the beginning of the data).
func periodBounds(period string, today time.Time, appliedFrom string) (start, end time.Time) {
	y, m, d := today.Date()
	switch period {
	case PeriodDaily:
		return today, today
	case PeriodWeekly:
		wd := (int(today.Weekday()) + 6) % 7 // Monday first, as in Russia
		start = time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 6)
	case PeriodGeneral:
		if t, err := time.Parse(time.DateOnly, appliedFrom); err == nil {
			return t, time.Time{}
		}
		return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
	}
	start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, -1)
}

// ParseHours reads a paid-hours amount from config exactly, without
// floats: "120", "120.5" (any decimals that make whole seconds, up to 6) or
// "120:30" (H:MM). It returns seconds.
func ParseHours(s string) (int64, error) {
	const maxHours = 1_000_000 // no budget is larger; keeps seconds far from overflow
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("hours: empty; write for example 120, 120.5 or 120:30")
	}
	if h, mm, ok := strings.Cut(s, ":"); ok {
		hv, err1 := strconv.ParseInt(h, 10, 64)
		mv, err2 := strconv.ParseInt(mm, 10, 64)
		if err1 != nil || err2 != nil || hv < 0 || mv < 0 || mv > 59 || len(mm) != 2 {
			return 0, fmt.Errorf("hours %q: want H:MM such as 120:30", s)
		}
		if hv > maxHours {
			return 0, fmt.Errorf("hours %q: more than %d hours", s, maxHours)
		}
		return hv*3600 + mv*60, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	hv, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || hv < 0 {
		return 0, fmt.Errorf("hours %q: want a non-negative number such as 120 or 120.5", s)
	}
	if hv > maxHours {
		return 0, fmt.Errorf("hours %q: more than %d hours", s, maxHours)
	}
	secs := hv * 3600
	if frac != "" {
		if len(frac) > 6 {
			return 0, fmt.Errorf("hours %q: at most 6 decimals", s)
		}
		fv, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || fv < 0 {
			return 0, fmt.Errorf("hours %q: want a number such as 120.5", s)
		}
		scale := int64(1)
		for range len(frac) {
			scale *= 10
		}
		if fv*3600%scale != 0 {
			return 0, fmt.Errorf("hours %q: is not a whole number of seconds", s)
		}
		secs += fv * 3600 / scale
	}
	return secs, nil
}
