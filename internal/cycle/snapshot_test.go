package cycle

import (
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

func TestMemoryFromAppliedChanges(t *testing.T) {
	// 23:30 UTC on 15 Nov is 02:30 on 16 Nov in Moscow: a new Yandex day.
	now := time.Date(2026, 11, 15, 23, 30, 0, 0, time.UTC)
	y := adpacer.Campaign{ID: "yandex_direct:1", TimeZone: "Asia/Vladivostok", State: adpacer.StatePaused}
	g := adpacer.Campaign{ID: "google_ads:2", TimeZone: "America/New_York", State: adpacer.StateOn}
	v := func(u int64) *adpacer.Micros { m := adpacer.FromUnits(u); return &m }
	changes := []AppliedChange{
		{Campaign: y.ID, Kind: adpacer.SetDailyBudget, Value: v(500), At: time.Date(2026, 11, 15, 20, 0, 0, 0, time.UTC)}, // 23:00 MSK on the 15th: yesterday
		{Campaign: y.ID, Kind: adpacer.SetDailyBudget, Value: v(700), At: time.Date(2026, 11, 15, 21, 30, 0, 0, time.UTC)},
		{Campaign: y.ID, Kind: adpacer.SetDailyBudget, Value: v(600), At: time.Date(2026, 11, 15, 22, 0, 0, 0, time.UTC)},
		{Campaign: y.ID, Kind: adpacer.Resume, At: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)},
		{Campaign: y.ID, Kind: adpacer.Pause, At: time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)},
		{Campaign: g.ID, Kind: adpacer.SetDailyBudget, Value: v(900), At: time.Date(2026, 11, 15, 4, 0, 0, 0, time.UTC)}, // 23:00 on the 14th in New York
		{Campaign: g.ID, Kind: adpacer.SetBid, Value: v(30), At: time.Date(2026, 11, 15, 18, 0, 0, 0, time.UTC)},
		{Campaign: g.ID, Kind: adpacer.Pause, At: time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC)},
		{Campaign: g.ID, Kind: adpacer.Resume, At: time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)},
	}
	mem := BuildMemory(now, []adpacer.Campaign{y, g}, changes)
	if m := mem[y.ID]; m.BudgetEditsToday != 2 || *m.MaxDailyBudgetToday != adpacer.FromUnits(700) || !m.PausedByEngine {
		t.Errorf("yandex memory %+v", m)
	}
	if m := mem[g.ID]; m.BudgetEditsToday != 0 || m.LastBudgetChange == nil || m.LastBidChange == nil || m.PausedByEngine {
		t.Errorf("google memory %+v", m)
	}
	snap := BuildSnapshot(SnapshotInput{Now: now, Campaigns: []adpacer.Campaign{y, g}, Memory: mem,
		Lines: []pacing.Line{{ID: "l", Campaigns: []adpacer.CampaignID{y.ID, g.ID}}}})
	if !snap.Campaigns[1].PausedByEngine || snap.Campaigns[0].PausedByEngine {
		t.Errorf("snapshot paused_by_engine: %+v", snap.Campaigns)
	}
}

func TestDeriveIntraday(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	day := time.Date(2026, 11, 16, 0, 0, 0, 0, msk)
	c := adpacer.CampaignID("yandex_direct:1")
	snaps := []adpacer.SpendSnapshot{
		{Campaign: c, Day: "2026-11-16", At: day.Add(3 * time.Hour), Cost: adpacer.FromUnits(100)},
		{Campaign: c, Day: "2026-11-16", At: day.Add(2 * time.Hour), Cost: adpacer.FromUnits(40)},
		{Campaign: c, Day: "2026-11-16", At: day.Add(4 * time.Hour), Cost: adpacer.FromUnits(90)}, // corrected down
		{Campaign: c, Day: "2026-11-16", At: day.Add(5 * time.Hour), Cost: adpacer.FromUnits(130)},
	}
	start := func(adpacer.CampaignID, string) (time.Time, bool) { return day, true }
	got := DeriveIntraday(snaps, start, func(adpacer.CampaignID, time.Time) bool { return false })
	var sum adpacer.Micros
	for _, s := range got {
		if s.Cost < 0 || !s.End.After(s.Start) {
			t.Errorf("bad interval %+v", s)
		}
		sum += s.Cost
	}
	// 40 + 60 + 0 (correction) + 40 from the corrected 90.
	if sum != adpacer.FromUnits(140) || len(got) != 3 {
		t.Errorf("derived %d intervals summing %s: %+v", len(got), sum, got)
	}
	if got := DeriveIntraday(snaps, start, func(adpacer.CampaignID, time.Time) bool { return true }); len(got) != 0 {
		t.Errorf("a day covered by reported stats was derived again: %+v", got)
	}
}
