package connectors

import (
	"strings"
	"testing"
	"time"
)

func TestAdPullRequestDays(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	// 23:30 UTC on 30 November is already 1 December in Moscow.
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	keepYear := func(t time.Time) time.Time { return t.AddDate(-1, 0, 0) }
	day := func(d string) time.Time { t, _ := time.ParseInLocation(time.DateOnly, d, msk); return t }
	for _, tc := range []struct {
		statsFrom string
		from      string
		err       string
	}{
		{"", "2026-11-28", ""}, // three restatement days before the Moscow today
		{"2026-11-01", "2026-11-01", ""},
		{"2026-12-05", "2026-12-01", ""}, // after today: today
		{"01.11.2026", "", `StatsFrom "01.11.2026" must be a date YYYY-MM-DD`},
		{"2025-11-30", "", "StatsFrom 2025-11-30 is older than the platform keeps statistics; use 2025-12-01 or later"},
	} {
		today, from, err := AdPullRequest{StatsFrom: tc.statsFrom}.Days(now, msk, 3, keepYear)
		if !today.Equal(day("2026-12-01")) {
			t.Errorf("StatsFrom %q: today %s, want 2026-12-01 MSK", tc.statsFrom, today)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("StatsFrom %q: error %v, want %q", tc.statsFrom, err, tc.err)
			}
			continue
		}
		if err != nil || !from.Equal(day(tc.from)) {
			t.Errorf("StatsFrom %q: from %s (%v), want %s", tc.statsFrom, from.Format(time.DateOnly), err, tc.from)
		}
	}
}
