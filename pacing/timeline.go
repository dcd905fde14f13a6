package pacing

import (
	"math"
	"slices"
	"time"
)

const (
	hourSec     = 3600
	daySec      = 24 * hourSec
	hoursOfWeek = 7 * 24
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
	base   int64     // unix start of slot 0 (period start floored to the hour)
	start  int64     // period start (inclusive)
	end    int64     // period end (exclusive)
	w      []float64 // weight of each hour slot
	prefix []float64 // prefix[k] = sum of w[:k]
}

func newTimeline(start, end int64, profile *[hoursOfWeek]float64, zc *zoneCache) timeline {
	base := floorDiv(start, hourSec) * hourSec
	n := int((end - base + hourSec - 1) / hourSec)
	tl := timeline{base: base, start: start, end: end, w: make([]float64, n), prefix: make([]float64, n+1)}
	for k := 0; k < n; k++ {
		s := base + int64(k)*hourSec
		e := s + hourSec
		frac := 1.0
		if s < start || e > end { // zones with non-hour offsets
			frac = float64(min(e, end)-max(s, start)) / hourSec
		}
		tl.w[k] = profile[zc.hourOfWeek(s+hourSec/2)] * frac
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

// learnProfile turns per hour-of-week cost sums into weights with mean 1.
// Few weeks of data are shrunk toward flat (one pseudo-week of flat
// traffic), and every hour keeps a floor weight so an hour the campaigns
// were starved in is never planned at zero (Lee et al. 2013).
func learnProfile(sum *[hoursOfWeek]float64, occ *[hoursOfWeek]float64) [hoursOfWeek]float64 {
	var p [hoursOfWeek]float64
	var mean, totalOcc float64
	var avg [hoursOfWeek]float64
	n := 0
	for h := 0; h < hoursOfWeek; h++ {
		totalOcc += occ[h]
		if occ[h] > 0 {
			avg[h] = sum[h] / occ[h]
			mean += avg[h]
			n++
		}
	}
	if n < hoursOfWeek || mean <= 0 {
		// Less than a week of history: the shape is unknown, plan flat.
		for h := range p {
			p[h] = 1
		}
		return p
	}
	mean /= float64(n)
	weeks := totalOcc / hoursOfWeek
	const prior = 1.0 // weeks of flat pseudo-history
	const floor = 0.05
	var norm float64
	for h := 0; h < hoursOfWeek; h++ {
		v := (weeks*avg[h]/mean + prior) / (weeks + prior)
		p[h] = max(v, floor)
		norm += p[h]
	}
	norm /= hoursOfWeek
	for h := range p {
		p[h] /= norm
	}
	return p
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
