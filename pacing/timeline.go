package pacing

import (
	"math"
	"slices"
	"time"
)

const (
	// lastDayWeight scales the traffic weight of the period's last 24 hours
	// (see newTimeline). 0.45 rather than 0.5 since the bid rule stopped
	// raising bids of campaigns that spend their budgets: those raises had
	// carried utilisation (S0, 20 seeds: share of lines >= 99% 0.944 at 0.5,
	// 0.969 at 0.45).
	lastDayWeight = 0.45
	hourSec       = 3600
	daySec        = 24 * hourSec
	hoursOfWeek   = 7 * 24
)

// zoneCache answers "UTC offset at unix time t" for one location without a
// zone lookup per call: the offset is constant between transitions, which
// time.Time.ZoneBounds reports. Decide looks up millions of stats, so this
// is the difference between a cheap comparison and a binary search per stat.
type zoneCache struct {
	loc      *time.Location
	from, to int64 // offset valid for from <= t < to
	offset   int64
}

func newZoneCache(loc *time.Location) zoneCache {
	return zoneCache{loc: loc, from: 1, to: 0}
}

func (z *zoneCache) offsetAt(t int64) int64 {
	if t >= z.from && t < z.to {
		return z.offset
	}
	tm := time.Unix(t, 0).In(z.loc)
	_, off := tm.Zone()
	zs, ze := tm.ZoneBounds()
	z.offset = int64(off)
	z.from, z.to = math.MinInt64, math.MaxInt64
	if !zs.IsZero() {
		z.from = zs.Unix()
	}
	if !ze.IsZero() {
		z.to = ze.Unix()
	}
	return z.offset
}

// hourOfWeek is the local hour of the week (Monday 00:00 = 0) at unix time t.
func (z *zoneCache) hourOfWeek(t int64) int {
	local := t + z.offsetAt(t)
	days := floorDiv(local, daySec)
	wd := (days + 3) % 7 // 1970-01-01 was a Thursday; Monday = 0
	if wd < 0 {
		wd += 7
	}
	h := (local - days*daySec) / hourSec
	return int(wd)*24 + int(h)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// timeline holds a line's traffic weight for every UTC hour of its period
// and the running sum, so "traffic-weighted time between a and b" is two
// lookups. Weights come from the learned hour-of-week profile in the
// line's zone, so DST changes and odd month lengths are handled by the
// calendar, not by arithmetic on day counts.
type timeline struct {
	profile *[hoursOfWeek]float64
	zc      *zoneCache
	base    int64     // unix start of slot 0 (period start floored to the hour)
	start   int64     // period start (inclusive)
	end     int64     // period end (exclusive)
	w       []float64 // weight of each hour slot
	prefix  []float64 // prefix[k] = sum of w[:k]
}

func newTimeline(start, end int64, profile *[hoursOfWeek]float64, zc *zoneCache) timeline {
	base := floorDiv(start, hourSec) * hourSec
	n := int((end - base + hourSec - 1) / hourSec)
	tl := timeline{profile: profile, zc: zc, base: base, start: start, end: end, w: make([]float64, n), prefix: make([]float64, n+1)}
	lastDay := end - daySec
	for k := 0; k < n; k++ {
		s := base + int64(k)*hourSec
		e := s + hourSec
		frac := 1.0
		if s < start || e > end { // zones with non-hour offsets
			frac = float64(min(e, end)-max(s, start)) / hourSec
		}
		tl.w[k] = profile[zc.hourOfWeek(s+hourSec/2)] * frac
		if s >= lastDay {
			// The κ-aware end game: on the period's last day the invariant
			// lets the platforms be set to only about (left - reserve) / κ,
			// so a plan that leaves a full day for it ends short. The plan
			// gives the last day less and the days before a little more.
			tl.w[k] *= lastDayWeight
		}
		tl.prefix[k+1] = tl.prefix[k] + tl.w[k]
	}
	return tl
}

// cum is the weight from the period start to t (clamped to the period).
func (tl *timeline) cum(t int64) float64 {
	if t <= tl.start {
		return 0
	}
	if t >= tl.end {
		return tl.prefix[len(tl.w)]
	}
	off := t - tl.base
	k := int(off / hourSec)
	if k >= len(tl.w) {
		return tl.prefix[len(tl.w)]
	}
	slotStart := tl.base + int64(k)*hourSec
	slotLen := int64(hourSec)
	if slotStart < tl.start {
		slotLen -= tl.start - slotStart
		slotStart = tl.start
	}
	if slotStart+slotLen > tl.end {
		slotLen = tl.end - slotStart
	}
	frac := float64(t-slotStart) / float64(slotLen)
	return tl.prefix[k] + tl.w[k]*frac
}

// between is the traffic weight of [a, b) within the period.
func (tl *timeline) between(a, b int64) float64 {
	if b <= a {
		return 0
	}
	return tl.cum(b) - tl.cum(a)
}

func (tl *timeline) total() float64 { return tl.prefix[len(tl.w)] }

// profileDays is how many local days around the period start the profile
// accumulator keeps daily totals for.
const profileDays = 192

// profileAcc learns a line's traffic profile as hour-of-day shape x
// weekday factor. Factoring needs far less data than 168 free hour-of-week
// cells: the hour shape comes from hourly rows of any day, the weekday
// factors from daily totals, so a snapshot with a few days of hourly rows
// and daily rows before them (as the daemon keeps) still yields both.
type profileAcc struct {
	hourSum [24]float64
	hourCnt [24]float64
	dayBase int64 // local day number of daySum[0]
	daySum  [profileDays]float64
}

func (z *zoneCache) localDay(t int64) int64 { return floorDiv(t+z.offsetAt(t), daySec) }

func (p *profileAcc) add(z *zoneCache, a, b int64, cost int64) {
	if b-a <= hourSec {
		local := a + z.offsetAt(a)
		h := (local - floorDiv(local, daySec)*daySec) / hourSec
		p.hourSum[h] += float64(cost)
		p.hourCnt[h]++
	}
	// A daily row belongs to the local day holding most of it: its middle.
	// Platform days are not the line's (Yandex and VK count Moscow days, a
	// Google account has its own zone), and by its start a Moscow-day row
	// of a Kaliningrad line would count as the day before, shifting every
	// weekday factor by one.
	if d := z.localDay(a+(b-a)/2) - p.dayBase; d >= 0 && d < profileDays {
		p.daySum[d] += float64(cost)
	}
}

// profile returns 168 hour-of-week weights with mean 1. With little data
// each factor is shrunk toward flat, and every hour keeps a floor weight so
// an hour the campaigns were starved in is never planned at zero (Lee et
// al. 2013).
func (p *profileAcc) profile(z *zoneCache, from, to int64) [hoursOfWeek]float64 {
	var shape [24]float64
	var mean, n float64
	for h := range 24 {
		if p.hourCnt[h] > 0 {
			shape[h] = p.hourSum[h] / p.hourCnt[h]
			mean += shape[h]
			n++
		}
	}
	if n == 24 && mean > 0 {
		mean /= 24
		// Rows per hour of day approximate days of hourly data times
		// campaigns; one pseudo-day of flat traffic per campaign-day scale.
		var minCnt = p.hourCnt[0]
		for h := range 24 {
			minCnt = min(minCnt, p.hourCnt[h])
		}
		k := minCnt / (minCnt + 1)
		for h := range 24 {
			shape[h] = k*shape[h]/mean + (1 - k)
		}
	} else {
		for h := range shape {
			shape[h] = 1
		}
	}
	var wd [7]float64
	var wdCnt [7]float64
	if to > from {
		// Only complete local days count: the first and last are partial.
		first, last := z.localDay(from)+1, z.localDay(to)-1
		for d := first; d < last; d++ {
			i := d - p.dayBase
			if i < 0 || i >= profileDays {
				continue
			}
			w := int((d + 3) % 7) // 1970-01-01 was a Thursday; Monday = 0
			if w < 0 {
				w += 7
			}
			wd[w] += p.daySum[i]
			wdCnt[w]++
		}
	}
	var wmean float64
	nw := 0
	for w := range 7 {
		if wdCnt[w] > 0 {
			wd[w] /= wdCnt[w]
			wmean += wd[w]
			nw++
		}
	}
	var factor [7]float64
	for w := range 7 {
		factor[w] = 1
	}
	if nw == 7 && wmean > 0 {
		wmean /= 7
		for w := range 7 {
			k := wdCnt[w] / (wdCnt[w] + 0.5)
			factor[w] = k*wd[w]/wmean + (1 - k)
		}
	}
	var out [hoursOfWeek]float64
	const floor = 0.05
	var norm float64
	for w := range 7 {
		for h := range 24 {
			v := max(factor[w]*shape[h], floor)
			out[w*24+h] = v
			norm += v
		}
	}
	norm /= hoursOfWeek
	for i := range out {
		out[i] /= norm
	}
	return out
}

// timeAfterWeight is the instant at which w of traffic weight has passed
// after t (the period end when the period has less left).
func (tl *timeline) timeAfterWeight(t int64, w float64) int64 {
	target := tl.cum(t) + w
	if target >= tl.total() {
		return tl.end
	}
	k, _ := slices.BinarySearch(tl.prefix, target)
	// prefix[k-1] < target <= prefix[k]: inside slot k-1.
	k = max(k-1, 0)
	slot := tl.base + int64(k)*hourSec
	if tl.w[k] <= 0 {
		return max(slot, t)
	}
	frac := (target - tl.prefix[k]) / tl.w[k]
	return max(slot+int64(frac*hourSec), t)
}

// trafficFactor is the traffic of [a, b) relative to an average hour of the
// profile (1 = average), unaffected by the end-game scaling: what the
// platforms scale a daily budget by.
func (tl *timeline) trafficFactor(a, b int64) float64 {
	if b <= a {
		return 0
	}
	var sum float64
	n := 0
	for h := floorDiv(a, hourSec) * hourSec; h < b; h += hourSec {
		sum += tl.profile[tl.zc.hourOfWeek(h+hourSec/2)]
		n++
	}
	return sum / float64(n)
}
