package everhour

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// Alert kinds.
const (
	KindBudget     = "everhour_budget"
	KindNoTask     = "everhour_time_without_task"
	KindClosedCard = "everhour_time_on_closed_card"
)

// AlertConfig sets the thresholds of paid-hours alerts. Percentages are
// integers so comparisons are exact on integer seconds.
type AlertConfig struct {
	// WarnUsedPercent raises a warning when used >= this percent of the
	// budget (default 80).
	WarnUsedPercent int64
	// CriticalUsedPercent raises a critical alert when used >= this percent
	// (default 100).
	CriticalUsedPercent int64
	// ProjectedPercent raises a critical alert when the end-of-period
	// projection exceeds this percent of the budget (default 100; -1
	// disables projections).
	ProjectedPercent int64
	// MinElapsedWorkdays is how many working days of the period must have
	// passed before a projection may alert: one day's pace is noise
	// (default 2).
	MinElapsedWorkdays int
	// DisableNoTask and DisableClosedCard turn the hygiene alerts off.
	DisableNoTask     bool
	DisableClosedCard bool
	// What counts as a closed card. An archived Trello card (Closed) and an
	// Everhour task with status "closed" always count: the card has left the
	// board, so time on it is almost certainly misfiled. A card marked done
	// (DueComplete) or sitting in a "Done" list counts only when enabled
	// here, because specialists routinely log wrap-up time on a card just
	// moved to Done.
	ClosedIncludesDueComplete bool
	DoneListNames             []string // compared case-insensitively, trimmed
	// Owner is put on hygiene alerts (Trello member); budget alerts take
	// the project's ProjectBudget.Owner.
	Owner string
	// MaxDetailLines bounds the lines listed in a hygiene alert (default 20).
	MaxDetailLines int
}

func (c AlertConfig) withDefaults() AlertConfig {
	if c.WarnUsedPercent == 0 {
		c.WarnUsedPercent = 80
	}
	if c.CriticalUsedPercent == 0 {
		c.CriticalUsedPercent = 100
	}
	if c.ProjectedPercent == 0 {
		c.ProjectedPercent = 100
	}
	if c.MinElapsedWorkdays == 0 {
		c.MinElapsedWorkdays = 2
	}
	if c.MaxDetailLines == 0 {
		c.MaxDetailLines = 20
	}
	return c
}

// Validate names the bad threshold.
func (c AlertConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.WarnUsedPercent < 1 || c.WarnUsedPercent > 1000:
		return fmt.Errorf("everhour alerts: warn_used_percent %d: want 1..1000", c.WarnUsedPercent)
	case c.CriticalUsedPercent < c.WarnUsedPercent:
		return fmt.Errorf("everhour alerts: critical_used_percent %d is below warn_used_percent %d", c.CriticalUsedPercent, c.WarnUsedPercent)
	case c.ProjectedPercent < -1 || c.ProjectedPercent > 1000:
		return fmt.Errorf("everhour alerts: projected_percent %d: want 1..1000, or -1 to disable", c.ProjectedPercent)
	case c.MinElapsedWorkdays < 0:
		return fmt.Errorf("everhour alerts: min_elapsed_workdays %d must not be negative", c.MinElapsedWorkdays)
	}
	return nil
}

// BudgetAlerts turns budget statuses into the alerts firing now: one alert
// per project and period (key "everhour:budget:<project>:<period start>"),
// critical when used >= CriticalUsedPercent or the projection exceeds
// ProjectedPercent, warning when used >= WarnUsedPercent. A project below
// every threshold is absent, which resolves its card (level-based sink).
func BudgetAlerts(statuses []BudgetStatus, cfg AlertConfig) []adpacer.Alert {
	cfg = cfg.withDefaults()
	var out []adpacer.Alert
	for _, st := range statuses {
		if st.BudgetSecs <= 0 {
			continue
		}
		usedPct := Percent(st.UsedSecs, st.BudgetSecs)
		projPct := Percent(st.ProjectedSecs, st.BudgetSecs)
		canProject := cfg.ProjectedPercent > 0 && st.PeriodEnd != "" && st.WorkdaysElapsed >= cfg.MinElapsedWorkdays
		// Compare on integers: used*100 >= budget*percent.
		overCritical := st.UsedSecs*100 >= st.BudgetSecs*cfg.CriticalUsedPercent
		overProjected := canProject && st.ProjectedSecs*100 > st.BudgetSecs*cfg.ProjectedPercent
		overWarn := st.UsedSecs*100 >= st.BudgetSecs*cfg.WarnUsedPercent
		var sev adpacer.Severity
		var title string
		period := st.PeriodStart
		if st.PeriodEnd != "" {
			period += ".." + st.PeriodEnd
		}
		switch {
		case overCritical:
			sev = adpacer.SeverityCritical
			title = fmt.Sprintf("Paid hours used up: %s — %s of %s (%d%%)", st.Name, FormatHMM(st.UsedSecs), FormatHMM(st.BudgetSecs), usedPct)
		case overProjected:
			sev = adpacer.SeverityCritical
			title = fmt.Sprintf("Paid hours will overrun: %s — projected %s of %s (%d%%) by %s", st.Name, FormatHMM(st.ProjectedSecs), FormatHMM(st.BudgetSecs), projPct, st.PeriodEnd)
		case overWarn:
			sev = adpacer.SeverityWarning
			title = fmt.Sprintf("Paid hours %d%% used: %s — %s of %s", usedPct, st.Name, FormatHMM(st.UsedSecs), FormatHMM(st.BudgetSecs))
		default:
			continue
		}
		var d strings.Builder
		fmt.Fprintf(&d, "Project: %s (%s), budget from %s, %s period %s.\n", st.Name, st.ProjectID, st.Source, st.Period, period)
		fmt.Fprintf(&d, "Used: %s of %s paid (%d%%), remaining %s.\n", FormatHMM(st.UsedSecs), FormatHMM(st.BudgetSecs), usedPct, FormatHMM(st.RemainingSecs))
		if st.PeriodEnd != "" {
			fmt.Fprintf(&d, "Projection to %s: %s (%d%%) — %d working days elapsed (today %s included), %d left.\n",
				st.PeriodEnd, FormatHMM(st.ProjectedSecs), projPct, st.WorkdaysElapsed, st.Today, st.WorkdaysLeft)
		}
		if st.CalendarGap {
			d.WriteString("Note: the working-day calendar has no holidays for this period; weekends only were counted.\n")
		}
		d.WriteString("What to do: agree extra hours with the client, or re-plan the remaining cards.")
		key := "everhour:budget:" + st.ProjectID + ":" + st.PeriodStart
		out = append(out, adpacer.Alert{
			Key: key, Severity: sev, Kind: KindBudget, Line: st.ProjectID, Owner: st.Owner,
			Title: title, Detail: d.String(),
			// Material change = severity, or used/projected moving to another
			// 10% band; minute-by-minute logging does not re-comment.
			Fingerprint: fingerprint(key, string(sev), strconv.FormatInt(usedPct/10, 10), strconv.FormatInt(projPct/10, 10), strconv.FormatInt(st.BudgetSecs, 10)),
		})
	}
	return out
}

// HygieneAlerts reports time logged in the period [from, to] (inclusive
// dates) to no task, and to closed cards (see AlertConfig for what closed
// means). Each is one grouped alert per period, not one per record, so a
// busy month yields one card per cause.
func HygieneAlerts(in ReportInput, from, to string, cfg AlertConfig) []adpacer.Alert {
	cfg = cfg.withDefaults()
	tasks := map[string]adpacer.EverhourTask{}
	for _, t := range in.Tasks {
		tasks[t.ID] = t
	}
	cards := map[string]adpacer.Card{}
	for _, c := range in.Cards {
		cards[c.ID] = c
	}
	done := map[string]bool{}
	for _, n := range cfg.DoneListNames {
		done[strings.ToLower(strings.TrimSpace(n))] = true
	}
	doneList := map[string]bool{}
	for _, l := range in.Lists {
		if done[strings.ToLower(strings.TrimSpace(l.Name))] {
			doneList[l.ID] = true
		}
	}
	users := map[int64]string{}
	for _, u := range in.Users {
		users[u.ID] = u.Name
	}
	closedReason := func(taskID string) string {
		t, ok := tasks[taskID]
		card, isCard := cards[TrelloCardID(taskID)]
		switch {
		case isCard && card.Closed:
			return "archived card"
		case ok && t.Status == "closed":
			return "closed task"
		case isCard && cfg.ClosedIncludesDueComplete && card.DueComplete:
			return "card marked done"
		case isCard && doneList[card.ListID]:
			return "card in a Done list"
		}
		return ""
	}
	type item struct {
		id      int64
		line    string
		seconds int64
	}
	var noTask, closed []item
	for _, r := range in.Records {
		if r.Date < from || r.Date > to {
			continue
		}
		who := users[r.UserID]
		if who == "" {
			who = "user " + strconv.FormatInt(r.UserID, 10)
		}
		if r.TaskID == "" {
			if !cfg.DisableNoTask {
				noTask = append(noTask, item{r.ID, fmt.Sprintf("%s %s %s (record %d)", r.Date, who, FormatHMM(r.Seconds), r.ID), r.Seconds})
			}
			continue
		}
		if cfg.DisableClosedCard {
			continue
		}
		if why := closedReason(r.TaskID); why != "" {
			name := r.TaskID
			if c, ok := cards[TrelloCardID(r.TaskID)]; ok && c.Name != "" {
				name = fmt.Sprintf("%q", c.Name)
			} else if t, ok := tasks[r.TaskID]; ok && t.Name != "" {
				name = fmt.Sprintf("%q", t.Name)
			}
			closed = append(closed, item{r.ID, fmt.Sprintf("%s %s %s on %s — %s (record %d)", r.Date, who, FormatHMM(r.Seconds), name, why, r.ID), r.Seconds})
		}
	}
	var out []adpacer.Alert
	mk := func(kind, keyPart, title, what string, items []item) {
		if len(items) == 0 {
			return
		}
		sort.Slice(items, func(i, j int) bool { return items[i].line < items[j].line })
		var total int64
		ids := make([]string, len(items))
		for i, it := range items {
			total += it.seconds
			ids[i] = strconv.FormatInt(it.id, 10)
		}
		sort.Strings(ids)
		var d strings.Builder
		fmt.Fprintf(&d, "%d records, %s in %s..%s:\n", len(items), FormatHMM(total), from, to)
		for i, it := range items {
			if i == cfg.MaxDetailLines {
				fmt.Fprintf(&d, "… and %d more.\n", len(items)-i)
				break
			}
			d.WriteString("- " + it.line + "\n")
		}
		d.WriteString(what)
		key := "everhour:" + keyPart + ":" + from
		out = append(out, adpacer.Alert{
			Key: key, Severity: adpacer.SeverityWarning, Kind: kind, Owner: cfg.Owner,
			Title:       fmt.Sprintf(title, FormatHMM(total), len(items)),
			Detail:      d.String(),
			Fingerprint: fingerprint(append([]string{key}, ids...)...),
		})
	}
	mk(KindNoTask, "no-task", "Time logged without a task: %s in %d records", "What to do: move these entries to the right Trello card in Everhour, or the client report will miss them.", noTask)
	mk(KindClosedCard, "closed-card", "Time logged on closed cards: %s in %d records", "What to do: check the entries belong to these cards; move them to the active card otherwise.", closed)
	return out
}

// Alerts evaluates budgets at now and the hygiene of the current month,
// returning every Everhour alert firing now (the complete set for the
// sink's level-based Sync).
func Alerts(now time.Time, in ReportInput, bcfg BudgetConfig, acfg AlertConfig) ([]adpacer.Alert, []BudgetStatus, error) {
	if err := acfg.Validate(); err != nil {
		return nil, nil, err
	}
	sts, err := EvaluateBudgets(now, in, bcfg)
	if err != nil {
		return nil, nil, err
	}
	alerts := BudgetAlerts(sts, acfg)
	bcfg = bcfg.withDefaults()
	today := civil(now.In(bcfg.Location))
	from := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	alerts = append(alerts, HygieneAlerts(in, from, today.Format(time.DateOnly), acfg)...)
	return alerts, sts, nil
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
