package sim

import (
	"math"
	"time"
)

// market holds everything of one seed that does not depend on any policy:
// expected auctions per campaign and tick (with day noise and demand
// shocks), reporting frontiers, restatement factors and VK's overdelivery
// factor. It is computed once per seed and shared read-only by the worlds of
// all policies, which keeps the comparison paired and the tick loop cheap.
type market struct {
	sc   *Scenario
	seed uint64
	T    int
	// lam[c*T+k]: expected auctions in tick k without tick noise.
	lam []float32
	// planCum[c*(T+1)+k]: prefix sums of the expected auctions without day
	// noise and shocks: the platforms' own traffic forecast.
	planCum []float64
	// planRate[c*T+k]: expected spend rate at the starting bid with no noise
	// and no shocks; the traffic-weighted plan of the metrics.
	planRate []float32
	// frontier[p][k]: ticks [0, frontier) are visible in reports at the start
	// of tick k.
	frontier [numPlatforms][]int32
	kappa    float64 // VK overdelivery factor of this run
	// Platform days per campaign: day numbers of its day zone.
	dayBase []int32 // first day number per zone
	dayEnd  [][]int32
	// restate[c][day-dayBase]: fractional revision of that platform day.
	restate [][]float32
	// priceShift[c*T+k] is not stored: price shocks are few and scanned.
}

func newMarket(sc *Scenario, seed uint64) *market {
	T := sc.Ticks
	n := len(sc.Campaigns)
	m := &market{sc: sc, seed: seed, T: T,
		lam: make([]float32, n*T), planCum: make([]float64, n*(T+1)), planRate: make([]float32, n*T)}
	mp := sc.Market
	// Holidays per zone per local day.
	holiday := make([]map[int32]bool, len(sc.zones))
	for z := range sc.zones {
		holiday[z] = map[int32]bool{}
		for k := 0; k < T; k += ticksPerHour {
			d := sc.zoneDay[z][k]
			if _, seen := holiday[z][d]; !seen {
				holiday[z][d] = mp.Holidays[dayString(d)]
			}
		}
	}
	for ci := range sc.Campaigns {
		c := &sc.Campaigns[ci]
		reg := &sc.Regions[c.Region]
		z := reg.Zone
		perTick := c.AuctionsPerHour / ticksPerHour
		spend0 := c.CTR * expectedPaid(c.Bid.Float(), c.Mu, c.Sigma)
		var eta float64
		lastDay := int32(math.MinInt32)
		dayMult := 1.0
		base := ci * T
		cum := m.planCum[ci*(T+1):]
		for k := range T {
			d := sc.zoneDay[z][k]
			if d != lastDay {
				r := newRNG(seed, purposeDayNoise, uint64(ci), uint64(d))
				eps := r.norm()
				if lastDay == math.MinInt32 {
					eta = mp.DayNoiseSD * eps
				} else {
					eta = mp.DayNoiseRho*eta + math.Sqrt(1-mp.DayNoiseRho*mp.DayNoiseRho)*mp.DayNoiseSD*eps
				}
				dayMult = math.Exp(eta - mp.DayNoiseSD*mp.DayNoiseSD/2)
				lastDay = d
			}
			shape := reg.curve[sc.zoneTickDay[z][k]] * reg.weekday[sc.zoneWday[z][k]]
			if holiday[z][d] {
				shape *= mp.HolidayFactor
			}
			plan := perTick * shape
			m.planRate[base+k] = float32(plan * spend0)
			v := plan * dayMult
			for _, sh := range sc.demand {
				if sh.camps[ci] && sh.has(k) {
					v *= sh.factor
				}
			}
			m.lam[base+k] = float32(v)
			cum[k+1] = cum[k] + plan
		}
	}
	// VK overdelivery factor, fixed per run.
	vk := sc.Platforms[pVK]
	r := newRNG(seed, purposeKappa, 0, 0)
	m.kappa = vk.KappaMin + (vk.KappaMax-vk.KappaMin)*r.float()
	m.buildFrontiers()
	m.buildDays()
	return m
}

func (m *market) buildFrontiers() {
	sc := m.sc
	T := m.T
	for p := range numPlatforms {
		pp := sc.Platforms[p]
		f := make([]int32, T+1)
		// Random outages: with probability OutagePerDay per UTC day, reports
		// freeze for OutageLength from a random tick of that day.
		frozen := make([]bool, T+1)
		for day := 0; day*ticksPerDay < T; day++ {
			r := newRNG(m.seed, purposeOutage, uint64(p), uint64(day))
			if r.float() < pp.OutagePerDay {
				start := day*ticksPerDay + int(r.next()%ticksPerDay)
				for k := start; k < min(T+1, start+int(pp.OutageLength/TickLength)); k++ {
					frozen[k] = true
				}
			}
		}
		for _, o := range sc.repOutage {
			if o.pidx == p {
				for k := o.from; k < min(T+1, o.to); k++ {
					frozen[k] = true
				}
			}
		}
		var prev int32
		var lag int
		for k := 0; k <= T; k++ {
			if k%ticksPerHour == 0 {
				r := newRNG(m.seed, purposeLag, uint64(p), uint64(k))
				l := pp.LagMin + time.Duration(r.float()*float64(pp.LagMax-pp.LagMin))
				lag = int((l + TickLength - 1) / TickLength)
			}
			v := int32(max(0, k-lag))
			for _, d := range sc.repDelay {
				if d.pidx == p && d.has(k) {
					v = min(v, int32(max(0, k-d.delay)))
				}
			}
			if frozen[k] || v < prev {
				v = prev
			}
			f[k] = v
			prev = v
		}
		m.frontier[p] = f
	}
}

func (m *market) buildDays() {
	sc := m.sc
	m.dayBase = make([]int32, len(sc.zones))
	m.dayEnd = make([][]int32, len(sc.zones))
	for z, loc := range sc.zones {
		first, last := sc.zoneDay[z][0], sc.zoneDay[z][m.T-1]
		m.dayBase[z] = first
		ends := make([]int32, last-first+1)
		for d := first; d <= last; d++ {
			t := time.Unix(int64(d)*86400, 0).UTC()
			next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
			ends[d-first] = int32(sc.TickOf(next))
		}
		m.dayEnd[z] = ends
	}
	m.restate = make([][]float32, len(sc.Campaigns))
	for ci := range sc.Campaigns {
		c := &sc.Campaigns[ci]
		pp := sc.Platforms[c.pidx]
		z := c.DayZone
		rs := make([]float32, len(m.dayEnd[z]))
		for i := range rs {
			d := m.dayBase[z] + int32(i)
			r := newRNG(m.seed, purposeRestate, uint64(ci), uint64(d))
			v := pp.RestateMean + pp.RestateSD*r.norm()
			start := m.dayStartTime(z, d)
			for _, sh := range sc.restate {
				if sh.camps[ci] && !start.Before(sh.from) && start.Before(sh.to) {
					v = sh.pct
				}
			}
			rs[i] = float32(v)
		}
		m.restate[ci] = rs
	}
}

func (m *market) dayStartTime(z int, d int32) time.Time {
	t := time.Unix(int64(d)*86400, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, m.sc.zones[z])
}

// priceMu returns the log-median market price of campaign ci at tick k.
func (m *market) priceMu(ci, k int) float64 {
	mu := m.sc.Campaigns[ci].Mu
	for _, sh := range m.sc.price {
		if sh.camps[ci] && sh.has(k) {
			mu += math.Log(sh.factor)
		}
	}
	return mu
}
