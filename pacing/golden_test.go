package pacing

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/*/plan.golden.json from the engine's output")
	gen    = flag.Bool("gen", false, "rewrite testdata/*/snapshot.json from the case specs in cases_test.go")
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden decides every testdata/<case>/snapshot.json and compares the
// plan with plan.golden.json (the public contract of `adpacer plan`).
func TestGolden(t *testing.T) {
	if *gen {
		for name, cs := range goldenCases {
			writeJSON(t, filepath.Join("testdata", name, "snapshot.json"), cs.build())
		}
	}
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < len(goldenCases) {
		t.Fatalf("found %d snapshot.json files, want at least %d (run go test -run TestGolden -gen -update)", len(dirs), len(goldenCases))
	}
	slices.Sort(dirs)
	for _, snap := range dirs {
		dir := filepath.Dir(snap)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := os.Open(snap)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := DecodeSnapshot(f)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			plan, err := Decide(s)
			if err != nil {
				t.Fatalf("decide: %v", err)
			}
			checkInvariant(t, s, plan)
			golden := filepath.Join(dir, "plan.golden.json")
			if *update {
				writeJSON(t, golden, plan)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetIndent("", "  ")
			if err := enc.Encode(plan); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
