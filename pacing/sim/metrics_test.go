package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
)

// flatTrace is a 4-day period of 96 ticks a day with a uniform plan of
// budget 400 (100 a day, 100/96 a tick).
func flatTrace() *LineTrace {
	n := 4 * ticksPerDay
	t := &LineTrace{Budget: 400, Settled: make([]float64, n), True: make([]float64, n), Plan: make([]float64, n),
		DayStarts: []int{0, 96, 192, 288}, Cutoff: 288 + 72}
	for i := range n {
		t.Plan[i] = 100.0 / ticksPerDay
	}
	return t
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestLineMetrics(t *testing.T) {
	tests := []struct {
		name  string
		build func(*LineTrace)
		check func(*testing.T, LineMetrics)
	}{
		{"on plan", func(tr *LineTrace) {
			copy(tr.Settled, tr.Plan)
			copy(tr.True, tr.Plan)
		}, func(t *testing.T, m LineMetrics) {
			if !near(m.Utilisation, 1) || m.Overspent || m.DailyError != 0 || m.Tracking != 0 || m.RMSE != 0 || m.QuickSpend {
				t.Errorf("%+v", m)
			}
			if m.Exhausted {
				t.Errorf("on plan reaches the budget only at the end, not before 18:00")
			}
			if !near(m.ReserveUse, 1) {
				t.Errorf("reserve use %v", m.ReserveUse)
			}
		}},
		{"day 1 double, day 2 zero", func(tr *LineTrace) {
			copy(tr.Settled, tr.Plan)
			for i := range 96 {
				tr.Settled[i] *= 2
				tr.Settled[96+i] = 0
			}
		}, func(t *testing.T, m LineMetrics) {
			// daily errors 1, 1, 0, 0 -> mean 0.5
			if !near(m.DailyError, 0.5) {
				t.Errorf("daily error %v, want 0.5", m.DailyError)
			}
			// tracking from day 3 on: deviation is 0 after day 2
			if !near(m.Tracking, 0) {
				t.Errorf("tracking %v, want 0 (measured from day 3)", m.Tracking)
			}
			// hourly: 24 hours with error 100/24 each of 96 hours; RMSE_T = sqrt(48/96 * (100/24)^2)/(400/96)
			want := math.Sqrt(48.0/96*math.Pow(100.0/24, 2)) / (400.0 / 96)
			if !near(m.RMSE, want) {
				t.Errorf("RMSE %v, want %v", m.RMSE, want)
			}
		}},
		{"overspend and early exhaustion", func(tr *LineTrace) {
			for i := range tr.Settled {
				tr.Settled[i] = tr.Plan[i] * 1.01
				tr.True[i] = tr.Plan[i] * 1.01
			}
		}, func(t *testing.T, m LineMetrics) {
			if !m.Overspent || !near(m.Utilisation, 1.01) {
				t.Errorf("overspent %v util %v", m.Overspent, m.Utilisation)
			}
			// 1% ahead reaches 400 at tick 396 > cutoff 360: not early.
			if m.Exhausted {
				t.Errorf("1%% ahead is not exhausted before 18:00 of the last day")
			}
		}},
		{"exhausted before 18:00", func(tr *LineTrace) {
			for i := range tr.Settled {
				tr.True[i] = tr.Plan[i] * 1.2
				tr.Settled[i] = tr.True[i]
			}
		}, func(t *testing.T, m LineMetrics) {
			// 20% ahead reaches the budget at tick 320 < 360.
			if !m.Exhausted {
				t.Errorf("20%% ahead must be exhausted early")
			}
			// deviation grows linearly: 0.2 * C(t); max over last 3 days at the end = 80/400
			if !near(m.TrackingLast3, 0.2) || !near(m.Tracking, 0.2) {
				t.Errorf("tracking %v last3 %v, want 0.2", m.Tracking, m.TrackingLast3)
			}
		}},
		{"quick spend", func(tr *LineTrace) {
			for i := range 192 {
				tr.Settled[i] = 370.0 / 192
			}
		}, func(t *testing.T, m LineMetrics) {
			if !m.QuickSpend {
				t.Errorf("92.5%% in the first half must be quick-spend")
			}
		}},
		{"CPA ratio", func(tr *LineTrace) {
			copy(tr.Settled, tr.Plan)
			tr.Conversions = 4
			tr.TargetCPA = 110
			tr.Feasible = true
		}, func(t *testing.T, m LineMetrics) {
			if !near(m.CPARatio, 100.0/110) {
				t.Errorf("CPA ratio %v, want 100/110", m.CPARatio)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := flatTrace()
			tt.build(tr)
			tt.check(t, computeLine("l", tr))
		})
	}
}

func TestBuildPlanReplansAtBudgetChange(t *testing.T) {
	l := &Line{Budget: 100, StartTick: 0, EndTick: 10, Changes: []BudgetChange{{Tick: 5, Budget: 150}}}
	rate := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	plan := make([]float64, 10)
	buildPlan(l, rate, plan)
	// First half: 10 a tick (100 over 10 ticks); then the remaining 100 of 150 over 5 ticks.
	for i, v := range plan {
		want := 10.0
		if i >= 5 {
			want = 20
		}
		if !near(v, want) {
			t.Errorf("plan[%d] = %v, want %v", i, v, want)
		}
	}
	if !near(sum(plan), 150) {
		t.Errorf("plan sums to %v, want the final budget 150", sum(plan))
	}
}

const tinyYAML = `
name: tiny
month: "2026-09"
generate:
  seed: 7
  campaigns: 12
  lines: 3
  platforms: {yandex_direct: 6, vk_ads: 3, google_ads: 3}
  periods: [{start: "2026-09-01", end: "2026-09-07"}]
shocks:
  - {kind: restatement, pct: -1, from: "2026-09-05", to: "2026-09-06"}
`

func tinyResults(t *testing.T, seeds []uint64, workers int) []byte {
	t.Helper()
	sc, err := ParseScenario([]byte(tinyYAML))
	if err != nil {
		t.Fatal(err)
	}
	// The default five and B4, which keeps state across ticks of its own.
	res, err := RunWith(context.Background(), sc, append(append([]string(nil), AllPolicies...), PolicyB4), seeds, RunOptions{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameSeedSameOutput(t *testing.T) {
	a := tinyResults(t, []uint64{1, 2}, 1)
	b := tinyResults(t, []uint64{1, 2}, 2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seeds gave different JSON (with 1 and 2 workers)")
	}
	c := tinyResults(t, []uint64{3, 4}, 2)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical JSON: the seed is not used")
	}
}

func TestCommonRandomNumbersAcrossPolicies(t *testing.T) {
	// Two worlds of the same seed with identical settings must spend
	// identically; this is what makes policy comparisons paired.
	sc, err := ParseScenario([]byte(tinyYAML))
	if err != nil {
		t.Fatal(err)
	}
	m := newMarket(sc, 9)
	w1, w2 := newWorld(sc, m), newWorld(sc, m)
	// Perturb w2 on one campaign only; the others must stay identical.
	if err := w2.setBid(0, sc.Campaigns[0].Bid*2); err != nil {
		t.Fatal(err)
	}
	w1.Advance(sc.End())
	w2.Advance(sc.End())
	for ci := 1; ci < len(sc.Campaigns); ci++ {
		for k := 0; k < sc.Ticks; k++ {
			if w1.cost[ci*sc.Ticks+k] != w2.cost[ci*sc.Ticks+k] {
				t.Fatalf("campaign %d tick %d: %d vs %d", ci, k, w1.cost[ci*sc.Ticks+k], w2.cost[ci*sc.Ticks+k])
			}
		}
	}
}

// BenchmarkS0 runs S0 (180 campaigns, 24 lines, 30 days) with all five
// policies and one seed, as issue 5's benchmark asks.
func BenchmarkS0(b *testing.B) {
	sc, err := LoadScenario("S0")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(context.Background(), sc, AllPolicies, []uint64{1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorldMonth is the tick loop alone: one world, no policy.
func BenchmarkWorldMonth(b *testing.B) {
	sc, err := LoadScenario("S0")
	if err != nil {
		b.Fatal(err)
	}
	m := newMarket(sc, 1)
	b.ReportAllocs()
	for b.Loop() {
		w := newWorld(sc, m)
		w.Advance(sc.End())
	}
}
