package pacing

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// exampleFromDoc returns the JSON block under "## Example snapshot" of
// docs/plan-format.md.
func exampleFromDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/plan-format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "## Example snapshot")
	if !ok {
		t.Fatal("docs/plan-format.md has no Example snapshot section")
	}
	_, block, ok := strings.Cut(after, "```json\n")
	if !ok {
		t.Fatal("no json block in the example section")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

func TestDocExampleDecodesAndPlans(t *testing.T) {
	ex := exampleFromDoc(t)
	s, err := DecodeSnapshot(strings.NewReader(ex))
	if err != nil {
		t.Fatalf("the documented example does not decode: %v", err)
	}
	if _, err := Decide(s); err != nil {
		t.Fatal(err)
	}
	// An unknown field anywhere is an error naming its path.
	for _, c := range []struct{ old, new, path string }{
		{`"version": 1,`, `"version": 1, "colour": "red",`, "$.colour"},
		{`"budget_edits_today": 1,`, `"budget_edits_today": 1, "bogus": 2,`, "$.campaigns[0].bogus"},
		{`"start": "2026-11-01",`, `"start": "2026-11-01", "x": 1,`, "$.lines[0].period.x"},
		{`"conversions": 2}`, `"conversions": 2, "revenue": 5}`, "$.stats[0].revenue"},
	} {
		bad := strings.Replace(ex, c.old, c.new, 1)
		_, err := DecodeSnapshot(strings.NewReader(bad))
		var se *SnapshotError
		if !errors.As(err, &se) || se.Path != c.path {
			t.Errorf("unknown field: got %v, want path %s", err, c.path)
		}
	}
}

// TestSchemaMatchesTypes: the JSON Schema, the doc and the Go types name
// the same fields.
func TestSchemaMatchesTypes(t *testing.T) {
	b, err := os.ReadFile("../docs/plan.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/plan-format.md")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	for def, typ := range map[string]any{"snapshot": Snapshot{}, "line": Line{}, "campaign": Campaign{}, "stat": Stat{}, "policy": Policy{}, "plan": Plan{}} {
		var want []string
		rt := reflect.TypeOf(typ)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				want = append(want, name)
			}
		}
		var got []string
		for k := range schema.Defs[def].Properties {
			got = append(got, k)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("schema $defs.%s properties %v, Go type fields %v", def, got, want)
		}
		for _, f := range want {
			if !strings.Contains(string(doc), "`"+f+"`") {
				t.Errorf("docs/plan-format.md does not document %s.%s", def, f)
			}
		}
	}
}
