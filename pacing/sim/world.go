package sim

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
)

// PlatformError is a refusal as the platform's API would give it: Code is
// the platform's own code (Yandex "8305", Google "RESOURCE_EXHAUSTED", VK
// "ERR_WRONG_PARAMETER"), Retryable tells whether the same request may
// succeed later without a change.
type PlatformError struct {
	Platform  adpacer.Platform
	Campaign  adpacer.CampaignID
	Code      string
	Message   string
	Retryable bool
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("%s: campaign %s: %s %s", e.Platform, e.Campaign, e.Code, e.Message)
}

// ErrUnknownCampaign is returned for ids the world does not hold.
var ErrUnknownCampaign = errors.New("sim: unknown campaign")

// Tick status codes recorded per campaign and tick.
const (
	statusServing uint8 = iota
	statusPaused
	statusModerated
	statusCapped
	statusOutside
)

type convEvent struct {
	camp int32
	hour int32
	next int32
}

type campState struct {
	state      adpacer.CampaignState // on or paused (policy controlled)
	setting    adpacer.Micros        // as the API reports it
	eff        adpacer.Micros        // in force today (Yandex cuts wait for the next day)
	pending    adpacer.Micros
	hasPending bool
	bid        adpacer.Micros

	day       int32
	dayStart  int
	dayEnd    int
	dayFactor float64 // the platform's running estimate of today's traffic over an average day
	// Auctions seen today and the forecast for the same ticks: the platform
	// learns during the day whether it is busier than usual.
	seenToday, expectedToday float64
	spentToday               int64
	maxSetting               adpacer.Micros
	edits                    int

	// Google month
	monthKey         int
	monthEndDay      int32
	spentMonth       int64
	spentMonthBefore int64
	monthCap         int64

	// Yandex week
	weekJ            int
	weekSettingsPast int64
	spentWeekBefore  int64

	// cache of the auction response at (bid, mu)
	cBid   adpacer.Micros
	cMu    float64
	cWin   float64
	cPaid  float64
	cCPC   float64
	cValid bool

	// write discipline
	writesToday int
	// attemptsToday counts applied budget edits plus those the edit limit
	// refused (not transient failures): D1 asks whether a policy tries a
	// 4th Yandex edit, which the platform's refusal would otherwise hide.
	attemptsToday int
	bidWritesDay  int
	lastBudgetSet time.Time
}

// World is one simulated market with three platform emulators, advanced in
// 15-minute ticks. It is not safe for concurrent use; the runner gives each
// policy its own World, and a server that shares one must serialise access.
type World struct {
	sc *Scenario
	m  *market
	k  int // next tick to simulate; the world's time is TickTime(k)
	T  int
	H  int

	camps []campState

	cost   []int64   // [c*T+k] true cost
	clicks []int32   // [c*T+k]
	impr   []int32   // [c*T+k]
	conv   []float32 // [c*T+k] settled conversions by click tick
	status []uint8   // [c*T+k]

	costH    []int64   // [c*H+h]
	clicksH  []int32   // [c*H+h]
	imprH    []int32   // [c*H+h]
	convVisH []float32 // [c*H+h] conversions visible in reports, by click hour

	events    []convEvent
	head      [numPlatforms][]int32 // per arrival tick, -1 = empty
	processed [numPlatforms]int

	lineSpent []int64 // true spend in the line period
	exposure  []int64 // scratch per line

	acct accounting
	rng  rng
}

// accounting collects the write-discipline and invariant counters the
// metrics need.
type accounting struct {
	budgetWrites    []int32 // per campaign, successful
	budgetRefused   []int32 // per campaign
	bidWrites       []int32
	toggles         []int32
	maxWritesDay    []int32 // per campaign, max successful budget writes in one platform day
	maxAttemptsDay  []int32 // per campaign, max budget writes tried in one platform day (incl. refused by the edit limit)
	bigSteps        []int32 // budget writes changing the value by more than 30%
	yandexOverLimit int32   // Yandex campaign-days with more than 3 successful edits (must stay 0)
	d2Violations    []int32 // per line: ticks where worst-case exposure exceeded the remaining budget
	d2First         []int32 // per line: first violating tick, -1 when none
}

// NewWorld builds the world of a scenario for one seed.
func NewWorld(sc *Scenario, seed uint64) *World { return newWorld(sc, newMarket(sc, seed)) }

func newWorld(sc *Scenario, m *market) *World {
	n := len(sc.Campaigns)
	T := sc.Ticks
	H := (T + ticksPerHour - 1) / ticksPerHour
	w := &World{sc: sc, m: m, T: T, H: H,
		camps: make([]campState, n),
		cost:  make([]int64, n*T), clicks: make([]int32, n*T), impr: make([]int32, n*T),
		conv: make([]float32, n*T), status: make([]uint8, n*T),
		costH: make([]int64, n*H), clicksH: make([]int32, n*H), imprH: make([]int32, n*H), convVisH: make([]float32, n*H),
		lineSpent: make([]int64, len(sc.Lines)), exposure: make([]int64, len(sc.Lines)),
		rng: newRNG(m.seed, purposeWrite, 0, 0),
	}
	w.acct = accounting{
		budgetWrites: make([]int32, n), budgetRefused: make([]int32, n), bidWrites: make([]int32, n),
		toggles: make([]int32, n), maxWritesDay: make([]int32, n), maxAttemptsDay: make([]int32, n), bigSteps: make([]int32, n),
		d2Violations: make([]int32, len(sc.Lines)), d2First: make([]int32, len(sc.Lines)),
	}
	for i := range w.acct.d2First {
		w.acct.d2First[i] = -1
	}
	for p := range numPlatforms {
		h := make([]int32, T+1)
		for i := range h {
			h[i] = -1
		}
		w.head[p] = h
	}
	for ci := range w.camps {
		c := &sc.Campaigns[ci]
		st := &w.camps[ci]
		st.state = adpacer.StateOn
		st.setting, st.eff, st.bid = c.DailyBudget, c.DailyBudget, c.Bid
		st.day = math.MinInt32
		st.monthKey = -1
	}
	w.rollover(0)
	return w
}

// Scenario returns the compiled scenario.
func (w *World) Scenario() *Scenario { return w.sc }

// Now is the world's current time: the start of the next tick to simulate.
func (w *World) Now() time.Time { return w.sc.TickTime(w.k) }

// Done reports whether the whole window has been simulated.
func (w *World) Done() bool { return w.k >= w.T }

// Advance simulates every whole tick that ends at or before to. Times before
// Now are a no-op; times after the end stop at the end.
func (w *World) Advance(to time.Time) {
	target := min(w.T, w.sc.TickOf(to))
	for w.k < target {
		w.step(w.k)
		w.k++
		w.rollover(w.k)
		w.processArrivals()
	}
}

func (w *World) moderated(ci, k int) bool {
	for _, m := range w.sc.moderation {
		if m.camps[ci] && m.has(k) {
			return true
		}
	}
	return false
}

func monthKeyOf(day int32) (key int, nextMonthDay int32) {
	t := time.Unix(int64(day)*86400, 0).UTC()
	next := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	return t.Year()*12 + int(t.Month()), int32(next.Unix() / 86400)
}

// rollover opens a new platform day for every campaign whose day changed at
// tick k.
func (w *World) rollover(k int) {
	if k >= w.T {
		return
	}
	sc := w.sc
	for ci := range w.camps {
		c := &sc.Campaigns[ci]
		st := &w.camps[ci]
		z := c.DayZone
		day := sc.zoneDay[z][k]
		if day == st.day {
			continue
		}
		first := st.day == math.MinInt32
		pp := &sc.Platforms[c.pidx]
		j := (int(sc.zoneWday[z][k]) + 6) % 7 // Monday = 0
		if c.pidx == pYandex {
			switch {
			case first:
				// The week began before the simulation: assume the earlier
				// days spent exactly the starting setting.
				st.weekSettingsPast = int64(j) * int64(st.eff)
				st.spentWeekBefore = int64(j) * int64(st.eff)
			case j == 0:
				st.weekSettingsPast, st.spentWeekBefore = 0, 0
			default:
				st.weekSettingsPast += int64(st.eff)
				st.spentWeekBefore += st.spentToday
			}
			st.weekJ = j
			if st.hasPending {
				st.eff, st.hasPending = st.pending, false
			}
		} else {
			st.eff = st.setting
		}
		if c.pidx == pGoogle {
			key, nextDay := monthKeyOf(day)
			if key != st.monthKey {
				st.monthKey, st.monthEndDay = key, nextDay
				st.spentMonth, st.spentMonthBefore = 0, 0
				st.monthCap = int64(math.Floor(pp.MonthCapFactor * float64(st.setting)))
			} else {
				st.spentMonthBefore = st.spentMonth
			}
		}
		if !first {
			w.acct.maxWritesDay[ci] = max(w.acct.maxWritesDay[ci], int32(st.writesToday))
			w.acct.maxAttemptsDay[ci] = max(w.acct.maxAttemptsDay[ci], int32(st.attemptsToday))
		}
		st.day = day
		st.dayStart = sc.TickOf(w.m.dayStartTime(z, day))
		st.dayEnd = int(w.m.dayEnd[z][day-w.m.dayBase[z]])
		st.dayFactor = 1
		st.seenToday, st.expectedToday = 0, 0
		st.spentToday = 0
		st.maxSetting = st.setting
		st.edits, st.writesToday, st.attemptsToday, st.bidWritesDay = 0, 0, 0, 0
	}
}

// allowance returns the platform's hard remaining spend for today and its
// own pacing target for the day's total, both in micros.
func (w *World) allowance(ci int) (hardRem int64, target float64) {
	c := &w.sc.Campaigns[ci]
	st := &w.camps[ci]
	pp := &w.sc.Platforms[c.pidx]
	df := st.dayFactor
	switch c.pidx {
	case pGoogle:
		s := float64(st.setting)
		capDay := int64(math.Floor(pp.DayCapFactor*float64(st.maxSetting))) - st.spentToday
		capMonth := st.monthCap - st.spentMonth
		hardRem = min(capDay, capMonth)
		if pp.WorstCase && df > 1 {
			target = pp.DayCapFactor * s
		} else {
			target = s * math.Min(pp.DayCapFactor, df)
		}
	case pYandex:
		e := float64(st.eff)
		left := 7 - st.weekJ
		weekRem := st.weekSettingsPast + int64(left)*int64(st.eff) - st.spentWeekBefore - st.spentToday
		capDay := int64(math.Floor(pp.DayCapFactor*e)) - st.spentToday
		hardRem = min(capDay, weekRem)
		carry := float64(st.weekSettingsPast - st.spentWeekBefore)
		if pp.WorstCase && df > 1 {
			target = pp.DayCapFactor * e
		} else {
			target = math.Min(pp.DayCapFactor*e, e*df+carry/float64(left))
		}
	default:
		s := float64(st.setting)
		kappa := w.m.kappa
		hardRem = int64(math.Floor(kappa*s)) - st.spentToday
		if pp.WorstCase && df > 1 {
			target = kappa * s
		} else {
			target = s * math.Min(kappa, df)
		}
	}
	if hardRem < 0 {
		hardRem = 0
	}
	target = math.Min(target, float64(st.spentToday+hardRem))
	return hardRem, target
}

func (w *World) auction(ci int, mu float64) (win, paid, cpc float64) {
	st := &w.camps[ci]
	if !st.cValid || st.cBid != st.bid || st.cMu != mu {
		c := &w.sc.Campaigns[ci]
		b := st.bid.Float()
		st.cWin = winProb(b, mu, c.Sigma)
		st.cPaid = expectedPaid(b, mu, c.Sigma)
		st.cCPC = 0
		if st.cWin > 1e-12 {
			st.cCPC = st.cPaid / st.cWin
		}
		st.cBid, st.cMu, st.cValid = st.bid, mu, true
	}
	return st.cWin, st.cPaid, st.cCPC
}

// step simulates tick k for every campaign.
func (w *World) step(k int) {
	sc := w.sc
	m := w.m
	T, H := w.T, w.H
	mp := &sc.Market
	for li := range w.exposure {
		w.exposure[li] = 0
	}
	h := k / ticksPerHour
	for ci := range w.camps {
		c := &sc.Campaigns[ci]
		st := &w.camps[ci]
		idx := ci*T + k
		line := &sc.Lines[c.Line]
		switch {
		case k < line.StartTick || k >= line.EndTick:
			w.status[idx] = statusOutside
			continue
		case w.moderated(ci, k):
			w.status[idx] = statusModerated
			continue
		case st.state != adpacer.StateOn:
			w.status[idx] = statusPaused
			continue
		}
		// Traffic of this tick (drawn first so the stream is the same
		// whatever the platform decides below).
		r := newRNG(m.seed, purposeTick, uint64(ci), uint64(k))
		sd := mp.TickNoiseSD
		traffic := float64(m.lam[idx]) * math.Exp(sd*r.norm()-sd*sd/2)
		// The platform forecasts the rest of its day from its usual
		// weekday/hour profile, scaled by how today compares so far
		// (shrunk towards 1 with three hours of pseudo-observations), and
		// sets today's target from that forecast.
		planCum := m.planCum[ci*(T+1):]
		dayEndC := min(st.dayEnd, T)
		planRest := planCum[dayEndC] - planCum[k]
		prior := c.AuctionsPerHour * 3
		ratio := (st.seenToday + prior) / (st.expectedToday + prior)
		restForecast := planRest * ratio
		inWindow := float64(dayEndC-max(st.dayStart, 0)) / ticksPerDay
		if avg := c.AuctionsPerHour * 24 * inWindow; avg > 0 {
			st.dayFactor = (st.seenToday + restForecast) / avg
		}
		st.seenToday += traffic
		st.expectedToday += planCum[k+1] - planCum[k]
		hardRem, target := w.allowance(ci)
		w.exposure[c.Line] += hardRem
		mu := sc.Campaigns[ci].Mu
		if len(sc.price) > 0 {
			mu = m.priceMu(ci, k)
		}
		win, paid, cpcExp := w.auction(ci, mu)
		// The platform's own intraday pacing: enter a share theta of the
		// auctions so the expected spend of the rest of the day meets the
		// day's target.
		want := target - float64(st.spentToday)
		theta := 0.0
		if want > 0 && hardRem > 0 {
			remExp := restForecast * c.CTR * paid * adpacer.MicrosPerUnit
			if remExp <= want {
				theta = 1
			} else {
				theta = want / remExp
			}
		}
		if theta <= 0 {
			w.status[idx] = statusCapped
			continue
		}
		auctions := traffic * theta
		nClicks := r.poisson(auctions * c.CTR * win)
		cs := mp.CPCNoiseSD
		cpcM := adpacer.FromFloat(cpcExp * math.Exp(cs*r.norm()-cs*cs/2)).RoundTo(10_000)
		if cpcM < 10_000 {
			cpcM = 10_000
		}
		cost := nClicks * int64(cpcM)
		tickStatus := statusServing
		shown := auctions * win
		if cost > hardRem {
			// The cap stops the campaign inside the tick: keep the clicks
			// that fit and the impressions served until then.
			kept := hardRem / int64(cpcM)
			shown *= float64(kept) / float64(nClicks)
			nClicks = kept
			cost = nClicks * int64(cpcM)
			tickStatus = statusCapped
		}
		w.status[idx] = tickStatus
		impressions := int32(math.Round(shown))
		w.cost[idx] = cost
		w.clicks[idx] = int32(nClicks)
		w.impr[idx] = impressions
		hi := ci*H + h
		w.costH[hi] += cost
		w.clicksH[hi] += int32(nClicks)
		w.imprH[hi] += impressions
		st.spentToday += cost
		st.spentMonth += cost
		w.lineSpent[c.Line] += cost
		if nClicks > 0 && c.CVR > 0 {
			rc := newRNG(m.seed, purposeConversion, uint64(ci), uint64(k))
			n := rc.binomial(nClicks, c.CVR)
			for range n {
				delayH := math.Exp(mp.DelayMu + mp.DelaySigma*rc.norm())
				arrival := k + int(delayH*ticksPerHour)
				if arrival < T+mp.SettleTicks {
					w.conv[idx]++
				}
				if arrival < T {
					p := c.pidx
					w.events = append(w.events, convEvent{camp: int32(ci), hour: int32(h), next: w.head[p][arrival]})
					w.head[p][arrival] = int32(len(w.events) - 1)
				}
			}
		}
	}
	// D2: the worst case the platforms still allow today must fit in what
	// is left of each line's budget.
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k < l.StartTick || k >= l.EndTick {
			continue
		}
		rem := int64(l.BudgetAt(k)) - (w.lineSpent[li] - w.tickLineSpend(li, k))
		if w.exposure[li] > rem {
			w.acct.d2Violations[li]++
			if w.acct.d2First[li] < 0 {
				w.acct.d2First[li] = int32(k)
			}
		}
	}
}

// tickLineSpend is the spend of line li in tick k (already added to
// lineSpent by step; D2 compares against the remaining budget before it).
func (w *World) tickLineSpend(li, k int) int64 {
	var s int64
	for _, ci := range w.sc.Lines[li].Campaigns {
		s += w.cost[ci*w.T+k]
	}
	return s
}

// processArrivals makes conversions visible once the platform's report
// frontier has passed their arrival.
func (w *World) processArrivals() {
	for p := range numPlatforms {
		f := int(w.m.frontier[p][w.k])
		for t := w.processed[p]; t < f; t++ {
			for e := w.head[p][t]; e >= 0; e = w.events[e].next {
				ev := w.events[e]
				w.convVisH[int(ev.camp)*w.H+int(ev.hour)]++
			}
		}
		if f > w.processed[p] {
			w.processed[p] = f
		}
	}
}

func (w *World) index(id adpacer.CampaignID) (int, error) {
	ci, ok := w.sc.campIdx[id]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownCampaign, id)
	}
	return ci, nil
}

func (w *World) writeOutage(pidx int) bool {
	for _, o := range w.sc.writeOut {
		if o.pidx == pidx && o.has(w.k) {
			return true
		}
	}
	return false
}

// writeFault draws the platform's transient write failures.
func (w *World) writeFault(ci int) error {
	c := &w.sc.Campaigns[ci]
	pp := &w.sc.Platforms[c.pidx]
	perr := func(code, msg string) error {
		return &PlatformError{Platform: c.Platform, Campaign: c.ID, Code: code, Message: msg, Retryable: true}
	}
	if w.writeOutage(c.pidx) {
		return perr(unavailableCode[c.pidx], "service unavailable")
	}
	u := w.rng.float()
	switch {
	case u < pp.WriteFailure:
		return perr(failureCode[c.pidx], "internal error, try again later")
	case u < pp.WriteFailure+pp.Throttle:
		return perr(throttleCode[c.pidx], "request rate limit exceeded")
	}
	return nil
}

var (
	unavailableCode = [numPlatforms]string{"1000", "UNAVAILABLE", "ERR_INTERNAL"}
	failureCode     = [numPlatforms]string{"1002", "INTERNAL", "ERR_INTERNAL"}
	throttleCode    = [numPlatforms]string{"56", "RESOURCE_EXHAUSTED", "ERR_LIMIT_EXCEEDED"}
	invalidCode     = [numPlatforms]string{"5005", "BUDGET_PER_DAY_MINIMUM", "ERR_WRONG_PARAMETER"}
)

// SetDailyBudget sets a campaign's daily budget under its platform's rules:
// Yandex Direct refuses a 4th edit in a Moscow day (8305) and applies cuts
// from the next day; Google raises the day's cap to 2x the highest setting
// and recomputes the month cap; VK applies immediately. Setting the current
// value is a no-op that uses no edit.
func (w *World) SetDailyBudget(id adpacer.CampaignID, v adpacer.Micros) error {
	ci, err := w.index(id)
	if err != nil {
		return err
	}
	return w.setBudget(ci, v)
}

func (w *World) setBudget(ci int, v adpacer.Micros) error {
	c := &w.sc.Campaigns[ci]
	st := &w.camps[ci]
	pp := &w.sc.Platforms[c.pidx]
	if v < pp.MinDailyBudget || v <= 0 {
		w.acct.budgetRefused[ci]++
		return &PlatformError{Platform: c.Platform, Campaign: c.ID, Code: invalidCode[c.pidx],
			Message: fmt.Sprintf("daily budget %s is below the minimum %s", v, pp.MinDailyBudget)}
	}
	if v == st.setting {
		return nil
	}
	if pp.MaxBudgetEdits > 0 && st.edits >= pp.MaxBudgetEdits {
		st.attemptsToday++
		w.acct.budgetRefused[ci]++
		return &PlatformError{Platform: c.Platform, Campaign: c.ID, Code: "8305",
			Message: fmt.Sprintf("daily budget amount changed more than %d times a day", pp.MaxBudgetEdits)}
	}
	if err := w.writeFault(ci); err != nil {
		w.acct.budgetRefused[ci]++
		return err
	}
	old := st.setting
	st.edits++
	st.writesToday++
	st.attemptsToday++
	w.acct.budgetWrites[ci]++
	if old > 0 && math.Abs(float64(v)/float64(old)-1) > 0.30 {
		w.acct.bigSteps[ci]++
	}
	if c.pidx == pYandex && pp.MaxBudgetEdits > 0 && st.edits > pp.MaxBudgetEdits {
		w.acct.yandexOverLimit++
	}
	w.applySetting(ci, v)
	st.lastBudgetSet = w.Now()
	return nil
}

// applySetting changes the setting under the platform's rules (Yandex cuts
// wait for tomorrow; Google raises the day's highest setting and
// recomputes the month cap), without the bookkeeping of an API write.
func (w *World) applySetting(ci int, v adpacer.Micros) {
	st := &w.camps[ci]
	st.setting = v
	switch w.sc.Campaigns[ci].pidx {
	case pYandex:
		if v >= st.eff {
			st.eff, st.hasPending = v, false
		} else {
			st.pending, st.hasPending = v, true
		}
	case pGoogle:
		if v > st.maxSetting {
			st.maxSetting = v
		}
		st.eff = v
		daysLeft := int64(st.monthEndDay - st.day)
		st.monthCap = st.spentMonthBefore + daysLeft*int64(v)
	default:
		st.eff = v
	}
}

// hardRemIf is the platform's hard remaining spend for today (as
// allowance) if the setting became v now; the world is left unchanged.
func (w *World) hardRemIf(ci int, v adpacer.Micros) int64 {
	saved := w.camps[ci]
	w.applySetting(ci, v)
	hr, _ := w.allowance(ci)
	w.camps[ci] = saved
	return hr
}

// SetBid sets the campaign's max CPC within its min/max bid.
func (w *World) SetBid(id adpacer.CampaignID, v adpacer.Micros) error {
	ci, err := w.index(id)
	if err != nil {
		return err
	}
	return w.setBid(ci, v)
}

func (w *World) setBid(ci int, v adpacer.Micros) error {
	c := &w.sc.Campaigns[ci]
	if v < c.MinBid || v > c.MaxBid {
		return &PlatformError{Platform: c.Platform, Campaign: c.ID, Code: invalidCode[c.pidx],
			Message: fmt.Sprintf("bid %s is outside %s..%s", v, c.MinBid, c.MaxBid)}
	}
	st := &w.camps[ci]
	if v == st.bid {
		return nil
	}
	if err := w.writeFault(ci); err != nil {
		return err
	}
	st.bid = v
	st.bidWritesDay++
	w.acct.bidWrites[ci]++
	return nil
}

// Pause stops a campaign immediately.
func (w *World) Pause(id adpacer.CampaignID) error {
	ci, err := w.index(id)
	if err != nil {
		return err
	}
	return w.setState(ci, adpacer.StatePaused)
}

// Resume restarts a paused campaign; a campaign stopped by moderation cannot
// be resumed until moderation passes.
func (w *World) Resume(id adpacer.CampaignID) error {
	ci, err := w.index(id)
	if err != nil {
		return err
	}
	return w.setState(ci, adpacer.StateOn)
}

func (w *World) setState(ci int, s adpacer.CampaignState) error {
	c := &w.sc.Campaigns[ci]
	st := &w.camps[ci]
	if s == adpacer.StateOn && w.moderated(ci, w.k) {
		return &PlatformError{Platform: c.Platform, Campaign: c.ID, Code: "8300", Message: "campaign is stopped by moderation"}
	}
	if st.state == s {
		return nil
	}
	if err := w.writeFault(ci); err != nil {
		return err
	}
	st.state = s
	w.acct.toggles[ci]++
	return nil
}

// CampaignIDs lists the campaigns in scenario order.
func (w *World) CampaignIDs() []adpacer.CampaignID {
	out := make([]adpacer.CampaignID, len(w.sc.Campaigns))
	for i, c := range w.sc.Campaigns {
		out[i] = c.ID
	}
	return out
}

// Campaign returns live settings as the platform's API reports them.
func (w *World) Campaign(id adpacer.CampaignID) (adpacer.Campaign, error) {
	ci, err := w.index(id)
	if err != nil {
		return adpacer.Campaign{}, err
	}
	return w.campaign(ci), nil
}

func (w *World) campaign(ci int) adpacer.Campaign {
	c := &w.sc.Campaigns[ci]
	st := &w.camps[ci]
	state := st.state
	if w.moderated(ci, min(w.k, w.T-1)) {
		state = adpacer.StateRejected
	}
	if w.k >= w.sc.Lines[c.Line].EndTick {
		state = adpacer.StateEnded
	}
	budget, bid := st.setting, st.bid
	return adpacer.Campaign{ID: c.ID, AccountID: "sim", Name: string(c.ID), TimeZone: c.TimeZone, Currency: "RUB",
		State: state, DailyBudget: &budget, Bid: &bid, Strategy: "HIGHEST_POSITION",
		BudgetEditsToday: st.edits, UpdatedAt: w.Now()}
}

// DataAsOf is the time up to which the platform's reports are complete.
func (w *World) DataAsOf(p adpacer.Platform) time.Time {
	pi := platformIndex(p)
	if pi < 0 {
		return time.Time{}
	}
	return w.sc.TickTime(int(w.m.frontier[pi][w.k]))
}

// restateFactor is the share of day d's revision already reported.
func (w *World) restateFactor(ci int, d int32) float64 {
	c := &w.sc.Campaigns[ci]
	z := c.DayZone
	i := d - w.m.dayBase[z]
	end := int(w.m.dayEnd[z][i])
	if w.k < end {
		return 1
	}
	r := float64(w.m.restate[ci][i])
	days := w.sc.Platforms[c.pidx].RestateDays
	if days == 0 {
		return 1 + r
	}
	return 1 + r*math.Min(1, float64(w.k-end)/float64(days*ticksPerDay))
}

// ReportedStat is the campaign's stat over [from, to) as the platform
// reports it now: only what is past the report frontier, with closed days
// revised by the restatement reported so far, and conversions that have
// arrived. Intervals are rounded to ticks.
func (w *World) ReportedStat(id adpacer.CampaignID, from, to time.Time) (adpacer.Stat, error) {
	ci, err := w.index(id)
	if err != nil {
		return adpacer.Stat{}, err
	}
	s := w.reported(ci, w.sc.TickOf(from), w.sc.TickOf(to))
	s.Start, s.End = from, to
	return s, nil
}

func (w *World) reported(ci, k0, k1 int) adpacer.Stat {
	c := &w.sc.Campaigns[ci]
	f := int(w.m.frontier[c.pidx][w.k])
	k0 = max(k0, 0)
	k1 = min(k1, f)
	var cost, clicks float64
	var impr int64
	var conv float64
	z := c.DayZone
	days := w.sc.zoneDay[z]
	for k := k0; k < k1; {
		if k%ticksPerHour == 0 && k+ticksPerHour <= k1 {
			h := k / ticksPerHour
			hi := ci*w.H + h
			fac := w.restateFactor(ci, days[k])
			cost += float64(w.costH[hi]) * fac
			clicks += float64(w.clicksH[hi]) * fac
			impr += int64(w.imprH[hi])
			conv += float64(w.convVisH[hi])
			k += ticksPerHour
			continue
		}
		idx := ci*w.T + k
		fac := w.restateFactor(ci, days[k])
		cost += float64(w.cost[idx]) * fac
		clicks += float64(w.clicks[idx]) * fac
		impr += int64(w.impr[idx])
		if k%ticksPerHour == 0 || k == k0 {
			// conversions are kept by click hour; count the hour once
			conv += float64(w.convVisH[ci*w.H+k/ticksPerHour])
		}
		k++
	}
	return adpacer.Stat{Campaign: c.ID, Cost: adpacer.Micros(math.Round(cost)), Clicks: int64(math.Round(clicks)),
		Impressions: impr, Conversions: conv}
}

// TrueSpend is the campaign's actual (unrestated, unlagged) spend so far.
func (w *World) TrueSpend(id adpacer.CampaignID) (adpacer.Micros, error) {
	ci, err := w.index(id)
	if err != nil {
		return 0, err
	}
	var s int64
	for _, v := range w.cost[ci*w.T : ci*w.T+w.k] {
		s += v
	}
	return adpacer.Micros(s), nil
}

// SettledConversions is the campaign's conversions from clicks so far as
// they will settle: those still in the reporting delay count, as they do
// in the metrics' CPA (C1); ReportedStat shows only those arrived.
func (w *World) SettledConversions(id adpacer.CampaignID) (float64, error) {
	ci, err := w.index(id)
	if err != nil {
		return 0, err
	}
	var n float64
	for _, v := range w.conv[ci*w.T : ci*w.T+w.k] {
		n += float64(v)
	}
	return n, nil
}

// TodaySpend is the platform's own running total for the current platform
// day (what a Yandex TODAY report converges to), as a snapshot at Now.
func (w *World) TodaySpend(id adpacer.CampaignID) (adpacer.SpendSnapshot, error) {
	ci, err := w.index(id)
	if err != nil {
		return adpacer.SpendSnapshot{}, err
	}
	st := &w.camps[ci]
	return adpacer.SpendSnapshot{Campaign: id, Day: dayString(st.day), At: w.Now(), Cost: adpacer.Micros(st.spentToday)}, nil
}

// CampaignsOf lists the campaigns of one platform in scenario order (what
// a fake platform server exposes).
func (w *World) CampaignsOf(p adpacer.Platform) []adpacer.CampaignID {
	var out []adpacer.CampaignID
	for _, c := range w.sc.Campaigns {
		if c.Platform == p {
			out = append(out, c.ID)
		}
	}
	return out
}

// LockedWorld serialises access to a World shared by several servers (the
// fake platform APIs of `adpacer demo`): every use goes through Do.
type LockedWorld struct {
	mu sync.Mutex
	w  *World
}

// NewLockedWorld wraps w; w must not be used directly afterwards.
func NewLockedWorld(w *World) *LockedWorld { return &LockedWorld{w: w} }

// Do runs f with exclusive access to the world.
func (l *LockedWorld) Do(f func(*World) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f(l.w)
}
