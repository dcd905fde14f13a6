package cycle

import (
	"fmt"
	"math/rand/v2"
	"slices"
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

// TestSnapshotStatsOrdered: reported stats (in any order) and today's
// derived intervals come out as one list ordered by campaign and start,
// with only the lines' campaigns.
func TestSnapshotStatsOrdered(t *testing.T) {
	a, b, other := adpacer.CampaignID("google_ads:1"), adpacer.CampaignID("yandex_direct:2"), adpacer.CampaignID("yandex_direct:3")
	day := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	st := func(c adpacer.CampaignID, h int) adpacer.Stat {
		return adpacer.Stat{Campaign: c, Start: day.Add(time.Duration(h) * time.Hour), End: day.Add(time.Duration(h+1) * time.Hour), Cost: adpacer.Micros(h)}
	}
	in := SnapshotInput{
		Lines:    []pacing.Line{{ID: "l", Campaigns: []adpacer.CampaignID{a, b}}},
		Stats:    []adpacer.Stat{st(b, 1), st(a, 2), st(other, 0), st(a, 1), st(b, 0)},
		Intraday: []adpacer.Stat{st(a, 30), st(b, 25), st(b, 26), st(other, 25)},
	}
	got := BuildSnapshot(in).Stats
	want := []struct {
		c adpacer.CampaignID
		h int
	}{{a, 1}, {a, 2}, {a, 30}, {b, 0}, {b, 1}, {b, 25}, {b, 26}}
	if len(got) != len(want) {
		t.Fatalf("%d stats, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Campaign != w.c || !got[i].Start.Equal(day.Add(time.Duration(w.h)*time.Hour)) {
			t.Errorf("stats[%d] = %s at %s, want %s at hour %d", i, got[i].Campaign, got[i].Start, w.c, w.h)
		}
	}
	if s := BuildSnapshot(SnapshotInput{Lines: in.Lines}).Stats; s != nil {
		t.Errorf("no stats gave %+v, want none", s)
	}
}

// TestMergeInto: merging in place gives what a stable sort of a then b
// gives, for random lists with repeated keys, with and without room.
func TestMergeInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	day := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	gen := func(n int, tag adpacer.Micros) []pacing.Stat {
		out := make([]pacing.Stat, n)
		for i := range out {
			out[i] = pacing.Stat{Campaign: adpacer.CampaignID(fmt.Sprint("c", rng.IntN(4))), Start: day.Add(time.Duration(rng.IntN(6)) * time.Hour), Cost: tag + adpacer.Micros(i)}
		}
		slices.SortStableFunc(out, compareStats)
		return out
	}
	for round := range 500 {
		a, b := gen(rng.IntN(30), 0), gen(rng.IntN(8), 1000)
		want := append(slices.Clone(a), b...)
		slices.SortStableFunc(want, compareStats)
		if round%2 == 0 {
			a = slices.Grow(a, len(b))
		}
		if got := mergeInto(a, b); !slices.Equal(got, want) {
			t.Fatalf("round %d: merge of\n%v\nand\n%v\n= %v\nwant %v", round, a, b, got, want)
		}
	}
}
