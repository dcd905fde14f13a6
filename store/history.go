package store

import (
	"math"
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
	out := make([]DayTotal, 0, h.Hours/24+2)
	curDay := int64(math.MinInt64)
	for _, sg := range h.segments(loc) {
		i, local := sg.from, sg.local
		for i < sg.to {
			day := floorDiv(local, 86400)
			if day != curDay {
				curDay = day
				out = append(out, DayTotal{Date: civilDate(day)})
			}
			// Hours of this run that start before the next local midnight.
			end := i + int(((day+1)*86400-local+3599)/3600)
			if end > sg.to {
				end = sg.to
			}
			d := &out[len(out)-1]
			var cost adpacer.Micros
			var clicks int64
			var conv float64
			hours := 0
			for j, v := range c.Cost[i:end] {
				cost += v
				clicks += c.Clicks[i+j]
				conv += c.Conversions[i+j]
				hours += int(c.Present[(i+j)>>6] >> (uint(i+j) & 63) & 1)
			}
			d.Cost += cost
			d.Clicks += clicks
			d.Conversions += conv
			d.Hours += hours
			local += int64(end-i) * 3600
			i = end
		}
	}
	return out
}

// HourOfWeek sums cost by local hour of week in loc; index 0 is Monday
// 00:00-01:00.
func (h *PacingHistory) HourOfWeek(c *CampaignHistory, loc *time.Location) [168]adpacer.Micros {
	var out [168]adpacer.Micros
	for _, sg := range h.segments(loc) {
		// 1970-01-01 was a Thursday: +72 hours makes Monday 0.
		hw := int(floorMod(floorDiv(sg.local, 3600)+72, 168))
		for i := sg.from; i < sg.to; i++ {
			out[hw] += c.Cost[i]
			if hw++; hw == 168 {
				hw = 0
			}
		}
	}
	return out
}

// segment is a run of hours [from, to) under one zone offset; local is the
// local time (Unix seconds plus offset) at which hour from starts.
type segment struct {
	from, to int
	local    int64
}

func (h *PacingHistory) segments(loc *time.Location) []segment {
	if loc == nil {
		loc = time.UTC
	}
	start := h.From.Unix()
	var out []segment
	for i := 0; i < h.Hours; {
		t := time.Unix(start+int64(i)*3600, 0).In(loc)
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		stop := h.Hours
		if !end.IsZero() {
			// Hours starting before the next transition use this offset.
			if n := int((end.Unix() - start + 3599) / 3600); n < stop {
				stop = n
			}
		}
		if stop <= i {
			stop = i + 1
		}
		out = append(out, segment{from: i, to: stop, local: start + int64(i)*3600 + int64(off)})
		i = stop
	}
	return out
}

// civilDate formats days since 1970-01-01 as YYYY-MM-DD without going
// through time.Time (H. Hinnant's days-to-civil algorithm).
func civilDate(days int64) string {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	if y < 0 || y > 9999 {
		return time.Unix(days*86400, 0).UTC().Format(time.DateOnly)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
