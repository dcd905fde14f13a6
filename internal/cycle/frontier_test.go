package cycle

import (
	"math"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

// stallWorld is one source's data around a possible reporting stall: two
// Yandex campaigns with 20,000 RUB daily budgets that spend 600 RUB every
// half hour from 08:00 to 23:00 Moscow time, as closed-day rows for past
// days, TODAY intervals for yesterday (earlier) and today (rows) up to
// todayUntil.
type stallWorld struct {
	now        time.Time
	todayUntil time.Time // today's intervals end here (the frontier)
	state      adpacer.CampaignState
	capped     int  // campaigns that spent 19,500 of 20,000 by 08:00 today
	noEarlier  bool // yesterday's TODAY intervals are not on record
	platform   adpacer.Platform
	lag        time.Duration
}

var msk = time.FixedZone("MSK", 3*3600)

func (w stallWorld) check(share float64) stallCheck {
	p := w.platform
	if p == "" {
		p = adpacer.YandexDirect
	}
	state := w.state
	if state == "" {
		state = adpacer.StateOn
	}
	in := stallCheck{now: w.now, maxAge: 3 * time.Hour, lag: w.lag, share: share, dayStart: map[adpacer.CampaignID]time.Time{}}
	if in.lag == 0 {
		in.lag = time.Hour
	}
	today := time.Date(w.now.In(msk).Year(), w.now.In(msk).Month(), w.now.In(msk).Day(), 0, 0, 0, 0, msk)
	var stats, intraday, earlier []adpacer.Stat
	for i := range 2 {
		id := adpacer.NewCampaignID(p, string(rune('1'+i)))
		budget := adpacer.FromUnits(20_000)
		in.camps = append(in.camps, adpacer.Campaign{ID: id, TimeZone: "Europe/Moscow", State: state, DailyBudget: &budget})
		in.dayStart[id] = today
		half := func(day time.Time, from, to time.Time, out *[]adpacer.Stat) {
			for t := day.Add(8 * time.Hour); t.Before(day.Add(23 * time.Hour)); t = t.Add(30 * time.Minute) {
				if !t.Before(from) && !t.Add(30*time.Minute).After(to) {
					*out = append(*out, adpacer.Stat{Campaign: id, Start: t, End: t.Add(30 * time.Minute), Cost: adpacer.FromUnits(600)})
				}
			}
		}
		for d := 1; d <= 3; d++ {
			day := today.AddDate(0, 0, -d)
			if p == adpacer.GoogleAds {
				// Google reports hours: the same spend as hourly rows.
				half(day, day, day.AddDate(0, 0, 1), &stats)
				continue
			}
			stats = append(stats, adpacer.Stat{Campaign: id, Start: day, End: day.AddDate(0, 0, 1), Cost: adpacer.FromUnits(18_000)})
			if d == 1 && !w.noEarlier {
				half(day, day, day.AddDate(0, 0, 1), &earlier)
			}
		}
		if i < w.capped {
			intraday = append(intraday, adpacer.Stat{Campaign: id, Start: today, End: today.Add(8 * time.Hour), Cost: adpacer.FromUnits(19_500)})
		}
		half(today, today, w.todayUntil, &intraday)
	}
	in.rows = [][]adpacer.Stat{stats, intraday}
	in.earlier = func() ([]adpacer.Stat, error) { return earlier, nil }
	return in
}

func TestDetectStall(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 18, h, m, 0, 0, msk) }
	for _, tc := range []struct {
		name     string
		w        stallWorld
		share    float64
		stalled  bool
		frontier time.Time
	}{
		{name: "reports advance", w: stallWorld{now: at(16, 0), todayUntil: at(16, 0)}, share: 0.05, frontier: at(16, 0)},
		// 16:00 with nothing since 10:00: 5 hours past the 1 h lag, and the
		// same hours yesterday held 6,000 of 18,000 RUB.
		{name: "stalled since 10:00", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0)}, share: 0.05, stalled: true, frontier: at(10, 0)},
		// Within lag + max age (1 h + 3 h) nothing is judged.
		{name: "silent for 4 hours only", w: stallWorld{now: at(14, 0), todayUntil: at(10, 0)}, share: 0.05, frontier: at(10, 0)},
		// 05:00: nothing since yesterday's close at midnight, but nothing
		// was spent at those hours yesterday either.
		{name: "quiet night", w: stallWorld{now: at(5, 0), todayUntil: at(0, 0)}, share: 0.05, frontier: at(0, 0)},
		{name: "campaigns paused", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0), state: adpacer.StatePaused}, share: 0.05, frontier: at(10, 0)},
		{name: "campaigns at their daily budgets", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0), capped: 2}, share: 0.05, frontier: at(10, 0)},
		{name: "one capped, one silent", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0), capped: 1}, share: 0.05, stalled: true, frontier: at(10, 0)},
		// Yesterday's hours unknown (first day of the daemon): no verdict.
		{name: "no hours for yesterday", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0), noEarlier: true}, share: 0.05, frontier: at(10, 0)},
		{name: "check off", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0)}, share: 0, frontier: at(10, 0)},
		// Yesterday's 10:00-15:00 was a third of the day: a higher share
		// than that is not reached.
		{name: "share above what the gap held", w: stallWorld{now: at(16, 0), todayUntil: at(10, 0)}, share: 0.4, frontier: at(10, 0)},
		// Google reports hours with a 3 h lag: 13:00 rows at 16:00 are on time.
		{name: "google on time", w: stallWorld{now: at(16, 0), todayUntil: at(13, 0), platform: adpacer.GoogleAds, lag: 3 * time.Hour}, share: 0.05, frontier: at(13, 0)},
		{name: "google stalled", w: stallWorld{now: at(20, 0), todayUntil: at(12, 0), platform: adpacer.GoogleAds, lag: 3 * time.Hour}, share: 0.05, stalled: true, frontier: at(12, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := detectStall(tc.w.check(tc.share))
			if err != nil {
				t.Fatal(err)
			}
			if v.stalled != tc.stalled || !v.frontier.Equal(tc.frontier) {
				t.Fatalf("stalled %v frontier %s (expected %s of a day's %s), want stalled %v frontier %s",
					v.stalled, v.frontier.In(msk).Format("15:04"), adpacer.Micros(v.expected), adpacer.Micros(v.day), tc.stalled, tc.frontier.In(msk).Format("15:04"))
			}
		})
	}
}

// TestDetectStallFigures pins what the stale-data card reports for the
// stall since 10:00: yesterday's 10:00-15:00 (the gap up to now minus the
// lag) of both campaigns, against their day.
func TestDetectStallFigures(t *testing.T) {
	v, err := detectStall(stallWorld{now: time.Date(2026, 11, 18, 16, 0, 0, 0, msk), todayUntil: time.Date(2026, 11, 18, 10, 0, 0, 0, msk)}.check(0.05))
	if err != nil {
		t.Fatal(err)
	}
	if v.expected != int64(adpacer.FromUnits(2*10*600)) || v.day != int64(adpacer.FromUnits(2*18_000)) {
		t.Fatalf("expected %s of %s, want 12000.00 of 36000.00", adpacer.Micros(v.expected), adpacer.Micros(v.day))
	}
}

func TestOverlapCostIsExact(t *testing.T) {
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		cost     adpacer.Micros
		from, to time.Time
		want     int64
	}{
		{adpacer.FromUnits(24_000), day.Add(6 * time.Hour), day.Add(12 * time.Hour), int64(adpacer.FromUnits(6_000))},
		{adpacer.FromUnits(24_000), day.Add(-time.Hour), day.Add(25 * time.Hour), int64(adpacer.FromUnits(24_000))},
		{adpacer.FromUnits(24_000), day.Add(25 * time.Hour), day.Add(26 * time.Hour), 0},
		// 9e12 micros x 3.6e12 ns overflows int64; the 128-bit product does not.
		{adpacer.Micros(9e12), day, day.Add(time.Hour), 9e12 / 24},
		{adpacer.Micros(math.MaxInt64), day, day.Add(12 * time.Hour), math.MaxInt64 / 2},
	} {
		s := adpacer.Stat{Start: day, End: day.Add(24 * time.Hour), Cost: tc.cost}
		if got := overlapCost(s, tc.from, tc.to); got != tc.want {
			t.Errorf("overlapCost(%s, %s..%s) = %d, want %d", tc.cost, tc.from.Format("15:04"), tc.to.Format("15:04"), got, tc.want)
		}
	}
}

// TestDetectStallReadsYesterdayOnlyWhenLate: on time, the check must not
// read yesterday's intervals from the store (every cycle would pay it).
func TestDetectStallReadsYesterdayOnlyWhenLate(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 18, h, 0, 0, 0, msk) }
	for _, tc := range []struct {
		until time.Time
		read  bool
	}{{at(16), false}, {at(10), true}} {
		in := stallWorld{now: at(16), todayUntil: tc.until}.check(0.05)
		read := false
		in.earlier = func() ([]adpacer.Stat, error) { read = true; return nil, nil }
		if _, err := detectStall(in); err != nil {
			t.Fatal(err)
		}
		if read != tc.read {
			t.Errorf("frontier %s: read yesterday %v, want %v", tc.until.Format("15:04"), read, tc.read)
		}
	}
}
