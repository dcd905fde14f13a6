package pacing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// kopeck is the smallest budget unit the platforms accept (0.01 of the
// currency); budgets are floored to it so rounding never lifts a cap.
const kopeck adpacer.Micros = 10_000

const (
	recentHours = 48 // hourly spend kept per campaign for rates
	// metricHours of click data kept per campaign: the newest day of it
	// ends up to two days back when a platform reports closed days only
	// (Yandex's day ends at Moscow midnight, and its report lags).
	metricHours   = 72
	historyDays   = 14 // daily windows kept per campaign for CPA and shares
	rateHours     = 3  // spend rate window before the last visible hour
	profileSettle = 6 * hourSec
	// yandexEveningHour: from this Moscow hour a Yandex cut is written for
	// tomorrow (cuts apply from the next day, so earlier cuts gain nothing).
	yandexEveningHour = 21
	// yandexRaiseEdits: raises may use this many of Yandex's 3 daily edits
	// (its budget is a weekly average, one raise a day is plenty); the last
	// edit is kept for the evening cut that protects tomorrow.
	yandexRaiseEdits = 1
	yandexMaxEdits   = 3
	// resumeMargin: a campaign paused by the brake is resumed only when its
	// worst case fits with this much room, so it does not toggle.
	resumeMargin = 1.25
	// rolloverLookahead: a platform day ending this soon counts tomorrow's
	// allowance too, since the next decision may come after midnight; three
	// hours leave hourly decisions two retries when a cut is refused.
	rolloverLookahead = 3 * hourSec
	// catchUpDays: average days of traffic over which a deviation from the
	// plan is made up.
	catchUpDays = 4
	// settingWindowHours: plan-following budget changes are written in
	// this many first hours of a platform day (two hourly decisions, so a
	// refused write is retried), when the platform sets the day's target.
	settingWindowHours = 2
	// intradayBandPct: a line further off its plan than this percentage of
	// its budget is corrected inside the day as well.
	intradayBandPct = 3
	// endGameDays: in the period's last average days of traffic a line
	// behind its plan is raised inside the day too: a shortfall carried
	// into the last day is partly lost, since there the invariant allows
	// settings of only about what is left / kappa.
	endGameDays = 2
	// maxMarginGrowth bounds the unseen-spend margin sized for the next
	// day's busiest hour at this multiple of the margin now, so it stays a
	// safety term, not a second reserve. Ten covers a night hour against
	// the morning peak: with four, the margin set at Moscow midnight on the
	// period's last day grew past it by the morning, when Yandex settings
	// can no longer be cut, and the brake paused the campaign that could
	// give (S0, 20 seeds: 10 campaigns exhausted early at 4, 5 at 10).
	maxMarginGrowth = 10
	// cpaDeadband: CPA within this fraction of the target moves no bid;
	// conversions are noisy and the bid that hits the target is near.
	cpaDeadband = 0.08
	// eveningCutSlack: the cut made in the evening before the period's
	// last platform day leaves this fraction of the budget as room for the
	// error of the evening's estimated spend (see decideWrite).
	eveningCutSlack = 0.1
)

// Decide computes the plan for a snapshot: budget, bid and state changes,
// alerts and per-line status. It is pure and deterministic: no I/O, no
// clock, no randomness, and iteration follows the snapshot's order. It
// returns an error only for an invalid snapshot (the checks of Validate).
func Decide(s *Snapshot) (Plan, error) {
	ix, err := buildIndex(s)
	if err != nil {
		return Plan{}, err
	}
	e := &engine{s: s, ix: ix, pol: ix.policy, now: s.Now.Unix()}
	if err := e.aggregate(); err != nil {
		return Plan{}, err
	}
	plan := Plan{Version: SnapshotVersion, Now: s.Now, Actions: []Action{}, Alerts: []Alert{}, Lines: make([]LineStatus, 0, len(s.Lines))}
	for li := range s.Lines {
		e.decideLine(li, &plan)
	}
	slices.SortStableFunc(plan.Alerts, func(a, b Alert) int { return strings.Compare(a.Key, b.Key) })
	return plan, nil
}

type engine struct {
	// budget and est of the line being decided; behind: the line is
	// short of its plan by more than a percent of the budget.
	budget, est int64
	behind      bool
	// offPlan: the line is off its plan by more than intradayBandPct of
	// its budget (a budget change, an outage), or behind it in the end
	// game: then plan-following budget changes are sent inside the day too.
	offPlan bool
	// endGame: the line is in its last endGameDays average days of traffic.
	endGame bool
	s       *Snapshot
	ix      *index
	pol     Policy
	now     int64
	camps   []campAgg
	lines   []lineAgg
}

// campAgg is what the stats pass learns about one campaign.
type campAgg struct {
	dayStart, dayEnd int64 // current platform day
	periodSpent      int64 // seen spend inside the line's period (micros)
	todaySeen        int64 // seen spend inside the current platform day
	lastEnd          int64 // end of the newest stat, 0 when none
	firstStart       int64 // start of the oldest stat, 0 when none
	spent3           int64 // seen spend of the last 72 hours, rows prorated
	hourly           [recentHours]int64
	// cost, clicks and conv: rows with delivery metrics by age in days
	// (spend-only rows, which the daemon derives from running spend
	// totals, carry no clicks or conversions and would inflate CPA).
	cost   [historyDays]int64
	clicks [historyDays]int64
	conv   [historyDays]float64
	// metricEnd is the end of the newest row with delivery metrics;
	// mCost/mClicks hold those rows by hour slot before now (as hourly),
	// so the bid rule reads the newest day of clicks whether the platform
	// reports hours or whole days.
	metricEnd int64
	mCost     [metricHours]int64
	mClicks   [metricHours]int64
}

type lineAgg struct {
	zc           zoneCache
	start, end   int64
	prof         profileAcc
	histFrom     int64
	histTo       int64
	recentSpend3 int64 // seen spend of the last 72 hours
}

func (e *engine) aggregate() error {
	s, ix := e.s, e.ix
	e.camps = make([]campAgg, len(s.Campaigns))
	e.lines = make([]lineAgg, len(s.Lines))
	for li := range e.lines {
		la := &e.lines[li]
		la.zc = newZoneCache(ix.lineLoc[li])
		la.start, la.end = ix.start[li].Unix(), ix.end[li].Unix()
		la.prof.dayBase = la.zc.localDay(la.start) - profileDays/2
	}
	nowT := s.Now
	for ci := range e.camps {
		ca := &e.camps[ci]
		ds, de := platformDay(nowT, ix.campLoc[ci])
		ca.dayStart, ca.dayEnd = ds.Unix(), de.Unix()
	}
	nowHour := floorDiv(e.now, hourSec) * hourSec
	settled := e.now - profileSettle
	var sc statChecker
	sc.init(len(s.Campaigns))
	for i := range s.Stats {
		ci, err := sc.check(s, ix, i)
		if err != nil {
			return err
		}
		st := &s.Stats[i]
		li := ix.lineOf[ci]
		if li < 0 {
			continue
		}
		ca, la := &e.camps[ci], &e.lines[li]
		a, b := st.Start.Unix(), st.End.Unix()
		cost := int64(st.Cost)
		ca.periodSpent += prorate(cost, a, b, la.start, la.end)
		ca.todaySeen += prorate(cost, a, b, ca.dayStart, e.now)
		if b > ca.lastEnd {
			ca.lastEnd = b
		}
		if ca.firstStart == 0 || a < ca.firstStart {
			ca.firstStart = a
		}
		if b > e.now-3*daySec {
			p := prorate(cost, a, b, e.now-3*daySec, e.now)
			la.recentSpend3 += p
			ca.spent3 += p
		}
		addHourly(ca.hourly[:], nowHour, a, b, cost)
		// A row with spend and no delivery metrics at all is a running
		// spend total (the daemon's intraday rows): it counts as spend
		// above, not as a CPA observation.
		if spendOnly := cost > 0 && st.Clicks == 0 && st.Impressions == 0 && st.Conversions == 0; !spendOnly {
			if age := (e.now - a) / daySec; age >= 0 && age < historyDays {
				ca.cost[age] += cost
				ca.clicks[age] += st.Clicks
				ca.conv[age] += st.Conversions
			}
			if b > ca.metricEnd {
				ca.metricEnd = b
			}
			addHourly(ca.mCost[:], nowHour, a, b, cost)
			addHourly(ca.mClicks[:], nowHour, a, b, st.Clicks)
		}
		if b <= settled {
			if la.histFrom == 0 || a < la.histFrom {
				la.histFrom = a
			}
			if b > la.histTo {
				la.histTo = b
			}
			la.prof.add(&la.zc, a, b, cost)
		}
	}
	return sc.finish(s)
}

// addHourly adds v of the row [a, b) to slots, slot k being the hour that
// starts k hours before nowHour: a row of at most an hour goes whole to the
// hour it starts in, a longer one (a closed day) is prorated over its
// hours. Hours outside the slots are dropped.
func addHourly(slots []int64, nowHour, a, b, v int64) {
	if b <= nowHour-int64(len(slots)-1)*hourSec {
		return
	}
	if b-a <= hourSec {
		if k := (nowHour - floorDiv(a, hourSec)*hourSec) / hourSec; k >= 0 && k < int64(len(slots)) {
			slots[k] += v
		}
		return
	}
	for h := floorDiv(a, hourSec) * hourSec; h < b; h += hourSec {
		if k := (nowHour - h) / hourSec; k >= 0 && k < int64(len(slots)) {
			slots[k] += prorate(v, a, b, h, h+hourSec)
		}
	}
}

// platformDay returns the platform day containing t in loc.
func platformDay(t time.Time, loc *time.Location) (time.Time, time.Time) {
	lt := t.In(loc)
	ds := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	de := time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
	return ds, de
}

// prorate is the part of cost spent in [from, to) when cost was spent
// evenly over [a, b).
func prorate(cost, a, b, from, to int64) int64 {
	if from <= a && b <= to {
		return cost
	}
	lo, hi := max(a, from), min(b, to)
	if hi <= lo {
		return 0
	}
	return int64(math.Round(float64(cost) * float64(hi-lo) / float64(b-a)))
}

// campPlan is the engine's working state for one campaign of a line.
type campPlan struct {
	ci       int
	c        *Campaign
	agg      *campAgg
	kappa    float64
	stale    bool
	control  bool // the engine may act on it (fresh, on or paused by the brake)
	active   bool // serving now (state on)
	rate     float64
	unseen   int64 // estimated spend after the last visible stat
	unseenTd int64 // part of unseen inside the platform day
	today    int64 // seen + unseen spend of the platform day
	share    float64
	desired  int64 // desired daily budget before the invariant
	newBud   int64 // budget after the invariant (-1: leave as is)
	pause    bool
	park     bool // paused, with a cut that applies later (see park)
	resume   bool
	write    bool    // the budget change is sent (tolerance and edit rules passed)
	cut      bool    // the invariant lowered the budget
	slacked  bool    // the slack below the invariant's bound was taken
	reason   string  // why the budget changes
	cpa      float64 // delay-corrected CPA, 0 when unknown
	cvr      float64
	conv     float64
	rawConv  float64 // reported conversions in the CPA window
}

// lineState is a line's accounting before any decision.
type lineState struct {
	tl       timeline
	cps      []campPlan
	seen     int64 // visible spend in the period
	est      int64 // seen plus estimated unreported spend
	reserve  int64
	anyStale bool
}

func (e *engine) prepareLine(li int) lineState {
	s, pol := e.s, e.pol
	line := &s.Lines[li]
	la := &e.lines[li]
	var ls lineState
	ls.reserve = int64(adpacer.FromFloat(line.Budget.Float() * pol.ReservePct / 100).RoundTo(kopeck))

	// Profile and timeline in the line's zone.
	profile := la.prof.profile(&la.zc, la.histFrom, la.histTo)
	ls.tl = newTimeline(la.start, la.end, &profile, &la.zc)

	ls.cps = make([]campPlan, 0, len(line.Campaigns))
	for _, id := range line.Campaigns {
		ci := e.ix.campaign[id]
		c := &s.Campaigns[ci]
		cp := campPlan{ci: ci, c: c, agg: &e.camps[ci], kappa: pol.Overdelivery[c.Platform], newBud: -1}
		if cp.kappa < 1 {
			cp.kappa = 1
		}
		cp.stale = s.Now.Sub(c.DataAsOf) > time.Duration(pol.MaxDataAge)
		cp.active = c.State == adpacer.StateOn
		cp.control = !cp.stale && (cp.active || (c.State == adpacer.StatePaused && c.PausedByEngine))
		ls.anyStale = ls.anyStale || cp.stale
		e.estimateUnseen(&cp, &ls.tl)
		e.cpaOf(&cp)
		ls.cps = append(ls.cps, cp)
	}
	var unseen int64
	for i := range ls.cps {
		ls.seen += ls.cps[i].agg.periodSpent
		if e.now < la.end {
			unseen += ls.cps[i].unseen
		}
	}
	ls.est = ls.seen + unseen
	return ls
}

func (e *engine) decideLine(li int, plan *Plan) {
	s, pol := e.s, e.pol
	line := &s.Lines[li]
	la := &e.lines[li]
	B := int64(line.Budget)
	ls := e.prepareLine(li)
	tl, cps, est, seen, reserve, anyStale := ls.tl, ls.cps, ls.est, ls.seen, ls.reserve, ls.anyStale
	remaining := B - est
	status := LineStatus{ID: line.ID, Spent: adpacer.Micros(seen), Remaining: adpacer.Micros(remaining)}

	wTotal := tl.total()
	wDone := tl.cum(e.now)
	if wTotal > 0 {
		status.PlannedToDate = adpacer.FromFloat(line.Budget.Float() * wDone / wTotal).RoundTo(kopeck)
	}
	wLeft := wTotal - wDone

	// Projection under the engine: the rest of the plan, limited by what the
	// campaigns showed they can deliver (recent pace with the headroom bids
	// and budgets can add).
	futureCap := float64(max(remaining, 0))
	if w3 := tl.between(max(e.now-3*daySec, la.start), e.now); w3 > 0 && e.now-la.start >= daySec && la.recentSpend3 > 0 {
		futureCap = min(futureCap, 1.3*float64(la.recentSpend3)/w3*wLeft)
	}
	if e.now >= la.end {
		futureCap = 0
	}
	status.Projected = adpacer.Micros(est + int64(math.Round(futureCap))).RoundTo(kopeck)

	active := e.now >= la.start && e.now < la.end
	e.behind = float64(status.PlannedToDate)-float64(est) > float64(B)/100
	e.endGame = wLeft < endGameDays*24
	e.offPlan = math.Abs(float64(status.PlannedToDate)-float64(est)) > float64(B)*intradayBandPct/100 ||
		(wLeft < endGameDays*24 && float64(est) < float64(status.PlannedToDate))
	var committed int64
	if active {
		e.budget, e.est = B, est
		e.shares(line, cps)
		e.budgets(line, cps, &tl, remaining)
		// The invariant also keeps a margin for the error of the unseen-spend
		// estimate: a quarter of it, sized for the busiest hour of the next
		// day rather than for now. The estimate (recent rate x lag) grows
		// with the traffic, so a margin sized at a quiet hour shrinks the
		// room every hour of the morning; settings that cannot be lowered
		// for today by then (Yandex cuts apply tomorrow, its edits run out,
		// a Google cut counts only once confirmed) leave the brake to pause
		// a campaign, and on the period's last day that campaign stays
		// paused.
		margin := float64(est-seen) / 4
		if cur := tl.trafficFactor(e.now, e.now+hourSec); cur > 0 {
			var peak float64
			for h := e.now; h < min(e.now+daySec, la.end); h += hourSec {
				peak = max(peak, tl.trafficFactor(h, h+hourSec))
			}
			margin *= min(max(peak/cur, 1), maxMarginGrowth)
		}
		committed = e.enforce(line, cps, B-reserve-est-int64(margin))
	}

	// Status.
	band := max(float64(status.PlannedToDate)*pol.TolerancePct/100, float64(B)/100)
	dev := float64(est) - float64(status.PlannedToDate)
	switch {
	case anyStale:
		status.Status = StatusHeld
	case active && remaining <= reserve:
		status.Status = StatusExhausted
	case dev > band:
		status.Status = StatusOver
	case dev < -band || (active && float64(status.Projected) < float64(B)*(1-pol.TolerancePct/100)):
		status.Status = StatusUnder
	default:
		status.Status = StatusOnTrack
	}
	plan.Lines = append(plan.Lines, status)

	if active {
		for i := range cps {
			e.emitActions(line, &cps[i], &tl, plan)
		}
	}
	e.lineAlerts(line, cps, status, est, committed, wLeft/max(wTotal, 1e-9), active, plan)
}

// estimateUnseen estimates spend made after the newest visible stat: the
// recent rate (scaled by the traffic profile) times the reporting gap, at
// least the platform's usual lag, and never more than the platform could
// spend today.
func (e *engine) estimateUnseen(cp *campPlan, tl *timeline) {
	ca := cp.agg
	if ca.lastEnd == 0 {
		cp.today = ca.todaySeen
		return
	}
	lag := int64(time.Duration(e.pol.ReportingLag[cp.c.Platform]) / time.Second)
	nowHour := floorDiv(e.now, hourSec) * hourSec
	lastHour := floorDiv(ca.lastEnd-1, hourSec) * hourSec
	var sum int64
	for h := 0; h < rateHours; h++ {
		k := (nowHour - lastHour) / hourSec
		k += int64(h)
		if k >= 0 && k < recentHours {
			sum += ca.hourly[k]
		}
	}
	rate := float64(sum) / rateHours // micros per hour
	from := ca.lastEnd
	gapFrom := min(from, e.now-lag)
	if wPast := tl.between(ca.lastEnd-rateHours*hourSec, ca.lastEnd); wPast > 0 {
		wGap := tl.between(gapFrom, e.now)
		if wGap > 0 {
			ratio := (wGap / float64(e.now-gapFrom)) / (wPast / float64(rateHours*hourSec))
			rate *= min(max(ratio, 0.25), 4)
		}
	}
	cp.rate = rate
	if !cp.active && !cp.stale {
		// Paused and fresh: nothing serves now; what it spent before the
		// pause is in the stats or in the lag window below.
		gapFrom = min(from, e.now-lag)
	}
	gap := e.now - gapFrom
	if gap > daySec {
		gap = daySec
	}
	if gap > 0 && cp.active {
		cp.unseen = int64(rate * float64(gap) / hourSec)
		tdFrom := max(e.now-gap, ca.dayStart)
		if tdFrom < e.now {
			cp.unseenTd = int64(rate * float64(e.now-tdFrom) / hourSec)
		}
		// The platform cannot spend more today than its cap allows.
		if capToday, ok := e.todayCap(cp.c); ok {
			room := max(int64(cp.kappa*float64(capToday))-ca.todaySeen, 0)
			if cp.unseenTd > room {
				cp.unseen -= cp.unseenTd - room
				cp.unseenTd = room
			}
		}
	}
	cp.today = ca.todaySeen + cp.unseenTd
}

// todayCap is the budget the platform enforces today before any action:
// the highest setting of the day (Google's 2x rule; Yandex keeps a cut for
// tomorrow).
func (e *engine) todayCap(c *Campaign) (int64, bool) {
	if c.DailyBudget == nil {
		return 0, false
	}
	v := int64(*c.DailyBudget)
	if c.Platform != adpacer.VKAds && c.MaxDailyBudgetToday != nil {
		v = max(v, int64(*c.MaxDailyBudgetToday))
	}
	return v, true
}

// lastMetricDay sums the cost and clicks of the 24 hours before the
// campaign's newest row with delivery metrics (rows prorated by hour),
// nothing when that row is more than two days old. By row start, a
// platform reporting closed days (Yandex) left the last day with only the
// day's running spend and no clicks, and its bids never followed the CPA
// target.
func (e *engine) lastMetricDay(ca *campAgg) (cost, clicks int64) {
	if ca.metricEnd == 0 || ca.metricEnd < e.now-2*daySec {
		return 0, 0
	}
	nowHour := floorDiv(e.now, hourSec) * hourSec
	last := (nowHour - floorDiv(ca.metricEnd-1, hourSec)*hourSec) / hourSec
	for k := max(last, 0); k < min(last+24, metricHours); k++ {
		cost += ca.mCost[k]
		clicks += ca.mClicks[k]
	}
	return cost, clicks
}

// delayShare is the share of a window's conversions already reported when
// the window is ageDays old, from a log-normal delay distribution.
func (e *engine) delayShare(ageDays float64) float64 {
	med := time.Duration(e.pol.ConversionDelayMedian).Hours() / 24
	p95 := time.Duration(e.pol.ConversionDelayP95).Hours() / 24
	if med <= 0 || p95 <= med {
		return 1
	}
	sigma := math.Log(p95/med) / 1.6448536269514722
	z := (math.Log(ageDays) - math.Log(med)) / sigma
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// cpaOf computes the campaign's delay-corrected CPA and conversion rate
// over the history window; windows too young to be meaningful are skipped.
func (e *engine) cpaOf(cp *campPlan) {
	ca := cp.agg
	var cost, clicks int64
	var conv, raw float64
	for age := 0; age < historyDays; age++ {
		// The share reported of a day-long window is the mean of the
		// delay CDF over the window, not the CDF at its middle (the CDF
		// is far from linear in the first days).
		var f float64
		for k := 0; k < 8; k++ {
			f += e.delayShare(float64(age)+(float64(k)+0.5)/8) / 8
		}
		if f < 0.25 {
			continue
		}
		cost += ca.cost[age]
		clicks += ca.clicks[age]
		conv += ca.conv[age] / f
		raw += ca.conv[age]
	}
	cp.conv, cp.rawConv = conv, raw
	if raw < e.pol.MinConversions {
		return
	}
	if cost > 0 {
		cp.cpa = float64(cost) / conv
	}
	if clicks > 0 {
		cp.cvr = conv / float64(clicks)
	}
}

// shares splits the line's plan among controllable campaigns: by what
// each delivered over the last week, tilted toward lower CPA within
// ±BudgetShiftPct.
func (e *engine) shares(line *Line, cps []campPlan) {
	var total float64
	n := 0
	for i := range cps {
		if !cps[i].control {
			continue
		}
		n++
		var sp int64
		for d := 0; d < historyDays; d++ {
			sp += cps[i].agg.cost[d]
		}
		cps[i].share = float64(sp)
		total += float64(sp)
	}
	if n == 0 {
		return
	}
	if total <= 0 {
		// No delivery history: split by current budgets, else evenly.
		var bt float64
		for i := range cps {
			if cps[i].control && cps[i].c.DailyBudget != nil {
				bt += cps[i].c.DailyBudget.Float()
			}
		}
		for i := range cps {
			if !cps[i].control {
				continue
			}
			cps[i].share = 1 / float64(n)
			if bt > 0 {
				if cps[i].c.DailyBudget != nil {
					cps[i].share = 0.5/float64(n) + 0.5*cps[i].c.DailyBudget.Float()/bt
				} else {
					cps[i].share = 0.5 / float64(n)
				}
			}
		}
	} else {
		floor := 0.2 / float64(n)
		for i := range cps {
			if cps[i].control {
				cps[i].share = max(cps[i].share/total, floor)
			}
		}
	}
	if line.TargetCPA != nil {
		// Tilt toward campaigns cheaper than the line's CPA. The base is two
		// weeks of delivery, so a tilt feeds back into it slowly and cannot
		// compound decision after decision.
		var cost, conv float64
		for i := range cps {
			if cps[i].control && cps[i].cpa > 0 {
				cost += cps[i].cpa * cps[i].conv
				conv += cps[i].conv
			}
		}
		shift := e.pol.BudgetShiftPct / 100
		// Only while the line misses its target: at or under target the
		// mix that achieves it is kept.
		if conv > 0 && cost/conv > float64(*line.TargetCPA) {
			lineCPA := cost / conv
			for i := range cps {
				if cps[i].control && cps[i].cpa > 0 {
					cps[i].share *= min(max(math.Sqrt(lineCPA/cps[i].cpa), 1-shift), 1+shift)
				}
			}
		}
	}
	var sum float64
	for i := range cps {
		if cps[i].control {
			sum += cps[i].share
		}
	}
	for i := range cps {
		if cps[i].control {
			cps[i].share /= sum
		}
	}
}

// budgets computes each controllable campaign's desired daily budget from
// the line's remaining plan.
func (e *engine) budgets(line *Line, cps []campPlan, tl *timeline, remaining int64) {
	wLeft := tl.between(e.now, tl.end)
	future := float64(max(remaining, 0))
	for i := range cps {
		cp := &cps[i]
		if !cp.control {
			continue
		}
		ca := cp.agg
		var want float64
		if wLeft > 0 {
			// The platforms spend an average-day budget scaled by the day's
			// traffic (Google up to 2x on busy days, Yandex as a weekly
			// average), so the setting is the campaign's share of the
			// remaining budget per remaining average day of traffic. Held
			// steady it needs few writes; each decision re-splits what is
			// left, so errors correct themselves (Lee et al. 2013).
			avgDays := wLeft / 24
			if ca.dayEnd >= tl.end || avgDays < 1 {
				// The last platform day of the period: the platform spends
				// setting x the day's traffic factor in total, today's spend
				// included, and everything left should go today.
				want = float64(cp.today) + cp.share*future
				if df := tl.trafficFactor(ca.dayStart, min(ca.dayEnd, tl.end)); df > 0 {
					want /= min(max(df, 0.5), 2)
				}
			} else {
				// Track the period's traffic-weighted plan: what should be
				// spent by a few average days from now, less what is spent,
				// over those days. A shortfall (or excess) is made up within
				// catchUpDays instead of being smeared over the month.
				h := catchUpDays * 24.0
				horizonEnd := tl.timeAfterWeight(e.now, h)
				if horizonEnd < tl.end {
					planAt := float64(e.budget) * tl.cum(horizonEnd) / tl.total()
					need := max(planAt-float64(e.est), 0)
					want = cp.share * need / catchUpDays
				} else {
					want = cp.share * future / avgDays
				}
			}
		}
		cp.desired = int64(adpacer.FromFloat(want / adpacer.MicrosPerUnit).FloorTo(kopeck))
		if minB := int64(e.pol.MinDailyBudget[cp.c.Platform]); cp.desired < minB && cp.desired > 0 {
			cp.desired = minB
		}
	}
}

// effectiveToday is the cap the platform enforces for the rest of today if
// the budget becomes b: Google keeps 2x the day's highest setting, Yandex
// applies cuts tomorrow, VK applies changes at once.
func (e *engine) effectiveToday(c *Campaign, b int64) int64 {
	cur, ok := e.todayCap(c)
	if !ok {
		return b
	}
	switch c.Platform {
	case adpacer.GoogleAds:
		return max(b, cur)
	case adpacer.YandexDirect:
		if b >= int64(*c.DailyBudget) {
			return max(b, cur)
		}
		return cur
	}
	return b
}

// enforce applies step limits and edit rules to the desired budgets and
// then the invariant: the sum over the line's campaigns of the worst-case
// rest-of-day spend (kappa x effective cap - spent today) stays within
// what is left of the budget minus the reserve. Budgets are cut first;
// pausing is the last resort. It returns the committed worst case.
func (e *engine) enforce(line *Line, cps []campPlan, capLeft int64) int64 {
	pol := e.pol
	step := pol.MaxBudgetStepPct / 100
	for i := range cps {
		cp := &cps[i]
		if !cp.control {
			continue
		}
		b := cp.desired
		if cp.c.DailyBudget != nil && cp.active {
			cur := int64(*cp.c.DailyBudget)
			if cur > 0 {
				hi := int64(float64(cur) * (1 + step))
				lo := int64(float64(cur) * (1 - step))
				if cp.agg.dayEnd >= e.lines[e.ix.lineOf[cp.ci]].end {
					// The period's last platform day: the evening before
					// cut the setting to what the invariant allowed with
					// yesterday's worst case still open; today it returns
					// to the end game's share at once (one Yandex raise
					// a day, and there is no tomorrow to spread it over).
					hi = max(hi, b)
				}
				b = min(max(b, lo), hi)
			}
		}
		cp.newBud = int64(adpacer.Micros(b).FloorTo(kopeck))
	}

	exposure := func(cp *campPlan) int64 {
		if cp.pause {
			return 0
		}
		if !cp.control {
			if !cp.active && !cp.stale {
				return 0
			}
			if cp.c.State != adpacer.StateOn {
				return 0
			}
			capT, ok := e.todayCap(cp.c)
			if !ok {
				// No budget and no control: assume today's pace doubles.
				return int64(2 * cp.rate * float64(cp.agg.dayEnd-e.now) / hourSec)
			}
			return max(int64(cp.kappa*float64(capT))-cp.today, 0)
		}
		if !cp.active && !cp.resume {
			return 0
		}
		if cp.newBud < 0 {
			capT, ok := e.todayCap(cp.c)
			if !ok {
				return int64(2 * cp.rate * float64(cp.agg.dayEnd-e.now) / hourSec)
			}
			ex := max(int64(cp.kappa*float64(capT))-cp.today, 0)
			if e.googleMonthEnd(cp) && cp.c.LastBudgetChange != nil && cp.c.LastBudgetChange.Unix() >= cp.agg.dayStart {
				ex = min(ex, max(int64(*cp.c.DailyBudget)-cp.today, 0))
			}
			if cp.agg.dayEnd-e.now <= rolloverLookahead && cp.agg.dayEnd < e.lines[e.ix.lineOf[cp.ci]].end {
				ex = max(ex, int64(cp.kappa*float64(*cp.c.DailyBudget))+e.restOfDay(cp, ex))
			}
			return ex
		}
		eff := e.effectiveToday(cp.c, cp.newBud)
		ex := max(int64(cp.kappa*float64(eff))-cp.today, 0)
		if e.googleMonthEnd(cp) && cp.c.DailyBudget != nil && cp.c.LastBudgetChange != nil && cp.c.LastBudgetChange.Unix() >= cp.agg.dayStart {
			// Google: after an edit the rest of the month is capped at the
			// new budget x the days left [G-CHG]; on the month's last day
			// that is today's budget itself, so a confirmed edit today caps
			// today at that budget, not at twice the day's highest. A write
			// may still fail, so the higher of the confirmed and the new
			// value counts.
			ex = min(ex, max(max(cp.newBud, int64(*cp.c.DailyBudget))-cp.today, 0))
		}
		if cp.agg.dayEnd-e.now <= rolloverLookahead && cp.agg.dayEnd < e.lines[e.ix.lineOf[cp.ci]].end {
			// The platform day ends before the next decision: at midnight
			// the day's allowance restarts at kappa x the new setting, on
			// top of what the campaign is expected to spend until then
			// (else every later evening decision finds less room for
			// tomorrow and cuts again, and once Yandex's edits are used up
			// it must pause).
			ex = max(ex, int64(cp.kappa*float64(cp.newBud))+e.restOfDay(cp, ex))
		}
		return ex
	}
	total := int64(0)
	for i := range cps {
		total += exposure(&cps[i])
	}
	// reduce lowers the budgets that can still be lowered (and sent) until
	// the line's worst case fits, proportionally to what each can give.
	// With atMin it lowers none below the platform minimum: a campaign cut
	// below it would be paused, losing all its spend (and on the last day
	// exhausting it early), while the same room is found by cutting the
	// others a little more. Only when all are at the minimum does the next
	// stage cut further and the minimum rule pause.
	reduce := func(atMin bool) {
		excess := total - capLeft
		if excess <= 0 {
			return
		}
		var red int64
		floors := make([]int64, len(cps))
		for i := range cps {
			cp := &cps[i]
			if !cp.control || !cp.active || cp.pause || !e.canCut(cp) {
				continue
			}
			saved := cp.newBud
			if saved < 0 {
				saved = int64(*cp.c.DailyBudget)
			}
			cp.newBud = 0
			if atMin {
				cp.newBud = min(saved, int64(pol.MinDailyBudget[cp.c.Platform]))
			}
			floors[i] = exposure(cp)
			cp.newBud = saved
			red += exposure(cp) - floors[i]
		}
		if red <= 0 {
			return
		}
		// Cut the campaigns with the highest overdelivery factor first: a
		// rouble of Google budget carries two roubles of worst case, so
		// the same exposure buys the most expected spend elsewhere.
		var redK float64 = -1
		for i := range cps {
			cp := &cps[i]
			if !cp.control || !cp.active || cp.pause || !e.canCut(cp) {
				continue
			}
			if exposure(cp)-floors[i] > 0 && cp.kappa > redK {
				redK = cp.kappa
			}
		}
		red = 0
		for i := range cps {
			cp := &cps[i]
			if cp.control && cp.active && !cp.pause && e.canCut(cp) && cp.kappa == redK {
				red += exposure(cp) - floors[i]
			}
		}
		if red <= 0 {
			return
		}
		f := min(float64(excess)/float64(red), 1)
		for i := range cps {
			cp := &cps[i]
			if !cp.control || !cp.active || cp.pause || !e.canCut(cp) || cp.kappa != redK {
				continue
			}
			ex := exposure(cp)
			r := ex - floors[i]
			if r <= 0 {
				continue
			}
			target := ex - int64(math.Ceil(float64(r)*f))
			// The largest budget whose exposure fits the target, by
			// bisection, so every platform rule above is respected.
			lo, hi := int64(0), cp.newBud
			if atMin {
				lo = min(hi, int64(pol.MinDailyBudget[cp.c.Platform]))
			}
			for hi-lo > int64(kopeck) {
				mid := (lo + hi) / 2
				cp.newBud = mid
				if exposure(cp) <= target {
					lo = mid
				} else {
					hi = mid
				}
			}
			cp.newBud = int64(adpacer.Micros(lo).FloorTo(kopeck))
			cp.cut, cp.slacked = true, false
		}
		total = 0
		for i := range cps {
			total += exposure(&cps[i])
		}
	}
	// brake pauses campaigns until the worst case fits: the one whose
	// exposure just covers the excess (the least spend lost), else the
	// largest.
	brake := func() {
		for total > capLeft {
			excess := total - capLeft
			best, bestEx := -1, int64(0)
			cover, coverEx := -1, int64(math.MaxInt64)
			for i := range cps {
				cp := &cps[i]
				if !cp.control || cp.pause || !(cp.active || cp.resume) {
					continue
				}
				ex := exposure(cp)
				if ex > bestEx {
					best, bestEx = i, ex
				}
				if ex >= excess && ex < coverEx {
					cover, coverEx = i, ex
				}
			}
			if cover >= 0 {
				best, bestEx = cover, coverEx
			}
			if best < 0 {
				return
			}
			if cps[best].resume {
				cps[best].resume, cps[best].write, cps[best].newBud = false, false, -1
			} else {
				cps[best].pause = true
			}
			total -= bestEx
		}
	}
	for k := 0; k < 4 && total > capLeft; k++ {
		reduce(true)
	}
	for k := 0; k < 4 && total > capLeft; k++ {
		reduce(false)
	}
	// Budgets below the platform minimum cannot be set: raise to the
	// minimum when the line has room, else pause.
	for i := range cps {
		cp := &cps[i]
		if !cp.control || !cp.active || cp.pause {
			continue
		}
		if minB := int64(pol.MinDailyBudget[cp.c.Platform]); cp.newBud >= 0 && cp.newBud < max(minB, 1) {
			old := exposure(cp)
			cp.newBud = max(minB, int64(kopeck))
			if total-old+exposure(cp) > capLeft {
				cp.pause = true
				total -= old
			} else {
				total += exposure(cp) - old
			}
		}
	}
	// Resume engine-paused campaigns whose worst case fits with margin.
	fits := func(cp *campPlan) bool {
		return float64(total)+resumeMargin*float64(exposure(cp)) <= float64(capLeft)
	}
	tryResume := func(cp *campPlan) bool {
		b := max(cp.desired, int64(pol.MinDailyBudget[cp.c.Platform]))
		if b <= 0 {
			return false
		}
		cp.newBud = b
		cp.resume = true
		if fits(cp) {
			return true
		}
		if minB := int64(pol.MinDailyBudget[cp.c.Platform]); e.lastDay(cp) && b > minB {
			// On the period's last day a paused campaign is resumed at the
			// largest budget that fits with the margin: kept paused, it
			// loses the whole day (exhausted early).
			lo, hi := minB, b
			for hi-lo > int64(kopeck) {
				mid := (lo + hi) / 2
				cp.newBud = mid
				if fits(cp) {
					lo = mid
				} else {
					hi = mid
				}
			}
			cp.newBud = int64(adpacer.Micros(lo).FloorTo(kopeck))
			if fits(cp) {
				return true
			}
		}
		cp.resume = false
		cp.newBud = -1
		return false
	}
	for i := range cps {
		cp := &cps[i]
		if cp.control && !cp.active && tryResume(cp) {
			total += exposure(cp)
		}
	}
	// Only changes that pass tolerance and edit rules are sent; the others
	// keep the current setting, so the invariant is re-checked on what the
	// platforms will actually enforce: cut what can still be cut, and
	// brake only what remains.
	for round := 0; round < 3; round++ {
		total = 0
		for i := range cps {
			cp := &cps[i]
			if cp.control && !cp.pause && cp.newBud >= 0 {
				e.decideWrite(line, cp)
				if !cp.write {
					cp.newBud = -1
				}
			}
			total += exposure(cp)
		}
		if total <= capLeft {
			break
		}
		for k := 0; k < 4 && total > capLeft; k++ {
			reduce(true)
		}
		for k := 0; k < 4 && total > capLeft; k++ {
			reduce(false)
		}
	}
	brake()
	// On the last day a campaign that did not fit before the re-check
	// rounds gets a second chance against what is actually sent: the
	// first pass counted desired budgets the rounds then held back, and
	// a campaign left paused there loses the rest of the period.
	for i := range cps {
		cp := &cps[i]
		if !cp.control || cp.active || cp.resume || !e.lastDay(cp) || !tryResume(cp) {
			continue
		}
		e.decideWrite(line, cp)
		if !cp.write {
			cp.newBud = -1
		}
		if !fits(cp) {
			cp.resume, cp.write, cp.newBud = false, false, -1
			continue
		}
		total += exposure(cp)
	}
	// Campaigns paused now, or still paused, get the cut that lets them
	// resume later (see park).
	for i := range cps {
		cp := &cps[i]
		if cp.control && (cp.pause && cp.active || !cp.active && !cp.resume) {
			e.park(cp, float64(capLeft-total)/resumeMargin)
		}
	}
	return total
}

// park sends a cut along with a pause where a cut takes effect only
// later, so the campaign can resume at a budget that fits instead of
// staying paused:
//   - Yandex applies cuts from tomorrow: a campaign paused at its full
//     budget could resume tomorrow only at that budget's worst case, which
//     on the period's last day rarely fits. It is cut to the minimum for
//     tomorrow and resumes there with a raise (which applies at once).
//   - Google on the month's last day caps the rest of the month at the
//     budget of an edit, but a cut counts only once confirmed (a write may
//     fail). The cut to what fits the room left after the pause (room, in
//     micros of worst case) is confirmed by the next decision, which can
//     then resume it.
func (e *engine) park(cp *campPlan, room float64) {
	c := cp.c
	if c.DailyBudget == nil || !e.canCut(cp) {
		return
	}
	cur := int64(*c.DailyBudget)
	minB := max(int64(e.pol.MinDailyBudget[c.Platform]), int64(kopeck))
	v := int64(-1)
	switch {
	case c.Platform == adpacer.YandexDirect && cp.agg.dayEnd < e.lines[e.ix.lineOf[cp.ci]].end:
		v = minB
	case e.googleMonthEnd(cp) && room >= float64(max(minB, int64(adpacer.MicrosPerUnit))):
		// No room, no resume: the cut would only be a write.
		v = max(int64(adpacer.Micros(cp.today+int64(room)).FloorTo(kopeck)), minB)
	}
	if v < 0 || v >= cur || !cp.active && float64(cur-v) <= e.pol.TolerancePct/100*float64(cur) {
		return // a paused campaign already parked is not edited again for noise
	}
	cp.park, cp.newBud, cp.write = true, v, true
	cp.reason = "cut while paused by the brake: the platform applies it only later, so the campaign can then resume at a budget that fits"
}

// lastDay reports whether the campaign's line ends within a day or the
// campaign is on the period's last platform day. Both count: the platform
// day of a Google account east of Moscow ends hours before a Moscow period,
// and its short day after that is the last platform day.
func (e *engine) lastDay(cp *campPlan) bool {
	end := e.lines[e.ix.lineOf[cp.ci]].end
	return end-e.now <= daySec || cp.agg.dayEnd >= end
}

// restOfDay is the spend expected from the campaign until its platform
// day ends at its recent (traffic-scaled) rate, at most its worst case
// for today (todayEx).
func (e *engine) restOfDay(cp *campPlan, todayEx int64) int64 {
	r := int64(cp.rate * float64(cp.agg.dayEnd-e.now) / hourSec)
	return max(min(r, todayEx), 0)
}

// googleMonthEnd reports whether a Google campaign is on the last day of
// its account's calendar month (Google counts days and months in the
// account zone).
func (e *engine) googleMonthEnd(cp *campPlan) bool {
	if cp.c.Platform != adpacer.GoogleAds {
		return false
	}
	return time.Unix(cp.agg.dayEnd, 0).In(e.ix.campLoc[cp.ci]).Day() == 1
}

// canCut reports whether a lower budget for the campaign can be sent now:
// Yandex keeps its last daily edit for the evening cut that protects
// tomorrow.
func (e *engine) canCut(cp *campPlan) bool {
	if cp.c.DailyBudget == nil || cp.c.Platform != adpacer.YandexDirect {
		return true
	}
	edits := cp.c.BudgetEditsToday
	if edits >= yandexMaxEdits {
		return false
	}
	return edits < yandexMaxEdits-1 || e.yandexEvening(cp)
}

// settingWindow reports whether a plan-following budget change may be
// sent now: in the first settingWindowHours of the campaign's platform
// day, or, for a Yandex lower (which applies tomorrow), in the evening.
func (e *engine) settingWindow(cp *campPlan) bool {
	if e.now-cp.agg.dayStart < settingWindowHours*hourSec {
		return true
	}
	if cp.agg.dayEnd >= e.lines[e.ix.lineOf[cp.ci]].end {
		// The period's last platform day: the setting is the day's total
		// and follows what is left through the day (the end game).
		return true
	}
	return cp.c.Platform == adpacer.YandexDirect && cp.c.DailyBudget != nil && cp.newBud < int64(*cp.c.DailyBudget) && e.yandexEvening(cp)
}

func (e *engine) yandexEvening(cp *campPlan) bool {
	return time.Unix(e.now, 0).In(e.ix.campLoc[cp.ci]).Hour() >= yandexEveningHour
}

// decideWrite decides whether a budget change is worth sending (outside
// tolerance, or a cut the invariant needs) and allowed (Yandex edit rules).
func (e *engine) decideWrite(line *Line, cp *campPlan) {
	c := cp.c
	tol := e.pol.TolerancePct / 100
	cp.write, cp.reason = false, ""
	if c.DailyBudget == nil {
		cp.write, cp.reason = true, "set a daily budget so the line's worst case is bounded"
		return
	}
	cur := int64(*c.DailyBudget)
	diff := float64(cp.newBud - cur)
	forced := cp.cut && cp.newBud < cur // the invariant needs this cut
	if e.googleMonthEnd(cp) && (c.LastBudgetChange == nil || c.LastBudgetChange.Unix() < cp.agg.dayStart) && cp.newBud > 0 {
		// One edit on the month's last day locks Google's month cap at the
		// budget itself (see exposure), halving the day's worst case.
		if cp.newBud == cur {
			cp.newBud -= int64(kopeck)
		}
		cp.write, cp.reason = true, "edit on the month's last day: Google then caps the rest of the month at this budget"
		return
	}
	if !(math.Abs(diff) > tol*float64(cur) || (forced && cp.newBud != cur)) {
		return
	}
	if forced && !cp.slacked {
		// The invariant tightens a little with every hour of spend; a cut
		// to the exact bound would need another kopeck-sized cut next hour
		// (an edit, and on Yandex one of three). Cut with slack instead —
		// 0.5% of the budget, at least one currency unit — but never below
		// the platform's minimum: lower is always within the invariant.
		slack := max(cur/200, int64(adpacer.MicrosPerUnit))
		if cp.agg.dayEnd-e.now <= rolloverLookahead && cp.agg.dayEnd+daySec >= e.lines[e.ix.lineOf[cp.ci]].end && cp.agg.dayEnd < e.lines[e.ix.lineOf[cp.ci]].end {
			// The evening before the period's last platform day: the cut
			// sets the last day's budget (Yandex cuts apply tomorrow and
			// its edits run out), while the rest of this evening's spend
			// is only estimated; cutting with room for that error keeps
			// the later evening decisions from cutting again (or pausing).
			// The last day raises back to its share at midnight.
			slack = max(slack, int64(float64(cp.newBud)*eveningCutSlack))
		}
		if lower := (cp.newBud - slack) / int64(kopeck) * int64(kopeck); lower >= int64(e.pol.MinDailyBudget[c.Platform]) && lower > 0 {
			cp.newBud = lower
		}
		// decideWrite runs again in the invariant's re-check rounds: the
		// slack is taken once per bound.
		cp.slacked = true
	}
	// In the end game a line off its plan is raised inside the day on VK
	// only: VK
	// applies a budget at once both ways, while a Google or Yandex raise
	// fixes today's cap (Google twice the day's highest budget; a Yandex
	// cut waits for tomorrow) until midnight. Near the period's end that
	// uncuttable worst case crowds out tomorrow's allowance in the evening
	// and the brake pauses campaigns for the last day.
	offPlan := e.offPlan && (diff <= 0 || c.Platform == adpacer.VKAds || !e.endGame)
	if !forced && !e.settingWindow(cp) && !offPlan {
		// The platforms pace each day toward setting x the day's traffic,
		// re-forecasting as the day goes; a plan-following change inside
		// the day moves that target and the spend of the hours left (a
		// burst or a stall), and chases noise the platform evens out by
		// itself. Such changes wait for the start of the next platform day
		// (Yandex lowers for tomorrow in the evening); cuts the invariant
		// needs are sent at once.
		return
	}
	switch {
	case diff > 0:
		cp.reason = fmt.Sprintf("raise to the line's plan: %s left over the remaining traffic-weighted period", adpacer.Micros(max(int64(line.Budget)-cp.agg.periodSpent, 0)))
	case forced:
		cp.reason = "cut so overdelivery x budget stays within the line's remaining budget minus the reserve"
	default:
		cp.reason = "lower to the line's plan for the remaining period"
	}
	cp.write = true
	if c.Platform == adpacer.YandexDirect {
		cp.write = e.yandexAllows(c, cp)
	}
}

func (e *engine) emitActions(line *Line, cp *campPlan, tl *timeline, plan *Plan) {
	if !cp.control {
		return
	}
	c := cp.c
	if cp.pause {
		if cp.active {
			e.addAction(plan, line, c, adpacer.Pause, nil, nil, cp, "emergency brake: the worst-case spend of today (overdelivery x budget, plus reporting lag) would exceed what is left of the line budget minus the reserve")
		}
	}
	if cp.park {
		nb := adpacer.Micros(cp.newBud)
		e.addAction(plan, line, c, adpacer.SetDailyBudget, &nb, c.DailyBudget, cp, cp.reason)
	}
	if cp.pause || !cp.active && !cp.resume {
		return
	}
	if cp.newBud >= 0 && cp.write {
		nb := adpacer.Micros(cp.newBud)
		e.addAction(plan, line, c, adpacer.SetDailyBudget, &nb, c.DailyBudget, cp, cp.reason)
	}
	if cp.resume {
		e.addAction(plan, line, c, adpacer.Resume, nil, nil, cp, "resume: the line's worst-case spend fits the remaining budget again")
	}
	e.bidAction(line, cp, tl, plan)
}

// yandexAllows applies Yandex Direct's edit rules: three edits per Moscow
// day, the last one kept for the evening cut; a cut applies tomorrow, so
// it is written only in the evening unless the invariant needs it.
func (e *engine) yandexAllows(c *Campaign, cp *campPlan) bool {
	if c.BudgetEditsToday >= yandexMaxEdits {
		return false
	}
	cur := int64(*c.DailyBudget)
	if cp.newBud > cur {
		return c.BudgetEditsToday < yandexRaiseEdits
	}
	if cp.cut {
		return e.canCut(cp)
	}
	return e.yandexEvening(cp)
}

// bidAction moves the bid toward the CPA target and toward the spend the
// plan needs: the smaller of the pacing and CPA multipliers, limited to a
// step, the bid range and a cooldown.
func (e *engine) bidAction(line *Line, cp *campPlan, tl *timeline, plan *Plan) {
	c := cp.c
	if c.Bid == nil || !cp.active {
		return
	}
	// A bid outside its range (a bound set or narrowed after the bid) is
	// brought inside at once: the range is the account manager's rule,
	// not a step of the controller, so neither cooldown nor step applies.
	if lo, hi := bidRange(c, line); *c.Bid < lo || *c.Bid > hi {
		nb := min(max(*c.Bid, lo), hi)
		e.addAction(plan, line, c, adpacer.SetBid, &nb, c.Bid, cp, fmt.Sprintf("bring the bid into the allowed range %s..%s", lo, fmtBound(maxBound(hi), "any")))
		return
	}
	pol := e.pol
	if c.LastBidChange != nil && e.s.Now.Sub(*c.LastBidChange) < time.Duration(pol.BidCooldown) {
		return
	}
	ca := cp.agg
	if c.DailyBudget == nil || *c.DailyBudget <= 0 || ca.firstStart == 0 {
		return
	}
	span := min(3*daySec, e.now-ca.firstStart)
	if span < 12*hourSec {
		return // too little delivery history to tell demand from budget limits
	}
	// The spend of exactly the span, rows prorated into it. Day buckets by
	// row start (ca.cost) dropped the part of a daily row inside the 72
	// hours, so a campaign spending its whole budget read as using 70-80%
	// of it and had its bid raised as if short of traffic.
	spent3 := ca.spent3
	// Against what the setting allows on that traffic: the platforms scale
	// the budget by the day's traffic, so a quiet weekend is not a demand
	// limit.
	wSpan := tl.between(e.now-span, e.now)
	if wSpan <= 0 {
		return
	}
	use := float64(spent3+cp.unseen) / (float64(*c.DailyBudget) * wSpan / 24)
	// Spending the budget comes first: a campaign that cannot spend its
	// budget is short of traffic at its bid, so the bid rises whatever the
	// CPA says (a bid cut there would only lose spend). A campaign the
	// budget caps spends the same money at a lower bid, so that is where
	// the bid follows the CPA target (the smaller of the two multipliers).
	m := 1.0
	reason := ""
	var mC float64
	if line.TargetCPA != nil && cp.cvr > 0 {
		// The last day only: bids change at most daily, so it reflects the
		// current bid. That is the rows of the last 24 hours when they have
		// clicks (hourly reports), else the newest day of click data (a
		// platform reporting closed days, whose today is running spend).
		cost2, clicks2 := ca.cost[0], ca.clicks[0]
		if clicks2 == 0 {
			cost2, clicks2 = e.lastMetricDay(ca)
		}
		if dev := cp.cpa/float64(*line.TargetCPA) - 1; clicks2 > 0 && cost2 > 0 && math.Abs(dev) > cpaDeadband && cp.rawConv >= 3*e.pol.MinConversions {
			// Without windup: the CPC the target allows at the observed
			// (delay-corrected) conversion rate against the recent CPC.
			cpcNow := float64(cost2) / float64(clicks2)
			mC = math.Sqrt(float64(*line.TargetCPA) * cp.cvr / cpcNow)
		}
	}
	switch {
	case use < 1 && e.behind:
		m = math.Sqrt(1 / max(use, 0.25))
		reason = fmt.Sprintf("raise the bid: the campaign spends %.0f%% of its budget, short of traffic", use*100)
		if mC > m {
			m = mC
		}
	case mC > 0 && (use > 0.95 || mC > 1):
		m = mC
		dir := "lower"
		if mC > 1 {
			dir = "raise"
		}
		reason = fmt.Sprintf("%s the bid toward the target CPA %s (delay-corrected CPA %s)", dir, *line.TargetCPA, adpacer.FromFloat(cp.cpa/adpacer.MicrosPerUnit))
	}
	if math.Abs(m-1) <= pol.TolerancePct/100 {
		return
	}
	st := pol.MaxBidStepPct / 100
	m = min(max(m, 1-st), 1+st)
	cur := int64(*c.Bid)
	nb := adpacer.Micros(int64(math.Round(float64(cur) * m))).RoundTo(kopeck)
	lo, hi := bidRange(c, line)
	nb = min(max(nb, lo), hi)
	if nb == *c.Bid || math.Abs(float64(nb-*c.Bid)) <= pol.TolerancePct/100*float64(cur) {
		return
	}
	e.addAction(plan, line, c, adpacer.SetBid, &nb, c.Bid, cp, reason)
}

func (e *engine) addAction(plan *Plan, line *Line, c *Campaign, kind adpacer.ActionKind, value, prev *adpacer.Micros, cp *campPlan, reason string) {
	a := Action{Campaign: c.ID, Line: line.ID, Kind: kind, Reason: reason}
	if value != nil {
		v := *value
		a.Value = &v
	}
	if prev != nil {
		p := *prev
		a.Previous = &p
	}
	a.Key = actionKey(c.ID, kind, e.window(cp), value)
	// A cut the invariant needs (or the cut that goes with a brake pause)
	// never waits for a person: it only lowers what the platforms may
	// spend, and held until office hours it let an approve-mode line
	// overspend (demo: 100.1% of budget).
	safety := kind == adpacer.SetDailyBudget && value != nil && prev != nil && *value < *prev && cp != nil && (cp.cut || cp.park)
	if line.Mode == ModeApprove && e.pol.ApprovalThresholdPct > 0 && value != nil && !safety {
		if prev == nil || *prev == 0 || math.Abs(float64(*value-*prev))/float64(*prev)*100 > e.pol.ApprovalThresholdPct {
			a.NeedsApproval = true
			al := e.alert(adpacer.SeverityInfo, "approval_needed", line.ID, c.ID,
				fmt.Sprintf("Approve %s of %s", kind, c.ID),
				fmt.Sprintf("%s from %s to %s exceeds the approval threshold of %.0f%%: %s", kind, fmtMicros(prev), fmtMicros(value), e.pol.ApprovalThresholdPct, reason),
				string(a.Key))
			// One approval per campaign and kind: a budget and a bid change
			// of the same campaign are two cards.
			al.Key += ":" + string(kind)
			plan.Alerts = append(plan.Alerts, al)
		}
	}
	plan.Actions = append(plan.Actions, a)
}

// window names the pacing window of a decision: the campaign's platform
// day and the hour of now in that day's zone.
func (e *engine) window(cp *campPlan) string {
	return time.Unix(e.now, 0).In(e.ix.campLoc[cp.ci]).Format("2006-01-02T15")
}

func actionKey(id adpacer.CampaignID, kind adpacer.ActionKind, window string, value *adpacer.Micros) adpacer.ActionKey {
	v := "-"
	if value != nil {
		v = value.String()
	}
	h := sha256.Sum256([]byte(string(id) + "|" + string(kind) + "|" + window + "|" + v))
	return adpacer.ActionKey(hex.EncodeToString(h[:12]))
}

func fmtMicros(m *adpacer.Micros) string {
	if m == nil {
		return "none"
	}
	return m.String()
}

func (e *engine) alert(sev adpacer.Severity, kind, line string, camp adpacer.CampaignID, title, detail, material string) Alert {
	key := kind + ":" + line
	if camp != "" {
		key += ":" + string(camp)
	}
	fp := sha256.Sum256([]byte(key + "|" + string(sev) + "|" + material))
	return Alert{Key: key, Severity: sev, Kind: kind, Line: line, Campaign: camp, Title: title, Detail: detail, Fingerprint: hex.EncodeToString(fp[:8])}
}

func (e *engine) lineAlerts(line *Line, cps []campPlan, st LineStatus, est, committed int64, leftFrac float64, active bool, plan *Plan) {
	B := float64(line.Budget)
	for i := range cps {
		cp := &cps[i]
		if cp.stale {
			age := e.s.Now.Sub(cp.c.DataAsOf).Round(time.Minute)
			plan.Alerts = append(plan.Alerts, e.alert(adpacer.SeverityWarning, "stale_data", line.ID, cp.c.ID,
				fmt.Sprintf("Stale data: %s is held", cp.c.ID),
				fmt.Sprintf("Data of %s is %s old (policy allows %s); the engine holds its settings and plans the line with its worst case until fresh data arrives.", cp.c.ID, age, time.Duration(e.pol.MaxDataAge)),
				"stale"))
		}
	}
	if !active {
		return
	}
	over := est + committed - int64(line.Budget)
	switch {
	case st.Status == StatusExhausted && leftFrac > 0.02:
		plan.Alerts = append(plan.Alerts, e.alert(adpacer.SeverityCritical, "budget_exhausted", line.ID, "",
			fmt.Sprintf("Budget exhausted early: %s", line.ID),
			fmt.Sprintf("%s of %s spent with %.0f%% of the period's traffic still ahead; campaigns are paused or at minimum budgets.", adpacer.Micros(est), line.Budget, leftFrac*100),
			"exhausted"))
	case over > 0:
		plan.Alerts = append(plan.Alerts, e.alert(adpacer.SeverityCritical, "projected_overspend", line.ID, "",
			fmt.Sprintf("Overspend risk: %s", line.ID),
			fmt.Sprintf("Spent %s (with estimated unreported spend) plus today's worst case %s exceeds the budget %s by %s; held or uneditable campaigns keep the exposure.", adpacer.Micros(est), adpacer.Micros(committed), line.Budget, adpacer.Micros(over)),
			fmt.Sprintf("%d", int64(float64(over)/B*20))))
	}
	if ratio := float64(st.Projected) / B; ratio < 1-2*e.pol.TolerancePct/100 && leftFrac < 0.9 && st.Status != StatusHeld {
		sev := adpacer.SeverityWarning
		if ratio < 0.8 {
			sev = adpacer.SeverityCritical
		}
		plan.Alerts = append(plan.Alerts, e.alert(sev, "projected_underspend", line.ID, "",
			fmt.Sprintf("Underspend risk: %s", line.ID),
			fmt.Sprintf("Projected %s of %s (%.0f%%): the campaigns' recent delivery cannot absorb the remaining plan even with higher bids and budgets.", st.Projected, line.Budget, ratio*100),
			fmt.Sprintf("%s|%d", sev, int(ratio*20))))
	}
	if line.TargetCPA != nil {
		var cost, conv float64
		for i := range cps {
			if cps[i].conv > 0 {
				cost += cps[i].cpa * cps[i].conv
				conv += cps[i].conv
			}
		}
		if conv >= e.pol.MinConversions {
			cpa := cost / conv
			target := float64(*line.TargetCPA)
			if cpa > target*(1+e.pol.CPABreachPct/100) {
				plan.Alerts = append(plan.Alerts, e.alert(adpacer.SeverityWarning, "cpa_breach", line.ID, "",
					fmt.Sprintf("CPA above target: %s", line.ID),
					fmt.Sprintf("Delay-corrected CPA %s is %.0f%% above the target %s; bids are being lowered.", adpacer.FromFloat(cpa/adpacer.MicrosPerUnit), (cpa/target-1)*100, line.TargetCPA),
					fmt.Sprintf("%d", int((cpa/target-1)*10))))
			}
		}
	}
}
