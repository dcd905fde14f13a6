package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/adpacer/adpacer/store/storetest"
)

// go test -run '^$' -bench . -benchmem -count 3 ./store/sqlite/

func BenchmarkUpsertHourlyStats(b *testing.B) {
	for _, tc := range []struct {
		name             string
		campaigns, hours int
	}{
		{"restate3days_2000campaigns", 2000, 72},
		{"backfill35days_200campaigns", 200, 35 * 24},
		{"hourly_10000campaigns_1hour", 10000, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := openMigrated(b, filepath.Join(b.TempDir(), "bench.db"), Options{})
			defer s.Close()
			storetest.BenchUpsertHourly(b, s, tc.campaigns, tc.hours)
		})
	}
}

var benchEnd = time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)

// BenchmarkPacingRead: 10,000 campaigns x 35 days of hourly stats (8.4
// million hours), read and reduced to local days and hour-of-week profiles.
// Set ADPACER_BENCH_FIXTURE to a file path to build the fixture once and
// reuse it across runs.
func BenchmarkPacingRead(b *testing.B) {
	path := os.Getenv("ADPACER_BENCH_FIXTURE")
	if path == "" {
		path = filepath.Join(b.TempDir(), "pacing.db")
	}
	_, statErr := os.Stat(path)
	s := openMigrated(b, path, Options{})
	defer s.Close()
	if statErr != nil {
		start := time.Now()
		if err := storetest.FillHistory(context.Background(), s, 10000, 35, benchEnd); err != nil {
			b.Fatal(err)
		}
		b.Logf("fixture: 8.4M hourly stats written in %s", time.Since(start).Round(time.Millisecond))
	}
	storetest.BenchPacingRead(b, s, 35, benchEnd)
}
