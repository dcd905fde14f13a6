package pacing

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// Budget lines can live in the YAML config or in a CSV file an account
// manager keeps in a spreadsheet. The CSV has a header row; columns:
//
//	id, timezone, budget, currency, campaigns   required
//	month (YYYY-MM) or period_start + period_end (YYYY-MM-DD, inclusive)
//	name, directorate, region, client, owner, vat_included, target_cpa,
//	min_bid, max_bid, mode                                               optional
//
// campaigns is a list of campaign ids separated by ";", "," or spaces.
// Amounts accept "1500000.00", "1 500 000,00" and "1500000".
var csvColumns = []string{"id", "name", "directorate", "region", "client", "owner", "timezone", "month",
	"period_start", "period_end", "budget", "currency", "vat_included", "target_cpa", "min_bid", "max_bid", "campaigns", "mode"}

// ParseLinesCSV reads budget lines from CSV. Every problem is reported with
// its row number (the header is row 1); all problems are returned together.
func ParseLinesCSV(r io.Reader) ([]Line, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("lines csv: empty file; want a header row such as id,timezone,month,budget,currency,campaigns")
	}
	if err != nil {
		return nil, fmt.Errorf("lines csv: row 1: %w", err)
	}
	col := map[string]int{}
	var errs []error
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			errs = append(errs, fmt.Errorf("row 1: unknown column %q (allowed: %s)", h, strings.Join(csvColumns, ", ")))
			continue
		}
		if _, dup := col[h]; dup {
			errs = append(errs, fmt.Errorf("row 1: column %q appears twice", h))
		}
		col[h] = i
	}
	for _, req := range []string{"id", "timezone", "budget", "currency", "campaigns"} {
		if _, ok := col[req]; !ok {
			errs = append(errs, fmt.Errorf("row 1: missing required column %q", req))
		}
	}
	_, hasMonth := col["month"]
	_, hasStart := col["period_start"]
	_, hasEnd := col["period_end"]
	if !hasMonth && !(hasStart && hasEnd) {
		errs = append(errs, errors.New("row 1: need a month column (YYYY-MM) or period_start and period_end columns"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("lines csv: %w", errors.Join(errs...))
	}
	var lines []Line
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("row %d: %w", row, err))
			break
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue // blank spreadsheet row
		}
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("row %d: %s: %s", row, field, fmt.Sprintf(format, args...)))
		}
		l := Line{ID: get("id"), Name: get("name"), Directorate: get("directorate"), Region: get("region"),
			Client: get("client"), Owner: get("owner"), TimeZone: get("timezone"), Currency: strings.ToUpper(get("currency")), Mode: get("mode")}
		if l.ID == "" {
			bad("id", "is empty")
		}
		if m := get("month"); m != "" {
			t, err := time.Parse("2006-01", m)
			if err != nil {
				bad("month", "%q is not YYYY-MM", m)
			} else {
				l.Period = Period{Start: t.Format(dateLayout), End: t.AddDate(0, 1, -1).Format(dateLayout)}
			}
		} else {
			l.Period = Period{Start: get("period_start"), End: get("period_end")}
			if l.Period.Start == "" || l.Period.End == "" {
				bad("period", "give month or both period_start and period_end")
			}
		}
		if v, err := parseAmount(get("budget")); err != nil {
			bad("budget", "%v", err)
		} else {
			l.Budget = v
		}
		for _, f := range []struct {
			name string
			to   **adpacer.Micros
		}{{"target_cpa", &l.TargetCPA}, {"min_bid", &l.MinBid}, {"max_bid", &l.MaxBid}} {
			if s := get(f.name); s != "" {
				if v, err := parseAmount(s); err != nil {
					bad(f.name, "%v", err)
				} else {
					*f.to = &v
				}
			}
		}
		if s := get("vat_included"); s != "" {
			switch strings.ToLower(s) {
			case "true", "yes", "1", "да":
				l.VATIncluded = true
			case "false", "no", "0", "нет":
			default:
				bad("vat_included", "%q is not true or false", s)
			}
		}
		for _, id := range strings.FieldsFunc(get("campaigns"), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
			l.Campaigns = append(l.Campaigns, adpacer.CampaignID(id))
		}
		lines = append(lines, l)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("lines csv: %w", errors.Join(errs...))
	}
	return lines, nil
}

// parseAmount accepts spreadsheet-style amounts: spaces (also no-break) as
// thousands separators and a comma as the decimal separator.
func parseAmount(s string) (adpacer.Micros, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\u202f' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return 0, errors.New("is empty")
	}
	if !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	return adpacer.ParseMicros(s)
}

// ValidateLines checks budget lines against the known campaigns and returns
// every problem at once: unknown campaign, a campaign in two lines, currency
// mismatch, bad zone, bad period, bad amounts. Problems name the line by
// position (line #1 is the first; in a CSV it is row 2) and id.
func ValidateLines(lines []Line, campaigns []Campaign) error {
	known := make(map[adpacer.CampaignID]*Campaign, len(campaigns))
	for i := range campaigns {
		known[campaigns[i].ID] = &campaigns[i]
	}
	var errs []error
	owner := map[adpacer.CampaignID]int{}
	ids := map[string]int{}
	for i := range lines {
		l := &lines[i]
		where := fmt.Sprintf("line #%d (row %d) %q", i+1, i+2, l.ID)
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
		}
		if l.ID == "" {
			bad("id is empty")
		} else if j, dup := ids[l.ID]; dup {
			bad("id is also used by line #%d", j+1)
		} else {
			ids[l.ID] = i
		}
		loc, err := time.LoadLocation(l.TimeZone)
		if l.TimeZone == "" || l.TimeZone == "Local" || err != nil {
			bad("timezone %q is not an IANA zone such as Asia/Vladivostok", l.TimeZone)
			loc = nil
		}
		if loc != nil {
			if _, _, perr := periodBounds(l.Period, loc); perr != nil {
				bad("period%s: %s", perr.Path, perr.Msg)
			}
		}
		if l.Budget <= 0 {
			bad("budget must be positive, got %s", l.Budget)
		}
		if !validCurrency(l.Currency) {
			bad("currency %q is not an ISO 4217 code such as RUB", l.Currency)
		}
		if l.TargetCPA != nil && *l.TargetCPA <= 0 {
			bad("target_cpa must be positive, got %s", *l.TargetCPA)
		}
		if l.MinBid != nil && *l.MinBid <= 0 {
			bad("min_bid must be positive, got %s", *l.MinBid)
		}
		if l.MaxBid != nil && *l.MaxBid <= 0 {
			bad("max_bid must be positive, got %s", *l.MaxBid)
		}
		if l.MinBid != nil && l.MaxBid != nil && *l.MinBid > *l.MaxBid {
			bad("max_bid %s is below min_bid %s", *l.MaxBid, *l.MinBid)
		}
		switch l.Mode {
		case "", ModeObserve, ModeDryRun, ModeApprove, ModeApply:
		default:
			bad("mode %q is not one of observe, dry-run, approve, apply", l.Mode)
		}
		if len(l.Campaigns) == 0 {
			bad("has no campaigns")
		}
		for _, id := range l.Campaigns {
			c, ok := known[id]
			if !ok {
				bad("unknown campaign %s", id)
				continue
			}
			if j, taken := owner[id]; taken {
				bad("campaign %s is already in line #%d %q; a campaign belongs to one line", id, j+1, lines[j].ID)
				continue
			}
			owner[id] = i
			if c.Currency != l.Currency {
				bad("campaign %s is in %s but the line budget is in %s", id, c.Currency, l.Currency)
			}
			if lo, hi := bidRange(c, l); lo > hi {
				bad("campaign %s allows bids %s..%s and the line %s..%s: no bid fits both", id,
					fmtBound(c.MinBid, "0"), fmtBound(c.MaxBid, "any"), fmtBound(l.MinBid, "0"), fmtBound(l.MaxBid, "any"))
			}
		}
	}
	return errors.Join(errs...)
}

// RollupRow sums line statuses by directorate or client (per currency; a
// roll-up never adds roubles to tenge).
type RollupRow struct {
	Level         string         `json:"level"` // directorate | client | total
	Name          string         `json:"name"`
	Currency      string         `json:"currency"`
	Lines         int            `json:"lines"`
	Budget        adpacer.Micros `json:"budget"`
	Spent         adpacer.Micros `json:"spent"`
	PlannedToDate adpacer.Micros `json:"planned_to_date"`
	Projected     adpacer.Micros `json:"projected"`
	Remaining     adpacer.Micros `json:"remaining"`
	// Status counts the lines per status.
	Status map[string]int `json:"status"`
}

// Rollup aggregates a plan's line statuses by directorate, by client and in
// total. Rows are ordered by level, name and currency; lines without a
// directorate or client roll up under "(none)".
func Rollup(plan Plan, lines []Line) []RollupRow {
	byID := make(map[string]*Line, len(lines))
	for i := range lines {
		byID[lines[i].ID] = &lines[i]
	}
	type key struct{ level, name, cur string }
	rows := map[key]*RollupRow{}
	add := func(k key, l *Line, st LineStatus) {
		r, ok := rows[k]
		if !ok {
			r = &RollupRow{Level: k.level, Name: k.name, Currency: k.cur, Status: map[string]int{}}
			rows[k] = r
		}
		r.Lines++
		r.Budget += l.Budget
		r.Spent += st.Spent
		r.PlannedToDate += st.PlannedToDate
		r.Projected += st.Projected
		r.Remaining += st.Remaining
		r.Status[st.Status]++
	}
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	for _, st := range plan.Lines {
		l, ok := byID[st.ID]
		if !ok {
			continue
		}
		add(key{"directorate", orNone(l.Directorate), l.Currency}, l, st)
		add(key{"client", orNone(l.Client), l.Currency}, l, st)
		add(key{"total", "total", l.Currency}, l, st)
	}
	out := make([]RollupRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	rank := map[string]int{"directorate": 0, "client": 1, "total": 2}
	slices.SortFunc(out, func(a, b RollupRow) int {
		if c := rank[a.Level] - rank[b.Level]; c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return out
}
