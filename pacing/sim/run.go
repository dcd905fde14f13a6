package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

// RunOptions tune a Run.
type RunOptions struct {
	// Workers running (seed, policy) simulations in parallel; 0 = GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each finished simulation with the
	// number done and the total (from the worker goroutines, serialised).
	Progress func(done, total int)
	// Engine configures the engine policy.
	Engine EngineOptions
}

// Metrics are the scalar metrics of one run (one seed, one policy), over
// all lines; docs/simulation.md defines each.
type Metrics struct {
	A1Overspend       float64 `json:"a1_overspend_share"`
	A1MaxUtilisation  float64 `json:"a1_max_utilisation"`
	A2Median          float64 `json:"a2_median_utilisation"`
	A2Share99         float64 `json:"a2_share_util_ge_0_99"`
	A2Share98         float64 `json:"a2_share_util_ge_0_98"`
	A3ReserveUse      float64 `json:"a3_month_end_reserve_use"`
	B1Lines           int     `json:"b1_lines_exhausted_early"`
	B1Campaigns       int     `json:"b1_campaigns_exhausted_early"`
	B2QuickSpend      float64 `json:"b2_quick_spend_share"`
	B3DailyError      float64 `json:"b3_daily_plan_error"`
	B4Tracking        float64 `json:"b4_cumulative_tracking"`
	B4TrackingMax     float64 `json:"b4_cumulative_tracking_worst_line"`
	B4Last3           float64 `json:"b4_cumulative_tracking_last3"`
	B5RMSE            float64 `json:"b5_hourly_rmse"`
	C1Within10        float64 `json:"c1_share_cpa_within_10pct"`
	C1Within15        float64 `json:"c1_share_cpa_within_15pct"`
	C1Feasible        int     `json:"c1_feasible_lines"`
	D1Writes          float64 `json:"d1_budget_writes_per_campaign_day"`
	D1MaxWritesDay    int     `json:"d1_max_budget_writes_campaign_day"`
	D1MaxYandex       int     `json:"d1_max_yandex_edits_tried_moscow_day"`
	D1BigSteps        float64 `json:"d1_share_writes_over_30pct"`
	D1Refused         int     `json:"d1_refused_budget_writes"`
	D2Violations      int     `json:"d2_invariant_violations"`
	D3Toggles         float64 `json:"d3_toggles_per_campaign_day"`
	AppsPer1000       float64 `json:"applications_per_1000"`
	BidWritesPerCampD float64 `json:"bid_writes_per_campaign_day"`
}

// RunResult is one seed of one policy.
type RunResult struct {
	Seed    uint64        `json:"seed"`
	Metrics Metrics       `json:"metrics"`
	Lines   []LineMetrics `json:"lines"`
	// EngineActions/EngineRefused count the engine's actions and the ones
	// the platforms refused (engine policy only).
	EngineActions int `json:"engine_actions,omitempty"`
	EngineRefused int `json:"engine_refused,omitempty"`
	// EngineRefusals counts refused engine actions by kind and platform code.
	EngineRefusals map[string]int `json:"engine_refusals,omitempty"`
	// Series is kept for plots only (not in JSON): per line cumulative
	// settled spend and plan per hour.
	series []lineSeries
}

type lineSeries struct {
	spend, plan []float64 // cumulative, per hour, currency units
}

// PolicyResult gathers the runs of one policy.
type PolicyResult struct {
	Policy  string      `json:"policy"`
	Runs    []RunResult `json:"runs"`
	Summary []Summary   `json:"summary"`
	Checks  []Check     `json:"checks"`
}

// Summary of one metric across seeds.
type Summary struct {
	Metric string  `json:"metric"`
	Median float64 `json:"median"`
	P5     float64 `json:"p5"`
	P95    float64 `json:"p95"`
}

// Results of one scenario.
type Results struct {
	Scenario      string         `json:"scenario"`
	Description   string         `json:"description"`
	Targets       string         `json:"targets"`
	Lines         int            `json:"lines"`
	Campaigns     int            `json:"campaigns"`
	Days          float64        `json:"days"`
	Seeds         []uint64       `json:"seeds"`
	FeasibleLines []string       `json:"feasible_target_lines"`
	Policies      []PolicyResult `json:"policies"`
}

// Seeds returns n seeds 1..n.
func Seeds(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// Run simulates the scenario once per seed and policy (each policy on its
// own World built from the same seed) and computes the metrics.
func Run(ctx context.Context, sc *Scenario, policies []string, seeds []uint64) (*Results, error) {
	return RunWith(ctx, sc, policies, seeds, RunOptions{})
}

// RunWith is Run with options.
func RunWith(ctx context.Context, sc *Scenario, policies []string, seeds []uint64, opts RunOptions) (*Results, error) {
	if len(policies) == 0 {
		policies = AllPolicies
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("sim: no seeds")
	}
	seen := map[string]bool{}
	for _, p := range policies {
		if seen[p] {
			return nil, fmt.Errorf("sim: policy %q given twice", p)
		}
		seen[p] = true
		switch p {
		case PolicyEngine, PolicyB0, PolicyB1, PolicyB2, PolicyB3, PolicyB4, PolicyB1Inv, PolicyB3Inv, PolicyOracleInv:
		default:
			return nil, fmt.Errorf("unknown policy %q (want %s)", p, policyList)
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type seedShared struct {
		once  sync.Once
		m     *market
		prior *priorProfile
	}
	shared := make([]seedShared, len(seeds))
	type job struct{ si, pi int }
	jobs := make(chan job)
	out := make([][]RunResult, len(policies))
	for i := range out {
		out[i] = make([]RunResult, len(seeds))
	}
	errs := make([]error, len(seeds)*len(policies))
	feasible := feasibility(sc)
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	total := len(seeds) * len(policies)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				sh := &shared[j.si]
				sh.once.Do(func() {
					sh.m = newMarket(sc, seeds[j.si])
					sh.prior = newPriorProfile(sc, seeds[j.si])
				})
				r, err := runOne(ctx, sc, sh.m, sh.prior, policies[j.pi], opts.Engine, feasible)
				if err != nil {
					errs[j.si*len(policies)+j.pi] = fmt.Errorf("policy %s seed %d: %w", policies[j.pi], seeds[j.si], err)
				}
				r.Seed = seeds[j.si]
				out[j.pi][j.si] = r
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}
	// Seeds outer so a seed's market is shared while it is hot.
feed:
	for si := range seeds {
		for pi := range policies {
			select {
			case jobs <- job{si, pi}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	res := &Results{Scenario: sc.Name, Description: sc.Description, Targets: sc.Targets, Lines: len(sc.Lines),
		Campaigns: len(sc.Campaigns), Days: float64(sc.Ticks) / ticksPerDay, Seeds: seeds}
	for li, f := range feasible {
		if f {
			res.FeasibleLines = append(res.FeasibleLines, sc.Lines[li].ID)
		}
	}
	for pi, p := range policies {
		res.Policies = append(res.Policies, PolicyResult{Policy: p, Runs: out[pi], Summary: summarise(out[pi])})
	}
	addChecks(res)
	return res, nil
}

func runOne(ctx context.Context, sc *Scenario, m *market, prior *priorProfile, name string, eng EngineOptions, feasible []bool) (RunResult, error) {
	pol, err := newPolicy(name, sc, prior, eng)
	if err != nil {
		return RunResult{}, err
	}
	w := newWorld(sc, m)
	for k := 0; k < sc.Ticks; k++ {
		if k%ticksPerDay == 0 {
			if err := ctx.Err(); err != nil {
				return RunResult{}, err
			}
		}
		if err := pol.Step(w); err != nil {
			return RunResult{}, err
		}
		w.Advance(sc.TickTime(k + 1))
	}
	r := evaluate(w, feasible)
	if ep, ok := pol.(*enginePolicy); ok {
		r.EngineActions, r.EngineRefused, r.EngineRefusals = ep.actions, ep.refused, ep.refusals
	}
	return r, nil
}

// feasibility decides, from the true expected market at no noise, whether
// each line's target CPA is reachable while spending the budget: some
// common bid multiplier must buy at least the budget with a CPA within
// +-10% of the target.
func feasibility(sc *Scenario) []bool {
	out := make([]bool, len(sc.Lines))
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if l.TargetCPA == nil {
			continue
		}
		B := l.FinalBudget().Float()
		T := l.TargetCPA.Float()
		hours := float64(l.EndTick-l.StartTick) / ticksPerHour
		for i := range 241 {
			mult := math.Exp(math.Log(0.2) + float64(i)/240*math.Log(25))
			var spend, conv float64
			for _, ci := range l.Campaigns {
				c := &sc.Campaigns[ci]
				b := math.Max(c.MinBid.Float(), math.Min(c.MaxBid.Float(), c.Bid.Float()*mult))
				s := c.AuctionsPerHour * hours * c.CTR * expectedPaid(b, c.Mu, c.Sigma)
				if cpc := cpcAt(b, c.Mu, c.Sigma); cpc > 0 {
					conv += s / cpc * c.CVR
				}
				spend += s
			}
			if spend >= B && conv > 0 {
				if cpa := spend / conv; cpa >= 0.9*T && cpa <= 1.1*T {
					out[li] = true
					break
				}
			}
		}
	}
	return out
}

// evaluate turns a finished world into metrics.
func evaluate(w *World, feasible []bool) RunResult {
	sc := w.sc
	T := w.T
	var r RunResult
	var mt Metrics
	var utils, errs, tracks, last3, rmses, reserves []float64
	var within10, within15, feasibleN, overspent, quick int
	var totalSettled, totalConv float64
	for li := range sc.Lines {
		l := &sc.Lines[li]
		n := l.EndTick - l.StartTick
		tr := LineTrace{Budget: float64(l.FinalBudget()), Settled: make([]float64, n), True: make([]float64, n), Plan: make([]float64, n),
			Feasible: feasible[li]}
		if l.TargetCPA != nil {
			tr.TargetCPA = float64(*l.TargetCPA)
		}
		rate := make([]float64, n)
		for _, ci := range l.Campaigns {
			c := &sc.Campaigns[ci]
			z := c.DayZone
			for i := range n {
				k := l.StartTick + i
				idx := ci*T + k
				rate[i] += float64(w.m.planRate[idx])
				cost := float64(w.cost[idx])
				if cost == 0 {
					continue
				}
				d := sc.zoneDay[z][k]
				tr.True[i] += cost
				tr.Settled[i] += cost * (1 + float64(w.m.restate[ci][d-w.m.dayBase[z]]))
			}
			for i := range n {
				tr.Conversions += float64(w.conv[ci*T+l.StartTick+i])
			}
		}
		buildPlan(l, rate, tr.Plan)
		for i := range n {
			if i == 0 || sc.zoneTickDay[l.Zone][l.StartTick+i] == 0 {
				tr.DayStarts = append(tr.DayStarts, i)
			}
		}
		tr.Cutoff = min(n, tr.DayStarts[len(tr.DayStarts)-1]+18*ticksPerHour)
		lm := computeLine(l.ID, &tr)
		lm.D2Violations = int(w.acct.d2Violations[li])
		// B1 for campaigns: blocked by budget or paused at 18:00 local
		// (campaign region) on the line's last day.
		lastDate := l.End.In(sc.zones[l.Zone]).AddDate(0, 0, -1)
		for _, ci := range l.Campaigns {
			c := &sc.Campaigns[ci]
			loc := sc.zones[sc.Regions[c.Region].Zone]
			cut := sc.TickOf(time.Date(lastDate.Year(), lastDate.Month(), lastDate.Day(), 18, 0, 0, 0, loc))
			cut = max(l.StartTick, min(cut, l.EndTick-1))
			if s := w.status[ci*T+cut]; s == statusPaused || s == statusCapped {
				mt.B1Campaigns++
			}
		}
		if lm.Exhausted {
			mt.B1Lines++
		}
		if lm.Overspent {
			overspent++
		}
		if lm.QuickSpend {
			quick++
		}
		mt.A1MaxUtilisation = math.Max(mt.A1MaxUtilisation, lm.Utilisation)
		utils = append(utils, lm.Utilisation)
		errs = append(errs, lm.DailyError)
		tracks = append(tracks, lm.Tracking)
		last3 = append(last3, lm.TrackingLast3)
		rmses = append(rmses, lm.RMSE)
		reserves = append(reserves, lm.ReserveUse)
		mt.B4TrackingMax = math.Max(mt.B4TrackingMax, lm.Tracking)
		if lm.Feasible {
			feasibleN++
			if lm.CPARatio > 0 && math.Abs(lm.CPARatio-1) <= 0.10 {
				within10++
			}
			if lm.CPARatio > 0 && math.Abs(lm.CPARatio-1) <= 0.15 {
				within15++
			}
		}
		mt.D2Violations += lm.D2Violations
		totalSettled += sum(tr.Settled)
		totalConv += tr.Conversions
		r.Lines = append(r.Lines, lm)
		r.series = append(r.series, hourlySeries(&tr))
	}
	nl := float64(len(sc.Lines))
	mt.A1Overspend = float64(overspent) / nl
	mt.A2Median = median(utils)
	mt.A2Share99 = shareAtLeast(utils, 0.99)
	mt.A2Share98 = shareAtLeast(utils, 0.98)
	mt.A3ReserveUse = median(reserves)
	mt.B2QuickSpend = float64(quick) / nl
	mt.B3DailyError = mean(errs)
	mt.B4Tracking = mean(tracks)
	mt.B4Last3 = mean(last3)
	mt.B5RMSE = mean(rmses)
	mt.C1Feasible = feasibleN
	if feasibleN > 0 {
		mt.C1Within10 = float64(within10) / float64(feasibleN)
		mt.C1Within15 = float64(within15) / float64(feasibleN)
	}
	if totalSettled > 0 {
		mt.AppsPer1000 = totalConv / (totalSettled / 1e6) * 1000
	}
	// Write discipline.
	var campDays float64
	var writes, big, refused, toggles, bids int
	for ci := range sc.Campaigns {
		c := &sc.Campaigns[ci]
		l := &sc.Lines[c.Line]
		campDays += float64(l.EndTick-l.StartTick) / ticksPerDay
		writes += int(w.acct.budgetWrites[ci])
		big += int(w.acct.bigSteps[ci])
		refused += int(w.acct.budgetRefused[ci])
		toggles += int(w.acct.toggles[ci])
		bids += int(w.acct.bidWrites[ci])
		mt.D1MaxWritesDay = max(mt.D1MaxWritesDay, int(w.acct.maxWritesDay[ci]), w.camps[ci].writesToday)
		if c.pidx == pYandex {
			mt.D1MaxYandex = max(mt.D1MaxYandex, int(w.acct.maxAttemptsDay[ci]), w.camps[ci].attemptsToday)
		}
	}
	mt.D1Writes = float64(writes) / campDays
	if writes > 0 {
		mt.D1BigSteps = float64(big) / float64(writes)
	}
	mt.D1Refused = refused
	mt.D3Toggles = float64(toggles) / campDays
	mt.BidWritesPerCampD = float64(bids) / campDays
	r.Metrics = mt
	return r
}

// buildPlan spreads the budget over the period in proportion to the
// expected spend rate, re-planning the remainder at each budget change.
func buildPlan(l *Line, rate, plan []float64) {
	n := len(rate)
	suffix := make([]float64, n+1)
	for i := n - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] + rate[i]
	}
	budget := float64(l.Budget)
	from := 0
	planned := 0.0
	segment := func(to int) {
		left := budget - planned
		for i := from; i < to; i++ {
			v := 0.0
			if suffix[from] > 0 {
				v = left * rate[i] / suffix[from]
			}
			plan[i] = v
		}
		for i := from; i < to; i++ {
			planned += plan[i]
		}
		from = to
	}
	for _, c := range l.Changes {
		at := min(n, max(0, c.Tick-l.StartTick))
		// Plan up to the change with the old budget over the whole remainder.
		left := budget - planned
		for i := from; i < at; i++ {
			v := 0.0
			if suffix[from] > 0 {
				v = left * rate[i] / suffix[from]
			}
			plan[i] = v
			planned += v
		}
		from = at
		budget = float64(c.Budget)
	}
	segment(n)
}

func hourlySeries(t *LineTrace) lineSeries {
	n := len(t.Settled)
	H := (n + ticksPerHour - 1) / ticksPerHour
	s := lineSeries{spend: make([]float64, H), plan: make([]float64, H)}
	var cs, cp float64
	for i := range n {
		cs += t.Settled[i]
		cp += t.Plan[i]
		if (i+1)%ticksPerHour == 0 || i == n-1 {
			s.spend[i/ticksPerHour] = cs / 1e6
			s.plan[i/ticksPerHour] = cp / 1e6
		}
	}
	return s
}

func shareAtLeast(v []float64, x float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var n int
	for _, u := range v {
		if u >= x {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

// metricDefs lists the scalar metrics in table order.
var metricDefs = []struct {
	key, label string
	get        func(*Metrics) float64
}{
	{"a1_overspend_share", "A1 overspent lines", func(m *Metrics) float64 { return m.A1Overspend }},
	{"a1_max_utilisation", "A1 max S/B", func(m *Metrics) float64 { return m.A1MaxUtilisation }},
	{"a2_median_utilisation", "A2 median S/B", func(m *Metrics) float64 { return m.A2Median }},
	{"a2_share_util_ge_0_99", "A2 share S/B>=0.99", func(m *Metrics) float64 { return m.A2Share99 }},
	{"a2_share_util_ge_0_98", "A2 share S/B>=0.98", func(m *Metrics) float64 { return m.A2Share98 }},
	{"a3_month_end_reserve_use", "A3 last-day use", func(m *Metrics) float64 { return m.A3ReserveUse }},
	{"b1_lines_exhausted_early", "B1 lines early", func(m *Metrics) float64 { return float64(m.B1Lines) }},
	{"b1_campaigns_exhausted_early", "B1 campaigns early", func(m *Metrics) float64 { return float64(m.B1Campaigns) }},
	{"b2_quick_spend_share", "B2 quick-spend", func(m *Metrics) float64 { return m.B2QuickSpend }},
	{"b3_daily_plan_error", "B3 daily plan error", func(m *Metrics) float64 { return m.B3DailyError }},
	{"b4_cumulative_tracking", "B4 tracking (mean)", func(m *Metrics) float64 { return m.B4Tracking }},
	{"b4_cumulative_tracking_worst_line", "B4 tracking (worst)", func(m *Metrics) float64 { return m.B4TrackingMax }},
	{"b4_cumulative_tracking_last3", "B4 last 3 days", func(m *Metrics) float64 { return m.B4Last3 }},
	{"b5_hourly_rmse", "B5 hourly RMSE_T", func(m *Metrics) float64 { return m.B5RMSE }},
	{"c1_share_cpa_within_10pct", "C1 CPA within 10%", func(m *Metrics) float64 { return m.C1Within10 }},
	{"c1_share_cpa_within_15pct", "C1 CPA within 15%", func(m *Metrics) float64 { return m.C1Within15 }},
	{"applications_per_1000", "apps per 1000 RUB", func(m *Metrics) float64 { return m.AppsPer1000 }},
	{"d1_budget_writes_per_campaign_day", "D1 writes/camp-day", func(m *Metrics) float64 { return m.D1Writes }},
	{"d1_max_budget_writes_campaign_day", "D1 max writes/day", func(m *Metrics) float64 { return float64(m.D1MaxWritesDay) }},
	{"d1_max_yandex_edits_tried_moscow_day", "D1 max Yandex tries/MSK day", func(m *Metrics) float64 { return float64(m.D1MaxYandex) }},
	{"d1_share_writes_over_30pct", "D1 steps >30%", func(m *Metrics) float64 { return m.D1BigSteps }},
	{"d1_refused_budget_writes", "D1 refused writes", func(m *Metrics) float64 { return float64(m.D1Refused) }},
	{"d2_invariant_violations", "D2 violations", func(m *Metrics) float64 { return float64(m.D2Violations) }},
	{"d3_toggles_per_campaign_day", "D3 toggles/camp-day", func(m *Metrics) float64 { return m.D3Toggles }},
	{"bid_writes_per_campaign_day", "bid writes/camp-day", func(m *Metrics) float64 { return m.BidWritesPerCampD }},
}

func summarise(runs []RunResult) []Summary {
	out := make([]Summary, 0, len(metricDefs))
	vals := make([]float64, len(runs))
	for _, d := range metricDefs {
		for i := range runs {
			vals[i] = d.get(&runs[i].Metrics)
		}
		out = append(out, Summary{Metric: d.key, Median: median(vals), P5: quantile(vals, 0.05), P95: quantile(vals, 0.95)})
	}
	return out
}
