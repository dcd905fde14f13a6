package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const simTinyScenario = `
name: tiny
month: "2026-09"
generate:
  seed: 7
  campaigns: 6
  lines: 2
  platforms: {yandex_direct: 3, vk_ads: 2, google_ads: 1}
  periods: [{start: "2026-09-01", end: "2026-09-03"}]
`

func TestSimulateTableAndJSON(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "tiny.yaml", simTinyScenario)
	code, out, errOut := runCLI(t, Wiring{}, "simulate", "--scenario", file, "--policy", "B0", "--policy", "B1", "--seeds", "2")
	if code != ExitOK {
		t.Fatalf("simulate = %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"== tiny (nominal targets): 2 lines, 6 campaigns, 3 days, 2 seed(s)", "A1 overspent lines", "D2 violations", "check"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("progress written to a non-terminal stderr: %q", errOut)
	}
	code, out, errOut = runCLI(t, Wiring{}, "simulate", "--scenario", file, "--policy", "B3", "--json")
	if code != ExitOK {
		t.Fatalf("simulate --json = %d, stderr %s", code, errOut)
	}
	var doc struct {
		Results []struct {
			Scenario string `json:"scenario"`
			Policies []struct {
				Policy string `json:"policy"`
			} `json:"policies"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(doc.Results) != 1 || doc.Results[0].Scenario != "tiny" || len(doc.Results[0].Policies) != 1 || doc.Results[0].Policies[0].Policy != "B3" {
		t.Errorf("JSON = %+v", doc)
	}
}

func TestSimulateBadScenarioNamesTheField(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "bad.yaml", strings.Replace(simTinyScenario, "lines: 2", "lines: 2\n  colour: red", 1))
	code, _, errOut := runCLI(t, Wiring{}, "simulate", "--scenario", file)
	if code != ExitDataErr {
		t.Fatalf("simulate bad.yaml = %d, want %d", code, ExitDataErr)
	}
	if !strings.Contains(errOut, "generate.colour: unknown field") {
		t.Errorf("stderr = %q", errOut)
	}
	code, _, _ = runCLI(t, Wiring{}, "simulate", "--scenario", file, "--seeds", "0")
	if code != ExitUsage {
		t.Errorf("--seeds 0 = %d, want %d", code, ExitUsage)
	}
}
