package fakespend

import (
	"testing"
	"time"
)

type cost int64

func (c cost) Add(o cost) cost      { return c + o }
func (c cost) Part(frac int64) cost { return c * cost(frac) / 3600 }

func TestBook(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	b := New[cost](msk)
	b.AddHour(1, "2026-11-18", 9, 3600)
	b.AddHour(1, "2026-11-18", 10, 7200)
	b.AddHour(1, "2026-11-18", 24, 99) // out of range: ignored
	b.SetDay(2, "2026-11-17", 500)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 18, h, m, 0, 0, msk) }
	for _, tc := range []struct {
		name string
		got  cost
		want cost
	}{
		{"before the first hour", b.Until(1, "2026-11-18", at(9, 0)), 0},
		{"a quarter into hour 9", b.Until(1, "2026-11-18", at(9, 15)), 900},
		{"hour 9 closed, half of hour 10", b.Until(1, "2026-11-18", at(10, 30)), 3600 + 3600},
		{"after the day", b.Until(1, "2026-11-18", at(23, 59).Add(time.Hour)), 10800},
		{"whole day", b.Day(1, "2026-11-18"), 10800},
		{"set day", b.Day(2, "2026-11-17"), 500},
		{"unknown day", b.Day(1, "2026-11-19"), 0},
		{"bad date", b.Until(1, "18.11.2026", at(12, 0)), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	b.SetDay(1, "2026-11-18", 42)
	if got := b.Day(1, "2026-11-18"); got != 42 {
		t.Errorf("SetDay must replace the day: %d, want 42", got)
	}
}
