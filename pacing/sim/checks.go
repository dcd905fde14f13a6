package sim

import (
	"fmt"
	"math"
)

// Check is one target of issue 5 / pacing-notes 6.4 evaluated on a policy's
// runs: pooled over every (seed, line) for shares, mean over seeds and lines
// for errors, worst case for counts and limits.
type Check struct {
	ID     string  `json:"id"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Pass   bool    `json:"pass"`
	Detail string  `json:"detail,omitempty"`
}

type pooled struct {
	lines                              int
	overspent, quick, feasible         int
	util99, util98, within10, within15 int
	maxUtil                            float64
	utils                              []float64
	dailyErr, track, last3, rmse       float64
	exhausted                          int
	d2                                 int
	maxYandex                          int
	toggles                            float64
}

func pool(runs []RunResult) pooled {
	var p pooled
	for _, r := range runs {
		for _, l := range r.Lines {
			p.lines++
			if l.Overspent {
				p.overspent++
			}
			if l.QuickSpend {
				p.quick++
			}
			if l.Utilisation >= 0.99 {
				p.util99++
			}
			if l.Utilisation >= 0.98 {
				p.util98++
			}
			p.maxUtil = math.Max(p.maxUtil, l.Utilisation)
			p.utils = append(p.utils, l.Utilisation)
			p.dailyErr += l.DailyError
			p.track += l.Tracking
			p.last3 += l.TrackingLast3
			p.rmse += l.RMSE
			if l.Feasible {
				p.feasible++
				d := math.Abs(l.CPARatio - 1)
				if l.CPARatio > 0 && d <= 0.10 {
					p.within10++
				}
				if l.CPARatio > 0 && d <= 0.15 {
					p.within15++
				}
			}
		}
		p.exhausted += r.Metrics.B1Lines + r.Metrics.B1Campaigns
		p.d2 += r.Metrics.D2Violations
		p.maxYandex = max(p.maxYandex, r.Metrics.D1MaxYandex)
		p.toggles += r.Metrics.D3Toggles
	}
	n := float64(max(1, p.lines))
	p.dailyErr /= n
	p.track /= n
	p.last3 /= n
	p.rmse /= n
	p.toggles /= float64(max(1, len(runs)))
	return p
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func addChecks(res *Results) {
	pools := map[string]pooled{}
	for _, pr := range res.Policies {
		pools[pr.Policy] = pool(pr.Runs)
	}
	nominal := res.Targets == "nominal"
	for i := range res.Policies {
		pr := &res.Policies[i]
		p := pools[pr.Policy]
		var cs []Check
		add := func(id, target string, v float64, pass bool, detail string) {
			cs = append(cs, Check{ID: id, Target: target, Value: v, Pass: pass, Detail: detail})
		}
		over := ratio(p.overspent, p.lines)
		if nominal {
			add("A1", "no line over budget (share = 0)", over, p.overspent == 0, fmt.Sprintf("%d of %d line-runs over; max S/B %.4f", p.overspent, p.lines, p.maxUtil))
			s99 := ratio(p.util99, p.lines)
			add("A2", "S/B >= 0.99 for >= 95% of lines", s99, s99 >= 0.95, fmt.Sprintf("%d of %d", p.util99, p.lines))
			med := median(p.utils)
			add("A2m", "median S/B >= 0.995", med, med >= 0.995, "")
		} else {
			add("A1", "overspent share <= 0.5% and S/B <= 1.005 always", p.maxUtil, over <= 0.005 && p.maxUtil <= 1.005,
				fmt.Sprintf("%d of %d line-runs over; overspent share %.4f", p.overspent, p.lines, over))
			s98 := ratio(p.util98, p.lines)
			add("A2", "S/B >= 0.98 for >= 90% of lines", s98, s98 >= 0.90, fmt.Sprintf("%d of %d", p.util98, p.lines))
		}
		add("B1", "no line or campaign exhausted before 18:00 local on the last day", float64(p.exhausted), p.exhausted == 0, "")
		add("B2", "no quick-spend line", ratio(p.quick, p.lines), p.quick == 0, "")
		errT, trT, l3T := 0.10, 0.03, 0.01
		if !nominal {
			errT, trT, l3T = 0.15, 0.05, 0.02
		}
		add("B3", fmt.Sprintf("daily plan error <= %.0f%%", errT*100), p.dailyErr, p.dailyErr <= errT, "mean over seeds and lines")
		add("B4", fmt.Sprintf("cumulative tracking <= %.0f%%", trT*100), p.track, p.track <= trT, "mean over seeds and lines of the max deviation from day 3")
		add("B4l", fmt.Sprintf("tracking in the last 3 days <= %.0f%%", l3T*100), p.last3, p.last3 <= l3T, "")
		if b0, ok := pools[PolicyB0]; ok && pr.Policy != PolicyB0 {
			f := 0.5
			if !nominal {
				f = 0.7
			}
			add("B5/B0", fmt.Sprintf("hourly RMSE <= %.1f x B0", f), p.rmse/b0.rmse, p.rmse <= f*b0.rmse, fmt.Sprintf("%.3f vs B0 %.3f", p.rmse, b0.rmse))
		}
		if b3, ok := pools[PolicyB3]; ok && nominal && pr.Policy != PolicyB3 {
			add("B5/B3", "hourly RMSE <= 0.8 x B3", p.rmse/b3.rmse, p.rmse <= 0.8*b3.rmse, fmt.Sprintf("%.3f vs B3 %.3f", p.rmse, b3.rmse))
		}
		if nominal {
			w := ratio(p.within10, p.feasible)
			add("C1", "CPA within +-10% of target for >= 90% of feasible lines", w, p.feasible > 0 && w >= 0.90, fmt.Sprintf("%d of %d feasible line-runs", p.within10, p.feasible))
		} else {
			w := ratio(p.within15, p.feasible)
			add("C1", "CPA within +-15% of target for >= 85% of feasible lines", w, p.feasible > 0 && w >= 0.85, fmt.Sprintf("%d of %d feasible line-runs", p.within15, p.feasible))
		}
		add("D1", "at most 3 budget edits per Yandex campaign per Moscow day", float64(p.maxYandex), p.maxYandex <= 3, "edits tried, including those Yandex refused with 8305")
		add("D2", "zero invariant violations", float64(p.d2), p.d2 == 0, "line-ticks where the platforms' worst case exceeded the remaining budget")
		add("D3", "at most 1 pause/resume toggle per campaign-day on average", p.toggles, p.toggles <= 1, "")
		if pr.Policy == PolicyEngine {
			for _, base := range []string{PolicyB1, PolicyB3, PolicyB4, PolicyB1Inv, PolicyB3Inv} {
				bi := policyIndex(res, base)
				if bi < 0 {
					continue
				}
				cs = append(cs, beats(pr, &res.Policies[bi], "dailyerr", "daily plan error (B3)", func(m *Metrics) float64 { return m.B3DailyError }, true, res.Seeds))
				cs = append(cs, beats(pr, &res.Policies[bi], "rmse", "hourly RMSE (B5)", func(m *Metrics) float64 { return m.B5RMSE }, true, res.Seeds))
				cs = append(cs, beats(pr, &res.Policies[bi], "aps", "applications per unit of spend", func(m *Metrics) float64 { return m.AppsPer1000 }, false, res.Seeds))
			}
		}
		pr.Checks = cs
	}
}

func policyIndex(res *Results, name string) int {
	for i, p := range res.Policies {
		if p.Policy == name {
			return i
		}
	}
	return -1
}

// beats compares a policy with a baseline paired by seed: the mean
// difference and a 95% bootstrap interval (2000 resamples, deterministic).
// With lower=true smaller is better. One seed gives a point comparison.
func beats(a, b *PolicyResult, id, what string, get func(*Metrics) float64, lower bool, seeds []uint64) Check {
	n := len(a.Runs)
	diff := make([]float64, n)
	for i := range n {
		d := get(&a.Runs[i].Metrics) - get(&b.Runs[i].Metrics)
		if !lower {
			d = -d
		}
		diff[i] = d // negative = a is better
	}
	m := mean(diff)
	c := Check{ID: "beats-" + b.Policy + "-" + id, Target: fmt.Sprintf("engine beats %s on %s", b.Policy, what), Value: m}
	if n < 2 {
		c.Pass = m < 0
		c.Detail = "single seed: point comparison, no confidence interval"
		return c
	}
	r := newRNG(seeds[0], purposeBootstrap, uint64(len(id)), uint64(n))
	means := make([]float64, 2000)
	for j := range means {
		var s float64
		for range n {
			s += diff[r.next()%uint64(n)]
		}
		means[j] = s / float64(n)
	}
	hi := quantile(means, 0.975)
	lo := quantile(means, 0.025)
	c.Pass = hi < 0
	c.Detail = fmt.Sprintf("paired mean difference (negative = engine better) %.4g, 95%% bootstrap CI [%.4g, %.4g]", m, lo, hi)
	return c
}
