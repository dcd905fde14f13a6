package config

import (
	"fmt"
	"os"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// Policy returns pacing.DefaultPolicy with the configured overrides.
func (c *Config) Policy() pacing.Policy {
	p := pacing.DefaultPolicy()
	o := c.Pacing.Policy
	if o.MaxDataAge != nil {
		p.MaxDataAge = pacing.Duration(*o.MaxDataAge)
	}
	if o.ReservePct != nil {
		p.ReservePct = *o.ReservePct
	}
	if o.TolerancePct != nil {
		p.TolerancePct = *o.TolerancePct
	}
	if o.MaxBidStepPct != nil {
		p.MaxBidStepPct = *o.MaxBidStepPct
	}
	if o.BidCooldown != nil {
		p.BidCooldown = pacing.Duration(*o.BidCooldown)
	}
	if o.ApprovalThresholdPct != nil {
		p.ApprovalThresholdPct = *o.ApprovalThresholdPct
	}
	if o.CPABreachPct != nil {
		p.CPABreachPct = *o.CPABreachPct
	}
	if o.MaxBudgetStepPct != nil {
		p.MaxBudgetStepPct = *o.MaxBudgetStepPct
	}
	if o.BudgetShiftPct != nil {
		p.BudgetShiftPct = *o.BudgetShiftPct
	}
	if o.MinConversions != nil {
		p.MinConversions = *o.MinConversions
	}
	if o.ConversionDelayMedian != nil {
		p.ConversionDelayMedian = pacing.Duration(*o.ConversionDelayMedian)
	}
	if o.ConversionDelayP95 != nil {
		p.ConversionDelayP95 = pacing.Duration(*o.ConversionDelayP95)
	}
	for k, v := range o.ReportingLag {
		if p.ReportingLag == nil {
			p.ReportingLag = map[adpacer.Platform]pacing.Duration{}
		}
		p.ReportingLag[k] = pacing.Duration(v)
	}
	for k, v := range o.Overdelivery {
		if p.Overdelivery == nil {
			p.Overdelivery = map[adpacer.Platform]float64{}
		}
		p.Overdelivery[k] = v
	}
	for k, v := range o.MinDailyBudget {
		if p.MinDailyBudget == nil {
			p.MinDailyBudget = map[adpacer.Platform]adpacer.Micros{}
		}
		p.MinDailyBudget[k] = v.Micros()
	}
	return p
}

// Lines returns the budget lines as the engine's pacing.Line, from the
// inline list or from budget_lines_file through parse (pacing.ParseLinesCSV).
// A line without a period gets the calendar month containing now in the
// line's zone. Call it after Validate succeeded.
func (c *Config) Lines(now time.Time, parse LinesParser) ([]pacing.Line, error) {
	if c.Pacing.BudgetLinesFile != "" {
		if parse == nil {
			return nil, fmt.Errorf("config: pacing.budget_lines_file is set but no CSV parser was given")
		}
		f, err := os.Open(c.resolve(c.Pacing.BudgetLinesFile))
		if err != nil {
			return nil, fmt.Errorf("config: open pacing.budget_lines_file: %w", err)
		}
		defer f.Close()
		lines, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("config: pacing.budget_lines_file %s: %w", c.Pacing.BudgetLinesFile, err)
		}
		return lines, nil
	}
	out := make([]pacing.Line, 0, len(c.Pacing.BudgetLines))
	for i, l := range c.Pacing.BudgetLines {
		loc, err := time.LoadLocation(l.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("config: pacing.budget_lines[%d].timezone: %w", i, err)
		}
		period := pacing.Period{}
		if l.Period != nil {
			period = pacing.Period{Start: l.Period.Start, End: l.Period.End}
		} else {
			t := now.In(loc)
			first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
			last := first.AddDate(0, 1, -1)
			period = pacing.Period{Start: first.Format(time.DateOnly), End: last.Format(time.DateOnly)}
		}
		pl := pacing.Line{
			ID: l.ID, Name: l.Name, Directorate: l.Directorate, Region: l.Region,
			Client: l.Client, Owner: l.Owner, TimeZone: l.TimeZone, Period: period,
			Budget: l.Budget.Micros(), Currency: l.Currency, VATIncluded: l.VATIncluded,
			Campaigns: append([]adpacer.CampaignID(nil), l.Campaigns...),
			Mode:      l.Mode,
		}
		if pl.Mode == "" {
			pl.Mode = c.Mode
		}
		pl.TargetCPA, pl.MinBid, pl.MaxBid = l.TargetCPA.microsPtr(), l.MinBid.microsPtr(), l.MaxBid.microsPtr()
		out = append(out, pl)
	}
	return out, nil
}
