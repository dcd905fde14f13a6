package sim

import (
	"math"
	"sort"
)

// LineTrace is what the metrics of pacing-notes 6.4 need about one line
// over its period, tick by tick (index 0 = the first tick of the period).
// It is built from a finished World, or by hand in tests.
type LineTrace struct {
	Budget float64 // final budget B_g (micros)
	// Settled is the settled (restated) spend per tick, True the spend as
	// charged in real time; Plan the traffic-weighted plan per tick (sums
	// to Budget).
	Settled, True, Plan []float64
	// DayStarts are the tick offsets where the line's local days begin,
	// starting with 0.
	DayStarts []int
	// Cutoff is the tick offset of 18:00 local on the last day.
	Cutoff      int
	Conversions float64
	TargetCPA   float64 // micros; 0 = none
	Feasible    bool
}

// LineMetrics are the per-line values of one run.
type LineMetrics struct {
	Line          string  `json:"line"`
	Budget        float64 `json:"budget"`
	Spend         float64 `json:"spend"`
	Utilisation   float64 `json:"utilisation"`
	Overspent     bool    `json:"overspent"`
	Exhausted     bool    `json:"exhausted_early"`
	QuickSpend    bool    `json:"quick_spend"`
	DailyError    float64 `json:"daily_plan_error"`
	Tracking      float64 `json:"cumulative_tracking"`
	TrackingLast3 float64 `json:"cumulative_tracking_last3"`
	RMSE          float64 `json:"hourly_rmse"`
	ReserveUse    float64 `json:"month_end_reserve_use"`
	CPA           float64 `json:"cpa"`
	CPARatio      float64 `json:"cpa_ratio"` // CPA / target; 0 without target or conversions
	Feasible      bool    `json:"target_feasible"`
	Conversions   float64 `json:"conversions"`
	D2Violations  int     `json:"d2_violations"`
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// computeLine evaluates A1, A2, A3, B1 (line part), B2, B3, B4, B5 and C1
// on a trace.
func computeLine(id string, t *LineTrace) LineMetrics {
	m := LineMetrics{Line: id, Budget: t.Budget / 1e6}
	n := len(t.Settled)
	// Settled spend is money: round to the micro so float summation noise
	// never decides an overspend.
	S := math.Round(sum(t.Settled))
	B := t.Budget
	m.Spend = S / 1e6
	m.Utilisation = S / B
	m.Overspent = S > B
	// B1: cumulative real-time spend reaching the budget before the cutoff.
	var c float64
	for i := 0; i < n && i < t.Cutoff; i++ {
		c += t.True[i]
		if c >= B {
			m.Exhausted = true
			break
		}
	}
	// B2: more than 90% of the budget in the first half of the period.
	half := n / 2
	m.QuickSpend = sum(t.Settled[:half]) > 0.9*B
	// B3: mean over days of |spend - plan| / plan.
	var errSum float64
	var days int
	for d, start := range t.DayStarts {
		end := n
		if d+1 < len(t.DayStarts) {
			end = t.DayStarts[d+1]
		}
		plan := sum(t.Plan[start:end])
		if plan <= 0 {
			continue
		}
		errSum += math.Abs(sum(t.Settled[start:end])-plan) / plan
		days++
	}
	if days > 0 {
		m.DailyError = errSum / float64(days)
	}
	// B4: max over t >= day 3 of |C(t) - P(t)| / B, and over the last 3 days.
	from := n
	if len(t.DayStarts) > 3 {
		from = t.DayStarts[3]
	}
	last3 := 0
	if len(t.DayStarts) >= 3 {
		last3 = t.DayStarts[len(t.DayStarts)-3]
	}
	var cs, cp float64
	for i := range n {
		cs += t.Settled[i]
		cp += t.Plan[i]
		dev := math.Abs(cs-cp) / B
		if i+1 >= from && dev > m.Tracking {
			m.Tracking = dev
		}
		if i+1 > last3 && dev > m.TrackingLast3 {
			m.TrackingLast3 = dev
		}
	}
	// B5: sqrt(mean_h ((B*share_h - s_h)^2 / (B/H)^2)); B*share_h is the
	// plan of hour h.
	H := (n + ticksPerHour - 1) / ticksPerHour
	var sq float64
	for h := range H {
		lo, hi := h*ticksPerHour, min(n, (h+1)*ticksPerHour)
		d := sum(t.Plan[lo:hi]) - sum(t.Settled[lo:hi])
		sq += d * d
	}
	if H > 0 {
		m.RMSE = math.Sqrt(sq/float64(H)) / (B / float64(H))
	}
	// A3: spend in the last 24 h over the plan of the last day.
	if len(t.DayStarts) > 0 {
		ld := t.DayStarts[len(t.DayStarts)-1]
		if p := sum(t.Plan[ld:]); p > 0 {
			lo := max(0, n-ticksPerDay)
			m.ReserveUse = sum(t.Settled[lo:]) / p
		}
	}
	// C1: settled CPA over target.
	m.Conversions = t.Conversions
	m.Feasible = t.Feasible
	if t.Conversions > 0 {
		m.CPA = S / t.Conversions / 1e6
		if t.TargetCPA > 0 {
			m.CPARatio = S / t.Conversions / t.TargetCPA
		}
	}
	return m
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// quantile of v (linear interpolation between order statistics); v is not
// modified.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return sum(v) / float64(len(v))
}
