package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/adpacer/adpacer"
)

// Policy controls the campaigns of one World. Step is called at the start
// of every tick, before the tick is simulated; a policy acts on its own
// schedule. Policies see only what the platforms report (World.reported,
// DataAsOf, live settings), never the truth.
type Policy interface {
	Name() string
	Step(w *World) error
}

// Policy names accepted by Run and the CLI.
const (
	PolicyEngine = "engine"
	PolicyB0     = "B0"
	PolicyB1     = "B1"
	PolicyB2     = "B2"
	PolicyB3     = "B3"
)

// AllPolicies is the default set, in table order.
var AllPolicies = []string{PolicyEngine, PolicyB0, PolicyB1, PolicyB2, PolicyB3}

// policyList names every policy Run accepts, for error messages.
const policyList = "engine, B0, B1, B2, B3, B4, B1-inv, B3-inv or O-inv"

// priorProfile is what the baselines learned from PriorWeeks of history
// before the month: per line, the spend share of each hour of the week in
// the line's zone (Monday 00:00 = 0). It stands for the "last 8 weeks" the
// day-of-week scripts read.
type priorProfile struct {
	how [][168]float64 // per line, sums to 1 over the week
}

func newPriorProfile(sc *Scenario, seed uint64) *priorProfile {
	pp := &priorProfile{how: make([][168]float64, len(sc.Lines))}
	for li := range sc.Lines {
		l := &sc.Lines[li]
		loc := sc.zones[l.Zone]
		// A reference Monday 00:00 in the line's zone before the period.
		ref := time.Date(l.Start.In(loc).Year(), l.Start.In(loc).Month(), l.Start.In(loc).Day(), 0, 0, 0, 0, loc)
		for ref.Weekday() != time.Monday {
			ref = ref.AddDate(0, 0, -1)
		}
		var total float64
		for _, ci := range l.Campaigns {
			c := &sc.Campaigns[ci]
			reg := &sc.Regions[c.Region]
			rloc := sc.zones[reg.Zone]
			spendPerAuction := c.CTR * expectedPaid(c.Bid.Float(), c.Mu, c.Sigma)
			// Average of PriorWeeks noisy days per local weekday.
			var noise [7]float64
			for wd := range 7 {
				for wk := range sc.PriorWeeks {
					r := newRNG(seed, purposePrior, uint64(ci), uint64(wk*7+wd))
					sd := sc.Market.DayNoiseSD
					noise[wd] += math.Exp(sd*r.norm() - sd*sd/2)
				}
				noise[wd] /= float64(sc.PriorWeeks)
			}
			for h := range 168 {
				t := ref.Add(time.Duration(h) * time.Hour).In(rloc)
				tod := (t.Hour()*60 + t.Minute()) / 15
				var v float64
				for q := range ticksPerHour {
					v += reg.curve[(tod+q)%ticksPerDay]
				}
				v *= reg.weekday[t.Weekday()] * noise[t.Weekday()] * c.AuctionsPerHour * spendPerAuction
				pp.how[li][h] += v
				total += v
			}
		}
		for h := range pp.how[li] {
			pp.how[li][h] /= total
		}
	}
	return pp
}

// hourOfWeek of tick k in zone z (Monday 00:00 = 0).
func (sc *Scenario) hourOfWeek(z, k int) int {
	wd := (int(sc.zoneWday[z][k]) + 6) % 7
	return wd*24 + int(sc.zoneTickDay[z][k])/ticksPerHour
}

// baseline holds what every baseline shares: budget shares of campaigns
// inside their line (from the starting daily budgets, as an agency splits
// a line), retry of refused writes, and reported line spend.
type baseline struct {
	name    string
	share   []float64 // per campaign, within its line
	desired []adpacer.Micros
	retry   []bool
	// clamp, when set, caps each budget before it is written (the
	// invariant guard of the -inv variants).
	clamp func(w *World, ci int, v adpacer.Micros) adpacer.Micros
}

func newBaseline(name string, sc *Scenario) baseline {
	b := baseline{name: name, share: make([]float64, len(sc.Campaigns)),
		desired: make([]adpacer.Micros, len(sc.Campaigns)), retry: make([]bool, len(sc.Campaigns))}
	for _, l := range sc.Lines {
		var sum float64
		for _, ci := range l.Campaigns {
			sum += sc.Campaigns[ci].DailyBudget.Float()
		}
		for _, ci := range l.Campaigns {
			b.share[ci] = sc.Campaigns[ci].DailyBudget.Float() / sum
		}
	}
	return b
}

func (b *baseline) Name() string { return b.name }

// want records a desired budget and writes it; retryable failures are tried
// again at later ticks, refusals (edit limit, minimum) are dropped.
func (b *baseline) want(w *World, ci int, v adpacer.Micros) {
	min := w.sc.Platforms[w.sc.Campaigns[ci].pidx].MinDailyBudget
	if v < min {
		v = min
	}
	b.desired[ci] = v
	b.retry[ci] = true
	b.flush(w, ci)
}

func (b *baseline) flush(w *World, ci int) {
	if !b.retry[ci] {
		return
	}
	v := b.desired[ci]
	if b.clamp != nil {
		v = b.clamp(w, ci, v)
	}
	err := w.setBudget(ci, v)
	var pe *PlatformError
	if err == nil || !errors.As(err, &pe) || !pe.Retryable {
		b.retry[ci] = false
	}
}

func (b *baseline) flushAll(w *World) {
	for ci := range b.retry {
		b.flush(w, ci)
	}
}

// reportedLineSpend sums what the platforms report for the line's period.
func reportedLineSpend(w *World, li int) int64 {
	l := &w.sc.Lines[li]
	var s int64
	for _, ci := range l.Campaigns {
		s += int64(w.reported(ci, l.StartTick, l.EndTick).Cost)
	}
	return s
}

// lineDaysLeft counts the line's local days from the one containing tick k
// to the end of the period, inclusive.
func lineDaysLeft(sc *Scenario, li, k int) int {
	l := &sc.Lines[li]
	return int(sc.zoneDay[l.Zone][l.EndTick-1]-sc.zoneDay[l.Zone][k]) + 1
}

// B0: static daily budget B / days, split by the starting shares, written once.
type staticPolicy struct{ baseline }

func (p *staticPolicy) Step(w *World) error {
	k := w.k
	for li := range w.sc.Lines {
		l := &w.sc.Lines[li]
		if k != l.StartTick {
			continue
		}
		days := float64(lineDaysLeft(w.sc, li, k))
		for _, ci := range l.Campaigns {
			p.want(w, ci, adpacer.FromFloat(l.Budget.Float()*p.share[ci]/days).FloorTo(10_000))
		}
	}
	p.flushAll(w)
	return nil
}

// B1/B2: at the line's local midnight, re-split (budget - reported spend)
// over the remaining days, evenly (B1) or by prior weekday weights (B2).
type resplitPolicy struct {
	baseline
	weekday bool
	prior   *priorProfile
}

// resplit is the step of the daily re-splitters: at the line's first tick
// and every line-local midnight inside its period, daily(w, li) is the line's
// daily budget in micros (false: leave the line as is), written to its
// campaigns by their shares.
func (b *baseline) resplit(w *World, daily func(w *World, li int) (float64, bool)) {
	sc, k := w.sc, w.k
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k < l.StartTick || k >= l.EndTick || sc.zoneTickDay[l.Zone][k] != 0 && k != l.StartTick {
			continue
		}
		today, ok := daily(w, li)
		if !ok {
			continue
		}
		for _, ci := range l.Campaigns {
			b.want(w, ci, adpacer.FromFloat(today*b.share[ci]/adpacer.MicrosPerUnit).FloorTo(10_000))
		}
	}
	b.flushAll(w)
}

func (p *resplitPolicy) Step(w *World) error {
	p.resplit(w, p.daily)
	return nil
}

// daily is B1's (and B2's) budget for the line's day: what the platforms
// report as left, over the days left (B2: weighted by prior weekdays).
func (p *resplitPolicy) daily(w *World, li int) (float64, bool) {
	sc, k := w.sc, w.k
	l := &sc.Lines[li]
	remaining := max(float64(int64(l.BudgetAt(k))-reportedLineSpend(w, li)), 0)
	daysLeft := lineDaysLeft(sc, li, k)
	if !p.weekday {
		return remaining / float64(daysLeft), true
	}
	var wsum float64
	wd := (int(sc.zoneWday[l.Zone][k]) + 6) % 7
	for d := range daysLeft {
		wsum += p.dayWeight(li, (wd+d)%7)
	}
	return remaining * p.dayWeight(li, wd) / wsum, true
}

func (p *resplitPolicy) dayWeight(li, wd int) float64 {
	var s float64
	for h := range 24 {
		s += p.prior.how[li][wd*24+h]
	}
	return s * 7
}

// B3: PI controller on the cumulative spend error against the prior
// traffic-weighted plan, evaluated at the report frontier so reporting lag
// is not read as underspend; exponential actuator on the daily budget;
// anti-windup by clamping the integral; writes only changes above 5%.
type piPolicy struct {
	baseline
	prior    *priorProfile
	kp, ki   float64
	interval int
	integral []float64
	planCum  [][]float64 // per line, per tick offset: plan share before that tick
}

func newPIPolicy(sc *Scenario, prior *priorProfile) *piPolicy {
	p := &piPolicy{baseline: newBaseline(PolicyB3, sc), prior: prior, kp: sc.KP, ki: sc.KI,
		interval: sc.BaselineInterval, integral: make([]float64, len(sc.Lines)), planCum: make([][]float64, len(sc.Lines))}
	for li := range sc.Lines {
		l := &sc.Lines[li]
		n := l.EndTick - l.StartTick
		cum := make([]float64, n+1)
		for i := range n {
			cum[i+1] = cum[i] + prior.how[li][sc.hourOfWeek(l.Zone, l.StartTick+i)]/ticksPerHour
		}
		for i := range cum {
			cum[i] /= cum[n]
		}
		p.planCum[li] = cum
	}
	return p
}

func (p *piPolicy) Step(w *World) error {
	sc := w.sc
	k := w.k
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k < l.StartTick || k >= l.EndTick || (k-l.StartTick)%p.interval != 0 {
			continue
		}
		budget := l.BudgetAt(k).Float() * adpacer.MicrosPerUnit
		u := math.Max(-3, math.Min(3, p.control(w, li)))
		days := float64(lineDaysLeft(sc, li, l.StartTick))
		for _, ci := range l.Campaigns {
			v := adpacer.FromFloat(budget / adpacer.MicrosPerUnit * p.share[ci] / days * math.Exp(u)).FloorTo(10_000)
			cur := w.camps[ci].setting
			if cur > 0 && math.Abs(float64(v)/float64(cur)-1) < 0.05 {
				continue
			}
			p.want(w, ci, v)
		}
	}
	p.flushAll(w)
	return nil
}

// control is the PI output for line li at the current tick: the error is
// the plan share at the oldest report frontier of the line's platforms
// minus the reported spend share (so lag is not read as underspend), and
// the integral advances by one interval with anti-windup.
func (p *piPolicy) control(w *World, li int) float64 {
	sc, k := w.sc, w.k
	l := &sc.Lines[li]
	budget := l.BudgetAt(k).Float() * adpacer.MicrosPerUnit
	f := k
	for _, ci := range l.Campaigns {
		f = min(f, int(w.m.frontier[sc.Campaigns[ci].pidx][k]))
	}
	f = max(f, l.StartTick)
	seen := float64(reportedLineSpend(w, li))
	e := (budget*p.planCum[li][f-l.StartTick] - seen) / budget
	dt := float64(p.interval) / ticksPerDay
	p.integral[li] += e * dt
	limit := 0.5 / math.Max(p.ki, 1e-9)
	p.integral[li] = math.Max(-limit, math.Min(limit, p.integral[li]))
	return p.kp*e + p.ki*p.integral[li]
}

// newPolicy builds a policy by name for one world.
func newPolicy(name string, sc *Scenario, prior *priorProfile, eng EngineOptions) (Policy, error) {
	switch name {
	case PolicyB0:
		return &staticPolicy{newBaseline(name, sc)}, nil
	case PolicyB1:
		return &resplitPolicy{baseline: newBaseline(name, sc)}, nil
	case PolicyB2:
		return &resplitPolicy{baseline: newBaseline(name, sc), weekday: true, prior: prior}, nil
	case PolicyB3:
		return newPIPolicy(sc, prior), nil
	case PolicyB4:
		return newDualPolicy(sc, prior), nil
	case PolicyEngine:
		return newEnginePolicy(sc, eng), nil
	case PolicyB1Inv:
		p := &resplitPolicy{baseline: newBaseline(name, sc)}
		return newGuarded(name, sc, p, &p.baseline), nil
	case PolicyB3Inv:
		p := newPIPolicy(sc, prior)
		p.name = name
		return newGuarded(name, sc, p, &p.baseline), nil
	case PolicyOracleInv:
		p := &oraclePolicy{baseline: newBaseline(name, sc)}
		return newGuarded(name, sc, p, &p.baseline), nil
	}
	return nil, fmt.Errorf("unknown policy %q (want %s)", name, policyList)
}
