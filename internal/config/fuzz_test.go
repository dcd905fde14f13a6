package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse: any input yields a Config or an *Error, never a panic, and a
// validated Config validates again the same way (Validate is idempotent).
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./internal/config
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../deploy/config/example.yaml", "../../deploy/config/minimal.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("mode: apply\njobs: {pace: {schedule: '@every 1m', timeout: 1s}}\n"))
	f.Add([]byte("pacing:\n  budget_lines:\n    - {id: a, budget: 1.5, timezone: UTC, campaigns: [x]}\n"))
	f.Add([]byte("connectors: {trello: [{id: t, token: x}]}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("Parse error %v is not an *Error with problems", err)
			}
			return
		}
		err1 := cfg.ValidateWith(ValidateOptions{})
		err2 := cfg.ValidateWith(ValidateOptions{})
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("Validate not idempotent:\n%v\n%v", err1, err2)
		}
	})
}
