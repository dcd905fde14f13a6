package sim

// PolicyOracleInv is a reference, not a contender: a daily re-split that
// knows what no real policy can (true spend with no reporting lag, and the
// expected traffic the metrics plan against), held to the engine's
// invariant by the same guard as B1-inv and B3-inv. Every budget it sets
// is the campaign's share of what is truly left over the expected average
// days of traffic left, so the platforms, which scale a daily budget by
// the day's traffic, spend the plan up to the market's own noise. It
// answers one question: how close to the plan (B3 daily error, B5 RMSE)
// can any policy get while it keeps the worst case within the budget?
const PolicyOracleInv = "O-inv"

type oraclePolicy struct {
	baseline
	// left[li][i]: expected spend rate of line li summed from tick
	// StartTick+i to the period end, in average days (filled on the
	// first step from the world's market).
	left [][]float64
}

func (p *oraclePolicy) init(w *World) {
	sc := w.sc
	p.left = make([][]float64, len(sc.Lines))
	for li := range sc.Lines {
		l := &sc.Lines[li]
		n := l.EndTick - l.StartTick
		rate := make([]float64, n+1)
		for _, ci := range l.Campaigns {
			for i := range n {
				rate[i] += float64(w.m.planRate[ci*w.T+l.StartTick+i])
			}
		}
		for i := n - 1; i >= 0; i-- {
			rate[i] += rate[i+1]
		}
		perDay := rate[0] / (float64(n) / ticksPerDay)
		for i := range rate {
			if perDay > 0 {
				rate[i] /= perDay
			}
		}
		p.left[li] = rate
	}
}

// Step re-splits at each line-zone midnight, like B1.
func (p *oraclePolicy) Step(w *World) error {
	if p.left == nil {
		p.init(w)
	}
	p.resplit(w, p.daily)
	return nil
}

// daily is what is truly left of the line over the expected average days
// of traffic left.
func (p *oraclePolicy) daily(w *World, li int) (float64, bool) {
	l := &w.sc.Lines[li]
	days := p.left[li][w.k-l.StartTick]
	if days <= 0 {
		return 0, false
	}
	return max(float64(int64(l.BudgetAt(w.k))-w.lineSpent[li]), 0) / days, true
}
