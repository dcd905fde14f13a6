package sim

import (
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// TestEngineAdapterSnapshotAndApply drives the adapter with a recording
// DecideFunc: the snapshot must carry exactly what the platforms report
// and the daemon's memory, and actions must go through the platform rules.
func TestEngineAdapterSnapshotAndApply(t *testing.T) {
	w := testWorld(t, false)
	sc := w.sc
	var snaps []pacing.Snapshot
	var plan []pacing.Action
	decide := func(s *pacing.Snapshot) (pacing.Plan, error) {
		c := *s
		c.Stats = append([]pacing.Stat(nil), s.Stats...)
		c.Campaigns = append([]pacing.Campaign(nil), s.Campaigns...)
		snaps = append(snaps, c)
		return pacing.Plan{Actions: plan}, nil
	}
	p := newEnginePolicy(sc, EngineOptions{Decide: decide})
	run := func(to time.Time) {
		for w.Now().Before(to) {
			must(t, p.Step(w))
			w.Advance(w.Now().Add(TickLength))
		}
	}
	run(at(msk, 5, 10))
	if len(snaps) != 4*24+10 {
		t.Fatalf("%d decisions in 4 days 10 hours, want one an hour", len(snaps))
	}
	// Stats of the newest snapshot add up to what the platforms report for
	// the period so far and end at each platform's frontier.
	plan = []pacing.Action{
		{Campaign: yandexID, Kind: adpacer.SetDailyBudget, Value: ptr(rub(1500))},
		{Campaign: googleID, Kind: adpacer.SetDailyBudget, Value: ptr(rub(2500))},
		{Campaign: googleID, Kind: adpacer.SetDailyBudget, Value: ptr(rub(1200))},
		{Campaign: vkID, Kind: adpacer.SetBid, Value: ptr(rub(70))},
		{Campaign: vkID, Kind: adpacer.SetDailyBudget, Value: ptr(rub(100))}, // below VK's 300 minimum
	}
	must(t, p.Step(w))
	s := snaps[len(snaps)-1]
	if !s.Now.Equal(at(msk, 5, 10)) || len(s.Lines) != 1 || s.Lines[0].Period.Start != "2026-09-01" || s.Lines[0].Period.End != "2026-09-30" {
		t.Fatalf("snapshot now %s lines %+v", s.Now, s.Lines)
	}
	for _, c := range s.Campaigns {
		var sum adpacer.Micros
		var last time.Time
		for _, st := range s.Stats {
			if st.Campaign != c.ID {
				continue
			}
			if !st.Start.Equal(last) && !last.IsZero() {
				t.Fatalf("%s: rows not contiguous at %s", c.ID, st.Start)
			}
			if st.End.Sub(st.Start) > 24*time.Hour {
				t.Fatalf("%s: row longer than a day", c.ID)
			}
			sum += st.Cost
			last = st.End
		}
		if !last.Equal(c.DataAsOf) || !c.DataAsOf.Equal(w.DataAsOf(c.Platform)) {
			t.Errorf("%s: rows end %s, DataAsOf %s, platform frontier %s", c.ID, last, c.DataAsOf, w.DataAsOf(c.Platform))
		}
		want, err := w.ReportedStat(c.ID, sc.Lines[0].Start, w.Now())
		must(t, err)
		// Rows are rounded to the micro one by one.
		if d := sum - want.Cost; d < -100 || d > 100 || sum == 0 {
			t.Errorf("%s: stats sum %s, reported %s", c.ID, sum, want.Cost)
		}
	}
	// Actions went through the platform rules.
	if r := p.refusals["set_daily_budget:ERR_WRONG_PARAMETER"]; r != 1 {
		t.Errorf("refusals %v, want the VK budget below the minimum refused", p.refusals)
	}
	plan = nil
	w.Advance(w.Now().Add(TickLength))
	for w.Now().Before(at(msk, 5, 11)) {
		w.Advance(w.Now().Add(TickLength))
	}
	must(t, p.Step(w))
	s = snaps[len(snaps)-1]
	byID := map[adpacer.CampaignID]pacing.Campaign{}
	for _, c := range s.Campaigns {
		byID[c.ID] = c
	}
	g := byID[googleID]
	if *g.DailyBudget != rub(1200) || *g.MaxDailyBudgetToday != rub(2500) || g.BudgetEditsToday != 2 || g.LastBudgetChange == nil {
		t.Errorf("google memory: budget %s max today %s edits %d last %v", *g.DailyBudget, *g.MaxDailyBudgetToday, g.BudgetEditsToday, g.LastBudgetChange)
	}
	if y := byID[yandexID]; *y.DailyBudget != rub(1500) || y.BudgetEditsToday != 1 {
		t.Errorf("yandex: budget %s edits %d", *y.DailyBudget, y.BudgetEditsToday)
	}
	if v := byID[vkID]; *v.Bid != rub(70) || v.LastBidChange == nil || *v.DailyBudget != rub(1000) {
		t.Errorf("vk: bid %s last bid change %v budget %s", *v.Bid, v.LastBidChange, *v.DailyBudget)
	}
}

func ptr[T any](v T) *T { return &v }
