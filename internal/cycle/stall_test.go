package cycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
)

// TestReportingStallHolds: Yandex keeps answering every pull, but from
// 10:00 Moscow time the TODAY totals stop moving while the campaigns spent
// all afternoon the day before. By 16:00 (five hours past the 1 h reporting
// lag) pacing holds both campaigns with one stale-data card that says the
// reports stalled, and the source's data age is measured from 10:00 plus
// the lag, not from the last pull. The control, with spend going on, is
// paced.
func TestReportingStallHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spendTo  int // hours of today (Moscow) with spend, from 08:00
		held     bool
		ageHours float64
	}{
		{"reports stop at 10:00", 10, true, 5},
		{"reports advance", 23, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, cycle.Apply, func(o *cycle.Options) { o.Ads[0].StallShare = 0.05 })
			msk := time.FixedZone("MSK", 3*3600)
			yesterday, today := "2026-11-16", "2026-11-17"
			for _, id := range w.ids {
				for h := 8; h < 23; h++ {
					w.spend.AddHour(id, yesterday, h, yandexdirecttest.Spend{CostMicros: 1_000_000_000, Clicks: 40, Impressions: 1000})
				}
				for h := 8; h < tc.spendTo; h++ {
					w.spend.AddHour(id, today, h, yandexdirecttest.Spend{CostMicros: 1_000_000_000, Clicks: 40, Impressions: 1000})
				}
			}
			// Hourly pulls from 12:00 yesterday (t0) to 16:00 today.
			end := time.Date(2026, 11, 17, 16, 0, 0, 0, msk)
			for {
				if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
					t.Fatal(err)
				}
				if !w.clock.Now().Before(end) {
					break
				}
				w.clock.Advance(time.Hour)
			}
			if err := w.runner.Pace(ctx); err != nil {
				t.Fatal(err)
			}
			plan := w.runner.LastStatus().Plan
			for _, l := range plan.Lines {
				if got := l.Status == pacing.StatusHeld; got != tc.held {
					t.Errorf("line %s status %s, held want %v", l.ID, l.Status, tc.held)
				}
			}
			var stale []string
			for _, a := range plan.Alerts {
				if a.Kind == "stale_data" {
					stale = append(stale, a.Detail)
				}
			}
			if !tc.held {
				if len(stale) != 0 {
					t.Fatalf("stale-data alerts with spend going on: %q", stale)
				}
				return
			}
			if len(stale) != 1 || !strings.Contains(stale[0], "reports stopped advancing") || !strings.Contains(stale[0], "2026-11-17 07:00 UTC") {
				t.Fatalf("want one stale-data alert naming the stall at 07:00 UTC, got %q", stale)
			}
			want := fmt.Sprintf(`
# HELP adpacer_source_data_age_seconds Age of the newest data per source at the last pacing cycle.
# TYPE adpacer_source_data_age_seconds gauge
adpacer_source_data_age_seconds{source="yandex-main"} %g
`, tc.ageHours*3600)
			if err := testutil.GatherAndCompare(w.reg, strings.NewReader(want), "adpacer_source_data_age_seconds"); err != nil {
				t.Errorf("data age: %v", err)
			}
		})
	}
}
