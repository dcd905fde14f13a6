package sim

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// DecideFunc is the engine entry point; pacing.Decide by default, or a
// variant under tuning.
type DecideFunc func(*pacing.Snapshot) (pacing.Plan, error)

// EngineOptions configure the engine policy.
type EngineOptions struct {
	// Decide defaults to pacing.Decide.
	Decide DecideFunc
	// Policy is passed in every snapshot; nil lets the engine use its
	// defaults.
	Policy *pacing.Policy
}

// enginePolicy drives pacing.Decide the way the daemon does: every
// interval it builds a snapshot from what the platforms report (lagged,
// restated) plus the memory the daemon keeps (edits today, highest budget
// today, last changes), and applies the plan's actions through the
// platform setters, which may refuse.
type enginePolicy struct {
	sc       *Scenario
	decide   DecideFunc
	pol      *pacing.Policy
	interval int

	lines []pacing.Line
	camps []pacing.Campaign
	stats []pacing.Stat
	mem   []engineMemory
	snap  pacing.Snapshot

	// Counters reported with the results.
	actions, refused int
	refusals         map[string]int // by kind and platform code
}

type engineMemory struct {
	day        int32
	edits      int
	maxBudget  adpacer.Micros
	lastBid    time.Time
	lastBudget time.Time
	hasBid     bool
	hasBudget  bool
	// pausedByEngine: the engine's last state change was a pause, as the
	// daemon remembers from its audit log; the engine resumes only these.
	pausedByEngine bool
}

func newEnginePolicy(sc *Scenario, o EngineOptions) *enginePolicy {
	d := o.Decide
	if d == nil {
		d = pacing.Decide
	}
	p := &enginePolicy{sc: sc, decide: d, pol: o.Policy, interval: sc.EngineInterval,
		mem: make([]engineMemory, len(sc.Campaigns)), refusals: map[string]int{}}
	for li := range sc.Lines {
		l := &sc.Lines[li]
		loc := sc.zones[l.Zone]
		ids := make([]adpacer.CampaignID, len(l.Campaigns))
		for i, ci := range l.Campaigns {
			ids[i] = sc.Campaigns[ci].ID
		}
		var target *adpacer.Micros
		if l.TargetCPA != nil {
			t := *l.TargetCPA
			target = &t
		}
		p.lines = append(p.lines, pacing.Line{ID: l.ID, Name: l.Name, Directorate: l.Directorate, TimeZone: l.TimeZone,
			Period: pacing.Period{Start: l.Start.In(loc).Format(time.DateOnly), End: l.End.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)},
			Budget: l.Budget, Currency: "RUB", TargetCPA: target, Campaigns: ids, Mode: "apply"})
	}
	for i := range p.mem {
		p.mem[i].day = -1 << 30
	}
	return p
}

func (p *enginePolicy) Name() string { return PolicyEngine }

func (p *enginePolicy) Step(w *World) error {
	if w.k%p.interval != 0 {
		return nil
	}
	sc := w.sc
	k := w.k
	active := false
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k >= l.StartTick && k < l.EndTick {
			active = true
		}
		p.lines[li].Budget = l.BudgetAt(k)
	}
	if !active {
		return nil
	}
	p.buildSnapshot(w)
	plan, err := p.decide(&p.snap)
	if err != nil {
		return fmt.Errorf("engine at %s: %w", w.Now().Format(time.RFC3339), err)
	}
	p.apply(w, plan.Actions)
	return nil
}

func (p *enginePolicy) memFor(w *World, ci int) *engineMemory {
	m := &p.mem[ci]
	st := &w.camps[ci]
	if m.day != st.day {
		m.day, m.edits, m.maxBudget = st.day, 0, st.setting
	}
	return m
}

func (p *enginePolicy) buildSnapshot(w *World) {
	sc := w.sc
	now := w.Now()
	p.camps = p.camps[:0]
	p.stats = p.stats[:0]
	for ci := range sc.Campaigns {
		c := &sc.Campaigns[ci]
		live := w.campaign(ci)
		m := p.memFor(w, ci)
		minBid, maxBid := c.MinBid, c.MaxBid
		maxToday := m.maxBudget
		pc := pacing.Campaign{ID: c.ID, Platform: c.Platform, TimeZone: c.TimeZone, Currency: "RUB", State: live.State,
			DailyBudget: live.DailyBudget, Bid: live.Bid, MinBid: &minBid, MaxBid: &maxBid,
			BudgetEditsToday: m.edits, DataAsOf: w.DataAsOf(c.Platform), MaxDailyBudgetToday: &maxToday}
		if m.hasBid {
			t := m.lastBid
			pc.LastBidChange = &t
		}
		if m.hasBudget {
			t := m.lastBudget
			pc.LastBudgetChange = &t
		}
		pc.PausedByEngine = m.pausedByEngine && live.State == adpacer.StatePaused
		p.camps = append(p.camps, pc)
		p.appendStats(w, ci)
	}
	p.snap = pacing.Snapshot{Version: pacing.SnapshotVersion, Now: now, Policy: p.pol, Lines: p.lines, Campaigns: p.camps, Stats: p.stats}
}

// appendStats adds the campaign's reported rows for its line period: whole
// line-zone days before the hourly window, then hours up to the report
// frontier (the last row may be a partial hour ending at DataAsOf).
func (p *enginePolicy) appendStats(w *World, ci int) {
	sc := w.sc
	c := &sc.Campaigns[ci]
	l := &sc.Lines[c.Line]
	f := min(int(w.m.frontier[c.pidx][w.k]), l.EndTick)
	if f <= l.StartTick {
		return
	}
	// First tick of the hourly window: the line-zone midnight HourlyStatsDays-1 days ago.
	z := l.Zone
	todayStart := w.k - int(sc.zoneTickDay[z][min(w.k, w.T-1)])
	hourlyFrom := max(l.StartTick, todayStart-(sc.HourlyStatsDays-1)*ticksPerDay)
	hourlyFrom = min(hourlyFrom, f)
	for k0 := l.StartTick; k0 < hourlyFrom; {
		k1 := min(hourlyFrom, k0+ticksPerDay-int(sc.zoneTickDay[z][k0]))
		p.appendRow(w, ci, k0, k1)
		k0 = k1
	}
	for k0 := hourlyFrom; k0 < f; {
		k1 := min(f, (k0/ticksPerHour+1)*ticksPerHour)
		p.appendRow(w, ci, k0, k1)
		k0 = k1
	}
}

func (p *enginePolicy) appendRow(w *World, ci, k0, k1 int) {
	s := w.reported(ci, k0, k1)
	p.stats = append(p.stats, pacing.Stat{Campaign: s.Campaign, Start: w.sc.TickTime(k0), End: w.sc.TickTime(k1),
		Cost: s.Cost, Clicks: s.Clicks, Impressions: s.Impressions, Conversions: s.Conversions})
}

func (p *enginePolicy) apply(w *World, actions []pacing.Action) {
	// Apply in a stable order: the plan's order is deterministic already,
	// but sort by campaign to make the write sequence independent of it.
	sort.SliceStable(actions, func(i, j int) bool { return actions[i].Campaign < actions[j].Campaign })
	now := w.Now()
	for _, a := range actions {
		ci, ok := w.sc.campIdx[a.Campaign]
		if !ok {
			p.refused++
			continue
		}
		p.actions++
		var err error
		switch a.Kind {
		case adpacer.SetDailyBudget:
			if a.Value == nil {
				p.refused++
				continue
			}
			before := w.camps[ci].setting
			err = w.setBudget(ci, *a.Value)
			if err == nil && *a.Value != before {
				m := p.memFor(w, ci)
				m.edits++
				if *a.Value > m.maxBudget {
					m.maxBudget = *a.Value
				}
				m.lastBudget, m.hasBudget = now, true
			}
		case adpacer.SetBid:
			if a.Value == nil {
				p.refused++
				continue
			}
			before := w.camps[ci].bid
			err = w.setBid(ci, *a.Value)
			if err == nil && *a.Value != before {
				m := p.memFor(w, ci)
				m.lastBid, m.hasBid = now, true
			}
		case adpacer.Pause:
			if err = w.setState(ci, adpacer.StatePaused); err == nil {
				p.memFor(w, ci).pausedByEngine = true
			}
		case adpacer.Resume:
			if err = w.setState(ci, adpacer.StateOn); err == nil {
				p.memFor(w, ci).pausedByEngine = false
			}
		default:
			err = fmt.Errorf("unknown action kind %q", a.Kind)
		}
		if err != nil {
			p.refused++
			code := "other"
			var pe *PlatformError
			if errors.As(err, &pe) {
				code = pe.Code
			}
			p.refusals[string(a.Kind)+":"+code]++
		}
	}
}
