package sim

import (
	"errors"
	"strings"
	"testing"
)

func TestBuiltinScenariosLoad(t *testing.T) {
	names := BuiltinScenarios()
	if len(names) != 11 || names[0] != "S0" || names[10] != "S10" {
		t.Fatalf("built-in scenarios = %v, want S0..S10 in order", names)
	}
	for _, n := range names {
		sc, err := LoadScenario(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if sc.Name != n {
			t.Errorf("%s: name %q", n, sc.Name)
		}
	}
	sc, _ := LoadScenario("S0")
	if len(sc.Campaigns) != 180 || len(sc.Lines) != 24 || sc.Ticks != 30*ticksPerDay {
		t.Errorf("S0: %d campaigns, %d lines, %d ticks; want 180, 24, 30 days", len(sc.Campaigns), len(sc.Lines), sc.Ticks)
	}
	// UTC+2, +10, +11 and +12 each hold a campaign (pacing-notes 6.1).
	zones := map[string]bool{}
	for _, c := range sc.Campaigns {
		zones[sc.ZoneNames[sc.Regions[c.Region].Zone]] = true
	}
	for _, z := range []string{"Europe/Kaliningrad", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka"} {
		if !zones[z] {
			t.Errorf("S0 has no campaign in %s", z)
		}
	}
}

func TestScenarioErrorsNameTheField(t *testing.T) {
	base := strings.ReplaceAll(testWorldYAML, "WORST", "false")
	tests := []struct {
		name, yaml, path, msg string
	}{
		{"unknown top-level field", base + "colour: red\n", "colour", "unknown field"},
		{"unknown nested field", strings.Replace(base, "bid: 60, auctions_per_hour: 5000", "bid: 60, bidd: 3, auctions_per_hour: 5000", 1), "campaigns[0].bidd", "unknown field"},
		{"unknown platform field", strings.Replace(base, "vk_ads: {worst_case", "vk_ads: {kappa: 2, worst_case", 1), "platforms.vk_ads.kappa", "unknown field"},
		{"negative budget", strings.Replace(base, "budget: 1000000", "budget: -5", 1), "lines[0].budget", "must be positive"},
		{"daily budget below Yandex minimum", strings.Replace(base, "daily_budget: 1000", "daily_budget: 100", 1), "campaigns[0].daily_budget", "minimum"},
		{"bad zone", strings.Replace(base, "timezone: Asia/Vladivostok", "timezone: Mars/Olympus", 1), "regions[1].timezone", "unknown time zone"},
		{"end before start", strings.Replace(base, "budget: 1000000,", "budget: 1000000, period: {start: \"2026-09-10\", end: \"2026-09-01\"},", 1), "lines[0].period.end", "before the start"},
		{"half-hour zone", strings.Replace(base, "timezone: Asia/Vladivostok", "timezone: Asia/Kolkata", 1), "regions[1].timezone", "whole number of hours"},
		{"wrong type", strings.Replace(base, "ctr: 0.05", "ctr: lots", 1), "campaigns[0].ctr", "cannot unmarshal"},
		{"bad money", strings.Replace(base, "budget: 1000000", "budget: 12.3456789", 1), "lines[0].budget", "decimal places"},
		{"unknown line", strings.Replace(base, "line: l1", "line: l9", 1), "campaigns[0].line", "unknown line"},
		{"account zone on Yandex", strings.Replace(base, `line: l1, region: vladivostok, daily`, `line: l1, region: vladivostok, account_timezone: Europe/Moscow, daily`, 1), "campaigns[0].account_timezone", "Moscow time"},
		{"shock kind", base + "shocks:\n  - {kind: meteor}\n", "shocks[0].kind", "want demand"},
		{"shock window", base + "shocks:\n  - {kind: demand, factor: 2, from: \"2026-09-10\", to: \"2026-09-05\"}\n", "shocks[0].to", "not after"},
		{"shock factor", base + "shocks:\n  - {kind: demand, factor: -1}\n", "shocks[0].factor", "not within"},
		{"duplicate field", base + "name: again\n", "name", "given twice"},
		{"probability", strings.Replace(base, "yandex_direct: {worst_case_overdelivery: false, outage_per_day: 0,", "yandex_direct: {worst_case_overdelivery: false, outage_per_day: 2,", 1), "platforms.yandex_direct.outage_per_day", "probability"},
		{"generate split", "name: g\nmonth: \"2026-09\"\ngenerate: {campaigns: 10, lines: 2, platforms: {yandex_direct: 3}}\n", "generate.platforms", "add up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.yaml))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("err = %q (path %q), want path %q and %q", err, fe.Path, tt.path, tt.msg)
			}
		})
	}
}

// FuzzParseScenario: any input yields a scenario or an error, never a panic.
func FuzzParseScenario(f *testing.F) {
	for _, n := range []string{"S0", "S1", "S5", "S7"} {
		b, err := builtin.ReadFile("scenarios/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(strings.ReplaceAll(testWorldYAML, "WORST", "true")))
	f.Add([]byte("name: x\nlines: [{id: a, budget: 1, period: {start: 2020-01-01, end: 2026-01-01}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		sc, err := ParseScenario(data)
		if err == nil && (sc.Ticks <= 0 || len(sc.Campaigns) == 0) {
			t.Fatalf("accepted a scenario with %d ticks and %d campaigns", sc.Ticks, len(sc.Campaigns))
		}
	})
}
