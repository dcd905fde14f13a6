package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/adpacer/adpacer/internal/telemetry"
)

// TestLdflagsVersion builds the real binary with the version stamped the
// way releases stamp it and checks `version --json` reports it.
func TestLdflagsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin := requireTool(t, "go")
	bin := filepath.Join(t.TempDir(), "adpacer")
	build := exec.Command(goBin, "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("adpacer version --json: %v", err)
	}
	var bi telemetry.BuildInfo
	if err := json.Unmarshal(out, &bi); err != nil {
		t.Fatalf("version --json printed %q: %v", out, err)
	}
	if bi.Version != "v9.8.7-test" {
		t.Errorf("version = %q, want the -ldflags value v9.8.7-test", bi.Version)
	}
	out, err = exec.Command(bin, "validate", "../../deploy/config/example.yaml").CombinedOutput()
	if err != nil {
		t.Errorf("built binary: validate example.yaml: %v\n%s", err, out)
	}
}
