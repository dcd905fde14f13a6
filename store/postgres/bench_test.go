package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/adpacer/adpacer/store/storetest"
)

// ADPACER_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//   go test -run '^$' -bench . -benchmem -count 3 ./store/postgres/

func benchStore(b *testing.B) *Store {
	addr := freshSchema(b)
	s, err := Open(context.Background(), addr, Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

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
			storetest.BenchUpsertHourly(b, benchStore(b), tc.campaigns, tc.hours)
		})
	}
}

// BenchmarkPacingRead is the SQLite benchmark's read on PostgreSQL (no
// target is set for it; reported for comparison).
func BenchmarkPacingRead(b *testing.B) {
	s := benchStore(b)
	end := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	if err := storetest.FillHistory(context.Background(), s, 10000, 35, end); err != nil {
		b.Fatal(err)
	}
	storetest.BenchPacingRead(b, s, 35, end)
}
