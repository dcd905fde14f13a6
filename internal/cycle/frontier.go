package cycle

import (
	"math/bits"
	"time"

	"github.com/adpacer/adpacer"
)

// Reporting stalls. A source is fresh by the time of its last successful
// pull, but a platform can answer every call while its reports stop
// advancing (a reporting incident: the API serves yesterday's numbers and a
// TODAY total that no longer moves). Judged by the pull alone, the engine
// would then extrapolate up to a day of spend it cannot see instead of
// holding. So the cycle also looks at how far the data reaches:
//
//   - the frontier of a source is the newest moment any of its campaigns is
//     known to have spent: the end of its newest row with cost (a closed
//     day, an hourly row, or an interval between two TODAY totals);
//   - a frontier behind now by more than the platform's usual reporting lag
//     plus the policy's max data age is a stall only when the campaigns that
//     could spend now (on, and not near their daily budget today) spent at
//     least StallShare of a day's spend in the same hours yesterday. Quiet
//     hours (night, campaigns capped or paused) leave the frontier behind
//     with nothing missing, and must not hold pacing or open a card.
//
// A stalled source's campaigns get data_as_of = frontier + lag, so the
// engine holds them and raises the stale-data alert. The rule and the
// default share are inference (no stall has been observed on a real
// account), hence the per-source setting.

// shortRow is the longest row whose hours say when the spend happened:
// hourly stats and intervals between TODAY totals are; a closed day spread
// evenly over its 24 hours is not (it would put spend in the night).
const shortRow = 2 * time.Hour

// stallCheck is one source's input to detectStall.
type stallCheck struct {
	now    time.Time
	maxAge time.Duration // policy max data age
	lag    time.Duration // the platform's usual reporting lag
	share  float64       // StallShare; <= 0 disables the check
	camps  []adpacer.Campaign
	// dayStart is each campaign's current platform day start (for today's
	// spend against its daily budget).
	dayStart map[adpacer.CampaignID]time.Time
	// rows are what the engine reads (stats and today's intervals between
	// TODAY totals); earlier returns extra short rows for yesterday's hours
	// (intervals between yesterday's TODAY totals, which a closed-day row
	// replaced in rows). It is called only when the frontier is late, so a
	// cycle with fresh data reads nothing more from the store.
	rows    [][]adpacer.Stat
	earlier func() ([]adpacer.Stat, error)
}

// stallVerdict is what detectStall found.
type stallVerdict struct {
	frontier time.Time // zero: the source has no spend on record
	stalled  bool
	// expected and day are yesterday's spend in the hours of the gap and
	// over a day, for the alert's detail (micros).
	expected, day int64
}

// detectStall applies the rule above to one source.
func detectStall(in stallCheck) (stallVerdict, error) {
	var v stallVerdict
	member := make(map[adpacer.CampaignID]int, len(in.camps))
	for i, c := range in.camps {
		member[c.ID] = i
	}
	today := make([]int64, len(in.camps))
	for _, rows := range in.rows {
		for _, s := range rows {
			i, ok := member[s.Campaign]
			if !ok || s.Cost <= 0 {
				continue
			}
			if s.End.After(v.frontier) {
				v.frontier = s.End
			}
			if ds, ok := in.dayStart[s.Campaign]; ok {
				today[i] += overlapCost(s, ds, in.now)
			}
		}
	}
	if in.share <= 0 || v.frontier.IsZero() || in.now.Sub(v.frontier)-in.lag <= in.maxAge {
		return v, nil
	}
	// Campaigns that could be spending now.
	could := make([]bool, len(in.camps))
	for i, c := range in.camps {
		could[i] = c.State == adpacer.StateOn &&
			(c.DailyBudget == nil || float64(today[i]) < 0.9*float64(*c.DailyBudget))
	}
	gapFrom, gapTo := v.frontier.Add(-24*time.Hour), in.now.Add(-in.lag-24*time.Hour)
	dayFrom, dayTo := in.now.Add(-48*time.Hour), in.now.Add(-24*time.Hour)
	add := func(rows []adpacer.Stat, day bool) {
		for _, s := range rows {
			i, ok := member[s.Campaign]
			if !ok || !could[i] || s.Cost <= 0 {
				continue
			}
			if day {
				v.day += overlapCost(s, dayFrom, dayTo)
			}
			if s.End.Sub(s.Start) <= shortRow {
				v.expected += overlapCost(s, gapFrom, gapTo)
			}
		}
	}
	for _, rows := range in.rows {
		add(rows, true)
	}
	// Yesterday's TODAY intervals tell the hours only: their day is already
	// counted by its closed-day row above.
	if in.earlier != nil {
		earlier, err := in.earlier()
		if err != nil {
			return v, err
		}
		add(earlier, false)
	}
	v.stalled = v.day > 0 && float64(v.expected) >= in.share*float64(v.day)
	return v, nil
}

// overlapCost is the part of s's cost spent in [from, to), the row's cost
// taken as spread evenly over it (exact integer micros).
func overlapCost(s adpacer.Stat, from, to time.Time) int64 {
	a, b := s.Start, s.End
	if from.After(a) {
		a = from
	}
	if to.Before(b) {
		b = to
	}
	if !b.After(a) || s.Cost <= 0 {
		return 0
	}
	whole := s.End.Sub(s.Start)
	part := b.Sub(a)
	if part >= whole {
		return int64(s.Cost)
	}
	// 128-bit product: cost x nanoseconds overflows int64 from a few
	// thousand roubles a day.
	hi, lo := bits.Mul64(uint64(s.Cost), uint64(part))
	q, _ := bits.Div64(hi, lo, uint64(whole))
	return int64(q)
}
