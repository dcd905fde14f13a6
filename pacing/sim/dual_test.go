package sim

import (
	"strings"
	"testing"
)

// B4 paces by bids, daily budgets being only a loose cap. In the test world
// the campaigns' starting bids (60 against a median price of 30) could buy
// many times the line's plan, so the pacing multiplier must take the bids
// down, while the line still spends its budget and the CPA multiplier
// keeps its CPA under the target (min-pacing).
func TestDualMultiplierPacesByBidsUnderTheCPACap(t *testing.T) {
	sc, err := ParseScenario([]byte(strings.ReplaceAll(testWorldYAML, "WORST", "false")))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range Seeds(2) {
		m := newMarket(sc, seed)
		p := newDualPolicy(sc, newPriorProfile(sc, seed))
		w := newWorld(sc, m)
		for k := 0; k < sc.Ticks; k++ {
			if err := p.Step(w); err != nil {
				t.Fatal(err)
			}
			w.Advance(sc.TickTime(k + 1))
		}
		for ci, c := range sc.Campaigns {
			if b := w.camps[ci].bid; b >= c.Bid*3/4 || b < c.MinBid || b > c.MaxBid {
				t.Errorf("seed %d %s: bid %s at the end (start %s, bounds %s..%s), want well below the start and within bounds", seed, c.ID, b, c.Bid, c.MinBid, c.MaxBid)
			}
		}
		r := evaluate(w, feasibility(sc))
		l := r.Lines[0]
		if l.Utilisation < 0.95 || l.Utilisation > 1.05 {
			t.Errorf("seed %d: utilisation %.4f, want the budget spent through bids", seed, l.Utilisation)
		}
		if l.CPARatio == 0 || l.CPARatio > 1.10 {
			t.Errorf("seed %d: CPA / target %.3f, want at most 1.10 (min-pacing)", seed, l.CPARatio)
		}
	}
}
