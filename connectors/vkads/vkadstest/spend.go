package vkadstest

import (
	"time"

	"github.com/adpacer/adpacer/internal/fakespend"
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

// Add is s and o together.
func (s Spend) Add(o Spend) Spend {
	return Spend{SpentMicros: s.SpentMicros + o.SpentMicros, Shows: s.Shows + o.Shows, Clicks: s.Clicks + o.Clicks, Goals: s.Goals + o.Goals}
}

// Part is the share frac/3600 of a running hour (integer arithmetic).
func (s Spend) Part(frac int64) Spend {
	return Spend{SpentMicros: s.SpentMicros * frac / 3600, Shows: s.Shows * frac / 3600, Clicks: s.Clicks * frac / 3600, Goals: s.Goals * frac / 3600}
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
// hourly buckets (fakespend.Book: SetDay, AddHour). A closed day reports
// the sum of all buckets; today reports the buckets whose hour has ended
// plus the running hour pro rata, so today's row grows between polls like
// the real one.
type MemorySpend struct {
	*fakespend.Book[Spend]
}

// NewMemorySpend returns an empty source.
func NewMemorySpend() *MemorySpend {
	return &MemorySpend{fakespend.New[Spend](moscow)}
}

// PlanSpend implements SpendSource.
func (m *MemorySpend) PlanSpend(planID int64, day string, now time.Time) Spend {
	return m.Until(planID, day, now)
}

// SpendFunc adapts a function (e.g. a simulator's world) to SpendSource.
type SpendFunc func(planID int64, day string, now time.Time) Spend

// PlanSpend implements SpendSource.
func (f SpendFunc) PlanSpend(planID int64, day string, now time.Time) Spend {
	return f(planID, day, now)
}
