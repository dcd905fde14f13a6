package pacing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestRunPlanCommand(t *testing.T) {
	in, err := os.ReadFile("testdata/nov_30d_vladivostok/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := RunPlanCommand(context.Background(), bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil || p.Version != 1 || len(p.Lines) != 1 {
		t.Fatalf("plan output %q: %v", out.String(), err)
	}
	bad := strings.Replace(string(in), `"daily_budget": 30000.00`, `"daily_budget": -5`, 1)
	err = RunPlanCommand(context.Background(), strings.NewReader(bad), &out)
	var xe *ExitError
	if !errors.As(err, &xe) || xe.Code != ExitDataErr || !strings.Contains(err.Error(), "$.campaigns[0].daily_budget") {
		t.Fatalf("malformed snapshot: got %v, want exit 65 naming $.campaigns[0].daily_budget", err)
	}
}

func TestApprovalKeysUnique(t *testing.T) {
	for name, cs := range goldenCases {
		plan, err := Decide(cs.build())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, a := range plan.Alerts {
			if seen[a.Key] {
				t.Errorf("%s: alert key %s twice", name, a.Key)
			}
			seen[a.Key] = true
		}
	}
}
