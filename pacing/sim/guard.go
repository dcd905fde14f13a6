package sim

import (
	"math"

	"github.com/adpacer/adpacer"
)

// Baselines held to the engine's invariant. B1 and B3 as pacing-notes 6.3
// defines them ignore the overdelivery factor: near the period's end their
// settings let the platforms spend more than is left (D2), which is how
// they keep the last day on plan. B1-inv and B3-inv are the same scripts
// with the guard a careful operator would add, so the engine can also be
// compared with baselines that keep its hard rule:
//   - every budget the script writes is capped so the line's worst case
//     (what the platforms still allow today, for all its campaigns) fits
//     what is left of the budget minus the engine's default reserve;
//   - every tick, if the worst case still does not fit (a Yandex cut
//     applies only tomorrow, Google keeps twice the day's highest setting),
//     the campaign whose worst case just covers the excess, else the
//     largest, is paused until it fits again with a 25% margin.
//
// The guard reads the true spend and the platforms' own caps, which the
// engine only estimates from lagged reports: it is generous to the
// baselines.
const (
	PolicyB1Inv = "B1-inv"
	PolicyB3Inv = "B3-inv"

	guardReservePct   = 0.15 // pacing.DefaultPolicy().ReservePct
	guardResumeMargin = 1.25
)

type guardedPolicy struct {
	inner   Policy
	name    string
	base    *baseline
	reserve []int64 // per line, micros
	paused  []bool  // per campaign: paused by the guard
}

func newGuarded(name string, sc *Scenario, inner Policy, base *baseline) *guardedPolicy {
	g := &guardedPolicy{inner: inner, name: name, base: base,
		reserve: make([]int64, len(sc.Lines)), paused: make([]bool, len(sc.Campaigns))}
	for li := range sc.Lines {
		g.reserve[li] = int64(math.Round(float64(sc.Lines[li].Budget) * guardReservePct / 100))
	}
	base.clamp = g.clamp
	return g
}

func (g *guardedPolicy) Name() string { return g.name }

// serving reports whether campaign ci can spend at tick k (the campaigns
// D2 counts).
func (g *guardedPolicy) serving(w *World, ci, k int) bool {
	l := &w.sc.Lines[w.sc.Campaigns[ci].Line]
	return k >= l.StartTick && k < l.EndTick && !w.moderated(ci, k) && w.camps[ci].state == adpacer.StateOn
}

// room is what line li may still be exposed to: the budget left at tick k
// minus the reserve.
func (g *guardedPolicy) room(w *World, li, k int) int64 {
	return int64(w.sc.Lines[li].BudgetAt(k)) - w.lineSpent[li] - g.reserve[li]
}

// exposure is the line's worst case for the rest of today, as D2 counts it,
// leaving out campaign skip (-1 for none).
func (g *guardedPolicy) exposure(w *World, li, k, skip int) int64 {
	var total int64
	for _, ci := range w.sc.Lines[li].Campaigns {
		if ci == skip || !g.serving(w, ci, k) {
			continue
		}
		hr, _ := w.allowance(ci)
		total += hr
	}
	return total
}

// clamp caps a budget the script is about to write so the line's worst
// case fits; it never goes below the platform minimum (the brake handles
// what still does not fit).
func (g *guardedPolicy) clamp(w *World, ci int, v adpacer.Micros) adpacer.Micros {
	k := w.k
	c := &w.sc.Campaigns[ci]
	if !g.serving(w, ci, k) {
		return v
	}
	room := g.room(w, c.Line, k) - g.exposure(w, c.Line, k, ci)
	if w.hardRemIf(ci, v) <= room {
		return v
	}
	lo := w.sc.Platforms[c.pidx].MinDailyBudget
	if w.hardRemIf(ci, lo) > room {
		return lo
	}
	hi := v
	for hi-lo > 10_000 {
		mid := (lo + hi) / 2
		if w.hardRemIf(ci, mid) <= room {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo.FloorTo(10_000)
}

func (g *guardedPolicy) Step(w *World) error {
	if err := g.inner.Step(w); err != nil {
		return err
	}
	sc := w.sc
	k := w.k
	for li := range sc.Lines {
		l := &sc.Lines[li]
		if k < l.StartTick || k >= l.EndTick {
			continue
		}
		room := g.room(w, li, k)
		total := g.exposure(w, li, k, -1)
		for total > room {
			var ids []int
			var ex []int64
			for _, ci := range l.Campaigns {
				if g.serving(w, ci, k) {
					hr, _ := w.allowance(ci)
					ids, ex = append(ids, ci), append(ex, hr)
				}
			}
			i := brakeChoice(ex, total-room)
			if i < 0 || w.setState(ids[i], adpacer.StatePaused) != nil {
				break
			}
			g.paused[ids[i]] = true
			total -= ex[i]
		}
		for _, ci := range l.Campaigns {
			if !g.paused[ci] || w.moderated(ci, k) {
				continue
			}
			hr, _ := w.allowance(ci)
			if float64(total)+guardResumeMargin*float64(hr) > float64(room) {
				continue
			}
			if w.setState(ci, adpacer.StateOn) == nil {
				g.paused[ci] = false
				total += hr
			}
		}
	}
	return nil
}

// brakeChoice picks the campaign to pause, as the engine's brake does: the
// one whose worst case just covers the excess (the least spend lost), else
// the largest; -1 when none has any.
func brakeChoice(ex []int64, excess int64) int {
	cover, largest := -1, -1
	for i, v := range ex {
		if v >= excess && (cover < 0 || v < ex[cover]) {
			cover = i
		}
		if v > 0 && (largest < 0 || v > ex[largest]) {
			largest = i
		}
	}
	if cover >= 0 {
		return cover
	}
	return largest
}
