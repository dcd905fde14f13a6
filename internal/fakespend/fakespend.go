// Package fakespend is the hourly spend book the ad-platform fakes serve
// their statistics from when no simulator drives them: per campaign and
// platform day, 24 hourly buckets of the platform's own counters. A closed
// day reports the sum of its buckets; the current day reports the buckets
// whose hour has ended plus the running hour pro rata, so an intraday total
// grows between polls like the real one.
package fakespend

import (
	"sync"
	"time"
)

// Counters is a platform's per-period statistics (cost, clicks, ...).
// Add accumulates another period; Part is the share frac/3600 of a
// running hour, in integer arithmetic as the platforms count.
type Counters[T any] interface {
	Add(o T) T
	Part(frac int64) T
}

// Book holds the buckets. It is safe for concurrent use.
type Book[T Counters[T]] struct {
	loc   *time.Location
	mu    sync.Mutex
	hours map[key]*[24]T
}

type key struct {
	campaign int64
	day      string
}

// New returns an empty book whose days (YYYY-MM-DD) start at midnight in
// loc.
func New[T Counters[T]](loc *time.Location) *Book[T] {
	return &Book[T]{loc: loc, hours: map[key]*[24]T{}}
}

// SetDay puts all of s into hour 0 of day, replacing the whole day:
// convenient for closed days where the hourly shape does not matter.
func (b *Book[T]) SetDay(campaign int64, day string, s T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var h [24]T
	h[0] = s
	b.hours[key{campaign, day}] = &h
}

// AddHour adds s to one hour (0..23) of day; other hours are ignored.
func (b *Book[T]) AddHour(campaign int64, day string, hour int, s T) {
	if hour < 0 || hour > 23 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := key{campaign, day}
	h := b.hours[k]
	if h == nil {
		h = &[24]T{}
		b.hours[k] = h
	}
	h[hour] = h[hour].Add(s)
}

// Day is the whole day's total.
func (b *Book[T]) Day(campaign int64, day string) T {
	b.mu.Lock()
	defer b.mu.Unlock()
	var total T
	if h := b.hours[key{campaign, day}]; h != nil {
		for _, s := range h {
			total = total.Add(s)
		}
	}
	return total
}

// Until is the day's cumulative total up to the instant now: whole once
// now is past the day's end, the running total while it is in progress.
func (b *Book[T]) Until(campaign int64, day string, now time.Time) T {
	var total T
	start, err := time.ParseInLocation(time.DateOnly, day, b.loc)
	if err != nil {
		return total
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hours[key{campaign, day}]
	if h == nil {
		return total
	}
	for i, s := range h {
		hs := start.Add(time.Duration(i) * time.Hour)
		switch {
		case !now.Before(hs.Add(time.Hour)):
			total = total.Add(s)
		case now.After(hs):
			total = total.Add(s.Part(int64(now.Sub(hs) / time.Second)))
		}
	}
	return total
}
