package everhour_test

import (
	"strings"
	"testing"

	"github.com/adpacer/adpacer/connectors/everhour"
)

// Parsers of config and calendar input must never panic, and what they
// accept must be consistent.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"120", "120.5", "0.25", "120:30", "1:5", "-1", "1e3", "9999999999999999999", "1.000001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, err := everhour.ParseHours(s)
		if err != nil {
			return
		}
		if secs < 0 {
			t.Fatalf("ParseHours(%q) = %d: negative", s, secs)
		}
		if secs%60 == 0 {
			// Whole minutes survive a round trip through H:MM.
			back, err := everhour.ParseHours(everhour.FormatHMM(secs))
			if err != nil || back != secs {
				t.Fatalf("ParseHours(%q) = %d; FormatHMM gives %s which parses to %d, %v", s, secs, everhour.FormatHMM(secs), back, err)
			}
		}
	})
}

func FuzzParseCalendar(f *testing.F) {
	for _, s := range []string{"", "base: none\n", "holidays: [2027-01-01]\n", "weekend: [friday]\nworkdays: [2026-11-28]\n", "years: [99999]\n", "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := everhour.ParseCalendar(strings.NewReader(s))
		if err == nil && c == nil {
			t.Fatal("nil calendar without error")
		}
	})
}
