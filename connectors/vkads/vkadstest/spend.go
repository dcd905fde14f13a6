package vkadstest

import (
	"sync"
	"time"
)

// Spend is what an ad plan did over a period: spent in micros of a ruble
// (served as a decimal string in rubles, floored to kopecks, as VK prints
// money), shows (impressions), clicks and goals (conversions).
type Spend struct {
	SpentMicros int64
	Shows       int64
	Clicks      int64
	Goals       int64
}

func (s *Spend) add(o Spend) {
	s.SpentMicros += o.SpentMicros
	s.Shows += o.Shows
	s.Clicks += o.Clicks
	s.Goals += o.Goals
}

// SpendSource supplies the statistics the fake serves, so a simulator can
// drive the account. Day is a Moscow date (YYYY-MM-DD): VK Ads counts days
// on Moscow time.
type SpendSource interface {
	// PlanSpend is the ad plan's cumulative spend of day up to the instant
	// now: the whole day once now is past its end, the running total
	// while the day is in progress. Implementations must be safe for
	// concurrent use and must not call back into the Server.
	PlanSpend(planID int64, day string, now time.Time) Spend
}

// MemorySpend is the default SpendSource: per ad plan and Moscow day, 24
// hourly buckets. A closed day reports the sum of all buckets; today reports
// the buckets whose hour has ended plus the running hour pro rata, so
// today's row grows between polls like the real one.
type MemorySpend struct {
	mu    sync.Mutex
	hours map[spendKey]*[24]Spend
}

type spendKey struct {
	plan int64
	day  string
}

// NewMemorySpend returns an empty source.
func NewMemorySpend() *MemorySpend {
	return &MemorySpend{hours: map[spendKey]*[24]Spend{}}
}

// SetDay puts all of s into hour 0 of day, replacing the whole day:
// convenient for closed days where the hourly shape does not matter.
func (m *MemorySpend) SetDay(planID int64, day string, s Spend) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h [24]Spend
	h[0] = s
	m.hours[spendKey{planID, day}] = &h
}

// AddHour adds s to one Moscow hour (0..23) of day; other hours are ignored.
func (m *MemorySpend) AddHour(planID int64, day string, hour int, s Spend) {
	if hour < 0 || hour > 23 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := spendKey{planID, day}
	h := m.hours[k]
	if h == nil {
		h = &[24]Spend{}
		m.hours[k] = h
	}
	h[hour].add(s)
}

// PlanSpend implements SpendSource.
func (m *MemorySpend) PlanSpend(planID int64, day string, now time.Time) Spend {
	start, err := time.ParseInLocation(time.DateOnly, day, moscow)
	if err != nil {
		return Spend{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var total Spend
	h := m.hours[spendKey{planID, day}]
	if h == nil {
		return total
	}
	for i, s := range h {
		hs := start.Add(time.Duration(i) * time.Hour)
		switch {
		case !now.Before(hs.Add(time.Hour)):
			total.add(s)
		case now.After(hs):
			// The running hour counts pro rata, in integer arithmetic.
			frac := int64(now.Sub(hs) / time.Second)
			total.add(Spend{
				SpentMicros: s.SpentMicros * frac / 3600,
				Shows:       s.Shows * frac / 3600,
				Clicks:      s.Clicks * frac / 3600,
				Goals:       s.Goals * frac / 3600,
			})
		}
	}
	return total
}

// SpendFunc adapts a function (e.g. a simulator's world) to SpendSource.
type SpendFunc func(planID int64, day string, now time.Time) Spend

// PlanSpend implements SpendSource.
func (f SpendFunc) PlanSpend(planID int64, day string, now time.Time) Spend {
	return f(planID, day, now)
}
