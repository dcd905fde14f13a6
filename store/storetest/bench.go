package storetest

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// Benchmarks shared by the backends. Fixtures are built inside the
// benchmark functions, so `go test` without -bench never pays for them.

var benchZones = []string{"Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok", "Asia/Kamchatka"}

// BenchCampaigns returns n campaigns spread over Russia's zones.
func BenchCampaigns(n int) []adpacer.Campaign {
	cs := make([]adpacer.Campaign, n)
	for i := range cs {
		cs[i] = adpacer.Campaign{ID: adpacer.NewCampaignID(adpacer.YandexDirect, fmt.Sprint(100000+i)), TimeZone: benchZones[i%len(benchZones)],
			Currency: "RUB", State: adpacer.StateOn, DailyBudget: mp(5_000_000_000)}
	}
	return cs
}

// BenchStats returns hourly stats for every campaign over hours starting at from.
func BenchStats(cs []adpacer.Campaign, from time.Time, hours, version int) []adpacer.Stat {
	out := make([]adpacer.Stat, 0, len(cs)*hours)
	for i, c := range cs {
		for h := 0; h < hours; h++ {
			start := from.Add(time.Duration(h) * time.Hour)
			out = append(out, adpacer.Stat{Campaign: c.ID, Start: start, End: start.Add(time.Hour),
				Cost: adpacer.Micros(int64(1_000_000+(i*7+h*13)%900_000) * 10_000 / 10_000 * int64(1+version%3)), Clicks: int64(h%17 + 1),
				Impressions: int64(100 + h%50), Conversions: float64(h % 3)})
		}
	}
	return out
}

// SaveCampaigns stores cs in batches of 1,000.
func SaveCampaigns(ctx context.Context, s store.Store, cs []adpacer.Campaign) error {
	for i := 0; i < len(cs); i += 1000 {
		j := min(i+1000, len(cs))
		if err := s.SaveAdBatch(ctx, "bench", adpacer.AdBatch{Campaigns: cs[i:j]}, adpacer.Cursor{}); err != nil {
			return err
		}
	}
	return nil
}

// BenchUpsertHourly measures SaveAdBatch of hourly stats: each op writes
// campaigns x hours rows (restating the same hours after the first op, as
// a connector re-reading its restatement window does) and reports rows/s.
func BenchUpsertHourly(b *testing.B, s store.Store, campaigns, hours int) {
	ctx := context.Background()
	cs := BenchCampaigns(campaigns)
	if err := SaveCampaigns(ctx, s, cs); err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	batches := [2][]adpacer.Stat{BenchStats(cs, from, hours, 0), BenchStats(cs, from, hours, 1)}
	rows := len(batches[0])
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.SaveAdBatch(ctx, "bench", adpacer.AdBatch{Stats: batches[i%2]}, adpacer.Cursor{Value: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	reportCPU(b, cpu0)
}

// FillHistory stores hourly stats for campaigns x days ending at end.
func FillHistory(ctx context.Context, s store.Store, campaigns, days int, end time.Time) error {
	cs := BenchCampaigns(campaigns)
	if err := SaveCampaigns(ctx, s, cs); err != nil {
		return err
	}
	from := end.Add(-time.Duration(days) * 24 * time.Hour)
	for i := 0; i < len(cs); i += 500 {
		j := min(i+500, len(cs))
		if err := s.SaveAdBatch(ctx, "bench", adpacer.AdBatch{Stats: BenchStats(cs[i:j], from, days*24, 0)}, adpacer.Cursor{}); err != nil {
			return err
		}
	}
	return nil
}

// BenchPacingRead measures the engine's read: PacingHistory of every
// campaign over days, then spend per local day and the hour-of-week
// profile per campaign in its own zone.
func BenchPacingRead(b *testing.B, s store.Store, days int, end time.Time) {
	ctx := context.Background()
	cs, err := s.Campaigns(ctx)
	if err != nil {
		b.Fatal(err)
	}
	locs := map[adpacer.CampaignID]*time.Location{}
	for _, c := range cs {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			b.Fatal(err)
		}
		locs[c.ID] = loc
	}
	from := end.Add(-time.Duration(days) * 24 * time.Hour)
	// Untimed warm-up reads: the daemon reads every cycle from a reader
	// pool whose connections have mapped the database (SQLite's mmap is
	// per connection, and a cold one takes a page fault per 4 KB page it
	// touches) and from a heap that has reached its steady size. Each
	// read takes up to three pooled connections, in an order the pool
	// decides, so three reads warm them all. The cold first read is
	// logged, not hidden.
	for i := 0; i < 3; i++ {
		start := time.Now()
		if _, err := s.PacingHistory(ctx, nil, from, end); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.Logf("first (cold) read: %s", time.Since(start).Round(time.Millisecond))
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	var hours int
	for i := 0; i < b.N; i++ {
		h, err := s.PacingHistory(ctx, nil, from, end)
		if err != nil {
			b.Fatal(err)
		}
		hours = 0
		var total adpacer.Micros
		for j := range h.Campaigns {
			c := &h.Campaigns[j]
			loc := locs[c.Campaign]
			for _, d := range h.LocalDays(c, loc) {
				total += d.Cost
				hours += d.Hours
			}
			how := h.HourOfWeek(c, loc)
			total += how[0]
		}
		if total <= 0 {
			b.Fatal("no spend read")
		}
	}
	if hours != len(cs)*days*24 {
		b.Fatalf("read %d hours, want %d", hours, len(cs)*days*24)
	}
	b.ReportMetric(float64(hours)*float64(b.N)/b.Elapsed().Seconds(), "hours/s")
	reportCPU(b, cpu0)
}

// cpuTime is this process's user+system CPU time. The machine the figures
// come from is shared, so wall time per op is reported with the CPU time
// the benchmark itself used (PostgreSQL's server CPU is not included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
