package sim

import (
	"math"

	"github.com/adpacer/adpacer"
)

// PolicyB4 is pacing-notes 6.3's B4, the one baseline that steers CPA as
// the engine does: a dual multiplier on bids [BG19][FG23].
//   - Every baselines.interval, a line's pacing multiplier follows its spend
//     error against the prior traffic-weighted plan, read as B3 reads it
//     (reported spend at the oldest report frontier, PI with anti-windup,
//     KP and KI of the scenario): m = exp(clamp(KP·e + KI·∫e, ±ln 3)).
//   - At each line-local midnight, each campaign's CPA multiplier moves by
//     the square root of target CPA / observed CPA over the seven days
//     before (reported cost; reported conversions of each day divided by
//     the share of its conversions the delay distribution says have
//     arrived, as the engine corrects them; at least 5 reported), within
//     0.3..3; a line without a target has none. Uncorrected, the delay
//     reads CPA high and the multiplier drives bids down for good.
//   - A campaign's bid is its starting bid × min(pacing, CPA multiplier)
//     (min-pacing: never bid above what either goal allows), within its
//     bid bounds, written when it moves more than 5%.
//   - Daily budgets are only a safety cap: at each line-local midnight
//     1.5 × the campaign's share of (budget − reported spend) / days left.
//
// Like B1 and B3 it ignores the overdelivery factor (D2), and it runs only
// when named (--policy B4).
const PolicyB4 = "B4"

const (
	b4CapFactor    = 1.5
	b4MinConv      = 5
	b4CPAWindow    = 7 // days read for the CPA multiplier
	b4CPAMin       = 0.3
	b4CPAMax       = 3
	b4WriteMinMove = 0.05
)

type dualPolicy struct {
	baseline
	pi      *piPolicy // the pacing error and its integral, as B3 computes them
	cpaMult []float64 // per campaign; +Inf without a target
	baseBid []adpacer.Micros
}

func newDualPolicy(sc *Scenario, prior *priorProfile) *dualPolicy {
	p := &dualPolicy{baseline: newBaseline(PolicyB4, sc), pi: newPIPolicy(sc, prior),
		cpaMult: make([]float64, len(sc.Campaigns)), baseBid: make([]adpacer.Micros, len(sc.Campaigns))}
	for ci := range sc.Campaigns {
		p.baseBid[ci] = sc.Campaigns[ci].Bid
		p.cpaMult[ci] = math.Inf(1)
		if sc.Lines[sc.Campaigns[ci].Line].TargetCPA != nil {
			p.cpaMult[ci] = 1
		}
	}
	return p
}

func (p *dualPolicy) Step(w *World) error {
	sc, k := w.sc, w.k
	// Midnight: the CPA multipliers, then the budget caps.
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k <= l.StartTick || k >= l.EndTick || sc.zoneTickDay[l.Zone][k] != 0 || l.TargetCPA == nil {
			continue
		}
		for _, ci := range l.Campaigns {
			cost, conv, raw := p.observed(w, l, ci)
			if raw < b4MinConv || cost <= 0 || conv <= 0 {
				continue
			}
			cpa := cost / conv
			m := p.cpaMult[ci] * math.Sqrt(float64(*l.TargetCPA)/cpa)
			p.cpaMult[ci] = math.Max(b4CPAMin, math.Min(b4CPAMax, m))
		}
	}
	p.resplit(w, func(w *World, li int) (float64, bool) {
		l := &w.sc.Lines[li]
		remaining := max(float64(int64(l.BudgetAt(w.k))-reportedLineSpend(w, li)), 0)
		return b4CapFactor * remaining / float64(lineDaysLeft(w.sc, li, w.k)), true
	})
	// Every interval: the pacing multiplier on bids.
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k < l.StartTick || k >= l.EndTick || (k-l.StartTick)%p.pi.interval != 0 {
			continue
		}
		u := p.pi.control(w, li)
		pace := math.Exp(math.Max(-math.Log(3), math.Min(math.Log(3), u)))
		for _, ci := range l.Campaigns {
			c := &sc.Campaigns[ci]
			m := math.Min(pace, p.cpaMult[ci])
			v := adpacer.FromFloat(p.baseBid[ci].Float() * m).RoundTo(10_000)
			v = min(max(v, c.MinBid), c.MaxBid)
			cur := w.camps[ci].bid
			if cur > 0 && math.Abs(float64(v)/float64(cur)-1) <= b4WriteMinMove {
				continue
			}
			// A failed write is tried again at the next interval.
			_ = w.setBid(ci, v)
		}
	}
	return nil
}

// observed is a campaign's reported cost and delay-corrected conversions
// over the b4CPAWindow days before now, and the conversions as reported.
func (p *dualPolicy) observed(w *World, l *Line, ci int) (cost, conv, raw float64) {
	mp := &w.sc.Market
	k := w.k
	for d := 1; d <= b4CPAWindow; d++ {
		from, to := k-d*ticksPerDay, k-(d-1)*ticksPerDay
		if from < l.StartTick {
			break
		}
		st := w.reported(ci, from, to)
		cost += float64(st.Cost)
		raw += st.Conversions
		// Share arrived: the delay CDF averaged over the day's clicks.
		var f float64
		for q := range 8 {
			age := (float64(d-1) + (float64(q)+0.5)/8) * 24
			f += phi((math.Log(age)-mp.DelayMu)/mp.DelaySigma) / 8
		}
		if f > 0.05 {
			conv += st.Conversions / f
		}
	}
	return cost, conv, raw
}
