package sim

import (
	"context"
	"strings"
	"testing"
)

// O-inv knows the true spend and the expected traffic, so it tracks the
// plan closer than B1-inv, which re-splits lagged reports evenly over days under the same guard,
// while its guard keeps the invariant and the budget.
func TestOracleReferenceTracksThePlanWithinTheInvariant(t *testing.T) {
	sc, err := ParseScenario([]byte(strings.ReplaceAll(testWorldYAML, "WORST", "false")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, []string{PolicyB1Inv, PolicyOracleInv}, Seeds(3))
	if err != nil {
		t.Fatal(err)
	}
	b1, o := res.Policies[0], res.Policies[1]
	if o.Policy != PolicyOracleInv {
		t.Fatalf("policy order %s, %s", b1.Policy, o.Policy)
	}
	for i, r := range o.Runs {
		m := r.Metrics
		if m.D2Violations != 0 || m.A1Overspend != 0 {
			t.Errorf("seed %d: %d invariant violations, overspent share %v; want none", r.Seed, m.D2Violations, m.A1Overspend)
		}
		if m.A2Median < 0.97 {
			t.Errorf("seed %d: utilisation %v, want >= 0.97", r.Seed, m.A2Median)
		}
		if bm := b1.Runs[i].Metrics; m.B3DailyError >= bm.B3DailyError {
			t.Errorf("seed %d: O-inv daily plan error %.4f, B1-inv %.4f; the oracle should track the plan closer", r.Seed, m.B3DailyError, bm.B3DailyError)
		}
	}
}
