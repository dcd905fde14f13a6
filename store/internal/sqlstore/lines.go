package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

func validateLines(lines []store.BudgetLine) error {
	seen := map[string]bool{}
	for i, l := range lines {
		f := func(n string) string { return fmt.Sprintf("lines[%d].%s", i, n) }
		switch {
		case l.ID == "":
			return store.Invalid(f("id"), "empty line id")
		case seen[l.ID]:
			return store.Invalid(f("id"), fmt.Sprintf("line %q appears twice", l.ID))
		case !validDate(l.PeriodStart):
			return store.Invalid(f("period_start"), fmt.Sprintf("%q is not a date YYYY-MM-DD", l.PeriodStart))
		case !validDate(l.PeriodEnd):
			return store.Invalid(f("period_end"), fmt.Sprintf("%q is not a date YYYY-MM-DD", l.PeriodEnd))
		case l.PeriodEnd < l.PeriodStart:
			return store.Invalid(f("period_end"), fmt.Sprintf("%s is before period start %s", l.PeriodEnd, l.PeriodStart))
		case l.Budget < 0:
			return store.Invalid(f("budget"), fmt.Sprintf("negative budget %s", l.Budget))
		case !validCurrency(l.Currency):
			return store.Invalid(f("currency"), fmt.Sprintf("%q is not an ISO 4217 code such as RUB", l.Currency))
		case l.TargetCPA != nil && *l.TargetCPA < 0:
			return store.Invalid(f("target_cpa"), fmt.Sprintf("negative target CPA %s", l.TargetCPA))
		}
		if _, err := time.LoadLocation(l.TimeZone); err != nil || l.TimeZone == "" {
			return store.Invalid(f("timezone"), fmt.Sprintf("%q is not an IANA zone such as Europe/Moscow", l.TimeZone))
		}
		seen[l.ID] = true
		for j, m := range l.Campaigns {
			g := func(n string) string { return fmt.Sprintf("lines[%d].campaigns[%d].%s", i, j, n) }
			if _, _, err := m.Campaign.Split(); err != nil {
				return store.Invalid(g("campaign"), err.Error())
			}
			if m.From.IsZero() {
				return store.Invalid(g("effective_from"), "zero time; give the moment the campaign joined the line")
			}
			if !m.To.IsZero() && !m.To.After(m.From) {
				return store.Invalid(g("effective_to"), fmt.Sprintf("%s is not after effective_from %s", m.To.Format(time.RFC3339), m.From.Format(time.RFC3339)))
			}
		}
	}
	return nil
}

// SaveBudgetLines implements store.Store.
func (s *Store) SaveBudgetLines(ctx context.Context, lines []store.BudgetLine) error {
	if err := validateLines(lines); err != nil {
		return err
	}
	return s.write(ctx, "save budget lines", func(tx *sql.Tx) error {
		for i, l := range lines {
			// A campaign already stored in another currency cannot join.
			var ids []string
			for _, m := range l.Campaigns {
				ids = append(ids, string(m.Campaign))
			}
			if len(ids) > 0 {
				cond, arg := s.inText("id", ids)
				var id, cur string
				err := tx.QueryRowContext(ctx, s.q(`SELECT id, currency FROM campaigns WHERE currency <> ? AND `+cond+` ORDER BY id LIMIT 1`), l.Currency, arg).Scan(&id, &cur)
				if err == nil {
					return store.Invalid(fmt.Sprintf("lines[%d].currency", i),
						fmt.Sprintf("line %q is in %s but its campaign %s is in %s; a line sums one currency", l.ID, l.Currency, id, cur))
				}
				if err != sql.ErrNoRows {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO budget_lines (id, name, directorate, region, client, owner, time_zone,
				period_start, period_end, budget, currency, vat_included, target_cpa, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, directorate = excluded.directorate, region = excluded.region,
				client = excluded.client, owner = excluded.owner, time_zone = excluded.time_zone, period_start = excluded.period_start,
				period_end = excluded.period_end, budget = excluded.budget, currency = excluded.currency,
				vat_included = excluded.vat_included, target_cpa = excluded.target_cpa, mode = excluded.mode`),
				l.ID, l.Name, l.Directorate, l.Region, l.Client, l.Owner, l.TimeZone, l.PeriodStart, l.PeriodEnd, int64(l.Budget),
				l.Currency, l.VATIncluded, microsArg(l.TargetCPA), l.Mode); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM budget_line_campaigns WHERE line_id = ?`), l.ID); err != nil {
				return err
			}
			for j, m := range l.Campaigns {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO budget_line_campaigns (line_id, campaign_id, effective_from_us, effective_to_us)
					VALUES (?, ?, ?, ?)`), l.ID, string(m.Campaign), m.From.UnixMicro(), usArg(m.To)); err != nil {
					if isTyped(s.classify(err)) {
						return store.Invalid(fmt.Sprintf("lines[%d].campaigns[%d]", i, j), fmt.Sprintf("campaign %s joins line %q twice at %s", m.Campaign, l.ID, m.From.Format(time.RFC3339)))
					}
					return err
				}
			}
		}
		return nil
	})
}

// BudgetLines implements store.Store.
func (s *Store) BudgetLines(ctx context.Context, at time.Time) ([]store.BudgetLine, error) {
	rows, err := s.cfg.Reader.QueryContext(ctx, `SELECT id, name, directorate, region, client, owner, time_zone, period_start, period_end,
		budget, currency, vat_included, target_cpa, mode FROM budget_lines ORDER BY id`)
	if err != nil {
		return nil, s.readErr("budget lines", err)
	}
	var lines []store.BudgetLine
	for rows.Next() {
		var l store.BudgetLine
		var budget int64
		var cpa sql.NullInt64
		if err := rows.Scan(&l.ID, &l.Name, &l.Directorate, &l.Region, &l.Client, &l.Owner, &l.TimeZone, &l.PeriodStart, &l.PeriodEnd,
			&budget, &l.Currency, &l.VATIncluded, &cpa, &l.Mode); err != nil {
			rows.Close()
			return nil, s.readErr("budget lines", err)
		}
		l.Budget, l.TargetCPA = adpacer.Micros(budget), toMicros(cpa)
		if !at.IsZero() {
			loc, err := time.LoadLocation(l.TimeZone)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: budget line %s: time zone %q: %w", l.ID, l.TimeZone, err)
			}
			if d := at.In(loc).Format(time.DateOnly); d < l.PeriodStart || d > l.PeriodEnd {
				continue
			}
		}
		lines = append(lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.readErr("budget lines", err)
	}
	idx := map[string]int{}
	for i, l := range lines {
		idx[l.ID] = i
	}
	mrows, err := s.cfg.Reader.QueryContext(ctx, `SELECT line_id, campaign_id, effective_from_us, effective_to_us FROM budget_line_campaigns
		ORDER BY line_id, campaign_id, effective_from_us`)
	if err != nil {
		return nil, s.readErr("budget lines", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var line, id string
		var from int64
		var to sql.NullInt64
		if err := mrows.Scan(&line, &id, &from, &to); err != nil {
			return nil, s.readErr("budget lines", err)
		}
		i, ok := idx[line]
		if !ok {
			continue
		}
		m := store.Membership{Campaign: adpacer.CampaignID(id), From: time.UnixMicro(from).UTC(), To: fromUS(to)}
		if !at.IsZero() && !m.Effective(at) {
			continue
		}
		lines[i].Campaigns = append(lines[i].Campaigns, m)
	}
	return lines, s.rowsErr("budget lines", mrows)
}
