package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// benchSpec is the size the issue sets: 1,000 campaigns (700 Yandex
// Direct, 300 Google Ads) in 200 budget lines, 35 days of history in the
// fakes, every line behind plan so each cycle decides and applies budget
// changes on both platforms, with 100 ads rejected by moderation (an open
// alert card each).
var benchSpec = worldSpec{
	Yandex: 700, Google: 300, Lines: 200, RejectedAds: 100,
	PeriodStart: "2026-09-01", PeriodEnd: "2027-08-31", LineBudgetRUB: 6_000_000,
	DailySpendRUB: 3_000, DailyBudgetRUB: 1_000,
	Start: time.Date(2026, 10, 5, 21, 20, 0, 0, time.UTC), // 00:20 Moscow, when the day's budgets are set
}

// BenchmarkFullCycle1000 measures one full cycle of the real daemon built
// from a config file: pull both platforms over loopback HTTP into SQLite,
// pace, record, apply (reading the platform first) and sync alert cards.
// The fakes add no latency. Each iteration is the next day, so the pull is
// the steady-state one (the cursor's day minus the restatement window) and
// the engine has a day's raises to apply; the cold first cycle (35 days of
// history) runs before the timer and is logged. Besides ns/op it reports
// the time of each phase and the writes applied per cycle.
func BenchmarkFullCycle1000(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b, benchSpec)
	cfg := w.writeConfig(b, b.TempDir())
	clock := &stepClock{t: benchSpec.Start}
	l, err := openDaemon(ctx, cfg, clock)
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	cold, err := l.runCycle(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	applied0, err := countApplied(ctx, l.st)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("cold cycle (35 days pulled): %v = pull %v + pace %v + apply %v + alerts %v; %d actions applied",
		cold.total().Round(time.Millisecond), cold.Pull.Round(time.Millisecond), cold.Pace.Round(time.Millisecond),
		cold.Apply.Round(time.Millisecond), cold.Alerts.Round(time.Millisecond), applied0)
	var sum phaseTimes
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		now := benchSpec.Start.Add(time.Duration(i) * 24 * time.Hour)
		w.clock.Set(now)
		clock.mu.Lock()
		clock.t = now
		clock.mu.Unlock()
		pt, err := l.runCycle(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		sum.Pull += pt.Pull
		sum.Pace += pt.Pace
		sum.Apply += pt.Apply
		sum.Alerts += pt.Alerts
	}
	b.StopTimer()
	applied, err := countApplied(ctx, l.st)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sum.Pull.Milliseconds())/n, "pull-ms/op")
	b.ReportMetric(float64(sum.Pace.Milliseconds())/n, "pace-ms/op")
	b.ReportMetric(float64(sum.Apply.Milliseconds())/n, "apply-ms/op")
	b.ReportMetric(float64(sum.Alerts.Milliseconds())/n, "alerts-ms/op")
	b.ReportMetric(float64(applied-applied0)/n, "writes/op")
	b.Logf("alert cards on the board after %d cycles: %d", b.N+1, len(w.trello.Cards(w.board.ID)))
	if applied == applied0 {
		b.Fatal("no action was applied in the measured cycles: the benchmark would measure an idle apply")
	}
}

func countApplied(ctx context.Context, st store.Store) (int, error) {
	acts, err := st.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionApplied}})
	return len(acts), err
}
