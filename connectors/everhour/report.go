package everhour

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/adpacer/adpacer"
)

// ReportInput is the in-memory data the hours report and the budget
// evaluation read: what the store holds from the Everhour and Trello pulls
// (a TimeBatch's Users/Projects/Tasks/Records and a BoardBatch's
// Cards/Lists/Labels). Records may span more than the reported period;
// the report filters by date.
type ReportInput struct {
	Records  []adpacer.TimeRecord
	Tasks    []adpacer.EverhourTask
	Users    []adpacer.EverhourUser
	Projects []adpacer.EverhourProject
	Cards    []adpacer.Card
	Lists    []adpacer.List
	Labels   []adpacer.Label
}

// Report groupings and formats.
const (
	ByCard = "card"
	ByUser = "user"
	ByDay  = "day"

	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// ReportOptions select what RenderHoursReport prints.
type ReportOptions struct {
	// Period is the month, YYYY-MM (required).
	Period string
	// ProjectID limits the report to records on tasks of this project.
	ProjectID string
	// By is card (default), user or day.
	By string
	// Format is table (default), csv or json.
	Format string
	// Budgets are paid budgets from adpacer's config, used for projects
	// without an Everhour time budget.
	Budgets []ProjectBudget
	// DefaultSeconds is the config's default monthly budget
	// (connectors.everhour[].monthly_hours, BudgetConfig.DefaultSeconds):
	// the paid seconds of a project Everhour knows that has neither an
	// Everhour time budget nor an entry in Budgets. The burn alerts use the
	// same rule, so the report never says "no monthly budget" for a project
	// they alert on.
	DefaultSeconds int64
}

// Validate names the flag at fault.
func (o ReportOptions) Validate() error {
	if _, err := time.Parse("2006-01", o.Period); err != nil || len(o.Period) != 7 {
		return fmt.Errorf("report: --period %q: want a month YYYY-MM, for example 2026-11", o.Period)
	}
	switch o.By {
	case "", ByCard, ByUser, ByDay:
	default:
		return fmt.Errorf("report: --by %q: want card, user or day", o.By)
	}
	switch o.Format {
	case "", FormatTable, FormatCSV, FormatJSON:
	default:
		return fmt.Errorf("report: --format %q: want table, csv or json", o.Format)
	}
	if o.ProjectID != "" {
		if err := checkPrefixedID(o.ProjectID); err != nil {
			return fmt.Errorf("report: --project: %w", err)
		}
	}
	if o.DefaultSeconds < 0 {
		return fmt.Errorf("report: default monthly budget %d s is negative (connectors.everhour[].monthly_hours)", o.DefaultSeconds)
	}
	return nil
}

// Hours formatting. Seconds are the unit of truth: every sum is a sum of
// integer seconds, and rounding happens only when a figure is printed, so a
// total is the rounding of the summed seconds, never the sum of rounded
// rows (rows may therefore not add up to the printed total by a minute or
// a hundredth).
//
//   - FormatHMM: minutes rounded half up (30 s rounds up), "H:MM", hours
//     unbounded ("1234:05"); negatives print "-H:MM" (rounded on the
//     absolute value).
//   - FormatDecimalHours: hundredths of an hour rounded half up (18 s
//     rounds up), "H.CC"; negatives likewise.
func FormatHMM(secs int64) string {
	sign := ""
	if secs < 0 {
		sign, secs = "-", -secs
	}
	m := (secs + 30) / 60
	return fmt.Sprintf("%s%d:%02d", sign, m/60, m%60)
}

// FormatDecimalHours prints seconds as hours with two decimals (see FormatHMM).
func FormatDecimalHours(secs int64) string {
	sign := ""
	if secs < 0 {
		sign, secs = "-", -secs
	}
	c := (secs*100 + 1800) / 3600
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// ReportRow is one line of the report.
type ReportRow struct {
	Key     string        `json:"id"` // card id, task id, user id or date
	Name    string        `json:"name"`
	List    string        `json:"list,omitempty"`
	Labels  []string      `json:"labels,omitempty"`
	People  []PersonHours `json:"people,omitempty"`
	Seconds int64         `json:"seconds"`
	Hours   string        `json:"hours"`
	Decimal string        `json:"hours_decimal"`
}

// PersonHours is one person's share of a card row.
type PersonHours struct {
	UserID  int64  `json:"user_id"`
	Name    string `json:"name"`
	Seconds int64  `json:"seconds"`
	Hours   string `json:"hours"`
}

// HoursFigure is an amount printed both ways.
type HoursFigure struct {
	Seconds int64  `json:"seconds"`
	Hours   string `json:"hours"`
	Decimal string `json:"hours_decimal"`
}

func figure(secs int64) HoursFigure {
	return HoursFigure{Seconds: secs, Hours: FormatHMM(secs), Decimal: FormatDecimalHours(secs)}
}

// ReportBudget compares a project's hours in the month with its paid
// budget. Budget and Remaining are nil when the project has no monthly
// time budget.
type ReportBudget struct {
	ProjectID   string       `json:"project_id"`
	Name        string       `json:"name"`
	Source      string       `json:"source,omitempty"` // everhour or config
	Used        HoursFigure  `json:"used"`
	Budget      *HoursFigure `json:"budget,omitempty"`
	Remaining   *HoursFigure `json:"remaining,omitempty"`
	UsedPercent *int64       `json:"used_percent,omitempty"` // floor
}

// HoursReport is the computed report (the JSON format prints it as is).
type HoursReport struct {
	Period  string         `json:"period"`
	From    string         `json:"from"`
	To      string         `json:"to"`
	By      string         `json:"by"`
	Project string         `json:"project,omitempty"`
	Rows    []ReportRow    `json:"rows"`
	Total   HoursFigure    `json:"total"`
	Budgets []ReportBudget `json:"budgets"`
}

// BuildHoursReport computes the report without printing it.
func BuildHoursReport(in ReportInput, opts ReportOptions) (HoursReport, error) {
	if err := opts.Validate(); err != nil {
		return HoursReport{}, err
	}
	if opts.By == "" {
		opts.By = ByCard
	}
	first, _ := time.Parse("2006-01", opts.Period)
	from := first.Format(time.DateOnly)
	to := first.AddDate(0, 1, -1).Format(time.DateOnly)
	rep := HoursReport{Period: opts.Period, From: from, To: to, By: opts.By, Project: opts.ProjectID, Rows: []ReportRow{}, Budgets: []ReportBudget{}}

	tasks := make(map[string]adpacer.EverhourTask, len(in.Tasks))
	for _, t := range in.Tasks {
		tasks[t.ID] = t
	}
	users := make(map[int64]string, len(in.Users))
	for _, u := range in.Users {
		users[u.ID] = u.Name
	}
	cards := make(map[string]adpacer.Card, len(in.Cards))
	for _, c := range in.Cards {
		cards[c.ID] = c
	}
	lists := make(map[string]string, len(in.Lists))
	for _, l := range in.Lists {
		lists[l.ID] = l.Name
	}
	labels := make(map[string]string, len(in.Labels))
	for _, l := range in.Labels {
		labels[l.ID] = l.Name
		if l.Name == "" {
			labels[l.ID] = l.Color
		}
	}
	userName := func(id int64) string {
		if n, ok := users[id]; ok && n != "" {
			return n
		}
		return "user " + strconv.FormatInt(id, 10)
	}

	type acc struct {
		row    ReportRow
		people map[int64]int64
	}
	rows := map[string]*acc{}
	projUsed := map[string]int64{}
	var total int64
	for _, r := range in.Records {
		if r.Date < from || r.Date > to {
			continue
		}
		t, hasTask := tasks[r.TaskID]
		if opts.ProjectID != "" && !(hasTask && containsStr(t.ProjectIDs, opts.ProjectID)) {
			continue
		}
		total += r.Seconds
		if hasTask {
			for _, pid := range t.ProjectIDs {
				projUsed[pid] += r.Seconds
			}
		}
		var key string
		switch opts.By {
		case ByUser:
			key = strconv.FormatInt(r.UserID, 10)
		case ByDay:
			key = r.Date
		default:
			key = r.TaskID
			if card := TrelloCardID(r.TaskID); card != "" {
				key = card
			}
		}
		a := rows[key]
		if a == nil {
			a = &acc{row: ReportRow{Key: key}, people: map[int64]int64{}}
			switch opts.By {
			case ByUser:
				a.row.Name = userName(r.UserID)
			case ByDay:
				a.row.Name = r.Date
			default:
				switch card, isCard := cards[TrelloCardID(r.TaskID)]; {
				case r.TaskID == "":
					a.row.Key, a.row.Name = "-", "(no task)"
				case isCard:
					a.row.Name = card.Name
					a.row.List = lists[card.ListID]
					for _, lid := range card.LabelIDs {
						if n, ok := labels[lid]; ok {
							a.row.Labels = append(a.row.Labels, n)
						}
					}
				case hasTask:
					a.row.Name = t.Name
				default:
					a.row.Name = "(unknown task " + r.TaskID + ")"
				}
			}
			rows[key] = a
		}
		a.row.Seconds += r.Seconds
		if opts.By == ByCard {
			a.people[r.UserID] += r.Seconds
		}
	}
	for _, a := range rows {
		a.row.Hours, a.row.Decimal = FormatHMM(a.row.Seconds), FormatDecimalHours(a.row.Seconds)
		for uid, s := range a.people {
			a.row.People = append(a.row.People, PersonHours{UserID: uid, Name: userName(uid), Seconds: s, Hours: FormatHMM(s)})
		}
		sort.Slice(a.row.People, func(i, j int) bool {
			p, q := a.row.People[i], a.row.People[j]
			if p.Seconds != q.Seconds {
				return p.Seconds > q.Seconds
			}
			return p.UserID < q.UserID
		})
		rep.Rows = append(rep.Rows, a.row)
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if opts.By == ByDay {
			return a.Key < b.Key
		}
		if a.Seconds != b.Seconds {
			return a.Seconds > b.Seconds
		}
		return a.Key < b.Key
	})
	rep.Total = figure(total)

	// Budgets: the selected project, or every project with hours this
	// month or a monthly budget of its own (Everhour's or a config entry).
	// A project whose only budget is the config default is shown when it
	// has hours: the default covers every Everhour project, and listing
	// each idle one would bury the ones the client pays for.
	cfgBudgets := map[string]ProjectBudget{}
	for _, b := range opts.Budgets {
		cfgBudgets[b.ProjectID] = b
	}
	projects := map[string]adpacer.EverhourProject{}
	for _, p := range in.Projects {
		projects[p.ID] = p
	}
	monthly := func(pid string) (paid, bool) {
		p, hasProject := projects[pid]
		c, hasConfig := cfgBudgets[pid]
		pb, ok := paidBudget(p, hasProject, c, hasConfig, opts.DefaultSeconds)
		return pb, ok && pb.period == PeriodMonthly
	}
	show := map[string]bool{}
	if opts.ProjectID != "" {
		show[opts.ProjectID] = true
	} else {
		for pid := range projUsed {
			show[pid] = true
		}
		for _, p := range in.Projects {
			if pb, ok := monthly(p.ID); ok && !pb.byDefault {
				show[p.ID] = true
			}
		}
		for pid := range cfgBudgets {
			if _, ok := monthly(pid); ok {
				show[pid] = true
			}
		}
	}
	for pid := range show {
		p := projects[pid]
		c := cfgBudgets[pid]
		rb := ReportBudget{ProjectID: pid, Name: p.Name, Used: figure(projUsed[pid])}
		if c.Name != "" {
			rb.Name = c.Name
		}
		if rb.Name == "" {
			rb.Name = pid
		}
		if pb, ok := monthly(pid); ok {
			rb.Source = pb.source
			bf, rf := figure(pb.secs), figure(pb.secs-projUsed[pid])
			pct := Percent(projUsed[pid], pb.secs)
			rb.Budget, rb.Remaining, rb.UsedPercent = &bf, &rf, &pct
		}
		rep.Budgets = append(rep.Budgets, rb)
	}
	sort.Slice(rep.Budgets, func(i, j int) bool { return rep.Budgets[i].ProjectID < rep.Budgets[j].ProjectID })
	return rep, nil
}

// RenderHoursReport writes the hours report of opts.Period in opts.Format.
func RenderHoursReport(w io.Writer, data ReportInput, opts ReportOptions) error {
	rep, err := BuildHoursReport(data, opts)
	if err != nil {
		return err
	}
	switch opts.Format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // card names with & or < stay readable
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("report: write json: %w", err)
		}
		return nil
	case FormatCSV:
		return writeCSV(w, rep)
	}
	return writeTable(w, rep)
}

func peopleText(ps []PersonHours) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Name + " " + p.Hours
	}
	return strings.Join(parts, ", ")
}

// topPeople keeps a table row readable: the n people with most hours, then
// how many more (CSV and JSON list everyone).
func topPeople(ps []PersonHours, n int) string {
	if len(ps) <= n {
		return peopleText(ps)
	}
	return fmt.Sprintf("%s +%d more", peopleText(ps[:n]), len(ps)-n)
}

func writeTable(w io.Writer, rep HoursReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	scope := "all projects"
	if rep.Project != "" {
		scope = "project " + rep.Project
	}
	fmt.Fprintf(tw, "Hours %s (%s..%s), %s, by %s\n\n", rep.Period, rep.From, rep.To, scope, rep.By)
	switch rep.By {
	case ByCard:
		fmt.Fprintln(tw, "CARD\tLIST\tLABELS\tPEOPLE\tH:MM\tHOURS\t")
		for _, r := range rep.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", clean(r.Name), clean(r.List), clean(strings.Join(r.Labels, ", ")), clean(topPeople(r.People, 3)), r.Hours, r.Decimal)
		}
		fmt.Fprintf(tw, "TOTAL\t\t\t\t%s\t%s\n", rep.Total.Hours, rep.Total.Decimal)
	default:
		head := "PERSON"
		if rep.By == ByDay {
			head = "DATE"
		}
		fmt.Fprintf(tw, "%s\tH:MM\tHOURS\n", head)
		for _, r := range rep.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", clean(r.Name), r.Hours, r.Decimal)
		}
		fmt.Fprintf(tw, "TOTAL\t%s\t%s\n", rep.Total.Hours, rep.Total.Decimal)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	fmt.Fprintf(w, "\nTotal: %s (%s h, %d s)\n", rep.Total.Hours, rep.Total.Decimal, rep.Total.Seconds)
	if len(rep.Budgets) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROJECT\tSOURCE\tUSED\tPAID\tREMAINING\tUSED %\t")
	for _, b := range rep.Budgets {
		paid, rem, pct, src := "no monthly budget", "", "", b.Source
		if b.Budget != nil {
			paid = b.Budget.Hours + " (" + b.Budget.Decimal + ")"
			rem = b.Remaining.Hours + " (" + b.Remaining.Decimal + ")"
			pct = strconv.FormatInt(*b.UsedPercent, 10) + "%"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s\t%s\t%s\n", clean(b.Name), src, b.Used.Hours, b.Used.Decimal, paid, rem, pct)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	return nil
}

// clean keeps user-entered names from breaking table columns.
func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// CSV: one header; rows of kind "row", then "total", then per project
// "budget", "used" and "remaining" rows in the same columns.
func writeCSV(w io.Writer, rep HoursReport) error {
	cw := csv.NewWriter(w)
	rec := func(kind, id, name, list, labels, people string, f HoursFigure) {
		_ = cw.Write([]string{kind, id, name, list, labels, people, strconv.FormatInt(f.Seconds, 10), f.Hours, f.Decimal})
	}
	_ = cw.Write([]string{"kind", "id", "name", "list", "labels", "people", "seconds", "hours", "hours_decimal"})
	for _, r := range rep.Rows {
		rec("row", r.Key, r.Name, r.List, strings.Join(r.Labels, "; "), peopleText(r.People), HoursFigure{r.Seconds, r.Hours, r.Decimal})
	}
	rec("total", "", "TOTAL", "", "", "", rep.Total)
	for _, b := range rep.Budgets {
		rec("used", b.ProjectID, b.Name, "", "", "", b.Used)
		if b.Budget != nil {
			rec("budget", b.ProjectID, b.Name, "", "", "", *b.Budget)
			rec("remaining", b.ProjectID, b.Name, "", "", "", *b.Remaining)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ReportSource loads the in-memory records the hours report needs for the
// inclusive dates [from, to]: time records of the range, and the tasks,
// users, projects, cards, lists and labels they refer to. The store
// implements it (the daemon's wiring); tests use a ReportInput directly.
type ReportSource interface {
	HoursReportInput(ctx context.Context, from, to string) (ReportInput, error)
}

// RunHoursReport loads the month of opts.Period from src and renders it.
func RunHoursReport(ctx context.Context, src ReportSource, w io.Writer, opts ReportOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	first, _ := time.Parse("2006-01", opts.Period)
	from, to := first.Format(time.DateOnly), first.AddDate(0, 1, -1).Format(time.DateOnly)
	in, err := src.HoursReportInput(ctx, from, to)
	if err != nil {
		return fmt.Errorf("report: load %s..%s: %w", from, to, err)
	}
	return RenderHoursReport(w, in, opts)
}
