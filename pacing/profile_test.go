package pacing

import (
	"testing"
	"time"
)

// Daily rows come in the platform's day, not the line's: a Moscow-day row
// starts at 23:00 the day before in Kaliningrad, and a Google account in
// Vladivostok starts its day at 17:00 the day before in Moscow. Each row
// must count for the line-local day it mostly covers, or the learned
// weekday factors shift by a day.
func TestProfileCountsDailyRowsForTheLocalDayTheyCover(t *testing.T) {
	cases := []struct {
		line, platform string
	}{
		{"Europe/Kaliningrad", "Europe/Moscow"},
		{"Europe/Moscow", "Asia/Vladivostok"},
		{"Asia/Vladivostok", "Europe/Moscow"},
		{"Europe/Moscow", "Europe/Moscow"},
	}
	for _, tc := range cases {
		t.Run(tc.line+" rows in "+tc.platform, func(t *testing.T) {
			lineLoc, err := time.LoadLocation(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			platLoc, err := time.LoadLocation(tc.platform)
			if err != nil {
				t.Fatal(err)
			}
			z := newZoneCache(lineLoc)
			start := time.Date(2026, 11, 1, 0, 0, 0, 0, lineLoc).Unix()
			var p profileAcc
			p.dayBase = z.localDay(start) - profileDays/2
			// Four weeks of platform-day rows before the period: Mondays
			// (in the platform's calendar) spend twice the other days.
			first := time.Date(2026, 10, 1, 0, 0, 0, 0, platLoc)
			var from, to int64
			for d := range 28 {
				a := first.AddDate(0, 0, d)
				b := first.AddDate(0, 0, d+1)
				cost := int64(1_000_000)
				if a.Weekday() == time.Monday {
					cost *= 2
				}
				p.add(&z, a.Unix(), b.Unix(), cost)
				if from == 0 {
					from = a.Unix()
				}
				to = b.Unix()
			}
			prof := p.profile(&z, from, to)
			day := func(w int) float64 { return prof[w*24+12] }
			for w := 1; w < 7; w++ {
				if day(0) <= day(w)*1.5 {
					t.Errorf("Monday factor %.3f is not the busiest (weekday %d: %.3f); profile by weekday: %.2f %.2f %.2f %.2f %.2f %.2f %.2f",
						day(0), w, day(w), day(0), day(1), day(2), day(3), day(4), day(5), day(6))
					break
				}
			}
		})
	}
}
