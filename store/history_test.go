package store

import (
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

func TestCivilDate(t *testing.T) {
	for d := int64(-800_000); d < 800_000; d += 37 {
		want := time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
		if got := civilDate(d); got != want {
			t.Fatalf("civilDate(%d) = %s, want %s", d, got, want)
		}
	}
}

// history builds a PacingHistory of one campaign whose hour i costs i+1.
func history(from time.Time, hours int) (*PacingHistory, *CampaignHistory) {
	c := CampaignHistory{Campaign: "yandex_direct:1", Cost: make([]adpacer.Micros, hours), Clicks: make([]int64, hours),
		Conversions: make([]float64, hours), Present: make([]uint64, (hours+63)/64)}
	for i := range c.Cost {
		c.Cost[i] = adpacer.Micros(i + 1)
		c.Clicks[i] = 1
		c.Present[i>>6] |= 1 << (uint(i) & 63)
	}
	h := &PacingHistory{From: from, Hours: hours, Campaigns: []CampaignHistory{c}}
	return h, &h.Campaigns[0]
}

// naiveDays is the obvious per-hour time.In computation LocalDays must match.
func naiveDays(h *PacingHistory, c *CampaignHistory, loc *time.Location) ([]DayTotal, [168]adpacer.Micros) {
	var out []DayTotal
	var how [168]adpacer.Micros
	for i := 0; i < h.Hours; i++ {
		t := h.From.Add(time.Duration(i) * time.Hour).In(loc)
		date := t.Format(time.DateOnly)
		if len(out) == 0 || out[len(out)-1].Date != date {
			out = append(out, DayTotal{Date: date})
		}
		out[len(out)-1].Cost += c.Cost[i]
		out[len(out)-1].Clicks += c.Clicks[i]
		out[len(out)-1].Hours++
		wd := (int(t.Weekday()) + 6) % 7
		how[wd*24+t.Hour()] += c.Cost[i]
	}
	return out, how
}

func TestLocalDaysAcrossZonesAndDST(t *testing.T) {
	for _, tc := range []struct {
		zone string
		from time.Time
	}{
		{"Asia/Vladivostok", time.Date(2026, 2, 26, 7, 0, 0, 0, time.UTC)},  // +10, no DST, across Feb 28
		{"Europe/Moscow", time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)},     // 30/31-day month end
		{"Europe/Berlin", time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)},     // spring forward on Mar 29
		{"America/New_York", time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)}, // fall back on Nov 1
		{"Asia/Kolkata", time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)},      // half-hour offset
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		h, c := history(tc.from, 24*9+5)
		got := h.LocalDays(c, loc)
		want, wantHow := naiveDays(h, c, loc)
		if len(got) != len(want) {
			t.Fatalf("%s: %d days, want %d", tc.zone, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s day %d: %+v want %+v", tc.zone, i, got[i], want[i])
			}
		}
		if how := h.HourOfWeek(c, loc); how != wantHow {
			t.Errorf("%s: hour-of-week differs:\n got %v\nwant %v", tc.zone, how, wantHow)
		}
	}
}

func TestLastHour(t *testing.T) {
	h, c := history(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 100)
	if c.LastHour() != 99 {
		t.Fatalf("LastHour = %d", c.LastHour())
	}
	c.Present[1] &^= 1 << (99 - 64)
	if c.LastHour() != 98 || c.Has(99) || !c.Has(98) {
		t.Fatalf("LastHour after clearing 99 = %d", c.LastHour())
	}
	_ = h
}

// go test -run '^$' -bench LocalDays ./store/
func BenchmarkLocalDaysAndHourOfWeek(b *testing.B) {
	h, c := history(time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC), 35*24)
	loc, _ := time.LoadLocation("Asia/Vladivostok")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if d := h.LocalDays(c, loc); len(d) != 36 {
			b.Fatal(len(d))
		}
		_ = h.HourOfWeek(c, loc)
	}
}
