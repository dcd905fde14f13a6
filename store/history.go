package store

import (
	"time"

	"github.com/adpacer/adpacer"
)

// PacingHistory is the engine's bulk read in struct-of-arrays form: hour h
// of every campaign covers [From+h hours, From+h+1 hours). Dense arrays keep
// a 10,000-campaign, 35-day read to a few allocations.
type PacingHistory struct {
	From      time.Time // whole UTC hour
	Hours     int
	Campaigns []CampaignHistory // ordered by campaign id
}

// CampaignHistory is one campaign's hourly history. Hours without a stored
// hourly stat are zero in the arrays and unset in Present.
type CampaignHistory struct {
	Campaign    adpacer.CampaignID
	Cost        []adpacer.Micros
	Clicks      []int64
	Conversions []float64
	Present     []uint64 // bitset over hours
	// Other holds stats that are not whole UTC hours (daily reports, zones
	// with half-hour offsets) overlapping the range.
	Other []adpacer.Stat
}

// Has reports whether an hourly stat was stored for hour h.
func (c *CampaignHistory) Has(h int) bool { return c.Present[h>>6]&(1<<(uint(h)&63)) != 0 }

// LastHour returns the index of the last hour with a stored stat, or -1.
func (c *CampaignHistory) LastHour() int {
	for i := len(c.Present) - 1; i >= 0; i-- {
		if w := c.Present[i]; w != 0 {
			for b := 63; b >= 0; b-- {
				if w&(1<<uint(b)) != 0 {
					return i*64 + b
				}
			}
		}
	}
	return -1
}

// DayTotal is a campaign's totals over one local day.
type DayTotal struct {
	Date        string // YYYY-MM-DD in the zone asked for
	Cost        adpacer.Micros
	Clicks      int64
	Conversions float64
	Hours       int // hours of the day with a stored stat
}

// LocalDays sums the hourly arrays by local day in loc (the account's or the
// line's zone), oldest first. Zone offsets are looked up once per zone
// period, not per hour, so this stays cheap for thousands of campaigns.
func (h *PacingHistory) LocalDays(c *CampaignHistory, loc *time.Location) []DayTotal {
	var out []DayTotal
	curDay := int64(-1 << 62)
	h.walkLocal(loc, func(i int, local int64) {
		day := floorDiv(local, 86400)
		if day != curDay || len(out) == 0 {
			curDay = day
			out = append(out, DayTotal{Date: time.Unix(day*86400, 0).UTC().Format(time.DateOnly)})
		}
		d := &out[len(out)-1]
		d.Cost += c.Cost[i]
		d.Clicks += c.Clicks[i]
		d.Conversions += c.Conversions[i]
		if c.Has(i) {
			d.Hours++
		}
	})
	return out
}

// HourOfWeek sums cost by local hour of week in loc; index 0 is Monday
// 00:00-01:00.
func (h *PacingHistory) HourOfWeek(c *CampaignHistory, loc *time.Location) [168]adpacer.Micros {
	var out [168]adpacer.Micros
	h.walkLocal(loc, func(i int, local int64) {
		// 1970-01-01 was a Thursday: shift so that Monday is 0.
		hw := floorMod(floorDiv(local, 3600)+72, 168)
		out[hw] += c.Cost[i]
	})
	return out
}

// walkLocal calls fn for every hour index with the hour's start as local
// seconds (Unix seconds plus the zone offset in effect).
func (h *PacingHistory) walkLocal(loc *time.Location, fn func(i int, local int64)) {
	if loc == nil {
		loc = time.UTC
	}
	from := h.From.Unix()
	i := 0
	for i < h.Hours {
		t := time.Unix(from+int64(i)*3600, 0).In(loc)
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		stop := h.Hours
		if !end.IsZero() {
			// Hours starting before the next transition use this offset.
			n := int((end.Unix() - from + 3599) / 3600)
			if n < stop {
				stop = n
			}
		}
		if stop <= i {
			stop = i + 1
		}
		base := from + int64(off)
		for ; i < stop; i++ {
			fn(i, base+int64(i)*3600)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
