package pacing

import (
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

// dailyRows merges the closed local days of hourly stats into one row per
// campaign and day, as Yandex Direct reports closed days; today stays hourly.
func dailyRows(t *testing.T, stats []Stat, loc *time.Location, now time.Time) []Stat {
	t.Helper()
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	var out []Stat
	byDay := map[string]int{}
	for _, st := range stats {
		l := st.Start.In(loc)
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if !day.Before(today) {
			out = append(out, st)
			continue
		}
		key := string(st.Campaign) + day.Format(time.DateOnly)
		i, ok := byDay[key]
		if !ok {
			i = len(out)
			byDay[key] = i
			out = append(out, Stat{Campaign: st.Campaign, Start: day.UTC(), End: day.AddDate(0, 0, 1).UTC()})
		}
		out[i].Cost += st.Cost
		out[i].Clicks += st.Clicks
		out[i].Impressions += st.Impressions
		out[i].Conversions += st.Conversions
	}
	return out
}

// A campaign that spends its whole budget is not short of traffic, whether
// its closed days come as hourly rows or as daily rows: the bid rule's 72
// hours once summed day buckets by row start, which dropped the part of a
// daily row inside the window, read such a campaign as using about 80% of
// its budget and raised its bid while its line was behind plan.
func TestFullySpendingCampaignIsNotShortOfTraffic(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	cs := caseSpec{now: "2026-11-15T06:00:00Z", // 09:00 in Moscow
		// Far behind plan, so the raise rule is live.
		lines: []lineSpec{{id: "l", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 3_000_000}},
		campaigns: []campSpec{{id: "yandex_direct:1", line: "l", tz: "Europe/Moscow", budget: 1000, bid: 30,
			dailySpend: 1000, historyDays: 14, cpc: 20}}}
	for _, daily := range []bool{false, true} {
		s := cs.build()
		if daily {
			s.Stats = dailyRows(t, s.Stats, moscow, s.Now)
		}
		plan, err := Decide(s)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := actionsOf(plan, "yandex_direct:1")[adpacer.SetBid]; ok {
			t.Errorf("daily rows %v: bid action %s -> %s: %s", daily, a.Previous, a.Value, a.Reason)
		}
		if !strings.Contains(plan.Lines[0].Status, "under") {
			t.Errorf("daily rows %v: line status %s, want under (the raise rule must be live)", daily, plan.Lines[0].Status)
		}
	}
	// Short of traffic is still seen: the same campaign spending half its
	// budget gets its bid raised.
	cs.campaigns[0].dailySpend = 500
	s := cs.build()
	s.Stats = dailyRows(t, s.Stats, moscow, s.Now)
	plan, err := Decide(s)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := actionsOf(plan, "yandex_direct:1")[adpacer.SetBid]; !ok || !strings.Contains(a.Reason, "short of traffic") {
		t.Errorf("half-spending campaign: bid action %+v, want a raise for lack of traffic", a)
	}
}

// The daemon's Yandex data: closed Moscow days as daily rows, and today as
// spend-only rows derived from the running total (no clicks, no
// conversions). The bid rule must still see the newest day of clicks and
// move a campaign whose CPA is twice the target toward it; reading "rows
// that started in the last 24 hours" it saw only today's spend, no clicks,
// and never moved a Yandex bid toward the target (every demo line ended
// above its target CPA).
func TestBidRuleReadsTheNewestDayOfClicks(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// 12:00 in Moscow, ahead of plan and spending the whole budget: only the
	// CPA rule can move the bid.
	cs := caseSpec{now: "2026-11-15T09:00:00Z",
		lines: []lineSpec{{id: "l", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 30_000 * 28, target: 1000}},
		campaigns: []campSpec{{id: "yandex_direct:1", line: "l", tz: "Europe/Moscow", budget: 30_000, bid: 30,
			dailySpend: 31_500, historyDays: 15, cpc: 30, cpa: 2000, lag: time.Minute}}}
	for _, shape := range []string{"hourly rows", "daily rows and spend-only today"} {
		s := cs.build()
		if shape != "hourly rows" {
			s.Stats = dailyRows(t, s.Stats, moscow, s.Now)
			for i := range s.Stats {
				if st := &s.Stats[i]; st.End.Sub(st.Start) <= time.Hour {
					st.Clicks, st.Impressions, st.Conversions = 0, 0, 0
				}
			}
		}
		plan, err := Decide(s)
		if err != nil {
			t.Fatal(err)
		}
		a, ok := actionsOf(plan, "yandex_direct:1")[adpacer.SetBid]
		if !ok || *a.Value >= *a.Previous || !strings.Contains(a.Reason, "target CPA") {
			t.Errorf("%s: bid action %v, want the bid lowered toward the target CPA", shape, a)
			continue
		}
		t.Logf("%s: %s", shape, a.Reason)
		if shape == "hourly rows" {
			continue
		}
		// Today's running spend is spend, not CPA data: without those rows
		// the CPA the bid rule reads is the same.
		var metrics []Stat
		for _, st := range s.Stats {
			if st.Clicks > 0 {
				metrics = append(metrics, st)
			}
		}
		s.Stats = metrics
		plan, err = Decide(s)
		if err != nil {
			t.Fatal(err)
		}
		if b := actionsOf(plan, "yandex_direct:1")[adpacer.SetBid]; b.Reason != a.Reason {
			t.Errorf("CPA with today's spend-only rows: %q; without them: %q", a.Reason, b.Reason)
		}
	}
}
