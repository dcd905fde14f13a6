package pacing

import (
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

// withRoom runs the case once with an ample budget to learn the line's
// estimated spend, then sets the budget so that room is left above it.
func withRoom(t *testing.T, cs caseSpec, room float64) *Snapshot {
	t.Helper()
	cs.lines[0].budget = 1e9
	plan, err := Decide(cs.build())
	if err != nil {
		t.Fatal(err)
	}
	est := float64(cs.lines[0].budget) - plan.Lines[0].Remaining.Float()
	cs.lines[0].budget = est + room
	return cs.build()
}

func actionsOf(plan Plan, id string) map[adpacer.ActionKind]Action {
	out := map[adpacer.ActionKind]Action{}
	for _, a := range plan.Actions {
		if string(a.Campaign) == id {
			out[a.Kind] = a
		}
	}
	return out
}

// The evening before the last day, a Yandex campaign whose worst case for
// the rest of today no longer fits is paused, and cut to the minimum for
// tomorrow: a Yandex cut applies only from the next day, so without it the
// campaign could resume on the last day only at today's full budget, which
// does not fit, and would stay paused to the end of the period.
func TestBrakeParksYandexForTomorrow(t *testing.T) {
	cs := caseSpec{now: "2026-11-29T18:30:00Z", // 21:30 MSK
		lines: []lineSpec{{id: "msk", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30"}},
		campaigns: []campSpec{
			{id: "yandex_direct:1", line: "msk", tz: "Europe/Moscow", budget: 60000, bid: 30, dailySpend: 60000, historyDays: 29, cpc: 30},
		}}
	for _, tc := range []struct {
		name  string
		edits int
		park  bool
	}{
		{"edit left", 1, true},
		{"no edit left", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := cs
			cs.campaigns = append([]campSpec(nil), cs.campaigns...)
			cs.campaigns[0].edits = tc.edits
			s := withRoom(t, cs, 8000)
			plan, err := Decide(s)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariant(t, s, plan)
			acts := actionsOf(plan, "yandex_direct:1")
			if _, ok := acts[adpacer.Pause]; !ok {
				t.Fatalf("want a pause, got %+v", plan.Actions)
			}
			b, ok := acts[adpacer.SetDailyBudget]
			if ok != tc.park {
				t.Fatalf("budget action present = %v, want %v (%+v)", ok, tc.park, plan.Actions)
			}
			if ok && (*b.Value != adpacer.FromUnits(300) || !strings.Contains(b.Reason, "paused")) {
				t.Fatalf("park = %s (%s), want the 300 RUB minimum", b.Value, b.Reason)
			}
		})
	}
}

// On the line's last Moscow day a Google account in Yekaterinburg is past
// its own last day of the month by 19:00 UTC, so its platform day ends
// before the period; the engine-paused campaign is still resumed at the
// largest budget that fits rather than kept paused to the end.
func TestLastDayResumesAtWhatFits(t *testing.T) {
	cs := caseSpec{now: "2026-11-30T08:00:00Z",
		lines: []lineSpec{{id: "msk", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30"}},
		campaigns: []campSpec{
			{id: "google_ads:2", line: "msk", tz: "Asia/Yekaterinburg", state: adpacer.StatePaused, pausedByUs: true,
				budget: 5000, bid: 20, maxToday: 20000, budgetAgo: 2 * time.Hour, dailySpend: 20000, historyDays: 29, cpc: 20},
			{id: "vk_ads:3", line: "msk", tz: "Europe/Moscow", budget: 20000, bid: 20, dailySpend: 20000, historyDays: 29, cpc: 20},
		}}
	s := withRoom(t, cs, 24000)
	plan, err := Decide(s)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s, plan)
	acts := actionsOf(plan, "google_ads:2")
	if _, ok := acts[adpacer.Resume]; !ok {
		t.Fatalf("want the paused Google campaign resumed, got %+v", plan.Actions)
	}
	if b, ok := acts[adpacer.SetDailyBudget]; ok && *b.Value >= adpacer.FromUnits(20000) {
		t.Fatalf("resumed at %s, want a budget below the desired one that fits", b.Value)
	}
}

// On an approve-mode line a large budget change waits for a person, but a
// cut the invariant needs does not: held until someone approves it, the
// platforms could spend past the budget meanwhile.
func TestInvariantCutNeedsNoApproval(t *testing.T) {
	cs := caseSpec{now: "2026-11-30T09:00:00Z",
		lines: []lineSpec{{id: "msk", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", mode: ModeApprove}},
		campaigns: []campSpec{
			{id: "vk_ads:7", line: "msk", tz: "Europe/Moscow", budget: 40000, bid: 20, dailySpend: 40000, historyDays: 29, cpc: 20},
		}}
	cs.policy = func() *Policy { p := DefaultPolicy(); p.ApprovalThresholdPct = 15; return &p }()
	s := withRoom(t, cs, 20000)
	plan, err := Decide(s)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s, plan)
	b, ok := actionsOf(plan, "vk_ads:7")[adpacer.SetDailyBudget]
	if !ok || *b.Value >= adpacer.FromUnits(40000)*85/100 {
		t.Fatalf("want a cut of more than the 15%% threshold, got %+v", plan.Actions)
	}
	if b.NeedsApproval {
		t.Fatalf("the invariant's cut %s -> %s waits for approval: %s", b.Previous, b.Value, b.Reason)
	}
}
