package sim

import (
	"context"
	"strings"
	"testing"
)

// The -inv baselines keep the invariant their plain versions break: with
// every platform spending its full allowance on busy days (no write
// faults), B1 and B3 expose their lines beyond what is left, the guarded
// variants never do, and they still spend the budget.
func TestGuardedBaselinesKeepTheInvariant(t *testing.T) {
	y := strings.ReplaceAll(testWorldYAML, "WORST", "true") + "shocks:\n  - {kind: demand, factor: 3}\n"
	sc, err := ParseScenario([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, []string{PolicyB1, PolicyB1Inv, PolicyB3, PolicyB3Inv}, Seeds(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Policies {
		for _, r := range p.Runs {
			m := r.Metrics
			guarded := strings.HasSuffix(p.Policy, "-inv")
			switch {
			case guarded && m.D2Violations != 0:
				t.Errorf("%s seed %d: %d invariant violations, want 0", p.Policy, r.Seed, m.D2Violations)
			case !guarded && m.D2Violations == 0:
				t.Errorf("%s seed %d: no invariant violations; the scenario no longer tests the guard", p.Policy, r.Seed)
			}
			if guarded && m.A1Overspend != 0 {
				t.Errorf("%s seed %d: overspent share %v", p.Policy, r.Seed, m.A1Overspend)
			}
			// The clamp keeps the brake for what a write cannot fix: without
			// it B1-inv raises each morning past what fits and pauses twice.
			if days := float64(sc.Ticks) / ticksPerDay * float64(len(sc.Campaigns)); p.Policy == PolicyB1Inv && m.D3Toggles*days > 1.5 {
				t.Errorf("%s seed %d: %.0f pause/resume toggles, want at most 1", p.Policy, r.Seed, m.D3Toggles*days)
			}
			if guarded && m.A2Median < 0.9 {
				t.Errorf("%s seed %d: utilisation %v; the guard starves the line", p.Policy, r.Seed, m.A2Median)
			}
		}
	}
}

func TestUnknownPolicyNamesTheGuardedOnes(t *testing.T) {
	sc, err := ParseScenario([]byte(strings.ReplaceAll(testWorldYAML, "WORST", "false")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), sc, []string{"B5"}, Seeds(1))
	if err == nil || !strings.Contains(err.Error(), "B3-inv") || !strings.Contains(err.Error(), "B4") {
		t.Fatalf("err = %v, want the list of policies", err)
	}
}
